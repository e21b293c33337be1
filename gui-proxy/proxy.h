/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gui-proxy's shared state: the connection to the user's compositor
 * (display.c), the guests (guest.c), their windows (window.c) and the
 * wl_shm buffers behind them (shm.c).  docs/gui.md describes the design.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <wayland-client.h>

#include "guest-decode.h"
#include "gui-proto.h"

/* Width of the border the proxy draws around every guest window, in
 * surface pixels. */
#define GP_BORDER 4
/* Popups are cut to this share of the output's size, in percent. */
#define GP_POPUP_MAX_PERCENT 90
/* Bytes queued towards a guest that does not read before it is dropped. */
#define GP_MAX_OUTQUEUE (8u << 20)

struct gp_guest;
struct gp_window;

/* One wl_shm buffer with its own memfd-backed mapping. */
struct gp_buffer {
	struct wl_buffer *buffer;
	uint8_t *data;
	size_t size;
	uint32_t width, height;         /* stride = width * 4 */
	bool busy;                      /* attached, not yet released */
	/* guest content buffers: the part not yet copied from the window's
	 * pixels (x0 >= x1: nothing) */
	uint32_t dx0, dy0, dx1, dy1;
	/* called when the compositor lets go of it */
	void (*on_release)(void *data);
	void *release_data;
};

struct gp_display {
	struct wl_display *display;
	struct wl_registry *registry;
	struct wl_compositor *compositor;
	struct wl_subcompositor *subcompositor;
	struct wl_shm *shm;
	struct xdg_wm_base *wm_base;
	struct wl_seat *seat;
	struct wl_keyboard *keyboard;
	struct wl_pointer *pointer;
	struct wl_output *output;
	int32_t output_width, output_height;    /* current mode; 0: unknown */
	GSource *source;
	bool lost;                              /* the compositor went away */
	struct wl_cursor_theme *cursor_theme;
	struct wl_surface *cursor_surface;      /* the host's arrow */
	int32_t cursor_hot_x, cursor_hot_y;

	/* where input goes: only ever a window of a connected guest */
	struct gp_window *kbd_focus;
	struct gp_window *ptr_focus;            /* pointer over its content */
	char *keymap;                           /* NUL-terminated xkb_v1 */
	size_t keymap_size;                     /* with the NUL */
	struct qm_gui_modifiers mods;

	GPtrArray *guests;                      /* struct gp_guest */
	GMainLoop *loop;
};

/* A guest named on the command line: NAME:COLOR:SOCKET. */
struct gp_guest_config {
	char *name;
	uint32_t color;                         /* 0xRRGGBB */
	char *socket_path;
};

struct gp_guest {
	struct gp_display *dpy;
	struct gp_guest_config cfg;
	int fd;                                 /* -1: not connected */
	guint in_watch, out_watch, retry_id;
	unsigned int backoff_ms;
	bool disabled;                          /* dropped for a violation */
	struct gp_decoder *decoder;
	GHashTable *windows;                    /* id -> struct gp_window */
	GByteArray *out;                        /* queued towards the guest */
	uint8_t *inbuf;
};

struct gp_window {
	struct gp_guest *guest;
	uint32_t id;
	bool popup, alpha;
	uint32_t parent_id;
	int32_t popup_x, popup_y;

	/* the proxy's surface (the border) and the guest's (inset) */
	struct wl_surface *frame;
	struct xdg_surface *xdg_surface;
	struct xdg_toplevel *toplevel;
	struct xdg_popup *xdg_popup;
	struct wl_surface *content;
	struct wl_subsurface *subsurface;
	struct gp_buffer *border;
	struct gp_buffer *bufs[2];
	struct wl_callback *frame_cb;

	/* the guest's buffer, as its DAMAGE messages left it */
	uint8_t *pixels;
	uint32_t width, height;

	/* what the host compositor asked for */
	bool configured;
	int32_t host_width, host_height;        /* frame size; 0: ours */
	int32_t popup_width, popup_height;      /* popup's configure */
	uint32_t host_states;
	uint32_t configure_serial;              /* ours, towards the guest */

	bool committed_once;                    /* the guest committed */
	bool mapped;                            /* a frame was presented */
	bool off_screen;                        /* host surfaces gone for good */
	bool dirty;                             /* a commit waits to show */
	bool frame_done_owed;                   /* shown; FRAME_DONE when
						   the frame callback fires */
	bool frame_done_next;                   /* owed after the next frame */
	char *title;                            /* sanitized */
	char *app_id;                           /* sanitized */
};

/* display.c */
bool gp_display_init(struct gp_display *dpy);
void gp_display_finish(struct gp_display *dpy);
/* The window a surface of ours belongs to, or NULL. */
struct gp_window *gp_display_window_from_surface(struct wl_surface *s);
/* A window is going away: input no longer goes to it. */
void gp_display_forget_window(struct gp_display *dpy, struct gp_window *w);

/* guest.c */
struct gp_guest *gp_guest_create(struct gp_display *dpy,
				 const struct gp_guest_config *cfg);
void gp_guest_destroy(struct gp_guest *g);
void gp_guest_start(struct gp_guest *g);
/* Queues a message; window 0 for the channel itself. */
void gp_guest_send(struct gp_guest *g, enum qm_gui_msg type, uint32_t window,
		   const void *payload, size_t len);
/* The keymap changed: tell every connected guest. */
void gp_guest_send_keymap(struct gp_guest *g);
/* Drops the connection and all windows; reconnects later unless the guest
 * broke the protocol. */
void gp_guest_disconnect(struct gp_guest *g, bool violation,
			 const char *why);

/* window.c */
struct gp_window *gp_window_create(struct gp_guest *g, uint32_t id,
				   const struct gp_guest_msg *create);
void gp_window_destroy(struct gp_window *w);
/* Takes the window off the screen for good (its parent went); the guest's
 * messages for it are still accepted and ignored. */
void gp_window_destroy_host(struct gp_window *w);
void gp_window_set_title(struct gp_window *w, const char *title);
void gp_window_set_app_id(struct gp_window *w, const char *app_id);
bool gp_window_resize(struct gp_window *w, uint32_t width, uint32_t height);
void gp_window_damage(struct gp_window *w, const struct gp_guest_msg *m);
void gp_window_commit(struct gp_window *w);
void gp_window_request_states(struct gp_window *w, uint32_t states);

/* shm.c */
struct gp_buffer *gp_buffer_create(struct wl_shm *shm, uint32_t width,
				   uint32_t height, bool alpha);
void gp_buffer_destroy(struct gp_buffer *b);

/* label.c */
bool gp_label_parse(const char *s, uint32_t *rgb);
bool gp_guest_config_parse(const char *arg, struct gp_guest_config *cfg,
			   GError **error);
void gp_guest_config_finish(struct gp_guest_config *cfg);
