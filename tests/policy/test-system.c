/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VM description: the `--vms` key file format (every key, the defaults,
 * the implied dom0, errors) and the checks of pol_system_add_vm() /
 * pol_system_check().  A system has no getters, so what was read is observed
 * through decisions of small policies.
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
#include <glib/gstdio.h>

#include "policy.h"

#define WORK_UUID "5d1b2a9c-3f4e-4b6a-8c7d-0e1f2a3b4c5d"
#define DVM_UUID "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5e"
#define NIL_UUID POL_ADMINVM_UUID

#define ORIGIN "vms.conf"

/* Every key once, most of them on work. */
static const char full_keyfile[] =
	"# the VMs of a test machine\n"
	"[dom0]\n"
	"class=AdminVM\n"
	"tags=dom0-tag;admin-tag\n"
	"default_dispvm=default-dvm\n"
	"state=running\n"
	"\n"
	"[work]\n"
	"class=AppVM\n"
	"tags=work-tag;trusted\n"
	"default_dispvm=default-dvm\n"
	"state=running\n"
	"uuid=" WORK_UUID "\n"
	"internal=false\n"
	"template_for_dispvms=false\n"
	"\n"
	"[personal]\n"
	"state=halted\n"
	"\n"
	"[default-dvm]\n"
	"template_for_dispvms=true\n"
	"tags=dvm-tag\n"
	"uuid=" DVM_UUID "\n"
	"\n"
	"[disp9]\n"
	"class=DispVM\n"
	"template=default-dvm\n"
	"state=running\n"
	"\n"
	"[fedora]\n"
	"class=TemplateVM\n"
	"\n"
	"[legacy]\n"
	"class=StandaloneVM\n"
	"default_dispvm=\n"
	"\n"
	"[sys-hidden]\n"
	"internal=true\n"
	"state=running\n";

static struct pol_system *full_sys;

static struct pol_system *load_data(const char *data, GError **error)
{
	return pol_system_load_keyfile_data(data, strlen(data), ORIGIN, error);
}

static char *decide(const struct pol_system *sys, const char *policy_text,
		    const char *source, const char *target)
{
	g_autoptr(pol_policy) p = pol_policy_load_string(
		"test.policy", policy_text, strlen(policy_text), NULL);
	struct pol_request req = {
		.service = "qubes.Test",
		.argument = "+",
		.source = source,
		.target = target,
	};
	struct pol_decision d;
	char *line;

	for (size_t i = 0; i < pol_policy_error_count(p); i++)
		g_test_message("policy error: %s", pol_policy_error(p, i));
	g_assert_true(pol_policy_is_valid(p));
	memset(&d, 0, sizeof(d));
	pol_policy_evaluate(p, sys, &req, &d);
	line = pol_decision_format(&d);
	pol_decision_finish(&d);
	return line;
}

/* ---- What the full key file says -------------------------------------- */

struct read_case {
	const char *name;
	const char *policy;
	const char *source;
	const char *target;
	const char *expect;
};

