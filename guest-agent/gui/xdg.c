/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "xdg.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "output.h"
#include "server.h"
#include "surface.h"
#include "window.h"
#include "xdg-positioner.h"
#include "xdg-shell-server-protocol.h"
#include "xdg-decoration-unstable-v1-server-protocol.h"

/* v2: tiled states; v3 (popup reposition) is not implemented */
#define WM_BASE_VERSION 2

enum xdg_kind { KIND_NONE, KIND_TOPLEVEL, KIND_POPUP };

struct ga_xdg_surface {
	struct wl_resource *resource;
	struct ga_server *server;
	struct ga_surface *surface;             /* NULL once destroyed */
	struct wl_listener surface_destroy;
	enum xdg_kind kind;
	struct wl_resource *role_resource;      /* NULL once destroyed */
	bool initial_configure_sent;
	bool configured;                        /* a configure was acked */
	uint32_t last_serial;
	struct ga_rect geometry, pending_geometry;
	bool has_geometry, pending_has_geometry;
	struct ga_window *window;               /* while mapped */
	struct wl_list popups;                  /* children's popup_link */

	/* toplevel */
	char *title, *app_id;
	uint32_t requested_states;
	uint32_t conf_width, conf_height, conf_states;
	struct wl_resource *decoration;

	/* popup */
	struct ga_xdg_surface *parent;          /* NULL once it is gone */
	struct wl_list popup_link;
	struct ga_positioner positioner;
	int32_t popup_x, popup_y;       /* relative to parent's geometry */
	bool grabbed;                   /* closes on a click elsewhere */
	bool dismissed;                 /* popup_done sent: never shown again */
};

static const struct xdg_surface_interface xdg_surface_impl;
static const struct xdg_toplevel_interface toplevel_impl;
static const struct xdg_popup_interface popup_impl;

static struct ga_xdg_surface *xdg_surface_from_resource(
	struct wl_resource *resource)
{
	assert(wl_resource_instance_of(resource, &xdg_surface_interface,
				       &xdg_surface_impl));
	return wl_resource_get_user_data(resource);
}

/* role objects: their user data is NULL once the xdg_surface is gone */
static struct ga_xdg_surface *toplevel_from_resource(
	struct wl_resource *resource)
{
	assert(wl_resource_instance_of(resource, &xdg_toplevel_interface,
				       &toplevel_impl));
	return wl_resource_get_user_data(resource);
}

struct ga_xdg_surface *ga_xdg_toplevel_from_resource(
	struct wl_resource *resource)
{
	return toplevel_from_resource(resource);
}

/* ---- configure ---- */

static uint32_t send_surface_configure(struct ga_xdg_surface *xs)
{
	uint32_t serial = wl_display_next_serial(xs->server->display);

	xdg_surface_send_configure(xs->resource, serial);
	xs->last_serial = serial;
	xs->initial_configure_sent = true;
	return serial;
}

static void add_state(struct wl_array *a, uint32_t state)
{
	uint32_t *p = wl_array_add(a, sizeof(*p));

	if (p != NULL)
		*p = state;
}

static void toplevel_send_configure(struct ga_xdg_surface *xs)
{
	struct wl_array states;

	if (xs->role_resource == NULL)
		return;
	wl_array_init(&states);
	if (xs->conf_states & QM_GUI_STATE_MAXIMIZED)
		add_state(&states, XDG_TOPLEVEL_STATE_MAXIMIZED);
	if (xs->conf_states & QM_GUI_STATE_FULLSCREEN)
		add_state(&states, XDG_TOPLEVEL_STATE_FULLSCREEN);
	if (xs->conf_states & QM_GUI_STATE_ACTIVATED)
		add_state(&states, XDG_TOPLEVEL_STATE_ACTIVATED);
	xdg_toplevel_send_configure(xs->role_resource,
				    (int32_t)xs->conf_width,
				    (int32_t)xs->conf_height, &states);
	wl_array_release(&states);
	send_surface_configure(xs);
}

