/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "xdg-positioner.h"

#include <assert.h>
#include <glib.h>

#include "xdg-shell-server-protocol.h"

static const struct xdg_positioner_interface positioner_impl;

static struct ga_positioner *from_resource(struct wl_resource *resource)
{
	assert(wl_resource_instance_of(resource, &xdg_positioner_interface,
				       &positioner_impl));
	return wl_resource_get_user_data(resource);
}

static void positioner_destroy(struct wl_client *client,
			       struct wl_resource *resource)
{
	wl_resource_destroy(resource);
}

static void set_size(struct wl_client *client, struct wl_resource *resource,
		     int32_t width, int32_t height)
{
	struct ga_positioner *p = from_resource(resource);

	if (width <= 0 || height <= 0) {
		wl_resource_post_error(resource,
			XDG_POSITIONER_ERROR_INVALID_INPUT,
			"popup size %dx%d is not positive", width, height);
		return;
	}
	p->width = width;
	p->height = height;
	p->has_size = true;
}

static void set_anchor_rect(struct wl_client *client,
			    struct wl_resource *resource, int32_t x, int32_t y,
			    int32_t width, int32_t height)
{
	struct ga_positioner *p = from_resource(resource);

	if (width < 0 || height < 0) {
		wl_resource_post_error(resource,
			XDG_POSITIONER_ERROR_INVALID_INPUT,
			"anchor rectangle %dx%d is negative", width, height);
		return;
	}
	p->anchor_rect = (struct ga_rect){ x, y, width, height };
	p->has_anchor_rect = true;
}

static void set_anchor(struct wl_client *client, struct wl_resource *resource,
		       uint32_t anchor)
{
	if (anchor > XDG_POSITIONER_ANCHOR_BOTTOM_RIGHT) {
		wl_resource_post_error(resource,
			XDG_POSITIONER_ERROR_INVALID_INPUT,
			"anchor %u is not an xdg_positioner.anchor", anchor);
		return;
	}
	from_resource(resource)->anchor = anchor;
}

static void set_gravity(struct wl_client *client,
			struct wl_resource *resource, uint32_t gravity)
{
	if (gravity > XDG_POSITIONER_GRAVITY_BOTTOM_RIGHT) {
		wl_resource_post_error(resource,
			XDG_POSITIONER_ERROR_INVALID_INPUT,
			"gravity %u is not an xdg_positioner.gravity", gravity);
		return;
	}
	from_resource(resource)->gravity = gravity;
}

static void set_constraint_adjustment(struct wl_client *client,
				      struct wl_resource *resource,
				      uint32_t adjustment)
{
	from_resource(resource)->constraint_adjustment = adjustment;
}

static void set_offset(struct wl_client *client, struct wl_resource *resource,
		       int32_t x, int32_t y)
{
	struct ga_positioner *p = from_resource(resource);

	p->offset_x = x;
	p->offset_y = y;
}

static void set_reactive(struct wl_client *client,
			 struct wl_resource *resource)
{
}

static void set_parent_size(struct wl_client *client,
			    struct wl_resource *resource, int32_t width,
			    int32_t height)
{
}

static void set_parent_configure(struct wl_client *client,
				 struct wl_resource *resource, uint32_t serial)
{
}

static const struct xdg_positioner_interface positioner_impl = {
	.destroy = positioner_destroy,
	.set_size = set_size,
	.set_anchor_rect = set_anchor_rect,
	.set_anchor = set_anchor,
	.set_gravity = set_gravity,
	.set_constraint_adjustment = set_constraint_adjustment,
	.set_offset = set_offset,
	.set_reactive = set_reactive,
	.set_parent_size = set_parent_size,
	.set_parent_configure = set_parent_configure,
};

static void positioner_resource_destroy(struct wl_resource *resource)
{
	g_free(from_resource(resource));
}

void ga_positioner_create(struct wl_client *client, uint32_t version,
			  uint32_t id)
{
	struct wl_resource *res = wl_resource_create(client,
		&xdg_positioner_interface, (int)version, id);

	if (res == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(res, &positioner_impl,
				       g_new0(struct ga_positioner, 1),
				       positioner_resource_destroy);
}

const struct ga_positioner *ga_positioner_get(struct wl_resource *resource,
					      struct wl_resource *error_on)
{
	struct ga_positioner *p = from_resource(resource);

	if (!p->has_size || !p->has_anchor_rect) {
		wl_resource_post_error(error_on,
			XDG_WM_BASE_ERROR_INVALID_POSITIONER,
			"xdg_positioner@%u lacks a size or an anchor rectangle",
			wl_resource_get_id(resource));
		return NULL;
	}
	return p;
}

/* -1: left/top, 0: centre, 1: right/bottom, for anchors and gravities
 * (both enums share their values) */
static void edges(uint32_t e, int *hx, int *vy)
{
	*hx = 0;
	*vy = 0;
	switch (e) {
	case XDG_POSITIONER_ANCHOR_TOP: *vy = -1; break;
	case XDG_POSITIONER_ANCHOR_BOTTOM: *vy = 1; break;
	case XDG_POSITIONER_ANCHOR_LEFT: *hx = -1; break;
	case XDG_POSITIONER_ANCHOR_RIGHT: *hx = 1; break;
	case XDG_POSITIONER_ANCHOR_TOP_LEFT: *hx = -1; *vy = -1; break;
	case XDG_POSITIONER_ANCHOR_BOTTOM_LEFT: *hx = -1; *vy = 1; break;
	case XDG_POSITIONER_ANCHOR_TOP_RIGHT: *hx = 1; *vy = -1; break;
	case XDG_POSITIONER_ANCHOR_BOTTOM_RIGHT: *hx = 1; *vy = 1; break;
	default: break;
	}
}

static int32_t clamp32(int64_t v)
{
	return v < INT32_MIN / 2 ? INT32_MIN / 2
	       : v > INT32_MAX / 2 ? INT32_MAX / 2 : (int32_t)v;
}

void ga_positioner_place(const struct ga_positioner *p, int32_t *x,
			 int32_t *y)
{
	int ah, av, gh, gv;

	edges(p->anchor, &ah, &av);
	edges(p->gravity, &gh, &gv);
	const struct ga_rect *r = &p->anchor_rect;
	int64_t ax = (int64_t)r->x + (ah < 0 ? 0 : ah > 0 ? r->width
							 : r->width / 2);
	int64_t ay = (int64_t)r->y + (av < 0 ? 0 : av > 0 ? r->height
							 : r->height / 2);
	/* gravity: the side of the anchor point the popup goes to */
	int64_t px = ax - (gh < 0 ? p->width : gh > 0 ? 0 : p->width / 2);
	int64_t py = ay - (gv < 0 ? p->height : gv > 0 ? 0 : p->height / 2);
	*x = clamp32(px + p->offset_x);
	*y = clamp32(py + p->offset_y);
}
