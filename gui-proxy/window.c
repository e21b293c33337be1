/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A guest window on the host: the proxy's own surface (xdg_toplevel or
 * xdg_popup) carrying the border's top strip, the other strips
 * (border.c), and an inset sub-surface with the guest's pixels.
 *
 * Why the guest cannot cover the border: the content sub-surface sits at
 * (GP_BORDER, GP_BORDER) and its buffer is never larger than the visible
 * content size (the hole), while the strips surround that hole and are
 * stacked above the content; all are committed together (synchronized
 * sub-surfaces apply their state with their parent's commit).  The proxy
 * chooses every size, position, buffer and role here; the guest only
 * supplies pixels, copied into the proxy's own buffers or, from a shared
 * region, shown from slots the decoder checked (window-shm.c).
 */
#include <string.h>

#include "proxy.h"
#include "xdg-shell-client-protocol.h"

static void present(struct gp_window *w);

static void dirty_all(struct gp_window *w)
{
	for (int i = 0; i < 2; i++) {
		struct gp_buffer *b = w->bufs[i];

		if (b) {
			b->dx0 = b->dy0 = 0;
			b->dx1 = w->width;
			b->dy1 = w->height;
		}
	}
}

/* The content size shown on screen: the guest's buffer, for popups cut to
 * GP_POPUP_MAX_PERCENT of the output and to what the compositor gave. */
void gp_window_visible_size(const struct gp_window *w, uint32_t *vw,
			    uint32_t *vh)
{
	int64_t cw = w->width, ch = w->height;

	if (w->popup) {
		struct gp_display *dpy = w->guest->dpy;
		int64_t ow = dpy->output_width > 0 ? dpy->output_width : 1920;
		int64_t oh = dpy->output_height > 0 ? dpy->output_height : 1080;

		cw = MIN(cw, ow * GP_POPUP_MAX_PERCENT / 100 - 2 * GP_BORDER);
		ch = MIN(ch, oh * GP_POPUP_MAX_PERCENT / 100 - 2 * GP_BORDER);
		if (w->popup_width > 0)
			cw = MIN(cw, w->popup_width - 2 * GP_BORDER);
		if (w->popup_height > 0)
			ch = MIN(ch, w->popup_height - 2 * GP_BORDER);
	}
	*vw = (uint32_t)MAX(cw, 1);
	*vh = (uint32_t)MAX(ch, 1);
}

/* ---- presenting ---- */

static void frame_done(void *data, struct wl_callback *cb, uint32_t time)
{
	struct gp_window *w = data;
	struct gp_guest *g = w->guest;

	wl_callback_destroy(cb);
	w->frame_cb = NULL;
	if (w->frame_done_owed) {
		w->frame_done_owed = false;
		gp_guest_send(g, QM_GUI_FRAME_DONE, w->id, NULL, 0);
		if (g->fd < 0)
			return;         /* disconnected: w is gone */
	}
	if (w->dirty)
		present(w);
}

static const struct wl_callback_listener frame_listener = {
	.done = frame_done,
};

static void buffer_released(void *data)
{
	struct gp_window *w = data;

	if (w->dirty)
		present(w);
}

static struct gp_buffer *free_buffer(struct gp_window *w, uint32_t vw,
				     uint32_t vh)
{
	for (int i = 0; i < 2; i++) {
		struct gp_buffer *b = w->bufs[i];

		if (b && b->busy)
			continue;
		if (b && b->width == vw && b->height == vh)
			return b;
		gp_buffer_destroy(b);
		b = gp_buffer_create(w->guest->dpy->shm, vw, vh, w->alpha);
		w->bufs[i] = b;
		if (b) {
			b->on_release = buffer_released;
			b->release_data = w;
			b->dx1 = w->width;
			b->dy1 = w->height;
		}
		return b;
	}
	return NULL;
}

static void present(struct gp_window *w)
{
	uint32_t vw, vh;

	if (!w->frame || !w->configured || !w->committed_once || w->frame_cb)
		return;         /* again from configure / frame_done */
	gp_window_visible_size(w, &vw, &vh);
	uint32_t fw = vw + 2 * GP_BORDER, fh = vh + 2 * GP_BORDER;
	bool covers = true;
	/* The border first: content of a size no border surrounds is never
	 * shown. */
	if ((w->recolor || gp_border_stale(w->border, vw, vh,
					   w->guest->cfg.color)) &&
	    !gp_border_update(w->border, vw, vh, w->guest->cfg.color))
		return;
	w->recolor = false;
	if (gp_window_shm_active(w)) {
		if (!gp_window_shm_attach(w, vw, vh, &covers))
			return; /* disconnected: w is gone */
		wl_surface_commit(w->content);
		goto frame;
	}
	struct gp_buffer *b = free_buffer(w, vw, vh);
	if (!b)
		return;         /* both held: again from frame_done/release */

	/* Copy what changed since this buffer was last shown. */
	uint32_t x0 = b->dx0, y0 = b->dy0;
	uint32_t x1 = MIN(b->dx1, vw), y1 = MIN(b->dy1, vh);
	if (x0 < x1 && y0 < y1) {
		for (uint32_t y = y0; y < y1; y++)
			memcpy(b->data + ((size_t)y * vw + x0) * 4,
			       w->pixels + ((size_t)y * w->width + x0) * 4,
			       (size_t)(x1 - x0) * 4);
		wl_surface_damage_buffer(w->content, (int32_t)x0, (int32_t)y0,
					 (int32_t)(x1 - x0),
					 (int32_t)(y1 - y0));
	}
	b->dx0 = b->dy0 = b->dx1 = b->dy1 = 0;
	wl_surface_attach(w->content, b->buffer, 0, 0);
	b->busy = true;
	wl_surface_commit(w->content);

frame:
	/* Nothing of the proxy's under opaque content that fills the hole
	 * (it would be composited twice); black under anything else, so
	 * that no window is see-through. */
	if (!gp_border_set_underlay(w->border, w->alpha || !covers))
		return;
	xdg_surface_set_window_geometry(w->xdg_surface, 0, 0, (int32_t)fw,
					(int32_t)fh);
	w->frame_cb = wl_surface_frame(w->frame);
	wl_callback_add_listener(w->frame_cb, &frame_listener, w);
	wl_surface_commit(w->frame);
	w->dirty = false;
	w->mapped = true;
	if (w->frame_done_next) {
		w->frame_done_next = false;
		w->frame_done_owed = true;
	}
}

/* ---- xdg events ---- */

static void send_configure(struct gp_window *w, int32_t fw, int32_t fh)
{
	struct qm_gui_configure c = {
		.width = fw > 2 * GP_BORDER ? (uint32_t)(fw - 2 * GP_BORDER) : 0,
		.height = fh > 2 * GP_BORDER ? (uint32_t)(fh - 2 * GP_BORDER) : 0,
		.states = w->host_states,
		.serial = ++w->configure_serial,
	};

	gp_guest_send(w->guest, QM_GUI_CONFIGURE, w->id, &c, sizeof(c));
}

static void xdg_surface_configure(void *data, struct xdg_surface *xs,
				  uint32_t serial)
{
	struct gp_window *w = data;
	struct gp_guest *g = w->guest;

	xdg_surface_ack_configure(xs, serial);
	w->configured = true;
	if (w->popup)
		send_configure(w, w->popup_width, w->popup_height);
	else
		send_configure(w, w->host_width, w->host_height);
	if (g->fd < 0)
		return;         /* disconnected: w is gone */
	/* Each configure wants a commit; the last guest frame will do. */
	w->dirty = true;
	present(w);
}

static const struct xdg_surface_listener xdg_surface_listener = {
	.configure = xdg_surface_configure,
};

static void toplevel_configure(void *data, struct xdg_toplevel *t,
			       int32_t width, int32_t height,
			       struct wl_array *states)
{
	struct gp_window *w = data;
	uint32_t *s;

	w->host_width = width;
	w->host_height = height;
	w->host_states = 0;
	wl_array_for_each(s, states) {
		if (*s == XDG_TOPLEVEL_STATE_MAXIMIZED)
			w->host_states |= QM_GUI_STATE_MAXIMIZED;
		else if (*s == XDG_TOPLEVEL_STATE_FULLSCREEN)
			w->host_states |= QM_GUI_STATE_FULLSCREEN;
		else if (*s == XDG_TOPLEVEL_STATE_ACTIVATED)
			w->host_states |= QM_GUI_STATE_ACTIVATED;
	}
}

static void toplevel_close(void *data, struct xdg_toplevel *t)
{
	struct gp_window *w = data;

	gp_guest_send(w->guest, QM_GUI_CLOSE, w->id, NULL, 0);
}

static const struct xdg_toplevel_listener toplevel_listener = {
	.configure = toplevel_configure,
	.close = toplevel_close,
};

static void popup_configure(void *data, struct xdg_popup *p, int32_t x,
			    int32_t y, int32_t width, int32_t height)
{
	struct gp_window *w = data;

	w->popup_width = width;
	w->popup_height = height;
}

static void popup_done(void *data, struct xdg_popup *p)
{
	struct gp_window *w = data;
	struct gp_guest *g = w->guest;

	/* The compositor dismissed it: the guest's app closes it. */
	gp_guest_send(g, QM_GUI_CLOSE, w->id, NULL, 0);
	if (g->fd >= 0)         /* else disconnected: w is gone */
		gp_window_destroy_host(w);
}

static const struct xdg_popup_listener popup_listener = {
	.configure = popup_configure,
	.popup_done = popup_done,
};

/* ---- life ---- */

static void title_update(struct gp_window *w)
{
	g_autofree char *t = g_strdup_printf("[%s] %s", w->guest->cfg.name,
					     w->title ? w->title : "");
	g_autofree char *a = g_strdup_printf("qmgr.%s.%s", w->guest->cfg.name,
					     w->app_id ? w->app_id : "unknown");

	if (!w->toplevel)
		return;
	xdg_toplevel_set_title(w->toplevel, t);
	xdg_toplevel_set_app_id(w->toplevel, a);
}

static void popup_create(struct gp_window *w, struct gp_window *parent)
{
	struct gp_display *dpy = w->guest->dpy;
	uint32_t vw, vh, pw, ph;
	struct xdg_positioner *pos;

	gp_window_visible_size(w, &vw, &vh);
	gp_window_visible_size(parent, &pw, &ph);
	/* The popup's content at (x, y) of the parent's content: its frame
	 * at (x, y) of the parent's frame.  The anchor point must lie in
	 * the parent's geometry; the rest goes into the offset. */
	int64_t ax = CLAMP((int64_t)w->popup_x, 0,
			   (int64_t)pw + 2 * GP_BORDER - 1);
	int64_t ay = CLAMP((int64_t)w->popup_y, 0,
			   (int64_t)ph + 2 * GP_BORDER - 1);

	pos = xdg_wm_base_create_positioner(dpy->wm_base);
	xdg_positioner_set_size(pos, (int32_t)vw + 2 * GP_BORDER,
				(int32_t)vh + 2 * GP_BORDER);
	xdg_positioner_set_anchor_rect(pos, (int32_t)ax, (int32_t)ay, 1, 1);
	xdg_positioner_set_anchor(pos, XDG_POSITIONER_ANCHOR_TOP_LEFT);
	xdg_positioner_set_gravity(pos, XDG_POSITIONER_GRAVITY_BOTTOM_RIGHT);
	xdg_positioner_set_offset(pos, (int32_t)(w->popup_x - ax),
				  (int32_t)(w->popup_y - ay));
	xdg_positioner_set_constraint_adjustment(pos,
		XDG_POSITIONER_CONSTRAINT_ADJUSTMENT_SLIDE_X |
		XDG_POSITIONER_CONSTRAINT_ADJUSTMENT_SLIDE_Y |
		XDG_POSITIONER_CONSTRAINT_ADJUSTMENT_FLIP_X |
		XDG_POSITIONER_CONSTRAINT_ADJUSTMENT_FLIP_Y |
		XDG_POSITIONER_CONSTRAINT_ADJUSTMENT_RESIZE_X |
		XDG_POSITIONER_CONSTRAINT_ADJUSTMENT_RESIZE_Y);
	w->xdg_popup = xdg_surface_get_popup(w->xdg_surface,
					     parent->xdg_surface, pos);
	xdg_positioner_destroy(pos);
	xdg_popup_add_listener(w->xdg_popup, &popup_listener, w);
	/* A menu: the keyboard goes to it and a click elsewhere dismisses
	 * it (CLOSE).  xdg-shell allows a grab only on a toplevel or on a
	 * grabbing popup; the serial is the user's last press, which is
	 * what made the app open it (a stale one: the compositor
	 * dismisses the popup at once).  Only while the user is at this
	 * guest's windows (its keyboard focus, or the pointer over its
	 * content): a qube cannot take the keys typed into another's. */
	bool at_guest = (dpy->kbd_focus && dpy->kbd_focus->guest == w->guest) ||
			(dpy->ptr_focus && dpy->ptr_focus->guest == w->guest);
	if (w->grab && at_guest && (!parent->popup || parent->grab) &&
	    dpy->seat)
		xdg_popup_grab(w->xdg_popup, dpy->seat, dpy->input_serial);
	else
		w->grab = false;
}

/* The proxy's surfaces for the window: the frame with its role, and the
 * content inset in it. */
static void host_create(struct gp_window *w, struct gp_window *parent)
{
	struct gp_display *dpy = w->guest->dpy;

	w->frame = wl_compositor_create_surface(dpy->compositor);
	wl_surface_set_user_data(w->frame, w);
	w->content = wl_compositor_create_surface(dpy->compositor);
	wl_surface_set_user_data(w->content, w);
	w->subsurface = wl_subcompositor_get_subsurface(dpy->subcompositor,
							w->content, w->frame);
	wl_subsurface_set_position(w->subsurface, GP_BORDER, GP_BORDER);
	wl_subsurface_set_sync(w->subsurface);
	/* after the content: stacked above it */
	w->border = gp_border_create(w);
	w->xdg_surface = xdg_wm_base_get_xdg_surface(dpy->wm_base, w->frame);
	xdg_surface_add_listener(w->xdg_surface, &xdg_surface_listener, w);
	if (parent) {
		popup_create(w, parent);
	} else {
		w->toplevel = xdg_surface_get_toplevel(w->xdg_surface);
		xdg_toplevel_add_listener(w->toplevel, &toplevel_listener, w);
		title_update(w);
		/* made anew after a compositor restart: as it was asked */
		if (w->requested_states)
			gp_window_apply_states(w);
	}
	wl_surface_commit(w->frame);
}

struct gp_window *gp_window_create(struct gp_guest *g, uint32_t id,
				   const struct gp_guest_msg *m)
{
	struct gp_window *w = g_new0(struct gp_window, 1);

	w->guest = g;
	w->id = id;
	w->popup = m->create.popup;
	w->alpha = m->create.alpha;
	w->grab = m->create.grab;
	w->parent_id = m->create.parent;
	w->popup_x = m->create.x;
	w->popup_y = m->create.y;
	w->width = m->create.width;
	w->height = m->create.height;
	w->pixels = g_try_malloc0((size_t)w->width * w->height * 4);
	if (!w->pixels) {
		g_free(w);
		return NULL;
	}

	/* A popup goes on screen at its first commit, once its parent is;
	 * without a compositor a toplevel goes when it is back. */
	if (!w->popup && !g->dpy->lost)
		host_create(w, NULL);
	return w;
}

/* The window's objects on the compositor, gone (the window stays). */
static void host_destroy(struct gp_window *w)
{
	gp_display_forget_window(w->guest->dpy, w);
	if (w->frame_cb)
		wl_callback_destroy(w->frame_cb);
	w->frame_cb = NULL;
	g_clear_pointer(&w->border, gp_border_destroy);
	wl_subsurface_destroy(w->subsurface);
	wl_surface_destroy(w->content);
	if (w->xdg_popup)
		xdg_popup_destroy(w->xdg_popup);
	if (w->toplevel)
		xdg_toplevel_destroy(w->toplevel);
	xdg_surface_destroy(w->xdg_surface);
	wl_surface_destroy(w->frame);
	w->subsurface = NULL;
	w->content = NULL;
	w->xdg_popup = NULL;
	w->toplevel = NULL;
	w->xdg_surface = NULL;
	w->frame = NULL;
	w->mapped = false;
	for (int i = 0; i < 2; i++)
		g_clear_pointer(&w->bufs[i], gp_buffer_destroy);
	gp_window_shm_finish(w);
}

void gp_window_destroy_host(struct gp_window *w)
{
	GHashTableIter it;
	gpointer value;

	w->off_screen = true;
	if (!w->frame)
		return;
	/* Popups on top of this one go first (xdg-shell wants the topmost
	 * popup destroyed first). */
	g_hash_table_iter_init(&it, w->guest->windows);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct gp_window *c = value;

		if (c->popup && c->parent_id == w->id && c != w)
			gp_window_destroy_host(c);
	}
	host_destroy(w);
}