static void popup_send_configure(struct ga_xdg_surface *xs)
{
	if (xs->role_resource == NULL)
		return;
	xdg_popup_send_configure(xs->role_resource, xs->popup_x, xs->popup_y,
				 xs->positioner.width, xs->positioner.height);
	send_surface_configure(xs);
}

void ga_xdg_toplevel_reconfigure(struct ga_xdg_surface *xs)
{
	if (xs->initial_configure_sent)
		toplevel_send_configure(xs);
}

bool ga_xdg_toplevel_set_decoration(struct ga_xdg_surface *xs,
				    struct wl_resource *decoration)
{
	if (decoration != NULL && xs->decoration != NULL)
		return false;
	xs->decoration = decoration;
	return true;
}

bool ga_xdg_toplevel_has_buffer(struct ga_xdg_surface *xs)
{
	return xs->surface != NULL &&
	       (xs->surface->has_buffer ||
		(xs->surface->pending.attached && xs->surface->pending.buffer));
}

/* ---- host windows ---- */

static void unmap(struct ga_xdg_surface *xs);

static void popup_dismiss(struct ga_xdg_surface *popup)
{
	if (popup->role_resource != NULL && !popup->dismissed)
		xdg_popup_send_popup_done(popup->role_resource);
	popup->dismissed = true;
	unmap(popup);
}

static void unmap(struct ga_xdg_surface *xs)
{
	struct ga_xdg_surface *child, *tmp;

	wl_list_for_each_safe(child, tmp, &xs->popups, popup_link)
		if (child->window != NULL)
			popup_dismiss(child);
	if (xs->window != NULL) {
		ga_window_unmap(xs->window);
		xs->window = NULL;
	}
}

static void window_configure(void *owner, const struct qm_gui_configure *c)
{
	struct ga_xdg_surface *xs = owner;

	if (xs->kind != KIND_TOPLEVEL)
		return; /* popups are placed by their positioner */
	xs->conf_width = c->width;
	xs->conf_height = c->height;
	xs->conf_states = c->states;
	/* The host decided which of the app's wishes stand: an app asking
	 * again for what it was refused or had taken away (fullscreen left
	 * with the host's key) is a new request, not a repeat. */
	const uint32_t lasting = QM_GUI_STATE_MAXIMIZED |
				 QM_GUI_STATE_FULLSCREEN;
	xs->requested_states = (xs->requested_states & ~lasting) |
			       (c->states & lasting);
	ga_output_fit(xs->server->output, c->width, c->height);
	toplevel_send_configure(xs);
}

static void window_close(void *owner)
{
	struct ga_xdg_surface *xs = owner;

	if (xs->role_resource == NULL)
		return;
	if (xs->kind == KIND_TOPLEVEL)
		xdg_toplevel_send_close(xs->role_resource);
	else
		popup_dismiss(xs);
}

/* A click in a window closes the grabbing popups above it, as the
 * popup's grab would on a desktop (the host's windows are separate, so
 * the grab itself cannot be enforced in here). */
static void window_button_pressed(void *owner)
{
	struct ga_xdg_surface *xs = owner;
	struct ga_xdg_surface *child, *tmp;

	wl_list_for_each_safe(child, tmp, &xs->popups, popup_link)
		if (child->window != NULL && child->grabbed)
			popup_dismiss(child);
}

static const struct ga_window_impl window_impl = {
	.configure = window_configure,
	.close = window_close,
	.button_pressed = window_button_pressed,
};

struct ga_window *ga_xdg_keyboard_target(struct ga_window *w)
{
	if (w == NULL || w->impl != &window_impl)
		return w;
	struct ga_xdg_surface *xs = w->owner;
	for (unsigned depth = 0; depth < 64; depth++) {
		struct ga_xdg_surface *child, *top = NULL;

		/* oldest first: the newest grabbing popup is the topmost */
		wl_list_for_each(child, &xs->popups, popup_link)
			if (child->grabbed && child->window != NULL &&
			    child->window->live)
				top = child;
		if (top == NULL)
			break;
		xs = top;
	}
	return xs->window != NULL ? xs->window : w;
}

