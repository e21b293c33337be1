/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * wl_compositor, wl_surface and wl_region.  A surface keeps its own copy
 * of the pixels of its last buffer (only the damaged part is copied on
 * each commit), so client buffers are released at once and the host is
 * fed from these copies at its own pace.
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

	/* the current content: a copy of the last buffer, stride width*4 */
	uint8_t *pixels;
	uint32_t width, height;
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
