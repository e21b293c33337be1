/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gui-proxy's decoder of guest messages (gui-proxy/guest-decode.c): one
 * case per rule it enforces, each named after what it guards.
 */
#include <string.h>
#include <glib.h>

#include "guest-decode.h"

#ifdef NDEBUG
#error "tests need assertions"
#endif

/* ---- building streams ---- */

static void put_u32(GByteArray *b, uint32_t v)
{
	uint8_t le[4] = { v, v >> 8, v >> 16, v >> 24 };

	g_byte_array_append(b, le, 4);
}

/* A message with `length` in the header and `payload` (n bytes) after. */
static void put_raw(GByteArray *b, uint32_t magic, uint32_t type,
		    uint32_t window, uint32_t length, const void *payload,
		    size_t n)
{
	put_u32(b, magic);
	put_u32(b, type);
	put_u32(b, window);
	put_u32(b, length);
	if (n)
		g_byte_array_append(b, payload, n);
}

static void put(GByteArray *b, uint32_t type, uint32_t window,
		const void *payload, size_t n)
{
	put_raw(b, QM_GUI_MAGIC, type, window, n, payload, n);
}

static void put_words(GByteArray *b, uint32_t type, uint32_t window,
		      const uint32_t *w, size_t nwords)
{
	g_autoptr(GByteArray) p = g_byte_array_new();

	for (size_t i = 0; i < nwords; i++)
		put_u32(p, w[i]);
	put(b, type, window, p->data, p->len);
}

static void put_hello(GByteArray *b)
{
	put_words(b, QM_GUI_HELLO, 0, (uint32_t[]){ QM_GUI_VERSION, 0 }, 2);
}

static void put_create(GByteArray *b, uint32_t id, uint32_t parent,
		       uint32_t flags, int32_t x, int32_t y, uint32_t w,
		       uint32_t h)
{
	put_words(b, QM_GUI_CREATE, id,
		  (uint32_t[]){ parent, flags, (uint32_t)x, (uint32_t)y, w, h },
		  6);
}

/* DAMAGE with a rectangle and `pixel_bytes` bytes of pixels. */
static void put_damage(GByteArray *b, uint32_t id, uint32_t x, uint32_t y,
		       uint32_t w, uint32_t h, size_t pixel_bytes)
{
	g_autoptr(GByteArray) p = g_byte_array_new();

	put_u32(p, x);
	put_u32(p, y);
	put_u32(p, w);
	put_u32(p, h);
	g_byte_array_set_size(p, 16 + pixel_bytes);
	memset(p->data + 16, 0x5a, pixel_bytes);
	put(b, QM_GUI_DAMAGE, id, p->data, p->len);
}

static void put_cursor(GByteArray *b, uint32_t id, int32_t hx, int32_t hy,
		       uint32_t w, uint32_t h, size_t pixel_bytes)
{
	g_autoptr(GByteArray) p = g_byte_array_new();

	put_u32(p, (uint32_t)hx);
	put_u32(p, (uint32_t)hy);
	put_u32(p, w);
	put_u32(p, h);
	g_byte_array_set_size(p, 16 + pixel_bytes);
	memset(p->data + 16, 0, pixel_bytes);
	put(b, QM_GUI_CURSOR, id, p->data, p->len);
}

/* HELLO, then window 1 (toplevel, 100x50). */
static GByteArray *prelude(void)
{
	GByteArray *b = g_byte_array_new();

	put_hello(b);
	put_create(b, 1, 0, 0, 0, 0, 100, 50);
	return b;
}

/* ---- running them ---- */

struct run {
	enum gp_decode_status status;   /* of the last feed */
	unsigned int messages;
	struct gp_guest_msg last;
	char *last_text;                /* copy of last.title/app_id text */
	char *violation;
};

static void run_clear(struct run *r)
{
	g_free(r->last_text);
	g_free(r->violation);
}

/* Feeds `b` to `d` in chunks of `chunk` bytes (0: all at once). */
static struct run feed_with(struct gp_decoder *d, const GByteArray *b,
			    size_t chunk)
{
	struct run r = { GP_DECODE_NEED_MORE, 0 };
	size_t off = 0;

	while (off < b->len) {
		size_t n = chunk ? MIN(chunk, b->len - off) : b->len - off;
		size_t end = off + n;

		while (off < end) {
			struct gp_guest_msg m;
			size_t used;

			r.status = gp_decoder_feed(d, b->data + off, end - off,
						   &used, &m);
			g_assert_cmpuint(used, <=, end - off);
			off += used;
			if (r.status == GP_DECODE_VIOLATION) {
				r.violation =
					g_strdup(gp_decoder_violation(d));
				g_assert_nonnull(r.violation);
				return r;
			}
			if (r.status == GP_DECODE_NEED_MORE) {
				g_assert_cmpuint(off, ==, end);
				break;
			}
			r.messages++;
			r.last = m;
			g_clear_pointer(&r.last_text, g_free);
			if (m.type == QM_GUI_TITLE || m.type == QM_GUI_APP_ID)
				r.last_text = g_strdup(m.title.text);
		}
	}
	return r;
}

