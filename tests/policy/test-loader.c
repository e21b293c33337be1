/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Loading policy directories: which files count, merge order and shadowing,
 * file names, the include directives and their errors.  Every test works in
 * fresh directories from g_dir_make_tmp() and removes them afterwards.
 */
#ifdef NDEBUG
#error "the policy tests rely on assertions; do not build them with NDEBUG"
#endif
#ifdef G_DISABLE_ASSERT
#error "the policy tests rely on g_assert; do not define G_DISABLE_ASSERT"
#endif

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "policy.h"

/* ---- Scratch directories ------------------------------------------------- */

static char *make_dir(void)
{
	GError *error = NULL;
	char *dir = g_dir_make_tmp("qmgr-policy-test-XXXXXX", &error);

	g_assert_no_error(error);
	g_assert_nonnull(dir);
	return dir;
}

/* Writes DIR/REL (creating the parents) with `len` bytes of `text`. */
static char *write_file_len(const char *dir, const char *rel, const char *text,
			    gssize len)
{
	char *path = g_build_filename(dir, rel, NULL);
	g_autofree char *parent = g_path_get_dirname(path);
	GError *error = NULL;

	g_assert_cmpint(g_mkdir_with_parents(parent, 0700), ==, 0);
	g_file_set_contents(path, text, len, &error);
	g_assert_no_error(error);
	return path;
}

static char *write_file(const char *dir, const char *rel, const char *text)
{
	return write_file_len(dir, rel, text, -1);
}

static void remove_tree(const char *path)
{
	GDir *dir;
	const char *name;

	if (!g_file_test(path, G_FILE_TEST_IS_DIR) ||
	    g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
		g_unlink(path);
		return;
	}
	dir = g_dir_open(path, 0, NULL);
	if (dir != NULL) {
		while ((name = g_dir_read_name(dir)) != NULL) {
			g_autofree char *child = g_build_filename(path, name, NULL);

			remove_tree(child);
		}
		g_dir_close(dir);
	}
	g_rmdir(path);
}

static void free_dir(char *dir)
{
	if (dir != NULL)
		remove_tree(dir);
	g_free(dir);
}

typedef char scratch_dir;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(scratch_dir, free_dir)

/* ---- The VMs ---------------------------------------------------------- */

static const struct pol_vm_info loader_vms[] = {
	{ .name = "work", .cls = POL_CLASS_APPVM,
	  .default_dispvm = "default-dvm", .running = true },
	{ .name = "personal", .cls = POL_CLASS_APPVM,
	  .default_dispvm = "default-dvm", .running = true },
	{ .name = "vault", .cls = POL_CLASS_APPVM },
	{ .name = "default-dvm", .cls = POL_CLASS_APPVM,
	  .template_for_dispvms = true },
};

static struct pol_system *loader_sys;

static void log_errors(const struct pol_policy *p)
{
	for (size_t i = 0; i < pol_policy_error_count(p); i++)
		g_test_message("policy error: %s", pol_policy_error(p, i));
}

static struct pol_policy *load_one(const char *dir)
{
	const char *dirs[] = { dir };

	return pol_policy_load_dirs(dirs, 1);
}

static void assert_valid(const struct pol_policy *p)
{
	if (!pol_policy_is_valid(p))
		log_errors(p);
	g_assert_true(pol_policy_is_valid(p));
	g_assert_cmpuint(pol_policy_error_count(p), ==, 0);
}

/* Invalid, with the first error starting with `prefix`. */
static void assert_invalid(const struct pol_policy *p, const char *prefix)
{
	g_assert_false(pol_policy_is_valid(p));
	g_assert_cmpuint(pol_policy_error_count(p), >=, 1);
	if (pol_policy_error_count(p) == 0)
		return;
	if (!g_str_has_prefix(pol_policy_error(p, 0), prefix))
		g_test_fail_printf("error '%s' does not start with '%s'",
				   pol_policy_error(p, 0), prefix);
}

/* Decides `service` from `source` to `target` (+ argument). */
static char *decide(const struct pol_policy *p, const char *service,
		    const char *source, const char *target,
		    struct pol_decision *d)
{
	struct pol_request req = {
		.service = service,
		.argument = "+",
		.source = source,
		.target = target,
	};

	memset(d, 0, sizeof(*d));
	pol_policy_evaluate(p, loader_sys, &req, d);
	return pol_decision_format(d);
}

