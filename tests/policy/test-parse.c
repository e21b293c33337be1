/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Policy syntax: which token each column accepts, actions and their options,
 * service and argument names, comments, directives, and how errors are
 * reported.  Every text is loaded with pol_policy_load_string() under the
 * name "test.policy", so an error must start with "test.policy:LINE: ".
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

#define TEN "0123456789"
#define NAME31 "n" TEN TEN TEN
#define NAME32 NAME31 "x"
#define TAG64 "t" TEN TEN TEN TEN TEN TEN "abc"
#define TAG65 TAG64 "x"
#define USER32 "u" TEN TEN TEN "x"
#define USER33 USER32 "y"

static struct pol_policy *load(const char *text, size_t len)
{
	return pol_policy_load_string("test.policy", text, len, NULL);
}

/* Puts the loader's messages in the test log, so a failure says why. */
static void log_errors(const struct pol_policy *p)
{
	for (size_t i = 0; i < pol_policy_error_count(p); i++)
		g_test_message("policy error: %s", pol_policy_error(p, i));
}

static void assert_has_prefix(const char *msg, const char *prefix)
{
	if (msg == NULL)
		g_test_fail_printf("expected an error starting with '%s', got none",
				   prefix);
	else if (!g_str_has_prefix(msg, prefix))
		g_test_fail_printf("error '%s' does not start with '%s'", msg,
				   prefix);
}

static void assert_contains(const char *msg, const char *needle)
{
	if (msg == NULL || strstr(msg, needle) == NULL)
		g_test_fail_printf("error '%s' does not mention '%s'",
				   msg ? msg : "(none)", needle);
}

static void expect_valid(const char *text)
{
	g_autoptr(pol_policy) p = load(text, strlen(text));

	if (!pol_policy_is_valid(p)) {
		g_test_message("text: %s", text);
		log_errors(p);
	}
	g_assert_true(pol_policy_is_valid(p));
	g_assert_cmpuint(pol_policy_error_count(p), ==, 0);
}

/* The text is invalid and its first error is on `line`; returns the first
 * error's text (owned) for further checks. */
static char *expect_invalid_at(const char *text, size_t len, unsigned line)
{
	g_autoptr(pol_policy) p = load(text, len);
	g_autofree char *prefix = g_strdup_printf("test.policy:%u: ", line);

	if (pol_policy_is_valid(p))
		g_test_message("accepted: %s", text);
	g_assert_false(pol_policy_is_valid(p));
	g_assert_cmpuint(pol_policy_error_count(p), >=, 1);
	if (pol_policy_error_count(p) == 0)
		return NULL;
	assert_has_prefix(pol_policy_error(p, 0), prefix);
	return g_strdup(pol_policy_error(p, 0));
}

static void expect_invalid(const char *text, size_t len, unsigned line)
{
	g_free(expect_invalid_at(text, len, line));
}

/* ---- Tokens per column ------------------------------------------------ */

enum {
	IN_SOURCE = 1 << 0,
	IN_TARGET = 1 << 1,
	IN_REDIRECT = 1 << 2,   /* target= and default_target= */
};
#define IN_ALL (IN_SOURCE | IN_TARGET | IN_REDIRECT)
#define IN_MATCH (IN_SOURCE | IN_TARGET)

struct token_case {
	const char *token;
	unsigned allowed;
};

