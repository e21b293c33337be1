/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Notifications through org.freedesktop.Notifications (mako, dunst, the
 * desktops' own servers).  Notices (a qube started, stopped or crashed; a
 * call denied) are rate limited; questions carry one action per target and
 * Deny when the server has the "actions" capability.  Strings are
 * sanitized by the caller; here they are escaped when the server reads
 * bodies as markup.  A missing server is not an error: notices are then
 * only logged, and the tray's menu still has everything.
 */
#include "tray.h"

#include <string.h>

#define NOTIFY_NAME "org.freedesktop.Notifications"
#define NOTIFY_PATH "/org/freedesktop/Notifications"
#define BURST 5
#define WINDOW_US (10 * G_USEC_PER_SEC)

struct qt_notify {
	GDBusConnection *bus;
	guint watch_id;
	guint action_sub, closed_sub;
	bool up;
	bool actions;          /* the server shows actions */
	bool markup;           /* the server reads bodies as markup */
	struct qt_ratelimit rl;
	guint flush_id;
	GHashTable *by_note;   /* notification id -> question id */
	GHashTable *by_question; /* question id -> notification id (0: asked) */
	qt_notify_action_fn fn;
	void *data;
	bool dead;             /* destroyed while a call was in flight */
	unsigned int in_flight;
};

/* A call's reply came: false when n was destroyed meanwhile (and is freed
 * now if this was the last call in flight). */
static bool call_finished(struct qt_notify *n)
{
	n->in_flight--;
	if (!n->dead)
		return true;
	if (n->in_flight == 0)
		g_free(n);
	return false;
}

static void caps_done(GObject *src, GAsyncResult *res, gpointer data)
{
	struct qt_notify *n = data;
	g_autoptr(GError) err = NULL;
	g_autoptr(GVariant) r = g_dbus_connection_call_finish(
		G_DBUS_CONNECTION(src), res, &err);

	if (!call_finished(n))
		return;
	if (!r) {
		g_message("notification server: GetCapabilities failed: %s",
			  err->message);
		return;
	}
	g_autofree const char **caps = NULL;
	g_variant_get(r, "(^a&s)", &caps);
	n->actions = g_strv_contains(caps, "actions");
	n->markup = g_strv_contains(caps, "body-markup");
	g_message("notification server: actions %s, body markup %s",
		  n->actions ? "yes" : "no", n->markup ? "yes" : "no");
}

static void server_appeared(GDBusConnection *conn, const char *name,
			    const char *owner, gpointer data)
{
	struct qt_notify *n = data;

	n->up = true;
	n->in_flight++;
	g_dbus_connection_call(conn, NOTIFY_NAME, NOTIFY_PATH, NOTIFY_NAME,
			       "GetCapabilities", NULL, G_VARIANT_TYPE("(as)"),
			       G_DBUS_CALL_FLAGS_NONE, 5000, NULL, caps_done,
			       n);
}

static void server_vanished(GDBusConnection *conn, const char *name,
			    gpointer data)
{
	struct qt_notify *n = data;

	n->up = false;
	n->actions = n->markup = false;
}

static void on_action(GDBusConnection *conn, const char *sender,
		      const char *path, const char *iface, const char *signal,
		      GVariant *params, gpointer data)
{
	struct qt_notify *n = data;
	guint32 note;
	const char *key;
	gpointer q;

	if (!g_variant_is_of_type(params, G_VARIANT_TYPE("(us)")))
		return;
	g_variant_get(params, "(u&s)", &note, &key);
	if (!g_hash_table_lookup_extended(n->by_note, GUINT_TO_POINTER(note),
					  NULL, &q))
		return;
	if (strcmp(key, "deny") == 0)
		n->fn(GPOINTER_TO_UINT(q), "", n->data);
	else if (g_str_has_prefix(key, "t:"))
		n->fn(GPOINTER_TO_UINT(q), key + 2, n->data);
	/* "default" (a click on the body) chooses nothing */
}

