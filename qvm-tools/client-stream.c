/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Relaying a command's stdio over its stream (docs/admin-api.md, "Streams"):
 * one poll() loop over the socket, stdin, stdout/stderr and a cancel fd.
 *
 * Every buffer is bounded by a credit: output waiting for a slow stdout by
 * the credit this side grants (qmgrd cannot send more, client.c checks),
 * messages waiting for the socket by reading stdin only while little is
 * queued.  So the socket is always read, and a full stdout stalls only the
 * command, which stops getting WINDOWs.
 */
#include "config.h"

#include "client-private.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wire.h"

/* Stdin is read only while less than this waits to go to qmgrd. */
#define OUT_HIGH (QM_DATA_MAX + 1024)
/* How long a CLOSE may take to get out before we give up on it. */
#define CLOSE_FLUSH_MS 2000

/* One of our output fds: the command's stdout or stderr. */
struct sink {
	int fd;            /* -1: output discarded */
	const char *name;
	GByteArray *buf;   /* received, not yet written */
	gsize off;         /* the written part of buf */
	guint64 written;   /* written (or discarded), not yet granted back */
};

struct relay {
	struct qm_client *c;
	struct qm_client_stream *s;
	const struct qm_client_stdio *io;
	GByteArray *out;      /* encoded messages for qmgrd */
	struct sink sink[3];  /* [1] stdout, [2] stderr */
	bool in_done;         /* we send no more on fd 0 */
	bool exited;          /* EXIT or CLOSE came: only output is left */
	int status;
	GError *closed;       /* qmgrd's CLOSE */
};

static void queue(struct relay *r, enum qm_msg_type type, GVariant *payload)
{
	g_autoptr(GBytes) b = qm_wire_encode(type, r->s->id, payload);
	g_assert(b != NULL);   /* our payloads are far below the maximum */
	gsize n;
	const uint8_t *p = g_bytes_get_data(b, &n);
	g_byte_array_append(r->out, p, (guint)n);
}

static bool flush(struct relay *r, GError **error)
{
	while (r->out->len > 0) {
		ssize_t n = send(r->c->fd, r->out->data, r->out->len,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n < 0) {
			g_set_error(error, QM_CLIENT_ERROR,
				    QM_CLIENT_ERROR_PROTOCOL,
				    "lost the connection to qmgrd at %s: %s",
				    r->c->path, g_strerror(errno));
			return false;
		}
		g_byte_array_remove_range(r->out, 0, (guint)n);
	}
	return true;
}

/* Queues CLOSE and tries for a while to get it (and what precedes it) out:
 * the stream is abandoned either way, qmgrd also closes it when we go. */
static void send_close(struct relay *r, const char *reason)
{
	queue(r, QM_MSG_CLOSE, g_variant_new("(s)", reason));
	gint64 deadline = g_get_monotonic_time() + CLOSE_FLUSH_MS * 1000;
	while (r->out->len > 0) {
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;
		if (left <= 0 || !flush(r, NULL))
			return;
		if (r->out->len == 0)
			return;
		struct pollfd p = { .fd = r->c->fd, .events = POLLOUT };
		if (poll(&p, 1, (int)left) == 0)
			return;
	}
}

/* Acts on one message of our stream. */
static void handle(struct relay *r, const struct qm_wire_msg *m)
{
	guint32 fd, n;
	const char *reason;

	switch (m->type) {
	case QM_MSG_DATA: {
		g_autoptr(GVariant) data = NULL;
		g_variant_get(m->payload, "(u@ay)", &fd, &data);
		gsize len = g_variant_get_size(data);
		/* client.c let only fds 1 and 2 through, within credit */
		struct sink *k = &r->sink[fd];
		if (k->fd < 0)
			k->written += len;
		else
			g_byte_array_append(k->buf,
					    g_variant_get_data(data),
					    (guint)len);
		return;
	}
	case QM_MSG_EOF:
		g_variant_get(m->payload, "(u)", &fd);
		if (fd == 0)
			r->in_done = true;   /* the command takes no more */
		return;
	case QM_MSG_WINDOW:
		g_variant_get(m->payload, "(uu)", NULL, &n);
		r->s->stdin_credit += n;
		return;
	case QM_MSG_EXIT:
		g_variant_get(m->payload, "(i)", &r->status);
		r->exited = true;
		return;
	case QM_MSG_CLOSE:
		/* What came before is still written out. */
		g_variant_get(m->payload, "(&s)", &reason);
		g_set_error(&r->closed, QM_CLIENT_ERROR,
			    QM_CLIENT_ERROR_CLOSED,
			    "qmgrd closed the command's stream: %s",
			    *reason ? reason : "no reason given");
		r->exited = true;
		return;
	default:
		g_assert_not_reached();
	}
}

