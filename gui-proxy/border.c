/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A window's border: a ring of GP_BORDER pixels in the label colour
 * around the content's hole, in the proxy's own surfaces.  The frame
 * surface (the xdg_surface's) carries the top strip; the left, right and
 * bottom strips are sub-surfaces of it, created after the content's so
 * that they are stacked above it; the window geometry spans all of them.
 * Nothing of the proxy lies under the content, so the compositor
 * composites each content pixel once (with a whole-frame buffer under it,
 * sway's pixman renderer drew every damaged pixel twice).  Where the
 * content may not cover the hole opaquely (an ARGB window, or a shared
 * region slot smaller than the hole), an opaque black underlay below the
 * content keeps the window from being see-through.
 *
 * All the sub-surfaces are synchronized: what is attached here shows with
 * the frame's next commit, together with the content.
 */
#include "proxy.h"

enum { LEFT, RIGHT, BOTTOM, UNDER, N_SUBS };

struct gp_border {
	struct gp_window *w;
	struct wl_surface *surf[N_SUBS];
	struct wl_subsurface *sub[N_SUBS];
	struct gp_buffer *top, *buf[N_SUBS];
	uint32_t vw, vh, rgb;
	bool drawn;
};

struct gp_border *gp_border_create(struct gp_window *w)
{
	struct gp_display *dpy = w->guest->dpy;
	struct gp_border *b = g_new0(struct gp_border, 1);

	b->w = w;
	for (int i = 0; i < N_SUBS; i++) {
		b->surf[i] = wl_compositor_create_surface(dpy->compositor);
		/* the window's, as every surface of the proxy (display.c);
		 * not its content, so input over it is not forwarded */
		wl_surface_set_user_data(b->surf[i], w);
		b->sub[i] = wl_subcompositor_get_subsurface(dpy->subcompositor,
							    b->surf[i],
							    w->frame);
		wl_subsurface_set_sync(b->sub[i]);
	}
	wl_subsurface_set_position(b->sub[UNDER], GP_BORDER, GP_BORDER);
	wl_subsurface_place_below(b->sub[UNDER], w->content);
	return b;
}

void gp_border_destroy(struct gp_border *b)
{
	if (!b)
		return;
	for (int i = 0; i < N_SUBS; i++) {
		wl_subsurface_destroy(b->sub[i]);
		wl_surface_destroy(b->surf[i]);
		gp_buffer_destroy(b->buf[i]);
	}
	gp_buffer_destroy(b->top);
	g_free(b);
}

static struct gp_buffer *solid(struct wl_shm *shm, uint32_t width,
			       uint32_t height, uint32_t argb)
{
	struct gp_buffer *buf = gp_buffer_create(shm, width, height, false);

	if (!buf)
		return NULL;
	uint32_t *px = (uint32_t *)(void *)buf->data;
	for (size_t i = 0; i < (size_t)width * height; i++)
		px[i] = argb;
	return buf;
}

bool gp_border_stale(const struct gp_border *b, uint32_t vw, uint32_t vh,
		     uint32_t rgb)
{
	return !b->drawn || b->vw != vw || b->vh != vh || b->rgb != rgb;
}

static void show(struct wl_surface *s, struct gp_buffer *buf)
{
	wl_surface_attach(s, buf ? buf->buffer : NULL, 0, 0);
	if (buf)
		wl_surface_damage_buffer(s, 0, 0, (int32_t)buf->width,
					 (int32_t)buf->height);
	wl_surface_commit(s);
}

bool gp_border_update(struct gp_border *b, uint32_t vw, uint32_t vh,
		      uint32_t rgb)
{
	struct gp_window *w = b->w;
	struct wl_shm *shm = w->guest->dpy->shm;
	uint32_t fw = vw + 2 * GP_BORDER, color = 0xff000000u | rgb;
	struct gp_buffer *n[UNDER] = { NULL }, *top;

	/* All or nothing: a hole no ring surrounds is never shown. */
	top = solid(shm, fw, GP_BORDER, color);
	n[LEFT] = solid(shm, GP_BORDER, vh, color);
	n[RIGHT] = solid(shm, GP_BORDER, vh, color);
	n[BOTTOM] = solid(shm, fw, GP_BORDER, color);
	if (!top || !n[LEFT] || !n[RIGHT] || !n[BOTTOM]) {
		gp_buffer_destroy(top);
		for (int i = 0; i < UNDER; i++)
			gp_buffer_destroy(n[i]);
		return false;
	}
	wl_subsurface_set_position(b->sub[LEFT], 0, GP_BORDER);
	wl_subsurface_set_position(b->sub[RIGHT], (int32_t)(vw + GP_BORDER),
				   GP_BORDER);
	wl_subsurface_set_position(b->sub[BOTTOM], 0,
				   (int32_t)(vh + GP_BORDER));
	for (int i = 0; i < UNDER; i++) {
		show(b->surf[i], n[i]);
		/* the compositor keeps what it shows (shm.c) */
		gp_buffer_destroy(b->buf[i]);
		b->buf[i] = n[i];
	}
	wl_surface_attach(w->frame, top->buffer, 0, 0);
	wl_surface_damage_buffer(w->frame, 0, 0, (int32_t)fw, GP_BORDER);
	gp_buffer_destroy(b->top);
	b->top = top;
	b->vw = vw, b->vh = vh, b->rgb = rgb;
	b->drawn = true;
	return true;
}

bool gp_border_set_underlay(struct gp_border *b, bool on)
{
	struct gp_buffer *u = b->buf[UNDER];

	if (!on) {
		if (u) {
			show(b->surf[UNDER], NULL);
			gp_buffer_destroy(u);
			b->buf[UNDER] = NULL;
		}
		return true;
	}
	if (u && u->width == b->vw && u->height == b->vh)
		return true;
	/* made only when needed: most windows are opaque */
	u = solid(b->w->guest->dpy->shm, b->vw, b->vh, 0xff000000u);
	if (!u)
		return false;
	show(b->surf[UNDER], u);
	gp_buffer_destroy(b->buf[UNDER]);
	b->buf[UNDER] = u;
	return true;
}
