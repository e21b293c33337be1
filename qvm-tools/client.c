/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "client.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client-private.h"
#include "wire.h"

/* qmgrd answers HELLO at once; longer means it is wedged or not qmgrd. */
#define HELLO_TIMEOUT_MS 10000

G_DEFINE_QUARK(qm-client-error, qm_client_error)

static const struct {
	const char *name;
	enum qm_client_error code;
} daemon_codes[] = {
	{ "NotFound", QM_CLIENT_ERROR_NOT_FOUND },
	{ "Exists", QM_CLIENT_ERROR_EXISTS },
	{ "Invalid", QM_CLIENT_ERROR_INVALID },
	{ "State", QM_CLIENT_ERROR_STATE },
	{ "InUse", QM_CLIENT_ERROR_IN_USE },
	{ "Libvirt", QM_CLIENT_ERROR_LIBVIRT },
	{ "Timeout", QM_CLIENT_ERROR_TIMEOUT },
	{ "Denied", QM_CLIENT_ERROR_DENIED },
	{ "Internal", QM_CLIENT_ERROR_INTERNAL },
};

const char *qm_client_error_code_name(int code)
{
	for (size_t i = 0; i < G_N_ELEMENTS(daemon_codes); i++)
		if ((int)daemon_codes[i].code == code)
			return daemon_codes[i].name;
	return NULL;
}

static enum qm_client_error code_from_name(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(daemon_codes); i++)
		if (strcmp(daemon_codes[i].name, name) == 0)
			return daemon_codes[i].code;
	return QM_CLIENT_ERROR_OTHER;
}

static const char *env_root(void)
{
	const char *root = g_getenv("QMGR_ROOT");
	return root != NULL && *root != '\0' ? root : NULL;
}

char *qm_client_socket_path(void)
{
	const char *root = env_root();
	if (root != NULL)
		return g_build_filename(root, "run", "qmgr", "qmgrd.sock",
					NULL);
	return g_build_filename(QMGR_RUNDIR, "qmgr", "qmgrd.sock", NULL);
}

/* What to do about a failed connection, given its errno. */
static char *unreachable_hint(int err)
{
	if (err == EACCES || err == EPERM)
		return g_strdup("only root and members of group qmgr may use "
				"it");
	if (err == ENAMETOOLONG)
		return g_strdup("the path is too long for a Unix socket: use "
				"a shorter QMGR_ROOT");
	const char *root = env_root();
	if (root != NULL) {
		/* quoted only when the shell needs it, to stay readable */
		bool plain = strspn(root, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "abcdefghijklmnopqrstuvwxyz0123456789"
				    "/._-+,:=@%") == strlen(root);
		g_autofree char *q = plain ? g_strdup(root)
					   : g_shell_quote(root);
		return g_strdup_printf("is qmgrd running? start it with: "
				       "qmgrd --root %s", q);
	}
	return g_strdup("is qmgrd running? start it with: qmgrd");
}

static void set_unreachable(GError **error, const char *path, int err)
{
	g_autofree char *hint = unreachable_hint(err);
	g_set_error(error, QM_CLIENT_ERROR, QM_CLIENT_ERROR_UNREACHABLE,
		    "cannot reach qmgrd at %s: %s (%s)", path,
		    g_strerror(err), hint);
}

void qm_client_destroy(struct qm_client *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	if (c->event_destroy)
		c->event_destroy(c->event_data);
	g_queue_clear_full(&c->events, (GDestroyNotify)g_variant_unref);
	g_hash_table_destroy(c->streams);
	g_hash_table_destroy(c->ended);
	g_hash_table_destroy(c->replies);
	g_hash_table_destroy(c->outstanding);
	g_byte_array_unref(c->in);
	g_free(c->path);
	g_free(c);
}

static bool write_all(struct qm_client *c, GBytes *bytes, GError **error)
{
	gsize size;
	const uint8_t *p = g_bytes_get_data(bytes, &size);

	while (size > 0) {
		/* MSG_NOSIGNAL: a vanished daemon is an error, not SIGPIPE */
		ssize_t n = send(c->fd, p, size, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE || errno == ECONNRESET)
				c->closed = true;
			g_set_error(error, QM_CLIENT_ERROR,
				    QM_CLIENT_ERROR_PROTOCOL,
				    "lost the connection to qmgrd at %s: %s",
				    c->path, g_strerror(errno));
			return false;
		}
		p += n;
		size -= (gsize)n;
	}
	return true;
}