/* The spec's table of tokens, plus spellings each rule rejects. */
static const struct token_case token_cases[] = {
	/* literal names: [A-Za-z][A-Za-z0-9_.-]*, at most 31 chars */
	{ "work", IN_ALL },
	{ "default-dvm", IN_ALL },
	{ "a", IN_ALL },
	{ "Work_1.x-y", IN_ALL },
	{ "nonexistent-vm", IN_ALL },
	{ NAME31, IN_ALL },
	{ NAME32, 0 },
	{ "1work", 0 },
	{ "-work", 0 },
	{ ".work", 0 },
	{ "_work", 0 },
	{ "wo+rk", 0 },
	{ "wo/rk", 0 },
	{ "wo:rk", 0 },
	{ "wo$rk", 0 },
	/* the old 4.0 spelling is not a token of the new format */
	{ "$anyvm", 0 },
	/* the admin VM, in each spelling */
	{ "dom0", IN_ALL },
	{ "@adminvm", IN_ALL },
	{ "uuid:" POL_ADMINVM_UUID, IN_ALL },
	/* uuids: 8-4-4-4-12 hex digits, any case */
	{ "uuid:" WORK_UUID, IN_ALL },
	{ "uuid:" WORK_UUID_UPPER, IN_ALL },
	{ "uuid:", 0 },
	{ "uuid:xyz", 0 },
	{ "uuid:5d1b2a9c3f4e4b6a8c7d0e1f2a3b4c5d", 0 },
	{ "uuid:5d1b2a9c-3f4e-4b6a-8c7d-0e1f2a3b4c5", 0 },
	{ "uuid:5d1b2a9c-3f4e-4b6a-8c7d-0e1f2a3b4c5d0", 0 },
	{ "uuid:5d1b2a9c-3f4e-4b6a-8c7d-0e1f2a3b4c5g", 0 },
	{ "uuid:5d1b2a9c3-f4e-4b6a-8c7d-0e1f2a3b4c5d", 0 },
	{ "UUID:" WORK_UUID, 0 },
	/* classes of VMs */
	{ "@anyvm", IN_MATCH },
	{ "*", IN_MATCH },
	{ "@default", IN_TARGET },
	{ "@type:AdminVM", IN_MATCH },
	{ "@type:AppVM", IN_MATCH },
	{ "@type:TemplateVM", IN_MATCH },
	{ "@type:StandaloneVM", IN_MATCH },
	{ "@type:DispVM", IN_MATCH },
	{ "@type:", 0 },
	{ "@tag:work-tag", IN_MATCH },
	{ "@tag:A_z-9", IN_MATCH },
	{ "@tag:" TAG64, IN_MATCH },
	{ "@tag:" TAG65, 0 },
	{ "@tag:", 0 },
	{ "@tag:a.b", 0 },
	{ "@tag:a:b", 0 },
	{ "@tag:a+b", 0 },
	/* disposables */
	{ "@dispvm", IN_TARGET | IN_REDIRECT },
	{ "@dispvm:default-dvm", IN_ALL },
	{ "@dispvm:uuid:" DVM_UUID, IN_ALL },
	{ "@dispvm:@tag:dvm-tag", IN_MATCH },
	{ "@dispvm:", 0 },
	{ "@dispvm:@tag:", 0 },
	{ "@dispvm:uuid:", 0 },
	{ "@dispvm:uuid:xyz", 0 },
	{ "@dispvm:@anyvm", 0 },
	{ "@dispvm:@dispvm", 0 },
	{ "@dispvm:1bad", 0 },
	{ "@dispvm:" NAME32, 0 },
	{ "@dispvm:@tag:a.b", 0 },
	/* unknown @ words and near misses */
	{ "@anyvmm", 0 },
	{ "@foo", 0 },
	{ "@", 0 },
	{ "@Anyvm", 0 },
	{ "@ADMINVM", 0 },
	{ "@default:x", 0 },
	{ "@anyvm:x", 0 },
	{ "**", 0 },
};

struct column {
	const char *name;
	const char *before;
	const char *after;
	unsigned flag;
};

static const struct column columns[] = {
	{ "source", "qubes.Test * ", " work deny", IN_SOURCE },
	{ "target", "qubes.Test * work ", " deny", IN_TARGET },
	{ "redirect", "qubes.Test * work @anyvm allow target=", "",
	  IN_REDIRECT },
	{ "default_target", "qubes.Test * work @anyvm ask default_target=", "",
	  IN_REDIRECT },
};