static void assert_decision(const struct pol_policy *p, const char *service,
			    const char *source, const char *target,
			    const char *expect)
{
	struct pol_decision d;
	g_autofree char *line = decide(p, service, source, target, &d);

	g_assert_cmpstr(line, ==, expect);
	pol_decision_finish(&d);
}

/* The deciding rule of work -> personal on qubes.Test is FILE:LINE. */
static void assert_decided_by(const struct pol_policy *p, const char *file,
			      unsigned line)
{
	struct pol_decision d;
	g_autofree char *text = decide(p, "qubes.Test", "work", "personal", &d);

	g_assert_nonnull(d.rule);
	if (d.rule != NULL) {
		g_assert_cmpstr(pol_rule_file(d.rule), ==, file);
		g_assert_cmpuint(pol_rule_line(d.rule), ==, line);
	}
	pol_decision_finish(&d);
}

static bool file_listed(const struct pol_policy *p, const char *path)
{
	for (size_t i = 0; i < pol_policy_file_count(p); i++)
		if (g_strcmp0(pol_policy_file(p, i), path) == 0)
			return true;
	return false;
}

#define ALLOW "qubes.Test * work personal allow\n"
#define DENY "qubes.Test * work personal deny\n"

/* ---- Directories ---------------------------------------------------------- */

static void test_dirs_merge_sorted_by_basename(void)
{
	g_autoptr(scratch_dir) d1 = make_dir();
	g_autoptr(scratch_dir) d2 = make_dir();
	g_autofree char *b = write_file(d1, "20-b.policy", ALLOW);
	g_autofree char *a = write_file(d2, "10-a.policy", DENY);
	g_autofree char *c = write_file(d1, "30-c.policy", ALLOW);
	const char *dirs[] = { d1, d2 };
	g_autoptr(pol_policy) p = pol_policy_load_dirs(dirs, 2);

	assert_valid(p);
	assert_decision(p, "qubes.Test", "work", "personal", "deny");
	assert_decided_by(p, a, 1);
	g_assert_cmpuint(pol_policy_rule_count(p), ==, 3);
	g_assert_cmpuint(pol_policy_file_count(p), ==, 3);
	if (pol_policy_file_count(p) == 3) {
		g_assert_cmpstr(pol_policy_file(p, 0), ==, a);
		g_assert_cmpstr(pol_policy_file(p, 1), ==, b);
		g_assert_cmpstr(pol_policy_file(p, 2), ==, c);
	}
}

/* strcmp order, not locale order: upper case does not occur, but digits,
 * '-', '.' and '_' do. */
static void test_files_sorted_with_strcmp(void)
{
	g_autoptr(scratch_dir) d = make_dir();
	g_autofree char *f1 = write_file(d, "a_x.policy", ALLOW);
	g_autofree char *f2 = write_file(d, "a-x.policy", DENY);
	g_autofree char *f3 = write_file(d, "a.x.policy", DENY);
	g_autoptr(pol_policy) p = load_one(d);

	assert_valid(p);
	/* '-' (0x2d) < '.' (0x2e) < '_' (0x5f) */
	g_assert_cmpuint(pol_policy_file_count(p), ==, 3);
	if (pol_policy_file_count(p) == 3) {
		g_assert_cmpstr(pol_policy_file(p, 0), ==, f2);
		g_assert_cmpstr(pol_policy_file(p, 1), ==, f3);
		g_assert_cmpstr(pol_policy_file(p, 2), ==, f1);
	}
	assert_decision(p, "qubes.Test", "work", "personal", "deny");
}

static void test_later_dir_shadows_same_name(void)
{
	g_autoptr(scratch_dir) etc = make_dir();
	g_autoptr(scratch_dir) run = make_dir();
	g_autofree char *e = write_file(etc, "50-x.policy",
					ALLOW "qubes.Only * work personal allow\n");
	g_autofree char *r = write_file(run, "50-x.policy", DENY);
	const char *dirs[] = { etc, run };
	const char *reversed[] = { run, etc };
	g_autoptr(pol_policy) p = pol_policy_load_dirs(dirs, 2);
	g_autoptr(pol_policy) q = pol_policy_load_dirs(reversed, 2);

	assert_valid(p);
	assert_decision(p, "qubes.Test", "work", "personal", "deny");
	assert_decision(p, "qubes.Only", "work", "personal", "deny");
	g_assert_cmpuint(pol_policy_file_count(p), ==, 1);
	g_assert_true(file_listed(p, r));
	g_assert_false(file_listed(p, e));

	assert_valid(q);
	assert_decision(q, "qubes.Test", "work", "personal",
			"allow target=personal");
	assert_decision(q, "qubes.Only", "work", "personal",
			"allow target=personal");
}

