/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The shared-region part of the guest decoder (guest-decode-shm.h):
 * SHM_BUFFER's fields against the region the host really has, and the
 * slots the host holds.  Called by guest-decode.c once the header (type
 * allowed in the negotiated version, window live, length bounded) has
 * passed.
 */
#include <string.h>
#include <glib.h>

#include "guest-decode-shm.h"

struct held {
	uint32_t window;
	uint64_t start, end;            /* [start, end) of the region */
};

struct gp_decode_shm {
	uint64_t size;                  /* the region's real size */
	GArray *held;                   /* struct held */
};

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

struct gp_decode_shm *gp_decode_shm_create(uint64_t region_size)
{
	struct gp_decode_shm *s = g_new0(struct gp_decode_shm, 1);

	g_assert(region_size > 0 && region_size <= QM_GUI_MAX_SHM_SIZE);
	s->size = region_size;
	s->held = g_array_new(FALSE, FALSE, sizeof(struct held));
	return s;
}

void gp_decode_shm_destroy(struct gp_decode_shm *s)
{
	if (!s)
		return;
	g_array_free(s->held, TRUE);
	g_free(s);
}

uint64_t gp_decode_shm_size(const struct gp_decode_shm *s)
{
	return s->size;
}

unsigned int gp_decode_shm_held(const struct gp_decode_shm *s)
{
	return s->held->len;
}

char *gp_decode_shm_buffer(struct gp_decode_shm *s,
			   const struct gp_window_info *w, const uint8_t *p,
			   size_t len, struct gp_guest_msg *out)
{
	uint32_t untrusted_offset = get_u32(p);
	uint32_t untrusted_w = get_u32(p + 4), untrusted_h = get_u32(p + 8);
	uint32_t untrusted_stride = get_u32(p + 12);
	uint32_t untrusted_format = get_u32(p + 16);
	uint32_t untrusted_n = get_u32(p + 20);
	uint32_t want_format = w->alpha ? QM_GUI_FORMAT_ARGB8888 :
					  QM_GUI_FORMAT_XRGB8888;

	/* The length first: the rectangles are read only when they are
	 * all there. */
	if (untrusted_n > QM_GUI_MAX_SHM_RECTS)
		return g_strdup_printf("%u damage rectangles (at most %u)",
				       untrusted_n, QM_GUI_MAX_SHM_RECTS);
	if (len != sizeof(struct qm_gui_shm_buffer) +
		   (size_t)untrusted_n * sizeof(struct qm_gui_rect))
		return g_strdup_printf("%zu bytes for %u rectangles", len,
				       untrusted_n);
	if (untrusted_w != w->width || untrusted_h != w->height)
		return g_strdup_printf("buffer %ux%u, the window's is %ux%u",
				       untrusted_w, untrusted_h, w->width,
				       w->height);
	if (untrusted_format != want_format)
		return g_strdup_printf("format %u, the window's is %u",
				       untrusted_format, want_format);
	if (untrusted_stride % 4 != 0 ||
	    (uint64_t)untrusted_stride < (uint64_t)untrusted_w * 4)
		return g_strdup_printf("stride %u for width %u",
				       untrusted_stride, untrusted_w);
	if (untrusted_offset % QM_GUI_SHM_ALIGN != 0)
		return g_strdup_printf("offset %u is not a multiple of %u",
				       untrusted_offset, QM_GUI_SHM_ALIGN);
	/* All 64 bit: at most 2^32 + 2^32 * 4320 < 2^45. */
	uint64_t start = untrusted_offset;
	uint64_t end = start + (uint64_t)untrusted_stride * untrusted_h;
	if (end > s->size)
		return g_strdup_printf("slot [%" G_GUINT64_FORMAT ", %"
				       G_GUINT64_FORMAT ") past the end of the "
				       "%" G_GUINT64_FORMAT "-byte region",
				       start, end, s->size);
	for (guint i = 0; i < s->held->len; i++) {
		const struct held *h = &g_array_index(s->held, struct held, i);

		if (start < h->end && h->start < end)
			return g_strdup_printf("slot at %u overlaps the one at "
					       "%" G_GUINT64_FORMAT " (window "
					       "%u) the host still holds",
					       untrusted_offset, h->start,
					       h->window);
	}
	if (s->held->len >= QM_GUI_MAX_SHM_HELD)
		return g_strdup_printf("more than %u slots held",
				       QM_GUI_MAX_SHM_HELD);

	const uint8_t *r = p + sizeof(struct qm_gui_shm_buffer);
	for (uint32_t i = 0; i < untrusted_n; i++, r += 16) {
		uint32_t x = get_u32(r), y = get_u32(r + 4);
		uint32_t rw = get_u32(r + 8), rh = get_u32(r + 12);

		if ((uint64_t)x + rw > untrusted_w ||
		    (uint64_t)y + rh > untrusted_h)
			return g_strdup_printf("damage %ux%u at %u,%u outside "
					       "the %ux%u buffer", rw, rh, x,
					       y, untrusted_w, untrusted_h);
		out->shm.rects[i] = (struct qm_gui_rect){ x, y, rw, rh };
	}

	/* sanitized */
	struct held h = { w->id, start, end };
	g_array_append_val(s->held, h);
	out->shm.offset = untrusted_offset;
	out->shm.width = untrusted_w;
	out->shm.height = untrusted_h;
	out->shm.stride = untrusted_stride;
	out->shm.format = untrusted_format;
	out->shm.n_rects = untrusted_n;
	return NULL;
}

bool gp_decode_shm_release(struct gp_decode_shm *s, uint32_t window,
			   uint32_t offset)
{
	for (guint i = 0; i < s->held->len; i++) {
		const struct held *h = &g_array_index(s->held, struct held, i);

		if (h->window == window && h->start == offset) {
			g_array_remove_index_fast(s->held, i);
			return true;
		}
	}
	return false;
}

void gp_decode_shm_forget_window(struct gp_decode_shm *s, uint32_t window)
{
	for (guint i = s->held->len; i-- > 0;)
		if (g_array_index(s->held, struct held, i).window == window)
			g_array_remove_index_fast(s->held, i);
}