static const struct read_case read_cases[] = {
	{ "class_appvm",
	  "qubes.Test * work @type:AppVM allow\n",
	  "work", "work", "allow target=work" },
	{ "class_defaults_to_appvm",
	  "qubes.Test * work @type:AppVM allow\n",
	  "work", "personal", "allow target=personal" },
	{ "class_adminvm",
	  "qubes.Test * @type:AdminVM work allow\n",
	  "dom0", "work", "allow target=work" },
	{ "class_dispvm",
	  "qubes.Test * @type:DispVM work allow\n",
	  "disp9", "work", "allow target=work" },
	{ "class_templatevm",
	  "qubes.Test * @type:TemplateVM work allow\n",
	  "fedora", "work", "allow target=work" },
	{ "class_standalonevm",
	  "qubes.Test * @type:StandaloneVM work allow\n",
	  "legacy", "work", "allow target=work" },
	{ "tags_first",
	  "qubes.Test * @tag:work-tag personal allow\n",
	  "work", "personal", "allow target=personal" },
	{ "tags_second",
	  "qubes.Test * @tag:trusted personal allow\n",
	  "work", "personal", "allow target=personal" },
	{ "tags_on_adminvm",
	  "qubes.Test * @tag:admin-tag personal allow\n",
	  "dom0", "personal", "allow target=personal" },
	{ "tags_default_to_none",
	  "qubes.Test * @tag:work-tag personal allow\n",
	  "personal", "personal", "deny" },
	{ "uuid",
	  "qubes.Test * uuid:" WORK_UUID " personal allow\n",
	  "work", "personal", "allow target=personal" },
	{ "uuid_as_caller",
	  "qubes.Test * work personal allow\n",
	  "uuid:" WORK_UUID, "personal", "allow target=personal" },
	{ "adminvm_has_nil_uuid",
	  "qubes.Test * uuid:" NIL_UUID " personal allow\n",
	  "dom0", "personal", "allow target=personal" },
	{ "default_dispvm",
	  "qubes.Test * @anyvm @dispvm allow\n",
	  "work", "@dispvm", "allow target=@dispvm:default-dvm" },
	{ "default_dispvm_of_adminvm",
	  "qubes.Test * dom0 @dispvm allow\n",
	  "dom0", "@dispvm", "allow target=@dispvm:default-dvm" },
	{ "default_dispvm_empty_is_none",
	  "qubes.Test * @anyvm @dispvm allow\n",
	  "legacy", "@dispvm", "deny" },
	{ "default_dispvm_defaults_to_none",
	  "qubes.Test * @anyvm @dispvm allow\n",
	  "personal", "@dispvm", "deny" },
	{ "template_for_dispvms",
	  "qubes.Test * work * allow\n",
	  "work", "@dispvm:default-dvm", "allow target=@dispvm:default-dvm" },
	{ "template_for_dispvms_false",
	  "qubes.Test * work * allow target=personal\n",
	  "work", "@dispvm:work", "deny" },
	{ "template_for_dispvms_defaults_to_false",
	  "qubes.Test * work * allow target=personal\n",
	  "work", "@dispvm:personal", "deny" },
	{ "state_running",
	  "qubes.Test * personal work allow autostart=no\n",
	  "personal", "work", "allow target=work" },
	{ "state_halted",
	  "qubes.Test * work personal allow autostart=no\n",
	  "work", "personal", "deny" },
	{ "template_of_dispvm",
	  "qubes.Test * @dispvm:default-dvm work allow\n",
	  "disp9", "work", "allow target=work" },
	{ "template_of_dispvm_by_tag",
	  "qubes.Test * @dispvm:@tag:dvm-tag work allow\n",
	  "disp9", "work", "allow target=work" },
	{ "internal_hidden_from_ask",
	  "qubes.Test * work @default ask\n"
	  "qubes.Test * work sys-hidden ask\n"
	  "qubes.Test * work personal ask\n",
	  "work", NULL, "ask targets=personal default_target=" },
	{ "internal_false_is_listed",
	  "qubes.Test * personal @default ask\n"
	  "qubes.Test * personal work ask\n",
	  "personal", NULL, "ask targets=work default_target=" },
};

static void test_read_case(gconstpointer data)
{
	const struct read_case *c = data;
	g_autofree char *line = decide(full_sys, c->policy, c->source, c->target);

	g_assert_cmpstr(line, ==, c->expect);
}

static void test_full_keyfile_vm_count(void)
{
	g_assert_cmpuint(pol_system_vm_count(full_sys), ==, 8);
}

/* ---- The admin VM --------------------------------------------------------- */