struct token_test {
	const struct token_case *tc;
	const struct column *col;
};

static void test_token_in_column(gconstpointer data)
{
	const struct token_test *t = data;
	g_autofree char *line = g_strconcat(t->col->before, t->tc->token,
					    t->col->after, "\n", NULL);

	g_test_message("line: %s", line);
	if (t->tc->allowed & t->col->flag) {
		expect_valid(line);
	} else {
		expect_invalid(line, strlen(line), 1);
	}
}

/* ---- Whole lines ------------------------------------------------------- */

struct line_case {
	const char *name;
	const char *line;
	bool valid;
};

static const struct line_case action_cases[] = {
	{ "allow", "qubes.Test * work personal allow", true },
	{ "deny", "qubes.Test * work personal deny", true },
	{ "ask", "qubes.Test * work personal ask", true },
	{ "unknown_action", "qubes.Test * work personal permit", false },
	{ "action_is_case_sensitive", "qubes.Test * work personal Allow", false },
	{ "allow_target", "qubes.Test * work personal allow target=vault", true },
	{ "allow_user", "qubes.Test * work personal allow user=root", true },
	{ "allow_notify_yes", "qubes.Test * work personal allow notify=yes", true },
	{ "allow_notify_no", "qubes.Test * work personal allow notify=no", true },
	{ "allow_autostart_yes", "qubes.Test * work personal allow autostart=yes",
	  true },
	{ "allow_autostart_no", "qubes.Test * work personal allow autostart=no",
	  true },
	{ "allow_every_option",
	  "qubes.Test * work personal allow target=vault user=root notify=yes "
	  "autostart=no", true },
	{ "allow_rejects_default_target",
	  "qubes.Test * work personal allow default_target=vault", false },
	{ "deny_notify_yes", "qubes.Test * work personal deny notify=yes", true },
	{ "deny_notify_no", "qubes.Test * work personal deny notify=no", true },
	{ "deny_rejects_target", "qubes.Test * work personal deny target=vault",
	  false },
	{ "deny_rejects_default_target",
	  "qubes.Test * work personal deny default_target=vault", false },
	{ "deny_rejects_user", "qubes.Test * work personal deny user=root", false },
	{ "deny_rejects_autostart", "qubes.Test * work personal deny autostart=no",
	  false },
	{ "ask_every_option",
	  "qubes.Test * work personal ask target=vault default_target=vault "
	  "user=root notify=no autostart=no", true },
	{ "unknown_option", "qubes.Test * work personal allow colour=red", false },
	{ "option_without_value_separator", "qubes.Test * work personal allow notify",
	  false },
	{ "target_without_value_separator", "qubes.Test * work personal allow target",
	  false },
	{ "option_with_empty_key", "qubes.Test * work personal allow =yes", false },
	{ "duplicate_notify",
	  "qubes.Test * work personal allow notify=yes notify=no", false },
	{ "duplicate_same_value_target",
	  "qubes.Test * work personal allow target=vault target=vault", false },
	{ "duplicate_default_target",
	  "qubes.Test * work personal ask default_target=vault default_target=vault",
	  false },
	{ "notify_true_is_not_yes", "qubes.Test * work personal allow notify=true",
	  false },
	{ "notify_upper_case", "qubes.Test * work personal allow notify=YES", false },
	{ "notify_empty", "qubes.Test * work personal allow notify=", false },
	{ "autostart_one", "qubes.Test * work personal allow autostart=1", false },
	{ "user_charset", "qubes.Test * work personal allow user=r.o_o-t9", true },
	{ "user_leading_dash", "qubes.Test * work personal allow user=-root", false },
	{ "user_slash", "qubes.Test * work personal allow user=ro/ot", false },
	{ "user_colon", "qubes.Test * work personal allow user=root:root", false },
	{ "user_32_chars", "qubes.Test * work personal allow user=" USER32, true },
	{ "user_33_chars", "qubes.Test * work personal allow user=" USER33, false },
	{ "empty_redirect", "qubes.Test * work personal allow target=", false },
	{ "allow_on_default_needs_target", "qubes.Test * work @default allow", false },
	{ "allow_on_default_with_target",
	  "qubes.Test * work @default allow target=vault", true },
	{ "ask_on_default_without_target", "qubes.Test * work @default ask", true },
	{ "deny_on_default", "qubes.Test * work @default deny", true },
	{ "allow_on_anyvm_without_target", "qubes.Test * work @anyvm allow", true },
	{ "inline_comment_is_not_supported",
	  "qubes.Test * work personal allow # trusted", false },
	{ "hash_glued_to_action", "qubes.Test * work personal deny#x", false },
};

