/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gui-proxy's decoder of SHM_BUFFER (gui-proxy/guest-decode-shm.c,
 * protocol version 3): every value a hostile guest can put in it, against
 * a region of REGION bytes.  One case per rule, named after what it
 * guards.
 */
#include <string.h>
#include <glib.h>

#include "guest-decode.h"

#ifdef NDEBUG
#error "tests need assertions"
#endif

#define REGION (1u << 20)

static void put_u32(GByteArray *b, uint32_t v)
{
	uint8_t le[4] = { v, v >> 8, v >> 16, v >> 24 };

	g_byte_array_append(b, le, 4);
}

static void put_header(GByteArray *b, uint32_t type, uint32_t window,
		       uint32_t length)
{
	put_u32(b, QM_GUI_MAGIC);
	put_u32(b, type);
	put_u32(b, window);
	put_u32(b, length);
}

static void put_words(GByteArray *b, uint32_t type, uint32_t window,
		      const uint32_t *w, size_t n)
{
	put_header(b, type, window, (uint32_t)(n * 4));
	for (size_t i = 0; i < n; i++)
		put_u32(b, w[i]);
}

static void put_hello(GByteArray *b, uint32_t version)
{
	put_words(b, QM_GUI_HELLO, 0, (uint32_t[]){ version, 0 }, 2);
}

static void put_create(GByteArray *b, uint32_t id, uint32_t flags,
		       uint32_t w, uint32_t h)
{
	put_words(b, QM_GUI_CREATE, id, (uint32_t[]){ 0, flags, 0, 0, w, h },
		  6);
}

/* SHM_BUFFER with n_rects as given and `rects` (4 words each) after. */
static void put_shm(GByteArray *b, uint32_t id, uint32_t offset, uint32_t w,
		    uint32_t h, uint32_t stride, uint32_t format,
		    uint32_t n_rects, const uint32_t *rects, size_t n_words)
{
	put_header(b, QM_GUI_SHM_BUFFER, id, (uint32_t)(24 + n_words * 4));
	put_u32(b, offset);
	put_u32(b, w);
	put_u32(b, h);
	put_u32(b, stride);
	put_u32(b, format);
	put_u32(b, n_rects);
	for (size_t i = 0; i < n_words; i++)
		put_u32(b, rects[i]);
}

/* A whole 100x50 opaque frame at `offset` for window `id`. */
static void put_frame(GByteArray *b, uint32_t id, uint32_t offset)
{
	put_shm(b, id, offset, 100, 50, 400, QM_GUI_FORMAT_XRGB8888, 1,
		(uint32_t[]){ 0, 0, 100, 50 }, 4);
}

/* HELLO (version 3), window 1: an opaque 100x50 toplevel. */
static GByteArray *prelude(void)
{
	GByteArray *b = g_byte_array_new();

	put_hello(b, QM_GUI_VERSION_3);
	put_create(b, 1, 0, 100, 50);
	return b;
}

/* Feeds all of b; returns the last status, *messages counted. */
static enum gp_decode_status feed(struct gp_decoder *d, const GByteArray *b,
				  unsigned int *messages,
				  struct gp_guest_msg *last)
{
	enum gp_decode_status st = GP_DECODE_NEED_MORE;
	size_t off = 0;

	*messages = 0;
	while (off < b->len) {
		struct gp_guest_msg m;
		size_t used;

		st = gp_decoder_feed(d, b->data + off, b->len - off, &used, &m);
		off += used;
		if (st == GP_DECODE_VIOLATION)
			return st;
		if (st == GP_DECODE_MESSAGE) {
			(*messages)++;
			if (last)
				*last = m;
		}
	}
	return st;
}

static struct gp_decoder *decoder_with_region(void)
{
	struct gp_decoder *d = gp_decoder_create();

	gp_decoder_set_shm(d, REGION);
	return d;
}

static void assert_violation(struct gp_decoder *d, const GByteArray *b,
			     const char *part)
{
	unsigned int n;

	if (feed(d, b, &n, NULL) != GP_DECODE_VIOLATION)
		g_error("expected a violation containing '%s'", part);
	if (!strstr(gp_decoder_violation(d), part))
		g_error("violation '%s' lacks '%s'", gp_decoder_violation(d),
			part);
}

/* ---- table: refused ---- */

static void b_offset_past_end(GByteArray *b)
{
	put_frame(b, 1, REGION - 64);
}

static void b_offset_far_past_end(GByteArray *b)
{
	put_frame(b, 1, 0xffffffc0u);
}

static void b_extent_one_byte_over(GByteArray *b)
{
	/* 400 * 50 = 20000 bytes from REGION - 19968: 32 bytes over */
	put_frame(b, 1, REGION - 19968);
}