static struct run feed(struct gp_decoder *d, const GByteArray *b)
{
	return feed_with(d, b, 0);
}

static void assert_violation(const GByteArray *b, const char *part)
{
	struct gp_decoder *d = gp_decoder_create();
	struct run r = feed(d, b);

	if (r.status != GP_DECODE_VIOLATION)
		g_error("expected a violation containing '%s', got status %d",
			part, r.status);
	if (!strstr(r.violation, part))
		g_error("violation '%s' lacks '%s'", r.violation, part);
	/* A violation is final. */
	struct gp_guest_msg m;
	size_t used;
	g_assert_cmpint(gp_decoder_feed(d, b->data, b->len, &used, &m), ==,
			GP_DECODE_VIOLATION);
	g_assert_cmpuint(used, ==, 0);
	run_clear(&r);
	gp_decoder_destroy(d);
}

/* The stream up to and including the last header must already be refused:
 * the payload is never waited for. */
static void assert_header_violation(GByteArray *b, size_t payload_len,
				    const char *part)
{
	g_byte_array_set_size(b, b->len - payload_len);
	assert_violation(b, part);
}

/* ---- table: one message after the prelude, refused ---- */

struct bad_case {
	const char *name;
	void (*build)(GByteArray *b);
	const char *part;
};

static void b_bad_magic(GByteArray *b)
{
	put_raw(b, 0x12345678, QM_GUI_COMMIT, 1, 0, NULL, 0);
}

static void b_unknown_type(GByteArray *b)
{
	put(b, 999, 1, NULL, 0);
}

static void b_host_type(GByteArray *b)
{
	put_words(b, QM_GUI_CONFIGURE, 1, (uint32_t[]){ 1, 1, 0, 0 }, 4);
}

static void b_hello_twice(GByteArray *b)
{
	put_hello(b);
}

static void b_create_long(GByteArray *b)
{
	put_words(b, QM_GUI_CREATE, 2, (uint32_t[]){ 0, 0, 0, 0, 9, 9, 0 }, 7);
}

static void b_size_short(GByteArray *b)
{
	put_words(b, QM_GUI_BUFFER_SIZE, 1, (uint32_t[]){ 9 }, 1);
}

static void b_commit_payload(GByteArray *b)
{
	put_words(b, QM_GUI_COMMIT, 1, (uint32_t[]){ 0 }, 1);
}

static void b_destroy_payload(GByteArray *b)
{
	put_words(b, QM_GUI_DESTROY, 1, (uint32_t[]){ 0 }, 1);
}

static void b_states_long(GByteArray *b)
{
	put_words(b, QM_GUI_REQUEST_STATES, 1, (uint32_t[]){ 0, 0 }, 2);
}

static void b_id_zero(GByteArray *b)
{
	put_create(b, 0, 0, 0, 0, 0, 10, 10);
}

static void b_id_in_use(GByteArray *b)
{
	put_create(b, 1, 0, 0, 0, 0, 10, 10);
}

static void b_id_reuse_before_destroyed(GByteArray *b)
{
	put(b, QM_GUI_DESTROY, 1, NULL, 0);
	put_create(b, 1, 0, 0, 0, 0, 10, 10);
}

static void b_after_destroy(GByteArray *b)
{
	put(b, QM_GUI_DESTROY, 1, NULL, 0);
	put(b, QM_GUI_COMMIT, 1, NULL, 0);
}

static void b_unknown_window(GByteArray *b)
{
	put(b, QM_GUI_COMMIT, 7, NULL, 0);
}

static void b_window_zero(GByteArray *b)
{
	put(b, QM_GUI_COMMIT, 0, NULL, 0);
}

static void b_title_for_unknown(GByteArray *b)
{
	put(b, QM_GUI_TITLE, 9, "x", 1);
}

static void b_popup_unknown_parent(GByteArray *b)
{
	put_create(b, 2, 5, QM_GUI_CREATE_POPUP, 0, 0, 10, 10);
}

static void b_popup_parent_destroyed(GByteArray *b)
{
	put(b, QM_GUI_DESTROY, 1, NULL, 0);
	put_create(b, 2, 1, QM_GUI_CREATE_POPUP, 0, 0, 10, 10);
}

static void b_popup_no_parent(GByteArray *b)
{
	put_create(b, 2, 0, QM_GUI_CREATE_POPUP, 0, 0, 10, 10);
}

static void b_toplevel_with_parent(GByteArray *b)
{
	put_create(b, 2, 1, 0, 0, 0, 10, 10);
}

static void b_popup_offset(GByteArray *b)
{
	put_create(b, 2, 1, QM_GUI_CREATE_POPUP, INT32_MIN, 0, 10, 10);
}

static void b_create_unknown_flags(GByteArray *b)
{
	put_create(b, 2, 0, 1u << 7, 0, 0, 10, 10);
}

