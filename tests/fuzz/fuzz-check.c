/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fuzz-check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fuzz_check_failed(const char *what, const char *file, int line)
{
	fprintf(stderr, "%s:%d: invariant violated: %s\n", file, line, what);
	abort();
}

void fuzz_setup(void)
{
	g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_FATAL_MASK);
}

static bool is_sorted_unique(const GPtrArray *v)
{
	for (guint i = 1; i < v->len; i++)
		if (strcmp(g_ptr_array_index(v, i - 1),
			   g_ptr_array_index(v, i)) >= 0)
			return false;
	return true;
}

static bool contains(const GPtrArray *v, const char *s)
{
	for (guint i = 0; i < v->len; i++)
		if (strcmp(g_ptr_array_index(v, i), s) == 0)
			return true;
	return false;
}

static void check_decision(const struct pol_policy *policy,
			   const struct pol_request *req,
			   const char *source_name, bool ret,
			   const struct pol_decision *d)
{
	FUZZ_CHECK(d->action == POL_ACTION_DENY ||
		   d->action == POL_ACTION_ALLOW ||
		   d->action == POL_ACTION_ASK);
	FUZZ_CHECK(ret == (d->action != POL_ACTION_DENY));
	FUZZ_CHECK((d->action == POL_ACTION_DENY) ==
		   (d->reason != POL_DENY_NONE));
	FUZZ_CHECK(memchr(d->target, '\0', sizeof(d->target)) != NULL);

	/* An invalid policy denies everything, for that reason alone. */
	if (!pol_policy_is_valid(policy)) {
		FUZZ_CHECK(d->action == POL_ACTION_DENY);
		FUZZ_CHECK(d->reason == POL_DENY_POLICY_INVALID);
	} else {
		FUZZ_CHECK(d->reason != POL_DENY_POLICY_INVALID);
	}
	if (d->reason == POL_DENY_RULE || d->action != POL_ACTION_DENY) {
		FUZZ_CHECK(d->rule != NULL);
	}
	if (d->rule) {
		FUZZ_CHECK(pol_rule_text(d->rule) != NULL);
		FUZZ_CHECK(pol_rule_file(d->rule) != NULL);
		FUZZ_CHECK(pol_rule_line(d->rule) > 0);
	}

	g_autofree char *line = pol_decision_format(d);
	g_autofree char *why = pol_decision_explain(d);
	FUZZ_CHECK(line != NULL);
	FUZZ_CHECK(why != NULL);

	switch (d->action) {
	case POL_ACTION_DENY:
		FUZZ_CHECK(g_str_has_prefix(line, "deny"));
		break;
	case POL_ACTION_ALLOW:
		FUZZ_CHECK(g_str_has_prefix(line, "allow target="));
		/* An allow always names where the call goes. */
		FUZZ_CHECK(d->target[0] != '\0');
		FUZZ_CHECK(strcmp(d->target, "@default") != 0);
		FUZZ_CHECK(strcmp(d->target, "@dispvm") != 0);
		FUZZ_CHECK(strcmp(d->target, "@anyvm") != 0);
		FUZZ_CHECK(d->target[0] != '@' ||
			   g_str_has_prefix(d->target, "@dispvm:"));
		FUZZ_CHECK(strcmp(d->target, "@dispvm:") != 0);
		break;
	case POL_ACTION_ASK:
		FUZZ_CHECK(g_str_has_prefix(line, "ask targets="));
		FUZZ_CHECK(d->ask_targets != NULL);
		FUZZ_CHECK(d->ask_targets->len > 0);
		FUZZ_CHECK(is_sorted_unique(d->ask_targets));
		/* "@dispvm" is always replaced by the source's template. */
		FUZZ_CHECK(!contains(d->ask_targets, "@dispvm"));
		FUZZ_CHECK(!contains(d->ask_targets, "@default"));
		FUZZ_CHECK(d->ask_default == NULL ||
			   contains(d->ask_targets, d->ask_default));
		if (source_name)
			FUZZ_CHECK(!contains(d->ask_targets, source_name));
		break;
	}
	(void)req;
}

/*
 * The deciding rule of an allow or a deny, printed by pol_rule_text() and
 * parsed again as a policy of its own, must be valid and decide the same
 * way: printing and parsing agree, and first-match does not depend on the
 * rules before it once it is the first that matches.  (Not for ask, whose
 * candidates depend on the other rules.)
 */
static void check_rule_roundtrip(const struct pol_system *sys,
				 const struct pol_request *req,
				 const struct pol_decision *d)
{
	if (d->rule == NULL || !(d->action == POL_ACTION_ALLOW ||
				 d->reason == POL_DENY_RULE))
		return;
	const char *text = pol_rule_text(d->rule);
	struct pol_policy *one = pol_policy_load_string("roundtrip.policy",
							text, strlen(text),
							NULL);
	if (!pol_policy_is_valid(one) || pol_policy_rule_count(one) != 1) {
		fprintf(stderr, "rule text does not parse back: '%s' (%s)\n",
			text, pol_policy_error_count(one) ?
			pol_policy_error(one, 0) : "no rule");
		abort();
	}
	struct pol_decision d1;
	pol_policy_evaluate(one, sys, req, &d1);
	g_autofree char *a = pol_decision_format(d);
	g_autofree char *b = pol_decision_format(&d1);
	if (strcmp(a, b) != 0 || d1.reason != d->reason) {
		fprintf(stderr, "rule '%s' decides '%s' in its policy but "
			"'%s' alone\n", text, a, b);
		abort();
	}
	pol_decision_finish(&d1);
	pol_policy_destroy(one);
}

void fuzz_evaluate_checked(const struct pol_policy *policy,
			   const struct pol_system *sys,
			   const struct pol_request *req,
			   const char *source_name,
			   struct pol_decision *out)
{
	struct pol_decision again;
	bool ret = pol_policy_evaluate(policy, sys, req, out);
	bool ret2 = pol_policy_evaluate(policy, sys, req, &again);

	check_decision(policy, req, source_name, ret, out);
	check_rule_roundtrip(sys, req, out);

	/* Deterministic: nothing may depend on uninitialised memory or on
	 * state left behind by a previous decision. */
	g_autofree char *a = pol_decision_format(out);
	g_autofree char *b = pol_decision_format(&again);
	FUZZ_CHECK(ret == ret2);
	FUZZ_CHECK(out->reason == again.reason);
	FUZZ_CHECK(out->rule == again.rule);
	FUZZ_CHECK(strcmp(a, b) == 0);
	pol_decision_finish(&again);
}
