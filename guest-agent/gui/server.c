/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "server.h"

#include <time.h>
#include <unistd.h>
#include <glib.h>
#include <wayland-server-protocol.h>

#include "data-device.h"
#include "decoration.h"
#include "host-events.h"
#include "host-link.h"
#include "host-port.h"
#include "output.h"
#include "seat.h"
#include "shm.h"
#include "shm-region.h"
#include "subsurface.h"
#include "surface.h"
#include "window.h"
#include "xdg.h"

#define ORPHAN_FRAME_MS 16

uint32_t ga_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)((uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

void ga_callbacks_fire(struct wl_list *callbacks, uint32_t time_ms)
{
	struct wl_resource *cb, *tmp;

	wl_resource_for_each_safe(cb, tmp, callbacks) {
		wl_callback_send_done(cb, time_ms);
		wl_resource_destroy(cb);
	}
}

static gboolean on_orphan_timer(gpointer data)
{
	struct ga_server *server = data;

	server->orphan_timer = 0;
	ga_callbacks_fire(&server->orphan_callbacks, ga_now_ms());
	return G_SOURCE_REMOVE;
}

void ga_server_add_orphan_callbacks(struct ga_server *server,
				    struct wl_list *callbacks)
{
	if (wl_list_empty(callbacks))
		return;
	wl_list_insert_list(server->orphan_callbacks.prev, callbacks);
	wl_list_init(callbacks);
	if (server->orphan_timer == 0)
		server->orphan_timer = g_timeout_add(ORPHAN_FRAME_MS,
						     on_orphan_timer, server);
}

/* ---- wl_event_loop inside GLib's main loop ---- */

struct wl_source {
	GSource base;
	struct wl_display *display;
};

static gboolean wl_source_prepare(GSource *base, gint *timeout)
{
	struct wl_source *s = (struct wl_source *)base;

	/* everything queued for clients goes out before the loop sleeps */
	wl_display_flush_clients(s->display);
	*timeout = -1;
	return FALSE;
}

static gboolean wl_source_dispatch(GSource *base, GSourceFunc cb,
				   gpointer data)
{
	struct wl_source *s = (struct wl_source *)base;

	wl_event_loop_dispatch(wl_display_get_event_loop(s->display), 0);
	return G_SOURCE_CONTINUE;
}

static GSourceFuncs wl_source_funcs = {
	.prepare = wl_source_prepare,
	.dispatch = wl_source_dispatch,
};

static GSource *wl_source_new(struct wl_display *display)
{
	GSource *base = g_source_new(&wl_source_funcs,
				     sizeof(struct wl_source));
	struct wl_source *s = (struct wl_source *)base;

	s->display = display;
	g_source_add_unix_fd(base,
		wl_event_loop_get_fd(wl_display_get_event_loop(display)),
		G_IO_IN | G_IO_ERR);
	g_source_attach(base, NULL);
	return base;
}

void ga_server_host_connected(int fd, void *data)
{
	struct ga_server *server = data;

	ga_link_attach(server->link, fd);
	ga_window_host_ready(server);
}

struct ga_server *ga_server_create(const char *socket_name,
				   GMainLoop *main_loop)
{
	struct ga_server *server = g_new0(struct ga_server, 1);

	server->main_loop = main_loop;
	server->windows = g_hash_table_new(NULL, NULL);
	wl_list_init(&server->orphan_callbacks);
	server->display = wl_display_create();
	if (server->display == NULL) {
		g_warning("cannot create a Wayland display");
		goto fail;
	}
	if (wl_display_add_socket(server->display, socket_name) != 0) {
		g_warning("cannot listen on Wayland socket %s in "
			  "$XDG_RUNTIME_DIR (%s): is XDG_RUNTIME_DIR set, and "
			  "is another compositor using that name?",
			  socket_name, g_getenv("XDG_RUNTIME_DIR") ?: "unset");
		goto fail;
	}
	server->link = ga_link_create(&ga_host_events_handler, server);
	server->seat = ga_seat_create(server);
	server->output = ga_output_create(server);
	server->data = ga_data_device_manager_create(server);
	if (!ga_compositor_init(server) || !ga_subcompositor_init(server) ||
	    !ga_shm_init(server) || !ga_xdg_init(server) ||
	    !ga_decoration_init(server) || server->seat == NULL ||
	    server->output == NULL || server->data == NULL) {
		g_warning("cannot create the Wayland globals");
		goto fail;
	}
	server->wl_source = wl_source_new(server->display);
	return server;

fail:
	ga_server_destroy(server);
	return NULL;
}

void ga_server_destroy(struct ga_server *server)
{
	if (server == NULL)
		return;
	if (server->wl_source != NULL) {
		g_source_destroy(server->wl_source);
		g_source_unref(server->wl_source);
	}
	if (server->display != NULL)
		wl_display_destroy_clients(server->display);
	ga_window_free_all(server);
	ga_region_destroy(server->region);
	/* callbacks were destroyed with their clients */
	if (server->orphan_timer)
		g_source_remove(server->orphan_timer);
	ga_data_device_manager_destroy(server->data);
	ga_output_destroy(server->output);
	ga_seat_destroy(server->seat);
	if (server->display != NULL)
		wl_display_destroy(server->display);
	ga_link_destroy(server->link);
	ga_host_port_destroy(server->port);
	g_hash_table_destroy(server->windows);
	g_free(server);
}
