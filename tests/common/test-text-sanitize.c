/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* common/text-sanitize.c, the one sanitizer of guest text (gui-proxy's
 * titles, the tray's labels and notifications), in both modes, from a
 * table.  gui-proxy's title cases stay in tests/gui/test-guest-decode.c. */
#include "text-sanitize.h"

#include <string.h>

#ifdef NDEBUG
#error "tests need assertions"
#endif

struct sanitize_case {
	const char *name;
	const char *in;
	gssize len;             /* -1: up to the NUL */
	size_t max;
	unsigned int flags;
	const char *out;
};

#define M QM_TEXT_MARK
#define D QM_TEXT_DROP

static const struct sanitize_case cases[] = {
	{ "mark/plain", "qmgr.Filecopy", -1, 80, M, "qmgr.Filecopy" },
	{ "mark/null", NULL, -1, 80, M, "" },
	{ "mark/newline-and-tab", "a\nb\tc\r", -1, 80, M, "a?b?c?" },
	{ "mark/escape-sequence", "\x1b[31mred", -1, 80, M, "?[31mred" },
	{ "mark/del-and-c1", "a\x7f" "b\xc2\x9b" "c", -1, 80, M, "a?b?c" },
	{ "mark/bidi-override-removed", "work\xe2\x80\xae" "lanosrep", -1, 80,
	  M, "worklanosrep" },
	{ "mark/bidi-isolates-removed", "\xe2\x81\xa6x\xe2\x81\xa9", -1, 80,
	  M, "x" },
	{ "mark/rlm-lrm-removed", "\xe2\x80\x8fx\xe2\x80\x8e", -1, 80, M,
	  "x" },
	{ "mark/zero-width-removed", "wo\xe2\x80\x8brk\xef\xbb\xbf", -1, 80,
	  M, "work" },
	{ "mark/invalid-utf8-replaced", "a\xff" "b", -1, 80, M,
	  "a\xef\xbf\xbd" "b" },
	{ "mark/each-invalid-byte-replaced", "a\xc0\x80" "b", -1, 80, M,
	  "a\xef\xbf\xbd\xef\xbf\xbd" "b" },
	{ "mark/line-separator", "a\xe2\x80\xa8" "b", -1, 80, M, "a?b" },
	{ "mark/cut-with-ellipsis", "abcdefgh", -1, 5, M,
	  "abcde\xe2\x80\xa6" },
	{ "mark/exact-length-not-cut", "abcde", -1, 5, M, "abcde" },
	{ "mark/invisible-after-the-cut-not-a-cut", "abcde\xe2\x80\x8b", -1,
	  5, M, "abcde" },
	{ "mark/cut-counts-characters", "\xc3\xa9\xc3\xa9\xc3\xa9", -1, 2, M,
	  "\xc3\xa9\xc3\xa9\xe2\x80\xa6" },
	{ "mark/markup-kept-as-text", "<b>&", -1, 80, M, "<b>&" },
	{ "mark/embedded-nul-with-length", "a\0b", 3, 80, M, "a?b" },
	{ "mark/length-ends-the-text", "abcdef", 3, 80, M, "abc" },
	{ "drop/controls-dropped", "a\tb\nc\x1b" "d\x7f" "e\xc2\x9b" "f", -1,
	  80, D, "abcdef" },
	{ "drop/invalid-dropped", "a\xff\xc0\x80\xed\xa0\x80" "b", -1, 80, D,
	  "ab" },
	{ "drop/truncated-sequence-dropped", "ab\xe2\x82", -1, 80, D, "ab" },
	{ "drop/bidi-and-invisible-dropped",
	  "\xe2\x80\xae" "a\xe2\x81\xa6" "b\xe2\x80\x8b" "c\xd8\x9c", -1, 80,
	  D, "abc" },
	{ "drop/format-character-dropped", "a\xd8\x80" "b", -1, 80, D,
	  "ab" },     /* U+0600, a format character */
	{ "drop/cut-without-ellipsis", "abcdefgh", -1, 5, D, "abcde" },
	{ "drop/dropped-do-not-count", "\x01\x02\x03" "abc", -1, 3, D,
	  "abc" },
	{ "drop/utf8-kept", "gr\xc3\xbc\xc3\x9f \xf0\x9f\x98\x80", -1, 80, D,
	  "gr\xc3\xbc\xc3\x9f \xf0\x9f\x98\x80" },
	{ "drop/embedded-nul-dropped", "a\0b", 3, 80, D, "ab" },
};

static void test_case(gconstpointer data)
{
	const struct sanitize_case *c = data;
	g_autofree char *got = qm_text_sanitize(c->in, c->len, c->max,
						c->flags);

	g_assert_cmpstr(got, ==, c->out);
	g_assert_true(g_utf8_validate(got, -1, NULL));
}

/* Whatever the bytes, the result is valid UTF-8 within the cap and holds
 * no control, line-separator or format character. */
static void test_every_byte_pair(void)
{
	for (unsigned int flags = 0; flags <= QM_TEXT_MARK; flags++) {
		for (unsigned int i = 0; i < 65536; i++) {
			char in[4] = { (char)(i >> 8), (char)i, (char)0xbf,
				       (char)0x80 };
			g_autofree char *got = qm_text_sanitize(in, 4, 3,
								flags);

			g_assert_true(g_utf8_validate(got, -1, NULL));
			g_assert_cmpuint(g_utf8_strlen(got, -1), <=, 4);
			for (const char *p = got; *p; p = g_utf8_next_char(p)) {
				gunichar c = g_utf8_get_char(p);

				g_assert_false(c < 0x20 || (c >= 0x7f &&
							    c <= 0x9f));
				g_assert_false(c == 0x2028 || c == 0x2029);
				g_assert_cmpint(g_unichar_type(c), !=,
						G_UNICODE_FORMAT);
			}
		}
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *path = g_strdup_printf("/text-sanitize/%s",
							cases[i].name);
		g_test_add_data_func(path, &cases[i], test_case);
	}
	g_test_add_func("/text-sanitize/every-byte-pair",
			test_every_byte_pair);
	return g_test_run();
}
