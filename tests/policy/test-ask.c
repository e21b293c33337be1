/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The target list offered by an `ask` decision: the reverse walk over the
 * rules for the same service, argument and source, deny rules removing,
 * @dispvm replacement, removal of the source and internal VMs, autostart=no,
 * target= and default_target= normalisation, and sorting.
 */
#ifdef NDEBUG
#error "the policy tests rely on assertions; do not build them with NDEBUG"
#endif
#ifdef G_DISABLE_ASSERT
#error "the policy tests rely on g_assert; do not define G_DISABLE_ASSERT"
#endif

#include <stdbool.h>
#include <string.h>
#include <glib.h>

#include "policy.h"

#define WORK_UUID "5d1b2a9c-3f4e-4b6a-8c7d-0e1f2a3b4c5d"
#define PERSONAL_UUID "6e2c3bad-4a5f-4c7b-9d8e-1f2a3b4c5d6e"
#define UNKNOWN_UUID "deadbeef-dead-4eef-8eef-deadbeefdead"
#define NIL_UUID POL_ADMINVM_UUID

static const char *const work_tags[] = { "work-tag", NULL };
static const char *const personal_tags[] = { "personal-tag", NULL };
static const char *const dvm_tags[] = { "dvm-tag", NULL };

/*
 * Running: dom0, work, personal, sys-hidden, disp7.  Disposable templates:
 * default-dvm, work-dvm and the internal internal-dvm.  work's disposables
 * come from default-dvm, personal's from work-dvm, untrusted's from the
 * internal internal-dvm, vault has none.
 */
static const struct pol_vm_info ask_vms[] = {
	{ .name = "dom0", .cls = POL_CLASS_ADMINVM, .running = true },
	{ .name = "work", .cls = POL_CLASS_APPVM, .uuid = WORK_UUID,
	  .tags = work_tags, .default_dispvm = "default-dvm", .running = true },
	{ .name = "personal", .cls = POL_CLASS_APPVM, .uuid = PERSONAL_UUID,
	  .tags = personal_tags, .default_dispvm = "work-dvm", .running = true },
	{ .name = "vault", .cls = POL_CLASS_APPVM },
	{ .name = "untrusted", .cls = POL_CLASS_APPVM,
	  .default_dispvm = "internal-dvm" },
	{ .name = "default-dvm", .cls = POL_CLASS_APPVM, .tags = dvm_tags,
	  .template_for_dispvms = true },
	{ .name = "work-dvm", .cls = POL_CLASS_APPVM, .tags = work_tags,
	  .template_for_dispvms = true },
	{ .name = "internal-dvm", .cls = POL_CLASS_APPVM, .tags = work_tags,
	  .template_for_dispvms = true, .internal = true },
	{ .name = "sys-hidden", .cls = POL_CLASS_APPVM, .tags = work_tags,
	  .internal = true, .running = true },
	{ .name = "fedora", .cls = POL_CLASS_TEMPLATEVM },
	{ .name = "disp7", .cls = POL_CLASS_DISPVM,
	  .template_name = "default-dvm", .default_dispvm = "default-dvm",
	  .running = true },
};

/* @anyvm as seen from work: everything but dom0, work itself, the internal
 * VMs and the internal template's disposables; @dispvm became
 * @dispvm:default-dvm, which @anyvm also lists. */
#define ANYVM_FROM_WORK \
	"@dispvm:default-dvm,@dispvm:work-dvm,default-dvm,disp7,fedora," \
	"personal,untrusted,vault,work-dvm"
#define STAR_FROM_WORK \
	"@dispvm:default-dvm,@dispvm:work-dvm,default-dvm,disp7,dom0,fedora," \
	"personal,untrusted,vault,work-dvm"

static struct pol_system *ask_sys;

struct ask_case {
	const char *name;
	const char *policy;
	const char *source;
	const char *target;    /* intended; NULL = @default */
	const char *expect;    /* pol_decision_format() */
	/* for "deny": the reason, or POL_DENY_NONE when it is not checked */
	enum pol_deny_reason reason;
};

