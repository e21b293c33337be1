/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The notification client (notify-client.h).  On each connection to the
 * session bus it watches the server's name, asks its capabilities when it
 * appears, and subscribes to ActionInvoked and NotificationClosed.  Until
 * the capabilities are known, notices wait (at most QM_NOTIFY_MAX_QUEUED):
 * actions and markup depend on them.  A call's callback holds a reference
 * to the client's GCancellable and leaves the client alone once that is
 * cancelled (the client is gone).
 */
#include "notify-client.h"

#include <string.h>

#define NOTIFY_NAME "org.freedesktop.Notifications"
#define NOTIFY_PATH "/org/freedesktop/Notifications"
/* How long a notification server may take to answer. */
#define CALL_TIMEOUT_MS 10000

struct qm_notify {
	struct qm_session_bus *sb;      /* NULL: log only */
	char *app_name, *desktop_entry;
	qm_notify_action_fn fn;
	void *data;
	GCancellable *cancel;           /* cancelled by destroy */

	GDBusConnection *bus;           /* the current connection, or NULL */
	guint watch_id, action_sub, closed_sub;
	bool caps_known;                /* answered (or failed) since the
					 * server appeared: notices need not
					 * wait */
	bool caps_ok;                   /* and answered: actions and markup
					 * are the server's word */
	bool actions, markup;
	GPtrArray *queued;              /* struct queued, in order */
	GHashTable *by_tag;             /* tag -> notification id (0: sent) */
	GHashTable *by_id;              /* notification id -> tag */
};

struct queued {
	struct qm_notice n;             /* strings owned */
	char **actions;
};

/* A call's user_data: the client while it lives. */
struct pending {
	GCancellable *cancel;
	struct qm_notify *n;
	uint32_t tag;
};

static struct pending *pending_new(struct qm_notify *n, uint32_t tag)
{
	struct pending *p = g_new0(struct pending, 1);

	p->cancel = g_object_ref(n->cancel);
	p->n = n;
	p->tag = tag;
	return p;
}

/* The client of p, or NULL when it is gone; frees p either way. */
static struct qm_notify *pending_take(struct pending *p)
{
	struct qm_notify *n = g_cancellable_is_cancelled(p->cancel) ? NULL
								     : p->n;

	g_object_unref(p->cancel);
	g_free(p);
	return n;
}

static void queued_free(struct queued *q)
{
	g_free((char *)q->n.summary);
	g_free((char *)q->n.body);
	g_free((char *)q->n.icon);
	g_free((char *)q->n.category);
	g_strfreev(q->actions);
	g_free(q);
}

static void call_close(struct qm_notify *n, uint32_t id)
{
	if (!n->bus)
		return;
	g_dbus_connection_call(n->bus, NOTIFY_NAME, NOTIFY_PATH, NOTIFY_NAME,
			       "CloseNotification", g_variant_new("(u)", id),
			       NULL, G_DBUS_CALL_FLAGS_NO_AUTO_START, -1,
			       NULL, NULL, NULL);
}

static void notify_done(GObject *src, GAsyncResult *res, gpointer data)
{
	uint32_t tag = ((struct pending *)data)->tag;
	struct qm_notify *n = pending_take(data);
	g_autoptr(GError) err = NULL;
	g_autoptr(GVariant) r = g_dbus_connection_call_finish(
		G_DBUS_CONNECTION(src), res, &err);

	if (!n)
		return;
	if (!r) {
		g_message("no desktop notification shown (%s): the notice is "
			  "in this log only", err->message);
		if (tag)
			g_hash_table_remove(n->by_tag, GUINT_TO_POINTER(tag));
		return;
	}
	if (!tag)
		return;
	guint32 id;
	g_variant_get(r, "(u)", &id);
	if (src != G_OBJECT(n->bus))
		return;         /* an old connection's: the server forgot it */
	if (!g_hash_table_contains(n->by_tag, GUINT_TO_POINTER(tag))) {
		call_close(n, id);      /* taken back meanwhile */
		return;
	}
	g_hash_table_insert(n->by_tag, GUINT_TO_POINTER(tag),
			    GUINT_TO_POINTER(id));
	g_hash_table_insert(n->by_id, GUINT_TO_POINTER(id),
			    GUINT_TO_POINTER(tag));
}