void gp_window_host_lost(struct gp_window *w)
{
	/* A popup does not outlive its compositor (it was placed, and
	 * grabbed, there): it is off screen for good, as when dismissed. */
	if (w->popup) {
		w->off_screen = true;
		w->frame_done_owed = w->frame_done_next = false;
	}
	if (w->frame)
		host_destroy(w);
	/* A frame on screen now will not be answered by that compositor:
	 * FRAME_DONE after the first frame on the next one, so that the
	 * guest's apps wait meanwhile. */
	if (w->frame_done_owed)
		w->frame_done_next = true;
	w->frame_done_owed = false;
	w->configured = false;
	w->fullscreen_set = false;
	w->host_width = w->host_height = 0;
	w->host_states = 0;
}

void gp_window_host_restore(struct gp_window *w)
{
	if (w->popup || w->off_screen || w->frame)
		return;
	w->recolor = false;
	host_create(w, NULL);
}

void gp_window_destroy(struct gp_window *w)
{
	if (!w)
		return;
	gp_window_destroy_host(w);
	gp_window_shm_destroy(w);
	g_free(w->pixels);
	g_free(w->title);
	g_free(w->app_id);
	g_free(w);
}

void gp_window_set_title(struct gp_window *w, const char *title)
{
	g_free(w->title);
	w->title = g_strdup(title);
	title_update(w);
}