static void b_grab_for_toplevel(GByteArray *b)
{
	put_create(b, 2, 0, QM_GUI_CREATE_GRAB, 0, 0, 10, 10);
}

static void b_create_zero_width(GByteArray *b)
{
	put_create(b, 2, 0, 0, 0, 0, 0, 10);
}

static void b_create_too_tall(GByteArray *b)
{
	put_create(b, 2, 0, 0, 0, 0, 10, QM_GUI_MAX_HEIGHT + 1);
}

static void b_size_zero(GByteArray *b)
{
	put_words(b, QM_GUI_BUFFER_SIZE, 1, (uint32_t[]){ 10, 0 }, 2);
}

static void b_size_too_wide(GByteArray *b)
{
	put_words(b, QM_GUI_BUFFER_SIZE, 1,
		  (uint32_t[]){ QM_GUI_MAX_WIDTH + 1, 10 }, 2);
}

/* Two maximal windows fit in GP_MAX_BUFFER_BYTES, a third does not. */
static void b_memory_cap_create(GByteArray *b)
{
	put_create(b, 2, 0, 0, 0, 0, QM_GUI_MAX_WIDTH, QM_GUI_MAX_HEIGHT);
	put_create(b, 3, 0, 0, 0, 0, QM_GUI_MAX_WIDTH, QM_GUI_MAX_HEIGHT);
	put_create(b, 4, 0, 0, 0, 0, QM_GUI_MAX_WIDTH, QM_GUI_MAX_HEIGHT);
}

/* Growing a window counts only the difference; the limit still holds. */
static void b_memory_cap_resize(GByteArray *b)
{
	put_create(b, 2, 0, 0, 0, 0, QM_GUI_MAX_WIDTH, QM_GUI_MAX_HEIGHT);
	put_words(b, QM_GUI_BUFFER_SIZE, 1,
		  (uint32_t[]){ QM_GUI_MAX_WIDTH, QM_GUI_MAX_HEIGHT }, 2);
	put_words(b, QM_GUI_BUFFER_SIZE, 1,
		  (uint32_t[]){ QM_GUI_MAX_WIDTH, QM_GUI_MAX_HEIGHT - 1 }, 2);
	put_create(b, 3, 0, 0, 0, 0, QM_GUI_MAX_WIDTH, 10);
	put_words(b, QM_GUI_BUFFER_SIZE, 3,
		  (uint32_t[]){ QM_GUI_MAX_WIDTH, 1000 }, 2);
}

static void b_damage_right_of_buffer(GByteArray *b)
{
	put_damage(b, 1, 90, 0, 11, 1, 11 * 4);
}

static void b_damage_below_buffer(GByteArray *b)
{
	put_damage(b, 1, 0, 50, 1, 1, 4);
}

/* x + width wraps in 32 bits: only 64-bit arithmetic sees it. */
static void b_damage_wrapping(GByteArray *b)
{
	put_damage(b, 1, 0xffffffffu, 0, 2, 1, 8);
}

static void b_damage_short_pixels(GByteArray *b)
{
	put_damage(b, 1, 0, 0, 10, 10, 10 * 10 * 4 - 1);
}

static void b_damage_extra_pixels(GByteArray *b)
{
	put_damage(b, 1, 0, 0, 10, 10, 10 * 10 * 4 + 4);
}

/* The old size no longer counts after BUFFER_SIZE shrinks it. */
static void b_damage_after_shrink(GByteArray *b)
{
	put_words(b, QM_GUI_BUFFER_SIZE, 1, (uint32_t[]){ 10, 10 }, 2);
	put_damage(b, 1, 0, 0, 11, 1, 44);
}

static void b_damage_no_rect(GByteArray *b)
{
	put(b, QM_GUI_DAMAGE, 1, "abc", 3);
}

static void b_cursor_too_big(GByteArray *b)
{
	put_cursor(b, 1, 0, 0, QM_GUI_MAX_CURSOR + 1, 1,
		   (QM_GUI_MAX_CURSOR + 1) * 4);
}

static void b_cursor_hotspot_outside(GByteArray *b)
{
	put_cursor(b, 1, 16, 0, 16, 16, 16 * 16 * 4);
}

static void b_cursor_negative_hotspot(GByteArray *b)
{
	put_cursor(b, 1, -1, 0, 16, 16, 16 * 16 * 4);
}

static void b_cursor_short_pixels(GByteArray *b)
{
	put_cursor(b, 1, 0, 0, 16, 16, 16 * 16 * 4 - 4);
}

static void b_cursor_half_hidden(GByteArray *b)
{
	put_cursor(b, 1, 0, 0, 0, 16, 0);
}

static void b_clipboard_unrequested(GByteArray *b)
{
	put(b, QM_GUI_CLIPBOARD_DATA, 0, "x", 1);
}

