/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "seat.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <glib.h>
#include <wayland-server-protocol.h>

#include "default-keymap.h"
#include "host-link.h"
#include "server.h"
#include "surface.h"
#include "window.h"
#include "xdg.h"

#define SEAT_VERSION 7
/* key repeat is the client's, at the usual desktop defaults */
#define REPEAT_RATE 25
#define REPEAT_DELAY 600

struct ga_seat {
	struct ga_server *server;
	struct wl_global *global;
	struct wl_list keyboards;       /* wl_resource links */
	struct wl_list pointers;
	struct wl_list seats;           /* the wl_seat resources */
	int keymap_fd;                  /* -1: none yet */
	uint32_t keymap_size;           /* with the NUL */
	struct qm_gui_modifiers mods;
	struct ga_window *kb_host;      /* focused on the host */
	struct ga_window *kb_focus;     /* holds the keyboard: kb_host or
					 * its topmost grabbing popup */
	struct ga_window *ptr_focus;
	int32_t ptr_x, ptr_y;           /* wl_fixed_t */
	struct ga_surface *cursor;      /* the pointer focus's cursor */
	struct wl_listener cursor_destroy;
	int32_t cursor_hx, cursor_hy;
	bool cursor_dirty;              /* held back: the link is full */
};

static const struct wl_keyboard_interface keyboard_impl;
static uint32_t capabilities(const struct ga_seat *seat);
static const struct wl_pointer_interface pointer_impl;

static void resource_unlink(struct wl_resource *resource)
{
	wl_list_remove(wl_resource_get_link(resource));
}

static struct wl_resource *surface_resource(struct ga_window *w)
{
	if (w == NULL || !w->live || w->surface == NULL ||
	    w->surface->destroying)
		return NULL;
	return w->surface->resource;
}

/* ---- keyboard ---- */

static void send_keymap(struct ga_seat *seat, struct wl_resource *kb)
{
	if (seat->keymap_fd >= 0)
		wl_keyboard_send_keymap(kb, WL_KEYBOARD_KEYMAP_FORMAT_XKB_V1,
					seat->keymap_fd, seat->keymap_size);
}

bool ga_seat_set_keymap(struct ga_seat *seat, const char *text, size_t len)
{
	int fd = memfd_create("qmgr-keymap", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0) {
		g_warning("keymap: memfd_create: %s", g_strerror(errno));
		return false;
	}
	/* with its NUL, as xkbcommon clients expect */
	size_t size = len + 1;
	const char *p = text;
	size_t left = len;
	while (left > 0) {
		ssize_t n = write(fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			g_warning("keymap: write: %s", g_strerror(errno));
			close(fd);
			return false;
		}
		p += n;
		left -= (size_t)n;
	}
	if (write(fd, "", 1) != 1 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
				   F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
		g_warning("keymap: %s", g_strerror(errno));
		close(fd);
		return false;
	}
	bool first = seat->keymap_fd < 0;
	if (seat->keymap_fd >= 0)
		close(seat->keymap_fd);
	seat->keymap_fd = fd;
	seat->keymap_size = (uint32_t)size;

	struct wl_resource *kb;
	wl_resource_for_each(kb, &seat->keyboards)
		send_keymap(seat, kb);
	if (first) {
		struct wl_resource *sr;
		wl_resource_for_each(sr, &seat->seats)
			wl_seat_send_capabilities(sr, capabilities(seat));
	}
	return true;
}

static void keyboard_release(struct wl_client *client,
			     struct wl_resource *resource)
{
	wl_resource_destroy(resource);
}

static const struct wl_keyboard_interface keyboard_impl = {
	.release = keyboard_release,
};

static void send_enter(struct ga_seat *seat, struct wl_resource *kb,
		       struct wl_resource *surface)
{
	struct wl_array keys;
	uint32_t serial = wl_display_next_serial(seat->server->display);

	wl_array_init(&keys);
	wl_keyboard_send_enter(kb, serial, surface, &keys);
	wl_array_release(&keys);
	wl_keyboard_send_modifiers(kb, serial, seat->mods.depressed,
				   seat->mods.latched, seat->mods.locked,
				   seat->mods.group);
}

