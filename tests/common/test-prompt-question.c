/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* common/prompt-question.c: the prompt-ask decoder both prompt agents
 * (qvm-prompt, qmgr-tray) use, from a table of events. */
#include "prompt-question.h"

#include <string.h>
#include <gio/gio.h>

#ifdef NDEBUG
#error "tests need assertions"
#endif

struct ask_case {
	const char *name;
	const char *props;      /* GVariant text format */
	const char *error;      /* a part of the message; NULL: accepted */
};

#define GOOD_REST "'source': <'work'>, 'service': <'qmgr.Filecopy'>, " \
		  "'argument': <'+'>, 'timeout': <uint32 60>"

static const struct ask_case ask_cases[] = {
	{ "accepts/complete",
	  "{'id': <uint32 7>, " GOOD_REST ", 'targets': <['a', 'b']>, "
	  "'default_target': <'b'>}", NULL },
	{ "accepts/no-default",
	  "{'id': <uint32 7>, " GOOD_REST ", 'targets': <['a']>, "
	  "'default_target': <''>}", NULL },
	{ "accepts/unknown-property-ignored",
	  "{'id': <uint32 7>, " GOOD_REST ", 'targets': <['a']>, "
	  "'default_target': <''>, 'later': <true>}", NULL },
	{ "refuses/id-zero",
	  "{'id': <uint32 0>, " GOOD_REST ", 'targets': <['a']>, "
	  "'default_target': <''>}", "'id'" },
	{ "refuses/id-wrong-type",
	  "{'id': <int32 7>, " GOOD_REST ", 'targets': <['a']>, "
	  "'default_target': <''>}", "'id'" },
	{ "refuses/no-source",
	  "{'id': <uint32 7>, 'service': <'s'>, 'argument': <'+'>, "
	  "'timeout': <uint32 60>, 'targets': <['a']>, "
	  "'default_target': <''>}", "'source'" },
	{ "refuses/service-wrong-type",
	  "{'id': <uint32 7>, 'source': <'w'>, 'service': <uint32 1>, "
	  "'argument': <'+'>, 'timeout': <uint32 60>, 'targets': <['a']>, "
	  "'default_target': <''>}", "'service'" },
	{ "refuses/no-default-target",
	  "{'id': <uint32 7>, " GOOD_REST ", 'targets': <['a']>}",
	  "'default_target'" },
	{ "refuses/no-timeout",
	  "{'id': <uint32 7>, 'source': <'w'>, 'service': <'s'>, "
	  "'argument': <'+'>, 'targets': <['a']>, 'default_target': <''>}",
	  "'timeout'" },
	{ "refuses/targets-a-string",
	  "{'id': <uint32 7>, " GOOD_REST ", 'targets': <'a'>, "
	  "'default_target': <''>}", "'targets'" },
	{ "refuses/no-targets",
	  "{'id': <uint32 7>, " GOOD_REST ", 'targets': <@as []>, "
	  "'default_target': <''>}", "0 targets" },
	{ "refuses/empty-target",
	  "{'id': <uint32 7>, " GOOD_REST ", 'targets': <['a', '']>, "
	  "'default_target': <''>}", "empty target" },
	{ "refuses/default-not-a-target",
	  "{'id': <uint32 7>, " GOOD_REST ", 'targets': <['a', 'b']>, "
	  "'default_target': <'c'>}", "not one of its targets" },
	{ "refuses/not-a-dict", "('id', <uint32 7>)", "a{sv}" },
};

static void test_ask(gconstpointer data)
{
	const struct ask_case *c = data;
	g_autoptr(GError) err = NULL;
	g_autoptr(GVariant) props = g_variant_ref_sink(
		g_variant_new_parsed(c->props));
	g_autoptr(qm_prompt_question) q = qm_prompt_question_parse(props,
								   &err);

	if (c->error == NULL) {
		g_assert_no_error(err);
		g_assert_nonnull(q);
		return;
	}
	g_assert_null(q);
	g_assert_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
	if (strstr(err->message, c->error) == NULL)
		g_error("'%s' does not name %s", err->message, c->error);
}

/* What an accepted question holds: the strings as sent, the targets in
 * qmgrd's order, "" as no default. */
