/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gui.ClipboardPaste: gui-proxy asks before it pastes the global clipboard
 * (copied from one qube with Ctrl-Shift-C) into another (Ctrl-Shift-V).
 * The paste is the user's gesture in the proxy; qmgrd only says whether
 * the policy lets it through.  It is decided as a call from the source to
 * the target with service qmgr.ClipboardPaste and no argument would be:
 * the same policy, the same audit log (a decision that cannot be logged
 * is a denial), and `ask` goes to the prompt agent, with the target as the
 * only choice.  The policy may not send a paste elsewhere: an `allow
 * target=` that names another qube is a denial.
 */
#include "config.h"

#include "clipboard.h"

#include <string.h>

#include "admin.h"
#include "policy.h"
#include "prompt.h"
#include "rpc.h"

#define SERVICE "qmgr.ClipboardPaste"

struct paste {
	struct qmgrd *d;
	struct qm_call *call;
	char *source;
	char *target;
	char *target_uuid;   /* "uuid:..." of the target, as the policy may
				resolve it */
	char *rule;          /* the deciding rule, FILE:LINE, or NULL */
};

static void paste_free(struct paste *p)
{
	g_free(p->source);
	g_free(p->target);
	g_free(p->target_uuid);
	g_free(p->rule);
	g_free(p);
}

static void answer(struct paste *p, bool allowed, const char *why)
{
	GVariantDict dict;

	g_message("clipboard paste from %s into %s: %s: %s", p->source,
		  p->target, allowed ? "allowed" : "denied", why);
	g_variant_dict_init(&dict, NULL);
	g_variant_dict_insert(&dict, "decision", "s",
			      allowed ? "allow" : "deny");
	g_variant_dict_insert(&dict, "reason", "s", why);
	qm_call_reply(p->call, g_variant_dict_end(&dict));
	paste_free(p);
}

static void allow(struct paste *p, const char *why)
{
	if (!qm_rpc_audit(p->d, SERVICE, p->source, p->target, p->target,
			  QM_AUDIT_ALLOW, p->rule)) {
		answer(p, false, "the audit log cannot be written");
		return;
	}
	answer(p, true, why);
}

static void deny(struct paste *p, const char *why)
{
	qm_rpc_audit(p->d, SERVICE, p->source, p->target, NULL,
		     QM_AUDIT_DENY, p->rule);
	answer(p, false, why);
}

static void answered(const char *choice, const char *why, void *data)
{
	struct paste *p = data;

	if (choice == NULL || strcmp(choice, p->target) != 0) {
		deny(p, why ? why : "the user refused");
		return;
	}
	allow(p, "the user allowed it");
}

static bool is_target(const struct paste *p, const char *resolved)
{
	return strcmp(resolved, p->target) == 0 ||
	       strcmp(resolved, p->target_uuid) == 0;
}

void qm_clipboard_paste(struct qmgrd *d, struct qm_call *c)
{
	const char *source = NULL, *target = NULL;
	GVariant *args = qm_call_args(c);

	/* A qube's admin.* call never gets here: the proxy's user does. */
	if (qm_call_peer(c) == NULL) {
		qm_call_fail(c, QM_ERR_DENIED, "gui.ClipboardPaste is only "
			     "for gui-proxy on the admin socket");
		return;
	}
	if (!g_variant_lookup(args, "source", "&s", &source) ||
	    !g_variant_lookup(args, "target", "&s", &target)) {
		qm_call_fail(c, QM_ERR_INVALID, "gui.ClipboardPaste needs "
			     "source and target (qube names, strings)");
		return;
	}
	struct qm_vm *src = qm_inventory_find(d->inv, source);
	struct qm_vm *dst = qm_inventory_find(d->inv, target);
	if (src == NULL || dst == NULL) {
		qm_call_fail(c, QM_ERR_NOT_FOUND,
			     "qube '%s' does not exist (qvm-ls lists them)",
			     src == NULL ? source : target);
		return;
	}

	struct paste *p = g_new0(struct paste, 1);
	p->d = d;
	p->call = c;
	p->source = g_strdup(src->name);
	p->target = g_strdup(dst->name);
	p->target_uuid = g_strconcat("uuid:", dst->uuid, NULL);

	const struct pol_policy *policy = qm_rpc_policy(d);
	g_autoptr(GError) err = NULL;
	g_autoptr(pol_system) sys = qm_rpc_system(d, &err);
	if (sys == NULL) {
		g_warning("the inventory cannot be described to the policy: "
			  "%s", err->message);
		deny(p, "internal error describing the qubes");
		return;
	}
	const struct pol_request req = {
		.service = SERVICE,
		.argument = "+",
		.source = p->source,
		.target = p->target,
	};
	struct pol_decision dec;
	pol_policy_evaluate(policy, sys, &req, &dec);
	g_autofree char *explain = pol_decision_explain(&dec);
	p->rule = qm_rpc_rule_where(dec.rule);

	switch (dec.action) {
	case POL_ACTION_ALLOW:
		if (is_target(p, dec.target))
			allow(p, explain);
		else
			deny(p, "the policy sends the paste to another qube, "
				"which a paste cannot follow");
		break;
	case POL_ACTION_ASK: {
		bool offered = false;
		for (guint i = 0; i < dec.ask_targets->len; i++)
			offered |= is_target(p, g_ptr_array_index(
							dec.ask_targets, i));
		if (!offered) {
			deny(p, "the policy offers this qube no choice");
			break;
		}
		if (!qm_rpc_audit(d, SERVICE, p->source, p->target, NULL,
				  QM_AUDIT_ASK, p->rule)) {
			answer(p, false, "the audit log cannot be written");
			break;
		}
		const char *const targets[] = { p->target, NULL };
		qm_prompt_ask(d, p->source, SERVICE, "+", targets, p->target,
			      answered, p);
		break;
	}
	default:
		deny(p, explain);
		break;
	}
	pol_decision_finish(&dec);
}