static void on_closed(GDBusConnection *conn, const char *sender,
		      const char *path, const char *iface, const char *signal,
		      GVariant *params, gpointer data)
{
	struct qt_notify *n = data;
	guint32 note;
	gpointer q;

	if (!g_variant_is_of_type(params, G_VARIANT_TYPE("(uu)")))
		return;
	g_variant_get(params, "(uu)", &note, NULL);
	if (g_hash_table_steal_extended(n->by_note, GUINT_TO_POINTER(note),
					NULL, &q))
		g_hash_table_remove(n->by_question, q);
}

struct qt_notify *qt_notify_create(GDBusConnection *bus,
				   qt_notify_action_fn fn, void *user_data)
{
	struct qt_notify *n = g_new0(struct qt_notify, 1);

	n->bus = g_object_ref(bus);
	n->fn = fn;
	n->data = user_data;
	qt_ratelimit_init(&n->rl, BURST, WINDOW_US);
	n->by_note = g_hash_table_new(NULL, NULL);
	n->by_question = g_hash_table_new(NULL, NULL);
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
	return n;
}

void qt_notify_destroy(struct qt_notify *n)
{
	if (!n)
		return;
	g_bus_unwatch_name(n->watch_id);
	g_dbus_connection_signal_unsubscribe(n->bus, n->action_sub);
	g_dbus_connection_signal_unsubscribe(n->bus, n->closed_sub);
	if (n->flush_id)
		g_source_remove(n->flush_id);
	g_hash_table_destroy(n->by_note);
	g_hash_table_destroy(n->by_question);
	g_object_unref(n->bus);
	n->dead = true;
	if (n->in_flight == 0)
		g_free(n);
}

struct sent {
	struct qt_notify *n;
	uint32_t question;     /* 0: a notice */
};

static void sent_done(GObject *src, GAsyncResult *res, gpointer data)
{
	struct sent *s = data;
	struct qt_notify *n = s->n;
	g_autoptr(GError) err = NULL;
	g_autoptr(GVariant) r = g_dbus_connection_call_finish(
		G_DBUS_CONNECTION(src), res, &err);

	if (!call_finished(n)) {
		g_free(s);
		return;
	}
	if (!r) {
		g_message("notification not shown: %s", err->message);
	} else if (s->question) {
		guint32 note;
		g_variant_get(r, "(u)", &note);
		gpointer key = GUINT_TO_POINTER(s->question);
		if (g_hash_table_contains(n->by_question, key)) {
			g_hash_table_insert(n->by_question, key,
					    GUINT_TO_POINTER(note));
			g_hash_table_insert(n->by_note, GUINT_TO_POINTER(note),
					    key);
		} else {
			/* answered or cancelled meanwhile */
			g_dbus_connection_call(
				n->bus, NOTIFY_NAME, NOTIFY_PATH, NOTIFY_NAME,
				"CloseNotification",
				g_variant_new("(u)", note), NULL,
				G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL, NULL);
		}
	}
	g_free(s);
}

static void send(struct qt_notify *n, const char *summary, const char *body,
		 GVariant *actions, uint8_t urgency, int timeout_ms,
		 uint32_t question)
{
	g_autofree char *b = n->markup ? qt_markup_escape(body)
				       : g_strdup(body);
	GVariantBuilder hints;

	g_message("notification: %s: %s", summary, body);
	if (!n->up) {
		if (actions)
			g_variant_unref(g_variant_ref_sink(actions));
		return;
	}
	g_variant_builder_init(&hints, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&hints, "{sv}", "urgency",
			      g_variant_new_byte(urgency));
	g_variant_builder_add(&hints, "{sv}", "desktop-entry",
			      g_variant_new_string("qmgr-tray"));
	if (!actions)
		actions = g_variant_new_strv(NULL, 0);
	struct sent *s = g_new0(struct sent, 1);
	s->n = n;
	s->question = question;
	n->in_flight++;
	g_dbus_connection_call(
		n->bus, NOTIFY_NAME, NOTIFY_PATH, NOTIFY_NAME, "Notify",
		g_variant_new("(susss@asa{sv}i)", "qmgr", 0u, "", summary, b,
			      actions, &hints, timeout_ms),
		G_VARIANT_TYPE("(u)"), G_DBUS_CALL_FLAGS_NONE, 5000, NULL,
		sent_done, s);
}