/* stride * height is 2^32: 0 in 32-bit arithmetic */
static void b_stride_height_wraps_32_bit(GByteArray *b)
{
	put_create(b, 2, 0, 100, 4096);
	put_shm(b, 2, 0, 100, 4096, 1u << 20, QM_GUI_FORMAT_XRGB8888, 0,
		NULL, 0);
}

static void b_stride_huge(GByteArray *b)
{
	put_shm(b, 1, 0, 100, 50, 0xfffffffcu, QM_GUI_FORMAT_XRGB8888, 0,
		NULL, 0);
}

static void b_offset_unaligned(GByteArray *b)
{
	put_frame(b, 1, 4);
}

static void b_stride_below_width(GByteArray *b)
{
	put_shm(b, 1, 0, 100, 50, 396, QM_GUI_FORMAT_XRGB8888, 0, NULL, 0);
}

static void b_stride_unaligned(GByteArray *b)
{
	put_shm(b, 1, 0, 100, 50, 402, QM_GUI_FORMAT_XRGB8888, 0, NULL, 0);
}

static void b_size_not_the_windows(GByteArray *b)
{
	put_shm(b, 1, 0, 99, 50, 400, QM_GUI_FORMAT_XRGB8888, 0, NULL, 0);
}

static void b_size_before_resize(GByteArray *b)
{
	put_words(b, QM_GUI_BUFFER_SIZE, 1, (uint32_t[]){ 10, 10 }, 2);
	put_frame(b, 1, 0);
}

static void b_format_alpha_for_opaque(GByteArray *b)
{
	put_shm(b, 1, 0, 100, 50, 400, QM_GUI_FORMAT_ARGB8888, 0, NULL, 0);
}

static void b_format_unknown(GByteArray *b)
{
	put_shm(b, 1, 0, 100, 50, 400, 0x34325258, 0, NULL, 0);
}

static void b_too_many_rects(GByteArray *b)
{
	uint32_t r[17 * 4] = { 0 };

	put_shm(b, 1, 0, 100, 50, 400, QM_GUI_FORMAT_XRGB8888, 16, r, 16 * 4);
	/* the same with n_rects 17: length and count both beyond */
	b->data[b->len - 16 * 16 - 4] = 17;
}

static void b_rect_count_mismatch(GByteArray *b)
{
	put_shm(b, 1, 0, 100, 50, 400, QM_GUI_FORMAT_XRGB8888, 2,
		(uint32_t[]){ 0, 0, 1, 1 }, 4);
}

static void b_rect_outside(GByteArray *b)
{
	put_shm(b, 1, 0, 100, 50, 400, QM_GUI_FORMAT_XRGB8888, 1,
		(uint32_t[]){ 90, 0, 20, 1 }, 4);
}

static void b_rect_wrapping(GByteArray *b)
{
	put_shm(b, 1, 0, 100, 50, 400, QM_GUI_FORMAT_XRGB8888, 1,
		(uint32_t[]){ 0, 0xffffffffu, 1, 2 }, 4);
}

static void b_unreleased_slot_reused(GByteArray *b)
{
	put_frame(b, 1, 0);
	put_words(b, QM_GUI_COMMIT, 1, NULL, 0);
	put_frame(b, 1, 0);
}

static void b_slot_overlapping_held(GByteArray *b)
{
	put_frame(b, 1, 0);
	put_frame(b, 1, 19968);
}

static void b_slot_overlapping_other_window(GByteArray *b)
{
	put_create(b, 2, 0, 100, 50);
	put_frame(b, 2, 8192);
	put_frame(b, 1, 0);
}

static void b_unknown_window(GByteArray *b)
{
	put_frame(b, 7, 0);
}

static void b_header_too_short(GByteArray *b)
{
	put_header(b, QM_GUI_SHM_BUFFER, 1, 20);
}

static void b_header_too_long(GByteArray *b)
{
	put_header(b, QM_GUI_SHM_BUFFER, 1, 24 + 17 * 16);
}

struct bad_case {
	const char *name;
	void (*build)(GByteArray *b);
	const char *part;
};