static const struct bad_case bad_cases[] = {
	{ "bad-magic", b_bad_magic, "bad magic" },
	{ "unknown-type", b_unknown_type, "not one a guest sends" },
	{ "host-type-from-guest", b_host_type, "not one a guest sends" },
	{ "hello-twice", b_hello_twice, "HELLO sent twice" },
	{ "fixed-length-too-long", b_create_long, "must be 24" },
	{ "fixed-length-too-short", b_size_short, "must be 8" },
	{ "commit-with-payload", b_commit_payload, "must be 0" },
	{ "destroy-with-payload", b_destroy_payload, "must be 0" },
	{ "states-too-long", b_states_long, "must be 4" },
	{ "create-id-zero", b_id_zero, "reserved" },
	{ "create-id-in-use", b_id_in_use, "already in use" },
	{ "create-id-reuse-before-destroyed", b_id_reuse_before_destroyed,
	  "reused before DESTROYED" },
	{ "message-after-destroy", b_after_destroy, "already destroyed" },
	{ "unknown-window", b_unknown_window, "unknown window" },
	{ "window-zero", b_window_zero, "unknown window" },
	{ "title-for-unknown-window", b_title_for_unknown, "unknown window" },
	{ "popup-unknown-parent", b_popup_unknown_parent,
	  "popup of unknown window 5" },
	{ "popup-parent-destroyed", b_popup_parent_destroyed,
	  "popup of unknown window 1" },
	{ "popup-without-parent", b_popup_no_parent,
	  "popup of unknown window 0" },
	{ "toplevel-with-parent", b_toplevel_with_parent,
	  "toplevel with parent" },
	{ "popup-offset-range", b_popup_offset, "out of range" },
	{ "create-unknown-flags", b_create_unknown_flags, "unknown flags" },
	{ "grab-for-toplevel", b_grab_for_toplevel, "a grab for a toplevel" },
	{ "create-zero-width", b_create_zero_width, "outside 1x1" },
	{ "create-too-tall", b_create_too_tall, "outside 1x1" },
	{ "size-zero-height", b_size_zero, "outside 1x1" },
	{ "size-too-wide", b_size_too_wide, "outside 1x1" },
	{ "memory-cap-on-create", b_memory_cap_create, "MiB of window" },
	{ "memory-cap-on-resize", b_memory_cap_resize,
	  "BUFFER_SIZE (window 3): 7680x1000 would exceed" },
	{ "damage-right-of-buffer", b_damage_right_of_buffer,
	  "outside the 100x50 buffer" },
	{ "damage-below-buffer", b_damage_below_buffer,
	  "outside the 100x50 buffer" },
	{ "damage-wrapping-32-bit", b_damage_wrapping, "outside the" },
	{ "damage-short-pixels", b_damage_short_pixels,
	  "399 bytes of pixels" },
	{ "damage-extra-pixels", b_damage_extra_pixels,
	  "404 bytes of pixels" },
	{ "damage-after-shrink", b_damage_after_shrink,
	  "outside the 10x10 buffer" },
	{ "damage-without-rect", b_damage_no_rect, "shorter than" },
	{ "cursor-too-big", b_cursor_too_big, "cursor 257x1" },
	{ "cursor-hotspot-outside", b_cursor_hotspot_outside, "hotspot" },
	{ "cursor-negative-hotspot", b_cursor_negative_hotspot, "hotspot" },
	{ "cursor-short-pixels", b_cursor_short_pixels, "bytes of pixels" },
	{ "cursor-half-hidden", b_cursor_half_hidden, "cursor 0x16" },
	{ "clipboard-unrequested", b_clipboard_unrequested,
	  "nobody asked for" },
};

static void test_bad_case(gconstpointer data)
{
	const struct bad_case *c = data;
	g_autoptr(GByteArray) b = prelude();

	c->build(b);
	assert_violation(b, c->part);
}

/* ---- rules about the order and framing of the stream ---- */

static void test_decode_rejects_message_before_hello(void)
{
	g_autoptr(GByteArray) b = g_byte_array_new();

	put_create(b, 1, 0, 0, 0, 0, 10, 10);
	assert_violation(b, "first message must be HELLO");
}

static void test_decode_rejects_hello_version_0(void)
{
	g_autoptr(GByteArray) b = g_byte_array_new();

	put_words(b, QM_GUI_HELLO, 0, (uint32_t[]){ 0, 0 }, 2);
	assert_violation(b, "version 0");
}

/* A guest announcing version 1 speaks it: no GRAB (version 2). */
static void test_decode_rejects_grab_in_version_1(void)
{
	g_autoptr(GByteArray) b = g_byte_array_new();

	put_words(b, QM_GUI_HELLO, 0, (uint32_t[]){ 1, 0 }, 2);
	put_create(b, 1, 0, 0, 0, 0, 100, 50);
	put_create(b, 2, 1, QM_GUI_CREATE_POPUP | QM_GUI_CREATE_GRAB, 0, 0,
		   10, 10);
	assert_violation(b, "CREATE (window 2): unknown flags 0x5 in version 1");
}