static void test_fields(void)
{
	g_autoptr(GVariant) props = g_variant_ref_sink(g_variant_new_parsed(
		"{'id': <uint32 9>, 'source': <'work'>, 'service': <'test.Ask'>,"
		" 'argument': <'+x\u202e'>, 'targets': <['b', 'a']>,"
		" 'default_target': <'a'>, 'timeout': <uint32 30>}"));
	g_autoptr(qm_prompt_question) q = qm_prompt_question_parse(props,
								   NULL);

	g_assert_nonnull(q);
	g_assert_cmpuint(q->id, ==, 9);
	g_assert_cmpstr(q->untrusted_source, ==, "work");
	g_assert_cmpstr(q->untrusted_service, ==, "test.Ask");
	g_assert_cmpstr(q->untrusted_argument, ==, "+x\xe2\x80\xae");
	g_assert_cmpuint(q->ntargets, ==, 2);
	g_assert_cmpstr(q->untrusted_targets[0], ==, "b");
	g_assert_cmpstr(q->untrusted_targets[1], ==, "a");
	g_assert_null(q->untrusted_targets[2]);
	g_assert_cmpstr(q->untrusted_default, ==, "a");
	g_assert_cmpuint(q->timeout_s, ==, 30);
}

static GVariant *ask_with(const char *source, const char *const *targets,
			  guint32 timeout)
{
	GVariantDict d;

	g_variant_dict_init(&d, NULL);
	g_variant_dict_insert(&d, "id", "u", 3u);
	g_variant_dict_insert(&d, "source", "s", source);
	g_variant_dict_insert(&d, "service", "s", "s");
	g_variant_dict_insert(&d, "argument", "s", "");
	g_variant_dict_insert(&d, "targets", "^as", targets);
	g_variant_dict_insert(&d, "default_target", "s", "");
	g_variant_dict_insert(&d, "timeout", "u", timeout);
	return g_variant_ref_sink(g_variant_dict_end(&d));
}

/* The caps: QM_PROMPT_MAX_STRING bytes pass, one more does not; likewise
 * QM_PROMPT_MAX_TARGETS targets; a timeout is cut to a day. */
static void test_limits(void)
{
	static const char *const one[] = { "a", NULL };
	g_autofree char *max = g_strnfill(QM_PROMPT_MAX_STRING, 'x');
	g_autofree char *over = g_strnfill(QM_PROMPT_MAX_STRING + 1, 'x');
	g_autoptr(GPtrArray) many = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) err = NULL;

	g_autoptr(GVariant) a = ask_with(max, one, G_MAXUINT32);
	g_autoptr(qm_prompt_question) qa = qm_prompt_question_parse(a, NULL);
	g_assert_nonnull(qa);
	g_assert_cmpuint(qa->timeout_s, ==, QM_PROMPT_MAX_TIMEOUT_S);

	g_autoptr(GVariant) b = ask_with(over, one, 1);
	g_assert_null(qm_prompt_question_parse(b, &err));
	g_assert_nonnull(strstr(err->message, "'source' longer"));
	g_clear_error(&err);

	for (int i = 0; i < QM_PROMPT_MAX_TARGETS; i++)
		g_ptr_array_add(many, g_strdup_printf("t%d", i));
	g_ptr_array_add(many, NULL);
	g_autoptr(GVariant) c = ask_with(
		"w", (const char *const *)many->pdata, 1);
	g_autoptr(qm_prompt_question) qc = qm_prompt_question_parse(c, NULL);
	g_assert_nonnull(qc);
	g_assert_cmpuint(qc->ntargets, ==, QM_PROMPT_MAX_TARGETS);

	g_ptr_array_index(many, QM_PROMPT_MAX_TARGETS) = g_strdup("one-more");
	g_ptr_array_add(many, NULL);
	g_autoptr(GVariant) d = ask_with(
		"w", (const char *const *)many->pdata, 1);
	g_assert_null(qm_prompt_question_parse(d, &err));
	g_assert_nonnull(strstr(err->message, "257 targets"));
	g_clear_error(&err);

	char *long_target[] = { over, NULL };
	g_autoptr(GVariant) e = ask_with("w", (const char *const *)long_target,
					 1);
	g_assert_null(qm_prompt_question_parse(e, &err));
	g_assert_nonnull(strstr(err->message, "longer than"));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(ask_cases); i++) {
		g_autofree char *path = g_strdup_printf(
			"/prompt-question/%s", ask_cases[i].name);
		g_test_add_data_func(path, &ask_cases[i], test_ask);
	}
	g_test_add_func("/prompt-question/fields", test_fields);
	g_test_add_func("/prompt-question/limits", test_limits);
	return g_test_run();
}
