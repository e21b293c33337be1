/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Decisions: one policy text, one call, and the line `qvm-policy eval` would
 * print for it.  All rows run against the same dozen VMs (see eval_vms).
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
#define WORK_UUID_UPPER "5D1B2A9C-3F4E-4B6A-8C7D-0E1F2A3B4C5D"
#define DVM_UUID "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5e"
#define VAULT_UUID "0f0e0d0c-0b0a-4908-8706-050403020100"
#define UNKNOWN_UUID "deadbeef-dead-4eef-8eef-deadbeefdead"
#define NIL_UUID POL_ADMINVM_UUID

/* ---- The VMs ------------------------------------------------------------- */

static const char *const dom0_tags[] = { "dom0-tag", NULL };
static const char *const work_tags[] = { "work-tag", "trusted", NULL };
static const char *const personal_tags[] = { "personal-tag", NULL };
static const char *const untrusted_tags[] = { "untrusted-tag", NULL };
static const char *const dvm_tags[] = { "dvm-tag", NULL };
static const char *const work_dvm_tags[] = { "work-tag", NULL };
static const char *const legacy_tags[] = { "legacy-tag", NULL };

/*
 * work and personal use different disposable templates so that @dispvm
 * resolves differently per source; vault has none; disp123 and disp456 are
 * disposables of default-dvm and work-dvm.
 */
static const struct pol_vm_info eval_vms[] = {
	{ .name = "dom0", .cls = POL_CLASS_ADMINVM, .tags = dom0_tags,
	  .default_dispvm = "default-dvm", .running = true },
	{ .name = "work", .cls = POL_CLASS_APPVM, .uuid = WORK_UUID,
	  .tags = work_tags, .default_dispvm = "work-dvm", .running = true },
	{ .name = "personal", .cls = POL_CLASS_APPVM, .tags = personal_tags,
	  .default_dispvm = "default-dvm", .running = true },
	{ .name = "untrusted", .cls = POL_CLASS_APPVM, .tags = untrusted_tags,
	  .default_dispvm = "default-dvm" },
	{ .name = "vault", .cls = POL_CLASS_APPVM, .uuid = VAULT_UUID },
	{ .name = "default-dvm", .cls = POL_CLASS_APPVM, .uuid = DVM_UUID,
	  .tags = dvm_tags, .default_dispvm = "default-dvm",
	  .template_for_dispvms = true },
	{ .name = "work-dvm", .cls = POL_CLASS_APPVM, .tags = work_dvm_tags,
	  .default_dispvm = "work-dvm", .template_for_dispvms = true },
	{ .name = "internal-dvm", .cls = POL_CLASS_APPVM,
	  .template_for_dispvms = true, .internal = true },
	{ .name = "fedora-40", .cls = POL_CLASS_TEMPLATEVM },
	{ .name = "legacy", .cls = POL_CLASS_STANDALONEVM, .tags = legacy_tags },
	{ .name = "disp123", .cls = POL_CLASS_DISPVM,
	  .template_name = "default-dvm", .default_dispvm = "default-dvm",
	  .running = true },
	{ .name = "disp456", .cls = POL_CLASS_DISPVM,
	  .template_name = "work-dvm", .running = true },
};

static struct pol_system *eval_sys;

static struct pol_system *build_system(const struct pol_vm_info *vms, size_t n)
{
	struct pol_system *sys = pol_system_create();

	for (size_t i = 0; i < n; i++) {
		GError *error = NULL;

		if (!pol_system_add_vm(sys, &vms[i], &error))
			g_error("adding VM %s: %s", vms[i].name,
				error ? error->message : "(no message)");
	}
	return sys;
}

/* ---- Helpers ------------------------------------------------------------- */

static struct pol_policy *load(const char *text)
{
	return pol_policy_load_string("test.policy", text, strlen(text), NULL);
}

static void log_errors(const struct pol_policy *p)
{
	for (size_t i = 0; i < pol_policy_error_count(p); i++)
		g_test_message("policy error: %s", pol_policy_error(p, i));
}

static struct pol_policy *load_valid(const char *text)
{
	struct pol_policy *p = load(text);

	if (!pol_policy_is_valid(p)) {
		g_test_message("policy: %s", text);
		log_errors(p);
	}
	g_assert_true(pol_policy_is_valid(p));
	return p;
}

/* Evaluates and returns the formatted decision; `d` is left filled. */
static char *decide(const struct pol_policy *p, const struct pol_system *sys,
		    const char *service, const char *argument,
		    const char *source, const char *target,
		    struct pol_decision *d)
{
	struct pol_request req = {
		.service = service ? service : "qubes.Test",
		.argument = argument,
		.source = source,
		.target = target,
	};
	bool ok;
	char *line;

	memset(d, 0, sizeof(*d));
	ok = pol_policy_evaluate(p, sys, &req, d);
	line = pol_decision_format(d);
	g_assert_nonnull(line);
	g_assert_cmpint(ok, ==, d->action != POL_ACTION_DENY);
	return line;
}

/* ---- The decision table --------------------------------------------------- */

#define ANY_REASON POL_DENY_NONE

struct eval_case {
	const char *name;
	const char *policy;
	const char *source;
	const char *target;      /* NULL: the caller gave none */
	const char *expect;      /* pol_decision_format() */
	/* for "deny": the reason, or ANY_REASON when it is not checked */
	enum pol_deny_reason reason;
	const char *service;     /* NULL: "qubes.Test" */
	const char *argument;    /* NULL: "+" */
};

