/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * wl_subcompositor and wl_subsurface.  Subsurfaces are composited into
 * their window's image on the CPU (window.c); here are the tree, the
 * positions and the synchronized/desynchronized commit rules.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <wayland-server-core.h>

struct ga_server;
struct ga_surface;

struct ga_subsurface {
	struct wl_resource *resource;
	struct ga_surface *surface;     /* NULL once destroyed */
	struct ga_surface *parent;      /* NULL once destroyed */
	struct wl_listener surface_destroy, parent_destroy;
	struct wl_list parent_link;     /* in parent->children */
	int32_t x, y;                   /* relative to the parent */
	int32_t pending_x, pending_y;
	bool synchronized;
};

bool ga_subcompositor_init(struct ga_server *server);

/* The parent of a subsurface, NULL for other surfaces. */
struct ga_surface *ga_subsurface_parent(struct ga_surface *surface);
/* Synchronized itself or through an ancestor. */
bool ga_subsurface_is_synchronized(struct ga_surface *surface);
/* Called when `parent` applies a state: positions and cached child
 * states take effect.  True when a child moved. */
bool ga_subsurface_parent_committed(struct ga_surface *parent);
