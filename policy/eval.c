/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Deciding a call: validating the request, finding the first matching rule
 * through the per-service index, and resolving allow targets.
 *
 * This is the hot path (every RPC call, and every packet rule compile later):
 * an allow or deny decision allocates nothing.
 */
#include "internal.h"

#include <string.h>

bool pol_service_is_valid(const char *service)
{
	size_t len = strlen(service);
	return len > 0 && len <= POL_SERVICE_MAX &&
	       service_chars_ok(service, false);
}

bool pol_argument_is_valid(const char *argument)
{
	size_t len = strlen(argument);
	return len > 0 && len <= POL_ARGUMENT_MAX && argument[0] == '+' &&
	       service_chars_ok(argument, true);
}

/* A name/uuid spelled VM of a request, or NULL. */
static const struct pol_vm *lookup_vm(const struct pol_system *sys,
				      const char *text)
{
	char uuid[37];

	if (g_str_has_prefix(text, "uuid:"))
		return uuid_canonical(text + 5, uuid) ? sys_find_uuid(sys, uuid)
						      : NULL;
	return sys_find_name(sys, text);
}

/*
 * The caller's intended target (Qubes' IntendedTarget.verify): keywords a
 * caller may use, else a VM.  A name that is not a VM is taken as @default,
 * as Qubes does, so a caller cannot probe which VMs exist.
 */
bool resolve_intended(const struct pol_system *sys, const char *text,
		      struct intended *out)
{
	memset(out, 0, sizeof(*out));
	out->text = text;
	if (text == NULL || *text == '\0' || strcmp(text, "@default") == 0) {
		out->kind = IT_DEFAULT;
		out->text = "@default";
		return true;
	}
	if (strcmp(text, "@adminvm") == 0 || strcmp(text, "dom0") == 0) {
		out->kind = IT_ADMINVM;
		out->vm = sys->adminvm;
		return true;
	}
	if (strcmp(text, "@dispvm") == 0) {
		out->kind = IT_DISPVM;
		return true;
	}
	if (g_str_has_prefix(text, "@dispvm:")) {
		const struct pol_vm *vm = lookup_vm(sys, text + 8);
		if (vm == NULL || !vm->template_for_dispvms)
			return false;
		out->kind = IT_DISPVM_TEMPLATE;
		out->vm = vm;
		return true;
	}
	if (text[0] == '@' || strcmp(text, "*") == 0)
		return false;
	const struct pol_vm *vm = lookup_vm(sys, text);
	if (vm == NULL) {
		out->kind = IT_DEFAULT;
		return true;
	}
	out->kind = vm->cls == POL_CLASS_ADMINVM ? IT_ADMINVM : IT_VM;
	out->vm = vm;
	return true;
}

bool rule_matches_but_target(const struct pol_rule *rule,
			     const struct pol_system *sys,
			     const char *service, const char *argument,
			     const struct pol_vm *source)
{
	return (rule->service == NULL || strcmp(rule->service, service) == 0) &&
	       (rule->argument == NULL ||
		strcmp(rule->argument, argument) == 0) &&
	       tok_match_source(&rule->source, sys, source);
}

static bool deny(struct pol_decision *out, enum pol_deny_reason reason)
{
	out->action = POL_ACTION_DENY;
	out->reason = reason;
	out->target[0] = '\0';
	return false;
}

static void set_target(struct pol_decision *out, const char *a, const char *b)
{
	g_strlcpy(out->target, a, sizeof(out->target));
	if (b != NULL)
		g_strlcat(out->target, b, sizeof(out->target));
}

/* Resolves the target of an allow rule (Qubes' Allow.evaluate). */
static bool resolve_allow(const struct pol_system *sys,
			  const struct pol_rule *rule,
			  const struct pol_vm *source,
			  const struct intended *it, struct pol_decision *out)
{
	struct intended redirect;
	const struct intended *t = it;
	const struct pol_vm *tmpl;

	if (rule->redirect.kind != TOK_NONE) {
		/* A target= naming no existing VM denies, rather than falling
		 * back to @default as a caller's unknown name would. */
		if (!resolve_intended(sys, rule->redirect.text, &redirect) ||
		    (redirect.kind == IT_DEFAULT))
			return deny(out, POL_DENY_REDIRECT_INVALID);
		t = &redirect;
	}
	switch (t->kind) {
	case IT_DEFAULT:
		return deny(out, POL_DENY_NO_TARGET);
	case IT_DISPVM:
		tmpl = dispvm_of_source(sys, source);
		if (tmpl == NULL || !tmpl->template_for_dispvms)
			return deny(out, POL_DENY_NO_DISPVM);
		set_target(out, "@dispvm:", tmpl->name);
		break;
	case IT_ADMINVM:
		/* "uuid:..." stays as written; dom0/@adminvm are dom0 */
		set_target(out, g_str_has_prefix(t->text, "uuid:") ? t->text
								   : "dom0",
			   NULL);
		break;
	case IT_VM:
	case IT_DISPVM_TEMPLATE:
		set_target(out, t->text, NULL);
		break;
	case IT_INVALID:
		return deny(out, POL_DENY_BAD_TARGET);
	}
	if (!rule->autostart) {
		bool up = t->kind == IT_ADMINVM ||
			  (t->kind == IT_VM && t->vm->running);
		if (!up)
			return deny(out, POL_DENY_AUTOSTART);
	}
	out->action = POL_ACTION_ALLOW;
	return true;
}

