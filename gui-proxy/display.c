/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The connection to the user's compositor: globals, the GLib source that
 * reads and dispatches its events, and the seat, whose input goes only to
 * the guest window that has the keyboard focus or the pointer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xkbcommon/xkbcommon.h>

#include "proxy.h"
#include "xdg-shell-client-protocol.h"

#define MISSING_GLOBALS "the compositor lacks wl_compositor (version 4), " \
			"wl_subcompositor, wl_shm or xdg_wm_base"

/* Every wl_surface the proxy creates (a window's frame and content) has
 * its struct gp_window as user data. */
struct gp_window *gp_display_window_from_surface(struct wl_surface *s)
{
	return s ? wl_surface_get_user_data(s) : NULL;
}

void gp_display_forget_window(struct gp_display *dpy, struct gp_window *w)
{
	if (dpy->kbd_focus == w)
		dpy->kbd_focus = NULL;
	if (dpy->ptr_focus == w)
		dpy->ptr_focus = NULL;
}

/* ---- keyboard ---- */

/* Note for all handlers: gp_guest_send() may disconnect the guest (its
 * queue overflowed, a write failed), which frees its windows. */

/* The compositor's keymap compiled, for the shortcuts; without it (it
 * does not compile) the shortcuts are off and keys still go through. */
static void compile_keymap(struct gp_display *dpy)
{
	g_clear_pointer(&dpy->xkb_state, xkb_state_unref);
	g_clear_pointer(&dpy->xkb_keymap, xkb_keymap_unref);
	if (!dpy->xkb)
		return;
	dpy->xkb_keymap = xkb_keymap_new_from_string(dpy->xkb, dpy->keymap,
		XKB_KEYMAP_FORMAT_TEXT_V1, XKB_KEYMAP_COMPILE_NO_FLAGS);
	if (!dpy->xkb_keymap) {
		g_warning("cannot compile the compositor's keymap: "
			  "Ctrl-Shift-C, Ctrl-Shift-V and Ctrl-Alt-Shift-F "
			  "are off");
		return;
	}
	dpy->xkb_state = xkb_state_new(dpy->xkb_keymap);
	xkb_state_update_mask(dpy->xkb_state, dpy->mods.depressed,
			      dpy->mods.latched, dpy->mods.locked, 0, 0,
			      dpy->mods.group);
}

enum shortcut {
	SHORTCUT_NONE,
	SHORTCUT_COPY,          /* Ctrl-Shift-C */
	SHORTCUT_PASTE,         /* Ctrl-Shift-V */
	SHORTCUT_UNFULLSCREEN,  /* Ctrl-Alt-Shift-F */
};

static bool mod_active(struct xkb_state *st, const char *name)
{
	return xkb_state_mod_name_is_active(st, name,
					    XKB_STATE_MODS_EFFECTIVE) > 0;
}

/* By keysym, as the user's layout names the key; the letter's case is
 * the layout's business (with Shift held it is usually upper). */
static enum shortcut shortcut_of(struct gp_display *dpy, uint32_t key)
{
	struct xkb_state *st = dpy->xkb_state;

	if (!st || key >= GP_SHORTCUT_KEYS ||
	    !mod_active(st, XKB_MOD_NAME_CTRL) ||
	    !mod_active(st, XKB_MOD_NAME_SHIFT) ||
	    mod_active(st, XKB_MOD_NAME_LOGO))
		return SHORTCUT_NONE;
	/* xkb keycodes are evdev codes + 8 */
	xkb_keysym_t sym = xkb_keysym_to_lower(
		xkb_state_key_get_one_sym(st, key + 8));
	if (mod_active(st, XKB_MOD_NAME_ALT))
		return sym == XKB_KEY_f ? SHORTCUT_UNFULLSCREEN
					: SHORTCUT_NONE;
	if (sym == XKB_KEY_c)
		return SHORTCUT_COPY;
	if (sym == XKB_KEY_v)
		return SHORTCUT_PASTE;
	return SHORTCUT_NONE;
}

static bool eaten(struct gp_display *dpy, uint32_t key)
{
	return key < GP_SHORTCUT_KEYS &&
	       (dpy->eaten[key / 8] & (1u << (key % 8)));
}

