/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The session bus, reconnected when it goes away (session-bus.h). */
#include "session-bus.h"

#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 30000

struct listener {
	const struct qm_session_bus_listener *l;
	void *data;
};

struct qm_session_bus {
	char *who;
	char *address;
	GDBusConnection *bus;   /* NULL: connecting, or waiting to */
	gulong closed_id;
	GCancellable *cancel;   /* of the connection being made */
	guint retry_id;
	guint backoff_ms;
	bool quiet;             /* a failure was logged: until back, no more */
	bool was_up;            /* connected before: the next is "again" */
	GArray *listeners;      /* struct listener */
};

static void connect_now(struct qm_session_bus *sb);

static gboolean retry_cb(gpointer data)
{
	struct qm_session_bus *sb = data;

	sb->retry_id = 0;
	connect_now(sb);
	return G_SOURCE_REMOVE;
}

static void retry_later(struct qm_session_bus *sb)
{
	sb->retry_id = g_timeout_add(sb->backoff_ms, retry_cb, sb);
	sb->backoff_ms = MIN(sb->backoff_ms * 2, BACKOFF_MAX_MS);
}

static void on_closed(GDBusConnection *bus, gboolean remote, GError *error,
		      gpointer data)
{
	struct qm_session_bus *sb = data;

	g_signal_handler_disconnect(sb->bus, sb->closed_id);
	sb->closed_id = 0;
	g_clear_object(&sb->bus);
	g_message("%s: the session bus at %s closed (%s): connecting again "
		  "(meanwhile notifications are in this log only)", sb->who,
		  sb->address, error ? error->message : "closed here");
	sb->quiet = true;
	/* A copy: a listener may remove itself. */
	g_autoptr(GArray) ls = g_array_copy(sb->listeners);
	for (guint i = 0; i < ls->len; i++) {
		struct listener *l = &g_array_index(ls, struct listener, i);

		if (l->l->lost)
			l->l->lost(l->data);
	}
	sb->backoff_ms = BACKOFF_FIRST_MS;
	retry_later(sb);
}

static void connected(GObject *src, GAsyncResult *res, gpointer data)
{
	g_autoptr(GCancellable) cancel = data;
	g_autoptr(GError) err = NULL;
	GDBusConnection *bus = g_dbus_connection_new_for_address_finish(res,
									&err);
	/* NULL once sb is destroyed: the answer may come after that. */
	struct qm_session_bus *sb = g_object_get_data(G_OBJECT(cancel), "sb");

	if (!sb) {
		g_clear_object(&bus);
		return;
	}
	g_clear_object(&sb->cancel);
	if (!bus) {
		if (!sb->quiet)
			g_message("%s: cannot connect to the session bus at "
				  "%s (%s): trying again, with pauses up to "
				  "%d s (meanwhile notifications are in this "
				  "log only)", sb->who, sb->address,
				  err->message, BACKOFF_MAX_MS / 1000);
		sb->quiet = true;
		retry_later(sb);
		return;
	}
	g_dbus_connection_set_exit_on_close(bus, FALSE);
	sb->bus = bus;
	sb->closed_id = g_signal_connect(bus, "closed", G_CALLBACK(on_closed),
					 sb);
	if (sb->quiet || sb->was_up)
		g_message("%s: connected to the session bus at %s again",
			  sb->who, sb->address);
	sb->quiet = false;
	sb->was_up = true;
	sb->backoff_ms = BACKOFF_FIRST_MS;
	g_autoptr(GArray) ls = g_array_copy(sb->listeners);
	for (guint i = 0; i < ls->len && sb->bus == bus; i++) {
		struct listener *l = &g_array_index(ls, struct listener, i);

		if (l->l->connected)
			l->l->connected(bus, l->data);
	}
}

static void connect_now(struct qm_session_bus *sb)
{
	sb->cancel = g_cancellable_new();
	g_object_set_data(G_OBJECT(sb->cancel), "sb", sb);
	g_dbus_connection_new_for_address(
		sb->address,
		G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
		G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
		NULL, sb->cancel, connected, g_object_ref(sb->cancel));
}

static char *session_address(GError **error)
{
	const char *env = g_getenv("DBUS_SESSION_BUS_ADDRESS");

	if (env && *env)
		return g_strdup(env);
	g_autofree char *path = g_build_filename(g_get_user_runtime_dir(),
						 "bus", NULL);
	if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "no session bus (DBUS_SESSION_BUS_ADDRESS is not "
			    "set, and there is no %s)", path);
		return NULL;
	}
	g_autofree char *escaped = g_dbus_address_escape_value(path);
	return g_strconcat("unix:path=", escaped, NULL);
}

struct qm_session_bus *qm_session_bus_create(const char *who, GError **error)
{
	g_autofree char *address = session_address(error);

	if (!address)
		return NULL;
	struct qm_session_bus *sb = g_new0(struct qm_session_bus, 1);
	sb->who = g_strdup(who);
	sb->address = g_steal_pointer(&address);
	sb->listeners = g_array_new(FALSE, FALSE, sizeof(struct listener));
	sb->backoff_ms = BACKOFF_FIRST_MS;
	connect_now(sb);
	return sb;
}

void qm_session_bus_destroy(struct qm_session_bus *sb)
{
	if (!sb)
		return;
	if (sb->cancel) {
		g_object_set_data(G_OBJECT(sb->cancel), "sb", NULL);
		g_cancellable_cancel(sb->cancel);
		g_object_unref(sb->cancel);
	}
	if (sb->retry_id)
		g_source_remove(sb->retry_id);
	if (sb->bus) {
		g_signal_handler_disconnect(sb->bus, sb->closed_id);
		/* What was sent goes out; answers are not waited for. */
		g_dbus_connection_flush_sync(sb->bus, NULL, NULL);
		g_dbus_connection_close_sync(sb->bus, NULL, NULL);
		g_object_unref(sb->bus);
	}
	g_array_unref(sb->listeners);
	g_free(sb->address);
	g_free(sb->who);
	g_free(sb);
}

const char *qm_session_bus_address(const struct qm_session_bus *sb)
{
	return sb->address;
}

GDBusConnection *qm_session_bus_get(const struct qm_session_bus *sb)
{
	return sb->bus;
}

void qm_session_bus_add_listener(struct qm_session_bus *sb,
				 const struct qm_session_bus_listener *l,
				 void *user_data)
{
	struct listener x = { l, user_data };

	g_array_append_val(sb->listeners, x);
	if (sb->bus && l->connected)
		l->connected(sb->bus, user_data);
}

void qm_session_bus_remove_listener(struct qm_session_bus *sb,
				    void *user_data)
{
	for (guint i = sb->listeners->len; i-- > 0;)
		if (g_array_index(sb->listeners, struct listener, i).data ==
		    user_data)
			g_array_remove_index(sb->listeners, i);
}