static bool send_msg(struct qm_client *c, enum qm_msg_type type,
		     GVariant *payload, GError **error)
{
	g_autoptr(GBytes) bytes = qm_wire_encode(type, 0, payload);
	if (bytes == NULL) {
		g_set_error(error, QM_CLIENT_ERROR, QM_CLIENT_ERROR_INVALID,
			    "the request is too large to send");
		return false;
	}
	return write_all(c, bytes, error);
}

/* Milliseconds left until `deadline` (monotonic µs; -1: none) for poll(). */
static int ms_left(gint64 deadline)
{
	if (deadline < 0)
		return -1;
	gint64 left = deadline - g_get_monotonic_time();
	if (left <= 0)
		return 0;
	return (int)MIN((left + 999) / 1000, G_MAXINT);
}

static bool decode_error(struct qm_client *c, GError *err, GError **error)
{
	g_set_error(error, QM_CLIENT_ERROR, QM_CLIENT_ERROR_PROTOCOL,
		    "qmgrd at %s sent an invalid message (%s); is it the same "
		    "version as this tool?", c->path, err->message);
	g_error_free(err);
	return false;
}

/*
 * Reads the next whole message.  The decoder checks framing, type, size and
 * the payload's type and normal form; what the message means is checked by
 * the caller.
 */
static bool read_msg(struct qm_client *c, gint64 deadline,
		     struct qm_wire_msg *msg, GError **error)
{
	for (;;) {
		size_t used = 0;
		GError *err = NULL;
		enum qm_wire_status st = qm_wire_decode(c->in->data,
							c->in->len, &used,
							msg, &err);
		if (st == QM_WIRE_OK) {
			g_byte_array_remove_range(c->in, 0, (guint)used);
			return true;
		}
		if (st == QM_WIRE_ERROR)
			return decode_error(c, err, error);

		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		int r = poll(&pfd, 1, ms_left(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			g_set_error(error, QM_CLIENT_ERROR,
				    QM_CLIENT_ERROR_NO_ANSWER,
				    "qmgrd at %s did not answer in time",
				    c->path);
			return false;
		}
		uint8_t buf[16384];
		ssize_t n = read(c->fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			c->closed = true;
			g_set_error(error, QM_CLIENT_ERROR,
				    QM_CLIENT_ERROR_PROTOCOL,
				    "qmgrd at %s closed the connection%s%s",
				    c->path, n < 0 ? ": " : "",
				    n < 0 ? g_strerror(errno) : "");
			return false;
		}
		g_byte_array_append(c->in, buf, (guint)n);
	}
}

bool qm_client_protocol_error(struct qm_client *c, GError **error,
			      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, QM_CLIENT_ERROR, QM_CLIENT_ERROR_PROTOCOL,
		    "qmgrd at %s broke the protocol: %s", c->path, what);
	return false;
}
#define protocol_error qm_client_protocol_error

static void stream_msg_free(struct qm_wire_msg *msg)
{
	qm_wire_msg_clear(msg);
	g_free(msg);
}

static void stream_free(struct qm_client_stream *s)
{
	g_queue_clear_full(&s->pending, (GDestroyNotify)stream_msg_free);
	g_free(s);
}

struct qm_client_stream *qm_client_stream_get(struct qm_client *c,
					      uint32_t id, GError **error)
{
	struct qm_client_stream *s =
		g_hash_table_lookup(c->streams, GUINT_TO_POINTER(id));
	if (s != NULL)
		return s;
	/* qmgrd opens no more per connection than it runs per qube */
	if (g_hash_table_size(c->streams) >= QM_STREAMS_MAX) {
		protocol_error(c, error, "more than %d open streams",
			       QM_STREAMS_MAX);
		return NULL;
	}
	s = g_new0(struct qm_client_stream, 1);
	s->id = id;
	g_queue_init(&s->pending);
	s->may[1] = s->may[2] = QM_WINDOW_INITIAL;
	s->stdin_credit = QM_WINDOW_INITIAL;
	g_hash_table_insert(c->streams, GUINT_TO_POINTER(id), s);
	return s;
}