static bool sink_pending(const struct sink *k)
{
	return k->buf->len > k->off;
}

/* Writes what the fd takes now; false with *error when it fails. */
static bool sink_write(struct sink *k, GError **error)
{
	while (sink_pending(k)) {
		ssize_t n = write(k->fd, k->buf->data + k->off,
				  k->buf->len - k->off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			g_set_error(error, QM_CLIENT_ERROR,
				    QM_CLIENT_ERROR_LOCAL_IO,
				    "cannot write the command's %s: %s",
				    k->name, g_strerror(errno));
			return false;
		}
		k->off += (gsize)n;
		k->written += (guint64)n;
	}
	if (k->off == k->buf->len) {
		g_byte_array_set_size(k->buf, 0);
		k->off = 0;
	}
	return true;
}

/* Reads one chunk of stdin within the credit and queues it (or EOF). */
static void read_stdin(struct relay *r)
{
	guint64 want = MIN(r->s->stdin_credit, (guint64)QM_DATA_MAX);
	g_autofree uint8_t *buf = g_malloc(want);
	ssize_t n = read(r->io->in, buf, want);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* An error (EIO from a terminal we lost) ends input too. */
		queue(r, QM_MSG_EOF, g_variant_new("(u)", 0u));
		r->in_done = true;
		return;
	}
	r->s->stdin_credit -= (guint64)n;
	queue(r, QM_MSG_DATA,
	      g_variant_new("(u@ay)", 0u,
			    g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE,
						      buf, (gsize)n, 1)));
}

enum { P_SOCK, P_CANCEL, P_IN, P_OUT, P_ERR, P_N };