static void test_ignored_file_names(void)
{
	static const char *const ignored[] = {
		"README",
		"x.policy~",
		".hidden.policy",
		"x.policy.rpmnew",
		"x.policy.bak",
		"x.pol",
		"policy",
	};
	g_autoptr(scratch_dir) d = make_dir();
	g_autofree char *ok = write_file(d, "10-ok.policy", ALLOW);
	g_autofree char *subdir = g_build_filename(d, "20-dir.policy", NULL);
	g_autoptr(pol_policy) p = NULL;

	for (size_t i = 0; i < G_N_ELEMENTS(ignored); i++)
		g_free(write_file(d, ignored[i], "this is not a policy\n"));
	/* not a regular file */
	g_assert_cmpint(g_mkdir(subdir, 0700), ==, 0);

	p = load_one(d);
	assert_valid(p);
	g_assert_cmpuint(pol_policy_file_count(p), ==, 1);
	g_assert_cmpuint(pol_policy_rule_count(p), ==, 1);
	assert_decision(p, "qubes.Test", "work", "personal",
			"allow target=personal");
}

static const char *const bad_file_names[] = {
	"30-User.policy",
	"30 user.policy",
	"30+user.policy",
	"30:user.policy",
	"30-us\xc3\xa9r.policy",
};

static void test_invalid_file_name_is_error(gconstpointer data)
{
	const char *name = data;
	g_autoptr(scratch_dir) d = make_dir();
	g_autofree char *bad = write_file(d, name, ALLOW);
	g_autofree char *good = write_file(d, "10-good.policy", ALLOW);
	g_autofree char *prefix =
		g_strdup_printf("%s: invalid policy file name", bad);
	g_autofree char *dir_prefix = g_strconcat(d, "/", NULL);
	g_autoptr(pol_policy) p = load_one(d);
	struct pol_decision d_;
	g_autofree char *line = NULL;
	bool printable = true;

	for (const char *c = name; *c != '\0'; c++)
		printable = printable && g_ascii_isprint(*c);
	if (printable) {
		assert_invalid(p, prefix);
	} else {
		/* the message may escape bytes it cannot print */
		assert_invalid(p, dir_prefix);
		if (pol_policy_error_count(p) > 0 &&
		    strstr(pol_policy_error(p, 0), ": invalid policy file name") == NULL)
			g_test_fail_printf("error '%s' does not say why",
					   pol_policy_error(p, 0));
	}
	line = decide(p, "qubes.Test", "work", "personal", &d_);
	g_assert_cmpstr(line, ==, "deny");
	g_assert_cmpint(d_.reason, ==, POL_DENY_POLICY_INVALID);
	pol_decision_finish(&d_);
}

static void test_file_name_charset_allowed(void)
{
	g_autoptr(scratch_dir) d = make_dir();
	g_autofree char *f = write_file(d, "00_a-b.c9.policy", ALLOW);
	g_autoptr(pol_policy) p = load_one(d);

	assert_valid(p);
	g_assert_true(file_listed(p, f));
}

static void test_missing_dir_is_empty(void)
{
	g_autoptr(scratch_dir) d = make_dir();
	g_autofree char *missing = g_build_filename(d, "no-such-dir", NULL);
	g_autoptr(pol_policy) p = load_one(missing);
	struct pol_decision dec;
	g_autofree char *line = NULL;

	assert_valid(p);
	g_assert_cmpuint(pol_policy_rule_count(p), ==, 0);
	g_assert_cmpuint(pol_policy_file_count(p), ==, 0);
	line = decide(p, "qubes.Test", "work", "personal", &dec);
	g_assert_cmpstr(line, ==, "deny");
	g_assert_cmpint(dec.reason, ==, POL_DENY_NO_RULE);
	pol_decision_finish(&dec);
}

static void test_missing_dir_beside_existing_one(void)
{
	g_autoptr(scratch_dir) d = make_dir();
	g_autofree char *missing = g_build_filename(d, "no-such-dir", NULL);
	g_autofree char *sub = g_build_filename(d, "policy.d", NULL);
	g_autofree char *f = write_file(sub, "10-a.policy", ALLOW);
	const char *dirs[] = { sub, missing };
	g_autoptr(pol_policy) p = pol_policy_load_dirs(dirs, 2);

	assert_valid(p);
	assert_decision(p, "qubes.Test", "work", "personal",
			"allow target=personal");
}