bool pol_policy_evaluate(const struct pol_policy *policy,
			 const struct pol_system *sys,
			 const struct pol_request *req,
			 struct pol_decision *out)
{
	struct intended it;
	const char *argument = req->argument ? req->argument : "+";

	memset(out, 0, sizeof(*out));
	if (!pol_policy_is_valid(policy))
		return deny(out, POL_DENY_POLICY_INVALID);
	if (req->service == NULL || !pol_service_is_valid(req->service) ||
	    !pol_argument_is_valid(argument))
		return deny(out, POL_DENY_BAD_SERVICE);
	const struct pol_vm *source = NULL;
	if (req->source != NULL && (strcmp(req->source, "dom0") == 0 ||
				    strcmp(req->source, "@adminvm") == 0))
		source = sys->adminvm;
	else if (req->source != NULL)
		source = lookup_vm(sys, req->source);
	if (source == NULL)
		return deny(out, POL_DENY_BAD_SOURCE);
	if (!resolve_intended(sys, req->target, &it))
		return deny(out, POL_DENY_BAD_TARGET);

	const GArray *candidates = policy_candidates(policy, req->service);
	const struct pol_rule *rule = NULL;
	for (guint i = 0; i < candidates->len; i++) {
		const struct pol_rule *r = g_ptr_array_index(
			policy->rules, g_array_index(candidates, guint, i));
		if (rule_matches_but_target(r, sys, req->service, argument,
					    source) &&
		    tok_match_target(&r->target, sys, source, &it)) {
			rule = r;
			break;
		}
	}
	if (rule == NULL)
		return deny(out, POL_DENY_NO_RULE);

	out->rule = rule;
	out->notify = rule->notify;
	out->autostart = rule->autostart;
	out->user = rule->user;
	switch (rule->action) {
	case POL_ACTION_DENY:
		return deny(out, POL_DENY_RULE);
	case POL_ACTION_ALLOW:
		return resolve_allow(sys, rule, source, &it, out);
	case POL_ACTION_ASK:
		ask_collect(policy, sys, rule, req, source, out);
		return out->action == POL_ACTION_ASK;
	}
	return deny(out, POL_DENY_RULE);
}

void pol_decision_finish(struct pol_decision *d)
{
	if (d->ask_targets != NULL)
		g_ptr_array_free(d->ask_targets, TRUE);
	d->ask_targets = NULL;
	d->ask_default = NULL;
}

char *pol_decision_format(const struct pol_decision *d)
{
	GString *s;

	switch (d->action) {
	case POL_ACTION_ALLOW:
		if (d->user != NULL)
			return g_strdup_printf("allow target=%s user=%s",
					       d->target, d->user);
		return g_strdup_printf("allow target=%s", d->target);
	case POL_ACTION_ASK:
		s = g_string_new("ask targets=");
		for (guint i = 0; d->ask_targets && i < d->ask_targets->len;
		     i++)
			g_string_append_printf(
				s, i ? ",%s" : "%s",
				(char *)g_ptr_array_index(d->ask_targets, i));
		g_string_append_printf(s, " default_target=%s",
				       d->ask_default ? d->ask_default : "");
		return g_string_free(s, FALSE);
	case POL_ACTION_DENY:
		break;
	}
	return g_strdup("deny");
}

static const char *reason_text(enum pol_deny_reason r)
{
	switch (r) {
	case POL_DENY_NONE:
		return "not denied";
	case POL_DENY_POLICY_INVALID:
		return "the policy has errors, so every call is denied (run "
		       "qvm-policy check)";
	case POL_DENY_BAD_SERVICE:
		return "the service or argument is not well formed";
	case POL_DENY_BAD_SOURCE:
		return "the source is not a known qube";
	case POL_DENY_BAD_TARGET:
		return "the requested target is not something a caller may "
		       "ask for (a qube, dom0, @default, @dispvm or "
		       "@dispvm:TEMPLATE of a disposable template)";
	case POL_DENY_NO_RULE:
		return "no rule matched, and what no rule allows is denied";
	case POL_DENY_RULE:
		return "the rule denies it";
	case POL_DENY_NO_TARGET:
		return "the rule allows it but neither the caller nor the "
		       "rule (target=) names a target";
	case POL_DENY_NO_DISPVM:
		return "the rule allows a disposable but the source has no "
		       "default_dispvm that is a disposable template";
	case POL_DENY_REDIRECT_INVALID:
		return "the rule's target= names no existing qube or "
		       "disposable template";
	case POL_DENY_AUTOSTART:
		return "the rule has autostart=no and the target is not "
		       "running";
	case POL_DENY_ASK_EMPTY:
		return "the rule asks, but there is no target to choose from";
	}
	return "unknown";
}

char *pol_decision_explain(const struct pol_decision *d)
{
	if (d->action == POL_ACTION_DENY) {
		if (d->rule != NULL)
			return g_strdup_printf("denied by %s:%u: %s",
					       d->rule->file, d->rule->line,
					       reason_text(d->reason));
		return g_strdup_printf("denied: %s", reason_text(d->reason));
	}
	if (d->action == POL_ACTION_ASK)
		return g_strdup_printf("%s:%u asks the user to choose among "
				       "the targets this source may reach "
				       "for this call",
				       d->rule->file, d->rule->line);
	return g_strdup_printf("%s:%u allows it; the call goes to %s%s%s",
			       d->rule->file, d->rule->line, d->target,
			       d->user ? " as user " : "",
			       d->user ? d->user : "");
}