static bool relay_run(struct relay *r, GError **error)
{
	struct qm_client_stream *s = r->s;

	if (r->io->in < 0) {
		queue(r, QM_MSG_EOF, g_variant_new("(u)", 0u));
		r->in_done = true;
	}
	/* Messages that came with vm.Run's reply are already buffered. */
	if (!qm_client_receive(r->c, false, error))
		return false;
	for (;;) {
		struct qm_wire_msg *m;
		while (!r->exited &&
		       (m = g_queue_pop_head(&s->pending)) != NULL) {
			handle(r, m);
			qm_wire_msg_clear(m);
			g_free(m);
		}
		if (r->exited) {
			if (sink_pending(&r->sink[1]) ||
			    sink_pending(&r->sink[2])) {
				/* output still to write */
			} else if (r->closed != NULL) {
				g_propagate_error(error,
						  g_steal_pointer(&r->closed));
				return false;
			} else {
				return true;
			}
		} else {
			/* Give back the credit of what was passed on. */
			for (guint32 fd = 1; fd <= 2; fd++) {
				struct sink *k = &r->sink[fd];
				while (k->written > 0) {
					guint32 n = (guint32)MIN(k->written,
								 G_MAXUINT32);
					queue(r, QM_MSG_WINDOW,
					      g_variant_new("(uu)", fd, n));
					s->may[fd] += n;
					k->written -= n;
				}
			}
			if (!flush(r, error))
				return false;
		}

		struct pollfd p[P_N];
		for (int i = 0; i < P_N; i++)
			p[i] = (struct pollfd){ .fd = -1 };
		if (!r->exited) {
			p[P_SOCK].fd = r->c->fd;
			p[P_SOCK].events = POLLIN |
					   (r->out->len > 0 ? POLLOUT : 0);
			p[P_CANCEL].fd = r->io->cancel;
			p[P_CANCEL].events = POLLIN;
			if (!r->in_done && s->stdin_credit > 0 &&
			    r->out->len < OUT_HIGH) {
				p[P_IN].fd = r->io->in;
				p[P_IN].events = POLLIN;
			}
		}
		if (sink_pending(&r->sink[1])) {
			p[P_OUT].fd = r->sink[1].fd;
			p[P_OUT].events = POLLOUT;
		}
		if (sink_pending(&r->sink[2])) {
			p[P_ERR].fd = r->sink[2].fd;
			p[P_ERR].events = POLLOUT;
		}
		if (poll(p, P_N, -1) < 0) {
			if (errno == EINTR)
				continue;
			g_set_error(error, QM_CLIENT_ERROR,
				    QM_CLIENT_ERROR_INTERNAL, "poll: %s",
				    g_strerror(errno));
			return false;
		}
		if (p[P_CANCEL].revents) {
			send_close(r, "interrupted");
			g_set_error(error, QM_CLIENT_ERROR,
				    QM_CLIENT_ERROR_CANCELLED, "interrupted");
			return false;
		}
		if ((p[P_SOCK].revents & POLLOUT) && !flush(r, error))
			return false;
		if ((p[P_SOCK].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    !qm_client_receive(r->c, true, error))
			return false;
		if (p[P_IN].revents)
			read_stdin(r);
		for (int i = P_OUT; i <= P_ERR; i++) {
			struct sink *k = &r->sink[i == P_OUT ? 1 : 2];
			GError *err = NULL;
			if (p[i].revents && !sink_write(k, &err)) {
				if (!r->exited)
					send_close(r, err->message);
				g_propagate_error(error, err);
				return false;
			}
		}
	}
}

bool qm_client_stream_relay(struct qm_client *c, uint32_t stream,
			    const struct qm_client_stdio *io, int *status,
			    GError **error)
{
	if (c->version < QM_WIRE_VERSION_2) {
		g_set_error(error, QM_CLIENT_ERROR, QM_CLIENT_ERROR_PROTOCOL,
			    "qmgrd at %s speaks protocol version %u, which has "
			    "no streams (install matching versions)", c->path,
			    c->version);
		return false;
	}
	if (stream == 0 ||
	    g_hash_table_contains(c->ended, GUINT_TO_POINTER(stream))) {
		g_set_error(error, QM_CLIENT_ERROR, QM_CLIENT_ERROR_INVALID,
			    "stream %u is not open", stream);
		return false;
	}
	struct qm_client_stream *s = qm_client_stream_get(c, stream, error);
	if (s == NULL)
		return false;

	struct relay r = {
		.c = c,
		.s = s,
		.io = io,
		.out = g_byte_array_new(),
		.sink[1] = { .fd = io->out, .name = "stdout",
			     .buf = g_byte_array_new() },
		.sink[2] = { .fd = io->err, .name = "stderr",
			     .buf = g_byte_array_new() },
	};
	/* Saved all before changing any: two of them may share one open
	 * file, whose flags must come back as they were.  Terminals are left
	 * blocking: they are shared with the shell, which would find them
	 * non-blocking were we stopped (^Z) or killed meanwhile; a read after
	 * POLLIN does not block on them, and writes stall only briefly. */
	const int fds[3] = { io->in, io->out, io->err };
	int flags[3];
	for (int i = 0; i < 3; i++)
		flags[i] = fds[i] >= 0 && !isatty(fds[i])
				   ? fcntl(fds[i], F_GETFL)
				   : -1;
	for (int i = 0; i < 3; i++)
		if (flags[i] >= 0)
			fcntl(fds[i], F_SETFL, flags[i] | O_NONBLOCK);

	bool ok = relay_run(&r, error);
	g_clear_error(&r.closed);
	if (ok)
		*status = r.status;

	for (int i = 2; i >= 0; i--)
		if (flags[i] >= 0)
			fcntl(fds[i], F_SETFL, flags[i]);
	qm_client_stream_end(c, s);
	g_byte_array_unref(r.sink[1].buf);
	g_byte_array_unref(r.sink[2].buf);
	g_byte_array_unref(r.out);
	return ok;
}