static void send_now(struct qm_notify *n, const struct qm_notice *m)
{
	GVariantBuilder hints, acts;
	/* Escaped unless the server said it does not read markup: guest
	 * text must never become markup. */
	const char *text = m->body ? m->body : "";
	g_autofree char *body = n->caps_ok && !n->markup
				? g_strdup(text)
				: g_markup_escape_text(text, -1);

	g_variant_builder_init(&hints, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&hints, "{sv}", "urgency",
			      g_variant_new_byte(m->urgency));
	if (m->category)
		g_variant_builder_add(&hints, "{sv}", "category",
				      g_variant_new_string(m->category));
	if (n->desktop_entry)
		g_variant_builder_add(&hints, "{sv}", "desktop-entry",
				      g_variant_new_string(n->desktop_entry));
	g_variant_builder_init(&acts, G_VARIANT_TYPE("as"));
	if (n->actions && m->actions)
		for (const char *const *a = m->actions; a[0] && a[1]; a += 2) {
			g_variant_builder_add(&acts, "s", a[0]);
			g_variant_builder_add(&acts, "s", a[1]);
		}
	if (m->tag)
		g_hash_table_insert(n->by_tag, GUINT_TO_POINTER(m->tag), NULL);
	g_dbus_connection_call(n->bus, NOTIFY_NAME, NOTIFY_PATH, NOTIFY_NAME,
		"Notify",
		g_variant_new("(susssasa{sv}i)", n->app_name, 0u,
			      m->icon ? m->icon : "", m->summary, body, &acts,
			      &hints, m->timeout_ms),
		G_VARIANT_TYPE("(u)"), G_DBUS_CALL_FLAGS_NO_AUTO_START,
		CALL_TIMEOUT_MS, NULL, notify_done, pending_new(n, m->tag));
}

static void flush_queue(struct qm_notify *n)
{
	g_autoptr(GPtrArray) q = g_steal_pointer(&n->queued);

	n->queued = g_ptr_array_new_with_free_func(
		(GDestroyNotify)queued_free);
	for (guint i = 0; i < q->len; i++)
		send_now(n, &((struct queued *)q->pdata[i])->n);
}

static void caps_done(GObject *src, GAsyncResult *res, gpointer data)
{
	struct qm_notify *n = pending_take(data);
	g_autoptr(GError) err = NULL;
	g_autoptr(GVariant) r = g_dbus_connection_call_finish(
		G_DBUS_CONNECTION(src), res, &err);

	if (!n || src != G_OBJECT(n->bus))
		return;
	n->caps_known = true;
	if (!r) {
		/* Bodies stay escaped (caps unknown); no actions. */
		g_message("notification server: GetCapabilities failed: %s",
			  err->message);
		n->caps_ok = n->actions = n->markup = false;
	} else {
		n->caps_ok = true;
		g_autofree const char **caps = NULL;
		g_variant_get(r, "(^a&s)", &caps);
		n->actions = g_strv_contains(caps, "actions");
		n->markup = g_strv_contains(caps, "body-markup");
		g_message("notification server: actions %s, body markup %s",
			  n->actions ? "yes" : "no", n->markup ? "yes" : "no");
	}
	flush_queue(n);
}

static void server_appeared(GDBusConnection *bus, const char *name,
			    const char *owner, gpointer data)
{
	struct qm_notify *n = data;

	n->caps_known = n->caps_ok = false;
	g_dbus_connection_call(bus, NOTIFY_NAME, NOTIFY_PATH, NOTIFY_NAME,
			       "GetCapabilities", NULL, G_VARIANT_TYPE("(as)"),
			       G_DBUS_CALL_FLAGS_NO_AUTO_START,
			       CALL_TIMEOUT_MS, NULL, caps_done,
			       pending_new(n, 0));
}

static void server_vanished(GDBusConnection *bus, const char *name,
			    gpointer data)
{
	struct qm_notify *n = data;

	/* Notices go out and fail, logged: there is nobody to wait for. */
	n->caps_known = true;
	n->caps_ok = n->actions = n->markup = false;
	g_hash_table_remove_all(n->by_tag);
	g_hash_table_remove_all(n->by_id);
	flush_queue(n);
}

static void on_action(GDBusConnection *bus, const char *sender,
		      const char *path, const char *iface, const char *signal,
		      GVariant *params, gpointer data)
{
	struct qm_notify *n = data;
	guint32 id;
	const char *key;
	gpointer tag;

	if (!g_variant_is_of_type(params, G_VARIANT_TYPE("(us)")))
		return;
	g_variant_get(params, "(u&s)", &id, &key);
	if (g_hash_table_lookup_extended(n->by_id, GUINT_TO_POINTER(id), NULL,
					 &tag) && n->fn)
		n->fn(GPOINTER_TO_UINT(tag), key, n->data);
}

static void on_closed(GDBusConnection *bus, const char *sender,
		      const char *path, const char *iface, const char *signal,
		      GVariant *params, gpointer data)
{
	struct qm_notify *n = data;
	guint32 id;
	gpointer tag;

	if (!g_variant_is_of_type(params, G_VARIANT_TYPE("(uu)")))
		return;
	g_variant_get(params, "(uu)", &id, NULL);
	if (g_hash_table_steal_extended(n->by_id, GUINT_TO_POINTER(id), NULL,
					&tag))
		g_hash_table_remove(n->by_tag, tag);
}