void qm_client_stream_end(struct qm_client *c, struct qm_client_stream *s)
{
	g_hash_table_add(c->ended, GUINT_TO_POINTER(s->id));
	g_hash_table_remove(c->streams, GUINT_TO_POINTER(s->id));
}

/*
 * Files a stream message for its relay, checking what this side can: the
 * direction of each fd and that output stays within the credit this side
 * granted, which bounds what is buffered.
 */
static bool take_stream_msg(struct qm_client *c, struct qm_wire_msg *msg,
			    GError **error)
{
	guint32 fd;

	if (c->version < QM_WIRE_VERSION_2)
		return protocol_error(c, error, "a stream message in protocol "
					       "version %u", c->version);
	if (msg->stream == 0)
		return protocol_error(c, error, "a stream message on stream 0");
	/* Messages that crossed our CLOSE, or that follow the end. */
	if (g_hash_table_contains(c->ended, GUINT_TO_POINTER(msg->stream)))
		return true;
	struct qm_client_stream *s = qm_client_stream_get(c, msg->stream,
							  error);
	if (s == NULL)
		return false;
	switch (msg->type) {
	case QM_MSG_DATA: {
		g_autoptr(GVariant) data = NULL;
		g_variant_get(msg->payload, "(u@ay)", &fd, &data);
		gsize len = g_variant_get_size(data);
		if (fd != 1 && fd != 2)
			return protocol_error(c, error, "stream %u: data on "
					      "fd %u", s->id, fd);
		if (len > s->may[fd])
			return protocol_error(c, error, "stream %u: %zu bytes "
					      "on fd %u past the credit of "
					      "%" G_GUINT64_FORMAT, s->id, len,
					      fd, s->may[fd]);
		s->may[fd] -= len;
		break;
	}
	case QM_MSG_EOF:
		/* EOF of fd 0: the command takes no more input */
		g_variant_get(msg->payload, "(u)", &fd);
		if (fd > 2)
			return protocol_error(c, error, "stream %u: EOF of fd "
					      "%u", s->id, fd);
		break;
	case QM_MSG_WINDOW:
		g_variant_get(msg->payload, "(uu)", &fd, NULL);
		if (fd != 0)
			return protocol_error(c, error, "stream %u: WINDOW "
					      "for fd %u", s->id, fd);
		break;
	default:   /* EXIT, CLOSE */
		break;
	}
	struct qm_wire_msg *copy = g_new0(struct qm_wire_msg, 1);
	*copy = *msg;
	msg->payload = NULL;
	g_queue_push_tail(&s->pending, copy);
	return true;
}

/* Files a REPLY, EVENT or stream message that arrived; anything else is a
 * violation. */
static bool take_msg(struct qm_client *c, struct qm_wire_msg *msg,
		     GError **error)
{
	guint32 id, stream;

	switch (msg->type) {
	case QM_MSG_REPLY: {
		g_variant_get_child(msg->payload, 0, "u", &id);
		if (!g_hash_table_remove(c->outstanding, GUINT_TO_POINTER(id)))
			return protocol_error(c, error,
					      "a reply to a call it was not "
					      "asked");
		/* A reply that opens a stream (vm.Run): should qmgrd reuse
		 * the id of one that ended, it is live again. */
		g_autoptr(GVariant) result =
			g_variant_get_child_value(msg->payload, 3);
		if (g_variant_lookup(result, "stream", "u", &stream))
			g_hash_table_remove(c->ended,
					    GUINT_TO_POINTER(stream));
		g_hash_table_insert(c->replies, GUINT_TO_POINTER(id),
				    g_steal_pointer(&msg->payload));
		return true;
	}
	case QM_MSG_EVENT:
		if (!c->subscribed)
			return protocol_error(c, error,
					      "an event before "
					      "events.Subscribe");
		g_queue_push_tail(&c->events, g_steal_pointer(&msg->payload));
		return true;
	case QM_MSG_DATA:
	case QM_MSG_EOF:
	case QM_MSG_WINDOW:
	case QM_MSG_EXIT:
	case QM_MSG_CLOSE:
		return take_stream_msg(c, msg, error);
	default:
		return protocol_error(c, error, "an unexpected message type");
	}
}