void gp_window_set_app_id(struct gp_window *w, const char *app_id)
{
	g_free(w->app_id);
	w->app_id = g_strdup(app_id);
	title_update(w);
}

bool gp_window_resize(struct gp_window *w, uint32_t width, uint32_t height)
{
	uint8_t *p = g_try_malloc0((size_t)width * height * 4);

	if (!p)
		return false;
	g_free(w->pixels);
	w->pixels = p;
	w->width = width;
	w->height = height;
	dirty_all(w);
	gp_window_shm_resized(w);
	return true;
}

void gp_window_damage(struct gp_window *w, const struct gp_guest_msg *m)
{
	uint32_t x = m->damage.x, y = m->damage.y;
	uint32_t dw = m->damage.width, dh = m->damage.height;

	/* The decoder checked x + dw <= width, y + dh <= height and that
	 * pixels holds dw * dh * 4 bytes. */
	gp_window_shm_leave(w);
	if (dw == 0 || dh == 0)
		return;
	for (uint32_t r = 0; r < dh; r++)
		memcpy(w->pixels + ((size_t)(y + r) * w->width + x) * 4,
		       m->damage.pixels + (size_t)r * dw * 4, (size_t)dw * 4);
	for (int i = 0; i < 2; i++) {
		struct gp_buffer *b = w->bufs[i];

		if (!b)
			continue;
		if (b->dx0 >= b->dx1 || b->dy0 >= b->dy1) {
			b->dx0 = x, b->dy0 = y;
			b->dx1 = x + dw, b->dy1 = y + dh;
		} else {
			b->dx0 = MIN(b->dx0, x), b->dy0 = MIN(b->dy0, y);
			b->dx1 = MAX(b->dx1, x + dw);
			b->dy1 = MAX(b->dy1, y + dh);
		}
	}
}

