/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "surface.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <wayland-server-protocol.h>

#include "server.h"
#include "shm.h"
#include "subsurface.h"
#include "window.h"

#define COMPOSITOR_VERSION 4

static const struct wl_surface_interface surface_impl;
static const struct wl_region_interface region_impl;

struct ga_surface *ga_surface_from_resource(struct wl_resource *resource)
{
	assert(wl_resource_instance_of(resource, &wl_surface_interface,
				       &surface_impl));
	return wl_resource_get_user_data(resource);
}

/* ---- double-buffered state ---- */

static void state_buffer_destroyed(struct wl_listener *l, void *data)
{
	struct ga_surface_state *st =
		wl_container_of(l, st, buffer_destroy);

	/* a destroyed buffer reads as no buffer, as in wlroots */
	st->buffer = NULL;
	wl_list_remove(&st->buffer_destroy.link);
	wl_list_init(&st->buffer_destroy.link);
}

static void state_init(struct ga_surface_state *st)
{
	memset(st, 0, sizeof(*st));
	wl_list_init(&st->frame_callbacks);
	wl_list_init(&st->buffer_destroy.link);
	st->buffer_destroy.notify = state_buffer_destroyed;
	st->transform = -1;
}

static void state_set_buffer(struct ga_surface_state *st,
			     struct wl_resource *buffer)
{
	wl_list_remove(&st->buffer_destroy.link);
	wl_list_init(&st->buffer_destroy.link);
	st->buffer = buffer;
	if (buffer != NULL)
		wl_resource_add_destroy_listener(buffer, &st->buffer_destroy);
}

static void callbacks_destroy(struct wl_list *callbacks)
{
	struct wl_resource *cb, *tmp;

	wl_resource_for_each_safe(cb, tmp, callbacks)
		wl_resource_destroy(cb);
}

static void state_finish(struct ga_surface_state *st)
{
	state_set_buffer(st, NULL);
	callbacks_destroy(&st->frame_callbacks);
}

/* Moves `src` on top of `dst` (a commit into the subsurface cache). */
static void state_merge(struct ga_surface_state *dst,
			struct ga_surface_state *src)
{
	if (src->attached) {
		/* a buffer replaced before it was ever applied is done with */
		if (dst->attached && dst->buffer && dst->buffer != src->buffer)
			wl_buffer_send_release(dst->buffer);
		dst->attached = true;
		state_set_buffer(dst, src->buffer);
		state_set_buffer(src, NULL);
		src->attached = false;
	}
	ga_damage_add_all(&dst->damage, &src->damage, 0, 0);
	ga_damage_clear(&src->damage);
	wl_list_insert_list(dst->frame_callbacks.prev, &src->frame_callbacks);
	wl_list_init(&src->frame_callbacks);
	if (src->scale)
		dst->scale = src->scale;
	if (src->transform >= 0)
		dst->transform = src->transform;
	src->scale = 0;
	src->transform = -1;
}

/* ---- the buffer a surface holds ---- */

static void held_buffer_destroyed(struct wl_listener *l, void *data)
{
	struct ga_surface *s = wl_container_of(l, s, buffer_destroy);

	/* A client may destroy a buffer the compositor still reads (it
	 * gets no release then): its pixels are copied while libwayland
	 * still has it (listeners run before the buffer is freed). */
	ga_shm_copy_stale(s);
	wl_list_remove(&s->buffer_destroy.link);
	wl_list_init(&s->buffer_destroy.link);
	s->buffer = NULL;
}

/* Holds `buffer` (NULL: none) instead of the buffer held so far, which
 * the client gets back. */
static void hold_buffer(struct ga_surface *s, struct wl_resource *buffer)
{
	if (s->buffer == buffer)
		return;
	if (s->buffer != NULL)
		wl_buffer_send_release(s->buffer);
	wl_list_remove(&s->buffer_destroy.link);
	wl_list_init(&s->buffer_destroy.link);
	s->buffer = buffer;
	if (buffer != NULL)
		wl_resource_add_destroy_listener(buffer, &s->buffer_destroy);
}