static const struct eval_case eval_cases[] = {
	/* ---- rule order ---- */
	{ "first_match_wins_deny_before_allow",
	  "qubes.Test * work personal deny\n"
	  "qubes.Test * work personal allow\n",
	  "work", "personal", "deny", POL_DENY_RULE },
	{ "first_match_wins_allow_before_deny",
	  "qubes.Test * work personal allow\n"
	  "qubes.Test * work personal deny\n",
	  "work", "personal", "allow target=personal" },
	{ "non_matching_rule_is_skipped",
	  "qubes.Test * work vault deny\n"
	  "qubes.Test * work personal allow\n",
	  "work", "personal", "allow target=personal" },
	{ "no_match_denies",
	  "qubes.Other * work personal allow\n",
	  "work", "personal", "deny", POL_DENY_NO_RULE },
	{ "empty_policy_denies", "",
	  "work", "personal", "deny", POL_DENY_NO_RULE },
	{ "service_name_is_case_sensitive",
	  "qubes.test * work personal allow\n",
	  "work", "personal", "deny", POL_DENY_NO_RULE },

	/* ---- service and argument ---- */
	{ "star_service_matches_any_service",
	  "* * work personal allow\n",
	  "work", "personal", "allow target=personal", .service = "qubes.Other" },
	{ "star_service_matches_any_argument",
	  "* * work personal allow\n",
	  "work", "personal", "allow target=personal", .argument = "+x" },
	{ "star_argument_matches_an_argument",
	  "qubes.Test * work personal allow\n",
	  "work", "personal", "allow target=personal", .argument = "+foo" },
	{ "star_argument_matches_empty_argument",
	  "qubes.Test * work personal allow\n",
	  "work", "personal", "allow target=personal", .argument = "+" },
	{ "argument_matches_exactly",
	  "qubes.Test +foo work personal allow\n",
	  "work", "personal", "allow target=personal", .argument = "+foo" },
	{ "argument_is_not_a_prefix",
	  "qubes.Test +foo work personal allow\n",
	  "work", "personal", "deny", POL_DENY_NO_RULE, .argument = "+foobar" },
	{ "argument_is_case_sensitive",
	  "qubes.Test +foo work personal allow\n",
	  "work", "personal", "deny", POL_DENY_NO_RULE, .argument = "+FOO" },
	{ "named_argument_does_not_match_empty",
	  "qubes.Test +foo work personal allow\n",
	  "work", "personal", "deny", POL_DENY_NO_RULE, .argument = "+" },
	{ "plus_matches_empty_argument",
	  "qubes.Test + work personal allow\n",
	  "work", "personal", "allow target=personal", .argument = "+" },
	{ "plus_matches_null_argument",
	  "qubes.Test + work personal allow\n",
	  "work", "personal", "allow target=personal" },
	{ "plus_does_not_match_an_argument",
	  "qubes.Test + work personal allow\n",
	  "work", "personal", "deny", POL_DENY_NO_RULE, .argument = "+x" },
	{ "query_service_with_plus_denied",
	  "* * work personal allow\n",
	  "work", "personal", "deny", POL_DENY_BAD_SERVICE,
	  .service = "qubes+Test" },
	{ "query_empty_service_denied",
	  "* * work personal allow\n",
	  "work", "personal", "deny", POL_DENY_BAD_SERVICE, .service = "" },
	{ "query_argument_without_plus_denied",
	  "* * work personal allow\n",
	  "work", "personal", "deny", POL_DENY_BAD_SERVICE, .argument = "foo" },
	{ "query_argument_bad_char_denied",
	  "* * work personal allow\n",
	  "work", "personal", "deny", POL_DENY_BAD_SERVICE, .argument = "+a/b" },

	/* ---- SOURCE column ---- */
	{ "anyvm_source_matches_appvm",
	  "qubes.Test * @anyvm personal allow\n",
	  "work", "personal", "allow target=personal" },
	{ "anyvm_source_matches_dispvm",
	  "qubes.Test * @anyvm personal allow\n",
	  "disp123", "personal", "allow target=personal" },
	{ "anyvm_source_never_matches_adminvm",
	  "qubes.Test * @anyvm personal allow\n",
	  "dom0", "personal", "deny", POL_DENY_NO_RULE },
	{ "anyvm_source_never_matches_adminvm_by_uuid",
	  "qubes.Test * @anyvm personal allow\n",
	  "uuid:" NIL_UUID, "personal", "deny", POL_DENY_NO_RULE },
	{ "star_source_matches_adminvm",
	  "qubes.Test * * personal allow\n",
	  "dom0", "personal", "allow target=personal" },
	{ "adminvm_token_source_matches_dom0",
	  "qubes.Test * @adminvm personal allow\n",
	  "dom0", "personal", "allow target=personal" },
	{ "nil_uuid_source_matches_dom0",
	  "qubes.Test * uuid:" NIL_UUID " personal allow\n",
	  "dom0", "personal", "allow target=personal" },
	{ "dom0_source_matches_caller_nil_uuid",
	  "qubes.Test * dom0 personal allow\n",
	  "uuid:" NIL_UUID, "personal", "allow target=personal" },
	{ "adminvm_source_does_not_match_appvm",
	  "qubes.Test * @adminvm personal allow\n",
	  "work", "personal", "deny", POL_DENY_NO_RULE },
	{ "uuid_source_matches_vm_by_name",
	  "qubes.Test * uuid:" WORK_UUID " personal allow\n",
	  "work", "personal", "allow target=personal" },
	{ "name_source_matches_caller_uuid",
	  "qubes.Test * work personal allow\n",
	  "uuid:" WORK_UUID, "personal", "allow target=personal" },
	{ "uuid_source_does_not_match_other_vm",
	  "qubes.Test * uuid:" WORK_UUID " personal allow\n",
	  "personal", "personal", "deny", POL_DENY_NO_RULE },
	{ "unknown_source_denied",
	  "qubes.Test * * personal allow\n",
	  "nosuch", "personal", "deny", POL_DENY_BAD_SOURCE },
	{ "unknown_source_uuid_denied",
	  "qubes.Test * * personal allow\n",
	  "uuid:" UNKNOWN_UUID, "personal", "deny", POL_DENY_BAD_SOURCE },
	{ "empty_source_denied",
	  "qubes.Test * * personal allow\n",
	  "", "personal", "deny", POL_DENY_BAD_SOURCE },
	{ "type_adminvm_source_matches_dom0",
	  "qubes.Test * @type:AdminVM personal allow\n",
	  "dom0", "personal", "allow target=personal" },
	{ "type_appvm_source_not_dom0",
	  "qubes.Test * @type:AppVM personal allow\n",
	  "dom0", "personal", "deny", POL_DENY_NO_RULE },
	{ "type_appvm_source_not_dispvm",
	  "qubes.Test * @type:AppVM personal allow\n",
	  "disp123", "personal", "deny", POL_DENY_NO_RULE },
	{ "type_dispvm_source",
	  "qubes.Test * @type:DispVM personal allow\n",
	  "disp123", "personal", "allow target=personal" },
	{ "type_templatevm_source",
	  "qubes.Test * @type:TemplateVM personal allow\n",
	  "fedora-40", "personal", "allow target=personal" },
	{ "type_standalonevm_source",
	  "qubes.Test * @type:StandaloneVM personal allow\n",
	  "legacy", "personal", "allow target=personal" },
	{ "tag_source_matches_tagged_adminvm",
	  "qubes.Test * @tag:dom0-tag personal allow\n",
	  "dom0", "personal", "allow target=personal" },
	{ "tag_source_matches_second_tag",
	  "qubes.Test * @tag:trusted personal allow\n",
	  "work", "personal", "allow target=personal" },
	{ "tag_source_not_untagged_vm",
	  "qubes.Test * @tag:work-tag personal allow\n",
	  "personal", "personal", "deny", POL_DENY_NO_RULE },
	{ "dispvm_name_source_matches_its_disposable",
	  "qubes.Test * @dispvm:default-dvm personal allow\n",
	  "disp123", "personal", "allow target=personal" },
	{ "dispvm_name_source_not_other_templates_disposable",
	  "qubes.Test * @dispvm:default-dvm personal allow\n",
	  "disp456", "personal", "deny", POL_DENY_NO_RULE },
	{ "dispvm_name_source_not_the_template_itself",
	  "qubes.Test * @dispvm:default-dvm personal allow\n",
	  "default-dvm", "personal", "deny", POL_DENY_NO_RULE },
	{ "dispvm_uuid_source_matches_its_disposable",
	  "qubes.Test * @dispvm:uuid:" DVM_UUID " personal allow\n",
	  "disp123", "personal", "allow target=personal" },
	{ "dispvm_tag_source_matches_disposable_of_tagged_template",
	  "qubes.Test * @dispvm:@tag:dvm-tag personal allow\n",
	  "disp123", "personal", "allow target=personal" },
	{ "dispvm_tag_source_other_tag",
	  "qubes.Test * @dispvm:@tag:work-tag personal allow\n",
	  "disp456", "personal", "allow target=personal" },
	{ "dispvm_tag_source_not_disposable_of_untagged_template",
	  "qubes.Test * @dispvm:@tag:work-tag personal allow\n",
	  "disp123", "personal", "deny", POL_DENY_NO_RULE },
	{ "dispvm_tag_source_not_tagged_appvm",
	  "qubes.Test * @dispvm:@tag:work-tag personal allow\n",
	  "work", "personal", "deny", POL_DENY_NO_RULE },
	{ "dispvm_tag_source_not_tagged_template_itself",
	  "qubes.Test * @dispvm:@tag:work-tag personal allow\n",
	  "work-dvm", "personal", "deny", POL_DENY_NO_RULE },

	/* ---- TARGET column ---- */
	{ "anyvm_target_matches_appvm",
	  "qubes.Test * work @anyvm allow\n",
	  "work", "personal", "allow target=personal" },
	{ "anyvm_never_matches_adminvm_by_name",
	  "qubes.Test * work @anyvm allow\n",
	  "work", "dom0", "deny", POL_DENY_NO_RULE },
	{ "anyvm_never_matches_adminvm_token",
	  "qubes.Test * work @anyvm allow\n",
	  "work", "@adminvm", "deny", POL_DENY_NO_RULE },
	{ "anyvm_never_matches_adminvm_uuid",
	  "qubes.Test * work @anyvm allow\n",
	  "work", "uuid:" NIL_UUID, "deny", POL_DENY_NO_RULE },
	{ "anyvm_matches_default",
	  "qubes.Test * work @anyvm allow target=personal\n",
	  "work", "", "allow target=personal" },
	{ "anyvm_matches_dispvm",
	  "qubes.Test * work @anyvm allow\n",
	  "work", "@dispvm", "allow target=@dispvm:work-dvm" },
	{ "anyvm_matches_named_dispvm",
	  "qubes.Test * work @anyvm allow\n",
	  "work", "@dispvm:default-dvm", "allow target=@dispvm:default-dvm" },
	{ "anyvm_on_default_without_redirect_denies",
	  "qubes.Test * work @anyvm allow\n",
	  "work", "", "deny", POL_DENY_NO_TARGET },
	{ "null_target_is_default",
	  "qubes.Test * work @anyvm allow\n",
	  "work", NULL, "deny", POL_DENY_NO_TARGET },
	{ "star_target_matches_adminvm",
	  "qubes.Test * work * allow\n",
	  "work", "dom0", "allow target=dom0" },
	{ "star_target_matches_default",
	  "qubes.Test * work * allow target=personal\n",
	  "work", NULL, "allow target=personal" },
	{ "default_target_matches_no_target",
	  "qubes.Test * work @default allow target=personal\n",
	  "work", "", "allow target=personal" },
	{ "default_target_matches_default_word",
	  "qubes.Test * work @default allow target=personal\n",
	  "work", "@default", "allow target=personal" },
	{ "default_target_does_not_match_a_vm",
	  "qubes.Test * work @default allow target=personal\n",
	  "work", "vault", "deny", POL_DENY_NO_RULE },
	{ "default_target_does_not_match_dispvm",
	  "qubes.Test * work @default allow target=personal\n",
	  "work", "@dispvm", "deny", POL_DENY_NO_RULE },
	{ "unknown_intended_name_is_default",
	  "qubes.Test * work @default allow target=personal\n",
	  "work", "nosuch", "allow target=personal" },
	{ "unknown_intended_uuid_is_default",
	  "qubes.Test * work @default allow target=personal\n",
	  "work", "uuid:" UNKNOWN_UUID, "allow target=personal" },
	{ "unknown_intended_name_does_not_match_same_literal",
	  "qubes.Test * work nosuch allow\n",
	  "work", "nosuch", "deny", POL_DENY_NO_RULE },
	{ "unknown_intended_name_under_anyvm_has_no_target",
	  "qubes.Test * work @anyvm allow\n",
	  "work", "nosuch", "deny", POL_DENY_NO_TARGET },
	{ "type_appvm_target",
	  "qubes.Test * work @type:AppVM allow\n",
	  "work", "personal", "allow target=personal" },
	{ "type_appvm_target_not_templatevm",
	  "qubes.Test * work @type:AppVM allow\n",
	  "work", "fedora-40", "deny", POL_DENY_NO_RULE },
	{ "type_appvm_target_not_default",
	  "qubes.Test * work @type:AppVM allow target=personal\n",
	  "work", "", "deny", POL_DENY_NO_RULE },
	{ "type_appvm_target_not_new_dispvm",
	  "qubes.Test * work @type:AppVM allow\n",
	  "work", "@dispvm", "deny", POL_DENY_NO_RULE },
	{ "type_templatevm_target",
	  "qubes.Test * work @type:TemplateVM allow\n",
	  "work", "fedora-40", "allow target=fedora-40" },
	{ "type_standalonevm_target",
	  "qubes.Test * work @type:StandaloneVM allow\n",
	  "work", "legacy", "allow target=legacy" },
	{ "type_dispvm_target",
	  "qubes.Test * work @type:DispVM allow\n",
	  "work", "disp123", "allow target=disp123" },
	{ "type_adminvm_target",
	  "qubes.Test * work @type:AdminVM allow\n",
	  "work", "dom0", "allow target=dom0" },
	{ "tag_target",
	  "qubes.Test * personal @tag:work-tag allow\n",
	  "personal", "work", "allow target=work" },
	{ "tag_target_not_untagged",
	  "qubes.Test * work @tag:work-tag allow\n",
	  "work", "personal", "deny", POL_DENY_NO_RULE },
	{ "tag_target_matches_tagged_adminvm",
	  "qubes.Test * work @tag:dom0-tag allow\n",
	  "work", "dom0", "allow target=dom0" },
	{ "tag_target_not_disposable_of_tagged_template",
	  "qubes.Test * personal @tag:work-tag allow\n",
	  "personal", "@dispvm:work-dvm", "deny", POL_DENY_NO_RULE },

	/* ---- @dispvm ---- */
	{ "dispvm_uses_sources_default_dispvm",
	  "qubes.Test * @anyvm @dispvm allow\n",
	  "work", "@dispvm", "allow target=@dispvm:work-dvm" },
	{ "dispvm_uses_other_sources_default_dispvm",
	  "qubes.Test * @anyvm @dispvm allow\n",
	  "personal", "@dispvm", "allow target=@dispvm:default-dvm" },
	{ "dispvm_without_default_dispvm_denies",
	  "qubes.Test * @anyvm @dispvm allow\n",
	  "vault", "@dispvm", "deny", POL_DENY_NO_DISPVM },
	{ "dispvm_from_adminvm",
	  "qubes.Test * dom0 @dispvm allow\n",
	  "dom0", "@dispvm", "allow target=@dispvm:default-dvm" },
	{ "dispvm_rule_does_not_match_named_dispvm",
	  "qubes.Test * @anyvm @dispvm allow\n",
	  "personal", "@dispvm:default-dvm", "deny", POL_DENY_NO_RULE },
	{ "dispvm_name_matches_same_name",
	  "qubes.Test * @anyvm @dispvm:default-dvm allow\n",
	  "work", "@dispvm:default-dvm", "allow target=@dispvm:default-dvm" },
	{ "dispvm_name_matches_dispvm_resolving_to_it",
	  "qubes.Test * @anyvm @dispvm:default-dvm allow\n",
	  "personal", "@dispvm", "allow target=@dispvm:default-dvm" },
	{ "dispvm_name_not_dispvm_resolving_elsewhere",
	  "qubes.Test * @anyvm @dispvm:default-dvm allow\n",
	  "work", "@dispvm", "deny", POL_DENY_NO_RULE },
	{ "dispvm_name_not_other_template",
	  "qubes.Test * @anyvm @dispvm:default-dvm allow\n",
	  "work", "@dispvm:work-dvm", "deny", POL_DENY_NO_RULE },
	{ "dispvm_name_not_the_template_itself",
	  "qubes.Test * @anyvm @dispvm:default-dvm allow\n",
	  "work", "default-dvm", "deny", POL_DENY_NO_RULE },
	{ "dispvm_name_matches_uuid_spelling_kept_as_written",
	  "qubes.Test * @anyvm @dispvm:default-dvm allow\n",
	  "work", "@dispvm:uuid:" DVM_UUID,
	  "allow target=@dispvm:uuid:" DVM_UUID },
	{ "dispvm_uuid_rule_matches_name_spelling",
	  "qubes.Test * @anyvm @dispvm:uuid:" DVM_UUID " allow\n",
	  "work", "@dispvm:default-dvm", "allow target=@dispvm:default-dvm" },
	{ "dispvm_uuid_rule_matches_dispvm_resolving_to_it",
	  "qubes.Test * @anyvm @dispvm:uuid:" DVM_UUID " allow\n",
	  "personal", "@dispvm", "allow target=@dispvm:default-dvm" },
	{ "dispvm_tag_matches_tagged_template",
	  "qubes.Test * @anyvm @dispvm:@tag:work-tag allow\n",
	  "personal", "@dispvm:work-dvm", "allow target=@dispvm:work-dvm" },
	{ "dispvm_tag_matches_dispvm_resolving_to_tagged",
	  "qubes.Test * @anyvm @dispvm:@tag:work-tag allow\n",
	  "work", "@dispvm", "allow target=@dispvm:work-dvm" },
	{ "dispvm_tag_not_dispvm_resolving_to_untagged",
	  "qubes.Test * @anyvm @dispvm:@tag:work-tag allow\n",
	  "personal", "@dispvm", "deny", POL_DENY_NO_RULE },
	{ "dispvm_tag_not_untagged_template",
	  "qubes.Test * @anyvm @dispvm:@tag:work-tag allow\n",
	  "personal", "@dispvm:default-dvm", "deny", POL_DENY_NO_RULE },
	{ "dispvm_tag_not_tagged_appvm",
	  "qubes.Test * @anyvm @dispvm:@tag:work-tag allow\n",
	  "personal", "work", "deny", POL_DENY_NO_RULE },

	{ "internal_vm_can_be_called_directly",
	  "qubes.Test * work @anyvm allow\n",
	  "work", "internal-dvm", "allow target=internal-dvm" },

	/* ---- invalid intended targets ---- */
	{ "intended_anyvm_is_invalid",
	  "qubes.Test * work * allow target=personal\n",
	  "work", "@anyvm", "deny", POL_DENY_BAD_TARGET },
	{ "intended_star_is_invalid",
	  "qubes.Test * work * allow target=personal\n",
	  "work", "*", "deny", POL_DENY_BAD_TARGET },
	{ "intended_tag_is_invalid",
	  "qubes.Test * work * allow target=personal\n",
	  "work", "@tag:work-tag", "deny", POL_DENY_BAD_TARGET },
	{ "intended_type_is_invalid",
	  "qubes.Test * work * allow target=personal\n",
	  "work", "@type:AppVM", "deny", POL_DENY_BAD_TARGET },
	{ "intended_dispvm_tag_is_invalid",
	  "qubes.Test * work * allow target=personal\n",
	  "work", "@dispvm:@tag:work-tag", "deny", POL_DENY_BAD_TARGET },
	{ "intended_unknown_at_word_is_invalid",
	  "qubes.Test * work * allow target=personal\n",
	  "work", "@foo", "deny", POL_DENY_BAD_TARGET },
	{ "intended_dispvm_of_non_template_is_invalid",
	  "qubes.Test * work * allow target=personal\n",
	  "work", "@dispvm:personal", "deny", POL_DENY_BAD_TARGET },
	{ "intended_dispvm_of_missing_vm_is_invalid",
	  "qubes.Test * work * allow target=personal\n",
	  "work", "@dispvm:nosuch", "deny", POL_DENY_BAD_TARGET },
	{ "intended_dispvm_of_unknown_uuid_is_invalid",
	  "qubes.Test * work * allow target=personal\n",
	  "work", "@dispvm:uuid:" UNKNOWN_UUID, "deny", POL_DENY_BAD_TARGET },

	/* ---- spellings in the result ---- */
	{ "uuid_intended_kept_as_written",
	  "qubes.Test * personal work allow\n",
	  "personal", "uuid:" WORK_UUID, "allow target=uuid:" WORK_UUID },
	{ "uuid_rule_with_name_intended_gives_name",
	  "qubes.Test * personal uuid:" WORK_UUID " allow\n",
	  "personal", "work", "allow target=work" },
	{ "uuid_rule_with_uuid_intended_gives_uuid",
	  "qubes.Test * personal uuid:" WORK_UUID " allow\n",
	  "personal", "uuid:" WORK_UUID, "allow target=uuid:" WORK_UUID },
	{ "adminvm_rule_dom0_intended",
	  "qubes.Test * work @adminvm allow\n",
	  "work", "dom0", "allow target=dom0" },
	{ "adminvm_intended_normalised_to_dom0",
	  "qubes.Test * work @adminvm allow\n",
	  "work", "@adminvm", "allow target=dom0" },
	{ "dom0_rule_matches_adminvm_intended",
	  "qubes.Test * work dom0 allow\n",
	  "work", "@adminvm", "allow target=dom0" },
	{ "nil_uuid_rule_matches_dom0_intended",
	  "qubes.Test * work uuid:" NIL_UUID " allow\n",
	  "work", "dom0", "allow target=dom0" },
	/* the spec normalises only the @adminvm and dom0 spellings */
	{ "adminvm_uuid_intended_kept_as_written",
	  "qubes.Test * work @adminvm allow\n",
	  "work", "uuid:" NIL_UUID, "allow target=uuid:" NIL_UUID },

	/* ---- redirects ---- */
	{ "redirect_replaces_intended",
	  "qubes.Test * work personal allow target=vault\n",
	  "work", "personal", "allow target=vault" },
	{ "redirect_from_anyvm",
	  "qubes.Test * work @anyvm allow target=personal\n",
	  "work", "vault", "allow target=personal" },
	{ "redirect_to_dispvm",
	  "qubes.Test * @anyvm personal allow target=@dispvm\n",
	  "work", "personal", "allow target=@dispvm:work-dvm" },
	{ "redirect_to_dispvm_without_default_denies",
	  "qubes.Test * @anyvm personal allow target=@dispvm\n",
	  "vault", "personal", "deny", POL_DENY_NO_DISPVM },
	{ "redirect_to_named_dispvm",
	  "qubes.Test * work personal allow target=@dispvm:default-dvm\n",
	  "work", "personal", "allow target=@dispvm:default-dvm" },
	{ "redirect_to_dispvm_uuid_kept_as_written",
	  "qubes.Test * work personal allow target=@dispvm:uuid:" DVM_UUID "\n",
	  "work", "personal", "allow target=@dispvm:uuid:" DVM_UUID },
	{ "redirect_to_dom0",
	  "qubes.Test * work personal allow target=dom0\n",
	  "work", "personal", "allow target=dom0" },
	{ "redirect_to_adminvm_normalised",
	  "qubes.Test * work personal allow target=@adminvm\n",
	  "work", "personal", "allow target=dom0" },
	{ "redirect_to_adminvm_uuid_kept_as_written",
	  "qubes.Test * work personal allow target=uuid:" NIL_UUID "\n",
	  "work", "personal", "allow target=uuid:" NIL_UUID },
	{ "redirect_to_uuid_kept_as_written",
	  "qubes.Test * personal vault allow target=uuid:" WORK_UUID "\n",
	  "personal", "vault", "allow target=uuid:" WORK_UUID },
	{ "redirect_to_missing_vm_denies",
	  "qubes.Test * work personal allow target=nosuch\n",
	  "work", "personal", "deny", POL_DENY_REDIRECT_INVALID },
	{ "redirect_to_unknown_uuid_denies",
	  "qubes.Test * work personal allow target=uuid:" UNKNOWN_UUID "\n",
	  "work", "personal", "deny", POL_DENY_REDIRECT_INVALID },
	{ "redirect_to_dispvm_of_missing_vm_denies",
	  "qubes.Test * work personal allow target=@dispvm:nosuch\n",
	  "work", "personal", "deny", POL_DENY_REDIRECT_INVALID },
	{ "redirect_to_dispvm_of_non_template_denies",
	  "qubes.Test * work personal allow target=@dispvm:personal\n",
	  "work", "personal", "deny", ANY_REASON },
	{ "redirect_with_user",
	  "qubes.Test * work personal allow target=@dispvm:default-dvm user=root\n",
	  "work", "personal", "allow target=@dispvm:default-dvm user=root" },
	{ "allow_default_without_redirect_is_invalid_policy",
	  "qubes.Test * work @default allow\n",
	  "work", "", "deny", POL_DENY_POLICY_INVALID },

	/* ---- autostart=no ---- */
	{ "autostart_no_running_target_allowed",
	  "qubes.Test * work @anyvm allow autostart=no\n",
	  "work", "personal", "allow target=personal" },
	{ "autostart_no_halted_target_denied",
	  "qubes.Test * work @anyvm allow autostart=no\n",
	  "work", "vault", "deny", POL_DENY_AUTOSTART },
	{ "autostart_no_halted_target_by_uuid_denied",
	  "qubes.Test * work @anyvm allow autostart=no\n",
	  "work", "uuid:" VAULT_UUID, "deny", POL_DENY_AUTOSTART },
	{ "autostart_no_running_dispvm_allowed",
	  "qubes.Test * work @anyvm allow autostart=no\n",
	  "work", "disp123", "allow target=disp123" },
	{ "autostart_no_new_dispvm_denied",
	  "qubes.Test * work @anyvm allow autostart=no\n",
	  "work", "@dispvm", "deny", POL_DENY_AUTOSTART },
	{ "autostart_no_named_new_dispvm_denied",
	  "qubes.Test * work @anyvm allow autostart=no\n",
	  "work", "@dispvm:default-dvm", "deny", POL_DENY_AUTOSTART },
	{ "autostart_no_adminvm_allowed",
	  "qubes.Test * work * allow autostart=no\n",
	  "work", "dom0", "allow target=dom0" },
	{ "autostart_no_halted_redirect_denied",
	  "qubes.Test * work personal allow target=vault autostart=no\n",
	  "work", "personal", "deny", POL_DENY_AUTOSTART },
	{ "autostart_yes_halted_target_allowed",
	  "qubes.Test * work @anyvm allow autostart=yes\n",
	  "work", "vault", "allow target=vault" },

	/* ---- user= and ask ---- */
	{ "user_in_output",
	  "qubes.Test * work personal allow user=root\n",
	  "work", "personal", "allow target=personal user=root" },
	{ "ask_lists_candidates",
	  "qubes.Test * work @tag:personal-tag ask\n",
	  "work", "personal", "ask targets=personal default_target=" },
	{ "ask_output_has_no_user",
	  "qubes.Test * work @tag:personal-tag ask user=root "
	  "default_target=personal\n",
	  "work", "personal", "ask targets=personal default_target=personal" },
};

