/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "suggest.h"

#include <glib.h>

#ifdef NDEBUG
#error "tests need assertions"
#endif

static const char *const words[] = { "@anyvm", "@adminvm", "@default",
				     "@dispvm", "allow", "deny", "ask" };

struct row {
	const char *word;
	const char *want;   /* NULL: no suggestion */
};

static const struct row rows[] = {
	{ "@anyvmm", "@anyvm" },
	{ "@anyv", "@anyvm" },
	{ "alow", "allow" },
	{ "dny", "deny" },
	{ "@adminvn", "@adminvm" },
	{ "allow", NULL },          /* exact: nothing to suggest */
	{ "zzzzzz", NULL },         /* too far */
	{ "as", NULL },             /* too short to guess from */
};

static void test_suggest_table(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(rows); i++)
		g_assert_cmpstr(qm_suggest(rows[i].word, words,
					   G_N_ELEMENTS(words)),
				==, rows[i].want);
}

static void test_edit_distance(void)
{
	g_assert_cmpuint(qm_edit_distance("", ""), ==, 0);
	g_assert_cmpuint(qm_edit_distance("abc", ""), ==, 3);
	g_assert_cmpuint(qm_edit_distance("kitten", "sitting"), ==, 3);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/suggest/table", test_suggest_table);
	g_test_add_func("/suggest/edit-distance", test_edit_distance);
	return g_test_run();
}
