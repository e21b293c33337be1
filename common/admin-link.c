/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A long-lived client of qmgrd's admin socket on the GLib main loop
 * (admin-link.h). */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <gio/gio.h>

#include "admin-link.h"
#include "conn.h"

#define BACKOFF_MIN_MS 100u
#define BACKOFF_MAX_MS 2000u

struct pending_call {
	qm_admin_reply_fn fn;
	void *data;
	GDestroyNotify destroy;
};

struct qm_admin_link {
	char *path;
	char *software;      /* ours, in HELLO and messages */
	struct qm_conn *conn;
	bool hello;
	bool quiet;          /* the current failure is logged already */
	guint retry_id;
	unsigned int backoff_ms;
	uint32_t next_id;
	GHashTable *calls;   /* id -> struct pending_call */
	const struct qm_admin_link_listener *listener;
	void *data;
};

static void link_connect(struct qm_admin_link *l);

static void pending_free(struct pending_call *p)
{
	if (p->destroy)
		p->destroy(p->data);
	g_free(p);
}

static GHashTable *calls_new(void)
{
	return g_hash_table_new_full(NULL, NULL, NULL,
				     (GDestroyNotify)pending_free);
}

struct qm_admin_link *qm_admin_link_create(const char *path,
					   const char *software)
{
	struct qm_admin_link *l = g_new0(struct qm_admin_link, 1);

	l->path = g_strdup(path);
	l->software = g_strdup(software);
	l->backoff_ms = BACKOFF_MIN_MS;
	l->next_id = 1;
	l->calls = calls_new();
	return l;
}

void qm_admin_link_set_listener(struct qm_admin_link *l,
				const struct qm_admin_link_listener *listener,
				void *data)
{
	l->listener = listener;
	l->data = data;
}

static void fail_calls(struct qm_admin_link *l, const char *why)
{
	g_autoptr(GHashTable) calls = l->calls;
	GHashTableIter it;
	gpointer value;
	g_autoptr(GError) err = g_error_new(G_IO_ERROR, G_IO_ERROR_CLOSED,
					    "%s", why);

	l->calls = calls_new();
	g_hash_table_iter_init(&it, calls);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct pending_call *p = value;
		if (p->fn)
			p->fn(NULL, err, p->data);
	}
}

void qm_admin_link_destroy(struct qm_admin_link *l)
{
	if (!l)
		return;
	if (l->retry_id)
		g_source_remove(l->retry_id);
	qm_conn_destroy(l->conn);
	l->conn = NULL;
	l->listener = NULL;
	g_autofree char *why = g_strdup_printf("%s is exiting", l->software);
	fail_calls(l, why);
	g_hash_table_destroy(l->calls);
	g_free(l->path);
	g_free(l->software);
	g_free(l);
}

static gboolean retry_cb(gpointer data)
{
	struct qm_admin_link *l = data;

	l->retry_id = 0;
	link_connect(l);
	return G_SOURCE_REMOVE;
}

static void schedule_retry(struct qm_admin_link *l)
{
	if (l->retry_id)
		return;
	l->retry_id = g_timeout_add(l->backoff_ms, retry_cb, l);
	l->backoff_ms = MIN(l->backoff_ms * 2, BACKOFF_MAX_MS);
}

static void drop(struct qm_admin_link *l, const char *why)
{
	bool was_up = l->hello;
	/* told once per outage: when it began, or when the first attempt
	 * failed (e.g. qmgrd refused a user not in group qmgr) */
	bool tell = was_up || !l->quiet;

	if (!l->conn)
		return;
	qm_conn_destroy(l->conn);   /* deferred inside qm_conn callbacks */
	l->conn = NULL;
	l->hello = false;
	if (tell)
		g_message("qmgrd at %s: %s; reconnecting", l->path, why);
	l->quiet = true;
	fail_calls(l, why);
	if (tell && l->listener && l->listener->lost)
		l->listener->lost(why, l->data);
	schedule_retry(l);
}

