/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The qmgr GUI protocol: a guest's compositor (guest-agent/gui/) and the
 * host's gui-proxy, over a stream of their own (a virtio-serial port
 * named QM_GUI_PORT_NAME in a VM; a unix socket in tests and benches).
 *
 * The guest is untrusted: gui-proxy decodes every message in one place
 * (gui-proxy/guest-decode.c) and checks it against the limits below
 * before anything else sees it; a violation drops that VM's GUI only.
 * The host is trusted by the guest, but the guest checks framing too.
 *
 * A message is a fixed 16-byte header followed by `length` bytes of
 * payload.  Integers are little-endian, fields naturally aligned, no
 * padding on the wire.  Fixed messages have exactly the size of their
 * struct; variable ones a fixed part followed by bytes, with a maximum
 * per type.  Window ids are chosen by the guest (not 0); an id is free
 * again only once the host has answered its DESTROY with DESTROYED.
 *
 * Pixels travel in the stream: DAMAGE carries a rectangle of the window's
 * buffer, rows packed (stride = width * 4), 32-bit little-endian ARGB8888
 * (XRGB8888 when the window is opaque).  The host keeps its own copy of
 * each window's buffer and copies the rectangle in after checking it
 * lies inside.
 *
 * Version 2 adds a second way for pixels: a shared memory region (QEMU's
 * ivshmem-doorbell device, BAR2 in the guest; on the host a sealed memfd
 * qmgrd hands to QEMU and gui-proxy as a file descriptor) into which
 * the guest copies a window's frame, and SHM_BUFFER naming where it is.
 * The host hands the region to its compositor as one wl_shm pool, so the
 * pixels are not copied on the host at all.  The host tells in its HELLO
 * (QM_GUI_HELLO_SHM) whether it has the region; the guest falls back to
 * DAMAGE when it has none, the host did not offer it, or no slot is free.
 */
#pragma once

#include <stdint.h>

#define QM_GUI_MAGIC 0x31554751u        /* "QGU1" */
#define QM_GUI_HEADER_SIZE 16u
#define QM_GUI_PORT_NAME "org.qmgr.gui"

/* Versions a peer announces in HELLO.  Both peers speak the lower of
 * the two versions announced; what a version adds may be sent only once
 * the other's HELLO announced that version (a guest's messages sent
 * before the host's HELLO arrived are version 1). */
enum qm_gui_version {
	/* 1: everything below but what a later version adds */
	QM_GUI_VERSION_1 = 1,
	/* 2: QM_GUI_CREATE_GRAB */
	QM_GUI_VERSION_2 = 2,
	/* 3: HELLO's QM_GUI_HELLO_SHM, SHM_BUFFER, SHM_RELEASE */
	QM_GUI_VERSION_3 = 3,
	QM_GUI_VERSION = QM_GUI_VERSION_3,
};

/* ---- limits (checked by the host on every guest message) ---- */
#define QM_GUI_MAX_WINDOWS 256          /* live + awaiting DESTROYED */
#define QM_GUI_MAX_WIDTH 7680u
#define QM_GUI_MAX_HEIGHT 4320u
#define QM_GUI_MAX_TITLE 1024u          /* bytes on the wire */
#define QM_GUI_MAX_APP_ID 256u
#define QM_GUI_MAX_CURSOR 256u          /* width and height */
#define QM_GUI_MAX_CLIPBOARD (1u << 20)
#define QM_GUI_MAX_KEYMAP (1u << 20)
/* All of a guest's window buffers together (width * height * 4 summed
 * over its live windows): the host refuses more, so a guest must not
 * ask for it (two full-size windows fit, not three). */
