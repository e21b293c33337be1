/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small set of damaged rectangles.  Clients send many small damage
 * requests; past GA_DAMAGE_MAX rectangles they collapse into their
 * bounding box, which costs some pixels on the wire but keeps every
 * operation O(1).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define GA_DAMAGE_MAX 8

struct ga_rect {
	int32_t x, y, width, height;
};

struct ga_damage {
	unsigned n;
	struct ga_rect r[GA_DAMAGE_MAX];
};

void ga_damage_clear(struct ga_damage *d);
/* Adds a rectangle; empty or negative ones are ignored.  Coordinates are
 * clamped to +-2^30 so that later sums cannot overflow. */
void ga_damage_add(struct ga_damage *d, int32_t x, int32_t y,
		   int32_t width, int32_t height);
void ga_damage_add_all(struct ga_damage *d, const struct ga_damage *src,
		       int32_t dx, int32_t dy);
/* Clips every rectangle to [0, width) x [0, height), dropping empty ones. */
void ga_damage_clip(struct ga_damage *d, uint32_t width, uint32_t height);
static inline bool ga_damage_empty(const struct ga_damage *d)
{
	return d->n == 0;
}