static void map_toplevel(struct ga_xdg_surface *xs)
{
	xs->window = ga_window_create(xs->server, xs->surface,
				      xs->has_geometry ? &xs->geometry : NULL,
				      &window_impl, xs, 0, 0, 0, 0);
	if (xs->window == NULL)
		return;
	if (xs->title != NULL)
		ga_window_set_string(xs->window, QM_GUI_TITLE, xs->title);
	if (xs->app_id != NULL)
		ga_window_set_string(xs->window, QM_GUI_APP_ID, xs->app_id);
	if (xs->requested_states != 0)
		ga_window_set_states(xs->window, xs->requested_states);
	ga_output_enter(xs->server->output, xs->surface);
}

static void map_popup(struct ga_xdg_surface *xs)
{
	struct ga_xdg_surface *parent = xs->parent;

	if (xs->dismissed)
		return;
	if (parent == NULL || parent->window == NULL) {
		/* nothing to attach it to on the host */
		popup_dismiss(xs);
		return;
	}
	/* both windows are cut to their window geometry, which is what
	 * the positioner places: its result is the position on the host */
	xs->window = ga_window_create(xs->server, xs->surface,
				      xs->has_geometry ? &xs->geometry : NULL,
				      &window_impl, xs, parent->window->id,
				      QM_GUI_CREATE_POPUP |
				      (xs->grabbed ? QM_GUI_CREATE_GRAB : 0),
				      xs->popup_x, xs->popup_y);
	if (xs->window != NULL)
		ga_output_enter(xs->server->output, xs->surface);
}

/* ---- the xdg role on the wl_surface ---- */

static bool xdg_precommit(struct ga_surface *surface)
{
	struct ga_xdg_surface *xs = surface->role_data;

	if (xs == NULL)
		return true;
	if (surface->pending.attached && surface->pending.buffer != NULL &&
	    !xs->configured) {
		wl_resource_post_error(xs->resource,
			XDG_SURFACE_ERROR_UNCONFIGURED_BUFFER,
			"buffer committed before a configure was acknowledged");
		return false;
	}
	return true;
}

static void xdg_commit(struct ga_surface *surface)
{
	struct ga_xdg_surface *xs = surface->role_data;

	if (xs == NULL)
		return;
	if (xs->kind == KIND_NONE) {
		wl_resource_post_error(xs->resource,
			XDG_SURFACE_ERROR_NOT_CONSTRUCTED,
			"commit before the xdg_surface has a role");
		return;
	}
	if (xs->role_resource == NULL)
		return;
	xs->geometry = xs->pending_geometry;
	xs->has_geometry = xs->pending_has_geometry;
	if (xs->window != NULL)
		ga_window_set_geometry(xs->window,
				       xs->has_geometry ? &xs->geometry : NULL);
	if (!xs->initial_configure_sent) {
		if (xs->kind == KIND_TOPLEVEL)
			toplevel_send_configure(xs);
		else
			popup_send_configure(xs);
		return;
	}
	if (surface->has_buffer && xs->window == NULL) {
		if (xs->kind == KIND_TOPLEVEL)
			map_toplevel(xs);
		else
			map_popup(xs);
	} else if (!surface->has_buffer && xs->window != NULL) {
		unmap(xs);
		/* a new initial commit and configure before the next map */
		xs->initial_configure_sent = false;
		xs->configured = false;
	}
}

static const struct ga_surface_role xdg_role = {
	.name = "xdg_surface",
	.precommit = xdg_precommit,
	.commit = xdg_commit,
};

/* ---- xdg_toplevel ---- */