void gp_window_commit(struct gp_window *w)
{
	if (w->popup && !w->frame && !w->off_screen) {
		struct gp_window *parent = g_hash_table_lookup(
			w->guest->windows, GUINT_TO_POINTER(w->parent_id));

		/* The decoder checked the id; the parent may be off screen
		 * for good (a dismissed popup), then so is this one. */
		if (parent && parent->mapped)
			host_create(w, parent);
		else if (!parent || parent->off_screen)
			w->off_screen = true;
	}
	if (!w->frame && !w->popup && !w->off_screen &&
	    w->guest->dpy->lost) {
		/* Shown when the compositor is back; its app waits. */
		w->committed_once = true;
		w->dirty = true;
		w->frame_done_next = true;
		return;
	}
	if (!w->frame) {
		/* Not on screen for good: do not hold the guest's app. */
		gp_guest_send(w->guest, QM_GUI_FRAME_DONE, w->id, NULL, 0);
		return;
	}
	w->committed_once = true;
	w->dirty = true;
	w->frame_done_next = true;
	present(w);
}

void gp_window_recolor(struct gp_window *w)
{
	if (!w->frame)
		return;         /* drawn in the new colour when shown */
	w->recolor = true;
	/* A frame of its own, or the one after the pending frame. */
	w->dirty = true;
	present(w);
}