static void summary_notice(struct qt_notify *n, unsigned int k)
{
	g_autofree char *body = g_strdup_printf(
		"%u more event%s in the last %d s (see qvm-ls and the tray "
		"menu)", k, k == 1 ? "" : "s",
		(int)(WINDOW_US / G_USEC_PER_SEC));
	send(n, "qmgr: more events", body, NULL, 1, -1, 0);
}

static gboolean flush_cb(gpointer data)
{
	struct qt_notify *n = data;
	unsigned int k = qt_ratelimit_flush(&n->rl, g_get_monotonic_time());

	n->flush_id = 0;
	if (k)
		summary_notice(n, k);
	return G_SOURCE_REMOVE;
}

void qt_notify_event(struct qt_notify *n, const char *summary,
		     const char *body)
{
	unsigned int k;
	bool pass = qt_ratelimit_take(&n->rl, g_get_monotonic_time(), &k);

	if (k)
		summary_notice(n, k);
	if (pass) {
		send(n, summary, body, NULL, 1, -1, 0);
		return;
	}
	g_message("notification suppressed (rate limit): %s: %s", summary,
		  body);
	if (!n->flush_id)
		n->flush_id = g_timeout_add(WINDOW_US / 1000 + 100, flush_cb,
					    n);
}

void qt_notify_question(struct qt_notify *n, const struct qt_question *q)
{
	g_autofree char *src = qt_sanitize(q->source, 32);
	g_autofree char *svc = qt_sanitize(q->service, QT_TEXT_MAX);
	g_autofree char *arg = qt_sanitize(q->argument, QT_TEXT_MAX);
	int64_t left = (q->deadline - g_get_monotonic_time()) / 1000;
	GVariantBuilder acts;

	g_variant_builder_init(&acts, G_VARIANT_TYPE("as"));
	if (n->actions) {
		for (char **t = q->targets; t && *t; t++) {
			g_autofree char *key = g_strconcat("t:", *t, NULL);
			g_autofree char *tn = qt_sanitize(*t, 64);
			g_autofree char *label = g_strdup_printf(
				"Allow to %s", tn);
			g_variant_builder_add(&acts, "s", key);
			g_variant_builder_add(&acts, "s", label);
		}
		g_variant_builder_add(&acts, "s", "deny");
		g_variant_builder_add(&acts, "s", "Deny");
	}
	GString *targets = g_string_new(NULL);
	for (char **t = q->targets; t && *t; t++) {
		g_autofree char *tn = qt_sanitize(*t, 64);
		g_string_append_printf(targets, "%s%s", targets->len ? ", " : "",
				       tn);
	}
	g_autofree char *tl = g_string_free(targets, false);
	g_autofree char *body = g_strdup_printf(
		"qube: %s\nservice: %s\nargument: %s\ntargets: %s\n"
		"Choose in the tray's Requests menu%s; no answer denies.",
		src, svc, strcmp(arg, "+") == 0 || !*arg ? "(none)" : arg, tl,
		n->actions ? " or here" : "");
	g_autofree char *summary = g_strdup_printf("%s asks to call %s", src,
						   svc);
	g_hash_table_insert(n->by_question, GUINT_TO_POINTER(q->id), NULL);
	/* Questions are capped by qmgrd (32 open); not rate limited, as an
	 * unseen question is a denied call. */
	send(n, summary, body, g_variant_builder_end(&acts), 2,
	     (int)CLAMP(left, 1000, 3600 * 1000), q->id);
}

void qt_notify_question_done(struct qt_notify *n, uint32_t question)
{
	gpointer note;

	if (!g_hash_table_steal_extended(n->by_question,
					 GUINT_TO_POINTER(question), NULL,
					 &note))
		return;
	if (!note)
		return;    /* sent_done will close it */
	g_hash_table_remove(n->by_note, note);
	g_dbus_connection_call(n->bus, NOTIFY_NAME, NOTIFY_PATH, NOTIFY_NAME,
			       "CloseNotification",
			       g_variant_new("(u)", GPOINTER_TO_UINT(note)),
			       NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL,
			       NULL);
}