static void test_adminvm_implied_when_absent(void)
{
	GError *error = NULL;
	g_autoptr(pol_system) sys = load_data("[work]\nstate=running\n", &error);
	g_autofree char *line = NULL;
	g_autofree char *line2 = NULL;

	g_assert_no_error(error);
	g_assert_nonnull(sys);
	if (sys == NULL)
		return;
	g_assert_cmpuint(pol_system_vm_count(sys), ==, 2);
	line = decide(sys, "qubes.Test * @type:AdminVM work allow\n", "dom0",
		      "work");
	g_assert_cmpstr(line, ==, "allow target=work");
	line2 = decide(sys, "qubes.Test * work @adminvm allow\n", "work",
		       "dom0");
	g_assert_cmpstr(line2, ==, "allow target=dom0");
}

static void test_empty_keyfile_holds_dom0(void)
{
	GError *error = NULL;
	g_autoptr(pol_system) sys = load_data("", &error);

	g_assert_no_error(error);
	g_assert_nonnull(sys);
	if (sys != NULL)
		g_assert_cmpuint(pol_system_vm_count(sys), ==, 1);
}

static void test_adminvm_group_not_doubled(void)
{
	GError *error = NULL;
	g_autoptr(pol_system) sys =
		load_data("[dom0]\nclass=AdminVM\n[work]\n", &error);

	g_assert_no_error(error);
	g_assert_nonnull(sys);
	if (sys != NULL)
		g_assert_cmpuint(pol_system_vm_count(sys), ==, 2);
}

static void test_create_holds_dom0(void)
{
	g_autoptr(pol_system) sys = pol_system_create();

	g_assert_cmpuint(pol_system_vm_count(sys), ==, 1);
}

/* ---- Errors ------------------------------------------------------------- */

struct error_case {
	const char *name;
	const char *data;
	/* the message mentions each of these (NULL-terminated) */
	const char *mentions[4];
};

static const struct error_case error_cases[] = {
	{ "unknown_class", "[work]\nclass=HVM\n",
	  { ORIGIN, "work", "class", NULL } },
	{ "class_is_case_sensitive", "[work]\nclass=appvm\n",
	  { ORIGIN, "work", "class", NULL } },
	{ "bad_uuid", "[work]\nuuid=not-a-uuid\n",
	  { ORIGIN, "work", "uuid", NULL } },
	{ "short_uuid", "[work]\nuuid=5d1b2a9c-3f4e-4b6a-8c7d-0e1f2a3b4c5\n",
	  { ORIGIN, "work", "uuid", NULL } },
	{ "unknown_key", "[work]\ncolour=red\n",
	  { ORIGIN, "work", "colour", NULL } },
	{ "bad_bool_template_for_dispvms",
	  "[default-dvm]\ntemplate_for_dispvms=maybe\n",
	  { ORIGIN, "default-dvm", "template_for_dispvms", NULL } },
	{ "bad_bool_internal", "[work]\ninternal=2\n",
	  { ORIGIN, "work", "internal", NULL } },
	{ "bad_state", "[work]\nstate=paused\n",
	  { ORIGIN, "work", "state", NULL } },
	{ "default_dispvm_missing_vm", "[work]\ndefault_dispvm=nosuch\n",
	  { ORIGIN, "work", "default_dispvm", NULL } },
	{ "error_in_later_group",
	  "[work]\nstate=running\n[personal]\nstate=sleeping\n",
	  { ORIGIN, "personal", "state", NULL } },
	{ "not_a_key_file", "this is not a key file\n",
	  { ORIGIN, NULL } },
};

static void test_error_case(gconstpointer data)
{
	const struct error_case *c = data;
	GError *error = NULL;
	g_autoptr(pol_system) sys = load_data(c->data, &error);

	g_assert_null(sys);
	g_assert_nonnull(error);
	if (error == NULL)
		return;
	g_test_message("error: %s", error->message);
	for (size_t i = 0; c->mentions[i] != NULL; i++)
		if (strstr(error->message, c->mentions[i]) == NULL)
			g_test_fail_printf("error '%s' does not mention '%s'",
					   error->message, c->mentions[i]);
	g_clear_error(&error);
}

/* ---- From a file ---------------------------------------------------------- */