static const struct line_case name_cases[] = {
	{ "service_star", "* * work personal allow", true },
	{ "service_dotted", "qubes.Filecopy * work personal allow", true },
	{ "service_charset", "my_Service-1.x * work personal allow", true },
	{ "service_single_char", "A * work personal allow", true },
	{ "service_with_plus", "qubes+Filecopy * work personal allow", false },
	{ "service_with_argument_glued", "qubes.Filecopy+arg * work personal allow",
	  false },
	{ "service_with_slash", "qubes/Filecopy * work personal allow", false },
	{ "service_with_colon", "qubes:Filecopy * work personal allow", false },
	{ "service_at_word", "@anyvm * work personal allow", false },
	{ "star_service_star_argument", "* * work personal deny", true },
	{ "star_service_with_argument", "* +arg work personal allow", false },
	{ "star_service_with_empty_argument", "* + work personal allow", false },
	{ "argument_empty", "qubes.Test + work personal allow", true },
	{ "argument_word", "qubes.Test +arg work personal allow", true },
	{ "argument_with_plus", "qubes.Test +a+b work personal allow", true },
	{ "argument_double_plus", "qubes.Test ++ work personal allow", true },
	{ "argument_charset", "qubes.Test +a.b_c-D9 work personal allow", true },
	{ "argument_without_plus", "qubes.Test arg work personal allow", false },
	{ "argument_with_slash", "qubes.Test +a/b work personal allow", false },
	{ "argument_with_colon", "qubes.Test +a:b work personal allow", false },
	{ "argument_star_after_plus", "qubes.Test +* work personal allow", false },
	{ "argument_star_glued", "qubes.Test *arg work personal allow", false },
};

static const struct line_case field_cases[] = {
	{ "one_field", "qubes.Test", false },
	{ "two_fields", "qubes.Test *", false },
	{ "three_fields", "qubes.Test * work", false },
	{ "four_fields", "qubes.Test * work personal", false },
};

static const struct line_case directive_cases[] = {
	{ "compat_4_0", "!compat-4.0", false },
	{ "unknown_directive", "!frobnicate x", false },
	{ "bare_bang", "!", false },
	{ "include_without_path", "!include", false },
	{ "include_two_paths", "!include a b", false },
	{ "include_dir_without_path", "!include-dir", false },
	{ "include_dir_two_paths", "!include-dir a b", false },
	{ "include_service_two_params", "!include-service qubes.Test *", false },
	{ "include_service_four_params", "!include-service qubes.Test * a b", false },
	/* include_root is NULL: an include has nothing to be resolved against */
	{ "include_without_root", "!include other.policy", false },
};

static void test_line(gconstpointer data)
{
	const struct line_case *c = data;
	g_autofree char *text = g_strconcat(c->line, "\n", NULL);

	if (c->valid) {
		expect_valid(text);
	} else {
		expect_invalid(text, strlen(text), 1);
	}
}

static void test_wrong_field_count_says_so(gconstpointer data)
{
	const struct line_case *c = data;
	g_autofree char *text = g_strconcat(c->line, "\n", NULL);
	g_autofree char *msg = expect_invalid_at(text, strlen(text), 1);

	assert_contains(msg, "wrong number of fields");
}