static void kbd_keymap(void *data, struct wl_keyboard *kbd, uint32_t format,
		       int32_t fd, uint32_t size)
{
	struct gp_display *dpy = data;

	if (format != WL_KEYBOARD_KEYMAP_FORMAT_XKB_V1 || size == 0 ||
	    size > QM_GUI_MAX_KEYMAP) {
		g_warning("ignoring a keymap of format %u, %u bytes", format,
			  size);
		close(fd);
		return;
	}
	void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		g_warning("cannot map the keymap: %s", g_strerror(errno));
		return;
	}
	g_free(dpy->keymap);
	/* the compositor's text ends in a NUL; make sure of it */
	dpy->keymap = g_malloc(size);
	memcpy(dpy->keymap, map, size);
	dpy->keymap[size - 1] = '\0';
	dpy->keymap_size = strlen(dpy->keymap) + 1;
	munmap(map, size);
	compile_keymap(dpy);
	for (guint i = 0; i < dpy->guests->len; i++)
		gp_guest_send_keymap(g_ptr_array_index(dpy->guests, i));
}

static void kbd_enter(void *data, struct wl_keyboard *kbd, uint32_t serial,
		      struct wl_surface *surface, struct wl_array *keys)
{
	struct gp_display *dpy = data;
	struct gp_window *w = gp_display_window_from_surface(surface);

	dpy->kbd_focus = w;
	memset(dpy->eaten, 0, sizeof(dpy->eaten));
	if (!w)
		return;
	/* Keys already held are not forwarded: they were pressed for
	 * someone else. */
	struct gp_guest *g = w->guest;
	gp_guest_send(g, QM_GUI_FOCUS_IN, w->id, NULL, 0);
	if (g->fd >= 0)         /* else disconnected: w is gone */
		gp_guest_send(g, QM_GUI_MODIFIERS, w->id, &dpy->mods,
			      sizeof(dpy->mods));
}

static void kbd_leave(void *data, struct wl_keyboard *kbd, uint32_t serial,
		      struct wl_surface *surface)
{
	struct gp_display *dpy = data;
	struct gp_window *w = dpy->kbd_focus;

	dpy->kbd_focus = NULL;
	memset(dpy->eaten, 0, sizeof(dpy->eaten));
	if (w)
		gp_guest_send(w->guest, QM_GUI_FOCUS_OUT, w->id, NULL, 0);
}

/* The host key: every guest window leaves fullscreen, whichever has the
 * focus (the key works as long as any of them has it). */
static void leave_fullscreen(struct gp_display *dpy)
{
	unsigned int n = 0;

	for (guint i = 0; i < dpy->guests->len; i++) {
		struct gp_guest *g = g_ptr_array_index(dpy->guests, i);
		GHashTableIter it;
		gpointer value;

		g_hash_table_iter_init(&it, g->windows);
		while (g_hash_table_iter_next(&it, NULL, &value))
			n += gp_window_leave_fullscreen(value);
	}
	g_message("Ctrl-Alt-Shift-F: %u window(s) left fullscreen", n);
}

static void kbd_key(void *data, struct wl_keyboard *kbd, uint32_t serial,
		    uint32_t time, uint32_t key, uint32_t state)
{
	struct gp_display *dpy = data;
	struct gp_window *w = dpy->kbd_focus;
	struct qm_gui_key k = {
		.time_ms = time,
		.key = key,
		.pressed = state == WL_KEYBOARD_KEY_STATE_PRESSED,
	};

	if (k.pressed)
		dpy->input_serial = serial;
	if (!w)
		return;
	/* The proxy's shortcuts first: neither the press nor its release
	 * reaches the guest. */
	if (k.pressed) {
		enum shortcut sc = shortcut_of(dpy, key);

		if (sc != SHORTCUT_NONE) {
			dpy->eaten[key / 8] |= (uint8_t)(1u << (key % 8));
			if (sc == SHORTCUT_COPY)
				gp_clipboard_copy(dpy, w);
			else if (sc == SHORTCUT_PASTE)
				gp_clipboard_paste(dpy, w);
			else
				leave_fullscreen(dpy);
			return;
		}
	} else if (eaten(dpy, key)) {
		dpy->eaten[key / 8] &= (uint8_t)~(1u << (key % 8));
		return;
	}
	gp_guest_send(w->guest, QM_GUI_KEY, w->id, &k, sizeof(k));
}