/* The version spoken is the lower of both; a grabbing popup in 2. */
static void test_decode_accepts_grab_in_version_2(void)
{
	g_autoptr(GByteArray) b = g_byte_array_new();
	g_autoptr(GByteArray) hello = g_byte_array_new();
	struct gp_decoder *d = gp_decoder_create();

	put_words(hello, QM_GUI_HELLO, 0, (uint32_t[]){ 7, 0 }, 2);
	struct run r = feed(d, hello);
	g_assert_cmpint(r.status, ==, GP_DECODE_MESSAGE);
	g_assert_cmpuint(r.last.hello.version, ==, QM_GUI_VERSION_3);
	run_clear(&r);
	put_create(b, 1, 0, 0, 0, 0, 100, 50);
	put_create(b, 2, 1, QM_GUI_CREATE_POPUP | QM_GUI_CREATE_GRAB, 3, 4,
		   10, 10);
	r = feed(d, b);
	g_assert_cmpint(r.status, ==, GP_DECODE_MESSAGE);
	g_assert_cmpint(r.last.type, ==, QM_GUI_CREATE);
	g_assert_true(r.last.create.popup);
	g_assert_true(r.last.create.grab);
	run_clear(&r);
	gp_decoder_destroy(d);
}

static void test_decode_rejects_hello_on_window(void)
{
	g_autoptr(GByteArray) b = g_byte_array_new();

	put_words(b, QM_GUI_HELLO, 3, (uint32_t[]){ 1, 0 }, 2);
	assert_violation(b, "window 0");
}

/* Limits on variable messages hold before their payload arrives. */
static void test_decode_refuses_oversize_title_before_payload(void)
{
	g_autoptr(GByteArray) b = prelude();
	g_autofree char *t = g_malloc0(QM_GUI_MAX_TITLE + 1);

	put(b, QM_GUI_TITLE, 1, t, QM_GUI_MAX_TITLE + 1);
	assert_header_violation(b, QM_GUI_MAX_TITLE + 1, "exceeds the maximum");
}

static void test_decode_refuses_oversize_app_id_before_payload(void)
{
	g_autoptr(GByteArray) b = prelude();
	g_autofree char *t = g_malloc0(QM_GUI_MAX_APP_ID + 1);

	put(b, QM_GUI_APP_ID, 1, t, QM_GUI_MAX_APP_ID + 1);
	assert_header_violation(b, QM_GUI_MAX_APP_ID + 1,
				"exceeds the maximum");
}

static void test_decode_refuses_oversize_damage_before_payload(void)
{
	g_autoptr(GByteArray) b = prelude();

	/* 4 GiB - 1 claimed: refused from the header alone. */
	put_raw(b, QM_GUI_MAGIC, QM_GUI_DAMAGE, 1, UINT32_MAX, NULL, 0);
	assert_violation(b, "exceeds the maximum");
}

static void test_decode_refuses_oversize_clipboard_before_payload(void)
{
	g_autoptr(GByteArray) b = prelude();
	struct gp_decoder *d = gp_decoder_create();

	put_raw(b, QM_GUI_MAGIC, QM_GUI_CLIPBOARD_DATA, 0,
		QM_GUI_MAX_CLIPBOARD + 1, NULL, 0);
	gp_decoder_expect_clipboard(d);
	struct run r = feed(d, b);
	g_assert_cmpint(r.status, ==, GP_DECODE_VIOLATION);
	g_assert_nonnull(strstr(r.violation, "exceeds the maximum"));
	run_clear(&r);
	gp_decoder_destroy(d);
}

static void test_decode_refuses_window_257(void)
{
	g_autoptr(GByteArray) b = g_byte_array_new();

	put_hello(b);
	for (uint32_t i = 1; i <= QM_GUI_MAX_WINDOWS; i++)
		put_create(b, i, 0, 0, 0, 0, 1, 1);
	struct gp_decoder *d = gp_decoder_create();
	struct run r = feed(d, b);
	g_assert_cmpint(r.status, ==, GP_DECODE_MESSAGE);
	g_assert_cmpuint(gp_decoder_window_count(d), ==, QM_GUI_MAX_WINDOWS);
	gp_decoder_destroy(d);

	put_create(b, QM_GUI_MAX_WINDOWS + 1, 0, 0, 0, 0, 1, 1);
	assert_violation(b, "more than 256 windows");
}

/* Ids awaiting DESTROYED count against the window limit. */
static void test_decode_counts_destroying_windows(void)
{
	g_autoptr(GByteArray) b = g_byte_array_new();

	put_hello(b);
	for (uint32_t i = 1; i <= QM_GUI_MAX_WINDOWS; i++) {
		put_create(b, i, 0, 0, 0, 0, 1, 1);
		put(b, QM_GUI_DESTROY, i, NULL, 0);
	}
	put_create(b, QM_GUI_MAX_WINDOWS + 1, 0, 0, 0, 0, 1, 1);
	assert_violation(b, "more than 256 windows");
}