static void test_nul_byte_in_file_is_error(void)
{
	static const char text[] = ALLOW "\0" ALLOW;
	g_autoptr(scratch_dir) d = make_dir();
	g_autofree char *f = write_file_len(d, "10-a.policy", text,
					    sizeof(text) - 1);
	g_autoptr(pol_policy) p = load_one(d);

	assert_invalid(p, f);
}

static void test_file_over_size_limit_is_error(void)
{
	g_autoptr(scratch_dir) d = make_dir();
	/* comment lines of 1 KiB each */
	gsize n = POL_FILE_MAX + 1;
	g_autofree char *text = g_malloc(n);
	g_autofree char *f = NULL;
	g_autoptr(pol_policy) p = NULL;

	memset(text, '#', n);
	for (gsize i = 1023; i < n; i += 1024)
		text[i] = '\n';
	f = write_file_len(d, "10-big.policy", text, n);
	p = load_one(d);
	assert_invalid(p, f);
}

static void test_file_at_size_limit_is_accepted(void)
{
	g_autoptr(scratch_dir) d = make_dir();
	gsize n = POL_FILE_MAX;
	g_autofree char *text = g_malloc(n);
	g_autofree char *f = NULL;
	g_autoptr(pol_policy) p = NULL;

	memset(text, '#', n);
	for (gsize i = 1023; i < n; i += 1024)
		text[i] = '\n';
	f = write_file_len(d, "10-big.policy", text, n);
	p = load_one(d);
	assert_valid(p);
}

static void test_errors_name_the_file(void)
{
	g_autoptr(scratch_dir) d = make_dir();
	g_autofree char *f = write_file(d, "10-a.policy",
					"# comment\n"
					"qubes.Test * work personal permit\n");
	g_autofree char *prefix = g_strconcat(f, ":2: ", NULL);
	g_autoptr(pol_policy) p = load_one(d);

	assert_invalid(p, prefix);
}

/* ---- !include ------------------------------------------------------------ */

static void test_include_relative_to_policy_dir(void)
{
	g_autoptr(scratch_dir) d = make_dir();
	g_autofree char *main_ = write_file(d, "10-main.policy",
					    "!include include/extra\n");
	g_autofree char *extra = write_file(d, "include/extra",
					    "# included\n" ALLOW);
	g_autoptr(pol_policy) p = load_one(d);

	assert_valid(p);
	assert_decision(p, "qubes.Test", "work", "personal",
			"allow target=personal");
	assert_decided_by(p, extra, 2);
	g_assert_true(file_listed(p, main_));
	g_assert_true(file_listed(p, extra));
}

static void test_nested_include_relative_to_top_level_dir(void)
{
	g_autoptr(scratch_dir) d = make_dir();
	g_autofree char *main_ = write_file(d, "10-main.policy",
					    "!include include/extra\n");
	g_autofree char *extra = write_file(d, "include/extra",
					    "!include include/extra2\n");
	g_autofree char *extra2 = write_file(d, "include/extra2", ALLOW);
	g_autoptr(pol_policy) p = load_one(d);

	assert_valid(p);
	assert_decision(p, "qubes.Test", "work", "personal",
			"allow target=personal");
	assert_decided_by(p, extra2, 1);
}

static void test_include_resolves_against_its_own_policy_dir(void)
{
	g_autoptr(scratch_dir) d1 = make_dir();
	g_autoptr(scratch_dir) d2 = make_dir();
	g_autofree char *deny_ = write_file(d1, "inc", DENY);
	g_autofree char *allow_ = write_file(d2, "inc", ALLOW);
	g_autofree char *main_ = write_file(d2, "10-main.policy", "!include inc\n");
	const char *dirs[] = { d1, d2 };
	g_autoptr(pol_policy) p = pol_policy_load_dirs(dirs, 2);

	assert_valid(p);
	assert_decision(p, "qubes.Test", "work", "personal",
			"allow target=personal");
	assert_decided_by(p, allow_, 1);
}