bool ga_surface_sync(struct ga_surface *s)
{
	if (s->buffer == NULL)
		return true;
	if (!ga_shm_copy_stale(s))
		return false;
	hold_buffer(s, NULL);
	return true;
}

/*
 * `buffer` becomes the surface's content; `damage` (buffer coordinates)
 * is what changed, all of it when the size or format did.  A client's
 * buffer is whole (it may be read anywhere), so what the copy lacks is
 * read from the newest buffer, whichever buffer it changed in.  `keep`:
 * hold the buffer and read frames straight out of it (see surface.h);
 * else copy now and release it.
 */
static bool take_buffer(struct ga_surface *s, struct wl_resource *buffer,
			const struct ga_damage *damage, bool keep)
{
	struct ga_shm_info info;

	if (!ga_shm_check(s, buffer, &info))
		return false;
	struct ga_damage d = *damage;
	if (s->width != info.width || s->height != info.height ||
	    s->format != info.format) {
		/* the old copy is of no use */
		free(s->pixels);
		s->pixels = NULL;
		ga_damage_clear(&s->stale);
		s->size_changed = s->size_changed || s->width != info.width ||
				  s->height != info.height;
		s->width = info.width;
		s->height = info.height;
		s->format = info.format;
		ga_damage_clear(&d);
		ga_damage_add(&d, 0, 0, (int32_t)info.width,
			      (int32_t)info.height);
	}
	ga_damage_clip(&d, s->width, s->height);
	ga_damage_add_all(&s->content_damage, &d, 0, 0);
	if (s->pixels != NULL)
		ga_damage_add_all(&s->stale, &d, 0, 0);
	hold_buffer(s, buffer);
	/* when the copy cannot be made, the buffer stays the content */
	if (!keep)
		ga_surface_sync(s);
	else
		ga_shm_probe(buffer);
	return true;
}

/* Frames of this surface can be read out of the client's buffer: it is
 * a window's root and nothing is composited over it. */
static bool reads_buffer(struct ga_surface *s)
{
	return s->window != NULL && !ga_window_composes(s->window);
}

/* Depth of parents' commits being applied (one thread, the event loop). */
static unsigned applying_children;

/* Applies a state to the surface's current content. */
static void surface_apply(struct ga_surface *s, struct ga_surface_state *st)
{
	if (st->attached) {
		if (st->buffer == NULL) {
			/* the copy keeps what it lacks in `stale` */
			hold_buffer(s, NULL);
			s->has_buffer = false;
		} else if (take_buffer(s, st->buffer, &st->damage,
				       reads_buffer(s))) {
			s->has_buffer = true;
		}
		state_set_buffer(st, NULL);
		st->attached = false;
	} else if (s->has_buffer) {
		/* damage without a new buffer: the content did not change,
		 * but the client says it did; send it again */
		ga_damage_add_all(&s->content_damage, &st->damage, 0, 0);
		if (s->buffer != NULL && s->pixels != NULL)
			ga_damage_add_all(&s->stale, &st->damage, 0, 0);
	}
	ga_damage_clear(&st->damage);
	if (st->scale)
		s->scale = st->scale;
	if (st->transform >= 0)
		s->transform = st->transform;
	st->scale = 0;
	st->transform = -1;
	wl_list_insert_list(s->frame_callbacks.prev, &st->frame_callbacks);
	wl_list_init(&st->frame_callbacks);

	/* synchronized children take their cached state with ours (their
	 * frame goes out with ours, not before it); a child that moved must
	 * be drawn again where it is now */
	applying_children++;
	bool moved = ga_subsurface_parent_committed(s);
	applying_children--;
	if (moved)
		ga_damage_add(&s->content_damage, 0, 0, (int32_t)s->width,
			      (int32_t)s->height);

	if (s->role && s->role->commit)
		s->role->commit(s);

	struct ga_surface *root = ga_surface_root(s);
	if (root->window != NULL) {
		ga_window_surface_changed(root->window, s,
					  applying_children == 0);
	} else {
		ga_damage_clear(&s->content_damage);
		ga_server_add_orphan_callbacks(s->server, &s->frame_callbacks);
	}
}

