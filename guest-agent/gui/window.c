/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "window.h"

#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <wayland-server-protocol.h>

#include "host-link.h"
#include "seat.h"
#include "server.h"
#include "shm.h"
#include "subsurface.h"
#include "surface.h"
#include "window-shm.h"

struct ga_window *ga_window_lookup(struct ga_server *server, uint32_t id)
{
	struct ga_window *w = g_hash_table_lookup(server->windows,
						  GUINT_TO_POINTER(id));

	return w != NULL && w->live ? w : NULL;
}

static uint32_t allocate_id(struct ga_server *server)
{
	if (g_hash_table_size(server->windows) >= QM_GUI_MAX_WINDOWS)
		return 0;
	for (;;) {
		uint32_t id = ++server->last_window_id;
		if (id == 0)
			continue;
		if (!g_hash_table_contains(server->windows,
					   GUINT_TO_POINTER(id)))
			return id;
	}
}

/* The part of the root buffer the host shows: the window geometry
 * clipped to the buffer, or all of the buffer. */
static struct ga_rect shown_rect(const struct ga_window *w,
				 const struct ga_surface *root)
{
	struct ga_rect all = { 0, 0, (int32_t)root->width,
			       (int32_t)root->height };

	if (!w->has_geometry)
		return all;
	struct ga_damage d = { 0 };
	ga_damage_add(&d, w->geometry.x, w->geometry.y, w->geometry.width,
		      w->geometry.height);
	ga_damage_clip(&d, root->width, root->height);
	return d.n == 1 ? d.r[0] : all;
}

void ga_window_set_geometry(struct ga_window *w, const struct ga_rect *g)
{
	bool has = g != NULL;

	if (has == w->has_geometry &&
	    (!has || memcmp(g, &w->geometry, sizeof(*g)) == 0))
		return;
	w->has_geometry = has;
	if (has)
		w->geometry = *g;
	w->dirty = true;
}

/* CREATE, then everything again: the host knows nothing of the window */
static void announce(struct ga_window *w)
{
	uint8_t c[24];
	uint32_t flags = w->flags;

	/* a grab is version 2's; a host of 1 (or not yet known) shows the
	 * popup without one */
	if (ga_link_version(w->server->link) < QM_GUI_VERSION_2)
		flags &= ~(uint32_t)QM_GUI_CREATE_GRAB;
	ga_put32(c, w->parent);
	ga_put32(c + 4, flags);
	ga_put32(c + 8, (uint32_t)w->x);
	ga_put32(c + 12, (uint32_t)w->y);
	ga_put32(c + 16, w->width);
	ga_put32(c + 20, w->height);
	ga_link_send(w->server->link, QM_GUI_CREATE, w->id, c, sizeof(c),
		     NULL, 0);
	w->announced = true;
	ga_damage_add(&w->damage, 0, 0, (int32_t)w->surface->width,
		      (int32_t)w->surface->height);
	w->dirty = true;
	w->title_dirty = w->title != NULL;
	w->app_id_dirty = w->app_id != NULL;
	w->states_dirty = w->states != 0;
}

struct ga_window *ga_window_create(struct ga_server *server,
				   struct ga_surface *root,
				   const struct ga_rect *geometry,
				   const struct ga_window_impl *impl,
				   void *owner, uint32_t parent, uint32_t flags,
				   int32_t x, int32_t y)
{
	uint32_t id = allocate_id(server);

	if (id == 0) {
		if (!server->window_limit_warned)
			g_warning("%u windows exist: new ones are not shown "
				  "until some are gone", QM_GUI_MAX_WINDOWS);
		server->window_limit_warned = true;
		return NULL;
	}
	struct ga_window *w = g_new0(struct ga_window, 1);
	w->id = id;
	w->server = server;
	w->surface = root;
	w->impl = impl;
	w->owner = owner;
	w->live = true;
	if (geometry != NULL) {
		w->has_geometry = true;
		w->geometry = *geometry;
	}
	struct ga_rect shown = shown_rect(w, root);
	w->crop_x = shown.x;
	w->crop_y = shown.y;
	w->width = (uint32_t)shown.width;
	w->height = (uint32_t)shown.height;
	wl_list_init(&w->frame_pending);
	wl_list_init(&w->frame_waiting);
	g_hash_table_insert(server->windows, GUINT_TO_POINTER(id), w);
	root->window = w;
	root->size_changed = false;

	if (root->format == WL_SHM_FORMAT_ARGB8888)
		flags |= QM_GUI_CREATE_ALPHA;
	w->parent = parent;
	w->flags = flags;
	w->x = x;
	w->y = y;
	if (ga_link_connected(server->link))
		announce(w);
	return w;
}

