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

#include "admin-link.h"
#include "guest-decode.h"
#include "label.h"
#include "gui-proto.h"

/* Retrying a compositor that went away: from this, doubling to that. */
#define GP_DISPLAY_BACKOFF_MIN_MS 100u
#define GP_DISPLAY_BACKOFF_MAX_MS 2000u

/* Width of the border the proxy draws around every guest window, in
 * surface pixels. */
#define GP_BORDER 4
/* Popups are cut to this share of the output's size, in percent. */
#define GP_POPUP_MAX_PERCENT 90
/* Bytes queued towards a guest that does not read before it is dropped. */
#define GP_MAX_OUTQUEUE (8u << 20)

struct gp_guest;
struct gp_border;
struct gp_region;
struct gp_window;
struct gp_notify;
struct gp_window_shm;
struct xkb_context;
struct xkb_keymap;
struct xkb_state;

/* After the host key took a window out of fullscreen, its fullscreen
 * requests are maximized instead for this long (a guest cannot undo the
 * key at once). */
#define GP_FULLSCREEN_HOLD_S 10

/* Keys below this can be the proxy's shortcuts (evdev codes). */
#define GP_SHORTCUT_KEYS 1024

/* The global clipboard (clipboard.c). */
struct gp_clipboard {
	GBytes *data;                           /* NULL: empty */
	char *source;                           /* the qube it came from */
	uint64_t generation;                    /* +1 at every change */
	bool paste_pending;                     /* qmgrd is asked */
};

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
	bool lost;                              /* the compositor went away:
						   no globals until it is back */
	guint reconnect_id;                     /* retrying the compositor */
	unsigned int backoff_ms;
	struct wl_callback *sync_cb;            /* reconnecting: a sync */
	int sync_stage;                         /* 1 globals, 2 their events */
	bool connect_failed;                    /* torn down after dispatch */
	struct wl_cursor_theme *cursor_theme;
	struct wl_surface *cursor_surface;      /* the host's arrow */
	int32_t cursor_hot_x, cursor_hot_y;
	/* a guest's cursor image, copied: shown only where it lies wholly
	 * inside that guest's content (docs/gui.md, "Cursors") */
	struct wl_surface *guest_cursor_surface;
	struct gp_buffer *guest_cursor_buf;
	enum { GP_CURSOR_HOST, GP_CURSOR_GUEST, GP_CURSOR_HIDDEN } cursor_shown;
	const struct gp_guest *cursor_guest;    /* whose image is shown */
	uint32_t cursor_gen;                    /* and which of its images */
	uint32_t ptr_serial;                    /* of the last enter */
	wl_fixed_t ptr_x, ptr_y;                /* on ptr_focus's content */

	/* where input goes: only ever a window of a connected guest */
	struct gp_window *kbd_focus;
	struct gp_window *ptr_focus;            /* pointer over its content */
	char *keymap;                           /* NUL-terminated xkb_v1 */
	size_t keymap_size;                     /* with the NUL */
	struct qm_gui_modifiers mods;
	uint32_t input_serial;                  /* of the last press: grabs */
	/* the keymap compiled, for the proxy's own shortcuts */
	struct xkb_context *xkb;
	struct xkb_keymap *xkb_keymap;
	struct xkb_state *xkb_state;
	/* keys whose press was a shortcut: their release is not sent */
	uint8_t eaten[GP_SHORTCUT_KEYS / 8];
	struct gp_clipboard clipboard;

	GPtrArray *guests;                      /* struct gp_guest */
	struct qm_admin_link *admin;            /* qmgrd, or NULL */
	struct gp_notify *notify;               /* desktop notifications */
	GMainLoop *loop;
};

/* A guest named on the command line: NAME:COLOR:SOCKET. */
struct gp_guest_config {
	char *name;
	uint32_t color;                         /* 0xRRGGBB */
	char *socket_path;
	char *shm_path;                         /* its shared region, or NULL */
};