static const struct bad_case bad_cases[] = {
	{ "offset-past-end", b_offset_past_end, "past the end" },
	{ "offset-far-past-end", b_offset_far_past_end, "past the end" },
	{ "extent-one-row-over", b_extent_one_byte_over, "past the end" },
	{ "stride-height-wraps-32-bit", b_stride_height_wraps_32_bit,
	  "past the end" },
	{ "stride-huge", b_stride_huge, "past the end" },
	{ "offset-unaligned", b_offset_unaligned, "not a multiple of 64" },
	{ "stride-below-width", b_stride_below_width, "stride 396" },
	{ "stride-unaligned", b_stride_unaligned, "stride 402" },
	{ "size-not-the-windows", b_size_not_the_windows,
	  "buffer 99x50, the window's is 100x50" },
	{ "size-before-resize", b_size_before_resize,
	  "buffer 100x50, the window's is 10x10" },
	{ "format-alpha-for-opaque", b_format_alpha_for_opaque, "format 0" },
	{ "format-unknown", b_format_unknown, "format 875713112" },
	{ "too-many-rects", b_too_many_rects, "17 damage rectangles" },
	{ "rect-count-mismatch", b_rect_count_mismatch,
	  "40 bytes for 2 rectangles" },
	{ "rect-outside", b_rect_outside, "damage 20x1 at 90,0 outside" },
	{ "rect-wrapping-32-bit", b_rect_wrapping, "outside" },
	{ "unreleased-slot-reused", b_unreleased_slot_reused,
	  "the host still holds" },
	{ "slot-overlapping-held", b_slot_overlapping_held,
	  "the host still holds" },
	{ "slot-overlapping-other-window", b_slot_overlapping_other_window,
	  "(window 2) the host still holds" },
	{ "unknown-window", b_unknown_window, "unknown window" },
	{ "header-too-short", b_header_too_short, "too short" },
	{ "header-too-long", b_header_too_long, "exceeds the maximum" },
};

static void test_bad_case(gconstpointer data)
{
	const struct bad_case *c = data;
	g_autoptr(GByteArray) b = prelude();
	struct gp_decoder *d = decoder_with_region();

	c->build(b);
	assert_violation(d, b, c->part);
	gp_decoder_destroy(d);
}

/* ---- refused for want of version 3 or a region ---- */

static void test_shm_refused_without_region(void)
{
	g_autoptr(GByteArray) b = prelude();
	struct gp_decoder *d = gp_decoder_create();

	put_frame(b, 1, 0);
	assert_violation(d, b, "no shared region was offered");
	gp_decoder_destroy(d);
}

static void test_shm_refused_in_version_1(void)
{
	g_autoptr(GByteArray) b = g_byte_array_new();
	struct gp_decoder *d = decoder_with_region();
	unsigned int n;

	put_hello(b, QM_GUI_VERSION_1);
	put_create(b, 1, 0, 100, 50);
	g_assert_cmpint(feed(d, b, &n, NULL), ==, GP_DECODE_MESSAGE);
	g_assert_cmpuint(gp_decoder_version(d), ==, 1);
	g_byte_array_set_size(b, 0);
	put_frame(b, 1, 0);
	assert_violation(d, b, "not one a guest sends in version 1");
	gp_decoder_destroy(d);
}

/* A guest announcing a later version speaks ours. */
static void test_version_is_the_lower(void)
{
	g_autoptr(GByteArray) b = g_byte_array_new();
	struct gp_decoder *d = decoder_with_region();
	struct gp_guest_msg m;
	unsigned int n;

	put_hello(b, 99);
	g_assert_cmpint(feed(d, b, &n, &m), ==, GP_DECODE_MESSAGE);
	g_assert_cmpuint(m.hello.version, ==, QM_GUI_VERSION);
	g_assert_cmpuint(gp_decoder_version(d), ==, QM_GUI_VERSION);
	gp_decoder_destroy(d);
}

/* ---- accepted ---- */

static void test_shm_fields(void)
{
	g_autoptr(GByteArray) b = prelude();
	struct gp_decoder *d = decoder_with_region();
	struct gp_guest_msg m;
	unsigned int n;

	put_create(b, 2, QM_GUI_CREATE_ALPHA, 100, 50);
	/* the last slot that fits: it ends exactly at the region's end */
	put_shm(b, 2, REGION - 512 * 50, 100, 50, 512, QM_GUI_FORMAT_ARGB8888,
		2, (uint32_t[]){ 0, 0, 100, 1, 99, 49, 1, 1 }, 8);
	g_assert_cmpint(feed(d, b, &n, &m), ==, GP_DECODE_MESSAGE);
	g_assert_cmpuint(n, ==, 4);
	g_assert_cmpint(m.type, ==, QM_GUI_SHM_BUFFER);
	g_assert_cmpuint(m.window, ==, 2);
	g_assert_cmpuint(m.shm.offset, ==, REGION - 512 * 50);
	g_assert_cmpuint(m.shm.width, ==, 100);
	g_assert_cmpuint(m.shm.height, ==, 50);
	g_assert_cmpuint(m.shm.stride, ==, 512);
	g_assert_cmpuint(m.shm.format, ==, QM_GUI_FORMAT_ARGB8888);
	g_assert_cmpuint(m.shm.n_rects, ==, 2);
	g_assert_cmpuint(m.shm.rects[1].x, ==, 99);
	g_assert_cmpuint(m.shm.rects[1].height, ==, 1);
	g_assert_cmpuint(gp_decoder_shm_held(d), ==, 1);
	gp_decoder_destroy(d);
}

