/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The connection to qmgrd's admin socket (docs/admin-api.md), on the GLib
 * main loop: connect, exchange HELLO, make calls whose replies come back
 * to callbacks, pass events on, and reconnect with backoff when qmgrd goes
 * away (it is restarted, or not up yet).  The tools' client library is
 * blocking; the proxy must never wait for qmgrd, so it uses the shared
 * asynchronous message connection (common/conn.h) instead.
 *
 * qmgrd is trusted (it decides what the proxy shows), but its messages are
 * still only read through typed GVariant lookups: the wire decoder checked
 * their framing and payload types.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <gio/gio.h>

#include "conn.h"
#include "proxy.h"

#define BACKOFF_MIN_MS 100u
#define BACKOFF_MAX_MS 2000u

struct pending_call {
	gp_admin_reply_fn fn;
	void *data;
	GDestroyNotify destroy;
};

struct gp_admin {
	char *path;
	struct qm_conn *conn;
	bool hello;                   /* qmgrd answered our HELLO */
	bool quiet;                   /* the last failure is logged already */
	guint retry_id;
	unsigned int backoff_ms;
	uint32_t next_id;
	GHashTable *calls;            /* id -> struct pending_call */
	const struct gp_admin_listener *listener;
	void *listener_data;
};

static void admin_connect(struct gp_admin *a);

static void pending_free(struct pending_call *p)
{
	if (p->destroy)
		p->destroy(p->data);
	g_free(p);
}

struct gp_admin *gp_admin_create(const char *path)
{
	struct gp_admin *a = g_new0(struct gp_admin, 1);

	a->path = g_strdup(path);
	a->backoff_ms = BACKOFF_MIN_MS;
	a->next_id = 1;
	a->calls = g_hash_table_new_full(NULL, NULL, NULL,
					 (GDestroyNotify)pending_free);
	return a;
}

void gp_admin_set_listener(struct gp_admin *a,
			   const struct gp_admin_listener *listener,
			   void *data)
{
	a->listener = listener;
	a->listener_data = data;
}

/* Every call in flight fails: its answer will never come. */
static void fail_calls(struct gp_admin *a, const char *why)
{
	g_autoptr(GHashTable) calls = a->calls;
	GHashTableIter it;
	gpointer value;

	a->calls = g_hash_table_new_full(NULL, NULL, NULL,
					 (GDestroyNotify)pending_free);
	g_autoptr(GError) err = g_error_new(G_IO_ERROR, G_IO_ERROR_CLOSED,
					    "%s", why);
	g_hash_table_iter_init(&it, calls);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct pending_call *p = value;

		p->fn(NULL, err, p->data);
	}
}

void gp_admin_destroy(struct gp_admin *a)
{
	if (!a)
		return;
	if (a->retry_id)
		g_source_remove(a->retry_id);
	qm_conn_destroy(a->conn);
	a->conn = NULL;
	a->listener = NULL;
	fail_calls(a, "gui-proxy is exiting");
	g_hash_table_destroy(a->calls);
	g_free(a->path);
	g_free(a);
}

static gboolean retry_cb(gpointer data)
{
	struct gp_admin *a = data;

	a->retry_id = 0;
	admin_connect(a);
	return G_SOURCE_REMOVE;
}

static void schedule_retry(struct gp_admin *a)
{
	if (a->retry_id)
		return;
	a->retry_id = g_timeout_add(a->backoff_ms, retry_cb, a);
	a->backoff_ms = MIN(a->backoff_ms * 2, BACKOFF_MAX_MS);
}

/* The connection is over (qmgrd went away or misbehaved): fail what is in
 * flight, tell the listener, and try again later. */
static void drop(struct gp_admin *a, const char *why)
{
	bool was_up = a->hello;

	if (!a->conn)
		return;
	/* Deferred by qm_conn when called from one of its callbacks. */
	qm_conn_destroy(a->conn);
	a->conn = NULL;
	a->hello = false;
	if (was_up)
		g_message("lost qmgrd at %s: %s; reconnecting", a->path, why);
	else if (!a->quiet)
		g_message("qmgrd at %s: %s; retrying", a->path, why);
	a->quiet = true;
	fail_calls(a, why);
	if (was_up && a->listener && a->listener->lost)
		a->listener->lost(a->listener_data);
	schedule_retry(a);
}

