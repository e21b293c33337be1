/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Host windows: one per mapped xdg_toplevel or xdg_popup.  A window owns
 * its id until the host answers DESTROY with DESTROYED, sends its root
 * surface's pixels (with subsurfaces composited in) as DAMAGE + COMMIT,
 * and paces the client: a frame is sent only when the previous one was
 * answered with FRAME_DONE and the link is not backed up; frame callbacks
 * fire on that FRAME_DONE.  Commits made meanwhile are merged into the
 * next frame.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <wayland-server-core.h>

#include "damage.h"
#include "gui-proto.h"

struct ga_server;
struct ga_surface;

struct ga_window_impl {
	void (*configure)(void *owner, const struct qm_gui_configure *c);
	void (*close)(void *owner);
	/* a pointer button went down in the window */
	void (*button_pressed)(void *owner);
};

struct ga_window {
	uint32_t id;
	struct ga_server *server;
	struct ga_surface *surface;     /* root surface; NULL once unmapped */
	const struct ga_window_impl *impl;
	void *owner;
	bool live;                      /* false: DESTROY sent */
	bool announced;                 /* CREATE sent to the current host */
	uint32_t parent, flags;         /* as in CREATE, to send it again */
	int32_t x, y;
	/* The host sees the part of the root buffer inside the client's
	 * window geometry (xdg_surface.set_window_geometry): CSD shadows
	 * and margins are cut off.  crop_x/y: its top-left in the buffer;
	 * width/height: its size, as the host knows it. */
	struct ga_rect geometry;
	bool has_geometry;
	int32_t crop_x, crop_y;
	uint32_t width, height;
	uint8_t *image;                 /* composited, with subsurfaces */
	struct ga_window_shm *shm;      /* slots in the shared region */
	struct ga_damage damage;        /* root buffer coordinates, unsent */
	bool dirty;
	bool frame_inflight;            /* COMMIT sent, FRAME_DONE awaited */
	struct wl_list frame_pending;   /* callbacks for the next frame */
	struct wl_list frame_waiting;   /* callbacks for the frame in flight */
	/* title, app_id and requested states: the latest value wins; sent
	 * when the link is not backed up (a client changing its title in a
	 * loop must not grow the queue without bound) */
	char *title, *app_id;
	uint32_t states;
	bool title_dirty, app_id_dirty, states_dirty;
};

/*
 * Sends CREATE for the root surface's current buffer.  NULL when the
 * host's window limit is reached (the surface then stays unshown).
 */
struct ga_window *ga_window_create(struct ga_server *server,
				   struct ga_surface *root,
				   const struct ga_rect *geometry,
				   const struct ga_window_impl *impl,
				   void *owner, uint32_t parent, uint32_t flags,
				   int32_t x, int32_t y);
/* The client's window geometry (NULL: none), applied on the next frame. */
void ga_window_set_geometry(struct ga_window *window,
			    const struct ga_rect *geometry);
/* Sends DESTROY; the struct lives on until DESTROYED. */
void ga_window_unmap(struct ga_window *window);
/* A live window by id, or NULL. */
struct ga_window *ga_window_lookup(struct ga_server *server, uint32_t id);

/* `surface` (the root or a subsurface in its tree) applied a state;
 * `flush`: send what is due now (false while its parent's commit is
 * still being applied: the frame goes out with the parent's). */
void ga_window_surface_changed(struct ga_window *window,
			       struct ga_surface *surface, bool flush);
/* Subsurfaces with content are composited over the root surface: its
 * frames cannot be read straight out of the client's buffer. */
bool ga_window_composes(struct ga_window *window);
/* Something in the surface tree changed without a commit (a subsurface
 * went away): the next frame sends the whole window again. */
void ga_window_redraw(struct ga_window *window);
/* TITLE or APP_ID, cut at a character boundary to the protocol's limit. */
void ga_window_set_string(struct ga_window *window, uint32_t type,
			  const char *s);
/* REQUEST_STATES */
void ga_window_set_states(struct ga_window *window, uint32_t states);

/* Host messages. */
void ga_window_frame_done(struct ga_server *server, uint32_t id);
void ga_window_destroyed(struct ga_server *server, uint32_t id);
/* The link can take frames again. */
void ga_window_flush_all(struct ga_server *server);
/* The host went away: ids awaiting DESTROYED are free, live windows
 * wait to be announced again. */
void ga_window_host_lost(struct ga_server *server);
/* A new host session: every live window is created again (parents
 * first) and sent whole. */
void ga_window_host_ready(struct ga_server *server);
/* At exit: frees every window without telling the host. */
void ga_window_free_all(struct ga_server *server);