static void toplevel_destroy(struct wl_client *client,
			     struct wl_resource *resource)
{
	wl_resource_destroy(resource);
}

static void toplevel_set_parent(struct wl_client *client,
				struct wl_resource *resource,
				struct wl_resource *parent)
{
	/* dialogs are ordinary windows on the host */
}

static void set_string(struct wl_resource *resource, char **field,
		       const char *value, uint32_t type)
{
	struct ga_xdg_surface *xs = toplevel_from_resource(resource);

	if (xs == NULL)
		return;
	g_free(*field);
	*field = g_strdup(value);
	if (xs->window != NULL)
		ga_window_set_string(xs->window, type, value);
}

static void toplevel_set_title(struct wl_client *client,
			       struct wl_resource *resource, const char *title)
{
	struct ga_xdg_surface *xs = toplevel_from_resource(resource);

	if (xs != NULL)
		set_string(resource, &xs->title, title, QM_GUI_TITLE);
}

static void toplevel_set_app_id(struct wl_client *client,
				struct wl_resource *resource,
				const char *app_id)
{
	struct ga_xdg_surface *xs = toplevel_from_resource(resource);

	if (xs != NULL)
		set_string(resource, &xs->app_id, app_id, QM_GUI_APP_ID);
}

static void toplevel_show_window_menu(struct wl_client *client,
				      struct wl_resource *resource,
				      struct wl_resource *seat, uint32_t serial,
				      int32_t x, int32_t y)
{
	/* the host's window menu is the host's business */
}

static void toplevel_move(struct wl_client *client,
			  struct wl_resource *resource,
			  struct wl_resource *seat, uint32_t serial)
{
	/* no interactive move: decorations are the host's */
}

static void toplevel_resize(struct wl_client *client,
			    struct wl_resource *resource,
			    struct wl_resource *seat, uint32_t serial,
			    uint32_t edges)
{
	if (edges > XDG_TOPLEVEL_RESIZE_EDGE_BOTTOM_RIGHT)
		wl_resource_post_error(resource,
			XDG_TOPLEVEL_ERROR_INVALID_RESIZE_EDGE,
			"resize edge %u is not an xdg_toplevel.resize_edge",
			edges);
}

static void toplevel_set_size_limit(struct wl_client *client,
				    struct wl_resource *resource,
				    int32_t width, int32_t height)
{
	if (width < 0 || height < 0)
		wl_resource_post_error(resource,
			XDG_TOPLEVEL_ERROR_INVALID_SIZE,
			"size limit %dx%d is negative", width, height);
}

static void request_state(struct wl_resource *resource, uint32_t state,
			  bool on)
{
	struct ga_xdg_surface *xs = toplevel_from_resource(resource);

	if (xs == NULL)
		return;
	uint32_t states = on ? xs->requested_states | state
			     : xs->requested_states & ~state;
	/* minimizing is a one-shot request, not a lasting state */
	if (state != QM_GUI_STATE_MINIMIZED) {
		if (states == xs->requested_states)
			return;
		xs->requested_states = states;
	}
	if (xs->window != NULL)
		ga_window_set_states(xs->window, states);
}

static void toplevel_set_maximized(struct wl_client *client,
				   struct wl_resource *resource)
{
	request_state(resource, QM_GUI_STATE_MAXIMIZED, true);
}

static void toplevel_unset_maximized(struct wl_client *client,
				     struct wl_resource *resource)
{
	request_state(resource, QM_GUI_STATE_MAXIMIZED, false);
}

static void toplevel_set_fullscreen(struct wl_client *client,
				    struct wl_resource *resource,
				    struct wl_resource *output)
{
	request_state(resource, QM_GUI_STATE_FULLSCREEN, true);
}

static void toplevel_unset_fullscreen(struct wl_client *client,
				      struct wl_resource *resource)
{
	request_state(resource, QM_GUI_STATE_FULLSCREEN, false);
}

