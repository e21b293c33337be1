/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A Wayland client with a menu: a 200×200 toplevel that opens a grabbing
 * popup (xdg_popup.grab with the press's serial) on a button press, and
 * prints, one line each, where the keyboard is and where keys arrive:
 *
 *   ready | enter toplevel|popup | leave toplevel|popup
 *   key CODE toplevel|popup | button CODE STATE | popup done
 *
 * so that a test can check that a menu gets the keys while it is open
 * (xdg-shell: the topmost grabbing popup has the keyboard focus) and the
 * window gets them back after.  Exits when its toplevel is closed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <wayland-client.h>

#include "xdg-shell-client-protocol.h"

static struct wl_compositor *compositor;
static struct wl_shm *shm;
static struct wl_seat *seat;
static struct xdg_wm_base *wm_base;

static struct wl_surface *top_surface, *popup_surface;
static struct xdg_surface *top_xdg, *popup_xdg;
static struct xdg_toplevel *toplevel;
static struct xdg_popup *popup;
static int closed;
static struct wl_surface *kb_focus;     /* after enter, before leave */

static const char *which(struct wl_surface *s)
{
	return s == NULL ? "none" : s == top_surface ? "toplevel" :
	       s == popup_surface ? "popup" : "other";
}

static struct wl_buffer *make_buffer(int32_t w, int32_t h, uint32_t colour)
{
	size_t size = (size_t)w * h * 4;
	int fd = memfd_create("popup-keys", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		exit(2);
	uint32_t *px = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			    fd, 0);
	if (px == MAP_FAILED)
		exit(2);
	for (size_t i = 0; i < size / 4; i++)
		px[i] = colour;
	munmap(px, size);
	struct wl_shm_pool *pool = wl_shm_create_pool(shm, fd, (int32_t)size);
	struct wl_buffer *b = wl_shm_pool_create_buffer(pool, 0, w, h, w * 4,
		WL_SHM_FORMAT_XRGB8888);
	wl_shm_pool_destroy(pool);
	close(fd);
	return b;
}

/* ---- xdg ---- */

static void wm_base_ping(void *data, struct xdg_wm_base *b, uint32_t serial)
{
	xdg_wm_base_pong(b, serial);
}

static const struct xdg_wm_base_listener wm_base_listener = {
	.ping = wm_base_ping,
};

/* the first configure of either surface maps it */
static void xdg_surface_configure(void *data, struct xdg_surface *xs,
				  uint32_t serial)
{
	struct wl_surface *s = data;
	int popup_one = s == popup_surface;

	xdg_surface_ack_configure(xs, serial);
	wl_surface_attach(s, make_buffer(popup_one ? 100 : 200,
					 popup_one ? 80 : 200,
					 popup_one ? 0xff3465a4 : 0xffeeeeec),
			  0, 0);
	wl_surface_damage(s, 0, 0, 200, 200);
	wl_surface_commit(s);
}

static const struct xdg_surface_listener xdg_surface_listener = {
	.configure = xdg_surface_configure,
};

static void toplevel_configure(void *data, struct xdg_toplevel *t,
			       int32_t w, int32_t h, struct wl_array *states)
{
}

static void toplevel_close(void *data, struct xdg_toplevel *t)
{
	closed = 1;
}

static const struct xdg_toplevel_listener toplevel_listener = {
	.configure = toplevel_configure,
	.close = toplevel_close,
};

static void popup_configure(void *data, struct xdg_popup *p, int32_t x,
			    int32_t y, int32_t w, int32_t h)
{
}

static void popup_destroy_all(void)
{
	if (kb_focus == popup_surface)
		kb_focus = NULL;
	xdg_popup_destroy(popup);
	xdg_surface_destroy(popup_xdg);
	wl_surface_destroy(popup_surface);
	popup = NULL;
	popup_xdg = NULL;
	popup_surface = NULL;
}

static void popup_done(void *data, struct xdg_popup *p)
{
	printf("popup done\n");
	fflush(stdout);
	popup_destroy_all();
}

static const struct xdg_popup_listener popup_listener = {
	.configure = popup_configure,
	.popup_done = popup_done,
};

static void open_menu(uint32_t serial)
{
	struct xdg_positioner *pos = xdg_wm_base_create_positioner(wm_base);

	xdg_positioner_set_size(pos, 100, 80);
	xdg_positioner_set_anchor_rect(pos, 20, 20, 1, 1);
	xdg_positioner_set_anchor(pos, XDG_POSITIONER_ANCHOR_BOTTOM_RIGHT);
	xdg_positioner_set_gravity(pos, XDG_POSITIONER_GRAVITY_BOTTOM_RIGHT);
	popup_surface = wl_compositor_create_surface(compositor);
	popup_xdg = xdg_wm_base_get_xdg_surface(wm_base, popup_surface);
	xdg_surface_add_listener(popup_xdg, &xdg_surface_listener,
				 popup_surface);
	popup = xdg_surface_get_popup(popup_xdg, top_xdg, pos);
	xdg_popup_add_listener(popup, &popup_listener, NULL);
	xdg_popup_grab(popup, seat, serial);
	xdg_positioner_destroy(pos);
	wl_surface_commit(popup_surface);
}

/* ---- input ---- */

static void kb_keymap(void *data, struct wl_keyboard *k, uint32_t format,
		      int32_t fd, uint32_t size)
{
	close(fd);
}

static void kb_enter(void *data, struct wl_keyboard *k, uint32_t serial,
		     struct wl_surface *s, struct wl_array *keys)
{
	kb_focus = s;
	printf("enter %s\n", which(s));
	fflush(stdout);
}

static void kb_leave(void *data, struct wl_keyboard *k, uint32_t serial,
		     struct wl_surface *s)
{
	if (kb_focus == s)
		kb_focus = NULL;
	printf("leave %s\n", which(s));
	fflush(stdout);
}

static void kb_key(void *data, struct wl_keyboard *k, uint32_t serial,
		   uint32_t time, uint32_t key, uint32_t state)
{
	if (state == WL_KEYBOARD_KEY_STATE_PRESSED)
		printf("key %u %s\n", key, which(kb_focus));
	fflush(stdout);
}

static void kb_modifiers(void *data, struct wl_keyboard *k, uint32_t serial,
			 uint32_t depressed, uint32_t latched, uint32_t locked,
			 uint32_t group)
{
}

static void kb_repeat(void *data, struct wl_keyboard *k, int32_t rate,
		      int32_t delay)
{
}

static const struct wl_keyboard_listener keyboard_listener = {
	.keymap = kb_keymap,
	.enter = kb_enter,
	.leave = kb_leave,
	.key = kb_key,
	.modifiers = kb_modifiers,
	.repeat_info = kb_repeat,
};

static void ptr_enter(void *data, struct wl_pointer *p, uint32_t serial,
		      struct wl_surface *s, wl_fixed_t x, wl_fixed_t y)
{
}

static void ptr_leave(void *data, struct wl_pointer *p, uint32_t serial,
		      struct wl_surface *s)
{
}

static void ptr_motion(void *data, struct wl_pointer *p, uint32_t time,
		       wl_fixed_t x, wl_fixed_t y)
{
}

static void ptr_button(void *data, struct wl_pointer *p, uint32_t serial,
		       uint32_t time, uint32_t button, uint32_t state)
{
	printf("button %#x %u\n", button, state);
	fflush(stdout);
	if (state == WL_POINTER_BUTTON_STATE_PRESSED && popup == NULL &&
	    button == 0x111 /* BTN_RIGHT */)
		open_menu(serial);
}

static void ptr_axis(void *data, struct wl_pointer *p, uint32_t time,
		     uint32_t axis, wl_fixed_t value)
{
}

static const struct wl_pointer_listener pointer_listener = {
	.enter = ptr_enter,
	.leave = ptr_leave,
	.motion = ptr_motion,
	.button = ptr_button,
	.axis = ptr_axis,
};

static void seat_capabilities(void *data, struct wl_seat *s, uint32_t caps)
{
	static struct wl_keyboard *kb;
	static struct wl_pointer *ptr;

	if ((caps & WL_SEAT_CAPABILITY_KEYBOARD) && kb == NULL) {
		kb = wl_seat_get_keyboard(s);
		wl_keyboard_add_listener(kb, &keyboard_listener, NULL);
	}
	if ((caps & WL_SEAT_CAPABILITY_POINTER) && ptr == NULL) {
		ptr = wl_seat_get_pointer(s);
		wl_pointer_add_listener(ptr, &pointer_listener, NULL);
	}
}

static void seat_name(void *data, struct wl_seat *s, const char *name)
{
}

static const struct wl_seat_listener seat_listener = {
	.capabilities = seat_capabilities,
	.name = seat_name,
};

/* ---- registry ---- */

static void registry_global(void *data, struct wl_registry *registry,
			    uint32_t name, const char *interface,
			    uint32_t version)
{
	if (strcmp(interface, wl_compositor_interface.name) == 0)
		compositor = wl_registry_bind(registry, name,
					      &wl_compositor_interface, 4);
	else if (strcmp(interface, wl_shm_interface.name) == 0)
		shm = wl_registry_bind(registry, name, &wl_shm_interface, 1);
	else if (strcmp(interface, wl_seat_interface.name) == 0 && seat == NULL)
		seat = wl_registry_bind(registry, name, &wl_seat_interface, 4);
	else if (strcmp(interface, xdg_wm_base_interface.name) == 0)
		wm_base = wl_registry_bind(registry, name,
					   &xdg_wm_base_interface, 1);
}

static void registry_global_remove(void *data, struct wl_registry *registry,
				   uint32_t name)
{
}

static const struct wl_registry_listener registry_listener = {
	.global = registry_global,
	.global_remove = registry_global_remove,
};

int main(void)
{
	struct wl_display *d = wl_display_connect(NULL);

	if (d == NULL) {
		fprintf(stderr, "wl-popup-keys: no Wayland display\n");
		return 2;
	}
	struct wl_registry *r = wl_display_get_registry(d);
	wl_registry_add_listener(r, &registry_listener, NULL);
	wl_display_roundtrip(d);
	if (compositor == NULL || shm == NULL || seat == NULL ||
	    wm_base == NULL) {
		fprintf(stderr, "wl-popup-keys: missing globals\n");
		return 2;
	}
	xdg_wm_base_add_listener(wm_base, &wm_base_listener, NULL);
	wl_seat_add_listener(seat, &seat_listener, NULL);
	top_surface = wl_compositor_create_surface(compositor);
	top_xdg = xdg_wm_base_get_xdg_surface(wm_base, top_surface);
	xdg_surface_add_listener(top_xdg, &xdg_surface_listener, top_surface);
	toplevel = xdg_surface_get_toplevel(top_xdg);
	xdg_toplevel_add_listener(toplevel, &toplevel_listener, NULL);
	xdg_toplevel_set_title(toplevel, "popup-keys");
	wl_surface_commit(top_surface);
	wl_display_roundtrip(d);
	printf("ready\n");
	fflush(stdout);
	while (!closed && wl_display_dispatch(d) >= 0)
		;
	return 0;
}
