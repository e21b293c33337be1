/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one place where messages from a guest's GUI channel are decoded and
 * checked (common/gui-proto.h; docs/gui.md, "Checks on guest messages").
 *
 * A struct gp_decoder frames the byte stream incrementally and keeps the
 * per-guest state the checks need: the guest's window ids, their buffer
 * sizes, the ids awaiting DESTROYED, the memory its buffers claim.  What
 * it hands out (struct gp_guest_msg) has passed every check; the caller
 * may use it without further validation.  Any violation is final: the
 * decoder stays in the violation state and the caller drops the guest.
 *
 * Nothing here touches Wayland or sockets, so the decoder can be unit
 * tested and fuzzed alone.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gui-proto.h"

/* Total bytes (width * height * 4, summed over live windows) one guest's
 * window buffers may claim.  gui-proxy keeps about three times this per
 * guest (its own copy and two wl_shm buffers per window). */
#define GP_MAX_BUFFER_BYTES QM_GUI_MAX_BUFFER_BYTES
/* Sanitized lengths, in Unicode characters (titles) and bytes (app_ids). */
#define GP_MAX_TITLE_CHARS 128u
#define GP_MAX_APP_ID_CHARS 64u
/* A popup's offset from its parent, either way. */
#define GP_MAX_POPUP_OFFSET 16384

enum gp_decode_status {
	GP_DECODE_NEED_MORE,    /* all input consumed, no complete message */
	GP_DECODE_MESSAGE,      /* *out holds a checked message */
	GP_DECODE_VIOLATION,    /* gp_decoder_violation() says why */
};

/* A checked guest message.  Pointers (text, pixels, data) point into the
 * decoder or into the caller's input and stay valid until the next call
 * of gp_decoder_feed() (and as long as that input). */
struct gp_guest_msg {
	enum qm_gui_msg type;
	uint32_t window;        /* 0 for HELLO and CLIPBOARD_DATA */
	union {
		struct {
			uint32_t version;       /* spoken: 1..QM_GUI_VERSION */
		} hello;
		struct {
			uint32_t parent;        /* live window, or 0 */
			bool popup, alpha;
			bool grab;              /* popups, version 2 */
			int32_t x, y;           /* popups: within +-GP_MAX_POPUP_OFFSET */
			uint32_t width, height; /* 1..QM_GUI_MAX_WIDTH/HEIGHT */
		} create;
		/* TITLE: valid UTF-8, no control or bidi characters, at most
		 * GP_MAX_TITLE_CHARS characters, NUL-terminated. */
		struct {
			const char *text;
		} title;
		/* APP_ID: [A-Za-z0-9._-] only, 1..GP_MAX_APP_ID_CHARS bytes,
		 * "unknown" when nothing was left, NUL-terminated. */
		struct {
			const char *text;
		} app_id;
		struct {
			uint32_t width, height; /* as create */
		} size;
		/* inside the window's current buffer; pixels holds
		 * width * height * 4 bytes, rows packed */
		struct {
			uint32_t x, y, width, height;
			const uint8_t *pixels;
		} damage;
		struct {
			uint32_t states;        /* MAXIMIZED|FULLSCREEN|MINIMIZED */
		} states;
		/* width == height == 0: hidden; else 1..QM_GUI_MAX_CURSOR,
		 * 0 <= hot < size, pixels holds width * height * 4 bytes */
		struct {
			int32_t hot_x, hot_y;
			uint32_t width, height;
			const uint8_t *pixels;
		} cursor;
		/* raw bytes, at most QM_GUI_MAX_CLIPBOARD, not checked as
		 * text (whoever pastes them decides) */
		struct {
			const uint8_t *data;
			size_t len;
		} clipboard;
		/* SHM_BUFFER (version 3): the slot
		 * [offset, offset + stride * height) lies inside the region,
		 * offset is QM_GUI_SHM_ALIGN-aligned, stride >= width * 4 and
		 * a multiple of 4, width x height and format are the
		 * window's, no slot the host holds overlaps it (it is held
		 * now, until gp_decoder_shm_release()); rects lie inside */
		struct {
			uint32_t offset, width, height, stride, format;
			uint32_t n_rects;
			struct qm_gui_rect rects[QM_GUI_MAX_SHM_RECTS];
		} shm;
	};
};