static void test_eval_case(gconstpointer data)
{
	const struct eval_case *c = data;
	g_autoptr(pol_policy) p = NULL;
	g_autofree char *got = NULL;
	struct pol_decision d;

	g_test_message("policy: %s", c->policy);
	if (c->reason == POL_DENY_POLICY_INVALID) {
		p = load(c->policy);
		g_assert_false(pol_policy_is_valid(p));
	} else {
		p = load_valid(c->policy);
	}
	got = decide(p, eval_sys, c->service, c->argument, c->source, c->target,
		     &d);
	g_assert_cmpstr(got, ==, c->expect);
	if (!g_str_equal(c->expect, "deny"))
		g_assert_cmpint(d.reason, ==, POL_DENY_NONE);
	else if (c->reason != ANY_REASON)
		g_assert_cmpint(d.reason, ==, c->reason);
	pol_decision_finish(&d);
}

/* ---- Decision fields ------------------------------------------------------ */

struct field_case {
	const char *name;
	const char *policy;
	const char *target;
	enum pol_action action;
	bool notify;
	bool autostart;
	const char *user;
};

/* Source "work" throughout; autostart is only checked when allowed. */
static const struct field_case field_cases[] = {
	{ "deny_notifies_by_default", "qubes.Test * work personal deny\n",
	  "personal", POL_ACTION_DENY, true, true, NULL },
	{ "deny_notify_no", "qubes.Test * work personal deny notify=no\n",
	  "personal", POL_ACTION_DENY, false, true, NULL },
	{ "allow_does_not_notify_by_default",
	  "qubes.Test * work personal allow\n",
	  "personal", POL_ACTION_ALLOW, false, true, NULL },
	{ "allow_notify_yes", "qubes.Test * work personal allow notify=yes\n",
	  "personal", POL_ACTION_ALLOW, true, true, NULL },
	{ "ask_does_not_notify_by_default", "qubes.Test * work personal ask\n",
	  "personal", POL_ACTION_ASK, false, true, NULL },
	{ "ask_notify_yes", "qubes.Test * work personal ask notify=yes\n",
	  "personal", POL_ACTION_ASK, true, true, NULL },
	{ "allow_autostart_no_on_running_target",
	  "qubes.Test * work personal allow autostart=no\n",
	  "personal", POL_ACTION_ALLOW, false, false, NULL },
	{ "allow_user", "qubes.Test * work personal allow user=root\n",
	  "personal", POL_ACTION_ALLOW, false, true, "root" },
	{ "ask_user", "qubes.Test * work personal ask user=user\n",
	  "personal", POL_ACTION_ASK, false, true, "user" },
};