static GByteArray *valid_stream(void)
{
	GByteArray *b = prelude();

	put(b, QM_GUI_TITLE, 1, "hello", 5);
	put(b, QM_GUI_APP_ID, 1, "org.example.Hello", 17);
	put_create(b, 2, 1, QM_GUI_CREATE_POPUP | QM_GUI_CREATE_ALPHA, -5, 7,
		   20, 10);
	put_damage(b, 1, 0, 0, 100, 50, 100 * 50 * 4);
	put_damage(b, 1, 99, 49, 1, 1, 4);
	put_damage(b, 1, 3, 3, 0, 0, 0);        /* empty: allowed */
	put(b, QM_GUI_COMMIT, 1, NULL, 0);
	put_words(b, QM_GUI_BUFFER_SIZE, 1, (uint32_t[]){ 200, 100 }, 2);
	put_damage(b, 1, 100, 50, 100, 50, 100 * 50 * 4);
	put_cursor(b, 1, 3, 4, 16, 16, 16 * 16 * 4);
	put_cursor(b, 1, 0, 0, 0, 0, 0);
	put_words(b, QM_GUI_REQUEST_STATES, 1, (uint32_t[]){ 0xffffffffu }, 1);
	put(b, QM_GUI_DESTROY, 2, NULL, 0);
	return b;
}

static void test_decode_accepts_valid_stream(void)
{
	g_autoptr(GByteArray) b = valid_stream();
	struct gp_decoder *d = gp_decoder_create();
	struct run r = feed(d, b);

	g_assert_cmpint(r.status, ==, GP_DECODE_MESSAGE);
	g_assert_cmpuint(r.messages, ==, 15);
	g_assert_cmpint(r.last.type, ==, QM_GUI_DESTROY);
	g_assert_cmpuint(gp_decoder_buffer_bytes(d), ==, 200 * 100 * 4);
	g_assert_cmpuint(gp_decoder_window_count(d), ==, 2);
	g_assert_true(gp_decoder_window(d, 2)->destroying);
	run_clear(&r);
	gp_decoder_destroy(d);
}

/* Partial reads: any split of the stream gives the same messages. */
static void test_decode_byte_by_byte_equals_whole(void)
{
	g_autoptr(GByteArray) b = valid_stream();
	static const size_t chunks[] = { 1, 2, 3, 7, 16, 17, 4096 };

	for (size_t i = 0; i < G_N_ELEMENTS(chunks); i++) {
		struct gp_decoder *d = gp_decoder_create();
		struct run r = feed_with(d, b, chunks[i]);

		g_assert_cmpint(r.status, ==, GP_DECODE_MESSAGE);
		g_assert_cmpuint(r.messages, ==, 15);
		g_assert_cmpuint(gp_decoder_buffer_bytes(d), ==,
				 200 * 100 * 4);
		run_clear(&r);
		gp_decoder_destroy(d);
	}
}

static void test_decode_partial_header_needs_more(void)
{
	g_autoptr(GByteArray) b = g_byte_array_new();
	struct gp_decoder *d = gp_decoder_create();
	struct gp_guest_msg m;
	size_t used;

	put_hello(b);
	for (size_t i = 0; i < b->len - 1; i++) {
		g_assert_cmpint(gp_decoder_feed(d, b->data + i, 1, &used, &m),
				==, GP_DECODE_NEED_MORE);
		g_assert_cmpuint(used, ==, 1);
	}
	g_assert_cmpint(gp_decoder_feed(d, b->data + b->len - 1, 1, &used, &m),
			==, GP_DECODE_MESSAGE);
	g_assert_cmpint(m.type, ==, QM_GUI_HELLO);
	g_assert_cmpuint(m.hello.version, ==, QM_GUI_VERSION);
	gp_decoder_destroy(d);
}

static void test_decode_damage_fields(void)
{
	g_autoptr(GByteArray) b = prelude();
	struct gp_decoder *d = gp_decoder_create();

	put_damage(b, 1, 10, 20, 30, 30, 30 * 30 * 4);
	struct run r = feed(d, b);
	g_assert_cmpint(r.last.type, ==, QM_GUI_DAMAGE);
	g_assert_cmpuint(r.last.damage.x, ==, 10);
	g_assert_cmpuint(r.last.damage.y, ==, 20);
	g_assert_cmpuint(r.last.damage.width, ==, 30);
	g_assert_cmpuint(r.last.damage.height, ==, 30);
	g_assert_cmpuint(r.last.damage.pixels[0], ==, 0x5a);
	run_clear(&r);
	gp_decoder_destroy(d);
}

static void test_decode_id_free_after_destroyed(void)
{
	g_autoptr(GByteArray) b = prelude();
	g_autoptr(GByteArray) again = g_byte_array_new();
	struct gp_decoder *d = gp_decoder_create();

	put(b, QM_GUI_DESTROY, 1, NULL, 0);
	struct run r = feed(d, b);
	g_assert_cmpint(r.status, ==, GP_DECODE_MESSAGE);
	g_assert_cmpuint(gp_decoder_buffer_bytes(d), ==, 0);
	g_assert_false(gp_decoder_window_release(d, 7));
	g_assert_true(gp_decoder_window_release(d, 1));
	g_assert_cmpuint(gp_decoder_window_count(d), ==, 0);
	put_create(again, 1, 0, 0, 0, 0, 10, 10);
	r = feed(d, again);
	g_assert_cmpint(r.status, ==, GP_DECODE_MESSAGE);
	g_assert_cmpint(r.last.type, ==, QM_GUI_CREATE);
	gp_decoder_destroy(d);
}