static void window_free(struct ga_window *w)
{
	ga_server_add_orphan_callbacks(w->server, &w->frame_pending);
	ga_server_add_orphan_callbacks(w->server, &w->frame_waiting);
	ga_window_shm_free(w);
	free(w->image);
	g_free(w->title);
	g_free(w->app_id);
	g_free(w);
}

void ga_window_unmap(struct ga_window *w)
{
	if (!w->live)
		return;
	ga_seat_window_gone(w->server->seat, w);
	w->live = false;
	if (w->surface != NULL) {
		w->surface->window = NULL;
		w->surface = NULL;
	}
	free(w->image);
	w->image = NULL;
	/* the client must not wait for frames of a window that is gone */
	ga_server_add_orphan_callbacks(w->server, &w->frame_pending);
	ga_server_add_orphan_callbacks(w->server, &w->frame_waiting);
	if (!w->announced) {
		/* the host never heard of it: the id is free at once */
		g_hash_table_remove(w->server->windows, GUINT_TO_POINTER(w->id));
		w->server->window_limit_warned = false;
		window_free(w);
		return;
	}
	ga_link_send(w->server->link, QM_GUI_DESTROY, w->id, NULL, 0, NULL, 0);
}

void ga_window_destroyed(struct ga_server *server, uint32_t id)
{
	struct ga_window *w = g_hash_table_lookup(server->windows,
						  GUINT_TO_POINTER(id));

	if (w == NULL || w->live) {
		g_warning("host: DESTROYED for window %u, which is not being "
			  "destroyed; ignored", id);
		return;
	}
	g_hash_table_remove(server->windows, GUINT_TO_POINTER(id));
	server->window_limit_warned = false;
	window_free(w);
}

void ga_window_free_all(struct ga_server *server)
{
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, server->windows);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct ga_window *w = value;
		if (w->surface != NULL)
			w->surface->window = NULL;
		window_free(w);
		g_hash_table_iter_remove(&it);
	}
}

/* ---- compositing of subsurfaces ---- */

static bool tree_has_content(struct ga_surface *s)
{
	struct ga_subsurface *sub;

	wl_list_for_each(sub, &s->children, parent_link)
		if (sub->surface != NULL &&
		    (sub->surface->has_buffer || tree_has_content(sub->surface)))
			return true;
	return false;
}

/* Draws `s` (premultiplied ARGB or opaque XRGB) over the image (the
 * size of the root buffer) at x, y. */
static void draw_surface(struct ga_window *w, struct ga_surface *s,
			 int64_t x, int64_t y)
{
	uint32_t iw = w->surface->width, ih = w->surface->height;
	int64_t x0 = x < 0 ? 0 : x, y0 = y < 0 ? 0 : y;
	int64_t x1 = x + s->width, y1 = y + s->height;

	if (x1 > iw)
		x1 = iw;
	if (y1 > ih)
		y1 = ih;
	bool opaque = s->format == WL_SHM_FORMAT_XRGB8888;
	for (int64_t row = y0; row < y1; row++) {
		uint8_t *d = w->image + ((size_t)row * iw + (size_t)x0) * 4;
		const uint8_t *p = s->pixels +
			((size_t)(row - y) * s->width + (size_t)(x0 - x)) * 4;
		for (int64_t col = x0; col < x1; col++, d += 4, p += 4) {
			if (opaque) {
				memcpy(d, p, 3);
				d[3] = 0xff;
				continue;
			}
			unsigned inv = 255u - p[3];
			for (int c = 0; c < 4; c++)
				d[c] = (uint8_t)(p[c] + (d[c] * inv + 127) / 255);
		}
	}
}

static void draw_children(struct ga_window *w, struct ga_surface *parent,
			  int64_t x, int64_t y, unsigned depth)
{
	struct ga_subsurface *sub;

	/* the tree is the client's: bound the recursion */
	if (depth > 32)
		return;
	wl_list_for_each(sub, &parent->children, parent_link) {
		struct ga_surface *c = sub->surface;
		if (c == NULL)
			continue;
		if (c->has_buffer && ga_surface_sync(c) && c->pixels != NULL)
			draw_surface(w, c, x + sub->x, y + sub->y);
		draw_children(w, c, x + sub->x, y + sub->y, depth + 1);
	}
}

bool ga_window_composes(struct ga_window *w)
{
	return w->surface != NULL && tree_has_content(w->surface);
}

static bool compose(struct ga_window *w)
{
	struct ga_surface *root = w->surface;
	size_t size = (size_t)root->width * root->height * 4;

	/* the root's buffer is read into its copy and released: the copy
	 * is what is drawn under the children */
	if (!ga_surface_sync(root) || root->pixels == NULL)
		return false;
	uint8_t *img = realloc(w->image, size);
	if (img == NULL)
		return false;
	w->image = img;
	memcpy(w->image, root->pixels, size);
	draw_children(w, root, 0, 0, 0);
	return true;
}