static void test_field_case(gconstpointer data)
{
	const struct field_case *c = data;
	g_autoptr(pol_policy) p = load_valid(c->policy);
	g_autofree char *line = NULL;
	struct pol_decision d;

	line = decide(p, eval_sys, NULL, NULL, "work", c->target, &d);
	g_test_message("decision: %s", line);
	g_assert_cmpint(d.action, ==, c->action);
	g_assert_cmpint(d.notify, ==, c->notify);
	if (c->action != POL_ACTION_DENY) {
		g_assert_cmpint(d.autostart, ==, c->autostart);
		g_assert_cmpstr(d.user, ==, c->user);
	}
	pol_decision_finish(&d);
}

/* ---- Single tests ----------------------------------------------------- */

static void test_decision_names_deciding_rule(void)
{
	const char *text =
		"# header\n"
		"\n"
		"qubes.Test * work vault deny\n"
		"qubes.Test   *\twork  personal   allow\n"
		"qubes.Test * work personal deny\n";
	g_autoptr(pol_policy) p = load_valid(text);
	g_autofree char *line = NULL;
	g_autofree char *why = NULL;
	struct pol_decision d;

	line = decide(p, eval_sys, NULL, NULL, "work", "personal", &d);
	g_assert_cmpstr(line, ==, "allow target=personal");
	g_assert_nonnull(d.rule);
	if (d.rule != NULL) {
		g_assert_cmpstr(pol_rule_file(d.rule), ==, "test.policy");
		g_assert_cmpuint(pol_rule_line(d.rule), ==, 4);
		g_assert_cmpstr(pol_rule_text(d.rule), ==,
				"qubes.Test * work personal allow");
	}
	why = pol_decision_explain(&d);
	g_assert_nonnull(why);
	g_assert_cmpstr(why, !=, "");
	pol_decision_finish(&d);

	g_free(line);
	line = decide(p, eval_sys, NULL, NULL, "work", "vault", &d);
	g_assert_cmpstr(line, ==, "deny");
	g_assert_nonnull(d.rule);
	if (d.rule != NULL)
		g_assert_cmpuint(pol_rule_line(d.rule), ==, 3);
	pol_decision_finish(&d);
}

