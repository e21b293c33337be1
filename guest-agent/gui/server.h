/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The compositor as a whole: the wl_display (its event loop runs inside
 * GLib's main loop: one GSource polls wl_event_loop's fd and flushes the
 * clients before the loop sleeps), the globals, the link to the host and
 * the table of host windows.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <wayland-server-core.h>

struct ga_link;
struct ga_seat;
struct ga_output;
struct ga_data_device_manager;
struct ga_host_port;
struct ga_region;

struct ga_server {
	struct wl_display *display;
	GSource *wl_source;
	GMainLoop *main_loop;
	struct ga_link *link;
	/* reconnects after the host is gone; NULL: exit then */
	struct ga_host_port *port;
	int exit_status;

	struct ga_seat *seat;
	struct ga_output *output;
	struct ga_data_device_manager *data;
	/* shared with the host (shm-region.h); NULL: none */
	struct ga_region *region;

	/* uint32 id -> struct ga_window, live or awaiting DESTROYED */
	GHashTable *windows;
	uint32_t last_window_id;
	bool window_limit_warned;

	/* frame callbacks of surfaces not shown in any window (cursors,
	 * unmapped surfaces): fired by a timer at about 60 Hz so that such
	 * clients neither spin nor hang */
	struct wl_list orphan_callbacks;
	guint orphan_timer;
};

/* Creates the display, its socket (socket_name in $XDG_RUNTIME_DIR)
 * and the globals; no host yet. */
struct ga_server *ga_server_create(const char *socket_name,
				   GMainLoop *main_loop);
void ga_server_destroy(struct ga_server *server);
/* A host session on fd (owned): HELLO, then every window again.  Has the
 * signature of ga_host_port_fn. */
void ga_server_host_connected(int fd, void *server);

/* Keeps a frame callback (a wl_callback resource, its link free) until
 * the orphan timer fires. */
void ga_server_add_orphan_callbacks(struct ga_server *server,
				    struct wl_list *callbacks);

/* Sends `done` to every wl_callback resource in the list and destroys
 * them. */
void ga_callbacks_fire(struct wl_list *callbacks, uint32_t time_ms);
uint32_t ga_now_ms(void);
