/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "damage.h"

#include <string.h>

#define COORD_LIMIT (1 << 30)

static int32_t clamp_coord(int64_t v)
{
	if (v < -COORD_LIMIT)
		return -COORD_LIMIT;
	if (v > COORD_LIMIT)
		return COORD_LIMIT;
	return (int32_t)v;
}

void ga_damage_clear(struct ga_damage *d)
{
	d->n = 0;
}

static void collapse(struct ga_damage *d)
{
	int64_t x0 = d->r[0].x, y0 = d->r[0].y;
	int64_t x1 = x0 + d->r[0].width, y1 = y0 + d->r[0].height;

	for (unsigned i = 1; i < d->n; i++) {
		const struct ga_rect *r = &d->r[i];
		if (r->x < x0)
			x0 = r->x;
		if (r->y < y0)
			y0 = r->y;
		if ((int64_t)r->x + r->width > x1)
			x1 = (int64_t)r->x + r->width;
		if ((int64_t)r->y + r->height > y1)
			y1 = (int64_t)r->y + r->height;
	}
	d->n = 1;
	d->r[0] = (struct ga_rect){ (int32_t)x0, (int32_t)y0,
				    (int32_t)(x1 - x0), (int32_t)(y1 - y0) };
}

void ga_damage_add(struct ga_damage *d, int32_t x, int32_t y,
		   int32_t width, int32_t height)
{
	if (width <= 0 || height <= 0)
		return;
	int32_t x0 = clamp_coord(x), y0 = clamp_coord(y);
	int32_t x1 = clamp_coord((int64_t)x + width);
	int32_t y1 = clamp_coord((int64_t)y + height);
	if (x1 <= x0 || y1 <= y0)
		return;
	struct ga_rect r = { x0, y0, x1 - x0, y1 - y0 };

	for (unsigned i = 0; i < d->n; i++) {
		const struct ga_rect *o = &d->r[i];
		if (r.x >= o->x && r.y >= o->y &&
		    r.x + r.width <= o->x + o->width &&
		    r.y + r.height <= o->y + o->height)
			return; /* already covered */
	}
	if (d->n == GA_DAMAGE_MAX) {
		collapse(d);
		d->r[d->n++] = r;
		collapse(d);
		return;
	}
	d->r[d->n++] = r;
}

void ga_damage_add_all(struct ga_damage *d, const struct ga_damage *src,
		       int32_t dx, int32_t dy)
{
	for (unsigned i = 0; i < src->n; i++)
		ga_damage_add(d, clamp_coord((int64_t)src->r[i].x + dx),
			      clamp_coord((int64_t)src->r[i].y + dy),
			      src->r[i].width, src->r[i].height);
}

void ga_damage_clip(struct ga_damage *d, uint32_t width, uint32_t height)
{
	unsigned out = 0;

	for (unsigned i = 0; i < d->n; i++) {
		int64_t x0 = d->r[i].x, y0 = d->r[i].y;
		int64_t x1 = x0 + d->r[i].width, y1 = y0 + d->r[i].height;
		if (x0 < 0)
			x0 = 0;
		if (y0 < 0)
			y0 = 0;
		if (x1 > width)
			x1 = width;
		if (y1 > height)
			y1 = height;
		if (x1 <= x0 || y1 <= y0)
			continue;
		d->r[out++] = (struct ga_rect){ (int32_t)x0, (int32_t)y0,
						(int32_t)(x1 - x0),
						(int32_t)(y1 - y0) };
	}
	d->n = out;
}