bool qm_client_receive(struct qm_client *c, bool do_read, GError **error)
{
	if (do_read) {
		uint8_t buf[65536];
		ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return true;
		if (n <= 0) {
			c->closed = true;
			g_set_error(error, QM_CLIENT_ERROR,
				    QM_CLIENT_ERROR_PROTOCOL,
				    "qmgrd at %s closed the connection%s%s "
				    "(did it stop? see its log)", c->path,
				    n < 0 ? ": " : "",
				    n < 0 ? g_strerror(errno) : "");
			return false;
		}
		g_byte_array_append(c->in, buf, (guint)n);
	}
	for (;;) {
		size_t used = 0;
		GError *err = NULL;
		struct qm_wire_msg msg = { 0 };
		enum qm_wire_status st = qm_wire_decode(c->in->data,
							c->in->len, &used,
							&msg, &err);
		if (st == QM_WIRE_NEED_MORE)
			return true;
		if (st == QM_WIRE_ERROR)
			return decode_error(c, err, error);
		g_byte_array_remove_range(c->in, 0, (guint)used);
		bool ok = take_msg(c, &msg, error);
		qm_wire_msg_clear(&msg);
		if (!ok)
			return false;
	}
}

static bool hello(struct qm_client *c, const char *software, GError **error)
{
	struct qm_wire_msg msg = { 0 };
	guint32 version;

	gint64 deadline = g_get_monotonic_time() +
			  (gint64)HELLO_TIMEOUT_MS * 1000;
	GError *err = NULL;
	if (!send_msg(c, QM_MSG_HELLO,
		      g_variant_new("(us)", (guint32)QM_WIRE_VERSION,
				    software),
		      &err) ||
	    !read_msg(c, deadline, &msg, &err)) {
		/* qmgrd closes at once on peers SO_PEERCRED refuses */
		if (c->closed)
			g_set_error(error, QM_CLIENT_ERROR,
				    QM_CLIENT_ERROR_UNREACHABLE,
				    "qmgrd at %s closed the connection "
				    "(only root and members of group qmgr "
				    "may use it)", c->path);
		else
			g_propagate_error(error, g_steal_pointer(&err));
		g_clear_error(&err);
		return false;
	}
	if (msg.type != QM_MSG_HELLO) {
		qm_wire_msg_clear(&msg);
		return protocol_error(c, error, "its first message is not "
					       "HELLO");
	}
	g_variant_get(msg.payload, "(u&s)", &version, NULL);
	qm_wire_msg_clear(&msg);
	c->version = MIN(version, (guint32)QM_WIRE_VERSION);
	if (version < QM_WIRE_VERSION_1) {
		g_set_error(error, QM_CLIENT_ERROR, QM_CLIENT_ERROR_PROTOCOL,
			    "qmgrd at %s speaks protocol version %u, this "
			    "tool needs %u (install matching versions)",
			    c->path, version, (unsigned)QM_WIRE_VERSION_1);
		return false;
	}
	return true;
}

struct qm_client *qm_client_connect(const char *software, GError **error)
{
	g_autofree char *path = qm_client_socket_path();
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path)) {
		set_unreachable(error, path, ENAMETOOLONG);
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		set_unreachable(error, path, errno);
		return NULL;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;
		close(fd);
		set_unreachable(error, path, err);
		return NULL;
	}

	struct qm_client *c = g_new0(struct qm_client, 1);
	c->fd = fd;
	c->path = g_steal_pointer(&path);
	c->in = g_byte_array_new();
	c->next_id = 1;
	c->outstanding = g_hash_table_new(NULL, NULL);
	c->replies = g_hash_table_new_full(NULL, NULL, NULL,
					   (GDestroyNotify)g_variant_unref);
	g_queue_init(&c->events);
	c->streams = g_hash_table_new_full(NULL, NULL, NULL,
					   (GDestroyNotify)stream_free);
	c->ended = g_hash_table_new(NULL, NULL);
	if (!hello(c, software, error)) {
		qm_client_destroy(c);
		return NULL;
	}
	return c;
}