struct gp_guest {
	struct gp_display *dpy;
	struct gp_guest_config cfg;
	int fd;                                 /* -1: not connected */
	guint in_watch, out_watch, retry_id;
	unsigned int backoff_ms;
	bool active;                            /* connect (and reconnect) */
	bool allow_fullscreen;                  /* the qube's setting */
	bool disabled;                          /* dropped for a violation */
	struct gp_decoder *decoder;
	GHashTable *windows;                    /* id -> struct gp_window */
	GByteArray *out;                        /* queued towards the guest */
	uint8_t *inbuf;
	/* its last CURSOR (the agent sends it for the window under the
	 * pointer): at most QM_GUI_MAX_CURSOR squared, one per guest */
	struct {
		uint32_t window;                /* 0: none */
		uint32_t width, height;         /* 0 x 0: hidden */
		int32_t hot_x, hot_y;
		uint8_t *pixels;
		uint32_t gen;                   /* +1 at each CURSOR */
	} cursor;
	/* the shared region and its wl_shm pool, while connected (NULL:
	 * none, pixels come through the channel) */
	struct gp_region *region;
	struct wl_shm_pool *pool;
};

struct gp_window {
	struct gp_guest *guest;
	uint32_t id;
	bool popup, alpha;
	bool grab;                              /* a grabbing popup (a menu) */
	uint32_t parent_id;
	int32_t popup_x, popup_y;

	/* the proxy's surface (the border) and the guest's (inset) */
	struct wl_surface *frame;
	struct xdg_surface *xdg_surface;
	struct xdg_toplevel *toplevel;
	struct xdg_popup *xdg_popup;
	struct wl_surface *content;
	struct wl_subsurface *subsurface;
	struct gp_border *border;
	struct gp_buffer *bufs[2];
	struct wl_callback *frame_cb;

	/* slots of the shared region (window-shm.c), or NULL */
	struct gp_window_shm *shm;
	/* the guest's buffer, as its DAMAGE messages left it */
	uint8_t *pixels;
	uint32_t width, height;

	/* what the host compositor asked for */
	bool configured;
	int32_t host_width, host_height;        /* frame size; 0: ours */
	int32_t popup_width, popup_height;      /* popup's configure */
	uint32_t host_states;
	uint32_t configure_serial;              /* ours, towards the guest */
	uint32_t requested_states;              /* the guest's last request */
	bool fullscreen_set;                    /* we asked the compositor */
	gint64 fullscreen_hold_until;           /* monotonic us: after the
						   host key, no fullscreen */