static void kbd_modifiers(void *data, struct wl_keyboard *kbd,
			  uint32_t serial, uint32_t depressed,
			  uint32_t latched, uint32_t locked, uint32_t group)
{
	struct gp_display *dpy = data;
	struct gp_window *w = dpy->kbd_focus;

	dpy->mods = (struct qm_gui_modifiers){ depressed, latched, locked,
					       group };
	if (dpy->xkb_state)
		xkb_state_update_mask(dpy->xkb_state, depressed, latched,
				      locked, 0, 0, group);
	if (w)
		gp_guest_send(w->guest, QM_GUI_MODIFIERS, w->id, &dpy->mods,
			      sizeof(dpy->mods));
}

static void kbd_repeat_info(void *data, struct wl_keyboard *kbd,
			    int32_t rate, int32_t delay)
{
	/* Key repeat is the guest's business (its compositor repeats). */
}

static const struct wl_keyboard_listener keyboard_listener = {
	.keymap = kbd_keymap,
	.enter = kbd_enter,
	.leave = kbd_leave,
	.key = kbd_key,
	.modifiers = kbd_modifiers,
	.repeat_info = kbd_repeat_info,
};

/* ---- pointer ---- */

/* Only the inset content surface counts: over the border the pointer is
 * the proxy's. */
static struct gp_window *content_window(struct wl_surface *surface)
{
	struct gp_window *w = gp_display_window_from_surface(surface);

	return w && w->content == surface ? w : NULL;
}

static void send_motion(struct gp_window *w, uint32_t time, wl_fixed_t x,
			wl_fixed_t y)
{
	struct qm_gui_pointer p = { time, x, y };

	gp_guest_send(w->guest, QM_GUI_POINTER_MOTION, w->id, &p, sizeof(p));
}

static void ptr_enter(void *data, struct wl_pointer *ptr, uint32_t serial,
		      struct wl_surface *surface, wl_fixed_t x, wl_fixed_t y)
{
	struct gp_display *dpy = data;

	/* The host's arrow; over a guest's content, the guest's image
	 * where it fits (gp_display_update_cursor). */
	dpy->ptr_serial = serial;
	if (dpy->cursor_surface)
		gp_cursor_show_host(dpy);
	dpy->ptr_focus = content_window(surface);
	dpy->ptr_x = x;
	dpy->ptr_y = y;
	if (dpy->ptr_focus) {
		struct gp_guest *g = dpy->ptr_focus->guest;

		send_motion(dpy->ptr_focus, 0, x, y);
		if (g->fd >= 0)         /* else disconnected: w is gone */
			gp_display_update_cursor(dpy);
	}
}

static void ptr_leave(void *data, struct wl_pointer *ptr, uint32_t serial,
		      struct wl_surface *surface)
{
	struct gp_display *dpy = data;
	struct gp_window *w = dpy->ptr_focus;

	dpy->ptr_focus = NULL;
	if (w)
		gp_guest_send(w->guest, QM_GUI_POINTER_LEAVE, w->id, NULL, 0);
}

static void ptr_motion(void *data, struct wl_pointer *ptr, uint32_t time,
		       wl_fixed_t x, wl_fixed_t y)
{
	struct gp_display *dpy = data;
	struct gp_window *w = dpy->ptr_focus;

	if (!w)
		return;
	dpy->ptr_x = x;
	dpy->ptr_y = y;
	send_motion(w, time, x, y);
	if (dpy->ptr_focus == w)        /* else disconnected: w is gone */
		gp_display_update_cursor(dpy);
}

