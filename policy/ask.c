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

static bool has_bit(const struct target_set *set, size_t bit)
{
	return (set->bits[bit / 64] >> (bit % 64)) & 1;
}

static void set_bit(struct target_set *set, size_t bit)
{
	set->bits[bit / 64] |= (guint64)1 << (bit % 64);
}

static void clear_bit(struct target_set *set, size_t bit)
{
	set->bits[bit / 64] &= ~((guint64)1 << (bit % 64));
}

/* Walks the rules that match all but the target, from the last to the
 * first, so that an earlier deny removes what a later allow added (first
 * match wins), as Qubes' collect_targets_for_ask does. */
static void collect(const struct pol_policy *policy,
		    const struct pol_system *sys, const struct pol_request *req,
		    const char *argument, const struct pol_vm *source,
		    struct target_set *set)
{
	const GArray *cand = policy_candidates(policy, req->service);
	for (guint i = cand->len; i > 0; i--) {
		const struct pol_rule *r = g_ptr_array_index(
			policy->rules, g_array_index(cand, guint, i - 1));
		if (!rule_matches_but_target(r, sys, req->service, argument,
					     source))
			continue;
		bool add = r->action != POL_ACTION_DENY;
		const struct pol_token *tok =
			add && r->redirect.kind != TOK_NONE ? &r->redirect
							   : &r->target;
		tok_expand(tok, sys, set, add);
	}
	if (set->dispvm) {
		const struct pol_vm *t = dispvm_of_source(sys, source);
		if (t != NULL && t->template_for_dispvms)
			set_bit(set, 2 * (size_t)t->index + 1);
		set->dispvm = false;
	}
	/* A call to itself is not offered (nor supported). */
	clear_bit(set, 2 * (size_t)source->index);
}

void ask_collect(const struct pol_policy *policy, const struct pol_system *sys,
		 const struct pol_rule *rule, const struct pol_request *req,
		 const struct pol_vm *source, struct pol_decision *out)
{
	const char *argument = req->argument ? req->argument : "+";
	char buf[POL_TARGET_MAX];
	size_t n = sys->vms->len;
	guint64 stack_bits[16];
	struct target_set set = {
		.words = (2 * n + 63) / 64,
	};
	g_autofree guint64 *heap_bits = NULL;
	if (set.words <= G_N_ELEMENTS(stack_bits)) {
		set.bits = stack_bits;
	} else {
		heap_bits = g_new(guint64, set.words);
		set.bits = heap_bits;
	}
	memset(set.bits, 0, set.words * sizeof(guint64));

	GPtrArray *targets = g_ptr_array_new();
	if (rule->redirect.kind != TOK_NONE) {
		/* target= names the one candidate. */
		const char *t = redirect_normalise(&rule->redirect, sys, source,
						   buf, sizeof(buf));
		bool disp = t != NULL && g_str_has_prefix(t, "@dispvm:");
		const struct pol_vm *vm =
			t == NULL		  ? NULL
			: disp			  ? sys_find_name(sys, t + 8)
			: strcmp(t, "dom0") == 0 ? sys->adminvm
						  : sys_find_name(sys, t);
		if (vm != NULL)
			set_bit(&set, 2 * (size_t)vm->index + disp);
	} else {
		collect(policy, sys, req, argument, source, &set);
	}

	for (size_t i = 0; i < n; i++) {
		const struct pol_vm *vm = g_ptr_array_index(sys->vms, i);
		/* Internal qubes (and their disposables) are never offered. */
		bool hidden = vm->internal;
		if (has_bit(&set, 2 * i) && !hidden &&
		    (rule->autostart || vm->running ||
		     vm->cls == POL_CLASS_ADMINVM))
			g_ptr_array_add(targets, (char *)vm->target);
		/* A new disposable always needs a start. */
		if (has_bit(&set, 2 * i + 1) && !hidden && rule->autostart)
			g_ptr_array_add(targets, vm->dispvm_target);
	}
	if (targets->len == 0) {
		g_ptr_array_free(targets, TRUE);
		out->action = POL_ACTION_DENY;
		out->reason = POL_DENY_ASK_EMPTY;
		return;
	}
	g_ptr_array_sort(targets, cmp_str);
	if (rule->default_target.kind != TOK_NONE) {
		const char *d = redirect_normalise(&rule->default_target, sys,
						   source, buf, sizeof(buf));
		for (guint i = 0; d != NULL && i < targets->len; i++) {
			if (strcmp(g_ptr_array_index(targets, i), d) == 0) {
				out->ask_default = g_ptr_array_index(targets,
								     i);
				break;
			}
		}
	}
	out->ask_targets = targets;
	out->action = POL_ACTION_ASK;
}