static void test_no_rule_decision_has_no_rule(void)
{
	g_autoptr(pol_policy) p = load_valid("qubes.Other * work personal allow\n");
	g_autofree char *line = NULL;
	g_autofree char *why = NULL;
	struct pol_decision d;

	line = decide(p, eval_sys, NULL, NULL, "work", "personal", &d);
	g_assert_cmpstr(line, ==, "deny");
	g_assert_null(d.rule);
	why = pol_decision_explain(&d);
	g_assert_nonnull(why);
	g_assert_cmpstr(why, !=, "");
	pol_decision_finish(&d);
}

/* UUIDs compare case-insensitively; how the result spells them is left to
 * the implementation, so only the case is ignored here. */
static void test_upper_case_uuid_intended_matches(void)
{
	g_autoptr(pol_policy) p = load_valid("qubes.Test * personal work allow\n");
	g_autofree char *line = NULL;
	struct pol_decision d;

	line = decide(p, eval_sys, NULL, NULL, "personal",
		      "uuid:" WORK_UUID_UPPER, &d);
	g_assert_cmpint(d.action, ==, POL_ACTION_ALLOW);
	if (g_ascii_strcasecmp(d.target, "uuid:" WORK_UUID) != 0)
		g_test_fail_printf("target '%s' is not uuid:%s in any case",
				   d.target, WORK_UUID);
	pol_decision_finish(&d);
}

