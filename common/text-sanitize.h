/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Text a guest controls (a window title, a call's service and argument, a
 * qube's state detail) made safe to show on the host: in a title bar, a
 * menu label or a notification.  A qube must not be able to disguise what
 * it shows or asks for: no invalid UTF-8, no control characters, no line
 * breaks, no bidirectional overrides that reorder the text, no invisible
 * characters, and no text long enough to push the facts out of view.
 * gui-proxy's decoder (titles) and qmgr-tray use this one sanitizer.
 */
#pragma once

#include <stddef.h>
#include <glib.h>

enum qm_text_flags {
	/* What is removed leaves no trace: invalid bytes, control and
	 * line-separator characters are dropped; a cut text just ends. */
	QM_TEXT_DROP = 0,
	/* What is removed is shown: each invalid byte as U+FFFD, each control
	 * or line-separator character as '?', a cut as "…" after the last
	 * character kept.  For text a user reads as a message. */
	QM_TEXT_MARK = 1 << 0,
};

/*
 * `untrusted` (any bytes, `len` of them or up to a NUL when len < 0; NULL
 * gives "") as valid UTF-8 of at most `max_chars` characters (plus the "…"
 * of QM_TEXT_MARK).  Always removed: bidirectional embeddings, overrides,
 * isolates and marks (U+061C, U+200E, U+200F, U+202A..U+202E,
 * U+2066..U+2069), zero-width characters, U+FEFF, U+00AD, U+034F, U+180E,
 * interlinear annotations, variation selectors, tag characters and every
 * other character Unicode calls a format character.  Control characters
 * (C0 including NUL, DEL, C1) and U+2028/U+2029 are dropped or marked as
 * `flags` says; so are invalid, overlong, surrogate and out-of-range UTF-8
 * sequences, byte by byte.  Never returns NULL.
 */
char *qm_text_sanitize(const char *untrusted, gssize len, size_t max_chars,
		       unsigned int flags);