static void test_load_keyfile_from_path(void)
{
	GError *error = NULL;
	g_autofree char *dir = g_dir_make_tmp("qmgr-vms-test-XXXXXX", &error);
	g_autofree char *path = NULL;
	g_autofree char *missing = NULL;
	g_autoptr(pol_system) sys = NULL;
	g_autoptr(pol_system) none = NULL;

	g_assert_no_error(error);
	path = g_build_filename(dir, "vms.conf", NULL);
	missing = g_build_filename(dir, "missing.conf", NULL);
	g_file_set_contents(path, full_keyfile, -1, &error);
	g_assert_no_error(error);

	sys = pol_system_load_keyfile(path, &error);
	g_assert_no_error(error);
	g_assert_nonnull(sys);
	if (sys != NULL)
		g_assert_cmpuint(pol_system_vm_count(sys), ==, 8);

	none = pol_system_load_keyfile(missing, &error);
	g_assert_null(none);
	g_assert_nonnull(error);
	if (error != NULL && strstr(error->message, missing) == NULL)
		g_test_fail_printf("error '%s' does not name '%s'",
				   error->message, missing);
	g_clear_error(&error);

	g_unlink(path);
	g_rmdir(dir);
}

static void test_keyfile_error_names_file(void)
{
	GError *error = NULL;
	g_autofree char *dir = g_dir_make_tmp("qmgr-vms-test-XXXXXX", &error);
	g_autofree char *path = NULL;
	g_autoptr(pol_system) sys = NULL;

	g_assert_no_error(error);
	path = g_build_filename(dir, "bad.conf", NULL);
	g_file_set_contents(path, "[work]\nclass=HVM\n", -1, &error);
	g_assert_no_error(error);

	sys = pol_system_load_keyfile(path, &error);
	g_assert_null(sys);
	g_assert_nonnull(error);
	if (error != NULL && strstr(error->message, "bad.conf") == NULL)
		g_test_fail_printf("error '%s' does not name the file",
				   error->message);
	g_clear_error(&error);

	g_unlink(path);
	g_rmdir(dir);
}

/* ---- pol_system_add_vm / pol_system_check ------------------------------- */

static void test_check_rejects_missing_default_dispvm(void)
{
	static const struct pol_vm_info work = {
		.name = "work", .cls = POL_CLASS_APPVM,
		.default_dispvm = "nosuch",
	};
	g_autoptr(pol_system) sys = pol_system_create();
	GError *error = NULL;

	g_assert_true(pol_system_add_vm(sys, &work, &error));
	g_assert_no_error(error);
	g_assert_false(pol_system_check(sys, &error));
	g_assert_nonnull(error);
	g_clear_error(&error);
}

static void test_check_rejects_missing_dispvm_template(void)
{
	static const struct pol_vm_info disp = {
		.name = "disp1", .cls = POL_CLASS_DISPVM,
		.template_name = "nosuch", .running = true,
	};
	g_autoptr(pol_system) sys = pol_system_create();
	GError *error = NULL;

	g_assert_true(pol_system_add_vm(sys, &disp, &error));
	g_assert_no_error(error);
	g_assert_false(pol_system_check(sys, &error));
	g_assert_nonnull(error);
	g_clear_error(&error);
}