static void test_include_takes_effect_at_its_line(void)
{
	g_autoptr(scratch_dir) d = make_dir();
	g_autofree char *main_ = write_file(d, "10-main.policy",
					    "qubes.Test * work vault deny\n"
					    "!include include/allow\n"
					    DENY);
	g_autofree char *inc = write_file(d, "include/allow", ALLOW);
	g_autoptr(pol_policy) p = load_one(d);

	assert_valid(p);
	assert_decision(p, "qubes.Test", "work", "personal",
			"allow target=personal");
	assert_decision(p, "qubes.Test", "work", "vault", "deny");
}

static void test_include_absolute_path(void)
{
	g_autoptr(scratch_dir) d = make_dir();
	g_autoptr(scratch_dir) other = make_dir();
	g_autofree char *inc = write_file(other, "allow.inc", ALLOW);
	g_autofree char *text = g_strdup_printf("!include %s\n", inc);
	g_autofree char *main_ = write_file(d, "10-main.policy", text);
	g_autoptr(pol_policy) p = load_one(d);

	assert_valid(p);
	assert_decided_by(p, inc, 1);
}

static void test_include_dir_sorted_and_filtered(void)
{
	g_autoptr(scratch_dir) d = make_dir();
	g_autofree char *main_ = write_file(d, "10-main.policy",
					    "!include-dir included.d\n");
	g_autofree char *b = write_file(d, "included.d/20-b.policy", DENY);
	g_autofree char *a = write_file(d, "included.d/10-a.policy", ALLOW);
	g_autofree char *readme = write_file(d, "included.d/README", "junk\n");
	g_autofree char *hidden = write_file(d, "included.d/.05.policy", "junk\n");
	g_autofree char *backup = write_file(d, "included.d/05.policy~", "junk\n");
	g_autoptr(pol_policy) p = load_one(d);

	assert_valid(p);
	assert_decision(p, "qubes.Test", "work", "personal",
			"allow target=personal");
	assert_decided_by(p, a, 1);
	g_assert_true(file_listed(p, a));
	g_assert_true(file_listed(p, b));
	g_assert_false(file_listed(p, readme));
}

static void test_include_with_root_from_string(void)
{
	g_autoptr(scratch_dir) d = make_dir();
	g_autofree char *inc = write_file(d, "inc/allow", ALLOW);
	const char *text = "!include inc/allow\n";
	g_autoptr(pol_policy) with_root =
		pol_policy_load_string("main.policy", text, strlen(text), d);
	g_autoptr(pol_policy) without_root =
		pol_policy_load_string("main.policy", text, strlen(text), NULL);

	assert_valid(with_root);
	assert_decision(with_root, "qubes.Test", "work", "personal",
			"allow target=personal");
	assert_invalid(without_root, "main.policy:1: ");
}

/* ---- !include-service ------------------------------------------------------ */

static void test_include_service_old_syntax(void)
{
	g_autoptr(scratch_dir) d = make_dir();
	g_autofree char *main_ = write_file(d, "10-main.policy",
		"!include-service qubes.Filecopy * include/filecopy\n");
	g_autofree char *svc = write_file(d, "include/filecopy",
		"# 4.0 style lines\n"
		"work personal allow,user=root\n"
		"\n"
		"vault $anyvm deny,notify=no\n"
		"$anyvm $dispvm allow\n"
		"$anyvm $anyvm ask,default_target=$dispvm:default-dvm\n");
	g_autoptr(pol_policy) p = load_one(d);
	struct pol_decision dec;
	g_autofree char *line = NULL;

	assert_valid(p);
	assert_decision(p, "qubes.Filecopy", "work", "personal",
			"allow target=personal user=root");
	assert_decision(p, "qubes.Filecopy", "personal", "@dispvm",
			"allow target=@dispvm:default-dvm");
	assert_decision(p, "qubes.Filecopy", "work", "vault",
			"ask targets=@dispvm:default-dvm,default-dvm,personal,"
			"vault default_target=@dispvm:default-dvm");
	assert_decision(p, "qubes.Other", "work", "personal", "deny");

	line = decide(p, "qubes.Filecopy", "vault", "personal", &dec);
	g_assert_cmpstr(line, ==, "deny");
	g_assert_false(dec.notify);
	g_assert_nonnull(dec.rule);
	if (dec.rule != NULL) {
		g_assert_cmpstr(pol_rule_file(dec.rule), ==, svc);
		g_assert_cmpuint(pol_rule_line(dec.rule), ==, 4);
	}
	pol_decision_finish(&dec);
}