void ga_surface_apply_cached(struct ga_surface *s)
{
	if (!s->has_cached)
		return;
	s->has_cached = false;
	surface_apply(s, &s->cached);
}

/* ---- wl_surface ---- */

static void surface_destroy(struct wl_client *client,
			    struct wl_resource *resource)
{
	wl_resource_destroy(resource);
}

static void surface_attach(struct wl_client *client,
			   struct wl_resource *resource,
			   struct wl_resource *buffer, int32_t x, int32_t y)
{
	struct ga_surface *s = ga_surface_from_resource(resource);

	/* x, y (a move of the surface's origin) are not supported: a
	 * window's origin is the host's business */
	s->pending.attached = true;
	state_set_buffer(&s->pending, buffer);
}

static void surface_damage(struct wl_client *client,
			   struct wl_resource *resource,
			   int32_t x, int32_t y, int32_t width, int32_t height)
{
	struct ga_surface *s = ga_surface_from_resource(resource);

	/* surface and buffer coordinates agree: scale 1, no transform
	 * (the only output has scale 1) */
	ga_damage_add(&s->pending.damage, x, y, width, height);
}

static void callback_unlink(struct wl_resource *resource)
{
	wl_list_remove(wl_resource_get_link(resource));
}

static void surface_frame(struct wl_client *client,
			  struct wl_resource *resource, uint32_t callback)
{
	struct ga_surface *s = ga_surface_from_resource(resource);
	struct wl_resource *cb = wl_resource_create(client,
		&wl_callback_interface, 1, callback);

	if (cb == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(cb, NULL, NULL, callback_unlink);
	wl_list_insert(s->pending.frame_callbacks.prev,
		       wl_resource_get_link(cb));
}

static void surface_set_region(struct wl_client *client,
			       struct wl_resource *resource,
			       struct wl_resource *region)
{
	/* opaque and input regions: the whole window is both (the host
	 * decides what to show and where input goes) */
}

static void surface_commit(struct wl_client *client,
			   struct wl_resource *resource)
{
	struct ga_surface *s = ga_surface_from_resource(resource);

	if (s->role && s->role->precommit && !s->role->precommit(s))
		return;
	if (ga_subsurface_is_synchronized(s)) {
		state_merge(&s->cached, &s->pending);
		s->has_cached = true;
		return;
	}
	if (s->has_cached) {
		/* a desynchronized subsurface: its cache goes first */
		state_merge(&s->cached, &s->pending);
		s->has_cached = false;
		surface_apply(s, &s->cached);
		return;
	}
	surface_apply(s, &s->pending);
}

static void surface_set_buffer_transform(struct wl_client *client,
					 struct wl_resource *resource,
					 int32_t transform)
{
	struct ga_surface *s = ga_surface_from_resource(resource);

	if (transform < WL_OUTPUT_TRANSFORM_NORMAL ||
	    transform > WL_OUTPUT_TRANSFORM_FLIPPED_270) {
		wl_resource_post_error(resource,
			WL_SURFACE_ERROR_INVALID_TRANSFORM,
			"transform %d is not a wl_output.transform", transform);
		return;
	}
	s->pending.transform = transform;
}

static void surface_set_buffer_scale(struct wl_client *client,
				     struct wl_resource *resource,
				     int32_t scale)
{
	struct ga_surface *s = ga_surface_from_resource(resource);

	if (scale < 1) {
		wl_resource_post_error(resource, WL_SURFACE_ERROR_INVALID_SCALE,
				       "buffer scale %d is not positive", scale);
		return;
	}
	s->pending.scale = scale;
}

static void surface_damage_buffer(struct wl_client *client,
				  struct wl_resource *resource,
				  int32_t x, int32_t y,
				  int32_t width, int32_t height)
{
	struct ga_surface *s = ga_surface_from_resource(resource);

	ga_damage_add(&s->pending.damage, x, y, width, height);
}

static const struct wl_surface_interface surface_impl = {
	.destroy = surface_destroy,
	.attach = surface_attach,
	.damage = surface_damage,
	.frame = surface_frame,
	.set_opaque_region = surface_set_region,
	.set_input_region = surface_set_region,
	.commit = surface_commit,
	.set_buffer_transform = surface_set_buffer_transform,
	.set_buffer_scale = surface_set_buffer_scale,
	.damage_buffer = surface_damage_buffer,
};

static void surface_resource_destroy(struct wl_resource *resource)
{
	struct ga_surface *s = ga_surface_from_resource(resource);

	s->destroying = true;
	/* role objects and subsurfaces let go of the surface first */
	wl_signal_emit(&s->events.destroy, s);
	if (s->window != NULL)
		ga_window_unmap(s->window);
	state_finish(&s->pending);
	state_finish(&s->cached);
	hold_buffer(s, NULL);
	callbacks_destroy(&s->frame_callbacks);
	free(s->pixels);
	g_free(s);
}

bool ga_surface_set_role(struct ga_surface *s,
			 const struct ga_surface_role *role, void *role_data,
			 struct wl_resource *error_resource, uint32_t error_code)
{
	if (s->role != NULL && s->role != role) {
		wl_resource_post_error(error_resource, error_code,
			"wl_surface@%u already has the role %s",
			wl_resource_get_id(s->resource), s->role->name);
		return false;
	}
	if (s->role_data != NULL) {
		wl_resource_post_error(error_resource, error_code,
			"wl_surface@%u already has a %s object",
			wl_resource_get_id(s->resource), role->name);
		return false;
	}
	s->role = role;
	s->role_data = role_data;
	return true;
}

struct ga_surface *ga_surface_root(struct ga_surface *s)
{
	struct ga_surface *parent;