static void test_upper_case_uuid_rule_matches(void)
{
	g_autoptr(pol_policy) p =
		load_valid("qubes.Test * uuid:" WORK_UUID_UPPER " personal allow\n");
	g_autofree char *line = NULL;
	struct pol_decision d;

	line = decide(p, eval_sys, NULL, NULL, "work", "personal", &d);
	g_assert_cmpstr(line, ==, "allow target=personal");
	pol_decision_finish(&d);
}

/* Fail closed when the source's default_dispvm is not a disposable template. */
static void test_dispvm_default_not_a_template_denies(void)
{
	static const struct pol_vm_info vms[] = {
		{ .name = "personal", .cls = POL_CLASS_APPVM, .running = true },
		{ .name = "odd", .cls = POL_CLASS_APPVM,
		  .default_dispvm = "personal", .running = true },
	};
	g_autoptr(pol_system) sys = build_system(vms, G_N_ELEMENTS(vms));
	g_autoptr(pol_policy) p = load_valid("qubes.Test * @anyvm @dispvm allow\n"
					     "qubes.Test * @anyvm @anyvm allow\n");
	g_autofree char *line = NULL;
	GError *error = NULL;
	struct pol_decision d;

	if (!pol_system_check(sys, &error)) {
		/* refusing such a system outright is fail-closed as well */
		g_test_message("system refused: %s", error ? error->message : "");
		g_clear_error(&error);
		return;
	}
	line = decide(p, sys, NULL, NULL, "odd", "@dispvm", &d);
	g_assert_cmpstr(line, ==, "deny");
	pol_decision_finish(&d);
}