static const struct ask_case ask_cases[] = {
	/* ---- expansion of one rule ---- */
	{ "anyvm_lists_all_but_adminvm_source_and_internal",
	  "qubes.Test * work @anyvm ask\n",
	  "work", NULL, "ask targets=" ANYVM_FROM_WORK " default_target=" },
	{ "star_adds_dom0",
	  "qubes.Test * work * ask\n",
	  "work", NULL, "ask targets=" STAR_FROM_WORK " default_target=" },
	{ "source_without_default_dispvm_drops_dispvm",
	  "qubes.Test * vault @anyvm ask\n",
	  "vault", NULL,
	  "ask targets=@dispvm:default-dvm,@dispvm:work-dvm,default-dvm,disp7,"
	  "fedora,personal,untrusted,work,work-dvm default_target=" },
	{ "dispvm_replaced_by_sources_default",
	  "qubes.Test * personal @dispvm ask\n",
	  "personal", "@dispvm", "ask targets=@dispvm:work-dvm default_target=" },
	{ "dispvm_without_default_leaves_nothing",
	  "qubes.Test * vault @dispvm ask\n",
	  "vault", "@dispvm", "deny", POL_DENY_ASK_EMPTY },
	{ "dispvm_of_internal_template_removed",
	  "qubes.Test * untrusted @dispvm ask\n",
	  "untrusted", "@dispvm", "deny", POL_DENY_ASK_EMPTY },
	{ "type_expands_to_class",
	  "qubes.Test * work @type:TemplateVM ask\n",
	  "work", "fedora", "ask targets=fedora default_target=" },
	{ "type_adminvm_expands_to_dom0",
	  "qubes.Test * work @type:AdminVM ask\n",
	  "work", "dom0", "ask targets=dom0 default_target=" },
	{ "tag_expands_to_tagged_vms_only",
	  "qubes.Test * work @tag:work-tag ask\n",
	  "work", "work-dvm", "ask targets=work-dvm default_target=" },
	{ "dispvm_tag_expands_to_tagged_templates",
	  "qubes.Test * work @dispvm:@tag:work-tag ask\n",
	  "work", "@dispvm:work-dvm", "ask targets=@dispvm:work-dvm default_target=" },
	{ "dispvm_name_expands_to_itself",
	  "qubes.Test * work @dispvm:work-dvm ask\n",
	  "work", "@dispvm:work-dvm", "ask targets=@dispvm:work-dvm default_target=" },
	{ "names_and_uuids_expand_to_names",
	  "qubes.Test * work @default ask\n"
	  "qubes.Test * work uuid:" PERSONAL_UUID " ask\n"
	  "qubes.Test * work @adminvm ask\n"
	  "qubes.Test * work nosuch ask\n"
	  "qubes.Test * work uuid:" UNKNOWN_UUID " ask\n",
	  "work", NULL, "ask targets=dom0,personal default_target=" },
	{ "adminvm_uuid_expands_to_dom0",
	  "qubes.Test * work @default ask\n"
	  "qubes.Test * work uuid:" NIL_UUID " ask\n",
	  "work", NULL, "ask targets=dom0 default_target=" },
	{ "dispvm_of_non_template_expands_to_nothing",
	  "qubes.Test * work @default ask\n"
	  "qubes.Test * work @dispvm:personal ask\n"
	  "qubes.Test * work vault ask\n",
	  "work", NULL, "ask targets=vault default_target=" },
	{ "duplicates_listed_once",
	  "qubes.Test * work @default ask\n"
	  "qubes.Test * work personal ask\n"
	  "qubes.Test * work uuid:" PERSONAL_UUID " ask\n"
	  "qubes.Test * work @tag:personal-tag allow\n",
	  "work", NULL, "ask targets=personal default_target=" },

	/* ---- the reverse walk ---- */
	{ "earlier_deny_removes_from_later_ask",
	  "qubes.Test * work vault deny\n"
	  "qubes.Test * work @anyvm ask\n",
	  "work", NULL,
	  "ask targets=@dispvm:default-dvm,@dispvm:work-dvm,default-dvm,disp7,"
	  "fedora,personal,untrusted,work-dvm default_target=" },
	{ "later_deny_does_not_remove_from_earlier_ask",
	  "qubes.Test * work @anyvm ask\n"
	  "qubes.Test * work vault deny\n",
	  "work", NULL, "ask targets=" ANYVM_FROM_WORK " default_target=" },
	{ "deny_tag_removes_vms_not_their_disposables",
	  "qubes.Test * work @tag:work-tag deny\n"
	  "qubes.Test * work @anyvm ask\n",
	  "work", NULL,
	  "ask targets=@dispvm:default-dvm,@dispvm:work-dvm,default-dvm,disp7,"
	  "fedora,personal,untrusted,vault default_target=" },
	{ "deny_anyvm_clears_what_later_rules_added",
	  "qubes.Test * work personal ask\n"
	  "qubes.Test * work @anyvm deny\n"
	  "qubes.Test * work vault ask\n",
	  "work", "personal", "ask targets=personal default_target=" },
	{ "rules_for_other_source_service_argument_ignored",
	  "qubes.Test * personal vault deny\n"
	  "qubes.Other * work vault deny\n"
	  "qubes.Test +other work vault deny\n"
	  "qubes.Test * work @anyvm ask\n",
	  "work", NULL, "ask targets=" ANYVM_FROM_WORK " default_target=" },
	{ "allow_rules_add_their_redirect_or_target",
	  "qubes.Test * work @default ask\n"
	  "qubes.Test * work personal allow\n"
	  "qubes.Test * work vault allow target=untrusted\n"
	  "qubes.Test * work fedora ask target=default-dvm\n",
	  "work", NULL, "ask targets=default-dvm,personal,untrusted default_target=" },
	/* The walk removes "@dispvm:default-dvm" before "@dispvm" is replaced by
	 * it, so the replacement survives (Qubes behaves the same). */
	{ "deny_named_dispvm_applies_before_dispvm_replacement",
	  "qubes.Test * work @dispvm:default-dvm deny\n"
	  "qubes.Test * work @default ask\n"
	  "qubes.Test * work @dispvm ask\n"
	  "qubes.Test * work personal ask\n",
	  "work", NULL, "ask targets=@dispvm:default-dvm,personal default_target=" },
	{ "matching_deny_rule_still_denies",
	  "qubes.Test * work vault deny\n"
	  "qubes.Test * work @anyvm ask\n",
	  "work", "vault", "deny", POL_DENY_RULE },

	/* ---- removals ---- */
	{ "internal_vms_removed_even_when_named",
	  "qubes.Test * work @default ask\n"
	  "qubes.Test * work sys-hidden ask\n"
	  "qubes.Test * work internal-dvm ask\n"
	  "qubes.Test * work @dispvm:internal-dvm ask\n"
	  "qubes.Test * work personal ask\n",
	  "work", NULL, "ask targets=personal default_target=" },
	{ "source_removed_even_when_named",
	  "qubes.Test * work @default ask\n"
	  "qubes.Test * work work ask\n"
	  "qubes.Test * work uuid:" WORK_UUID " ask\n"
	  "qubes.Test * work personal ask\n",
	  "work", NULL, "ask targets=personal default_target=" },
	{ "autostart_no_keeps_dom0_and_running",
	  "qubes.Test * work * ask autostart=no\n",
	  "work", NULL, "ask targets=disp7,dom0,personal default_target=" },
	{ "autostart_no_leaving_nothing_denies",
	  "qubes.Test * work @type:TemplateVM ask autostart=no\n",
	  "work", "fedora", "deny", POL_DENY_ASK_EMPTY },

	/* ---- empty lists ---- */
	{ "default_alone_is_empty",
	  "qubes.Test * work @default ask\n",
	  "work", NULL, "deny", POL_DENY_ASK_EMPTY },
	{ "only_the_source_is_empty",
	  "qubes.Test * work work ask\n",
	  "work", "work", "deny", POL_DENY_ASK_EMPTY },
	{ "only_internal_is_empty",
	  "qubes.Test * work sys-hidden ask\n",
	  "work", "sys-hidden", "deny", POL_DENY_ASK_EMPTY },

	/* ---- target= ---- */
	{ "target_uuid_normalised_to_name",
	  "qubes.Test * work @anyvm ask target=uuid:" PERSONAL_UUID "\n",
	  "work", NULL, "ask targets=personal default_target=" },
	{ "target_adminvm_normalised_to_dom0",
	  "qubes.Test * work @anyvm ask target=@adminvm\n",
	  "work", NULL, "ask targets=dom0 default_target=" },
	{ "target_nil_uuid_normalised_to_dom0",
	  "qubes.Test * work @anyvm ask target=uuid:" NIL_UUID "\n",
	  "work", NULL, "ask targets=dom0 default_target=" },
	{ "target_dispvm_normalised_to_sources_default",
	  "qubes.Test * work @anyvm ask target=@dispvm\n",
	  "work", NULL, "ask targets=@dispvm:default-dvm default_target=" },
	{ "target_named_dispvm_kept",
	  "qubes.Test * work @anyvm ask target=@dispvm:work-dvm\n",
	  "work", NULL, "ask targets=@dispvm:work-dvm default_target=" },
	{ "target_is_the_only_candidate",
	  "qubes.Test * work vault deny\n"
	  "qubes.Test * work personal ask\n"
	  "qubes.Test * work @anyvm ask target=vault\n",
	  "work", NULL, "ask targets=vault default_target=" },
	{ "target_missing_vm_gives_no_candidate",
	  "qubes.Test * work @anyvm ask target=nosuch\n",
	  "work", NULL, "deny", POL_DENY_ASK_EMPTY },
	{ "target_dispvm_without_default_gives_no_candidate",
	  "qubes.Test * vault @anyvm ask target=@dispvm\n",
	  "vault", NULL, "deny" },

	/* ---- default_target= ---- */
	{ "default_target_uuid_normalised",
	  "qubes.Test * work @tag:personal-tag ask default_target=uuid:"
	  PERSONAL_UUID "\n",
	  "work", "personal", "ask targets=personal default_target=personal" },
	{ "default_target_adminvm_normalised",
	  "qubes.Test * work * ask default_target=@adminvm\n",
	  "work", NULL, "ask targets=" STAR_FROM_WORK " default_target=dom0" },
	{ "default_target_dispvm_normalised",
	  "qubes.Test * work @anyvm ask default_target=@dispvm\n",
	  "work", NULL,
	  "ask targets=" ANYVM_FROM_WORK " default_target=@dispvm:default-dvm" },
	{ "default_target_named_dispvm",
	  "qubes.Test * work @anyvm ask default_target=@dispvm:work-dvm\n",
	  "work", NULL,
	  "ask targets=" ANYVM_FROM_WORK " default_target=@dispvm:work-dvm" },
	{ "default_target_dispvm_without_default_dropped",
	  "qubes.Test * vault @anyvm ask default_target=@dispvm\n",
	  "vault", NULL,
	  "ask targets=@dispvm:default-dvm,@dispvm:work-dvm,default-dvm,disp7,"
	  "fedora,personal,untrusted,work,work-dvm default_target=" },
	{ "default_target_not_a_candidate_dropped",
	  "qubes.Test * work @tag:work-tag ask default_target=vault\n",
	  "work", "work-dvm", "ask targets=work-dvm default_target=" },
	{ "default_target_missing_vm_dropped",
	  "qubes.Test * work @anyvm ask default_target=nosuch\n",
	  "work", NULL, "ask targets=" ANYVM_FROM_WORK " default_target=" },
	{ "default_target_source_dropped",
	  "qubes.Test * work @anyvm ask default_target=work\n",
	  "work", NULL, "ask targets=" ANYVM_FROM_WORK " default_target=" },
	{ "default_target_internal_dropped",
	  "qubes.Test * work @anyvm ask default_target=sys-hidden\n",
	  "work", NULL, "ask targets=" ANYVM_FROM_WORK " default_target=" },
	{ "default_target_halted_dropped_with_autostart_no",
	  "qubes.Test * work * ask autostart=no default_target=vault\n",
	  "work", NULL, "ask targets=disp7,dom0,personal default_target=" },
	{ "default_target_same_as_target",
	  "qubes.Test * work @anyvm ask target=personal default_target=personal\n",
	  "work", NULL, "ask targets=personal default_target=personal" },
	{ "default_target_other_than_target_dropped",
	  "qubes.Test * work @anyvm ask target=personal default_target=vault\n",
	  "work", NULL, "ask targets=personal default_target=" },
};