static void toplevel_set_minimized(struct wl_client *client,
				   struct wl_resource *resource)
{
	request_state(resource, QM_GUI_STATE_MINIMIZED, true);
}

static const struct xdg_toplevel_interface toplevel_impl = {
	.destroy = toplevel_destroy,
	.set_parent = toplevel_set_parent,
	.set_title = toplevel_set_title,
	.set_app_id = toplevel_set_app_id,
	.show_window_menu = toplevel_show_window_menu,
	.move = toplevel_move,
	.resize = toplevel_resize,
	.set_max_size = toplevel_set_size_limit,
	.set_min_size = toplevel_set_size_limit,
	.set_maximized = toplevel_set_maximized,
	.unset_maximized = toplevel_unset_maximized,
	.set_fullscreen = toplevel_set_fullscreen,
	.unset_fullscreen = toplevel_unset_fullscreen,
	.set_minimized = toplevel_set_minimized,
};

/* The role object goes: unmapped, inert; the xdg_surface stays. */
static void role_resource_destroy(struct wl_resource *resource)
{
	struct ga_xdg_surface *xs = wl_resource_get_user_data(resource);

	if (xs == NULL)
		return;
	unmap(xs);
	xs->role_resource = NULL;
	xs->initial_configure_sent = false;
	xs->configured = false;
	if (xs->decoration != NULL) {
		/* orphaned: decoration.c checks for a NULL toplevel */
		wl_resource_set_user_data(xs->decoration, NULL);
		xs->decoration = NULL;
	}
	g_clear_pointer(&xs->title, g_free);
	g_clear_pointer(&xs->app_id, g_free);
	if (xs->kind == KIND_POPUP) {
		struct ga_xdg_surface *child, *tmp;
		wl_list_for_each_safe(child, tmp, &xs->popups, popup_link) {
			wl_list_remove(&child->popup_link);
			wl_list_init(&child->popup_link);
			child->parent = NULL;
		}
		wl_list_remove(&xs->popup_link);
		wl_list_init(&xs->popup_link);
		xs->parent = NULL;
	}
}

/* ---- xdg_popup ---- */

static void popup_destroy(struct wl_client *client,
			  struct wl_resource *resource)
{
	wl_resource_destroy(resource);
}

static void popup_grab(struct wl_client *client, struct wl_resource *resource,
		       struct wl_resource *seat, uint32_t serial)
{
	struct ga_xdg_surface *xs = wl_resource_get_user_data(resource);

	if (xs != NULL)
		xs->grabbed = true;
}

static void popup_reposition(struct wl_client *client,
			     struct wl_resource *resource,
			     struct wl_resource *positioner, uint32_t token)
{
	/* version 3; not advertised */
}

static const struct xdg_popup_interface popup_impl = {
	.destroy = popup_destroy,
	.grab = popup_grab,
	.reposition = popup_reposition,
};

/* ---- xdg_surface ---- */

static void xdg_surface_destroy(struct wl_client *client,
				struct wl_resource *resource)
{
	struct ga_xdg_surface *xs = xdg_surface_from_resource(resource);

	if (xs->role_resource != NULL) {
		wl_resource_post_error(resource,
			XDG_SURFACE_ERROR_DEFUNCT_ROLE_OBJECT,
			"xdg_surface destroyed before its role object");
		return;
	}
	wl_resource_destroy(resource);
}

static bool may_take_role(struct ga_xdg_surface *xs)
{
	if (xs->kind != KIND_NONE) {
		wl_resource_post_error(xs->resource,
			XDG_SURFACE_ERROR_ALREADY_CONSTRUCTED,
			"xdg_surface already has a role object");
		return false;
	}
	if (xs->surface == NULL) {
		wl_resource_post_error(xs->resource,
			XDG_WM_BASE_ERROR_DEFUNCT_SURFACES,
			"the wl_surface of this xdg_surface is gone");
		return false;
	}
	return true;
}