uint32_t qm_client_send(struct qm_client *c, const char *method,
			const char *vm, GVariant *args, GError **error)
{
	if (args == NULL)
		args = g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0);
	uint32_t id = c->next_id++;
	if (c->next_id == 0)
		c->next_id = 1;
	GVariant *payload = g_variant_new("(uss@a{sv})", id, method,
					  vm ? vm : "", args);
	if (!send_msg(c, QM_MSG_REQUEST, payload, error))
		return 0;
	g_hash_table_add(c->outstanding, GUINT_TO_POINTER(id));
	return id;
}

/* Turns a REPLY payload into the result or the daemon's error. */
static GVariant *unpack_reply(GVariant *reply, GError **error)
{
	gboolean ok;
	const char *message;
	g_autoptr(GVariant) result = NULL;

	g_variant_get(reply, "(ub&s@a{sv})", NULL, &ok, &message, &result);
	if (ok)
		return g_steal_pointer(&result);

	const char *code = NULL;
	if (!g_variant_lookup(result, "code", "&s", &code))
		code = "";
	g_set_error_literal(error, QM_CLIENT_ERROR, code_from_name(code),
			    *message ? message
				     : "qmgrd refused the call without "
				       "saying why");
	return NULL;
}

GVariant *qm_client_wait(struct qm_client *c, uint32_t id, int timeout_ms,
			 GError **error)
{
	gint64 deadline = timeout_ms < 0 ? -1
			: g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	for (;;) {
		gpointer reply = NULL;
		if (g_hash_table_steal_extended(c->replies,
						GUINT_TO_POINTER(id), NULL,
						&reply)) {
			g_autoptr(GVariant) r = reply;
			return unpack_reply(r, error);
		}
		if (!g_hash_table_contains(c->outstanding,
					   GUINT_TO_POINTER(id))) {
			g_set_error(error, QM_CLIENT_ERROR,
				    QM_CLIENT_ERROR_INTERNAL,
				    "no call %u is waiting for a reply", id);
			return NULL;
		}
		struct qm_wire_msg msg = { 0 };
		GError *err = NULL;
		if (!read_msg(c, deadline, &msg, &err)) {
			if (c->closed) {
				g_clear_error(&err);
				g_set_error(error, QM_CLIENT_ERROR,
					    QM_CLIENT_ERROR_PROTOCOL,
					    "qmgrd at %s closed the connection "
					    "before answering (did it stop? "
					    "see its log)", c->path);
			} else {
				g_propagate_error(error, err);
			}
			return NULL;
		}
		bool ok = take_msg(c, &msg, error);
		qm_wire_msg_clear(&msg);
		if (!ok)
			return NULL;
	}
}

GVariant *qm_client_call(struct qm_client *c, const char *method,
			 const char *vm, GVariant *args, GError **error)
{
	uint32_t id = qm_client_send(c, method, vm, args, error);
	if (id == 0)
		return NULL;
	return qm_client_wait(c, id, -1, error);
}

bool qm_client_subscribe(struct qm_client *c, qm_client_event_fn fn,
			 void *user_data, GDestroyNotify destroy,
			 GError **error)
{
	if (c->event_destroy)
		c->event_destroy(c->event_data);
	c->event_fn = fn;
	c->event_data = user_data;
	c->event_destroy = destroy;
	/* events may overtake the reply */
	c->subscribed = true;
	g_autoptr(GVariant) r = qm_client_call(c, "events.Subscribe", "",
					       NULL, error);
	return r != NULL;
}

bool qm_client_dispatch(struct qm_client *c, int timeout_ms, GError **error)
{
	gint64 deadline = timeout_ms < 0 ? -1
			: g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	for (;;) {
		GVariant *ev;
		while ((ev = g_queue_pop_head(&c->events)) != NULL) {
			const char *event, *vm;
			g_autoptr(GVariant) props = NULL;
			g_variant_get(ev, "(&s&s@a{sv})", &event, &vm, &props);
			bool more = c->event_fn == NULL ||
				    c->event_fn(event, vm, props,
						c->event_data);
			g_variant_unref(ev);
			if (!more)
				return true;
		}
		struct qm_wire_msg msg = { 0 };
		if (!read_msg(c, deadline, &msg, error))
			return false;
		bool ok = take_msg(c, &msg, error);
		qm_wire_msg_clear(&msg);
		if (!ok)
			return false;
	}
}