#define QM_GUI_MAX_BUFFER_BYTES (256ull << 20)
/* The shared region (version 3): at most this large (one wl_shm pool,
 * whose size is an int32_t), a slot's offset a multiple of
 * QM_GUI_SHM_ALIGN and its stride of 4, at most QM_GUI_MAX_SHM_RECTS damage rectangles per
 * SHM_BUFFER, and at most QM_GUI_MAX_SHM_HELD slots held by the host
 * at once per guest (a window needs two, one shown and one next, and
 * briefly two more of its old size after a resize; a guest at the limit
 * sends DAMAGE instead). */
#define QM_GUI_MAX_SHM_SIZE (1ull << 30)
#define QM_GUI_SHM_ALIGN 64u
#define QM_GUI_MAX_SHM_RECTS 16u
#define QM_GUI_MAX_SHM_HELD (4u * QM_GUI_MAX_WINDOWS)
/* The region's size qmgrd gives a qube (ivshmem wants a power of two). */
#define QM_GUI_SHM_DEFAULT_MIB 64u
/* The largest payload of any message: a full-size DAMAGE. */
#define QM_GUI_PAYLOAD_MAX \
	(16u + QM_GUI_MAX_WIDTH * QM_GUI_MAX_HEIGHT * 4u)

struct qm_gui_header {
	uint32_t magic;         /* QM_GUI_MAGIC */
	uint32_t type;          /* enum qm_gui_msg */
	uint32_t window;        /* 0: not about a window */
	uint32_t length;        /* payload bytes after the header */
};
_Static_assert(sizeof(struct qm_gui_header) == QM_GUI_HEADER_SIZE,
	       "GUI header is 16 bytes");

enum qm_gui_msg {
	/* ---- both ways ---- */
	/* first message each way: struct qm_gui_hello; window 0 */
	QM_GUI_HELLO = 1,

	/* ---- guest -> host (1xx) ---- */
	/* a new window: struct qm_gui_create; `window` is the new id */
	QM_GUI_CREATE = 100,
	/* the window is gone (no payload); the host answers DESTROYED */
	QM_GUI_DESTROY = 101,
	/* the window's title: UTF-8, at most QM_GUI_MAX_TITLE bytes; the
	 * host drops invalid UTF-8, control and bidi-override characters */
	QM_GUI_TITLE = 102,
	/* the window's app_id: as TITLE, at most QM_GUI_MAX_APP_ID bytes */
	QM_GUI_APP_ID = 103,
	/* the buffer's new size: struct qm_gui_size (non-zero, at most
	 * QM_GUI_MAX_WIDTH x QM_GUI_MAX_HEIGHT); contents undefined until
	 * damaged */
	QM_GUI_BUFFER_SIZE = 104,
	/* pixels: struct qm_gui_rect, then rect.width * rect.height * 4
	 * bytes; the rectangle lies inside the current buffer size */
	QM_GUI_DAMAGE = 105,
	/* the frame is complete: show what was damaged since the last
	 * COMMIT (no payload); the host answers FRAME_DONE when shown */
	QM_GUI_COMMIT = 106,
	/* states the guest app asks for: struct qm_gui_states (the host
	 * masks to QM_GUI_STATE_MASK and decides) */
	QM_GUI_REQUEST_STATES = 107,
	/* cursor image for the window: struct qm_gui_cursor then w*h*4
	 * bytes ARGB8888 (w, h at most QM_GUI_MAX_CURSOR; 0x0: hidden) */
	QM_GUI_CURSOR = 108,
	/* the guest's clipboard, answering CLIPBOARD_REQUEST: bytes of
	 * text/plain;charset=utf-8, at most QM_GUI_MAX_CLIPBOARD; window 0 */
	QM_GUI_CLIPBOARD_DATA = 109,
	/* version 3, only when the host's HELLO had QM_GUI_HELLO_SHM: the
	 * window's buffer is now the slot of the shared region described by
	 * struct qm_gui_shm_buffer (its size the window's current buffer
	 * size, its format the window's: ARGB8888 with CREATE_ALPHA, else
	 * XRGB8888), then n_rects struct qm_gui_rect saying what changed
	 * since the window's last buffer.  Shown at the next COMMIT, like
	 * DAMAGE.  The slot [offset, offset + stride * height) belongs to
	 * the host until it answers SHM_RELEASE for that offset: the guest
	 * must not name a slot overlapping one the host holds, and should
	 * not write it meanwhile (it would only tear its own window).  A
	 * DAMAGE after SHM_BUFFER frames must cover the whole buffer: the
	 * host's own copy of the window is not updated by SHM_BUFFER. */
	QM_GUI_SHM_BUFFER = 110,