	bool committed_once;                    /* the guest committed */
	bool mapped;                            /* a frame was presented */
	bool off_screen;                        /* host surfaces gone for good */
	bool dirty;                             /* a commit waits to show */
	bool recolor;                           /* the label changed */
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
/* Connects, and reconnects with backoff while active; `now` skips a
 * pending backoff (the qube just came up). */
void gp_guest_start(struct gp_guest *g, bool now);
/* Disconnects and closes the windows until the next start; a guest
 * disabled for a violation may connect again after it. */
void gp_guest_stop(struct gp_guest *g);
/* The compositor went away: the guest's windows leave the screen (its
 * popups for good: the guest is told they were dismissed); the guest
 * stays connected, its frames wait. */
void gp_guest_display_lost(struct gp_guest *g);
/* A compositor is back: the guest's windows are made anew on it. */
void gp_guest_display_restored(struct gp_guest *g);
/* The label changed: the borders of its windows are redrawn. */
void gp_guest_set_color(struct gp_guest *g, uint32_t rgb);
/* The qube's gui_allow_fullscreen: revoking it takes its windows out of
 * fullscreen at once; granting it lets later requests through. */
void gp_guest_set_allow_fullscreen(struct gp_guest *g, bool allow);
/* Queues a message; window 0 for the channel itself. */
void gp_guest_send(struct gp_guest *g, enum qm_gui_msg type, uint32_t window,
		   const void *payload, size_t len);
/* The guest's shared region (NULL or "": none), from its next connection
 * on. */
void gp_guest_set_shm(struct gp_guest *g, const char *path);
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
/* The compositor went away: the window's host objects are gone, as are
 * the compositor's; a toplevel is made anew by gp_window_host_restore. */
void gp_window_host_lost(struct gp_window *w);
void gp_window_host_restore(struct gp_window *w);
void gp_window_set_title(struct gp_window *w, const char *title);
void gp_window_set_app_id(struct gp_window *w, const char *app_id);
bool gp_window_resize(struct gp_window *w, uint32_t width, uint32_t height);
void gp_window_damage(struct gp_window *w, const struct gp_guest_msg *m);
void gp_window_commit(struct gp_window *w);
void gp_window_request_states(struct gp_window *w, uint32_t states);
/* The content size on screen (popups are cut; see window.c). */
void gp_window_visible_size(const struct gp_window *w, uint32_t *vw,
			    uint32_t *vh);
/* Redraws the border in the guest's (new) colour. */
void gp_window_recolor(struct gp_window *w);
/* The host key: the window leaves fullscreen and may not go fullscreen
 * again for GP_FULLSCREEN_HOLD_S (its requests are maximized instead).
 * True if it was fullscreen. */
bool gp_window_leave_fullscreen(struct gp_window *w);
/* The guest's fullscreen setting changed: applied to its windows. */
void gp_window_apply_states(struct gp_window *w);

/* border.c: the ring around a window's content, in surfaces of the proxy
 * (w->frame and sub-surfaces of it, after w->content's) */
struct gp_border *gp_border_create(struct gp_window *w);
void gp_border_destroy(struct gp_border *b);
/* The ring must be drawn again for a vw x vh hole in colour rgb. */
bool gp_border_stale(const struct gp_border *b, uint32_t vw, uint32_t vh,
		     uint32_t rgb);
/* Draws and attaches it (the top strip to w->frame, uncommitted; the
 * rest shows with the frame's next commit).  False: out of memory,
 * nothing changed. */
bool gp_border_update(struct gp_border *b, uint32_t vw, uint32_t vh,
		      uint32_t rgb);
/* An opaque black underlay below the content (the content may not cover
 * the hole opaquely), or none; shows with the frame's next commit.  False:
 * out of memory. */
bool gp_border_set_underlay(struct gp_border *b, bool on);

/* window-shm.c: content from the guest's shared region (SHM_BUFFER) */
void gp_window_shm_buffer(struct gp_window *w, const struct gp_guest_msg *m);
/* The content is a slot (SHM_BUFFER came after the last DAMAGE). */
bool gp_window_shm_active(const struct gp_window *w);
/* DAMAGE came: the proxy's own buffers show the window again. */
void gp_window_shm_leave(struct gp_window *w);
void gp_window_shm_resized(struct gp_window *w);
/* In present(): attaches the pending slot (or the current one again at
 * another visible size vw x vh) to w->content; *covers: the content
 * shown is the whole vw x vh hole.  False when the guest was
 * disconnected meanwhile (w is gone). */
bool gp_window_shm_attach(struct gp_window *w, uint32_t vw, uint32_t vh,
			  bool *covers);
/* The host surfaces go: the wl_buffers are destroyed. */
void gp_window_shm_finish(struct gp_window *w);
void gp_window_shm_destroy(struct gp_window *w);

/* shm-region.c: a guest's shared region (not mapped by the proxy) */
struct gp_region {
	int fd;
	uint64_t size;                          /* 1..QM_GUI_MAX_SHM_SIZE */
};
struct gp_region *gp_region_open(const char *path, GError **error);
void gp_region_destroy(struct gp_region *r);
struct wl_shm_pool *gp_region_pool(struct gp_region *r, struct wl_shm *shm);

/* admin.c: qmgrd's admin socket, asynchronously */
struct gp_admin;
struct gp_admin_listener {
	/* HELLO exchanged: calls may be made (after each reconnection) */
	void (*ready)(void *data);
	/* an EVENT; props is its a{sv} */
	void (*event)(const char *event, const char *vm, GVariant *props,
		      void *data);
	/* the connection was lost (it is retried with backoff) */
	void (*lost)(void *data);
};
/* The answer to a call: its result (a{sv}), or an error when qmgrd
 * refused it or the connection was lost before it came. */
typedef void (*gp_admin_reply_fn)(GVariant *result, const GError *error,
				  void *data);
struct gp_admin *gp_admin_create(const char *path);
/* Fails the calls in flight (their callbacks run). */
void gp_admin_destroy(struct gp_admin *a);
void gp_admin_set_listener(struct gp_admin *a,
			   const struct gp_admin_listener *listener,
			   void *data);
void gp_admin_start(struct gp_admin *a);
bool gp_admin_is_up(const struct gp_admin *a);
/* Sends a REQUEST (args a{sv}, may be floating; NULL: none).  False when
 * not connected: fn is not called, destroy(data) is, at once. */
bool gp_admin_call(struct gp_admin *a, const char *method, const char *vm,
		   GVariant *args, gp_admin_reply_fn fn, void *data,
		   GDestroyNotify destroy);

/* qubes.c: the guests from qmgrd's qubes (without --guest) */
struct gp_qubes;
struct gp_qubes *gp_qubes_create(struct gp_display *dpy,
				 struct qm_admin_link *admin);
/* Destroy the admin connection first: its callbacks look at the qubes. */
void gp_qubes_destroy(struct gp_qubes *q);

/* clipboard.c: Ctrl-Shift-C in `w` copies its guest's clipboard,
 * Ctrl-Shift-V pastes into it where the policy allows */
void gp_clipboard_copy(struct gp_display *dpy, struct gp_window *w);
void gp_clipboard_paste(struct gp_display *dpy, struct gp_window *w);
/* The guest's CLIPBOARD_DATA (checked by the decoder). */
void gp_clipboard_received(struct gp_guest *g, const uint8_t *data,
			   size_t len);
void gp_clipboard_finish(struct gp_clipboard *clip);

/* notify.c: desktop notifications, asynchronously, at most one per qube
 * per GP_NOTICE_INTERVAL_S */
#define GP_NOTICE_INTERVAL_S 30
struct gp_notify *gp_notify_create(void);
void gp_notify_destroy(struct gp_notify *n);
/* The guest of `qube` was dropped for breaking the protocol (`reason`:
 * the decoder's text).  n may be NULL. */
void gp_notify_guest_dropped(struct gp_notify *n, const char *qube,
			     const char *reason);
/* For the unit tests: true (and `key` noted at now_us) unless `key` passed
 * less than interval_us ago.  `last` maps keys (g_free) to struct
 * qm_ratelimit (g_free). */
bool gp_notice_limit_pass(GHashTable *last, const char *key, gint64 now_us,
			  gint64 interval_us);
/* The reason's text for a notification body: sanitized as a title
 * (gp_sanitize_title).  The notification client escapes the body as
 * markup unless the server does not read markup. */
char *gp_notice_text(const char *untrusted, size_t len);

/* cursor.c: the pointer's image */
/* The theme's arrow (none without a theme: then no guest cursors). */
void gp_cursor_load(struct gp_display *dpy);
void gp_cursor_finish(struct gp_display *dpy);
/* The host's arrow, at the pointer's last enter. */
void gp_cursor_show_host(struct gp_display *dpy);
/* The pointer moved, or the guest under it changed its cursor: the
 * guest's image where it fits in the content, else the host's arrow. */
void gp_display_update_cursor(struct gp_display *dpy);

/* shm.c */
struct gp_buffer *gp_buffer_create(struct wl_shm *shm, uint32_t width,
				   uint32_t height, bool alpha);
void gp_buffer_destroy(struct gp_buffer *b);

/* label.c (label colours: common/label.h) */
/* Names the proxy puts into titles and app_ids (qmgr.NAME.APP): a
 * letter, then letters, digits, '-', '_'; at most 31. */
bool gp_guest_name_ok(const char *name);
bool gp_guest_config_parse(const char *arg, struct gp_guest_config *cfg,
			   GError **error);
void gp_guest_config_finish(struct gp_guest_config *cfg);
