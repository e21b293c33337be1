/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xdg_wm_base, xdg_surface, xdg_toplevel and xdg_popup.  A toplevel or
 * popup becomes a host window (window.c) when it first commits a buffer
 * after acknowledging a configure, and stops being one on a NULL buffer
 * or when destroyed.
 */
#pragma once

#include <stdbool.h>
#include <wayland-server-core.h>

struct ga_server;
struct ga_window;
struct ga_xdg_surface;

bool ga_xdg_init(struct ga_server *server);

/* For xdg-decoration: the toplevel behind an xdg_toplevel resource,
 * NULL when it is inert. */
struct ga_xdg_surface *ga_xdg_toplevel_from_resource(
	struct wl_resource *resource);
/* The decoration object of the toplevel (NULL to detach); false if it
 * already has one. */
bool ga_xdg_toplevel_set_decoration(struct ga_xdg_surface *toplevel,
				    struct wl_resource *decoration);
/* Whether the toplevel's surface has (or has committed) a buffer. */
bool ga_xdg_toplevel_has_buffer(struct ga_xdg_surface *toplevel);
/* Sends a configure, if the initial one was sent already (a decoration
 * mode change must be followed by xdg_surface.configure). */
void ga_xdg_toplevel_reconfigure(struct ga_xdg_surface *toplevel);

/* Where keys for the host's focused window `w` go: the topmost grabbing
 * popup open on it (xdg-shell gives that popup the keyboard focus; host
 * compositors such as sway keep theirs on the toplevel), else w. */
struct ga_window *ga_xdg_keyboard_target(struct ga_window *w);