static void detach(struct qm_notify *n)
{
	if (!n->bus)
		return;
	g_bus_unwatch_name(n->watch_id);
	g_dbus_connection_signal_unsubscribe(n->bus, n->action_sub);
	g_dbus_connection_signal_unsubscribe(n->bus, n->closed_sub);
	n->watch_id = n->action_sub = n->closed_sub = 0;
	g_clear_object(&n->bus);
	n->caps_known = n->caps_ok = n->actions = n->markup = false;
	g_hash_table_remove_all(n->by_tag);
	g_hash_table_remove_all(n->by_id);
}

static void bus_connected(GDBusConnection *bus, void *data)
{
	struct qm_notify *n = data;

	detach(n);
	n->bus = g_object_ref(bus);
	n->action_sub = g_dbus_connection_signal_subscribe(
		bus, NOTIFY_NAME, NOTIFY_NAME, "ActionInvoked", NOTIFY_PATH,
		NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_action, n, NULL);
	n->closed_sub = g_dbus_connection_signal_subscribe(
		bus, NOTIFY_NAME, NOTIFY_NAME, "NotificationClosed",
		NOTIFY_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_closed, n,
		NULL);
	n->watch_id = g_bus_watch_name_on_connection(
		bus, NOTIFY_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
		server_appeared, server_vanished, n, NULL);
}

static void bus_lost(void *data)
{
	detach(data);
}

static const struct qm_session_bus_listener bus_listener = {
	.connected = bus_connected,
	.lost = bus_lost,
};

struct qm_notify *qm_notify_create(struct qm_session_bus *bus,
				   const char *app_name,
				   const char *desktop_entry,
				   qm_notify_action_fn fn, void *user_data)
{
	struct qm_notify *n = g_new0(struct qm_notify, 1);

	n->sb = bus;
	n->app_name = g_strdup(app_name);
	n->desktop_entry = g_strdup(desktop_entry);
	n->fn = fn;
	n->data = user_data;
	n->cancel = g_cancellable_new();
	n->queued = g_ptr_array_new_with_free_func(
		(GDestroyNotify)queued_free);
	n->by_tag = g_hash_table_new(NULL, NULL);
	n->by_id = g_hash_table_new(NULL, NULL);
	if (bus)
		qm_session_bus_add_listener(bus, &bus_listener, n);
	return n;
}

void qm_notify_destroy(struct qm_notify *n)
{
	if (!n)
		return;
	if (n->sb)
		qm_session_bus_remove_listener(n->sb, n);
	g_cancellable_cancel(n->cancel);
	g_object_unref(n->cancel);
	detach(n);
	g_ptr_array_unref(n->queued);
	g_hash_table_destroy(n->by_tag);
	g_hash_table_destroy(n->by_id);
	g_free(n->app_name);
	g_free(n->desktop_entry);
	g_free(n);
}

void qm_notify_send(struct qm_notify *n, const struct qm_notice *m)
{
	if (!n || !n->sb)
		return;
	if (n->bus && n->caps_known) {
		send_now(n, m);
		return;
	}
	if (n->queued->len >= QM_NOTIFY_MAX_QUEUED) {
		g_message("no desktop notification shown (%d are waiting for "
			  "the session bus already): the notice is in this "
			  "log only", QM_NOTIFY_MAX_QUEUED);
		return;
	}
	struct queued *q = g_new0(struct queued, 1);
	q->n = *m;
	q->n.summary = g_strdup(m->summary);
	q->n.body = g_strdup(m->body);
	q->n.icon = g_strdup(m->icon);
	q->n.category = g_strdup(m->category);
	q->actions = g_strdupv((char **)m->actions);
	q->n.actions = (const char *const *)q->actions;
	g_ptr_array_add(n->queued, q);
}

void qm_notify_close(struct qm_notify *n, uint32_t tag)
{
	gpointer id;

	if (!n)
		return;
	for (guint i = n->queued->len; i-- > 0;)
		if (((struct queued *)n->queued->pdata[i])->n.tag == tag)
			g_ptr_array_remove_index(n->queued, i);
	if (!g_hash_table_steal_extended(n->by_tag, GUINT_TO_POINTER(tag),
					 NULL, &id))
		return;
	if (!id)
		return;         /* notify_done closes it */
	g_hash_table_remove(n->by_id, id);
	call_close(n, GPOINTER_TO_UINT(id));
}

bool qm_notify_has_actions(const struct qm_notify *n)
{
	return n && n->actions;
}