static void test_include_service_applies_to_its_argument(void)
{
	g_autoptr(scratch_dir) d = make_dir();
	g_autofree char *main_ = write_file(d, "10-main.policy",
		"!include-service qubes.Test +only include/test\n");
	g_autofree char *svc = write_file(d, "include/test",
					  "work personal allow\n");
	g_autoptr(pol_policy) p = load_one(d);
	struct pol_request req = {
		.service = "qubes.Test",
		.argument = "+only",
		.source = "work",
		.target = "personal",
	};
	struct pol_decision dec;
	g_autofree char *line = NULL;

	assert_valid(p);
	memset(&dec, 0, sizeof(dec));
	pol_policy_evaluate(p, loader_sys, &req, &dec);
	line = pol_decision_format(&dec);
	g_assert_cmpstr(line, ==, "allow target=personal");
	pol_decision_finish(&dec);
	/* argument "+" */
	assert_decision(p, "qubes.Test", "work", "personal", "deny");
}

/* $include:PATH in a service file pulls in another service file. */
static void test_include_service_dollar_include(void)
{
	g_autoptr(scratch_dir) d = make_dir();
	g_autofree char *main_ = write_file(d, "10-main.policy",
		"!include-service qubes.Test * include/test\n");
	g_autofree char *svc = write_file(d, "include/test",
		"vault $anyvm deny\n"
		"$include:include/test-more\n");
	g_autofree char *more = write_file(d, "include/test-more",
					   "work $anyvm allow\n");
	g_autoptr(pol_policy) p = load_one(d);

	assert_valid(p);
	assert_decision(p, "qubes.Test", "work", "personal",
			"allow target=personal");
	assert_decided_by(p, more, 1);
}

static void test_include_service_error_names_service_file(void)
{
	g_autoptr(scratch_dir) d = make_dir();
	g_autofree char *main_ = write_file(d, "10-main.policy",
		"!include-service qubes.Test * include/test\n");
	g_autofree char *svc = write_file(d, "include/test",
		"work personal allow\n"
		"work $anyvmm allow\n");
	g_autofree char *prefix = g_strconcat(svc, ":2: ", NULL);
	g_autoptr(pol_policy) p = load_one(d);

	assert_invalid(p, prefix);
}

/* Old-format lines: `$` spells `@`, `,` separates options. */
struct old_line_case {
	const char *name;
	const char *line;
	bool valid;
};

static const struct old_line_case old_line_cases[] = {
	{ "anyvm_anyvm_allow", "$anyvm $anyvm allow", true },
	{ "adminvm_to_named_dispvm", "$adminvm $dispvm:default-dvm allow", true },
	{ "tag_to_type_deny", "$tag:x $type:AppVM deny", true },
	{ "default_with_redirect", "$anyvm $default allow,target=personal", true },
	{ "redirect_to_dispvm", "dom0 personal allow,target=$dispvm", true },
	{ "ask_with_options",
	  "work $anyvm ask,default_target=personal,user=root", true },
	{ "default_without_redirect", "$anyvm $default allow", false },
	{ "two_fields", "work personal", false },
	{ "unknown_option", "work personal allow,colour=red", false },
	{ "deny_with_target", "work personal deny,target=vault", false },
	{ "unknown_dollar_word", "$anyvmm personal allow", false },
	{ "dispvm_as_source", "$dispvm personal allow", false },
};

static void test_include_service_old_line(gconstpointer data)
{
	const struct old_line_case *c = data;
	g_autoptr(scratch_dir) d = make_dir();
	g_autofree char *main_ = write_file(d, "10-main.policy",
		"!include-service qubes.Test * include/test\n");
	g_autofree char *text = g_strconcat("# old\n", c->line, "\n", NULL);
	g_autofree char *svc = write_file(d, "include/test", text);
	g_autofree char *prefix = g_strconcat(svc, ":2: ", NULL);
	g_autoptr(pol_policy) p = load_one(d);

	if (c->valid)
		assert_valid(p);
	else
		assert_invalid(p, prefix);
}

/* ---- Include errors --------------------------------------------------------- */

struct include_error_case {
	const char *name;
	const char *main_text;          /* of DIR/10-main.policy */
	const char *files[6][2];        /* more files: relative path, text */
	unsigned line;                  /* of the error in 10-main.policy,
					 * 0: anywhere */
};