/* Fullscreen only where the qube's setting allows it and the host key
 * did not just leave it; otherwise a fullscreen request is a maximize
 * (Qubes' gui-allow-fullscreen).  The border stays in fullscreen. */
void gp_window_apply_states(struct gp_window *w)
{
	uint32_t req = w->requested_states;
	bool fs = (req & QM_GUI_STATE_FULLSCREEN) &&
		  w->guest->allow_fullscreen &&
		  g_get_monotonic_time() >= w->fullscreen_hold_until;
	bool max = (req & QM_GUI_STATE_MAXIMIZED) ||
		   ((req & QM_GUI_STATE_FULLSCREEN) && !fs);

	if (!w->toplevel)
		return;
	if (fs && !w->fullscreen_set)
		xdg_toplevel_set_fullscreen(w->toplevel, NULL);
	else if (!fs && w->fullscreen_set)
		xdg_toplevel_unset_fullscreen(w->toplevel);
	w->fullscreen_set = fs;
	if (max)
		xdg_toplevel_set_maximized(w->toplevel);
	else
		xdg_toplevel_unset_maximized(w->toplevel);
}

void gp_window_request_states(struct gp_window *w, uint32_t states)
{
	w->requested_states = states & (QM_GUI_STATE_MAXIMIZED |
					QM_GUI_STATE_FULLSCREEN);
	gp_window_apply_states(w);
	/* a one-shot request, not a lasting state */
	if (w->toplevel && (states & QM_GUI_STATE_MINIMIZED))
		xdg_toplevel_set_minimized(w->toplevel);
}

bool gp_window_leave_fullscreen(struct gp_window *w)
{
	bool was = w->fullscreen_set ||
		   (w->host_states & QM_GUI_STATE_FULLSCREEN);

	if (!w->toplevel || !was)
		return false;
	/* The request is spent: the guest asks again to go back (and is
	 * maximized instead until the hold is over). */
	w->requested_states &= ~QM_GUI_STATE_FULLSCREEN;
	w->fullscreen_hold_until = g_get_monotonic_time() +
		(gint64)GP_FULLSCREEN_HOLD_S * G_USEC_PER_SEC;
	/* Also when the compositor made it fullscreen on its own. */
	w->fullscreen_set = true;
	gp_window_apply_states(w);
	return true;
}
