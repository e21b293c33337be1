/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A window whose content comes from slots of its guest's shared region
 * (SHM_BUFFER, protocol version 3) rather than from the proxy's copy.
 *
 * The decoder checked every slot (inside the region, the window's size
 * and format, not overlapping a slot still held) and holds it until
 * slot_release() here tells it and the guest (SHM_RELEASE) that the host
 * is done with it: when it is neither pending nor shown and the
 * compositor released every wl_buffer made on it.  The wl_buffers are
 * made at present time, never larger than the slot the decoder checked
 * nor than the visible content (the border's hole); smaller is allowed
 * (the black middle of the frame shows around it).
 */
#include <string.h>

#include "proxy.h"

struct slot {
	uint32_t offset, stride, format;
	uint32_t width, height;
	unsigned int live;              /* wl_buffers not yet released */
	bool pending, current;
};

struct shm_buf {
	struct gp_window_shm *s;
	struct wl_buffer *buffer;
	uint32_t offset;
	uint32_t width, height;
};

struct gp_window_shm {
	struct gp_window *w;
	bool active;                    /* the content is a slot */
	GArray *slots;                  /* struct slot, held by us */
	GPtrArray *bufs;                /* struct shm_buf, unreleased */
	struct shm_buf *shown;          /* attached last, or NULL */
	/* damage since the last attach, buffer coordinates (x0 >= x1:
	 * none) */
	uint32_t dx0, dy0, dx1, dy1;
	bool damage_all;
};

static struct slot *slot_find(struct gp_window_shm *s, uint32_t offset)
{
	for (guint i = 0; i < s->slots->len; i++) {
		struct slot *sl = &g_array_index(s->slots, struct slot, i);

		if (sl->offset == offset)
			return sl;
	}
	return NULL;
}

static struct slot *slot_pending(struct gp_window_shm *s)
{
	for (guint i = 0; i < s->slots->len; i++) {
		struct slot *sl = &g_array_index(s->slots, struct slot, i);

		if (sl->pending)
			return sl;
	}
	return NULL;
}

static struct slot *slot_current(struct gp_window_shm *s)
{
	for (guint i = 0; i < s->slots->len; i++) {
		struct slot *sl = &g_array_index(s->slots, struct slot, i);

		if (sl->current)
			return sl;
	}
	return NULL;
}

/* Releases every slot the host is done with.  False when the guest was
 * disconnected meanwhile (the window is freed: touch nothing). */
static bool slots_settle(struct gp_window_shm *s)
{
	struct gp_window *w = s->w;
	struct gp_guest *g = w->guest;
	uint32_t id = w->id;

	for (guint i = s->slots->len; i-- > 0;) {
		struct slot *sl = &g_array_index(s->slots, struct slot, i);
		struct qm_gui_shm_release rel = { sl->offset };
		bool held;

		if (sl->live || sl->pending || sl->current)
			continue;
		g_array_remove_index_fast(s->slots, i);
		if (!g->decoder)
			continue;
		held = gp_decoder_shm_release(g->decoder, id, rel.offset);
		g_assert(held);
		gp_guest_send(g, QM_GUI_SHM_RELEASE, id, &rel, sizeof(rel));
		if (g->fd < 0)
			return false;
	}
	return true;
}

static void buf_free(struct shm_buf *b)
{
	wl_buffer_destroy(b->buffer);
	g_free(b);
}

static void buf_release(void *data, struct wl_buffer *wl_buffer)
{
	struct shm_buf *b = data;
	struct gp_window_shm *s = b->s;
	struct slot *sl = slot_find(s, b->offset);

	g_ptr_array_remove_fast(s->bufs, b);
	if (s->shown == b)
		s->shown = NULL;
	if (sl)
		sl->live--;
	buf_free(b);
	slots_settle(s);
}

static const struct wl_buffer_listener buf_listener = {
	.release = buf_release,
};

static struct gp_window_shm *shm_get(struct gp_window *w)
{
	if (!w->shm) {
		struct gp_window_shm *s = g_new0(struct gp_window_shm, 1);

		s->w = w;
		s->slots = g_array_new(FALSE, FALSE, sizeof(struct slot));
		s->bufs = g_ptr_array_new();
		w->shm = s;
	}
	return w->shm;
}

static void damage_add(struct gp_window_shm *s, uint32_t x, uint32_t y,
		       uint32_t dw, uint32_t dh)
{
	if (dw == 0 || dh == 0)
		return;
	if (s->dx0 >= s->dx1 || s->dy0 >= s->dy1) {
		s->dx0 = x, s->dy0 = y, s->dx1 = x + dw, s->dy1 = y + dh;
		return;
	}
	s->dx0 = MIN(s->dx0, x), s->dy0 = MIN(s->dy0, y);
	s->dx1 = MAX(s->dx1, x + dw), s->dy1 = MAX(s->dy1, y + dh);
}

void gp_window_shm_buffer(struct gp_window *w, const struct gp_guest_msg *m)
{
	struct gp_window_shm *s = shm_get(w);
	struct slot *old = slot_pending(s);
	struct slot sl = {
		.offset = m->shm.offset, .stride = m->shm.stride,
		.format = m->shm.format, .width = m->shm.width,
		.height = m->shm.height, .pending = true,
	};

	/* A frame not yet shown is replaced: its slot is free again. */
	if (old)
		old->pending = false;
	if (!s->active) {
		s->damage_all = true;   /* from the proxy's own buffers */
		g_debug("guest '%s' window %u: frames through the shared "
			"region", w->guest->cfg.name, w->id);
	}
	s->active = true;
	g_array_append_val(s->slots, sl);
	for (uint32_t i = 0; i < m->shm.n_rects; i++)
		damage_add(s, m->shm.rects[i].x, m->shm.rects[i].y,
			   m->shm.rects[i].width, m->shm.rects[i].height);
	if (!w->frame) {
		/* Never shown (off screen for good): not held. */
		g_array_index(s->slots, struct slot, s->slots->len - 1)
			.pending = false;
	}
	slots_settle(s);
}

bool gp_window_shm_active(const struct gp_window *w)
{
	return w->shm && w->shm->active;
}

void gp_window_shm_leave(struct gp_window *w)
{
	struct gp_window_shm *s = w->shm;
	struct slot *p;

	if (!s || !s->active)
		return;
	/* The guest went back to DAMAGE: what is pending is never shown;
	 * the shown slot goes when the compositor lets go of it. */
	s->active = false;
	p = slot_pending(s);
	if (p)
		p->pending = false;
	slots_settle(s);
}

void gp_window_shm_resized(struct gp_window *w)
{
	struct gp_window_shm *s = w->shm;
	struct slot *p;

	if (!s)
		return;
	/* A pending frame of the old size is never shown. */
	p = slot_pending(s);
	if (p)
		p->pending = false;
	s->damage_all = true;
	slots_settle(s);
}

bool gp_window_shm_attach(struct gp_window *w, uint32_t vw, uint32_t vh,
			  bool *covers)
{
	struct gp_window_shm *s = w->shm;
	struct gp_guest *g = w->guest;
	struct slot *p = slot_pending(s), *cur = slot_current(s);
	struct slot *use = p ? p : cur;

	*covers = s->shown && s->shown->width == vw &&
		  s->shown->height == vh;
	if (!use || !g->pool)
		return true;    /* nothing to show yet: the frame alone */
	/* Never beyond the slot the decoder checked, nor the hole. */
	uint32_t bw = MIN(vw, use->width), bh = MIN(vh, use->height);
	*covers = bw == vw && bh == vh;
	if (!p && s->shown && s->shown->offset == use->offset &&
	    s->shown->width == bw && s->shown->height == bh)
		return true;    /* the same buffer stays */

	struct shm_buf *b = g_new0(struct shm_buf, 1);
	b->s = s;
	b->offset = use->offset;
	b->width = bw;
	b->height = bh;
	b->buffer = wl_shm_pool_create_buffer(g->pool, (int32_t)use->offset,
					      (int32_t)bw, (int32_t)bh,
					      (int32_t)use->stride,
					      use->format);
	wl_buffer_add_listener(b->buffer, &buf_listener, b);
	g_ptr_array_add(s->bufs, b);
	use->live++;
	wl_surface_attach(w->content, b->buffer, 0, 0);
	if (!p || s->damage_all || !s->shown)
		wl_surface_damage_buffer(w->content, 0, 0, (int32_t)bw,
					 (int32_t)bh);
	else if (s->dx0 < MIN(s->dx1, bw) && s->dy0 < MIN(s->dy1, bh))
		wl_surface_damage_buffer(w->content, (int32_t)s->dx0,
					 (int32_t)s->dy0,
					 (int32_t)(MIN(s->dx1, bw) - s->dx0),
					 (int32_t)(MIN(s->dy1, bh) - s->dy0));
	s->dx0 = s->dy0 = s->dx1 = s->dy1 = 0;
	s->damage_all = false;
	s->shown = b;
	if (p && p != cur) {
		p->pending = false;
		p->current = true;
		if (cur)
			cur->current = false;
	}
	/* The compositor answers with release: settled then.  A slot that
	 * stopped being current with its buffers all released already
	 * (a compositor that copies at commit) is settled now. */
	return slots_settle(s);
}

void gp_window_shm_finish(struct gp_window *w)
{
	struct gp_window_shm *s = w->shm;

	if (!s)
		return;
	/* The compositor keeps what it shows; no release comes for a
	 * destroyed wl_buffer. */
	for (guint i = 0; i < s->bufs->len; i++)
		buf_free(s->bufs->pdata[i]);
	g_ptr_array_set_size(s->bufs, 0);
	s->shown = NULL;
	/* The current and pending slots stay held, with their pixels: a
	 * window made anew on another compositor (gp_window_host_restore)
	 * shows them at once.  A window that goes for good takes them with
	 * it (gp_window_shm_destroy; the decoder forgets its slots). */
	for (guint i = 0; i < s->slots->len; i++)
		g_array_index(s->slots, struct slot, i).live = 0;
	s->damage_all = true;
}

void gp_window_shm_destroy(struct gp_window *w)
{
	struct gp_window_shm *s = w->shm;

	if (!s)
		return;
	gp_window_shm_finish(w);
	g_array_free(s->slots, TRUE);
	g_ptr_array_free(s->bufs, TRUE);
	g_free(s);
	w->shm = NULL;
}