/* pol_policy_evaluate() must fill every field, whatever `out` held. */
static void test_evaluate_fills_whole_decision(void)
{
	static const struct {
		const char *target;
		const char *expect;
	} calls[] = {
		{ "vault", "deny" },
		{ "personal", "allow target=personal" },
		{ "untrusted", "ask targets=personal,untrusted default_target=" },
		{ "nosuch-but-bad!", "deny" },
	};
	g_autoptr(pol_policy) p = load_valid(
		"qubes.Test * work vault deny\n"
		"qubes.Test * work personal allow\n"
		"qubes.Test * work untrusted ask\n");

	for (size_t i = 0; i < G_N_ELEMENTS(calls); i++) {
		struct pol_request req = {
			.service = "qubes.Test",
			.argument = "+",
			.source = "work",
			.target = calls[i].target,
		};
		g_autofree char *line = NULL;
		struct pol_decision d;

		memset(&d, 0x5a, sizeof(d));
		pol_policy_evaluate(p, eval_sys, &req, &d);
		line = pol_decision_format(&d);
		g_assert_cmpstr(line, ==, calls[i].expect);
		pol_decision_finish(&d);
	}
}

static void test_system_counts_vms(void)
{
	g_autoptr(pol_system) empty = pol_system_create();

	g_assert_cmpuint(pol_system_vm_count(empty), ==, 1);
	/* the AdminVM row replaces the implicit dom0 */
	g_assert_cmpuint(pol_system_vm_count(eval_sys), ==,
			 G_N_ELEMENTS(eval_vms));
}