static void ptr_button(void *data, struct wl_pointer *ptr, uint32_t serial,
		       uint32_t time, uint32_t button, uint32_t state)
{
	struct gp_display *dpy = data;
	struct gp_window *w = dpy->ptr_focus;
	struct qm_gui_button b = {
		.time_ms = time,
		.button = button,
		.pressed = state == WL_POINTER_BUTTON_STATE_PRESSED,
	};

	if (b.pressed)
		dpy->input_serial = serial;
	if (w)
		gp_guest_send(w->guest, QM_GUI_BUTTON, w->id, &b, sizeof(b));
}

static void ptr_axis(void *data, struct wl_pointer *ptr, uint32_t time,
		     uint32_t axis, wl_fixed_t value)
{
	struct gp_display *dpy = data;
	struct gp_window *w = dpy->ptr_focus;
	struct qm_gui_axis a = { time, axis, value };

	if (w && axis <= 1)
		gp_guest_send(w->guest, QM_GUI_AXIS, w->id, &a, sizeof(a));
}

/* The seat is bound at version 5: every event of it needs a handler
 * (libwayland aborts on a NULL one).  Each event is forwarded as it
 * comes; the guest's compositor ends each with its own frame. */
static void ptr_frame(void *data, struct wl_pointer *ptr)
{
}

static void ptr_axis_source(void *data, struct wl_pointer *ptr,
			    uint32_t source)
{
}

static void ptr_axis_stop(void *data, struct wl_pointer *ptr, uint32_t time,
			  uint32_t axis)
{
}

static void ptr_axis_discrete(void *data, struct wl_pointer *ptr,
			      uint32_t axis, int32_t discrete)
{
}

static const struct wl_pointer_listener pointer_listener = {
	.enter = ptr_enter,
	.leave = ptr_leave,
	.motion = ptr_motion,
	.button = ptr_button,
	.axis = ptr_axis,
	.frame = ptr_frame,
	.axis_source = ptr_axis_source,
	.axis_stop = ptr_axis_stop,
	.axis_discrete = ptr_axis_discrete,
};

/* ---- seat, output, globals ---- */

static void seat_capabilities(void *data, struct wl_seat *seat, uint32_t caps)
{
	struct gp_display *dpy = data;
	bool kbd = caps & WL_SEAT_CAPABILITY_KEYBOARD;
	bool ptr = caps & WL_SEAT_CAPABILITY_POINTER;

	if (kbd && !dpy->keyboard) {
		dpy->keyboard = wl_seat_get_keyboard(seat);
		wl_keyboard_add_listener(dpy->keyboard, &keyboard_listener, dpy);
	} else if (!kbd && dpy->keyboard) {
		wl_keyboard_release(dpy->keyboard);
		dpy->keyboard = NULL;
		dpy->kbd_focus = NULL;
	}
	if (ptr && !dpy->pointer) {
		dpy->pointer = wl_seat_get_pointer(seat);
		wl_pointer_add_listener(dpy->pointer, &pointer_listener, dpy);
	} else if (!ptr && dpy->pointer) {
		wl_pointer_release(dpy->pointer);
		dpy->pointer = NULL;
		dpy->ptr_focus = NULL;
	}
}

static void seat_name(void *data, struct wl_seat *seat, const char *name)
{
}

static const struct wl_seat_listener seat_listener = {
	.capabilities = seat_capabilities,
	.name = seat_name,
};

static void output_geometry(void *data, struct wl_output *o, int32_t x,
			    int32_t y, int32_t pw, int32_t ph, int32_t subpixel,
			    const char *make, const char *model,
			    int32_t transform)
{
}

static void output_mode(void *data, struct wl_output *o, uint32_t flags,
			int32_t width, int32_t height, int32_t refresh)
{
	struct gp_display *dpy = data;

	if (flags & WL_OUTPUT_MODE_CURRENT) {
		dpy->output_width = width;
		dpy->output_height = height;
	}
}

static void output_done(void *data, struct wl_output *o)
{
}

static void output_scale(void *data, struct wl_output *o, int32_t factor)
{
}

static const struct wl_output_listener output_listener = {
	.geometry = output_geometry,
	.mode = output_mode,
	.done = output_done,
	.scale = output_scale,
};

