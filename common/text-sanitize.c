/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sanitizer of guest-controlled text (text-sanitize.h).  It decodes
 * UTF-8 itself, strictly, so that what it keeps is exactly what it
 * checked; it reads only the `len` bytes it is given.
 */
#include "text-sanitize.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Decodes one UTF-8 character of p[0, len); returns its length, or 0 for
 * an invalid, overlong, surrogate, out-of-range or truncated sequence. */
static size_t utf8_next(const uint8_t *p, size_t len, uint32_t *cp)
{
	uint32_t c = p[0], min;
	size_t n;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		n = 2, c &= 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, c &= 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Characters that change how the text around them is shown, or are not
 * shown at all: bidi embeddings, overrides, isolates and marks (they could
 * make "work" read as another name, or hide a title's "[vm]" prefix),
 * zero-width characters, the byte order mark, interlinear annotation, tag
 * characters, variation selectors. */
static bool invisible(uint32_t c)
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

/* Characters that would break a line or act on a terminal. */
static bool control(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 ||
	       c == 0x2029;
}

char *qm_text_sanitize(const char *untrusted, gssize len, size_t max_chars,
		       unsigned int flags)
{
	const uint8_t *p = (const uint8_t *)untrusted;
	bool mark = flags & QM_TEXT_MARK;

	if (p == NULL)
		return g_strdup("");
	size_t n = len < 0 ? strlen(untrusted) : (size_t)len;
	GString *out = g_string_sized_new(MIN(n, 4 * max_chars) + 4);
	size_t chars = 0;

	for (size_t i = 0; i < n;) {
		uint32_t c;
		size_t k = utf8_next(p + i, n - i, &c);

		if (k == 0) {
			/* one byte of a broken sequence */
			i++;
			if (!mark)
				continue;
			c = 0xfffd;
		} else {
			i += k;
			if (invisible(c))
				continue;
			if (control(c)) {
				if (!mark)
					continue;
				c = '?';
			}
		}
		if (chars == max_chars) {
			if (mark)
				g_string_append(out, "\u2026");
			break;
		}
		g_string_append_unichar(out, c);
		chars++;
	}
	return g_string_free(out, FALSE);
}
