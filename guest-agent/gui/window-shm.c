/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "window-shm.h"

#include <string.h>
#include <glib.h>

#include "gui-proto.h"
#include "host-link.h"
#include "server.h"
#include "shm-region.h"
#include "window.h"

struct slot {
	uint32_t offset;
	bool allocated;
	bool held;                      /* named to the host, not released */
	struct ga_damage stale;         /* changed since it was written */
};

struct ga_window_shm {
	uint32_t width, height, stride; /* of both slots */
	struct slot slot[2];
	/* slots of an earlier size the host still holds: freed on their
	 * release */
	GArray *retired;                /* uint32_t offsets */
	bool used;                      /* the last frame went through */
};

static struct ga_window_shm *shm_get(struct ga_window *w)
{
	if (w->shm == NULL) {
		w->shm = g_new0(struct ga_window_shm, 1);
		w->shm->retired = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	}
	return w->shm;
}

/* Gives back the slots (those the host holds wait for their release). */
static void slots_drop(struct ga_window *w)
{
	struct ga_window_shm *s = w->shm;
	struct ga_region *r = w->server->region;

	for (int i = 0; i < 2; i++) {
		struct slot *sl = &s->slot[i];

		if (!sl->allocated)
			continue;
		if (sl->held)
			g_array_append_val(s->retired, sl->offset);
		else
			ga_region_free(r, sl->offset);
		memset(sl, 0, sizeof(*sl));
	}
	s->width = s->height = s->stride = 0;
}

static bool slots_make(struct ga_window *w)
{
	struct ga_window_shm *s = w->shm;
	struct ga_region *r = w->server->region;
	uint32_t stride = w->width * 4;
	size_t size = (size_t)stride * w->height;

	slots_drop(w);
	for (int i = 0; i < 2; i++) {
		struct slot *sl = &s->slot[i];

		if (!ga_region_alloc(r, size, &sl->offset)) {
			slots_drop(w);
			return false;
		}
		sl->allocated = true;
		ga_damage_add(&sl->stale, 0, 0, (int32_t)w->width,
			      (int32_t)w->height);
	}
	s->width = w->width;
	s->height = w->height;
	s->stride = stride;
	return true;
}

enum ga_shm_result ga_window_shm_send(struct ga_window *w,
				      const struct ga_damage *damage,
				      const uint8_t *origin,
				      size_t src_stride)
{
	struct ga_server *server = w->server;
	struct ga_link *link = server->link;

	if (server->region == NULL || !ga_link_host_shm(link))
		return GA_SHM_UNUSED;
	struct ga_window_shm *s = shm_get(w);
	if ((s->width != w->width || s->height != w->height ||
	     !s->slot[0].allocated) && !slots_make(w)) {
		/* s->used stays: the first DAMAGE is then whole */
		if (s->used)
			g_message("window %u: %ux%u does not fit in the shared "
				  "region twice; frames go through the stream",
				  w->id, w->width, w->height);
		return GA_SHM_UNUSED;
	}
	struct slot *sl = !s->slot[0].held ? &s->slot[0] :
			  !s->slot[1].held ? &s->slot[1] : NULL;
	if (sl == NULL)
		return GA_SHM_WAIT;
	/* the host refuses more (many windows, resized while held) */
	if (server->region->held >= QM_GUI_MAX_SHM_HELD)
		return GA_SHM_UNUSED;

	/* What changed since this slot was written: its stale part and this
	 * frame's damage; the other slot goes stale by this frame. */
	ga_damage_add_all(&sl->stale, damage, 0, 0);
	ga_damage_clip(&sl->stale, s->width, s->height);
	ga_damage_add_all(&s->slot[sl == &s->slot[0]].stale, damage, 0, 0);
	uint8_t *dst = server->region->data + sl->offset;
	for (unsigned i = 0; i < sl->stale.n; i++) {
		const struct ga_rect *r = &sl->stale.r[i];
		size_t row = (size_t)r->width * 4;

		for (int32_t y = r->y; y < r->y + r->height; y++)
			memcpy(dst + (size_t)y * s->stride + (size_t)r->x * 4,
			       origin + (size_t)y * src_stride +
				       (size_t)r->x * 4,
			       row);
	}
	ga_damage_clear(&sl->stale);

	/* With the window's own format: the host fixed it at CREATE. */
	uint32_t format = w->flags & QM_GUI_CREATE_ALPHA ?
			  QM_GUI_FORMAT_ARGB8888 : QM_GUI_FORMAT_XRGB8888;
	G_STATIC_ASSERT(GA_DAMAGE_MAX <= QM_GUI_MAX_SHM_RECTS);
	uint8_t *p = ga_link_reserve(link, QM_GUI_SHM_BUFFER, w->id,
				     sizeof(struct qm_gui_shm_buffer) +
				     damage->n * sizeof(struct qm_gui_rect));
	ga_put32(p, sl->offset);
	ga_put32(p + 4, s->width);
	ga_put32(p + 8, s->height);
	ga_put32(p + 12, s->stride);
	ga_put32(p + 16, format);
	ga_put32(p + 20, damage->n);
	p += sizeof(struct qm_gui_shm_buffer);
	for (unsigned i = 0; i < damage->n; i++, p += 16) {
		ga_put32(p, (uint32_t)damage->r[i].x);
		ga_put32(p + 4, (uint32_t)damage->r[i].y);
		ga_put32(p + 8, (uint32_t)damage->r[i].width);
		ga_put32(p + 12, (uint32_t)damage->r[i].height);
	}
	sl->held = true;
	server->region->held++;
	s->used = true;
	return GA_SHM_SENT;
}

bool ga_window_shm_needs_full_damage(struct ga_window *w)
{
	bool used = w->shm != NULL && w->shm->used;

	if (used)
		w->shm->used = false;
	return used;
}

void ga_window_shm_release(struct ga_window *w, uint32_t offset)
{
	struct ga_window_shm *s = w->shm;

	if (s == NULL)
		goto unknown;
	for (int i = 0; i < 2; i++) {
		if (s->slot[i].allocated && s->slot[i].offset == offset &&
		    s->slot[i].held) {
			s->slot[i].held = false;
			w->server->region->held--;
			return;
		}
	}
	for (guint i = 0; i < s->retired->len; i++) {
		if (g_array_index(s->retired, uint32_t, i) == offset) {
			g_array_remove_index_fast(s->retired, i);
			ga_region_free(w->server->region, offset);
			w->server->region->held--;
			return;
		}
	}
unknown:
	g_warning("host: SHM_RELEASE of %u for window %u, which it does not "
		  "hold; ignored", offset, w->id);
}

void ga_window_shm_host_lost(struct ga_window *w)
{
	struct ga_window_shm *s = w->shm;

	if (s == NULL)
		return;
	struct ga_region *r = w->server->region;

	for (guint i = 0; i < s->retired->len; i++) {
		ga_region_free(r, g_array_index(s->retired, uint32_t, i));
		r->held--;
	}
	g_array_set_size(s->retired, 0);
	for (int i = 0; i < 2; i++) {
		if (s->slot[i].held)
			r->held--;
		s->slot[i].held = false;
	}
	/* the next host sees the whole window anyway (announce) */
	s->used = false;
}

void ga_window_shm_free(struct ga_window *w)
{
	struct ga_window_shm *s = w->shm;

	if (s == NULL)
		return;
	ga_window_shm_host_lost(w);
	slots_drop(w);
	g_array_free(s->retired, TRUE);
	g_free(s);
	w->shm = NULL;
}