static void wm_base_ping(void *data, struct xdg_wm_base *base,
			 uint32_t serial)
{
	xdg_wm_base_pong(base, serial);
}

static const struct xdg_wm_base_listener wm_base_listener = {
	.ping = wm_base_ping,
};

static void registry_global(void *data, struct wl_registry *reg,
			    uint32_t name, const char *iface, uint32_t version)
{
	struct gp_display *dpy = data;

	/* wl_surface.damage_buffer needs wl_compositor version 4. */
	if (strcmp(iface, wl_compositor_interface.name) == 0 && version >= 4) {
		dpy->compositor = wl_registry_bind(reg, name,
			&wl_compositor_interface, 4);
	} else if (strcmp(iface, wl_subcompositor_interface.name) == 0) {
		dpy->subcompositor = wl_registry_bind(reg, name,
			&wl_subcompositor_interface, 1);
	} else if (strcmp(iface, wl_shm_interface.name) == 0) {
		dpy->shm = wl_registry_bind(reg, name, &wl_shm_interface, 1);
	} else if (strcmp(iface, xdg_wm_base_interface.name) == 0) {
		dpy->wm_base = wl_registry_bind(reg, name,
			&xdg_wm_base_interface, MIN(version, 2));
		xdg_wm_base_add_listener(dpy->wm_base, &wm_base_listener, dpy);
	} else if (strcmp(iface, wl_seat_interface.name) == 0 && !dpy->seat) {
		dpy->seat = wl_registry_bind(reg, name, &wl_seat_interface,
					     MIN(version, 5));
		wl_seat_add_listener(dpy->seat, &seat_listener, dpy);
	} else if (strcmp(iface, wl_output_interface.name) == 0 &&
		   !dpy->output) {
		/* The first output sizes popups; multi-output policy later. */
		dpy->output = wl_registry_bind(reg, name, &wl_output_interface,
					       MIN(version, 2));
		wl_output_add_listener(dpy->output, &output_listener, dpy);
	}
}

static void registry_global_remove(void *data, struct wl_registry *reg,
				   uint32_t name)
{
}

static const struct wl_registry_listener registry_listener = {
	.global = registry_global,
	.global_remove = registry_global_remove,
};

/* ---- the GLib source ---- */

struct wl_source {
	GSource base;
	struct gp_display *dpy;
	gpointer tag;
	GIOCondition events;
	bool reading;
};

static gboolean wl_source_prepare(GSource *base, gint *timeout)
{
	struct wl_source *s = (struct wl_source *)base;
	struct wl_display *d = s->dpy->display;

	*timeout = -1;
	while (wl_display_prepare_read(d) != 0) {
		if (wl_display_dispatch_pending(d) < 0)
			return TRUE;    /* dispatch() reports the error */
	}
	s->reading = true;
	/* Flush before sleeping; if the socket is full, wake for POLLOUT.
	 * (Changing the events wakes the main context: only on a change.) */
	GIOCondition want = G_IO_IN | G_IO_ERR | G_IO_HUP;
	if (wl_display_flush(d) < 0 && errno == EAGAIN)
		want |= G_IO_OUT;
	if (want != s->events) {
		g_source_modify_unix_fd(base, s->tag, want);
		s->events = want;
	}
	return FALSE;
}

static gboolean wl_source_check(GSource *base)
{
	struct wl_source *s = (struct wl_source *)base;
	GIOCondition rev = g_source_query_unix_fd(base, s->tag);

	if (!s->reading)
		return TRUE;
	s->reading = false;
	if (rev & (G_IO_IN | G_IO_ERR | G_IO_HUP)) {
		wl_display_read_events(s->dpy->display);
		return TRUE;
	}
	wl_display_cancel_read(s->dpy->display);
	return rev & G_IO_OUT;
}

static void display_lost(struct gp_display *dpy);

