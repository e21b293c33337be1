/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "subsurface.h"

#include <assert.h>
#include <glib.h>
#include <wayland-server-protocol.h>

#include "server.h"
#include "surface.h"
#include "window.h"

static const struct wl_subsurface_interface subsurface_impl;

static const struct ga_surface_role subsurface_role = {
	.name = "wl_subsurface",
};

static struct ga_subsurface *subsurface_from_resource(
	struct wl_resource *resource)
{
	assert(wl_resource_instance_of(resource, &wl_subsurface_interface,
				       &subsurface_impl));
	return wl_resource_get_user_data(resource);
}

static struct ga_subsurface *from_surface(struct ga_surface *surface)
{
	if (surface->role != &subsurface_role)
		return NULL;
	return surface->role_data;
}

struct ga_surface *ga_subsurface_parent(struct ga_surface *surface)
{
	struct ga_subsurface *sub = from_surface(surface);

	return sub != NULL ? sub->parent : NULL;
}

bool ga_subsurface_is_synchronized(struct ga_surface *surface)
{
	struct ga_subsurface *sub;

	while ((sub = from_surface(surface)) != NULL && sub->parent != NULL) {
		if (sub->synchronized)
			return true;
		surface = sub->parent;
	}
	return false;
}

bool ga_subsurface_parent_committed(struct ga_surface *parent)
{
	struct ga_subsurface *sub, *tmp;
	bool moved = false;

	wl_list_for_each_safe(sub, tmp, &parent->children, parent_link) {
		moved = moved || sub->x != sub->pending_x ||
			sub->y != sub->pending_y;
		sub->x = sub->pending_x;
		sub->y = sub->pending_y;
		if (sub->synchronized || ga_subsurface_is_synchronized(parent))
			ga_surface_apply_cached(sub->surface);
	}
	return moved;
}

/* Detaches from both surfaces; the resource may live on, inert. */
static void subsurface_unlink(struct ga_subsurface *sub)
{
	if (sub->surface != NULL) {
		sub->surface->role_data = NULL;
		wl_list_remove(&sub->surface_destroy.link);
		sub->surface = NULL;
	}
	if (sub->parent != NULL) {
		struct ga_surface *root = ga_surface_root(sub->parent);
		wl_list_remove(&sub->parent_link);
		wl_list_remove(&sub->parent_destroy.link);
		sub->parent = NULL;
		/* its pixels must leave the window's image */
		if (root->window != NULL)
			ga_window_redraw(root->window);
	}
}

static void on_surface_destroy(struct wl_listener *l, void *data)
{
	struct ga_subsurface *sub = wl_container_of(l, sub, surface_destroy);

	subsurface_unlink(sub);
}

static void on_parent_destroy(struct wl_listener *l, void *data)
{
	struct ga_subsurface *sub = wl_container_of(l, sub, parent_destroy);

	/* the subsurface stays a subsurface, unmapped, as the spec says */
	wl_list_remove(&sub->parent_link);
	wl_list_remove(&sub->parent_destroy.link);
	sub->parent = NULL;
}

static void subsurface_resource_destroy(struct wl_resource *resource)
{
	struct ga_subsurface *sub = subsurface_from_resource(resource);

	subsurface_unlink(sub);
	g_free(sub);
}

static void subsurface_destroy(struct wl_client *client,
			       struct wl_resource *resource)
{
	wl_resource_destroy(resource);
}

static void subsurface_set_position(struct wl_client *client,
				    struct wl_resource *resource,
				    int32_t x, int32_t y)
{
	struct ga_subsurface *sub = subsurface_from_resource(resource);

	sub->pending_x = x;
	sub->pending_y = y;
}

static struct ga_subsurface *sibling(struct ga_subsurface *sub,
				     struct wl_resource *sibling_resource,
				     const char *request)
{
	struct ga_surface *other = ga_surface_from_resource(sibling_resource);
	struct ga_subsurface *o = from_surface(other);

	if (o == NULL || o->parent != sub->parent || o == sub) {
		wl_resource_post_error(sub->resource,
			WL_SUBSURFACE_ERROR_BAD_SURFACE,
			"%s: wl_surface@%u is not a sibling", request,
			wl_resource_get_id(sibling_resource));
		return NULL;
	}
	return o;
}

/* Restacking takes effect at once, not on the parent's commit: a small
 * simplification nobody sees in one frame. */
static void restack(struct wl_resource *resource,
		    struct wl_resource *sibling_resource, bool above)
{
	struct ga_subsurface *sub = subsurface_from_resource(resource);

