/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "conn.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <poll.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

struct qm_conn {
	int fd;
	char *peer;
	guint read_source;
	guint write_source;
	GByteArray *in;        /* reused: small messages, starts of large */
	uint8_t *large;        /* one large message being read, or NULL */
	size_t large_len, large_size;
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
	g_free(c->large);
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

/* Pieces gathered into one write. */
#define WRITE_IOV_MAX 64

/* Writes as much as the fd takes; false on a fatal error. */
static bool write_some(struct qm_conn *c, GError **error)
{
	while (!g_queue_is_empty(&c->out)) {
		struct iovec iov[WRITE_IOV_MAX];
		int n_iov = 0;
		size_t offset = c->out_offset;
		for (GList *l = c->out.head; l && n_iov < WRITE_IOV_MAX;
		     l = l->next) {
			gsize size;
			const uint8_t *p = g_bytes_get_data(l->data, &size);
			iov[n_iov].iov_base = (void *)(p + offset);
			iov[n_iov].iov_len = size - offset;
			n_iov++;
			offset = 0;
		}
		ssize_t n = writev(c->fd, iov, n_iov);
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
		size_t done = (size_t)n;
		while (done > 0) {
			gsize size = g_bytes_get_size(g_queue_peek_head(&c->out));
			size_t left = size - c->out_offset;
			if (done < left) {
				c->out_offset += done;
				break;
			}
			done -= left;
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
	GBytes *head, *body;
	if (!qm_wire_encode_parts(type, stream, payload, &head, &body))
		return false;
	g_queue_push_tail(&c->out, head);
	if (body)
		g_queue_push_tail(&c->out, body);
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

/*
 * Reading.  Under software emulation every copy of a stream's bytes in a
 * guest costs about as much as the channel itself (bench/README.md), so a
 * large message is read into a buffer of exactly its size, which then
 * becomes the payload's storage without a copy.  At a message boundary a
 * read takes at most READ_HEAD bytes into the reused buffer c->in
 * (several small messages at once, or the start of a large one); a large
 * message begun there (LARGE_MIN bytes and more) moves into c->large,
 * allocated for it, and the next reads go straight into that up to its
 * last byte.  Per large message at most READ_HEAD bytes are copied (on a
 * virtio-serial port, whose reads return one 4 KiB buffer at a time, at
 * most 4 KiB).
 */
#define READ_HEAD (16u << 10)
#define LARGE_MIN (4u << 10)
#define READS_PER_WAKEUP 64u

/* The length of the message whose header starts at p, or 0 when it is not
 * a plausible large message (the decoder checks the header later). */
static size_t large_total(const uint8_t *p, size_t have)
{
	if (have < QM_WIRE_HEADER_SIZE)
		return 0;
	struct qm_wire_header untrusted_h;
	memcpy(&untrusted_h, p, sizeof(untrusted_h));
	uint32_t untrusted_length = GUINT32_FROM_LE(untrusted_h.length);
	/* Only a buffer size: bounded here, checked by the decoder. */
	if (untrusted_length > QM_WIRE_PAYLOAD_MAX)
		return 0;
	size_t total = QM_WIRE_HEADER_SIZE + untrusted_length;
	return total >= LARGE_MIN && total > have ? total : 0;
}

static void closed_by_read(struct qm_conn *c, ssize_t n)
{
	GError *err = NULL;
	c->read_source = 0;
	g_set_error(&err, G_IO_ERROR, G_IO_ERROR_CLOSED,
		    n == 0 ? "%s closed the connection" : "%s: read failed",
		    c->peer);
	fail(c, err);
}

/* Dispatches one decoded message or reports the violation; false when
 * the connection is gone (the caller returns G_SOURCE_REMOVE). */
static bool dispatch(struct qm_conn *c, enum qm_wire_status st,
		     struct qm_wire_msg *msg, GError *err)
{
	if (st == QM_WIRE_ERROR) {
		c->read_source = 0;
		g_prefix_error(&err, "%s: ", c->peer);
		fail(c, err);
		return false;
	}
	if (c->on_message)
		c->on_message(c, msg, c->user_data);
	qm_wire_msg_clear(msg);
	return c->fd >= 0;
}

enum read_result {
	READ_AGAIN,      /* nothing more to read now */
	READ_PROGRESS,   /* read something; there may be more */
	READ_GONE,       /* closed (by the peer, a violation or a callback) */
};

/* Reads into c->large; dispatches it once whole. */
static enum read_result read_large(struct qm_conn *c)
{
	ssize_t n = read(c->fd, c->large + c->large_len,
			 c->large_size - c->large_len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return READ_AGAIN;
	if (n <= 0) {
		closed_by_read(c, n);
		return READ_GONE;
	}
	c->large_len += (size_t)n;
	if (c->large_len < c->large_size)
		return READ_PROGRESS;

	g_autoptr(GBytes) all = g_bytes_new_take(g_steal_pointer(&c->large),
						 c->large_size);
	c->large_len = c->large_size = 0;
	struct qm_wire_msg msg;
	size_t used = 0;
	GError *err = NULL;
	enum qm_wire_status st = qm_wire_decode_bytes(all, 0, &used, &msg,
						      &err);
	g_assert(st != QM_WIRE_NEED_MORE);
	return dispatch(c, st, &msg, err) ? READ_PROGRESS : READ_GONE;
}

/* Reads into c->in and dispatches the whole messages there; a large
 * message begun at its end moves to c->large. */
static enum read_result read_head(struct qm_conn *c)
{
	guint had = c->in->len;
	g_byte_array_set_size(c->in, had + READ_HEAD);
	ssize_t n = read(c->fd, c->in->data + had, READ_HEAD);
	g_byte_array_set_size(c->in, had + (n > 0 ? (guint)n : 0));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return READ_AGAIN;
	if (n <= 0) {
		closed_by_read(c, n);
		return READ_GONE;
	}

	size_t off = 0;
	while (c->fd >= 0) {
		struct qm_wire_msg msg;
		size_t used = 0;
		GError *err = NULL;
		enum qm_wire_status st =
			qm_wire_decode(c->in->data + off, c->in->len - off,
				       &used, &msg, &err);
		if (st == QM_WIRE_NEED_MORE)
			break;
		off += used;
		if (!dispatch(c, st, &msg, err))
			return READ_GONE;
	}
	if (c->fd < 0)
		return READ_GONE;
	size_t left = c->in->len - off;
	size_t total = large_total(c->in->data + off, left);
	if (total > 0) {
		c->large = g_malloc(total);
		c->large_size = total;
		c->large_len = left;
		memcpy(c->large, c->in->data + off, left);
		off = c->in->len;
	}
	if (off > 0)
		g_byte_array_remove_range(c->in, 0, (guint)off);
	return READ_PROGRESS;
}

static gboolean on_readable(int fd, GIOCondition cond, gpointer data)
{
	struct qm_conn *c = data;

	/* Read on while there is data, up to a bound that leaves the other
	 * sources their turn: a read on a virtio-serial port returns at most
	 * 4 KiB, and a main loop iteration per read would cost more than the
	 * read under emulation. */
	enum read_result r = READ_PROGRESS;
	c->dispatching = true;
	for (unsigned i = 0; i < READS_PER_WAKEUP && r == READ_PROGRESS; i++)
		r = c->large ? read_large(c) : read_head(c);
	c->dispatching = false;
	bool open = r != READ_GONE;
	if (c->destroy_pending) {
		c->read_source = 0; /* already removed by close */
		qm_conn_destroy(c);
		return G_SOURCE_REMOVE;
	}
	return open && c->fd >= 0 ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}