int main(int argc, char **argv)
{
	GError *error = NULL;
	int ret;

	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();

	eval_sys = build_system(eval_vms, G_N_ELEMENTS(eval_vms));
	if (!pol_system_check(eval_sys, &error))
		g_error("test system rejected: %s",
			error ? error->message : "(no message)");

	for (size_t i = 0; i < G_N_ELEMENTS(eval_cases); i++) {
		g_autofree char *path =
			g_strconcat("/policy/eval/", eval_cases[i].name, NULL);

		g_test_add_data_func(path, &eval_cases[i], test_eval_case);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(field_cases); i++) {
		g_autofree char *path =
			g_strconcat("/policy/eval/fields/", field_cases[i].name,
				    NULL);

		g_test_add_data_func(path, &field_cases[i], test_field_case);
	}
	g_test_add_func("/policy/eval/decision_names_deciding_rule",
			test_decision_names_deciding_rule);
	g_test_add_func("/policy/eval/no_rule_decision_has_no_rule",
			test_no_rule_decision_has_no_rule);
	g_test_add_func("/policy/eval/upper_case_uuid_intended_matches",
			test_upper_case_uuid_intended_matches);
	g_test_add_func("/policy/eval/upper_case_uuid_rule_matches",
			test_upper_case_uuid_rule_matches);
	g_test_add_func("/policy/eval/dispvm_default_not_a_template_denies",
			test_dispvm_default_not_a_template_denies);
	g_test_add_func("/policy/eval/evaluate_fills_whole_decision",
			test_evaluate_fills_whole_decision);
	g_test_add_func("/policy/eval/system_counts_vms", test_system_counts_vms);

	ret = g_test_run();
	pol_system_destroy(eval_sys);
	return ret;
}
