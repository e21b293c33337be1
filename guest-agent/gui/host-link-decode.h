/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Decoding of host -> guest messages of common/gui-proto.h.  Pure: no
 * I/O, no state but what the caller passes, so it can be tested and
 * fuzzed alone.  The host is trusted, yet its bytes are checked like any
 * input: a stream that breaks the framing cannot be resynchronised, so
 * any violation ends the link.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gui-proto.h"

struct ga_host_msg {
	uint32_t type;          /* enum qm_gui_msg, one the host may send */
	uint32_t window;        /* non-zero exactly for per-window types */
	union {
		struct qm_gui_hello hello;
		struct qm_gui_configure configure;
		struct qm_gui_key key;
		struct qm_gui_modifiers modifiers;
		struct qm_gui_pointer pointer;
		struct qm_gui_button button;
		struct qm_gui_axis axis;
		struct qm_gui_shm_release shm_release;
	} u;
	/* KEYMAP: the text without its NUL; CLIPBOARD_SET: the bytes.
	 * Points into the caller's buffer. */
	const uint8_t *data;
	size_t data_len;
};

enum ga_decode_status {
	GA_DECODE_OK,           /* *msg filled, *consumed bytes used */
	GA_DECODE_INCOMPLETE,   /* need more bytes; nothing is wrong yet */
	GA_DECODE_INVALID,      /* *why says what; drop the link */
};

/*
 * Decodes the message at the start of buf[0, len).  hello_seen: whether
 * the host's HELLO was already decoded (it must come first, once).  A
 * header that announces an impossible length is INVALID as soon as the
 * header is complete, before any payload is awaited.
 */
enum ga_decode_status ga_host_decode(const uint8_t *buf, size_t len,
				     bool hello_seen, struct ga_host_msg *msg,
				     size_t *consumed, const char **why);