static void test_add_adminvm_replaces_implicit_dom0(void)
{
	static const char *const tags[] = { "boss", NULL };
	static const struct pol_vm_info dom0 = {
		.name = "dom0", .cls = POL_CLASS_ADMINVM, .tags = tags,
		.running = true,
	};
	g_autoptr(pol_system) sys = pol_system_create();
	GError *error = NULL;
	g_autofree char *line = NULL;

	g_assert_true(pol_system_add_vm(sys, &dom0, &error));
	g_assert_no_error(error);
	g_assert_true(pol_system_check(sys, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(pol_system_vm_count(sys), ==, 1);
	line = decide(sys, "qubes.Test * @tag:boss dom0 allow\n",
		      "uuid:" NIL_UUID, "dom0");
	g_assert_cmpstr(line, ==, "allow target=dom0");
}

/* ---- Class names ------------------------------------------------------- */

static void test_class_names_round_trip(void)
{
	static const struct {
		enum pol_vm_class cls;
		const char *name;
	} classes[] = {
		{ POL_CLASS_ADMINVM, "AdminVM" },
		{ POL_CLASS_APPVM, "AppVM" },
		{ POL_CLASS_TEMPLATEVM, "TemplateVM" },
		{ POL_CLASS_STANDALONEVM, "StandaloneVM" },
		{ POL_CLASS_DISPVM, "DispVM" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(classes); i++) {
		enum pol_vm_class out = POL_CLASS_COUNT;

		g_assert_cmpstr(pol_vm_class_name(classes[i].cls), ==,
				classes[i].name);
		g_assert_true(pol_vm_class_from_name(classes[i].name, &out));
		g_assert_cmpint(out, ==, classes[i].cls);
	}
	g_assert_null(pol_vm_class_name(POL_CLASS_COUNT));
}

static void test_class_from_name_rejects_unknown(void)
{
	static const char *const bad[] = { "appvm", "APPVM", "HVM", "", "AppVM ",
					   "Dispvm" };

	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		enum pol_vm_class out = POL_CLASS_APPVM;

		if (pol_vm_class_from_name(bad[i], &out))
			g_test_fail_printf("class name '%s' accepted", bad[i]);
	}
}

int main(int argc, char **argv)
{
	GError *error = NULL;
	int ret;

	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();

	full_sys = load_data(full_keyfile, &error);
	if (full_sys == NULL) {
		/* keep running the error tests; the read tests then fail */
		g_printerr("# the full key file was rejected: %s\n",
			   error ? error->message : "(no message)");
		g_clear_error(&error);
		full_sys = pol_system_create();
	}

	for (size_t i = 0; i < G_N_ELEMENTS(read_cases); i++) {
		g_autofree char *path =
			g_strconcat("/policy/system/read/", read_cases[i].name, NULL);

		g_test_add_data_func(path, &read_cases[i], test_read_case);
	}
	g_test_add_func("/policy/system/read/vm_count",
			test_full_keyfile_vm_count);
	for (size_t i = 0; i < G_N_ELEMENTS(error_cases); i++) {
		g_autofree char *path =
			g_strconcat("/policy/system/error/", error_cases[i].name,
				    NULL);

		g_test_add_data_func(path, &error_cases[i], test_error_case);
	}
	g_test_add_func("/policy/system/adminvm_implied_when_absent",
			test_adminvm_implied_when_absent);
	g_test_add_func("/policy/system/empty_keyfile_holds_dom0",
			test_empty_keyfile_holds_dom0);
	g_test_add_func("/policy/system/adminvm_group_not_doubled",
			test_adminvm_group_not_doubled);
	g_test_add_func("/policy/system/create_holds_dom0",
			test_create_holds_dom0);
	g_test_add_func("/policy/system/load_keyfile_from_path",
			test_load_keyfile_from_path);
	g_test_add_func("/policy/system/keyfile_error_names_file",
			test_keyfile_error_names_file);
	g_test_add_func("/policy/system/check_rejects_missing_default_dispvm",
			test_check_rejects_missing_default_dispvm);
	g_test_add_func("/policy/system/check_rejects_missing_dispvm_template",
			test_check_rejects_missing_dispvm_template);
	g_test_add_func("/policy/system/add_adminvm_replaces_implicit_dom0",
			test_add_adminvm_replaces_implicit_dom0);
	g_test_add_func("/policy/system/class_names_round_trip",
			test_class_names_round_trip);
	g_test_add_func("/policy/system/class_from_name_rejects_unknown",
			test_class_from_name_rejects_unknown);

	ret = g_test_run();
	pol_system_destroy(full_sys);
	return ret;
}