/* ---- Lengths, built at run time ---------------------------------------- */

static void test_service_length_limit(void)
{
	g_autofree char *max = g_strnfill(POL_SERVICE_MAX, 's');
	g_autofree char *over = g_strnfill(POL_SERVICE_MAX + 1, 's');
	g_autofree char *ok = g_strconcat(max, " * work personal allow\n", NULL);
	g_autofree char *bad = g_strconcat(over, " * work personal allow\n", NULL);

	expect_valid(ok);
	expect_invalid(bad, strlen(bad), 1);
}

/* POL_ARGUMENT_MAX counts the leading '+'. */
static void test_argument_length_limit(void)
{
	g_autofree char *max = g_strnfill(POL_ARGUMENT_MAX - 1, 'a');
	g_autofree char *over = g_strnfill(POL_ARGUMENT_MAX, 'a');
	g_autofree char *ok = g_strconcat("qubes.Test +", max,
					  " work personal allow\n", NULL);
	g_autofree char *bad = g_strconcat("qubes.Test +", over,
					   " work personal allow\n", NULL);

	expect_valid(ok);
	expect_invalid(bad, strlen(bad), 1);
}

/* ---- Comments and whitespace ------------------------------------------ */

static void test_comments_and_blank_lines_are_not_rules(void)
{
	const char *text =
		"# a comment\n"
		"\n"
		"   \n"
		"\t\n"
		"   # an indented comment\n"
		"#qubes.Test * work personal permit\n"
		"qubes.Test * work personal allow\n"
		"# trailing\n";
	g_autoptr(pol_policy) p = load(text, strlen(text));

	log_errors(p);
	g_assert_true(pol_policy_is_valid(p));
	g_assert_cmpuint(pol_policy_rule_count(p), ==, 1);
}

static void test_whitespace_separates_and_is_stripped(void)
{
	const char *text =
		"  qubes.Test\t*   work\t\tpersonal  allow   target=vault  \n"
		"\tqubes.Other * work personal deny\t\n";
	g_autoptr(pol_policy) p = load(text, strlen(text));

	log_errors(p);
	g_assert_true(pol_policy_is_valid(p));
	g_assert_cmpuint(pol_policy_rule_count(p), ==, 2);
}

/* A CR before the newline is trailing whitespace. */
static void test_crlf_line_endings_are_stripped(void)
{
	const char *text =
		"# comment\r\n"
		"qubes.Test * work personal allow\r\n"
		"qubes.Other * work personal deny notify=no\r\n";
	g_autoptr(pol_policy) p = load(text, strlen(text));

	log_errors(p);
	g_assert_true(pol_policy_is_valid(p));
	g_assert_cmpuint(pol_policy_rule_count(p), ==, 2);
}

static void test_empty_text_is_valid(void)
{
	g_autoptr(pol_policy) p = load("", 0);

	g_assert_true(pol_policy_is_valid(p));
	g_assert_cmpuint(pol_policy_rule_count(p), ==, 0);
	g_assert_cmpuint(pol_policy_error_count(p), ==, 0);
}

static void test_last_line_without_newline(void)
{
	const char *good = "qubes.Test * work personal allow";
	const char *bad = "qubes.Test * work personal allow\nqubes.Test * work";
	g_autoptr(pol_policy) p = load(good, strlen(good));

	g_assert_true(pol_policy_is_valid(p));
	g_assert_cmpuint(pol_policy_rule_count(p), ==, 1);
	expect_invalid(bad, strlen(bad), 2);
}

/* ---- Error reporting ---------------------------------------------------- */

static void test_error_names_file_and_line(void)
{
	const char *text =
		"# comment\n"
		"\n"
		"qubes.Test * work personal permit\n";

	expect_invalid(text, strlen(text), 3);
}

