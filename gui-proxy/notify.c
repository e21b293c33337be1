/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Desktop notifications (org.freedesktop.Notifications on the session
 * bus) for what the user must see: a guest's GUI dropped for breaking
 * the protocol.  Everything is asynchronous, so the Wayland loop never
 * waits for the bus or the notification server; without either the
 * notice is logged (as it always is) and the proxy goes on.
 *
 * One notice per qube per GP_NOTICE_INTERVAL_S: a guest that reconnects
 * and misbehaves in a loop (its qube restarted over and over) cannot
 * flood the desktop.  The notices are built from the proxy's own words;
 * the reason (the decoder's text, with numbers a guest chose) is
 * sanitized as a title is and escaped, since servers may read the body
 * as markup.
 */
#include <string.h>
#include <gio/gio.h>

#include "proxy.h"

#define NOTIFY_NAME "org.freedesktop.Notifications"
#define NOTIFY_PATH "/org/freedesktop/Notifications"
/* Notices waiting for the bus connection; more are logged only. */
#define MAX_QUEUED 8
/* How long a notification server may take to answer. */
#define CALL_TIMEOUT_MS 10000

struct notice {
	char *summary, *body;
};

struct gp_notify {
	GCancellable *cancel;
	GDBusConnection *bus;           /* NULL: not (yet) connected */
	bool bus_failed;                /* no session bus: log only */
	GPtrArray *queued;              /* struct notice, until connected */
	GHashTable *last;               /* qube -> gint64 monotonic us */
};

static void notice_free(struct notice *n)
{
	g_free(n->summary);
	g_free(n->body);
	g_free(n);
}

bool gp_notice_limit_pass(GHashTable *last, const char *key, gint64 now_us,
			  gint64 interval_us)
{
	gpointer prev;

	if (g_hash_table_lookup_extended(last, key, NULL, &prev) &&
	    now_us - *(gint64 *)prev < interval_us)
		return false;
	g_hash_table_insert(last, g_strdup(key), g_memdup2(&now_us,
							   sizeof(now_us)));
	return true;
}

char *gp_notice_text(const char *untrusted, size_t len)
{
	g_autofree char *clean = gp_sanitize_title((const uint8_t *)untrusted,
						   len);

	return g_markup_escape_text(clean, -1);
}

static void notify_done(GObject *src, GAsyncResult *res, gpointer data)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GVariant) ret = g_dbus_connection_call_finish(
		G_DBUS_CONNECTION(src), res, &err);

	/* data is not used: the proxy may be gone (cancelled). */
	if (!ret && !g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		g_message("no desktop notification shown (%s): the notice is "
			  "in this log only", err->message);
}

static void send_notice(struct gp_notify *n, const struct notice *m)
{
	GVariantBuilder hints;

	g_variant_builder_init(&hints, G_VARIANT_TYPE("a{sv}"));
	/* critical: it stays until the user has seen it */
	g_variant_builder_add(&hints, "{sv}", "urgency",
			      g_variant_new_byte(2));
	g_variant_builder_add(&hints, "{sv}", "category",
			      g_variant_new_string("device.error"));
	g_dbus_connection_call(n->bus, NOTIFY_NAME, NOTIFY_PATH, NOTIFY_NAME,
		"Notify",
		g_variant_new("(susssasa{sv}i)", "qmgr", 0u, "dialog-warning",
			      m->summary, m->body, NULL, &hints, -1),
		G_VARIANT_TYPE("(u)"), G_DBUS_CALL_FLAGS_NO_AUTO_START,
		CALL_TIMEOUT_MS, n->cancel, notify_done, NULL);
}

static void bus_ready(GObject *src, GAsyncResult *res, gpointer data)
{
	g_autoptr(GCancellable) cancel = data;
	g_autoptr(GError) err = NULL;
	GDBusConnection *bus = g_bus_get_finish(res, &err);
	/* NULL once the proxy let go of it: the answer may come after
	 * that even when it was ready before the cancellation. */
	struct gp_notify *n = g_object_get_data(G_OBJECT(cancel), "notify");

	if (!n) {
		g_clear_object(&bus);
		return;
	}
	if (!bus) {
		g_message("no session bus (%s): dropped guests are "
			  "reported in this log only", err->message);
		n->bus_failed = true;
		g_ptr_array_set_size(n->queued, 0);
		return;
	}
	/* The bus going away must not end the proxy. */
	g_dbus_connection_set_exit_on_close(bus, FALSE);
	n->bus = bus;
	for (guint i = 0; i < n->queued->len; i++)
		send_notice(n, g_ptr_array_index(n->queued, i));
	g_ptr_array_set_size(n->queued, 0);
}

struct gp_notify *gp_notify_create(void)
{
	struct gp_notify *n = g_new0(struct gp_notify, 1);

	n->cancel = g_cancellable_new();
	n->queued = g_ptr_array_new_with_free_func(
		(GDestroyNotify)notice_free);
	n->last = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					g_free);
	/* Without an address GIO would try X11 autolaunch: not here. */
	if (!g_getenv("DBUS_SESSION_BUS_ADDRESS")) {
		g_autofree char *path = g_build_filename(
			g_get_user_runtime_dir(), "bus", NULL);

		if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
			g_message("no session bus (DBUS_SESSION_BUS_ADDRESS "
				  "is not set, no %s): dropped guests are "
				  "reported in this log only", path);
			n->bus_failed = true;
			return n;
		}
	}
	g_object_set_data(G_OBJECT(n->cancel), "notify", n);
	g_bus_get(G_BUS_TYPE_SESSION, n->cancel, bus_ready,
		  g_object_ref(n->cancel));
	return n;
}

void gp_notify_destroy(struct gp_notify *n)
{
	if (!n)
		return;
	g_object_set_data(G_OBJECT(n->cancel), "notify", NULL);
	g_cancellable_cancel(n->cancel);
	g_object_unref(n->cancel);
	if (n->bus) {
		/* Calls already written go out; do not wait for answers. */
		g_dbus_connection_flush_sync(n->bus, NULL, NULL);
		g_object_unref(n->bus);
	}
	g_ptr_array_unref(n->queued);
	g_hash_table_destroy(n->last);
	g_free(n);
}

void gp_notify_guest_dropped(struct gp_notify *n, const char *qube,
			     const char *reason)
{
	struct notice *m;

	if (!n)
		return;
	if (!gp_notice_limit_pass(n->last, qube, g_get_monotonic_time(),
				  (gint64)GP_NOTICE_INTERVAL_S * G_USEC_PER_SEC)) {
		g_message("guest '%s': no desktop notification (one was shown "
			  "less than %d s ago)", qube, GP_NOTICE_INTERVAL_S);
		return;
	}
	if (n->bus_failed)
		return;
	g_autofree char *why = gp_notice_text(reason, strlen(reason));
	/* The qube's name passed gp_guest_name_ok (letters, digits, '-',
	 * '_'): nothing to escape or strip. */
	m = g_new0(struct notice, 1);
	m->summary = g_strdup_printf("qmgr: GUI of qube '%s' disconnected",
				     qube);
	m->body = g_strdup_printf(
		"The qube broke the GUI protocol (%s). Its windows were "
		"closed and are not shown again until it restarts.", why);
	if (n->bus) {
		send_notice(n, m);
		notice_free(m);
	} else if (n->queued->len < MAX_QUEUED) {
		g_ptr_array_add(n->queued, m);
	} else {
		notice_free(m);
	}
}