/* Two slots taking turns, each named again only after its release. */
static void test_shm_slot_free_after_release(void)
{
	struct gp_decoder *d = decoder_with_region();
	unsigned int n;

	for (int frame = 0; frame < 6; frame++) {
		g_autoptr(GByteArray) b = frame == 0 ? prelude() :
						       g_byte_array_new();
		uint32_t slot = (frame % 2) * 20032;

		put_frame(b, 1, slot);
		put_words(b, QM_GUI_COMMIT, 1, NULL, 0);
		g_assert_cmpint(feed(d, b, &n, NULL), ==, GP_DECODE_MESSAGE);
		if (frame > 0)
			g_assert_true(gp_decoder_shm_release(
				d, 1, ((frame - 1) % 2) * 20032));
		g_assert_cmpuint(gp_decoder_shm_held(d), ==, 1);
	}
	/* not held: refused (a caller bug), and nothing changes */
	g_assert_false(gp_decoder_shm_release(d, 1, 0));
	g_assert_false(gp_decoder_shm_release(d, 2, 0));
	g_assert_cmpuint(gp_decoder_shm_held(d), ==, 1);
	gp_decoder_destroy(d);
}

/* QM_GUI_MAX_SHM_HELD slots may be held at once (4 for each of the
 * QM_GUI_MAX_WINDOWS windows), not one more. */
static void test_shm_held_limit(void)
{
	g_autoptr(GByteArray) b = g_byte_array_new();
	struct gp_decoder *d = decoder_with_region();
	uint32_t offset = 0;
	unsigned int n;

	put_hello(b, QM_GUI_VERSION_3);
	for (uint32_t id = 1; id <= QM_GUI_MAX_WINDOWS; id++) {
		put_create(b, id, 0, 1, 1);
		for (int i = 0; i < 4; i++, offset += 64)
			put_shm(b, id, offset, 1, 1, 4, QM_GUI_FORMAT_XRGB8888,
				0, NULL, 0);
	}
	g_assert_cmpint(feed(d, b, &n, NULL), ==, GP_DECODE_MESSAGE);
	g_assert_cmpuint(gp_decoder_shm_held(d), ==, QM_GUI_MAX_SHM_HELD);
	g_byte_array_set_size(b, 0);
	put_shm(b, 1, offset, 1, 1, 4, QM_GUI_FORMAT_XRGB8888, 0, NULL, 0);
	assert_violation(d, b, "more than 1024 slots held");
	gp_decoder_destroy(d);
}

/* DESTROY drops the window's slots: another window may use them. */
static void test_shm_destroy_frees_slots(void)
{
	g_autoptr(GByteArray) b = prelude();
	struct gp_decoder *d = decoder_with_region();
	unsigned int n;

	put_frame(b, 1, 0);
	put_words(b, QM_GUI_DESTROY, 1, NULL, 0);
	put_create(b, 2, 0, 100, 50);
	put_frame(b, 2, 0);
	g_assert_cmpint(feed(d, b, &n, NULL), ==, GP_DECODE_MESSAGE);
	g_assert_cmpuint(n, ==, 6);
	g_assert_cmpuint(gp_decoder_shm_held(d), ==, 1);
	gp_decoder_destroy(d);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
		g_autofree char *path = g_strdup_printf(
			"/gui/decode-shm/refuses/%s", bad_cases[i].name);
		g_test_add_data_func(path, &bad_cases[i], test_bad_case);
	}
	g_test_add_func("/gui/decode-shm/refuses/without-region",
			test_shm_refused_without_region);
	g_test_add_func("/gui/decode-shm/refuses/in-version-1",
			test_shm_refused_in_version_1);
	g_test_add_func("/gui/decode-shm/accepts/version-is-the-lower",
			test_version_is_the_lower);
	g_test_add_func("/gui/decode-shm/refuses/more-slots-held-than-the-limit",
			test_shm_held_limit);
	g_test_add_func("/gui/decode-shm/accepts/fields",
			test_shm_fields);
	g_test_add_func("/gui/decode-shm/accepts/slot-free-after-release",
			test_shm_slot_free_after_release);
	g_test_add_func("/gui/decode-shm/accepts/destroy-frees-slots",
			test_shm_destroy_frees_slots);
	return g_test_run();
}