static struct pol_policy *load_valid(const char *text)
{
	struct pol_policy *p =
		pol_policy_load_string("test.policy", text, strlen(text), NULL);

	if (!pol_policy_is_valid(p)) {
		g_test_message("policy: %s", text);
		for (size_t i = 0; i < pol_policy_error_count(p); i++)
			g_test_message("policy error: %s", pol_policy_error(p, i));
	}
	g_assert_true(pol_policy_is_valid(p));
	return p;
}

/* The owned list must be what the line shows: sorted, no duplicates. */
static void check_ask_fields(const struct pol_decision *d, const char *line)
{
	g_autoptr(GString) joined = g_string_new(NULL);
	const char *list = strstr(line, "targets=");
	const char *dflt = strstr(line, " default_target=");

	g_assert_nonnull(d->ask_targets);
	if (d->ask_targets == NULL || list == NULL || dflt == NULL)
		return;
	list += strlen("targets=");
	dflt += strlen(" default_target=");

	for (guint i = 0; i < d->ask_targets->len; i++) {
		const char *t = g_ptr_array_index(d->ask_targets, i);

		if (i > 0) {
			const char *prev = g_ptr_array_index(d->ask_targets, i - 1);

			if (strcmp(prev, t) >= 0)
				g_test_fail_printf("ask_targets not strictly sorted: "
						   "'%s' before '%s'", prev, t);
			g_string_append_c(joined, ',');
		}
		g_string_append(joined, t);
	}
	g_assert_cmpint(strncmp(joined->str, list, joined->len), ==, 0);
	g_assert_cmpint(list[joined->len], ==, ' ');
	if (*dflt == '\0')
		g_assert_null(d->ask_default);
	else
		g_assert_cmpstr(d->ask_default, ==, dflt);
}

