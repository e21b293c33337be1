/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "admin.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conn.h"
#include "prompt.h"
#include "run.h"

#define PEERS_MAX 256

struct qm_peer {
	struct qm_admin *admin;
	struct qm_conn *conn;
	char *name;
	int refs;
	bool hello;
	bool subscribed;
};

struct qm_admin {
	struct qmgrd *d;
	int fd;
	guint source;
	GPtrArray *peers;      /* struct qm_peer * (owned refs) */
	gid_t group;           /* group "qmgr", or (gid_t)-1 */
};

struct qm_call {
	struct qm_peer *peer;  /* NULL for an internal call */
	guint32 id;
	char *method;
	char *vm;
	GVariant *args;
	/* internal calls: who made it, and where the answer goes */
	char *who;
	qm_call_done_fn done;
	void *done_data;
};

struct qm_call *qm_call_new_internal(const char *method, const char *vm,
				     GVariant *args, const char *who,
				     qm_call_done_fn done, void *data)
{
	struct qm_call *c = g_new0(struct qm_call, 1);
	c->method = g_strdup(method);
	c->vm = g_strdup(vm);
	c->args = g_variant_ref_sink(args);
	c->who = g_strdup(who);
	c->done = done;
	c->done_data = data;
	return c;
}

static struct qm_peer *peer_ref(struct qm_peer *p)
{
	p->refs++;
	return p;
}

static void peer_unref(struct qm_peer *p)
{
	if (p == NULL || --p->refs > 0)
		return;
	qm_conn_destroy(p->conn);
	g_free(p->name);
	g_free(p);
}

struct qm_peer *qm_peer_ref(struct qm_peer *p)
{
	return peer_ref(p);
}

void qm_peer_unref(struct qm_peer *p)
{
	peer_unref(p);
}

bool qm_peer_send(struct qm_peer *p, enum qm_msg_type type, guint32 stream,
		  GVariant *payload)
{
	return qm_conn_send(p->conn, type, stream, payload);
}

bool qm_peer_is_open(struct qm_peer *p)
{
	return p->conn != NULL && qm_conn_is_open(p->conn);
}

struct qm_peer *qm_call_peer(const struct qm_call *c)
{
	return c->peer;
}

static void peer_drop(struct qm_peer *p)
{
	/* The admin's reference goes; calls in flight keep theirs, and its
	 * commands are closed. */
	qm_run_client_gone(p->admin->d, p);
	qm_prompt_peer_gone(p->admin->d, p);
	if (p->conn)
		qm_conn_close(p->conn);
	if (g_ptr_array_remove(p->admin->peers, p))
		peer_unref(p);
}

/* ---- calls ---- */

const char *qm_call_method(const struct qm_call *c)
{
	return c->method;
}

const char *qm_call_vm(const struct qm_call *c)
{
	return c->vm;
}

GVariant *qm_call_args(const struct qm_call *c)
{
	return c->args;
}

static void call_free(struct qm_call *c)
{
	peer_unref(c->peer);
	g_free(c->who);
	g_free(c->method);
	g_free(c->vm);
	g_variant_unref(c->args);
	g_free(c);
}

static void send_reply(struct qm_call *c, bool ok, const char *error,
		       GVariant *result)
{
	if (result == NULL)
		result = g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0);
	GVariant *payload = g_variant_new("(ubs@a{sv})", c->id, ok, error,
					  result);
	if (c->done != NULL) {
		g_autoptr(GVariant) p = g_variant_ref_sink(payload);
		g_autoptr(GVariant) r = g_variant_get_child_value(p, 3);
		c->done(ok, error, r, c->done_data);
	} else if (qm_conn_is_open(c->peer->conn))
		qm_conn_send(c->peer->conn, QM_MSG_REPLY, 0, payload);
	else
		g_variant_unref(g_variant_take_ref(payload));
	call_free(c);
}

void qm_call_reply(struct qm_call *c, GVariant *result)
{
	send_reply(c, true, "", result);
}

void qm_call_fail(struct qm_call *c, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	GVariantDict dict;
	g_variant_dict_init(&dict, NULL);
	g_variant_dict_insert(&dict, "code", "s", code);
	g_message("%s %s for %s: %s", c->method, c->vm,
		  c->peer ? c->peer->name : c->who, msg);
	send_reply(c, false, msg, g_variant_dict_end(&dict));
}

void qm_call_subscribe(struct qm_call *c)
{
	c->peer->subscribed = true;
	qm_call_reply(c, NULL);
}

void qm_admin_emit(struct qm_admin *admin, const char *event, const char *vm,
		   GVariant *properties)
{
	if (properties == NULL)
		properties = g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL,
						 0);
	g_autoptr(GVariant) payload = g_variant_ref_sink(
		g_variant_new("(ss@a{sv})", event, vm, properties));
	if (admin == NULL)
		return;
	for (guint i = 0; i < admin->peers->len; i++) {
		struct qm_peer *p = g_ptr_array_index(admin->peers, i);
		if (p->subscribed && qm_conn_is_open(p->conn))
			qm_conn_send(p->conn, QM_MSG_EVENT, 0,
				     g_variant_ref(payload));
	}
}

bool qm_peer_emit(struct qm_peer *p, const char *event, const char *vm,
		  GVariant *properties)
{
	if (properties == NULL)
		properties = g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL,
						 0);
	GVariant *payload = g_variant_new("(ss@a{sv})", event, vm,
					  properties);
	if (!qm_peer_is_open(p)) {
		g_variant_unref(g_variant_ref_sink(payload));
		return false;
	}
	return qm_conn_send(p->conn, QM_MSG_EVENT, 0, payload);
}