static void test_error_uses_given_name(void)
{
	const char *text = "qubes.Test * work personal permit\n";
	g_autoptr(pol_policy) p = pol_policy_load_string("30-user.policy", text,
							 strlen(text), NULL);

	g_assert_false(pol_policy_is_valid(p));
	g_assert_cmpuint(pol_policy_error_count(p), >=, 1);
	if (pol_policy_error_count(p) >= 1)
		assert_has_prefix(pol_policy_error(p, 0), "30-user.policy:1: ");
}

static void test_every_error_is_reported_in_order(void)
{
	const char *text =
		"qubes.Test * work personal allow\n"
		"qubes.Test * work personal permit\n"
		"qubes.Test * work vault deny\n"
		"qubes.Test * @anyvmm personal deny\n"
		"qubes.Test * work @dispvm allow\n";
	g_autoptr(pol_policy) p = load(text, strlen(text));

	g_assert_false(pol_policy_is_valid(p));
	g_assert_cmpuint(pol_policy_error_count(p), ==, 2);
	if (pol_policy_error_count(p) != 2) {
		log_errors(p);
		return;
	}
	assert_has_prefix(pol_policy_error(p, 0), "test.policy:2: ");
	assert_has_prefix(pol_policy_error(p, 1), "test.policy:4: ");
}

static void test_error_suggests_close_token(void)
{
	const char *text = "qubes.Test * @anyvmm personal deny\n";
	g_autofree char *msg = expect_invalid_at(text, strlen(text), 1);

	assert_contains(msg, "@anyvmm");
	assert_contains(msg, "did you mean");
	if (msg != NULL && strstr(msg, "did you mean") != NULL)
		assert_contains(strstr(msg, "did you mean"), "@anyvm");
}

static void test_compat_4_0_error_names_directive(void)
{
	const char *text = "!compat-4.0\n";
	g_autofree char *msg = expect_invalid_at(text, strlen(text), 1);

	assert_contains(msg, "compat-4.0");
}

static void test_nul_byte_is_error(void)
{
	static const char text[] = "qubes.Test * work personal allow\n\0\n";
	g_autoptr(pol_policy) p = load(text, sizeof(text) - 1);

	g_assert_false(pol_policy_is_valid(p));
	g_assert_cmpuint(pol_policy_error_count(p), >=, 1);
	if (pol_policy_error_count(p) >= 1)
		assert_has_prefix(pol_policy_error(p, 0), "test.policy");
}

/* Past POL_ERRORS_MAX the messages may be dropped, but the policy must stay
 * invalid and the kept ones must be the first ones. */
static void test_many_errors_keep_policy_invalid(void)
{
	GString *text = g_string_new(NULL);
	g_autoptr(pol_policy) p = NULL;

	for (unsigned i = 0; i < POL_ERRORS_MAX + 5; i++)
		g_string_append(text, "qubes.Test * work personal permit\n");
	p = load(text->str, text->len);
	g_string_free(text, TRUE);

	g_assert_false(pol_policy_is_valid(p));
	g_assert_cmpuint(pol_policy_error_count(p), >=, POL_ERRORS_MAX);
	if (pol_policy_error_count(p) < POL_ERRORS_MAX)
		return;
	assert_has_prefix(pol_policy_error(p, 0), "test.policy:1: ");
	assert_has_prefix(pol_policy_error(p, POL_ERRORS_MAX - 1),
			  "test.policy:1000: ");
}

static void test_valid_policy_counts_rules_not_comments(void)
{
	const char *text =
		"# header\n"
		"qubes.A * work personal allow\n"
		"\n"
		"qubes.B * @anyvm @dispvm allow\n"
		"qubes.C +x * @adminvm ask default_target=dom0\n";
	g_autoptr(pol_policy) p = load(text, strlen(text));

	log_errors(p);
	g_assert_true(pol_policy_is_valid(p));
	g_assert_cmpuint(pol_policy_error_count(p), ==, 0);
	g_assert_cmpuint(pol_policy_rule_count(p), ==, 3);
}