/* What the decoder knows of one of the guest's windows. */
struct gp_window_info {
	uint32_t id;
	uint32_t parent;        /* 0 for toplevels */
	bool popup;
	bool alpha;             /* CREATE_ALPHA: ARGB8888, else XRGB8888 */
	bool destroying;        /* DESTROY seen, DESTROYED not yet sent */
	uint32_t width, height; /* current buffer size */
};

struct gp_decoder;

struct gp_decoder *gp_decoder_create(void);
void gp_decoder_destroy(struct gp_decoder *d);

/*
 * Consumes bytes of data[0, len) up to and including the end of the next
 * message and sets *used to the bytes consumed.  Returns
 * GP_DECODE_MESSAGE with *out filled (call again with the rest), or
 * GP_DECODE_NEED_MORE when everything was consumed without completing a
 * message (partial messages are kept inside), or GP_DECODE_VIOLATION.
 * After a violation every call returns GP_DECODE_VIOLATION.
 */
enum gp_decode_status gp_decoder_feed(struct gp_decoder *d,
				      const uint8_t *data, size_t len,
				      size_t *used, struct gp_guest_msg *out);

/* Why the guest was refused; NULL before any violation. */
const char *gp_decoder_violation(const struct gp_decoder *d);

/* The host sent DESTROYED for `id`: the id is free again.  Returns false
 * if `id` was not awaiting DESTROYED (a bug in the caller). */
bool gp_decoder_window_release(struct gp_decoder *d, uint32_t id);

/* The host sent CLIPBOARD_REQUEST: one CLIPBOARD_DATA is now allowed
 * (an unrequested one is a violation). */
void gp_decoder_expect_clipboard(struct gp_decoder *d);

/* The guest's shared region (1..QM_GUI_MAX_SHM_SIZE bytes), before the
 * first feed: SHM_BUFFER is then allowed in version 3.  Without it, an
 * SHM_BUFFER is a violation. */
void gp_decoder_set_shm(struct gp_decoder *d, uint64_t region_size);
/* The host no longer reads the window's slot at `offset`: the guest may
 * name it again.  False if no such slot was held (a bug in the caller). */
bool gp_decoder_shm_release(struct gp_decoder *d, uint32_t window,
			    uint32_t offset);
/* Slots held over all windows. */
unsigned int gp_decoder_shm_held(const struct gp_decoder *d);
/* The version both speak (HELLO seen): the lower of the two. */
uint32_t gp_decoder_version(const struct gp_decoder *d);

/* The decoder's view of a window, or NULL if the id is not in use. */
const struct gp_window_info *gp_decoder_window(const struct gp_decoder *d,
					       uint32_t id);
/* Live windows plus those awaiting DESTROYED. */
unsigned int gp_decoder_window_count(const struct gp_decoder *d);
/* Bytes the live windows' buffers claim (<= GP_MAX_BUFFER_BYTES). */
uint64_t gp_decoder_buffer_bytes(const struct gp_decoder *d);

/*
 * Sanitizers, public for the unit tests and the fuzzer.  Both take
 * untrusted bytes (not NUL-terminated) and return a new string.
 *
 * Title: common/text-sanitize.h's qm_text_sanitize, QM_TEXT_DROP: invalid
 * UTF-8 sequences, C0, DEL, C1, U+2028/U+2029, the bidi controls and the
 * invisible (format) characters dropped; cut at GP_MAX_TITLE_CHARS
 * characters.
 * App_id: only ASCII letters, digits, '.', '_' and '-' kept; cut at
 * GP_MAX_APP_ID_CHARS; "unknown" if empty.
 */
char *gp_sanitize_title(const uint8_t *untrusted, size_t len);
char *gp_sanitize_app_id(const uint8_t *untrusted, size_t len);