const char *qm_peer_name(const struct qm_peer *p)
{
	return p->name;
}

/* ---- messages from a client ---- */

static void on_message(struct qm_conn *conn, struct qm_wire_msg *msg,
		       void *data)
{
	struct qm_peer *p = data;

	if (!p->hello) {
		if (msg->type != QM_MSG_HELLO) {
			g_message("%s: first message is not HELLO; dropping",
				  p->name);
			peer_drop(p);
			return;
		}
		guint32 version;
		g_variant_get(msg->payload, "(u&s)", &version, NULL);
		if (version < QM_WIRE_VERSION_1) {
			g_message("%s: protocol version %u unsupported",
				  p->name, version);
			peer_drop(p);
			return;
		}
		p->hello = true;
		qm_conn_send(conn, QM_MSG_HELLO, 0,
			     g_variant_new("(us)", QM_WIRE_VERSION,
					   "qmgrd " QMGR_VERSION));
		return;
	}
	if (msg->stream != 0) {
		GError *err = NULL;
		if (!qm_run_from_client(p->admin->d, p, msg, &err)) {
			g_message("%s: %s; dropping", p->name, err->message);
			g_error_free(err);
			peer_drop(p);
		}
		return;
	}
	if (msg->type != QM_MSG_REQUEST) {
		g_message("%s: unexpected message type %d; dropping", p->name,
			  msg->type);
		peer_drop(p);
		return;
	}
	struct qm_call *c = g_new0(struct qm_call, 1);
	c->peer = peer_ref(p);
	g_variant_get(msg->payload, "(uss@a{sv})", &c->id, &c->method, &c->vm,
		      &c->args);
	qm_admin_dispatch(p->admin->d, c);
}

static void on_closed(struct qm_conn *conn, const GError *why, void *data)
{
	struct qm_peer *p = data;
	if (why && !g_error_matches(why, G_IO_ERROR, G_IO_ERROR_CLOSED))
		g_message("admin client %s dropped: %s", p->name,
			  why->message);
	peer_drop(p);
}

/* root, qmgrd's own user, or a member of group qmgr. */
static bool peer_allowed(struct qm_admin *a, uid_t uid, gid_t gid)
{
	if (uid == 0 || uid == geteuid())
		return true;
	if (a->group == (gid_t)-1)
		return false;
	if (gid == a->group)
		return true;
	struct passwd *pw = getpwuid(uid);
	if (pw == NULL)
		return false;
	int n = 64;
	gid_t groups[64];
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
		return false;
	for (int i = 0; i < n; i++)
		if (groups[i] == a->group)
			return true;
	return false;
}

static gboolean on_accept(int fd, GIOCondition cond, gpointer data)
{
	struct qm_admin *a = data;
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (cfd < 0)
		return G_SOURCE_CONTINUE;

	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    !peer_allowed(a, cred.uid, cred.gid)) {
		g_message("refusing admin client uid %d: not root nor in "
			  "group qmgr", (int)cred.uid);
		close(cfd);
		return G_SOURCE_CONTINUE;
	}
	if (a->peers->len >= PEERS_MAX) {
		g_message("refusing admin client pid %d: too many clients",
			  (int)cred.pid);
		close(cfd);
		return G_SOURCE_CONTINUE;
	}
	struct qm_peer *p = g_new0(struct qm_peer, 1);
	p->admin = a;
	p->refs = 1;
	p->name = g_strdup_printf("client pid %d uid %d", (int)cred.pid,
				  (int)cred.uid);
	p->conn = qm_conn_create(cfd, p->name, on_message, on_closed, p, NULL);
	g_ptr_array_add(a->peers, p);
	return G_SOURCE_CONTINUE;
}

struct qm_admin *qm_admin_create(struct qmgrd *d, GError **error)
{
	const char *path = d->paths.socket;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FILENAME_TOO_LONG,
			    "socket path %s is too long (use a shorter --root)",
			    path);
		return NULL;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			0);
	if (fd < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "socket: %s", g_strerror(errno));
		return NULL;
	}
	/* A socket left by a previous qmgrd: only replace it if nobody
	 * answers on it, so two daemons never share one root. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
			    "another qmgrd is already serving %s", path);
		return NULL;
	}
	unlink(path);
	mode_t old = umask(0117);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || listen(fd, 64) < 0) {
		int err = errno;
		close(fd);
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err),
			    "cannot listen on %s: %s", path, g_strerror(err));
		return NULL;
	}

	struct qm_admin *a = g_new0(struct qm_admin, 1);
	a->d = d;
	a->fd = fd;
	a->peers = g_ptr_array_new();
	struct group *gr = getgrnam("qmgr");
	a->group = gr ? gr->gr_gid : (gid_t)-1;
	if (gr != NULL && chown(path, (uid_t)-1, gr->gr_gid) < 0)
		g_warning("cannot give %s to group qmgr: %s", path,
			  g_strerror(errno));
	chmod(path, 0660);
	a->source = g_unix_fd_add(fd, G_IO_IN, on_accept, a);
	return a;
}

void qm_admin_destroy(struct qm_admin *a)
{
	if (a == NULL)
		return;
	g_source_remove(a->source);
	close(a->fd);
	unlink(a->d->paths.socket);
	while (a->peers->len > 0)
		peer_drop(g_ptr_array_index(a->peers, 0));
	g_ptr_array_free(a->peers, TRUE);
	g_free(a);
}