/* for each keyboard of the client owning `surface` */
#define for_each_client_resource(res, list, surface)                       \
	wl_resource_for_each(res, list)                                    \
		if (wl_resource_get_client(res) ==                          \
		    wl_resource_get_client(surface))

static void keyboard_leave(struct ga_seat *seat)
{
	struct wl_resource *surface = surface_resource(seat->kb_focus);
	struct wl_resource *kb;

	seat->kb_focus = NULL;
	if (surface == NULL)
		return;
	uint32_t serial = wl_display_next_serial(seat->server->display);
	for_each_client_resource(kb, &seat->keyboards, surface)
		wl_keyboard_send_leave(kb, serial, surface);
}

/* The host focused `w`; the keyboard goes to w's topmost grabbing popup
 * if it has one, and follows as popups open and close (checked at each
 * focus and key, so a menu has the keys from its first). */
void ga_seat_focus_in(struct ga_seat *seat, struct ga_window *w)
{
	struct ga_window *target = ga_xdg_keyboard_target(w);
	struct wl_resource *surface = surface_resource(target);
	struct wl_resource *kb;

	seat->kb_host = w;
	if (seat->kb_focus == target)
		return;
	keyboard_leave(seat);
	if (surface == NULL)
		return;
	seat->kb_focus = target;
	for_each_client_resource(kb, &seat->keyboards, surface)
		send_enter(seat, kb, surface);
}

void ga_seat_focus_out(struct ga_seat *seat, struct ga_window *w)
{
	if (seat->kb_host == w || seat->kb_focus == w) {
		seat->kb_host = NULL;
		keyboard_leave(seat);
	}
}

void ga_seat_key(struct ga_seat *seat, struct ga_window *w,
		 const struct qm_gui_key *key)
{
	struct wl_resource *kb;

	/* keys come for the focused window; a KEY without FOCUS_IN still
	 * means the host gave it the focus */
	ga_seat_focus_in(seat, w);
	struct wl_resource *surface = surface_resource(seat->kb_focus);
	if (surface == NULL)
		return;
	uint32_t serial = wl_display_next_serial(seat->server->display);
	for_each_client_resource(kb, &seat->keyboards, surface)
		wl_keyboard_send_key(kb, serial, key->time_ms, key->key,
				     key->pressed
					     ? WL_KEYBOARD_KEY_STATE_PRESSED
					     : WL_KEYBOARD_KEY_STATE_RELEASED);
}

void ga_seat_modifiers(struct ga_seat *seat, struct ga_window *w,
		       const struct qm_gui_modifiers *mods)
{
	struct wl_resource *kb;

	seat->mods = *mods;
	if (seat->kb_host != NULL)
		ga_seat_focus_in(seat, seat->kb_host);
	struct wl_resource *surface = surface_resource(seat->kb_focus);
	if (surface == NULL)
		return;
	uint32_t serial = wl_display_next_serial(seat->server->display);
	for_each_client_resource(kb, &seat->keyboards, surface)
		wl_keyboard_send_modifiers(kb, serial, mods->depressed,
					   mods->latched, mods->locked,
					   mods->group);
}

/* ---- pointer ---- */

static void send_cursor(struct ga_seat *seat)
{
	struct ga_window *w = seat->ptr_focus;
	struct ga_surface *c = seat->cursor;
	uint8_t hdr[16];

	if (w == NULL || !w->live)
		return;
	/* the latest cursor wins; sent once the link drains */
	seat->cursor_dirty = ga_link_queued(seat->server->link) >=
			     GA_LINK_HIGH_WATER;
	if (seat->cursor_dirty)
		return;
	if (c == NULL || !c->has_buffer || c->pixels == NULL ||
	    c->width > QM_GUI_MAX_CURSOR || c->height > QM_GUI_MAX_CURSOR) {
		memset(hdr, 0, sizeof(hdr));
		ga_link_send(seat->server->link, QM_GUI_CURSOR, w->id, hdr,
			     sizeof(hdr), NULL, 0);
		return;
	}
	ga_put32(hdr, (uint32_t)seat->cursor_hx);
	ga_put32(hdr + 4, (uint32_t)seat->cursor_hy);
	ga_put32(hdr + 8, c->width);
	ga_put32(hdr + 12, c->height);
	ga_link_send(seat->server->link, QM_GUI_CURSOR, w->id, hdr,
		     sizeof(hdr), c->pixels, (size_t)c->width * c->height * 4);
}