static void on_reply(struct gp_admin *a, GVariant *payload)
{
	guint32 id;
	gboolean ok;
	const char *message;
	g_autoptr(GVariant) result = NULL;
	gpointer value;

	g_variant_get(payload, "(ub&s@a{sv})", &id, &ok, &message, &result);
	if (!g_hash_table_steal_extended(a->calls, GUINT_TO_POINTER(id), NULL,
					 &value)) {
		drop(a, "it answered a call that was not made");
		return;
	}
	struct pending_call *p = value;
	if (ok) {
		p->fn(result, NULL, p->data);
	} else {
		const char *code = "";
		g_variant_lookup(result, "code", "&s", &code);
		g_autoptr(GError) err = g_error_new(
			G_IO_ERROR, G_IO_ERROR_FAILED, "%s%s%s%s",
			*message ? message : "refused without saying why",
			*code ? " (" : "", code, *code ? ")" : "");
		p->fn(NULL, err, p->data);
	}
	pending_free(p);
}

static void on_message(struct qm_conn *conn, struct qm_wire_msg *msg,
		       void *data)
{
	struct gp_admin *a = data;

	if (!a->hello) {
		guint32 version;

		if (msg->type != QM_MSG_HELLO) {
			drop(a, "its first message is not HELLO");
			return;
		}
		g_variant_get(msg->payload, "(u&s)", &version, NULL);
		a->hello = true;
		a->quiet = false;
		a->backoff_ms = BACKOFF_MIN_MS;
		g_message("connected to qmgrd at %s (protocol version %u)",
			  a->path, version);
		if (a->listener && a->listener->ready)
			a->listener->ready(a->listener_data);
		return;
	}
	switch (msg->type) {
	case QM_MSG_REPLY:
		on_reply(a, msg->payload);
		break;
	case QM_MSG_EVENT: {
		const char *event, *vm;
		g_autoptr(GVariant) props = NULL;

		g_variant_get(msg->payload, "(&s&s@a{sv})", &event, &vm,
			      &props);
		if (a->listener && a->listener->event)
			a->listener->event(event, vm, props,
					   a->listener_data);
		break;
	}
	default:
		drop(a, "it sent an unexpected message type");
		break;
	}
}

static void on_closed(struct qm_conn *conn, const GError *why, void *data)
{
	struct gp_admin *a = data;

	/* qmgrd closes at once on peers it does not admit. */
	drop(a, a->hello ? (why ? why->message : "closed")
			 : "it closed the connection before HELLO (only root "
			   "and members of group qmgr may use it)");
}

static void admin_connect(struct gp_admin *a)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(a->path) >= sizeof(addr.sun_path)) {
		g_warning("qmgrd's admin socket path %s is too long for a "
			  "unix socket", a->path);
		return;
	}
	strcpy(addr.sun_path, a->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 ||
	    connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int err = errno;

		if (fd >= 0)
			close(fd);
		if (!a->quiet)
			g_message("cannot reach qmgrd at %s: %s (%s); retrying",
				  a->path, g_strerror(err),
				  err == EACCES ? "only root and members of "
						  "group qmgr may use it"
						: "is qmgrd running?");
		a->quiet = true;
		schedule_retry(a);
		return;
	}
	a->conn = qm_conn_create(fd, "qmgrd", on_message, on_closed, a, NULL);
	qm_conn_send(a->conn, QM_MSG_HELLO, 0,
		     g_variant_new("(us)", (guint32)QM_WIRE_VERSION,
				   "gui-proxy " QMGR_VERSION));
}

void gp_admin_start(struct gp_admin *a)
{
	admin_connect(a);
}

bool gp_admin_is_up(const struct gp_admin *a)
{
	return a && a->conn && a->hello;
}

bool gp_admin_call(struct gp_admin *a, const char *method, const char *vm,
		   GVariant *args, gp_admin_reply_fn fn, void *data,
		   GDestroyNotify destroy)
{
	if (args == NULL)
		args = g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0);
	g_variant_ref_sink(args);
	if (!gp_admin_is_up(a)) {
		g_variant_unref(args);
		if (destroy)
			destroy(data);
		return false;
	}
	uint32_t id = a->next_id++;
	if (a->next_id == 0)
		a->next_id = 1;
	struct pending_call *p = g_new0(struct pending_call, 1);
	p->fn = fn;
	p->data = data;
	p->destroy = destroy;
	g_hash_table_insert(a->calls, GUINT_TO_POINTER(id), p);
	qm_conn_send(a->conn, QM_MSG_REQUEST, 0,
		     g_variant_new("(uss@a{sv})", id, method, vm ? vm : "",
				   args));
	g_variant_unref(args);
	return true;
}