static gboolean wl_source_dispatch(GSource *base, GSourceFunc cb,
				   gpointer data)
{
	struct wl_source *s = (struct wl_source *)base;
	struct wl_display *d = s->dpy->display;

	if (wl_display_dispatch_pending(d) < 0 ||
	    wl_display_get_error(d) != 0) {
		g_warning("lost the connection to the compositor: %s; the "
			  "guests stay connected, their windows come back "
			  "when it does", g_strerror(wl_display_get_error(d)));
		display_lost(s->dpy);
		return G_SOURCE_REMOVE;
	}
	if (s->dpy->connect_failed) {
		g_warning("%s; trying again", MISSING_GLOBALS);
		display_lost(s->dpy);
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static void wl_source_finalize(GSource *base)
{
	struct wl_source *s = (struct wl_source *)base;

	if (s->reading)
		wl_display_cancel_read(s->dpy->display);
}

static GSourceFuncs wl_source_funcs = {
	.prepare = wl_source_prepare,
	.check = wl_source_check,
	.dispatch = wl_source_dispatch,
	.finalize = wl_source_finalize,
};

/* Everything of one connection to the compositor, in reverse order of
 * making (the display's error state makes the destroy requests no-ops
 * on the wire). */
static void display_teardown(struct gp_display *dpy)
{
	if (dpy->source) {
		g_source_destroy(dpy->source);
		g_source_unref(dpy->source);
		dpy->source = NULL;
	}
	g_clear_pointer(&dpy->sync_cb, wl_callback_destroy);
	dpy->sync_stage = 0;
	dpy->connect_failed = false;
	gp_cursor_finish(dpy);
	g_clear_pointer(&dpy->keyboard, wl_keyboard_release);
	g_clear_pointer(&dpy->pointer, wl_pointer_release);
	g_clear_pointer(&dpy->seat, wl_seat_release);
	g_clear_pointer(&dpy->output, wl_output_destroy);
	g_clear_pointer(&dpy->wm_base, xdg_wm_base_destroy);
	g_clear_pointer(&dpy->shm, wl_shm_destroy);
	g_clear_pointer(&dpy->subcompositor, wl_subcompositor_destroy);
	g_clear_pointer(&dpy->compositor, wl_compositor_destroy);
	g_clear_pointer(&dpy->registry, wl_registry_destroy);
	if (dpy->display) {
		wl_display_flush(dpy->display);
		wl_display_disconnect(dpy->display);
		dpy->display = NULL;
	}
	dpy->kbd_focus = dpy->ptr_focus = NULL;
	dpy->output_width = dpy->output_height = 0;
	memset(dpy->eaten, 0, sizeof(dpy->eaten));
}

static bool globals_ok(const struct gp_display *dpy)
{
	return dpy->compositor && dpy->subcompositor && dpy->shm &&
	       dpy->wm_base;
}

/* Connects to WAYLAND_DISPLAY and asks for the globals (bound as they
 * are announced); false when there is no compositor to connect to. */
static bool display_open(struct gp_display *dpy)
{
	dpy->display = wl_display_connect(NULL);
	if (!dpy->display)
		return false;
	dpy->registry = wl_display_get_registry(dpy->display);
	wl_registry_add_listener(dpy->registry, &registry_listener, dpy);
	return true;
}

static void attach_source(struct gp_display *dpy)
{
	GSource *src = g_source_new(&wl_source_funcs, sizeof(struct wl_source));
	struct wl_source *s = (struct wl_source *)src;

	s->dpy = dpy;
	s->events = G_IO_IN | G_IO_ERR | G_IO_HUP;
	s->tag = g_source_add_unix_fd(src, wl_display_get_fd(dpy->display),
				      s->events);
	g_source_attach(src, NULL);
	dpy->source = src;
}

static gboolean reconnect_cb(gpointer data);

static void schedule_reconnect(struct gp_display *dpy)
{
	if (dpy->reconnect_id)
		return;
	dpy->reconnect_id = g_timeout_add(dpy->backoff_ms, reconnect_cb, dpy);
	dpy->backoff_ms = MIN(dpy->backoff_ms * 2, GP_DISPLAY_BACKOFF_MAX_MS);
}

/* Reconnecting never blocks: a wl_display.sync after the globals, one
 * more after the events their binding produced (seat, output), then the
 * windows come back.  A compositor that does not answer holds only
 * itself up. */
static void sync_done(void *data, struct wl_callback *cb, uint32_t t);

static const struct wl_callback_listener sync_listener = {
	.done = sync_done,
};

static void sync_next(struct gp_display *dpy, int stage)
{
	dpy->sync_stage = stage;
	dpy->sync_cb = wl_display_sync(dpy->display);
	wl_callback_add_listener(dpy->sync_cb, &sync_listener, dpy);
}

static void sync_done(void *data, struct wl_callback *cb, uint32_t t)
{
	struct gp_display *dpy = data;

	wl_callback_destroy(cb);
	dpy->sync_cb = NULL;
	if (dpy->sync_stage == 1) {
		if (!globals_ok(dpy)) {
			/* torn down after this dispatch (wl_source_dispatch) */
			dpy->connect_failed = true;
			return;
		}
		sync_next(dpy, 2);
		return;
	}
	dpy->sync_stage = 0;
	gp_cursor_load(dpy);
	g_message("connected to the compositor again: showing the guests' "
		  "windows");
	dpy->lost = false;
	for (guint i = 0; i < dpy->guests->len; i++)
		gp_guest_display_restored(g_ptr_array_index(dpy->guests, i));
}

static gboolean reconnect_cb(gpointer data)
{
	struct gp_display *dpy = data;

	dpy->reconnect_id = 0;
	if (!display_open(dpy)) {
		g_debug("compositor: cannot connect yet; trying again in %u "
			"ms", dpy->backoff_ms);
		schedule_reconnect(dpy);
		return G_SOURCE_REMOVE;
	}
	attach_source(dpy);
	sync_next(dpy, 1);
	return G_SOURCE_REMOVE;
}

/* The compositor went away (it crashed or is restarting), or a new one
 * broke off while we were connecting: the windows leave the screen but
 * not the guests, whose connections stay; the compositor is tried again
 * with backoff, and every window is made anew on the new connection. */
static void display_lost(struct gp_display *dpy)
{
	bool was_up = !dpy->lost;

	dpy->lost = true;
	if (was_up) {
		for (guint i = 0; i < dpy->guests->len; i++)
			gp_guest_display_lost(g_ptr_array_index(dpy->guests,
								i));
		dpy->backoff_ms = GP_DISPLAY_BACKOFF_MIN_MS;
	}
	display_teardown(dpy);
	schedule_reconnect(dpy);
}

bool gp_display_init(struct gp_display *dpy)
{
	const char *why = NULL;

	/* Keymaps come complete from the compositor: no include paths or
	 * environment defaults needed. */
	dpy->xkb = xkb_context_new(XKB_CONTEXT_NO_DEFAULT_INCLUDES |
				   XKB_CONTEXT_NO_ENVIRONMENT_NAMES);
	if (!dpy->xkb)
		g_warning("no xkbcommon context: Ctrl-Shift-C, Ctrl-Shift-V "
			  "and Ctrl-Alt-Shift-F are off");
	/* The first connection may wait for the compositor: nothing else
	 * is served yet. */
	if (!display_open(dpy))
		why = "cannot connect to the Wayland compositor (is "
		      "WAYLAND_DISPLAY set?)";
	else if (wl_display_roundtrip(dpy->display) < 0 ||
		 wl_display_roundtrip(dpy->display) < 0)
		why = "the compositor hung up at once";
	else if (!globals_ok(dpy))
		why = MISSING_GLOBALS;
	if (why) {
		g_printerr("gui-proxy: %s\n", why);
		display_teardown(dpy);
		return false;
	}
	gp_cursor_load(dpy);
	attach_source(dpy);
	return true;
}

void gp_display_finish(struct gp_display *dpy)
{
	if (dpy->reconnect_id)
		g_source_remove(dpy->reconnect_id);
	dpy->reconnect_id = 0;
	display_teardown(dpy);
	g_free(dpy->keymap);
	g_clear_pointer(&dpy->xkb_state, xkb_state_unref);
	g_clear_pointer(&dpy->xkb_keymap, xkb_keymap_unref);
	g_clear_pointer(&dpy->xkb, xkb_context_unref);
	gp_clipboard_finish(&dpy->clipboard);
}