/* Fail closed: one bad line makes even the good rules ineffective. */
static void test_invalid_policy_denies_everything(void)
{
	const char *text =
		"qubes.Test * work personal allow\n"
		"* * @anyvm @anyvm allow\n"
		"qubes.Test * work personal frobnicate\n";
	static const struct pol_vm_info vms[] = {
		{ .name = "work", .cls = POL_CLASS_APPVM, .running = true },
		{ .name = "personal", .cls = POL_CLASS_APPVM, .running = true },
	};
	g_autoptr(pol_system) sys = pol_system_create();
	g_autoptr(pol_policy) p = load(text, strlen(text));
	struct pol_request req = {
		.service = "qubes.Test",
		.argument = "+",
		.source = "work",
		.target = "personal",
	};
	struct pol_decision d;
	g_autofree char *line = NULL;

	for (size_t i = 0; i < G_N_ELEMENTS(vms); i++) {
		GError *error = NULL;

		g_assert_true(pol_system_add_vm(sys, &vms[i], &error));
		g_assert_no_error(error);
	}
	g_assert_true(pol_system_check(sys, NULL));
	g_assert_false(pol_policy_is_valid(p));

	memset(&d, 0, sizeof(d));
	g_assert_false(pol_policy_evaluate(p, sys, &req, &d));
	g_assert_cmpint(d.action, ==, POL_ACTION_DENY);
	g_assert_cmpint(d.reason, ==, POL_DENY_POLICY_INVALID);
	line = pol_decision_format(&d);
	g_assert_cmpstr(line, ==, "deny");
	pol_decision_finish(&d);
}

/* ---- Query syntax ------------------------------------------------------- */

struct query_case {
	const char *text;
	bool valid;
};

static const struct query_case service_queries[] = {
	{ "qubes.Filecopy", true },
	{ "A", true },
	{ "my_Service-1.x", true },
	{ "", false },
	{ "qubes+Filecopy", false },
	{ "qubes/Filecopy", false },
	{ "qubes Filecopy", false },
	{ "qubes:Filecopy", false },
};

static const struct query_case argument_queries[] = {
	{ "+", true },
	{ "+foo", true },
	{ "+a+b", true },
	{ "+a.b_c-D9", true },
	{ "", false },
	{ "foo", false },
	{ "*", false },
	{ "+a/b", false },
	{ "+a b", false },
	{ "+a:b", false },
};

static void test_service_queries(void)
{
	g_autofree char *max = g_strnfill(POL_SERVICE_MAX, 's');
	g_autofree char *over = g_strnfill(POL_SERVICE_MAX + 1, 's');

	for (size_t i = 0; i < G_N_ELEMENTS(service_queries); i++) {
		const struct query_case *q = &service_queries[i];

		if (pol_service_is_valid(q->text) != q->valid)
			g_test_fail_printf("pol_service_is_valid(\"%s\") != %d",
					   q->text, q->valid);
	}
	g_assert_true(pol_service_is_valid(max));
	g_assert_false(pol_service_is_valid(over));
}

static void test_argument_queries(void)
{
	g_autofree char *max = g_strnfill(POL_ARGUMENT_MAX, 'a');
	g_autofree char *over = g_strnfill(POL_ARGUMENT_MAX + 1, 'a');

	for (size_t i = 0; i < G_N_ELEMENTS(argument_queries); i++) {
		const struct query_case *q = &argument_queries[i];

		if (pol_argument_is_valid(q->text) != q->valid)
			g_test_fail_printf("pol_argument_is_valid(\"%s\") != %d",
					   q->text, q->valid);
	}
	/* the '+' is part of the count */
	max[0] = '+';
	over[0] = '+';
	g_assert_true(pol_argument_is_valid(max));
	g_assert_false(pol_argument_is_valid(over));
}

/* ---- Registration ------------------------------------------------------- */