	/* ---- host -> guest (2xx) ---- */
	/* the host's window size and state for the window's content (the
	 * border excluded): struct qm_gui_configure */
	QM_GUI_CONFIGURE = 200,
	/* the user asked to close the window (no payload) */
	QM_GUI_CLOSE = 201,
	/* the id of a destroyed window may be reused (no payload) */
	QM_GUI_DESTROYED = 202,
	/* the frame of the last COMMIT is on screen (no payload) */
	QM_GUI_FRAME_DONE = 203,
	/* the keyboard's XKB keymap (format xkb_v1), NUL-terminated text,
	 * at most QM_GUI_MAX_KEYMAP; window 0 */
	QM_GUI_KEYMAP = 204,
	/* keyboard focus entered / left the window (no payload) */
	QM_GUI_FOCUS_IN = 205,
	QM_GUI_FOCUS_OUT = 206,
	/* struct qm_gui_key: a key of the focused window */
	QM_GUI_KEY = 207,
	/* struct qm_gui_modifiers */
	QM_GUI_MODIFIERS = 208,
	/* struct qm_gui_pointer: the pointer entered the window, or moved in
	 * it (surface-local, content coordinates) */
	QM_GUI_POINTER_MOTION = 209,
	/* the pointer left the window (no payload) */
	QM_GUI_POINTER_LEAVE = 210,
	/* struct qm_gui_button */
	QM_GUI_BUTTON = 211,
	/* struct qm_gui_axis */
	QM_GUI_AXIS = 212,
	/* ask for the guest's clipboard (no payload; window 0); the guest
	 * answers CLIPBOARD_DATA (empty when it has none) */
	QM_GUI_CLIPBOARD_REQUEST = 213,
	/* set the guest's clipboard: bytes as CLIPBOARD_DATA; window 0 */
	QM_GUI_CLIPBOARD_SET = 214,
	/* version 3: the host no longer reads the slot at
	 * struct qm_gui_shm_release.offset of the window's SHM_BUFFER (its
	 * compositor released it, a later SHM_BUFFER replaced it before it
	 * was shown, or the window went) */
	QM_GUI_SHM_RELEASE = 215,
};

enum qm_gui_hello_flags {
	/* host -> guest, version 3: the host has the guest's shared region
	 * and takes SHM_BUFFER */
	QM_GUI_HELLO_SHM = 1u << 0,
};

struct qm_gui_hello {
	uint32_t version;       /* enum qm_gui_version */
	uint32_t flags;         /* enum qm_gui_hello_flags; ignored when
				 * unknown */
};
_Static_assert(sizeof(struct qm_gui_hello) == 8, "hello");

enum qm_gui_create_flags {
	QM_GUI_CREATE_POPUP = 1u << 0,  /* a popup of `parent` */
	QM_GUI_CREATE_ALPHA = 1u << 1,  /* ARGB, not XRGB */
	/* version 2, popups only: the app asked for a grab (a menu): the
	 * host gives the popup the keyboard and dismisses it (CLOSE) on a
	 * click outside the app's windows */
	QM_GUI_CREATE_GRAB = 1u << 2,
};
#define QM_GUI_CREATE_FLAGS_MASK_V1 0x3u
#define QM_GUI_CREATE_FLAGS_MASK 0x7u

