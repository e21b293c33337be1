/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gui-proxy: shows guests' windows on the user's Wayland desktop, each
 * with a border in its qube's label colour that the guest cannot cover.
 * See gui-proxy(1) and docs/gui.md.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib-unix.h>

#include "config.h"
#include "client.h"
#include "proxy.h"

static gboolean on_signal(gpointer data)
{
	g_main_loop_quit(data);
	return G_SOURCE_CONTINUE;
}

int main(int argc, char **argv)
{
	g_auto(GStrv) guest_args = NULL;
	g_auto(GStrv) shm_args = NULL;
	g_autofree char *admin_path = NULL;
	gboolean version = FALSE;
	GOptionEntry entries[] = {
		{ "guest", 'g', 0, G_OPTION_ARG_STRING_ARRAY, &guest_args,
		  "A guest's GUI channel (repeatable; then the qubes are "
		  "not learnt from qmgrd)", "NAME:COLOR:SOCKET" },
		{ "shm", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &shm_args,
		  "The shared memory region of a --guest (repeatable): "
		  "its windows' pixels come through it", "NAME:PATH" },
		{ "admin-socket", 0, 0, G_OPTION_ARG_FILENAME, &admin_path,
		  "qmgrd's admin socket (default: as the qvm-* tools)",
		  "PATH" },
		{ "version", 0, 0, G_OPTION_ARG_NONE, &version,
		  "Print the version and exit", NULL },
		G_OPTION_ENTRY_NULL
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
	g_autoptr(GError) err = NULL;
	struct gp_display dpy = { 0 };
	struct qm_admin_link *admin = NULL;
	struct gp_qubes *qubes = NULL;
	int ret = 1;

	g_option_context_set_summary(ctx,
		"Shows the windows of qubes on this Wayland desktop, with a "
		"border in\neach qube's label colour.  Without --guest the "
		"qubes, their labels and\nGUI channels come from qmgrd.  "
		"COLOR is #rrggbb or red, orange, yellow,\ngreen, gray, "
		"blue, purple, black.");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		g_printerr("gui-proxy: %s (see --help)\n", err->message);
		return 2;
	}
	if (version) {
		printf("gui-proxy %s\n", QMGR_VERSION);
		return 0;
	}
	if (argc > 1) {
		g_printerr("gui-proxy: unexpected argument '%s' (see --help)\n",
			   argv[1]);
		return 2;
	}

	dpy.guests = g_ptr_array_new_with_free_func(
		(GDestroyNotify)gp_guest_destroy);
	for (char **a = guest_args; a && *a; a++) {
		struct gp_guest_config cfg = { 0 };

		if (!gp_guest_config_parse(*a, &cfg, &err)) {
			g_printerr("gui-proxy: %s\n", err->message);
			ret = 2;
			goto out;
		}
		for (guint i = 0; i < dpy.guests->len; i++) {
			struct gp_guest *o = g_ptr_array_index(dpy.guests, i);

			if (g_str_equal(o->cfg.name, cfg.name)) {
				g_printerr("gui-proxy: guest '%s' given twice\n",
					   cfg.name);
				gp_guest_config_finish(&cfg);
				ret = 2;
				goto out;
			}
		}
		g_ptr_array_add(dpy.guests, gp_guest_create(&dpy, &cfg));
		gp_guest_config_finish(&cfg);
	}

	for (char **a = shm_args; a && *a; a++) {
		const char *colon = strchr(*a, ':');
		struct gp_guest *g = NULL;

		for (guint i = 0; colon && i < dpy.guests->len; i++) {
			struct gp_guest *o = g_ptr_array_index(dpy.guests, i);

			if (strlen(o->cfg.name) == (size_t)(colon - *a) &&
			    strncmp(o->cfg.name, *a, (size_t)(colon - *a)) == 0)
				g = o;
		}
		if (!g || colon[1] == '\0') {
			g_printerr("gui-proxy: --shm '%s': expected NAME:PATH "
				   "with NAME given to --guest\n", *a);
			ret = 2;
			goto out;
		}
		gp_guest_set_shm(g, colon + 1);
	}

	/* With --guest, qmgrd is asked only when named (the clipboard's
	 * policy); without, the qubes come from it. */
	if (!dpy.guests->len || admin_path) {
		if (!admin_path)
			admin_path = qm_client_socket_path();
		admin = qm_admin_link_create(admin_path, "gui-proxy");
		dpy.admin = admin;
	}
	if (!dpy.guests->len)
		qubes = gp_qubes_create(&dpy, admin);

	signal(SIGPIPE, SIG_IGN);
	dpy.notify = gp_notify_create();
	dpy.loop = g_main_loop_new(NULL, FALSE);
	if (!gp_display_init(&dpy))
		goto out;
	g_unix_signal_add(SIGINT, on_signal, dpy.loop);
	g_unix_signal_add(SIGTERM, on_signal, dpy.loop);
	for (guint i = 0; i < dpy.guests->len; i++)
		gp_guest_start(g_ptr_array_index(dpy.guests, i), true);
	if (admin)
		qm_admin_link_start(admin);
	g_main_loop_run(dpy.loop);
	ret = 0;
out:
	/* qmgrd first (its pending answers look at the qubes), then the
	 * guests: their windows use the display's globals. */
	qm_admin_link_destroy(admin);
	dpy.admin = NULL;
	gp_qubes_destroy(qubes);
	g_clear_pointer(&dpy.guests, g_ptr_array_unref);
	gp_display_finish(&dpy);
	g_clear_pointer(&dpy.notify, gp_notify_destroy);
	g_clear_pointer(&dpy.loop, g_main_loop_unref);
	return ret;
}
