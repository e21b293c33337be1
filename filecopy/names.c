/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The rules for names and symlink targets of qmgr.Filecopy, and the
 * escaping of what the other side wrote before it is shown.  The decoder
 * applies them to what it receives, the sender to what it is about to
 * send.
 */
#include "names.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <glib.h>

#include "format.h"

/*
 * One UTF-8 character at s (n > 0 bytes there): its length and code point,
 * or 0 if the bytes are not a well-formed character.  Overlong forms,
 * surrogates and values past U+10FFFF are not.
 */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t v, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if ((s[0] & 0xe0) == 0xc0) {
		len = 2, v = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, v = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4, v = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/*
 * Characters no name may contain: C0 and C1 controls and DEL, which act
 * on terminals; line and paragraph separators, which break lines in
 * listings; and the bidirectional-text controls, which make a name show in
 * another order than its bytes (an "exe.txt" that is a "txt.exe").
 */
static bool char_refused(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x061c ||
	       c == 0x200e || c == 0x200f || (c >= 0x2028 && c <= 0x202e) ||
	       (c >= 0x2066 && c <= 0x2069);
}

enum chars_fault {
	CHARS_OK,
	CHARS_NUL,
	CHARS_NOT_UTF8,
	CHARS_CONTROL,
	CHARS_BIDI,
};

static enum chars_fault check_chars(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		uint32_t c;
		if (u[i] == 0)
			return CHARS_NUL;
		size_t n = utf8_decode(u + i, len - i, &c);
		if (n == 0)
			return CHARS_NOT_UTF8;
		if (char_refused(c))
			return c < 0x20 || (c >= 0x7f && c <= 0x9f)
				       ? CHARS_CONTROL
				       : CHARS_BIDI;
		i += n;
	}
	return CHARS_OK;
}

static const char *const name_chars_why[] = {
	[CHARS_NUL] = "the name contains a NUL byte",
	[CHARS_NOT_UTF8] = "the name is not valid UTF-8",
	[CHARS_CONTROL] = "the name contains a control character",
	[CHARS_BIDI] = "the name contains a bidirectional-text or line "
		       "separator character",
};

static const char *const target_chars_why[] = {
	[CHARS_NUL] = "contains a NUL byte",
	[CHARS_NOT_UTF8] = "is not valid UTF-8",
	[CHARS_CONTROL] = "contains a control character",
	[CHARS_BIDI] = "contains a bidirectional-text or line separator "
		       "character",
};

static bool is_dot(const char *c, size_t len)
{
	return len == 1 && c[0] == '.';
}

static bool is_dotdot(const char *c, size_t len)
{
	return len == 2 && c[0] == '.' && c[1] == '.';
}

const char *qfc_path_check(const char *path, size_t len)
{
	if (len == 0)
		return "the name is empty";
	if (len > QFC_PATH_MAX)
		return "the name is longer than 4095 bytes";
	enum chars_fault f = check_chars(path, len);
	if (f != CHARS_OK)
		return name_chars_why[f];
	if (path[0] == '/')
		return "the name is an absolute path";

	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && path[i] != '/')
			continue;
		const char *c = path + start;
		size_t clen = i - start;
		if (clen == 0)
			return "the name has an empty component ('//' or a "
			       "'/' at the end)";
		if (is_dot(c, clen))
			return "the name has a '.' component";
		if (is_dotdot(c, clen))
			return "the name has a '..' component";
		if (clen > QFC_COMPONENT_MAX)
			return "the name has a component longer than 255 bytes";
		start = i + 1;
	}
	return NULL;
}

const char *qfc_symlink_target_check(const char *link_path,
				     const char *target, size_t len)
{
	if (len == 0)
		return "is empty";
	if (len > QFC_PATH_MAX)
		return "is longer than 4095 bytes";
	enum chars_fault f = check_chars(target, len);
	if (f != CHARS_OK)
		return target_chars_why[f];
	if (target[0] == '/')
		return "is absolute: only links that stay inside the copied "
		       "files are copied";

	/* The link's directory is (components - 1) levels below the
	 * receiving directory: that many leading '..' reach it, no more. */
	size_t up_allowed = 0;
	for (const char *p = link_path; *p; p++)
		if (*p == '/')
			up_allowed++;
	bool seen_name = false;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && target[i] != '/')
			continue;
		const char *c = target + start;
		size_t clen = i - start;
		start = i + 1;
		if (clen == 0)
			return "has an empty component ('//' or a '/' at the "
			       "end)";
		if (is_dot(c, clen))
			return "has a '.' component";
		if (clen > QFC_COMPONENT_MAX)
			return "has a component longer than 255 bytes";
		if (!is_dotdot(c, clen)) {
			seen_name = true;
			continue;
		}
		/* After a name, '..' would climb out of wherever that name
		 * leads, and the name may be a symlink elsewhere. */
		if (seen_name)
			return "has '..' after a name: only leading '..' are "
			       "allowed, so the link cannot climb out through "
			       "another link";
		if (up_allowed == 0)
			return "leads out of the copied files (too many '..' "
			       "for the link's depth)";
		up_allowed--;
	}
	return NULL;
}

/* Above this many output bytes an escaped name is cut short: messages
 * have room for about two names and the words around them. */
#define ESCAPE_NAME_MAX 160

/* Escapes what could act on a terminal or mislead a reader; in names also
 * the backslash, so that the escapes cannot be forged. */
static char *escape(const unsigned char *u, size_t len, bool name,
		    size_t max)
{
	GString *out = g_string_sized_new(MIN(len, max) + 4);

	for (size_t i = 0; i < len;) {
		if (out->len >= max) {
			g_string_append(out, "...");
			break;
		}
		uint32_t c;
		size_t n = utf8_decode(u + i, len - i, &c);
		if (n == 0 || char_refused(c) || (name && c == '\\')) {
			g_string_append_printf(out, "\\x%02x", u[i]);
			i++;
			continue;
		}
		g_string_append_len(out, (const char *)u + i, (gssize)n);
		i += n;
	}
	return g_string_free(out, FALSE);
}

char *qfc_escape(const void *bytes, size_t len)
{
	return escape(bytes, len, true, ESCAPE_NAME_MAX);
}

char *qfc_escape_message(const char *message)
{
	return escape((const unsigned char *)message, strlen(message), false,
		      2 * QFC_MESSAGE_MAX);
}