static void cursor_commit(struct ga_surface *surface)
{
	struct ga_seat *seat = surface->server->seat;

	if (seat->cursor == surface)
		send_cursor(seat);
}

static const struct ga_surface_role cursor_role = {
	.name = "wl_pointer-cursor",
	.commit = cursor_commit,
};

static void cursor_destroyed(struct wl_listener *l, void *data)
{
	struct ga_seat *seat = wl_container_of(l, seat, cursor_destroy);

	wl_list_remove(&seat->cursor_destroy.link);
	wl_list_init(&seat->cursor_destroy.link);
	seat->cursor = NULL;
}

static void pointer_set_cursor(struct wl_client *client,
			       struct wl_resource *resource, uint32_t serial,
			       struct wl_resource *surface_res,
			       int32_t hotspot_x, int32_t hotspot_y)
{
	struct ga_seat *seat = wl_resource_get_user_data(resource);
	struct wl_resource *focus = surface_resource(seat->ptr_focus);
	struct ga_surface *surface = NULL;

	if (surface_res != NULL) {
		surface = ga_surface_from_resource(surface_res);
		/* the cursor role has no object: role_data stays NULL */
		if (surface->role != NULL && surface->role != &cursor_role) {
			wl_resource_post_error(resource, WL_POINTER_ERROR_ROLE,
				"wl_surface@%u already has the role %s",
				wl_resource_get_id(surface_res),
				surface->role->name);
			return;
		}
		surface->role = &cursor_role;
	}
	/* only the client with the pointer focus sets the cursor */
	if (focus == NULL || wl_resource_get_client(focus) != client)
		return;
	wl_list_remove(&seat->cursor_destroy.link);
	wl_list_init(&seat->cursor_destroy.link);
	seat->cursor = surface;
	seat->cursor_hx = hotspot_x;
	seat->cursor_hy = hotspot_y;
	if (surface != NULL)
		wl_signal_add(&surface->events.destroy, &seat->cursor_destroy);
	send_cursor(seat);
}

static void pointer_release(struct wl_client *client,
			    struct wl_resource *resource)
{
	wl_resource_destroy(resource);
}

static const struct wl_pointer_interface pointer_impl = {
	.set_cursor = pointer_set_cursor,
	.release = pointer_release,
};

static void pointer_frame(struct ga_seat *seat, struct wl_resource *surface)
{
	struct wl_resource *p;

	for_each_client_resource(p, &seat->pointers, surface)
		if (wl_resource_get_version(p) >=
		    WL_POINTER_FRAME_SINCE_VERSION)
			wl_pointer_send_frame(p);
}

static void pointer_leave(struct ga_seat *seat)
{
	struct wl_resource *surface = surface_resource(seat->ptr_focus);
	struct wl_resource *p;

	seat->ptr_focus = NULL;
	wl_list_remove(&seat->cursor_destroy.link);
	wl_list_init(&seat->cursor_destroy.link);
	seat->cursor = NULL;
	if (surface == NULL)
		return;
	uint32_t serial = wl_display_next_serial(seat->server->display);
	for_each_client_resource(p, &seat->pointers, surface)
		wl_pointer_send_leave(p, serial, surface);
	pointer_frame(seat, surface);
}

