/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "conn.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

struct qm_conn {
	int fd;
	char *peer;
	guint read_source;
	guint write_source;
	GByteArray *in;
	GQueue out;            /* GBytes * */
	size_t out_offset;     /* bytes of the head already written */
	qm_conn_message_fn on_message;
	qm_conn_closed_fn on_closed;
	void *user_data;
	GDestroyNotify destroy;
	bool dispatching;
	bool destroy_pending;
};

static gboolean on_readable(int fd, GIOCondition cond, gpointer data);
static gboolean on_writable(int fd, GIOCondition cond, gpointer data);

struct qm_conn *qm_conn_create(int fd, const char *peer,
			       qm_conn_message_fn on_message,
			       qm_conn_closed_fn on_closed, void *user_data,
			       GDestroyNotify destroy)
{
	struct qm_conn *c = g_new0(struct qm_conn, 1);
	c->fd = fd;
	c->peer = g_strdup(peer);
	c->in = g_byte_array_new();
	g_queue_init(&c->out);
	c->on_message = on_message;
	c->on_closed = on_closed;
	c->user_data = user_data;
	c->destroy = destroy;
	g_unix_set_fd_nonblocking(fd, TRUE, NULL);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	c->read_source = g_unix_fd_add(fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
				       on_readable, c);
	return c;
}

static void stop_sources(struct qm_conn *c)
{
	if (c->read_source)
		g_source_remove(c->read_source);
	if (c->write_source)
		g_source_remove(c->write_source);
	c->read_source = c->write_source = 0;
}

void qm_conn_close(struct qm_conn *c)
{
	if (c == NULL || c->fd < 0)
		return;
	stop_sources(c);
	close(c->fd);
	c->fd = -1;
	g_queue_clear_full(&c->out, (GDestroyNotify)g_bytes_unref);
	c->out_offset = 0;
}

void qm_conn_destroy(struct qm_conn *c)
{
	if (c == NULL)
		return;
	if (c->dispatching) {
		/* Destroyed from its own callback: finish after it returns. */
		qm_conn_close(c);
		c->destroy_pending = true;
		return;
	}
	qm_conn_close(c);
	if (c->destroy)
		c->destroy(c->user_data);
	g_byte_array_unref(c->in);
	g_free(c->peer);
	g_free(c);
}

bool qm_conn_is_open(const struct qm_conn *c)
{
	return c->fd >= 0;
}

const char *qm_conn_peer(const struct qm_conn *c)
{
	return c->peer;
}

int qm_conn_fd(const struct qm_conn *c)
{
	return c->fd;
}

static void fail(struct qm_conn *c, GError *why)
{
	qm_conn_close(c);
	if (c->on_closed)
		c->on_closed(c, why, c->user_data);
	g_clear_error(&why);
}

/* Writes as much as the fd takes; false on a fatal error. */
static bool write_some(struct qm_conn *c, GError **error)
{
	while (!g_queue_is_empty(&c->out)) {
		GBytes *b = g_queue_peek_head(&c->out);
		gsize size;
		const uint8_t *p = g_bytes_get_data(b, &size);
		ssize_t n = write(c->fd, p + c->out_offset,
				  size - c->out_offset);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return true;
			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
				    "write to %s: %s", c->peer,
				    g_strerror(errno));
			return false;
		}
		c->out_offset += (size_t)n;
		if (c->out_offset == size) {
			g_bytes_unref(g_queue_pop_head(&c->out));
			c->out_offset = 0;
		}
	}
	return true;
}

static gboolean on_writable(int fd, GIOCondition cond, gpointer data)
{
	struct qm_conn *c = data;
	GError *err = NULL;

	if (!write_some(c, &err)) {
		c->write_source = 0;
		fail(c, err);
		return G_SOURCE_REMOVE;
	}
	if (g_queue_is_empty(&c->out)) {
		c->write_source = 0;
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

bool qm_conn_send(struct qm_conn *c, enum qm_msg_type type, uint32_t stream,
		  GVariant *payload)
{
	if (c->fd < 0) {
		if (payload)
			g_variant_unref(g_variant_take_ref(payload));
		return false;
	}
	GBytes *b = qm_wire_encode(type, stream, payload);
	if (b == NULL)
		return false;
	g_queue_push_tail(&c->out, b);
	if (c->write_source == 0)
		c->write_source = g_unix_fd_add(c->fd, G_IO_OUT, on_writable,
						c);
	return true;
}

bool qm_conn_flush(struct qm_conn *c, int timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + timeout_ms * 1000;
	while (c->fd >= 0 && !g_queue_is_empty(&c->out)) {
		if (!write_some(c, NULL))
			return false;
		if (g_queue_is_empty(&c->out))
			break;
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;
		if (left <= 0)
			return false;
		struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };
		poll(&pfd, 1, (int)left);
	}
	return c->fd >= 0;
}

/* Large reads: under software emulation every system call in a guest is
 * costly, and a stream's DATA messages come 64 KiB at a time. */
#define READ_CHUNK (128u << 10)

static gboolean on_readable(int fd, GIOCondition cond, gpointer data)
{
	struct qm_conn *c = data;
	GError *err = NULL;

	/* Read straight into the reassembly buffer. */
	guint had = c->in->len;
	g_byte_array_set_size(c->in, had + READ_CHUNK);
	ssize_t n = read(fd, c->in->data + had, READ_CHUNK);
	g_byte_array_set_size(c->in, had + (n > 0 ? (guint)n : 0));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		c->read_source = 0;
		g_set_error(&err, G_IO_ERROR, G_IO_ERROR_CLOSED,
			    n == 0 ? "%s closed the connection"
				   : "%s: read failed",
			    c->peer);
		fail(c, err);
		return G_SOURCE_REMOVE;
	}

	/* Decode every whole message, then drop them from the buffer in one
	 * move. */
	size_t off = 0;
	c->dispatching = true;
	while (c->fd >= 0) {
		struct qm_wire_msg msg;
		size_t used = 0;
		enum qm_wire_status st =
			qm_wire_decode(c->in->data + off, c->in->len - off,
				       &used, &msg, &err);
		if (st == QM_WIRE_NEED_MORE)
			break;
		if (st == QM_WIRE_ERROR) {
			c->read_source = 0;
			g_prefix_error(&err, "%s: ", c->peer);
			fail(c, err);
			c->dispatching = false;
			if (c->destroy_pending)
				qm_conn_destroy(c);
			return G_SOURCE_REMOVE;
		}
		off += used;
		if (c->on_message)
			c->on_message(c, &msg, c->user_data);
		qm_wire_msg_clear(&msg);
	}
	if (off > 0)
		g_byte_array_remove_range(c->in, 0, (guint)off);
	c->dispatching = false;
	if (c->destroy_pending) {
		c->read_source = 0; /* already removed by close */
		qm_conn_destroy(c);
		return G_SOURCE_REMOVE;
	}
	return c->fd >= 0 ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}