static void xdg_surface_get_toplevel(struct wl_client *client,
				     struct wl_resource *resource,
				     uint32_t id)
{
	struct ga_xdg_surface *xs = xdg_surface_from_resource(resource);

	if (!may_take_role(xs))
		return;
	struct wl_resource *res = wl_resource_create(client,
		&xdg_toplevel_interface, wl_resource_get_version(resource), id);
	if (res == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(res, &toplevel_impl, xs,
				       role_resource_destroy);
	xs->kind = KIND_TOPLEVEL;
	xs->role_resource = res;
}

static void xdg_surface_get_popup(struct wl_client *client,
				  struct wl_resource *resource, uint32_t id,
				  struct wl_resource *parent_resource,
				  struct wl_resource *positioner_resource)
{
	struct ga_xdg_surface *xs = xdg_surface_from_resource(resource);

	if (!may_take_role(xs))
		return;
	if (parent_resource == NULL) {
		wl_resource_post_error(resource,
			XDG_WM_BASE_ERROR_INVALID_POPUP_PARENT,
			"popups need an xdg_surface parent here");
		return;
	}
	struct ga_xdg_surface *parent =
		xdg_surface_from_resource(parent_resource);
	if (parent->kind == KIND_NONE || parent->role_resource == NULL) {
		wl_resource_post_error(resource,
			XDG_WM_BASE_ERROR_INVALID_POPUP_PARENT,
			"the popup's parent has no role");
		return;
	}
	const struct ga_positioner *pos = ga_positioner_get(
		positioner_resource, resource);
	if (pos == NULL)
		return;
	struct wl_resource *res = wl_resource_create(client,
		&xdg_popup_interface, wl_resource_get_version(resource), id);
	if (res == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(res, &popup_impl, xs,
				       role_resource_destroy);
	xs->kind = KIND_POPUP;
	xs->role_resource = res;
	xs->positioner = *pos;
	ga_positioner_place(pos, &xs->popup_x, &xs->popup_y);
	xs->parent = parent;
	wl_list_insert(parent->popups.prev, &xs->popup_link);
}

static void xdg_surface_set_window_geometry(struct wl_client *client,
					    struct wl_resource *resource,
					    int32_t x, int32_t y,
					    int32_t width, int32_t height)
{
	struct ga_xdg_surface *xs = xdg_surface_from_resource(resource);

	if (width <= 0 || height <= 0) {
		wl_resource_post_error(resource, XDG_SURFACE_ERROR_INVALID_SIZE,
			"window geometry %dx%d is not positive", width, height);
		return;
	}
	xs->pending_geometry = (struct ga_rect){ x, y, width, height };
	xs->pending_has_geometry = true;
}

static void xdg_surface_ack_configure(struct wl_client *client,
				      struct wl_resource *resource,
				      uint32_t serial)
{
	struct ga_xdg_surface *xs = xdg_surface_from_resource(resource);

	if (!xs->initial_configure_sent) {
		wl_resource_post_error(resource,
			XDG_SURFACE_ERROR_INVALID_SERIAL,
			"ack_configure(%u) without a configure", serial);
		return;
	}
	xs->configured = true;
}

static const struct xdg_surface_interface xdg_surface_impl = {
	.destroy = xdg_surface_destroy,
	.get_toplevel = xdg_surface_get_toplevel,
	.get_popup = xdg_surface_get_popup,
	.set_window_geometry = xdg_surface_set_window_geometry,
	.ack_configure = xdg_surface_ack_configure,
};

/* The wl_surface goes first: the xdg_surface stays, inert. */
static void on_surface_destroy(struct wl_listener *l, void *data)
{
	struct ga_xdg_surface *xs = wl_container_of(l, xs, surface_destroy);

	unmap(xs);
	wl_list_remove(&xs->surface_destroy.link);
	wl_list_init(&xs->surface_destroy.link);
	xs->surface = NULL;
}

static void xdg_surface_resource_destroy(struct wl_resource *resource)
{
	struct ga_xdg_surface *xs = xdg_surface_from_resource(resource);
	struct ga_xdg_surface *child, *tmp;

	if (xs->role_resource != NULL) {
		/* client teardown in any order: the role object turns inert */
		struct wl_resource *role = xs->role_resource;
		role_resource_destroy(role);
		wl_resource_set_user_data(role, NULL);
	}
	unmap(xs);
	wl_list_for_each_safe(child, tmp, &xs->popups, popup_link) {
		wl_list_remove(&child->popup_link);
		wl_list_init(&child->popup_link);
		child->parent = NULL;
	}
	wl_list_remove(&xs->popup_link);
	if (xs->surface != NULL)
		xs->surface->role_data = NULL;
	wl_list_remove(&xs->surface_destroy.link);
	g_free(xs->title);
	g_free(xs->app_id);
	g_free(xs);
}

/* ---- xdg_wm_base ---- */

static void wm_base_destroy(struct wl_client *client,
			    struct wl_resource *resource)
{
	wl_resource_destroy(resource);
}

static void wm_base_create_positioner(struct wl_client *client,
				      struct wl_resource *resource,
				      uint32_t id)
{
	ga_positioner_create(client, wl_resource_get_version(resource), id);
}

static void wm_base_get_xdg_surface(struct wl_client *client,
				    struct wl_resource *resource, uint32_t id,
				    struct wl_resource *surface_resource)
{
	struct ga_server *server = wl_resource_get_user_data(resource);
	struct ga_surface *surface = ga_surface_from_resource(surface_resource);

	if (surface->has_buffer ||
	    (surface->pending.attached && surface->pending.buffer != NULL)) {
		wl_resource_post_error(resource,
			XDG_WM_BASE_ERROR_INVALID_SURFACE_STATE,
			"wl_surface@%u already has a buffer",
			wl_resource_get_id(surface_resource));
		return;
	}
	struct ga_xdg_surface *xs = g_new0(struct ga_xdg_surface, 1);
	if (!ga_surface_set_role(surface, &xdg_role, xs, resource,
				 XDG_WM_BASE_ERROR_ROLE)) {
		g_free(xs);
		return;
	}
	struct wl_resource *res = wl_resource_create(client,
		&xdg_surface_interface, wl_resource_get_version(resource), id);
	if (res == NULL) {
		surface->role_data = NULL;
		g_free(xs);
		wl_client_post_no_memory(client);
		return;
	}
	xs->resource = res;
	xs->server = server;
	xs->surface = surface;
	wl_list_init(&xs->popups);
	wl_list_init(&xs->popup_link);
	xs->surface_destroy.notify = on_surface_destroy;
	wl_signal_add(&surface->events.destroy, &xs->surface_destroy);
	wl_resource_set_implementation(res, &xdg_surface_impl, xs,
				       xdg_surface_resource_destroy);
}

static void wm_base_pong(struct wl_client *client,
			 struct wl_resource *resource, uint32_t serial)
{
	/* no pings are sent: an unresponsive app is the host's to spot */
}

static const struct xdg_wm_base_interface wm_base_impl = {
	.destroy = wm_base_destroy,
	.create_positioner = wm_base_create_positioner,
	.get_xdg_surface = wm_base_get_xdg_surface,
	.pong = wm_base_pong,
};

static void wm_base_bind(struct wl_client *client, void *data,
			 uint32_t version, uint32_t id)
{
	struct wl_resource *res = wl_resource_create(client,
		&xdg_wm_base_interface, version, id);

	if (res == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(res, &wm_base_impl, data, NULL);
}

bool ga_xdg_init(struct ga_server *server)
{
	return wl_global_create(server->display, &xdg_wm_base_interface,
				WM_BASE_VERSION, server, wm_base_bind) != NULL;
}