/* ---- frames ---- */

static void flush_meta(struct ga_window *w);

static void window_flush(struct ga_window *w)
{
	struct ga_link *link = w->server->link;

	flush_meta(w);
	if (!w->live || !w->announced || w->surface == NULL ||
	    w->frame_inflight)
		return;
	if (!w->dirty && wl_list_empty(&w->frame_pending))
		return;
	if (ga_link_queued(link) >= GA_LINK_HIGH_WATER)
		return; /* ga_window_flush_all() comes back on drain */

	struct ga_surface *root = w->surface;
	if (root->width == 0)
		return;
	struct ga_rect shown = shown_rect(w, root);
	if ((uint32_t)shown.width != w->width ||
	    (uint32_t)shown.height != w->height) {
		uint8_t size[8];
		w->width = (uint32_t)shown.width;
		w->height = (uint32_t)shown.height;
		ga_put32(size, w->width);
		ga_put32(size + 4, w->height);
		ga_link_send(link, QM_GUI_BUFFER_SIZE, w->id, size,
			     sizeof(size), NULL, 0);
		ga_damage_add(&w->damage, 0, 0, (int32_t)root->width,
			      (int32_t)root->height);
	}
	if (shown.x != w->crop_x || shown.y != w->crop_y) {
		w->crop_x = shown.x;
		w->crop_y = shown.y;
		ga_damage_add(&w->damage, 0, 0, (int32_t)root->width,
			      (int32_t)root->height);
	}
	/* The source: the composited image, or the root surface's content
	 * (the client's buffer itself in the common case: one copy from it
	 * into the slot or the stream). */
	struct ga_shm_view view = { 0 };
	if (tree_has_content(root) && compose(w)) {
		view.data = w->image;
		view.stride = (size_t)root->width * 4;
		ga_damage_clear(&w->damage);
		ga_damage_add(&w->damage, 0, 0, (int32_t)root->width,
			      (int32_t)root->height);
	} else {
		free(w->image);
		w->image = NULL;
		if (!ga_shm_view_begin(root, &view))
			return;
	}

	/* buffer coordinates to the host's: the shown part's origin is 0,0 */
	struct ga_damage d = { 0 };
	ga_damage_add_all(&d, &w->damage, -w->crop_x, -w->crop_y);
	ga_damage_clip(&d, w->width, w->height);
	size_t src_stride = view.stride;
	const uint8_t *origin = view.data + (size_t)w->crop_y * src_stride +
				(size_t)w->crop_x * 4;
	switch (ga_window_shm_send(w, &d, origin, src_stride)) {
	case GA_SHM_WAIT:
		ga_shm_view_end(&view);
		return; /* ga_window_flush_all() comes back on a release */
	case GA_SHM_SENT:
		d.n = 0;
		break;
	case GA_SHM_UNUSED:
		if (ga_window_shm_needs_full_damage(w)) {
			ga_damage_clear(&d);
			ga_damage_add(&d, 0, 0, (int32_t)w->width,
				      (int32_t)w->height);
		}
		break;
	}
	for (unsigned i = 0; i < d.n; i++) {
		const struct ga_rect *r = &d.r[i];
		size_t row = (size_t)r->width * 4;
		uint8_t *p = ga_link_reserve(link, QM_GUI_DAMAGE, w->id,
					     16 + row * (size_t)r->height);
		ga_put32(p, (uint32_t)r->x);
		ga_put32(p + 4, (uint32_t)r->y);
		ga_put32(p + 8, (uint32_t)r->width);
		ga_put32(p + 12, (uint32_t)r->height);
		p += 16;
		for (int32_t y = r->y; y < r->y + r->height; y++, p += row)
			memcpy(p, origin + (size_t)y * src_stride +
					  (size_t)r->x * 4,
			       row);
	}
	ga_shm_view_end(&view);
	ga_damage_clear(&w->damage);
	w->dirty = false;
	ga_link_send(link, QM_GUI_COMMIT, w->id, NULL, 0, NULL, 0);
	w->frame_inflight = true;
	wl_list_insert_list(w->frame_waiting.prev, &w->frame_pending);
	wl_list_init(&w->frame_pending);
}