static const struct include_error_case include_error_cases[] = {
	{ "missing_include_file",
	  ALLOW "!include include/nope\n", { { NULL } }, 2 },
	{ "missing_include_dir",
	  "!include-dir nope.d\n", { { NULL } }, 1 },
	{ "missing_include_service_file",
	  "\n!include-service qubes.Test * include/nope\n", { { NULL } }, 2 },
	{ "include_of_itself",
	  "!include 10-main.policy\n", { { NULL } }, 0 },
	{ "include_cycle",
	  "!include include/a\n",
	  { { "include/a", "!include include/b\n" },
	    { "include/b", "!include include/a\n" },
	    { NULL } }, 0 },
	{ "include_dir_containing_includer",
	  "!include include/a\n",
	  { { "include/a", "!include-dir sub.d\n" },
	    { "sub.d/10-x.policy", "!include include/a\n" },
	    { NULL } }, 0 },
	{ "service_include_cycle",
	  "!include-service qubes.Test * include/a\n",
	  { { "include/a", "$include:include/a\n" }, { NULL } }, 0 },
	{ "error_in_included_file",
	  "!include include/bad\n",
	  { { "include/bad", "qubes.Test * work personal permit\n" }, { NULL } },
	  0 },
	{ "include_dir_of_a_file",
	  "!include-dir include/file\n",
	  { { "include/file", ALLOW }, { NULL } }, 1 },
	{ "include_service_bad_service",
	  "!include-service qubes+Test * include/test\n",
	  { { "include/test", "work personal allow\n" }, { NULL } }, 1 },
	{ "include_service_bad_argument",
	  "!include-service qubes.Test arg include/test\n",
	  { { "include/test", "work personal allow\n" }, { NULL } }, 1 },
	{ "compat_in_included_file",
	  "!include include/old\n",
	  { { "include/old", "!compat-4.0\n" }, { NULL } }, 0 },
	{ "include_bad_name_in_include_dir",
	  "!include-dir sub.d\n",
	  { { "sub.d/10-Bad.policy", ALLOW }, { NULL } }, 0 },
};

static void test_include_error(gconstpointer data)
{
	const struct include_error_case *c = data;
	g_autoptr(scratch_dir) d = make_dir();
	g_autofree char *main_ = write_file(d, "10-main.policy", c->main_text);
	g_autofree char *prefix = NULL;
	g_autoptr(pol_policy) p = NULL;

	for (size_t i = 0; c->files[i][0] != NULL; i++)
		g_free(write_file(d, c->files[i][0], c->files[i][1]));
	p = load_one(d);
	if (c->line != 0)
		prefix = g_strdup_printf("%s:%u: ", main_, c->line);
	assert_invalid(p, prefix ? prefix : d);
	log_errors(p);
	/* fail closed */
	assert_decision(p, "qubes.Test", "work", "personal", "deny");
}

/* A chain of includes: 10 deep loads, 20 deep exceeds the limit of 16. */
static void check_include_chain(unsigned depth, bool valid)
{
	g_autoptr(scratch_dir) d = make_dir();
	g_autofree char *main_ = write_file(d, "10-main.policy",
					    "!include chain/0\n");
	g_autoptr(pol_policy) p = NULL;

	for (unsigned i = 0; i < depth; i++) {
		g_autofree char *rel = g_strdup_printf("chain/%u", i);
		g_autofree char *text = i + 1 < depth
			? g_strdup_printf("!include chain/%u\n", i + 1)
			: g_strdup(ALLOW);

		g_free(write_file(d, rel, text));
	}
	p = load_one(d);
	if (valid) {
		assert_valid(p);
		assert_decision(p, "qubes.Test", "work", "personal",
				"allow target=personal");
	} else {
		assert_invalid(p, d);
		assert_decision(p, "qubes.Test", "work", "personal", "deny");
	}
}

static void test_include_depth_within_limit(void)
{
	check_include_chain(10, true);
}

static void test_include_depth_over_limit_is_error(void)
{
	check_include_chain(20, false);
}

/* The same file included twice (not a cycle) is fine. */
static void test_same_file_included_twice_is_not_a_cycle(void)
{
	g_autoptr(scratch_dir) d = make_dir();
	g_autofree char *main_ = write_file(d, "10-main.policy",
					    "!include include/common\n"
					    "!include include/common\n");
	g_autofree char *inc = write_file(d, "include/common", ALLOW);
	g_autoptr(pol_policy) p = load_one(d);

	assert_valid(p);
	g_assert_cmpuint(pol_policy_rule_count(p), ==, 2);
}