static void pointer_enter(struct ga_seat *seat, struct ga_window *w)
{
	struct wl_resource *surface = surface_resource(w);
	struct wl_resource *p;

	if (seat->ptr_focus == w)
		return;
	pointer_leave(seat);
	if (surface == NULL)
		return;
	seat->ptr_focus = w;
	uint32_t serial = wl_display_next_serial(seat->server->display);
	for_each_client_resource(p, &seat->pointers, surface)
		wl_pointer_send_enter(p, serial, surface, seat->ptr_x,
				      seat->ptr_y);
	pointer_frame(seat, surface);
}

/* host coordinates (the shown part of the window) to the surface's */
static wl_fixed_t to_surface(int32_t v_256, int32_t crop)
{
	int64_t v = (int64_t)v_256 + (int64_t)crop * 256;

	return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN
							 : (wl_fixed_t)v;
}

void ga_seat_pointer_motion(struct ga_seat *seat, struct ga_window *w,
			    const struct qm_gui_pointer *m)
{
	struct wl_resource *p;
	bool entered = seat->ptr_focus != w;

	seat->ptr_x = to_surface(m->x_256, w->crop_x);
	seat->ptr_y = to_surface(m->y_256, w->crop_y);
	pointer_enter(seat, w);
	struct wl_resource *surface = surface_resource(seat->ptr_focus);
	if (surface == NULL || entered)
		return;
	for_each_client_resource(p, &seat->pointers, surface)
		wl_pointer_send_motion(p, m->time_ms, seat->ptr_x,
				       seat->ptr_y);
	pointer_frame(seat, surface);
}

void ga_seat_pointer_leave(struct ga_seat *seat, struct ga_window *w)
{
	if (seat->ptr_focus == w)
		pointer_leave(seat);
}

void ga_seat_button(struct ga_seat *seat, struct ga_window *w,
		    const struct qm_gui_button *b)
{
	struct wl_resource *p;

	pointer_enter(seat, w);
	struct wl_resource *surface = surface_resource(seat->ptr_focus);
	if (surface == NULL)
		return;
	uint32_t serial = wl_display_next_serial(seat->server->display);
	for_each_client_resource(p, &seat->pointers, surface)
		wl_pointer_send_button(p, serial, b->time_ms, b->button,
				       b->pressed
					       ? WL_POINTER_BUTTON_STATE_PRESSED
					       : WL_POINTER_BUTTON_STATE_RELEASED);
	pointer_frame(seat, surface);
}

void ga_seat_axis(struct ga_seat *seat, struct ga_window *w,
		  const struct qm_gui_axis *a)
{
	struct wl_resource *p;

	pointer_enter(seat, w);
	struct wl_resource *surface = surface_resource(seat->ptr_focus);
	if (surface == NULL)
		return;
	for_each_client_resource(p, &seat->pointers, surface) {
		if (wl_resource_get_version(p) >=
		    WL_POINTER_AXIS_SOURCE_SINCE_VERSION)
			wl_pointer_send_axis_source(p,
				WL_POINTER_AXIS_SOURCE_WHEEL);
		wl_pointer_send_axis(p, a->time_ms,
				     a->axis ? WL_POINTER_AXIS_HORIZONTAL_SCROLL
					     : WL_POINTER_AXIS_VERTICAL_SCROLL,
				     a->value_256);
	}
	pointer_frame(seat, surface);
}

void ga_seat_flush(struct ga_seat *seat)
{
	if (seat->cursor_dirty)
		send_cursor(seat);
}

void ga_seat_window_gone(struct ga_seat *seat, struct ga_window *w)
{
	/* a closed menu gives the keyboard back at the next key */
	if (seat->kb_host == w)
		seat->kb_host = NULL;
	if (seat->kb_focus == w)
		keyboard_leave(seat);
	if (seat->ptr_focus == w)
		pointer_leave(seat);
}

/* ---- wl_seat ---- */

static void seat_get_pointer(struct wl_client *client,
			     struct wl_resource *resource, uint32_t id)
{
	struct ga_seat *seat = wl_resource_get_user_data(resource);
	struct wl_resource *p = wl_resource_create(client,
		&wl_pointer_interface, wl_resource_get_version(resource), id);

