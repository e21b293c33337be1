/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * wl_compositor, wl_surface and wl_region.  A surface's content is the
 * last buffer committed to it.  The root surface of a window that has no
 * subsurfaces to composite keeps the client's buffer (unreleased) and
 * its frames are read straight out of it into the host's shared region
 * or the stream: one copy per frame.  Any other surface (and that one,
 * when something needs it: compositing, the client destroying the
 * buffer) brings its own copy of the pixels up to date from the buffer
 * and releases the buffer at once.  A held buffer is released when the
 * next buffer replaces it.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <wayland-server-core.h>

#include "damage.h"

struct ga_server;
struct ga_surface;
struct ga_window;

struct ga_surface_state {
	bool attached;                  /* wl_surface.attach was called */
	struct wl_resource *buffer;     /* NULL: attach(NULL) or destroyed */
	struct wl_listener buffer_destroy;
	struct ga_damage damage;        /* surface and buffer damage */
	struct wl_list frame_callbacks; /* wl_callback resources */
	int32_t scale;                  /* 0: unchanged */
	int32_t transform;              /* -1: unchanged */
};

struct ga_surface_role {
	const char *name;
	/* Before the pending state is applied; false (after posting an
	 * error) refuses the commit. */
	bool (*precommit)(struct ga_surface *surface);
	/* After the state is applied (buffer copied). */
	void (*commit)(struct ga_surface *surface);
};

struct ga_surface {
	struct wl_resource *resource;
	struct ga_server *server;

	struct ga_surface_state pending;
	/* a synchronized subsurface's commits wait here for its parent */
	struct ga_surface_state cached;
	bool has_cached;

	/* The current content: the client's buffer while the surface holds
	 * it (checked, not yet released; NULL: none), and a copy of the
	 * pixels, stride width*4, older than that buffer in `stale` (buffer
	 * coordinates) and NULL until first needed. */
	struct wl_resource *buffer;
	struct wl_listener buffer_destroy;
	struct ga_damage stale;
	uint8_t *pixels;
	uint32_t width, height;         /* 0x0: no content yet */
	uint32_t format;                /* WL_SHM_FORMAT_*; ARGB8888 or XRGB8888 */
	bool has_buffer;                /* false: unmapped */
	struct ga_damage content_damage; /* buffer coordinates, not yet taken */
	bool size_changed;
	int32_t scale, transform;
	struct wl_list frame_callbacks; /* applied, for the next frame */

	const struct ga_surface_role *role;
	void *role_data;                /* NULL once the role object is gone */

	/* struct ga_subsurface.parent_link, bottom to top */
	struct wl_list children;
	/* set while this surface is the root of a host window */
	struct ga_window *window;
	bool destroying;                /* in its resource-destroy handler */

	struct {
		struct wl_signal destroy;
	} events;
};

bool ga_compositor_init(struct ga_server *server);

struct ga_surface *ga_surface_from_resource(struct wl_resource *resource);
/* Gives the surface a role; posts an error and returns false when it has
 * another one, or this one with a live role object. */
bool ga_surface_set_role(struct ga_surface *surface,
			 const struct ga_surface_role *role, void *role_data,
			 struct wl_resource *error_resource, uint32_t error_code);
/* The top of the subsurface tree. */
struct ga_surface *ga_surface_root(struct ga_surface *surface);
/* Applies a cached state (a synchronized subsurface, on its parent's
 * commit). */
void ga_surface_apply_cached(struct ga_surface *surface);
/* Brings surface->pixels up to date and releases the client's buffer;
 * false (the client told) when the copy cannot be made. */
bool ga_surface_sync(struct ga_surface *surface);