static void add_line_cases(const char *prefix, const struct line_case *cases,
			   size_t n, GTestDataFunc func)
{
	for (size_t i = 0; i < n; i++) {
		g_autofree char *path = g_strconcat(prefix, cases[i].name, NULL);

		g_test_add_data_func(path, &cases[i], func);
	}
}

int main(int argc, char **argv)
{
	size_t n_tokens = G_N_ELEMENTS(token_cases) * G_N_ELEMENTS(columns);
	struct token_test *token_tests = g_new0(struct token_test, n_tokens);
	size_t k = 0;
	int ret;

	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();

	for (size_t c = 0; c < G_N_ELEMENTS(columns); c++) {
		for (size_t i = 0; i < G_N_ELEMENTS(token_cases); i++) {
			g_autofree char *name = g_strdup(token_cases[i].token);
			g_autofree char *path = NULL;

			/* '/' would nest the test path */
			g_strdelimit(name, "/", '_');
			path = g_strdup_printf("/policy/parse/token/%s/%02zu-%s",
					       columns[c].name, i, name);
			token_tests[k].tc = &token_cases[i];
			token_tests[k].col = &columns[c];
			g_test_add_data_func(path, &token_tests[k],
					     test_token_in_column);
			k++;
		}
	}

	add_line_cases("/policy/parse/action/", action_cases,
		       G_N_ELEMENTS(action_cases), test_line);
	add_line_cases("/policy/parse/name/", name_cases, G_N_ELEMENTS(name_cases),
		       test_line);
	add_line_cases("/policy/parse/fields/", field_cases,
		       G_N_ELEMENTS(field_cases), test_wrong_field_count_says_so);
	add_line_cases("/policy/parse/directive/", directive_cases,
		       G_N_ELEMENTS(directive_cases), test_line);

	g_test_add_func("/policy/parse/name/service_length_limit",
			test_service_length_limit);
	g_test_add_func("/policy/parse/name/argument_length_limit",
			test_argument_length_limit);
	g_test_add_func("/policy/parse/lines/comments_and_blank_lines_are_not_rules",
			test_comments_and_blank_lines_are_not_rules);
	g_test_add_func("/policy/parse/lines/whitespace_separates_and_is_stripped",
			test_whitespace_separates_and_is_stripped);
	g_test_add_func("/policy/parse/lines/crlf_line_endings_are_stripped",
			test_crlf_line_endings_are_stripped);
	g_test_add_func("/policy/parse/lines/empty_text_is_valid",
			test_empty_text_is_valid);
	g_test_add_func("/policy/parse/lines/last_line_without_newline",
			test_last_line_without_newline);
	g_test_add_func("/policy/parse/lines/valid_policy_counts_rules_not_comments",
			test_valid_policy_counts_rules_not_comments);
	g_test_add_func("/policy/parse/errors/error_names_file_and_line",
			test_error_names_file_and_line);
	g_test_add_func("/policy/parse/errors/error_uses_given_name",
			test_error_uses_given_name);
	g_test_add_func("/policy/parse/errors/every_error_is_reported_in_order",
			test_every_error_is_reported_in_order);
	g_test_add_func("/policy/parse/errors/error_suggests_close_token",
			test_error_suggests_close_token);
	g_test_add_func("/policy/parse/errors/compat_4_0_error_names_directive",
			test_compat_4_0_error_names_directive);
	g_test_add_func("/policy/parse/errors/nul_byte_is_error",
			test_nul_byte_is_error);
	g_test_add_func("/policy/parse/errors/many_errors_keep_policy_invalid",
			test_many_errors_keep_policy_invalid);
	g_test_add_func("/policy/parse/errors/invalid_policy_denies_everything",
			test_invalid_policy_denies_everything);
	g_test_add_func("/policy/parse/query/service_queries",
			test_service_queries);
	g_test_add_func("/policy/parse/query/argument_queries",
			test_argument_queries);

	ret = g_test_run();
	g_free(token_tests);
	return ret;
}
