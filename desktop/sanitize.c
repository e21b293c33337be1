/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Guest-controlled strings (a call's service and argument, a qube's state
 * detail) reach the user through notifications and menu labels.  A qube
 * must not be able to disguise its request: no control characters, no
 * bidirectional overrides that reorder what is shown, no invisible
 * characters, no markup, and no text long enough to push the facts out of
 * view.
 */
#include "tray.h"

#include <string.h>

/* Characters that change how the text around them is shown, or are not
 * shown at all: bidi embeddings, overrides, isolates and marks, zero-width
 * characters, the byte order mark, interlinear annotation, tag characters,
 * variation selectors. */
static bool invisible(gunichar c)
{
	if (c == 0x061c || c == 0x200e || c == 0x200f || c == 0x180e ||
	    c == 0xfeff || c == 0x00ad || c == 0x034f)
		return true;
	if ((c >= 0x200b && c <= 0x200d) || (c >= 0x202a && c <= 0x202e) ||
	    (c >= 0x2060 && c <= 0x206f) || (c >= 0xfff9 && c <= 0xfffb) ||
	    (c >= 0xfe00 && c <= 0xfe0f) || (c >= 0xe0000 && c <= 0xe007f) ||
	    (c >= 0xe0100 && c <= 0xe01ef))
		return true;
	/* Anything else Unicode calls a format character. */
	return g_unichar_type(c) == G_UNICODE_FORMAT;
}

char *qt_sanitize(const char *untrusted, size_t max)
{
	if (untrusted == NULL)
		return g_strdup("");
	g_autofree char *valid = g_utf8_make_valid(untrusted, -1);
	GString *out = g_string_new(NULL);
	size_t chars = 0;

	for (const char *p = valid; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (invisible(c))
			continue;
		if (chars == max) {
			g_string_append(out, "\u2026");
			break;
		}
		if (c < 0x20 || (c >= 0x7f && c < 0xa0) || c == 0x2028 ||
		    c == 0x2029)
			g_string_append_c(out, '?');
		else
			g_string_append_unichar(out, c);
		chars++;
	}
	return g_string_free(out, false);
}

char *qt_markup_escape(const char *text)
{
	GString *out = g_string_new(NULL);

	for (const char *p = text; *p; p++) {
		switch (*p) {
		case '&': g_string_append(out, "&amp;"); break;
		case '<': g_string_append(out, "&lt;"); break;
		case '>': g_string_append(out, "&gt;"); break;
		default: g_string_append_c(out, *p); break;
		}
	}
	return g_string_free(out, false);
}

char *qt_menu_escape(const char *text)
{
	GString *out = g_string_new(NULL);

	for (const char *p = text; *p; p++) {
		if (*p == '_')
			g_string_append_c(out, '_');
		g_string_append_c(out, *p);
	}
	return g_string_free(out, false);
}
