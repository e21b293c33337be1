/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pointer's image over the proxy's surfaces: the host's theme arrow,
 * and over a guest's content that guest's own image where it lies wholly
 * inside the content (docs/gui.md, "Cursors").
 */
#include <stdlib.h>
#include <string.h>

#include <wayland-cursor.h>

#include "proxy.h"

/* The theme's arrow, from XCURSOR_THEME / XCURSOR_SIZE as other clients;
 * without a theme the compositor's last cursor stays. */
void gp_cursor_load(struct gp_display *dpy)
{
	const char *size_env = g_getenv("XCURSOR_SIZE");
	int size = size_env ? atoi(size_env) : 24;
	struct wl_cursor *c = NULL;

	dpy->cursor_theme = wl_cursor_theme_load(g_getenv("XCURSOR_THEME"),
						 size > 0 ? size : 24,
						 dpy->shm);
	if (dpy->cursor_theme) {
		c = wl_cursor_theme_get_cursor(dpy->cursor_theme, "left_ptr");
		if (!c)
			c = wl_cursor_theme_get_cursor(dpy->cursor_theme,
						       "default");
	}
	if (!c || c->image_count == 0)
		return;
	struct wl_cursor_image *img = c->images[0];
	dpy->cursor_surface = wl_compositor_create_surface(dpy->compositor);
	wl_surface_attach(dpy->cursor_surface,
			  wl_cursor_image_get_buffer(img), 0, 0);
	wl_surface_damage_buffer(dpy->cursor_surface, 0, 0,
				 (int32_t)img->width, (int32_t)img->height);
	wl_surface_commit(dpy->cursor_surface);
	dpy->cursor_hot_x = (int32_t)img->hotspot_x;
	dpy->cursor_hot_y = (int32_t)img->hotspot_y;
}

/* Where the guest's image, its hotspot at the pointer, lies wholly
 * inside the content the guest owns: there it cannot paint over a
 * border, another window or the desktop. */
static bool cursor_fits(const struct gp_window *w, wl_fixed_t fx,
			wl_fixed_t fy)
{
	const struct gp_guest *g = w->guest;
	uint32_t vw, vh;
	int64_t left = (int64_t)wl_fixed_to_int(fx) - g->cursor.hot_x;
	int64_t top = (int64_t)wl_fixed_to_int(fy) - g->cursor.hot_y;

	gp_window_visible_size(w, &vw, &vh);
	return left >= 0 && top >= 0 && left + g->cursor.width <= vw &&
	       top + g->cursor.height <= vh;
}

void gp_cursor_show_host(struct gp_display *dpy)
{
	wl_pointer_set_cursor(dpy->pointer, dpy->ptr_serial,
			      dpy->cursor_surface, dpy->cursor_hot_x,
			      dpy->cursor_hot_y);
	dpy->cursor_shown = GP_CURSOR_HOST;
}

/* The guest's image into a buffer of ours, then on our cursor surface
 * (the old buffer goes once the new one is committed). */
static bool show_guest_cursor(struct gp_display *dpy,
			      const struct gp_guest *g)
{
	if (dpy->cursor_shown != GP_CURSOR_GUEST || dpy->cursor_guest != g ||
	    dpy->cursor_gen != g->cursor.gen) {
		struct gp_buffer *b = gp_buffer_create(dpy->shm,
			g->cursor.width, g->cursor.height, true);

		if (!b)
			return false;
		memcpy(b->data, g->cursor.pixels,
		       (size_t)g->cursor.width * g->cursor.height * 4);
		if (!dpy->guest_cursor_surface)
			dpy->guest_cursor_surface =
				wl_compositor_create_surface(dpy->compositor);
		wl_surface_attach(dpy->guest_cursor_surface, b->buffer, 0, 0);
		wl_surface_damage_buffer(dpy->guest_cursor_surface, 0, 0,
					 (int32_t)g->cursor.width,
					 (int32_t)g->cursor.height);
		wl_surface_commit(dpy->guest_cursor_surface);
		gp_buffer_destroy(dpy->guest_cursor_buf);
		dpy->guest_cursor_buf = b;
		dpy->cursor_guest = g;
		dpy->cursor_gen = g->cursor.gen;
	}
	wl_pointer_set_cursor(dpy->pointer, dpy->ptr_serial,
			      dpy->guest_cursor_surface, g->cursor.hot_x,
			      g->cursor.hot_y);
	dpy->cursor_shown = GP_CURSOR_GUEST;
	return true;
}

void gp_display_update_cursor(struct gp_display *dpy)
{
	const struct gp_window *w = dpy->ptr_focus;
	const struct gp_guest *g = w ? w->guest : NULL;

	/* Without the host's arrow to fall back to, no guest cursor. */
	if (!dpy->pointer || !dpy->cursor_surface)
		return;
	if (!g || !g->cursor.window || g->cursor.window != w->id) {
		if (dpy->cursor_shown != GP_CURSOR_HOST)
			gp_cursor_show_host(dpy);
		return;
	}
	if (g->cursor.width == 0) {
		/* hidden: over its own content only */
		if (dpy->cursor_shown != GP_CURSOR_HIDDEN) {
			wl_pointer_set_cursor(dpy->pointer, dpy->ptr_serial,
					      NULL, 0, 0);
			dpy->cursor_shown = GP_CURSOR_HIDDEN;
		}
		return;
	}
	if (!cursor_fits(w, dpy->ptr_x, dpy->ptr_y)) {
		if (dpy->cursor_shown != GP_CURSOR_HOST)
			gp_cursor_show_host(dpy);
		return;
	}
	if (dpy->cursor_shown == GP_CURSOR_GUEST && dpy->cursor_guest == g &&
	    dpy->cursor_gen == g->cursor.gen)
		return;
	if (!show_guest_cursor(dpy, g))
		gp_cursor_show_host(dpy);
}

void gp_cursor_finish(struct gp_display *dpy)
{
	g_clear_pointer(&dpy->cursor_surface, wl_surface_destroy);
	g_clear_pointer(&dpy->guest_cursor_surface, wl_surface_destroy);
	g_clear_pointer(&dpy->guest_cursor_buf, gp_buffer_destroy);
	dpy->cursor_shown = GP_CURSOR_HOST;
	dpy->cursor_guest = NULL;
	g_clear_pointer(&dpy->cursor_theme, wl_cursor_theme_destroy);
}