static void on_reply(struct qm_admin_link *l, GVariant *payload)
{
	guint32 id;
	gboolean ok;
	const char *message;
	g_autoptr(GVariant) result = NULL;
	gpointer value;

	g_variant_get(payload, "(ub&s@a{sv})", &id, &ok, &message, &result);
	if (!g_hash_table_steal_extended(l->calls, GUINT_TO_POINTER(id), NULL,
					 &value)) {
		drop(l, "it answered a call that was not made");
		return;
	}
	struct pending_call *p = value;
	if (p->fn) {
		if (ok) {
			p->fn(result, NULL, p->data);
		} else {
			/* The code in the message, as gui-proxy/admin.c
			 * does: "... (NotFound)". */
			const char *code = "";
			g_variant_lookup(result, "code", "&s", &code);
			g_autoptr(GError) err = g_error_new(
				G_IO_ERROR, G_IO_ERROR_FAILED, "%s%s%s%s",
				*message ? message
					 : "refused without saying why",
				*code ? " (" : "", code, *code ? ")" : "");
			p->fn(NULL, err, p->data);
		}
	}
	pending_free(p);
}

static void on_message(struct qm_conn *conn, struct qm_wire_msg *msg,
		       void *data)
{
	struct qm_admin_link *l = data;

	if (!l->hello) {
		if (msg->type != QM_MSG_HELLO) {
			drop(l, "its first message is not HELLO");
			return;
		}
		guint32 version;
		g_variant_get(msg->payload, "(u&s)", &version, NULL);
		l->hello = true;
		l->quiet = false;
		l->backoff_ms = BACKOFF_MIN_MS;
		g_message("connected to qmgrd at %s (protocol version %u)",
			  l->path, version);
		if (l->listener && l->listener->ready)
			l->listener->ready(l->data);
		return;
	}
	switch (msg->type) {
	case QM_MSG_REPLY:
		on_reply(l, msg->payload);
		break;
	case QM_MSG_EVENT: {
		const char *event, *vm;
		g_autoptr(GVariant) props = NULL;

		g_variant_get(msg->payload, "(&s&s@a{sv})", &event, &vm,
			      &props);
		if (l->listener && l->listener->event)
			l->listener->event(event, vm, props, l->data);
		break;
	}
	default:
		drop(l, "it sent an unexpected message type");
		break;
	}
}

static void on_closed(struct qm_conn *conn, const GError *why, void *data)
{
	struct qm_admin_link *l = data;

	drop(l, l->hello ? (why ? why->message : "closed")
			 : "it closed the connection before HELLO (only root "
			   "and members of group qmgr may use it)");
}

static void link_connect(struct qm_admin_link *l)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(l->path) >= sizeof(addr.sun_path)) {
		g_warning("qmgrd's admin socket path %s is too long", l->path);
		return;
	}
	strcpy(addr.sun_path, l->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 ||
	    connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int err = errno;

		if (fd >= 0)
			close(fd);
		if (!l->quiet) {
			g_autofree char *why = g_strdup_printf(
				"%s (%s)", g_strerror(err),
				err == EACCES ? "only root and members of "
						"group qmgr may use it"
					      : "is qmgrd running?");
			g_message("cannot reach qmgrd at %s: %s; retrying",
				  l->path, why);
			if (l->listener && l->listener->lost)
				l->listener->lost(why, l->data);
		}
		l->quiet = true;
		schedule_retry(l);
		return;
	}
	l->conn = qm_conn_create(fd, "qmgrd", on_message, on_closed, l, NULL);
	g_autofree char *hello = g_strdup_printf("%s %s", l->software,
						 QMGR_VERSION);
	qm_conn_send(l->conn, QM_MSG_HELLO, 0,
		     g_variant_new("(us)", (guint32)QM_WIRE_VERSION, hello));
}

void qm_admin_link_start(struct qm_admin_link *l)
{
	link_connect(l);
}

bool qm_admin_link_is_up(const struct qm_admin_link *l)
{
	return l && l->conn && l->hello;
}

bool qm_admin_link_call(struct qm_admin_link *l, const char *method,
			const char *vm, GVariant *args, qm_admin_reply_fn fn,
			void *data, GDestroyNotify destroy)
{
	if (args == NULL)
		args = g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0);
	g_variant_ref_sink(args);
	if (!qm_admin_link_is_up(l)) {
		g_variant_unref(args);
		if (destroy)
			destroy(data);
		return false;
	}
	uint32_t id = l->next_id++;
	if (l->next_id == 0)
		l->next_id = 1;
	struct pending_call *p = g_new0(struct pending_call, 1);
	p->fn = fn;
	p->data = data;
	p->destroy = destroy;
	g_hash_table_insert(l->calls, GUINT_TO_POINTER(id), p);
	qm_conn_send(l->conn, QM_MSG_REQUEST, 0,
		     g_variant_new("(uss@a{sv})", id, method, vm ? vm : "",
				   args));
	g_variant_unref(args);
	return true;
}