	if (p == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(p, &pointer_impl, seat,
				       resource_unlink);
	wl_list_insert(&seat->pointers, wl_resource_get_link(p));
}

static void seat_get_keyboard(struct wl_client *client,
			      struct wl_resource *resource, uint32_t id)
{
	struct ga_seat *seat = wl_resource_get_user_data(resource);
	struct wl_resource *kb = wl_resource_create(client,
		&wl_keyboard_interface, wl_resource_get_version(resource), id);

	if (kb == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(kb, &keyboard_impl, seat,
				       resource_unlink);
	wl_list_insert(&seat->keyboards, wl_resource_get_link(kb));
	if (wl_resource_get_version(kb) >=
	    WL_KEYBOARD_REPEAT_INFO_SINCE_VERSION)
		wl_keyboard_send_repeat_info(kb, REPEAT_RATE, REPEAT_DELAY);
	send_keymap(seat, kb);
	struct wl_resource *focus = surface_resource(seat->kb_focus);
	if (focus != NULL && wl_resource_get_client(focus) == client)
		send_enter(seat, kb, focus);
}

static void seat_get_touch(struct wl_client *client,
			   struct wl_resource *resource, uint32_t id)
{
	wl_resource_post_error(resource, WL_SEAT_ERROR_MISSING_CAPABILITY,
			       "seat0 has no touch device");
}

static void seat_release(struct wl_client *client,
			 struct wl_resource *resource)
{
	wl_resource_destroy(resource);
}

static const struct wl_seat_interface seat_impl = {
	.get_pointer = seat_get_pointer,
	.get_keyboard = seat_get_keyboard,
	.get_touch = seat_get_touch,
	.release = seat_release,
};

/* A keyboard only with a keymap (the default one is set at creation, so
 * in practice always): a keyboard without one is what GTK 3 cannot
 * handle. */
static uint32_t capabilities(const struct ga_seat *seat)
{
	return WL_SEAT_CAPABILITY_POINTER |
	       (seat->keymap_fd >= 0 ? WL_SEAT_CAPABILITY_KEYBOARD : 0);
}

static void seat_bind(struct wl_client *client, void *data,
		      uint32_t version, uint32_t id)
{
	struct ga_seat *seat = data;
	struct wl_resource *res = wl_resource_create(client,
		&wl_seat_interface, version, id);

	if (res == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(res, &seat_impl, data,
				       resource_unlink);
	wl_list_insert(&seat->seats, wl_resource_get_link(res));
	wl_seat_send_capabilities(res, capabilities(seat));
	if (version >= WL_SEAT_NAME_SINCE_VERSION)
		wl_seat_send_name(res, "seat0");
}

struct ga_seat *ga_seat_create(struct ga_server *server)
{
	struct ga_seat *seat = g_new0(struct ga_seat, 1);

	seat->server = server;
	seat->keymap_fd = -1;
	wl_list_init(&seat->keyboards);
	wl_list_init(&seat->pointers);
	wl_list_init(&seat->seats);
	wl_list_init(&seat->cursor_destroy.link);
	seat->cursor_destroy.notify = cursor_destroyed;
	seat->global = wl_global_create(server->display, &wl_seat_interface,
					SEAT_VERSION, seat, seat_bind);
	if (seat->global == NULL) {
		g_free(seat);
		return NULL;
	}
	/* A keymap from the start (us, until the host sends the user's):
	 * clients get their keyboard and its keymap at once, so keys the host
	 * sends right after its keymap are not lost to a client still setting
	 * its keyboard up, and GTK 3 never sees a keyboard without one. */
	if (!ga_seat_set_keymap(seat, default_keymap,
				sizeof(default_keymap) - 1))
		g_warning("no default keymap: keyboards wait for the host's");
	return seat;
}

void ga_seat_destroy(struct ga_seat *seat)
{
	if (seat == NULL)
		return;
	/* called after wl_display_destroy_clients: the lists are empty */
	wl_list_remove(&seat->cursor_destroy.link);
	if (seat->keymap_fd >= 0)
		close(seat->keymap_fd);
	wl_global_destroy(seat->global);
	g_free(seat);
}