int main(int argc, char **argv)
{
	GError *error = NULL;
	int ret;

	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();

	loader_sys = pol_system_create();
	for (size_t i = 0; i < G_N_ELEMENTS(loader_vms); i++) {
		if (!pol_system_add_vm(loader_sys, &loader_vms[i], &error))
			g_error("adding VM %s: %s", loader_vms[i].name,
				error ? error->message : "(no message)");
	}
	if (!pol_system_check(loader_sys, &error))
		g_error("test system rejected: %s",
			error ? error->message : "(no message)");

	g_test_add_func("/policy/loader/dirs_merge_sorted_by_basename",
			test_dirs_merge_sorted_by_basename);
	g_test_add_func("/policy/loader/files_sorted_with_strcmp",
			test_files_sorted_with_strcmp);
	g_test_add_func("/policy/loader/later_dir_shadows_same_name",
			test_later_dir_shadows_same_name);
	g_test_add_func("/policy/loader/ignored_file_names",
			test_ignored_file_names);
	for (size_t i = 0; i < G_N_ELEMENTS(bad_file_names); i++) {
		g_autofree char *path = g_strdup_printf(
			"/policy/loader/invalid_file_name_is_error/%zu", i);

		g_test_add_data_func(path, bad_file_names[i],
				     test_invalid_file_name_is_error);
	}
	g_test_add_func("/policy/loader/file_name_charset_allowed",
			test_file_name_charset_allowed);
	g_test_add_func("/policy/loader/missing_dir_is_empty",
			test_missing_dir_is_empty);
	g_test_add_func("/policy/loader/missing_dir_beside_existing_one",
			test_missing_dir_beside_existing_one);
	g_test_add_func("/policy/loader/nul_byte_in_file_is_error",
			test_nul_byte_in_file_is_error);
	g_test_add_func("/policy/loader/file_over_size_limit_is_error",
			test_file_over_size_limit_is_error);
	g_test_add_func("/policy/loader/file_at_size_limit_is_accepted",
			test_file_at_size_limit_is_accepted);
	g_test_add_func("/policy/loader/errors_name_the_file",
			test_errors_name_the_file);
	g_test_add_func("/policy/loader/include/relative_to_policy_dir",
			test_include_relative_to_policy_dir);
	g_test_add_func("/policy/loader/include/nested_relative_to_top_level_dir",
			test_nested_include_relative_to_top_level_dir);
	g_test_add_func("/policy/loader/include/resolves_against_its_own_policy_dir",
			test_include_resolves_against_its_own_policy_dir);
	g_test_add_func("/policy/loader/include/takes_effect_at_its_line",
			test_include_takes_effect_at_its_line);
	g_test_add_func("/policy/loader/include/absolute_path",
			test_include_absolute_path);
	g_test_add_func("/policy/loader/include/dir_sorted_and_filtered",
			test_include_dir_sorted_and_filtered);
	g_test_add_func("/policy/loader/include/with_root_from_string",
			test_include_with_root_from_string);
	g_test_add_func("/policy/loader/include/same_file_twice_is_not_a_cycle",
			test_same_file_included_twice_is_not_a_cycle);
	g_test_add_func("/policy/loader/include/depth_within_limit",
			test_include_depth_within_limit);
	g_test_add_func("/policy/loader/include/depth_over_limit_is_error",
			test_include_depth_over_limit_is_error);
	g_test_add_func("/policy/loader/include_service/old_syntax",
			test_include_service_old_syntax);
	g_test_add_func("/policy/loader/include_service/applies_to_its_argument",
			test_include_service_applies_to_its_argument);
	g_test_add_func("/policy/loader/include_service/dollar_include",
			test_include_service_dollar_include);
	g_test_add_func("/policy/loader/include_service/error_names_service_file",
			test_include_service_error_names_service_file);
	for (size_t i = 0; i < G_N_ELEMENTS(old_line_cases); i++) {
		g_autofree char *path = g_strconcat(
			"/policy/loader/include_service/line/",
			old_line_cases[i].name, NULL);

		g_test_add_data_func(path, &old_line_cases[i],
				     test_include_service_old_line);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(include_error_cases); i++) {
		g_autofree char *path = g_strconcat(
			"/policy/loader/include_error/",
			include_error_cases[i].name, NULL);

		g_test_add_data_func(path, &include_error_cases[i],
				     test_include_error);
	}

	ret = g_test_run();
	pol_system_destroy(loader_sys);
	return ret;
}
