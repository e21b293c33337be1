/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xdg_positioner: the rules of a popup's placement, and where they put
 * it.  Constraint adjustment is not done: the host keeps popups on its
 * screen.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <wayland-server-core.h>

#include "damage.h"

struct ga_positioner {
	int32_t width, height;
	struct ga_rect anchor_rect;
	uint32_t anchor, gravity, constraint_adjustment;
	int32_t offset_x, offset_y;
	bool has_size, has_anchor_rect;
};

void ga_positioner_create(struct wl_client *client, uint32_t version,
			  uint32_t id);
/* The positioner's rules; NULL (after posting an error on `error_on`)
 * when size or anchor rectangle are missing. */
const struct ga_positioner *ga_positioner_get(struct wl_resource *resource,
					      struct wl_resource *error_on);
/* The popup's top-left, relative to the parent's window geometry. */
void ga_positioner_place(const struct ga_positioner *p, int32_t *x,
			 int32_t *y);