void ga_window_surface_changed(struct ga_window *w, struct ga_surface *s,
			       bool flush)
{
	if (s == w->surface) {
		ga_damage_add_all(&w->damage, &s->content_damage, 0, 0);
	} else {
		/* a subsurface: the whole image is composed again anyway */
		ga_damage_add(&w->damage, 0, 0, (int32_t)w->surface->width,
			      (int32_t)w->surface->height);
	}
	if (!ga_damage_empty(&s->content_damage))
		w->dirty = true;
	ga_damage_clear(&s->content_damage);
	if (s->size_changed) {
		s->size_changed = false;
		w->dirty = true;
	}
	wl_list_insert_list(w->frame_pending.prev, &s->frame_callbacks);
	wl_list_init(&s->frame_callbacks);
	if (flush)
		window_flush(w);
}

void ga_window_redraw(struct ga_window *w)
{
	if (!w->live || w->surface == NULL)
		return;
	ga_damage_add(&w->damage, 0, 0, (int32_t)w->surface->width,
		      (int32_t)w->surface->height);
	w->dirty = true;
	window_flush(w);
}

void ga_window_frame_done(struct ga_server *server, uint32_t id)
{
	struct ga_window *w = ga_window_lookup(server, id);

	if (w == NULL)
		return; /* raced with our DESTROY */
	w->frame_inflight = false;
	ga_callbacks_fire(&w->frame_waiting, ga_now_ms());
	window_flush(w);
}

void ga_window_flush_all(struct ga_server *server)
{
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, server->windows);
	while (g_hash_table_iter_next(&it, NULL, &value))
		window_flush(value);
}

static void flush_meta(struct ga_window *w)
{
	struct ga_link *link = w->server->link;

	if (!w->live || !w->announced ||
	    ga_link_queued(link) >= GA_LINK_HIGH_WATER)
		return;
	if (w->title_dirty)
		ga_link_send(link, QM_GUI_TITLE, w->id, w->title,
			     strlen(w->title), NULL, 0);
	if (w->app_id_dirty)
		ga_link_send(link, QM_GUI_APP_ID, w->id, w->app_id,
			     strlen(w->app_id), NULL, 0);
	if (w->states_dirty) {
		uint8_t p[4];
		ga_put32(p, w->states);
		ga_link_send(link, QM_GUI_REQUEST_STATES, w->id, p, sizeof(p),
			     NULL, 0);
	}
	w->title_dirty = w->app_id_dirty = w->states_dirty = false;
}

void ga_window_host_lost(struct ga_server *server)
{
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, server->windows);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct ga_window *w = value;
		if (!w->live) {
			g_hash_table_iter_remove(&it);
			window_free(w);
			continue;
		}
		ga_seat_window_gone(server->seat, w);
		ga_window_shm_host_lost(w);
		w->announced = false;
		w->frame_inflight = false;
		/* answered by the next host's FRAME_DONE instead */
		wl_list_insert_list(&w->frame_pending, &w->frame_waiting);
		wl_list_init(&w->frame_waiting);
	}
	server->window_limit_warned = false;
}

static gint by_id(gconstpointer a, gconstpointer b)
{
	uint32_t x = (*(struct ga_window *const *)a)->id;
	uint32_t y = (*(struct ga_window *const *)b)->id;

	return x < y ? -1 : x > y;
}

void ga_window_host_ready(struct ga_server *server)
{
	g_autoptr(GPtrArray) all = g_ptr_array_new();
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, server->windows);
	while (g_hash_table_iter_next(&it, NULL, &value))
		g_ptr_array_add(all, value);
	/* a popup's id is higher than its parent's (it was mapped later) */
	g_ptr_array_sort(all, by_id);
	for (guint i = 0; i < all->len; i++) {
		struct ga_window *w = all->pdata[i];
		if (w->live && !w->announced && w->surface != NULL) {
			announce(w);
			window_flush(w);
		}
	}
}

void ga_window_set_string(struct ga_window *w, uint32_t type, const char *s)
{
	size_t max = type == QM_GUI_TITLE ? QM_GUI_MAX_TITLE
					  : QM_GUI_MAX_APP_ID;
	size_t len = strlen(s);
	char **field = type == QM_GUI_TITLE ? &w->title : &w->app_id;

	if (len > max) {
		len = max;
		/* do not cut a UTF-8 sequence in two */
		while (len > 0 && ((uint8_t)s[len] & 0xc0) == 0x80)
			len--;
	}
	if (*field != NULL && strlen(*field) == len &&
	    memcmp(*field, s, len) == 0)
		return;
	g_free(*field);
	*field = g_strndup(s, len);
	if (type == QM_GUI_TITLE)
		w->title_dirty = true;
	else
		w->app_id_dirty = true;
	flush_meta(w);
}

void ga_window_set_states(struct ga_window *w, uint32_t states)
{
	w->states = states & QM_GUI_STATE_MASK;
	w->states_dirty = true;
	flush_meta(w);
}
