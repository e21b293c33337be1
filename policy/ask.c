/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The candidate list of an `ask` rule: which targets the user may choose
 * from, built as Qubes does (collect_targets_for_ask).
 */
#include "internal.h"

#include <string.h>

/*
 * Spells a redirect (target= / default_target=) the way a candidate list
 * spells it: a VM's name (also when written as uuid:), dom0 for the admin
 * VM, @dispvm:NAME for a disposable.  NULL when it names nothing usable.
 */
const char *redirect_normalise(const struct pol_token *tok,
			       const struct pol_system *sys,
			       const struct pol_vm *source, char *buf,
			       size_t size)
{
	struct intended it;
	const struct pol_vm *tmpl;

	if (!resolve_intended(sys, tok->text, &it))
		return NULL;
	switch (it.kind) {
	case IT_ADMINVM:
		return "dom0";
	case IT_VM:
		return it.vm->name;
	case IT_DISPVM:
		tmpl = dispvm_of_source(sys, source);
		if (tmpl == NULL || !tmpl->template_for_dispvms)
			return NULL;
		g_snprintf(buf, size, "@dispvm:%s", tmpl->name);
		return buf;
	case IT_DISPVM_TEMPLATE:
		g_snprintf(buf, size, "@dispvm:%s", it.vm->name);
		return buf;
	case IT_DEFAULT:
	case IT_INVALID:
		break;
	}
	return NULL;
}

static int cmp_str(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A target is hidden from the list when it is, or is a disposable of, an
 * internal VM (Qubes hides internal qubes from prompts). */
static bool is_internal(const struct pol_system *sys, const char *target)
{
	const char *name = g_str_has_prefix(target, "@dispvm:") ? target + 8
								 : target;
	const struct pol_vm *vm = sys_find_name(sys, name);
	return vm != NULL && vm->internal;
}

static bool is_running(const struct pol_system *sys, const char *target)
{
	if (strcmp(target, "dom0") == 0)
		return true;
	if (target[0] == '@')
		return false;   /* a new disposable always needs a start */
	const struct pol_vm *vm = sys_find_name(sys, target);
	return vm != NULL && vm->running;
}

void ask_collect(const struct pol_policy *policy, const struct pol_system *sys,
		 const struct pol_rule *rule, const struct pol_request *req,
		 const struct pol_vm *source, struct pol_decision *out)
{
	g_autoptr(GHashTable) set =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	const char *argument = req->argument ? req->argument : "+";
	char buf[POL_TARGET_MAX];

	if (rule->redirect.kind != TOK_NONE) {
		const char *t = redirect_normalise(&rule->redirect, sys, source,
						   buf, sizeof(buf));
		if (t != NULL)
			g_hash_table_add(set, g_strdup(t));
	} else {
		/* From the last rule to the first, so that an earlier deny
		 * removes what a later allow added (first match wins). */
		const GArray *cand = policy_candidates(policy, req->service);
		for (guint i = cand->len; i > 0; i--) {
			const struct pol_rule *r = g_ptr_array_index(
				policy->rules,
				g_array_index(cand, guint, i - 1));
			if (!rule_matches_but_target(r, sys, req->service,
						     argument, source))
				continue;
			bool add = r->action != POL_ACTION_DENY;
			const struct pol_token *tok =
				add && r->redirect.kind != TOK_NONE
					? &r->redirect
					: &r->target;
			tok_expand(tok, sys, set, add);
		}
		if (g_hash_table_remove(set, "@dispvm")) {
			const struct pol_vm *t = dispvm_of_source(sys, source);
			if (t != NULL && t->template_for_dispvms)
				g_hash_table_add(set, g_strconcat(
					"@dispvm:", t->name, NULL));
		}
		/* A call to itself is not offered (nor supported). */
		g_hash_table_remove(set, source->cls == POL_CLASS_ADMINVM
						 ? "dom0"
						 : source->name);
	}

	GPtrArray *targets = g_ptr_array_new_with_free_func(g_free);
	GHashTableIter it;
	gpointer key;
	g_hash_table_iter_init(&it, set);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		if (is_internal(sys, key))
			continue;
		if (!rule->autostart && !is_running(sys, key))
			continue;
		g_ptr_array_add(targets, g_strdup(key));
	}
	g_ptr_array_sort(targets, cmp_str);

	if (targets->len == 0) {
		g_ptr_array_free(targets, TRUE);
		out->action = POL_ACTION_DENY;
		out->reason = POL_DENY_ASK_EMPTY;
		return;
	}
	if (rule->default_target.kind != TOK_NONE) {
		const char *d = redirect_normalise(&rule->default_target, sys,
						   source, buf, sizeof(buf));
		for (guint i = 0; d != NULL && i < targets->len; i++) {
			if (strcmp(g_ptr_array_index(targets, i), d) == 0) {
				out->ask_default = g_strdup(d);
				break;
			}
		}
	}
	out->ask_targets = targets;
	out->action = POL_ACTION_ASK;
}