	while ((parent = ga_subsurface_parent(s)) != NULL)
		s = parent;
	return s;
}

/* ---- wl_region: accepted and ignored (see surface_set_region) ---- */

static void region_destroy(struct wl_client *client,
			   struct wl_resource *resource)
{
	wl_resource_destroy(resource);
}

static void region_op(struct wl_client *client, struct wl_resource *resource,
		      int32_t x, int32_t y, int32_t width, int32_t height)
{
}

static const struct wl_region_interface region_impl = {
	.destroy = region_destroy,
	.add = region_op,
	.subtract = region_op,
};

/* ---- wl_compositor ---- */

static void compositor_create_surface(struct wl_client *client,
				      struct wl_resource *resource,
				      uint32_t id)
{
	struct ga_server *server = wl_resource_get_user_data(resource);
	struct wl_resource *res = wl_resource_create(client,
		&wl_surface_interface, wl_resource_get_version(resource), id);

	if (res == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	struct ga_surface *s = g_new0(struct ga_surface, 1);
	s->resource = res;
	s->server = server;
	state_init(&s->pending);
	state_init(&s->cached);
	s->scale = 1;
	wl_list_init(&s->buffer_destroy.link);
	s->buffer_destroy.notify = held_buffer_destroyed;
	wl_list_init(&s->frame_callbacks);
	wl_list_init(&s->children);
	wl_signal_init(&s->events.destroy);
	wl_resource_set_implementation(res, &surface_impl, s,
				       surface_resource_destroy);
}

static void compositor_create_region(struct wl_client *client,
				     struct wl_resource *resource, uint32_t id)
{
	struct wl_resource *res = wl_resource_create(client,
		&wl_region_interface, 1, id);

	if (res == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(res, &region_impl, NULL, NULL);
}

static const struct wl_compositor_interface compositor_impl = {
	.create_surface = compositor_create_surface,
	.create_region = compositor_create_region,
};

static void compositor_bind(struct wl_client *client, void *data,
			    uint32_t version, uint32_t id)
{
	struct wl_resource *res = wl_resource_create(client,
		&wl_compositor_interface, version, id);

	if (res == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(res, &compositor_impl, data, NULL);
}

bool ga_compositor_init(struct ga_server *server)
{
	return wl_global_create(server->display, &wl_compositor_interface,
				COMPOSITOR_VERSION, server,
				compositor_bind) != NULL;
}