static void test_ask_case(gconstpointer data)
{
	const struct ask_case *c = data;
	g_autoptr(pol_policy) p = NULL;
	g_autofree char *line = NULL;
	struct pol_request req = {
		.service = "qubes.Test",
		.argument = "+",
		.source = c->source,
		.target = c->target,
	};
	struct pol_decision d;
	bool ok;

	g_test_message("policy: %s", c->policy);
	p = load_valid(c->policy);
	memset(&d, 0, sizeof(d));
	ok = pol_policy_evaluate(p, ask_sys, &req, &d);
	line = pol_decision_format(&d);
	g_assert_cmpstr(line, ==, c->expect);
	if (g_str_equal(c->expect, "deny")) {
		g_assert_false(ok);
		g_assert_cmpint(d.action, ==, POL_ACTION_DENY);
		if (c->reason != POL_DENY_NONE)
			g_assert_cmpint(d.reason, ==, c->reason);
	} else {
		g_assert_true(ok);
		g_assert_cmpint(d.action, ==, POL_ACTION_ASK);
		g_assert_cmpint(d.reason, ==, POL_DENY_NONE);
		if (line != NULL)
			check_ask_fields(&d, line);
	}
	pol_decision_finish(&d);
}

/* user= is carried on the decision even though the line does not show it. */
static void test_ask_carries_user(void)
{
	g_autoptr(pol_policy) p =
		load_valid("qubes.Test * work personal ask user=root\n");
	struct pol_request req = {
		.service = "qubes.Test",
		.source = "work",
		.target = "personal",
	};
	struct pol_decision d;

	memset(&d, 0, sizeof(d));
	g_assert_true(pol_policy_evaluate(p, ask_sys, &req, &d));
	g_assert_cmpint(d.action, ==, POL_ACTION_ASK);
	g_assert_cmpstr(d.user, ==, "root");
	pol_decision_finish(&d);
}

int main(int argc, char **argv)
{
	GError *error = NULL;
	int ret;

	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();

	ask_sys = pol_system_create();
	for (size_t i = 0; i < G_N_ELEMENTS(ask_vms); i++) {
		if (!pol_system_add_vm(ask_sys, &ask_vms[i], &error))
			g_error("adding VM %s: %s", ask_vms[i].name,
				error ? error->message : "(no message)");
	}
	if (!pol_system_check(ask_sys, &error))
		g_error("test system rejected: %s",
			error ? error->message : "(no message)");

	for (size_t i = 0; i < G_N_ELEMENTS(ask_cases); i++) {
		g_autofree char *path =
			g_strconcat("/policy/ask/", ask_cases[i].name, NULL);

		g_test_add_data_func(path, &ask_cases[i], test_ask_case);
	}
	g_test_add_func("/policy/ask/ask_carries_user", test_ask_carries_user);

	ret = g_test_run();
	pol_system_destroy(ask_sys);
	return ret;
}
