/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qmgr-gui-agent: the Wayland compositor inside a guest.  Apps of the
 * guest connect to it; it forwards their windows to the host's gui-proxy
 * over one stream (common/gui-proto.h) and applies what comes back.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib-unix.h>

#include "host-port.h"
#include "server.h"
#include "shm-region.h"

static gboolean on_signal(gpointer data)
{
	g_main_loop_quit(data);
	return G_SOURCE_CONTINUE;
}

int main(int argc, char **argv)
{
	g_autofree char *port = NULL;
	g_autofree char *unix_path = NULL;
	g_autofree char *socket_name = NULL;
	g_autofree char *shm = NULL;
	gboolean reconnect = FALSE;
	g_autoptr(GError) error = NULL;
	GOptionEntry entries[] = {
		{ "port", 0, 0, G_OPTION_ARG_FILENAME, &port,
		  "The virtio-serial port to the host (default "
		  "/dev/virtio-ports/org.qmgr.gui); waited for, and "
		  "reconnected when the host goes", "PATH" },
		{ "connect-unix", 0, 0, G_OPTION_ARG_FILENAME, &unix_path,
		  "Connect to a unix socket instead (tests, benches); exit "
		  "when it closes unless --reconnect", "PATH" },
		{ "reconnect", 0, 0, G_OPTION_ARG_NONE, &reconnect,
		  "With --connect-unix: wait for the host and reconnect",
		  NULL },
		{ "shm", 0, 0, G_OPTION_ARG_FILENAME, &shm,
		  "Memory shared with the host for the windows' pixels: a "
		  "file, 'auto' (the ivshmem PCI device's BAR2; the default "
		  "with --port) or 'none' (the default with --connect-unix)",
		  "PATH" },
		{ "socket", 0, 0, G_OPTION_ARG_STRING, &socket_name,
		  "The Wayland socket's name in $XDG_RUNTIME_DIR "
		  "(default wayland-0)", "NAME" },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx =
		g_option_context_new("- the guest side of the qmgr GUI");
	int status = 1;

	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		g_printerr("qmgr-gui-agent: %s (see --help)\n", error->message);
		return 2;
	}
	if (argc > 1 || (port != NULL && unix_path != NULL) ||
	    (reconnect && unix_path == NULL)) {
		g_printerr("qmgr-gui-agent: give either --port or "
			   "--connect-unix [--reconnect], and no other "
			   "arguments\n");
		return 2;
	}
	if (socket_name == NULL)
		socket_name = g_strdup("wayland-0");
	if (strchr(socket_name, '/') != NULL) {
		g_printerr("qmgr-gui-agent: --socket takes a name, not a path: "
			   "%s\n", socket_name);
		return 2;
	}

	/* a test's host listens before the agent starts: no waiting */
	int fd = -1;
	if (unix_path != NULL && !reconnect) {
		fd = ga_host_port_connect_unix(unix_path, false);
		if (fd < 0)
			return 1;
	}

	signal(SIGPIPE, SIG_IGN);
	GMainLoop *loop = g_main_loop_new(NULL, FALSE);
	struct ga_server *server = ga_server_create(socket_name, loop);
	if (server == NULL) {
		if (fd >= 0)
			close(fd);
		goto out;
	}
	if (shm == NULL)
		shm = g_strdup(unix_path != NULL ? "none" : "auto");
	if (strcmp(shm, "auto") == 0) {
		g_autofree char *bar = ga_region_find_ivshmem();

		if (bar != NULL)
			server->region = ga_region_open(bar);
		else
			g_message("no ivshmem device: frames go through the "
				  "stream");
	} else if (strcmp(shm, "none") != 0) {
		server->region = ga_region_open(shm);
	}
	if (fd >= 0) {
		ga_server_host_connected(fd, server);
	} else {
		server->port = ga_host_port_create(port, unix_path,
						   ga_server_host_connected,
						   server);
		ga_host_port_schedule(server->port, 0);
	}
	g_unix_signal_add(SIGTERM, on_signal, loop);
	g_unix_signal_add(SIGINT, on_signal, loop);
	g_message("listening on %s", socket_name);
	g_main_loop_run(loop);
	status = server->exit_status;

out:
	ga_server_destroy(server);
	g_main_loop_unref(loop);
	return status;
}