static void test_decode_masks_state_flags(void)
{
	g_autoptr(GByteArray) b = prelude();
	struct gp_decoder *d = gp_decoder_create();

	put_words(b, QM_GUI_REQUEST_STATES, 1, (uint32_t[]){ 0xffffffffu }, 1);
	struct run r = feed(d, b);
	g_assert_cmpint(r.status, ==, GP_DECODE_MESSAGE);
	g_assert_cmpuint(r.last.states.states, ==,
			 QM_GUI_STATE_MAXIMIZED | QM_GUI_STATE_FULLSCREEN |
			 QM_GUI_STATE_MINIMIZED);
	gp_decoder_destroy(d);
}

static void test_decode_clipboard_when_requested(void)
{
	g_autoptr(GByteArray) b = prelude();
	struct gp_decoder *d = gp_decoder_create();

	put(b, QM_GUI_CLIPBOARD_DATA, 0, "abc", 3);
	gp_decoder_expect_clipboard(d);
	struct run r = feed(d, b);
	g_assert_cmpint(r.status, ==, GP_DECODE_MESSAGE);
	g_assert_cmpuint(r.last.clipboard.len, ==, 3);
	/* only once per request */
	g_autoptr(GByteArray) more = g_byte_array_new();
	put(more, QM_GUI_CLIPBOARD_DATA, 0, "abc", 3);
	r = feed(d, more);
	g_assert_cmpint(r.status, ==, GP_DECODE_VIOLATION);
	run_clear(&r);
	gp_decoder_destroy(d);
}

static void test_decode_title_is_sanitized(void)
{
	g_autoptr(GByteArray) b = prelude();
	struct gp_decoder *d = gp_decoder_create();
	static const char t[] = "\xe2\x80\xaemoc.evil\xe2\x80\xac\x1b[2J ok";

	put(b, QM_GUI_TITLE, 1, t, sizeof(t) - 1);
	struct run r = feed(d, b);
	g_assert_cmpint(r.status, ==, GP_DECODE_MESSAGE);
	g_assert_cmpstr(r.last_text, ==, "moc.evil[2J ok");
	run_clear(&r);
	gp_decoder_destroy(d);
}

/* ---- sanitizers ---- */

struct text_case {
	const char *name;
	const char *in;
	size_t len;             /* 0: strlen(in) */
	const char *out;
};

static const struct text_case title_cases[] = {
	{ "plain", "hello", 0, "hello" },
	{ "utf8-kept", "gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80", 0,
	  "gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80" },
	{ "c0-removed", "a\tb\nc\rd\x01" "e", 0, "abcde" },
	{ "del-removed", "a\x7f" "b", 0, "ab" },
	{ "c1-removed", "a\xc2\x80" "b\xc2\x9b" "c\xc2\x9f" "d", 0, "abcd" },
	{ "embedded-nul-removed", "a\0b", 3, "ab" },
	{ "rlo-removed", "a\xe2\x80\xae" "b", 0, "ab" },
	{ "lre-rle-pdf-lro-removed",
	  "\xe2\x80\xaa" "a\xe2\x80\xab" "b\xe2\x80\xac" "c\xe2\x80\xad" "d",
	  0, "abcd" },
	{ "isolates-removed",
	  "\xe2\x81\xa6" "a\xe2\x81\xa7" "b\xe2\x81\xa8" "c\xe2\x81\xa9" "d",
	  0, "abcd" },
	{ "lrm-rlm-alm-removed", "\xe2\x80\x8e" "a\xe2\x80\x8f" "b\xd8\x9c" "c",
	  0, "abc" },
	{ "line-separators-removed", "a\xe2\x80\xa8" "b\xe2\x80\xa9" "c", 0,
	  "abc" },
	{ "invalid-byte-dropped", "a\xff" "b", 0, "ab" },
	{ "truncated-sequence-dropped", "ab\xe2\x82", 0, "ab" },
	{ "overlong-dropped", "a\xc0\xaf" "b", 0, "ab" },
	{ "overlong-nul-dropped", "a\xc0\x80" "b", 0, "ab" },
	{ "surrogate-dropped", "a\xed\xa0\x80" "b", 0, "ab" },
	{ "above-10ffff-dropped", "a\xf4\x90\x80\x80" "b", 0, "ab" },
	{ "lone-continuation-dropped", "a\x80\x80" "b", 0, "ab" },
	{ "empty", "", 0, "" },
};