	if (sub->parent == NULL || sub->surface == NULL)
		return;
	if (ga_surface_from_resource(sibling_resource) == sub->parent) {
		/* relative to the parent itself: children are always drawn
		 * above their parent, so both mean "lowest child" */
		wl_list_remove(&sub->parent_link);
		wl_list_insert(&sub->parent->children, &sub->parent_link);
		return;
	}
	struct ga_subsurface *o = sibling(sub, sibling_resource,
					  above ? "place_above"
						: "place_below");
	if (o == NULL)
		return;
	wl_list_remove(&sub->parent_link);
	if (above)
		wl_list_insert(&o->parent_link, &sub->parent_link);
	else
		wl_list_insert(o->parent_link.prev, &sub->parent_link);
}

static void subsurface_place_above(struct wl_client *client,
				   struct wl_resource *resource,
				   struct wl_resource *sibling_resource)
{
	restack(resource, sibling_resource, true);
}

static void subsurface_place_below(struct wl_client *client,
				   struct wl_resource *resource,
				   struct wl_resource *sibling_resource)
{
	restack(resource, sibling_resource, false);
}

static void subsurface_set_sync(struct wl_client *client,
				struct wl_resource *resource)
{
	subsurface_from_resource(resource)->synchronized = true;
}

static void subsurface_set_desync(struct wl_client *client,
				  struct wl_resource *resource)
{
	struct ga_subsurface *sub = subsurface_from_resource(resource);

	sub->synchronized = false;
	/* what was cached while synchronized is applied now */
	if (sub->surface != NULL && !ga_subsurface_is_synchronized(sub->surface))
		ga_surface_apply_cached(sub->surface);
}

static const struct wl_subsurface_interface subsurface_impl = {
	.destroy = subsurface_destroy,
	.set_position = subsurface_set_position,
	.place_above = subsurface_place_above,
	.place_below = subsurface_place_below,
	.set_sync = subsurface_set_sync,
	.set_desync = subsurface_set_desync,
};

/* ---- wl_subcompositor ---- */

static bool is_ancestor(struct ga_surface *candidate, struct ga_surface *s)
{
	for (; s != NULL; s = ga_subsurface_parent(s))
		if (s == candidate)
			return true;
	return false;
}

static void subcompositor_get_subsurface(struct wl_client *client,
					 struct wl_resource *resource,
					 uint32_t id,
					 struct wl_resource *surface_resource,
					 struct wl_resource *parent_resource)
{
	struct ga_surface *surface = ga_surface_from_resource(surface_resource);
	struct ga_surface *parent = ga_surface_from_resource(parent_resource);

	if (is_ancestor(surface, parent)) {
		wl_resource_post_error(resource,
			WL_SUBCOMPOSITOR_ERROR_BAD_SURFACE,
			"wl_surface@%u cannot be a subsurface of itself or "
			"of its own descendant",
			wl_resource_get_id(surface_resource));
		return;
	}
	struct wl_resource *res = wl_resource_create(client,
		&wl_subsurface_interface, 1, id);
	if (res == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	struct ga_subsurface *sub = g_new0(struct ga_subsurface, 1);
	if (!ga_surface_set_role(surface, &subsurface_role, sub, resource,
				 WL_SUBCOMPOSITOR_ERROR_BAD_SURFACE)) {
		g_free(sub);
		wl_resource_destroy(res);
		return;
	}
	sub->resource = res;
	sub->surface = surface;
	sub->parent = parent;
	sub->synchronized = true;
	sub->surface_destroy.notify = on_surface_destroy;
	wl_signal_add(&surface->events.destroy, &sub->surface_destroy);
	sub->parent_destroy.notify = on_parent_destroy;
	wl_signal_add(&parent->events.destroy, &sub->parent_destroy);
	wl_list_insert(parent->children.prev, &sub->parent_link);
	wl_resource_set_implementation(res, &subsurface_impl, sub,
				       subsurface_resource_destroy);
}

static void subcompositor_destroy(struct wl_client *client,
				  struct wl_resource *resource)
{
	wl_resource_destroy(resource);
}

static const struct wl_subcompositor_interface subcompositor_impl = {
	.destroy = subcompositor_destroy,
	.get_subsurface = subcompositor_get_subsurface,
};

static void subcompositor_bind(struct wl_client *client, void *data,
			       uint32_t version, uint32_t id)
{
	struct wl_resource *res = wl_resource_create(client,
		&wl_subcompositor_interface, version, id);

	if (res == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(res, &subcompositor_impl, data, NULL);
}

bool ga_subcompositor_init(struct ga_server *server)
{
	return wl_global_create(server->display, &wl_subcompositor_interface,
				1, server, subcompositor_bind) != NULL;
}
