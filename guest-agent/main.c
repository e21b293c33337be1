/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qmgr-agent: the program inside each compartment that qmgrd talks to over
 * a virtio-serial port.  Started by the guest's init (templates/minimal),
 * respawned if it exits.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <glib.h>
#include <signal.h>
#include <glib-unix.h>

#include "config.h"
#include "channel.h"
#include "port.h"
#include "power.h"
#include "proc.h"
#include "rpc-request.h"
#include "rpc-socket.h"
#include "service.h"

struct agent {
	GMainLoop *loop;
	bool no_poweroff;
	int status;
};

/* The console is a serial line logged to a file on the host: plain lines,
 * no colour escapes, one prefix. */
static GLogWriterOutput log_writer(GLogLevelFlags level,
				   const GLogField *fields, gsize n_fields,
				   gpointer user_data)
{
	const char *message = NULL;

	if (!(level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL |
		       G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE)) &&
	    g_getenv("G_MESSAGES_DEBUG") == NULL)
		return G_LOG_WRITER_HANDLED;
	for (gsize i = 0; i < n_fields; i++)
		if (g_strcmp0(fields[i].key, "MESSAGE") == 0)
			message = fields[i].value;
	const char *what = (level & G_LOG_LEVEL_ERROR)      ? "error: "
			   : (level & G_LOG_LEVEL_CRITICAL) ? "critical: "
			   : (level & G_LOG_LEVEL_WARNING)  ? "warning: "
							    : "";
	fprintf(stderr, "qmgr-agent: %s%s\n", what, message ? message : "");
	return G_LOG_WRITER_HANDLED;
}

static void on_shutdown(void *user_data)
{
	struct agent *a = user_data;

	if (a->no_poweroff) {
		g_message("--no-poweroff: exiting instead of powering off");
		g_main_loop_quit(a->loop);
		return;
	}
	if (!agent_power_off()) {
		a->status = EXIT_FAILURE;
		g_main_loop_quit(a->loop);
	}
}

static gboolean on_signal(gpointer data)
{
	struct agent *a = data;

	g_main_loop_quit(a->loop);
	return G_SOURCE_CONTINUE;
}

int main(int argc, char **argv)
{
	struct agent a = { .status = EXIT_SUCCESS };
	struct agent_channel_config config = { 0 };
	g_autofree char *port_name = NULL;
	g_autofree char *device = NULL;
	g_autofree char *rpc_socket = NULL;
	g_autofree char *service_dirs = NULL;
	gboolean version = FALSE;
	gboolean no_poweroff = FALSE;
	GOptionEntry entries[] = {
		{ "port-name", 'p', 0, G_OPTION_ARG_STRING, &port_name,
		  "virtio-serial port to use (default "
		  AGENT_PORT_NAME_DEFAULT ")", "NAME" },
		{ "device", 'd', 0, G_OPTION_ARG_FILENAME, &device,
		  "use this device or unix socket instead of looking the "
		  "port up", "PATH" },
		{ "rpc-socket", 0, 0, G_OPTION_ARG_FILENAME, &rpc_socket,
		  "where guest processes ask for calls (default "
		  AGENT_RPC_SOCKET_DEFAULT ")", "PATH" },
		{ "service-dirs", 0, 0, G_OPTION_ARG_STRING, &service_dirs,
		  "':'-separated directories of RPC services (default "
		  AGENT_SERVICE_DIRS_DEFAULT ")", "DIRS" },
		{ "no-poweroff", 0, 0, G_OPTION_ARG_NONE, &no_poweroff,
		  "on SHUTDOWN, exit instead of powering off (for testing)",
		  NULL },
		{ "version", 'V', 0, G_OPTION_ARG_NONE, &version,
		  "print the version and exit", NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx =
		g_option_context_new("- the qmgr guest agent");
	g_autoptr(GError) err = NULL;

	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		g_printerr("qmgr-agent: %s (try --help)\n", err->message);
		return 2;
	}
	if (version) {
		g_print("qmgr-agent %s\n", QMGR_VERSION);
		return 0;
	}
	a.no_poweroff = no_poweroff;
	config.port_name = port_name;
	config.device = device;
	config.service_dirs = service_dirs;

	g_log_set_writer_func(log_writer, NULL, NULL);
	a.loop = g_main_loop_new(NULL, FALSE);
	/* A host end that goes away mid-write is handled on that channel. */
	signal(SIGPIPE, SIG_IGN);
	g_unix_signal_add(SIGTERM, on_signal, &a);
	g_unix_signal_add(SIGINT, on_signal, &a);
	struct agent_channel *ch =
		agent_channel_create(&config, on_shutdown, &a, NULL);
	struct agent_rpc *rpc = agent_rpc_listen(
		rpc_socket ? rpc_socket : AGENT_RPC_SOCKET_DEFAULT, ch, &err);
	if (rpc == NULL)
		/* Commands from qmgrd still work; calls out do not. */
		g_warning("%s: this qube cannot make calls", err->message);
	g_main_loop_run(a.loop);

	agent_rpc_close(rpc);
	agent_channel_destroy(ch);
	/* Commands that ignored SIGTERM do not outlive the agent. */
	agent_proc_kill_all();
	g_main_loop_unref(a.loop);
	return a.status;
}