static void test_title_case(gconstpointer data)
{
	const struct text_case *c = data;
	size_t len = c->len ? c->len : strlen(c->in);
	g_autofree char *s = gp_sanitize_title((const uint8_t *)c->in, len);

	g_assert_cmpstr(s, ==, c->out);
	g_assert_true(g_utf8_validate(s, -1, NULL));
}

static void test_title_capped_in_characters(void)
{
	GString *in = g_string_new(NULL);

	for (int i = 0; i < 300; i++)
		g_string_append(in, "\xe2\x82\xac");       /* euro sign */
	g_autofree char *s = gp_sanitize_title((const uint8_t *)in->str,
					       in->len);
	g_assert_cmpuint(g_utf8_strlen(s, -1), ==, GP_MAX_TITLE_CHARS);
	g_assert_true(g_utf8_validate(s, -1, NULL));
	g_string_free(in, TRUE);
}

static const struct text_case app_id_cases[] = {
	{ "plain", "org.gnome.Foo", 0, "org.gnome.Foo" },
	{ "dash-underscore-digits", "foot-1_2", 0, "foot-1_2" },
	{ "slash-space-removed", "a/b c", 0, "abc" },
	{ "non-ascii-removed", "caf\xc3\xa9", 0, "caf" },
	{ "controls-removed", "a\x1b\n\0b", 5, "ab" },
	{ "empty-is-unknown", "", 0, "unknown" },
	{ "nothing-left-is-unknown", "///", 0, "unknown" },
	{ "capped",
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaXYZ",
	  0, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
};

static void test_app_id_case(gconstpointer data)
{
	const struct text_case *c = data;
	size_t len = c->len ? c->len : strlen(c->in);
	g_autofree char *s = gp_sanitize_app_id((const uint8_t *)c->in, len);

	g_assert_cmpstr(s, ==, c->out);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
		g_autofree char *path = g_strdup_printf(
			"/gui/decode/refuses/%s", bad_cases[i].name);
		g_test_add_data_func(path, &bad_cases[i], test_bad_case);
	}
	g_test_add_func("/gui/decode/refuses/message-before-hello",
			test_decode_rejects_message_before_hello);
	g_test_add_func("/gui/decode/refuses/hello-version-0",
			test_decode_rejects_hello_version_0);
	g_test_add_func("/gui/decode/refuses/grab-in-version-1",
			test_decode_rejects_grab_in_version_1);
	g_test_add_func("/gui/decode/accepts/grab-in-version-2",
			test_decode_accepts_grab_in_version_2);
	g_test_add_func("/gui/decode/refuses/hello-on-window",
			test_decode_rejects_hello_on_window);
	g_test_add_func("/gui/decode/refuses/oversize-title-before-payload",
			test_decode_refuses_oversize_title_before_payload);
	g_test_add_func("/gui/decode/refuses/oversize-app-id-before-payload",
			test_decode_refuses_oversize_app_id_before_payload);
	g_test_add_func("/gui/decode/refuses/oversize-damage-before-payload",
			test_decode_refuses_oversize_damage_before_payload);
	g_test_add_func("/gui/decode/refuses/oversize-clipboard-before-payload",
			test_decode_refuses_oversize_clipboard_before_payload);
	g_test_add_func("/gui/decode/refuses/window-257",
			test_decode_refuses_window_257);
	g_test_add_func("/gui/decode/refuses/destroying-windows-counted",
			test_decode_counts_destroying_windows);
	g_test_add_func("/gui/decode/accepts/valid-stream",
			test_decode_accepts_valid_stream);
	g_test_add_func("/gui/decode/accepts/any-split",
			test_decode_byte_by_byte_equals_whole);
	g_test_add_func("/gui/decode/accepts/partial-header-needs-more",
			test_decode_partial_header_needs_more);
	g_test_add_func("/gui/decode/accepts/damage-fields",
			test_decode_damage_fields);
	g_test_add_func("/gui/decode/accepts/id-free-after-destroyed",
			test_decode_id_free_after_destroyed);
	g_test_add_func("/gui/decode/accepts/state-flags-masked",
			test_decode_masks_state_flags);
	g_test_add_func("/gui/decode/accepts/clipboard-when-requested",
			test_decode_clipboard_when_requested);
	g_test_add_func("/gui/decode/accepts/title-sanitized",
			test_decode_title_is_sanitized);
	for (size_t i = 0; i < G_N_ELEMENTS(title_cases); i++) {
		g_autofree char *path = g_strdup_printf(
			"/gui/sanitize/title/%s", title_cases[i].name);
		g_test_add_data_func(path, &title_cases[i], test_title_case);
	}
	g_test_add_func("/gui/sanitize/title/capped-in-characters",
			test_title_capped_in_characters);
	for (size_t i = 0; i < G_N_ELEMENTS(app_id_cases); i++) {
		g_autofree char *path = g_strdup_printf(
			"/gui/sanitize/app-id/%s", app_id_cases[i].name);
		g_test_add_data_func(path, &app_id_cases[i], test_app_id_case);
	}
	return g_test_run();
}