struct qm_gui_create {
	uint32_t parent;        /* a popup's parent window; 0 for toplevels */
	uint32_t flags;         /* enum qm_gui_create_flags */
	int32_t x, y;           /* a popup's position in its parent */
	uint32_t width, height; /* the initial buffer size */
};
_Static_assert(sizeof(struct qm_gui_create) == 24, "create");

struct qm_gui_size {
	uint32_t width, height;
};
_Static_assert(sizeof(struct qm_gui_size) == 8, "size");

struct qm_gui_rect {
	uint32_t x, y, width, height;
};
_Static_assert(sizeof(struct qm_gui_rect) == 16, "rect");

enum qm_gui_state {
	QM_GUI_STATE_MAXIMIZED = 1u << 0,
	QM_GUI_STATE_FULLSCREEN = 1u << 1,
	QM_GUI_STATE_ACTIVATED = 1u << 2,       /* host -> guest only */
	QM_GUI_STATE_MINIMIZED = 1u << 3,       /* guest -> host only */
};
#define QM_GUI_STATE_MASK 0xfu

/* Pixel formats of SHM_BUFFER: wl_shm's codes. */
enum qm_gui_format {
	QM_GUI_FORMAT_ARGB8888 = 0,
	QM_GUI_FORMAT_XRGB8888 = 1,
};

struct qm_gui_shm_buffer {
	uint32_t offset;        /* into the region, QM_GUI_SHM_ALIGN-aligned */
	uint32_t width, height; /* the window's current buffer size */
	uint32_t stride;        /* >= width * 4, a multiple of 4 */
	uint32_t format;        /* enum qm_gui_format */
	uint32_t n_rects;       /* 0..QM_GUI_MAX_SHM_RECTS */
};
_Static_assert(sizeof(struct qm_gui_shm_buffer) == 24, "shm_buffer");

struct qm_gui_shm_release {
	uint32_t offset;        /* as in the window's SHM_BUFFER */
};
_Static_assert(sizeof(struct qm_gui_shm_release) == 4, "shm_release");

struct qm_gui_states {
	uint32_t states;        /* enum qm_gui_state */
};
_Static_assert(sizeof(struct qm_gui_states) == 4, "states");

struct qm_gui_cursor {
	int32_t hot_x, hot_y;
	uint32_t width, height;
};
_Static_assert(sizeof(struct qm_gui_cursor) == 16, "cursor");

struct qm_gui_configure {
	uint32_t width, height; /* 0: the guest chooses */
	uint32_t states;        /* enum qm_gui_state */
	uint32_t serial;        /* for the guest's xdg_surface.ack_configure */
};
_Static_assert(sizeof(struct qm_gui_configure) == 16, "configure");

struct qm_gui_key {
	uint32_t time_ms;
	uint32_t key;           /* Linux evdev code */
	uint32_t pressed;       /* 1 pressed, 0 released */
};
_Static_assert(sizeof(struct qm_gui_key) == 12, "key");

struct qm_gui_modifiers {
	uint32_t depressed, latched, locked, group;
};
_Static_assert(sizeof(struct qm_gui_modifiers) == 16, "modifiers");

struct qm_gui_pointer {
	uint32_t time_ms;
	int32_t x_256, y_256;   /* wl_fixed_t: 1/256 of a pixel */
};
_Static_assert(sizeof(struct qm_gui_pointer) == 12, "pointer");

struct qm_gui_button {
	uint32_t time_ms;
	uint32_t button;        /* Linux evdev code (BTN_LEFT, ...) */
	uint32_t pressed;
};
_Static_assert(sizeof(struct qm_gui_button) == 12, "button");

struct qm_gui_axis {
	uint32_t time_ms;
	uint32_t axis;          /* 0 vertical, 1 horizontal */
	int32_t value_256;      /* wl_fixed_t */
};
_Static_assert(sizeof(struct qm_gui_axis) == 12, "axis");
