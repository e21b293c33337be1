/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "run.h"

#include "disposable.h"

#include <gio/gio.h>
#include <string.h>

#define RUN_ERROR g_quark_from_static_string("qm-run-error")

struct stream {
	char *vm;
	guint32 agent_id;          /* on the agent channel */
	guint32 client_id;         /* on the client connection; 0: none */
	struct qm_peer *peer;      /* NULL: output is dropped */
	/* Credits qmgrd has seen granted and not yet used, per fd: what the
	 * agent may still send us (fds 1, 2) and what the client may (fd 0). */
	guint64 agent_may[3];
	guint64 client_may[3];
	bool client_eof;           /* the client ended stdin */
};

/* Per-daemon registry; streams are few, so lists do. */
static GPtrArray *streams;
static guint32 next_agent_id = 1;
static guint32 next_client_id = 1;

static void stream_free(struct stream *s)
{
	qm_peer_unref(s->peer);
	g_free(s->vm);
	g_free(s);
}

static unsigned open_streams_of(const char *vm);

/* A stream is over.  A disposable lives for its command: when that
 * ends, however it ends, the disposable goes. */
static void forget(struct qmgrd *d, struct stream *s)
{
	g_autofree char *vm = g_strdup(s->vm);
	g_ptr_array_remove(streams, s);
	stream_free(s);
	struct qm_vm *q = qm_inventory_find(d->inv, vm);
	if (q != NULL && qm_vm_is_disposable(d, q) && open_streams_of(vm) == 0)
		qm_disposable_destroy(d, vm);
}

static unsigned open_streams_of(const char *vm)
{
	unsigned n = 0;
	for (guint i = 0; streams && i < streams->len; i++)
		n += strcmp(((struct stream *)g_ptr_array_index(streams, i))->vm,
			    vm) == 0;
	return n;
}

guint32 qm_run_open(struct qmgrd *d, const char *vm, const char *user,
		    const char *command, struct qm_peer *peer, GError **error)
{
	if (streams == NULL)
		streams = g_ptr_array_new();
	if (peer != NULL && !qm_peer_is_open(peer)) {
		/* The caller left while the qube was starting. */
		g_set_error(error, RUN_ERROR, 1, "the caller went away");
		return 0;
	}
	guint32 version = qm_lifecycle_agent_version(d, vm);
	if (version != 0 && version < QM_WIRE_VERSION_2) {
		g_set_error(error, RUN_ERROR, 1,
			    "the agent of '%s' speaks protocol %u and cannot "
			    "run commands; its template needs an update",
			    vm, version);
		return 0;
	}
	if (open_streams_of(vm) >= QM_STREAMS_MAX) {
		g_set_error(error, RUN_ERROR, 1,
			    "'%s' already runs %d commands; wait for some to "
			    "end", vm, QM_STREAMS_MAX);
		return 0;
	}
	struct stream *s = g_new0(struct stream, 1);
	s->vm = g_strdup(vm);
	s->agent_id = next_agent_id++;
	if (next_agent_id == 0)
		next_agent_id = 1;
	for (int fd = 0; fd < 3; fd++) {
		s->agent_may[fd] = QM_WINDOW_INITIAL;
		s->client_may[fd] = QM_WINDOW_INITIAL;
	}
	if (peer != NULL) {
		s->peer = qm_peer_ref(peer);
		s->client_id = next_client_id++;
		if (next_client_id == 0)
			next_client_id = 1;
	}
	if (!qm_lifecycle_agent_send(
		    d, vm, QM_MSG_EXEC, s->agent_id,
		    g_variant_new("(ssu)", user, command,
				  peer ? QM_EXEC_RUN_PASS_IO : 0u))) {
		g_set_error(error, RUN_ERROR, 1,
			    "'%s' has no working agent channel (qvm-ls --json "
			    "shows why)", vm);
		stream_free(s);
		return 0;
	}
	if (peer == NULL)
		qm_lifecycle_agent_send(d, vm, QM_MSG_EOF, s->agent_id,
					g_variant_new("(u)", 0u));
	g_ptr_array_add(streams, s);
	return s->client_id;
}

static struct stream *by_client(struct qm_peer *peer, guint32 id)
{
	for (guint i = 0; streams && i < streams->len; i++) {
		struct stream *s = g_ptr_array_index(streams, i);
		if (s->peer == peer && s->client_id == id)
			return s;
	}
	return NULL;
}

static struct stream *by_agent(const char *vm, guint32 id)
{
	for (guint i = 0; streams && i < streams->len; i++) {
		struct stream *s = g_ptr_array_index(streams, i);
		if (s->agent_id == id && strcmp(s->vm, vm) == 0)
			return s;
	}
	return NULL;
}

static bool violation(GError **error, const char *fmt, ...)
	G_GNUC_PRINTF(2, 3);
static bool violation(GError **error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *m = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error_literal(error, RUN_ERROR, 2, m);
	return false;
}

/* Takes `bytes` of credit on fd; false when that is more than granted. */
static bool spend(guint64 *may, guint32 fd, gsize bytes)
{
	if (bytes > may[fd])
		return false;
	may[fd] -= bytes;
	return true;
}

static bool grant(guint64 *may, guint32 fd, guint32 bytes)
{
	/* Credit beyond what any honest peer needs is a sign of trouble. */
	if (may[fd] + bytes > (guint64)G_MAXUINT32)
		return false;
	may[fd] += bytes;
	return true;
}

bool qm_run_from_client(struct qmgrd *d, struct qm_peer *peer,
			const struct qm_wire_msg *msg, GError **error)
{
	struct stream *s = by_client(peer, msg->stream);
	guint32 fd, n;

	if (s == NULL) {
		/* A command that just ended (its EXIT crossing our stdin) may
		 * still get stream messages: dropped, they are harmless. */
		if (msg->type == QM_MSG_WINDOW || msg->type == QM_MSG_CLOSE ||
		    msg->type == QM_MSG_DATA || msg->type == QM_MSG_EOF)
			return true;
		return violation(error, "message type %d for unknown stream %u",
				 msg->type, msg->stream);
	}
	switch (msg->type) {
	case QM_MSG_DATA: {
		g_autoptr(GVariant) data = NULL;
		g_variant_get(msg->payload, "(u@ay)", &fd, &data);
		gsize len = g_variant_get_size(data);
		if (fd != 0)
			return violation(error, "stream %u: data on fd %u "
					 "from the client", msg->stream, fd);
		if (s->client_eof)
			return violation(error, "stream %u: data after EOF",
					 msg->stream);
		if (!spend(s->client_may, 0, len))
			return violation(error, "stream %u: %zu bytes past "
					 "the stdin credit", msg->stream, len);
		qm_lifecycle_agent_send(d, s->vm, QM_MSG_DATA, s->agent_id,
					g_variant_ref(msg->payload));
		return true;
	}
	case QM_MSG_EOF:
		g_variant_get(msg->payload, "(u)", &fd);
		if (fd != 0 || s->client_eof)
			return violation(error, "stream %u: EOF of fd %u from "
					 "the client%s", msg->stream, fd,
					 s->client_eof ? " again" : "");
		s->client_eof = true;
		qm_lifecycle_agent_send(d, s->vm, QM_MSG_EOF, s->agent_id,
					g_variant_ref(msg->payload));
		return true;
	case QM_MSG_WINDOW:
		g_variant_get(msg->payload, "(uu)", &fd, &n);
		if ((fd != 1 && fd != 2) || !grant(s->agent_may, fd, n))
			return violation(error, "stream %u: bad WINDOW",
					 msg->stream);
		qm_lifecycle_agent_send(d, s->vm, QM_MSG_WINDOW, s->agent_id,
					g_variant_ref(msg->payload));
		return true;
	case QM_MSG_CLOSE:
		qm_lifecycle_agent_send(d, s->vm, QM_MSG_CLOSE, s->agent_id,
					g_variant_new("(s)", "closed by the "
							     "caller"));
		forget(d, s);
		return true;
	default:
		return violation(error, "stream %u: unexpected message type %d",
				 msg->stream, msg->type);
	}
}

void qm_run_client_gone(struct qmgrd *d, struct qm_peer *peer)
{
	for (guint i = 0; streams && i < streams->len;) {
		struct stream *s = g_ptr_array_index(streams, i);
		if (s->peer != peer) {
			i++;
			continue;
		}
		qm_lifecycle_agent_send(d, s->vm, QM_MSG_CLOSE, s->agent_id,
					g_variant_new("(s)", "the caller went "
							     "away"));
		forget(d, s);
	}
}

bool qm_run_from_agent(struct qmgrd *d, const char *vm,
		       const struct qm_wire_msg *msg, GError **error)
{
	struct stream *s = by_agent(vm, msg->stream);
	guint32 fd, n;

	if (s == NULL) {
		/* For a command the caller closed: its last output, EOF or
		 * EXIT may still be on the way.  Dropped. */
		if (msg->type == QM_MSG_WINDOW || msg->type == QM_MSG_CLOSE ||
		    msg->type == QM_MSG_EXIT || msg->type == QM_MSG_DATA ||
		    msg->type == QM_MSG_EOF)
			return true;
		return violation(error, "message type %d for unknown stream %u",
				 msg->type, msg->stream);
	}
	switch (msg->type) {
	case QM_MSG_DATA: {
		g_autoptr(GVariant) data = NULL;
		g_variant_get(msg->payload, "(u@ay)", &fd, &data);
		gsize len = g_variant_get_size(data);
		if (fd != 1 && fd != 2)
			return violation(error, "stream %u: data on fd %u "
					 "from the guest", msg->stream, fd);
		if (!spend(s->agent_may, fd, len))
			return violation(error, "stream %u: %zu bytes past "
					 "the credit of fd %u", msg->stream,
					 len, fd);
		if (s->peer == NULL) {
			/* Nobody reads it: drop it and take more. */
			grant(s->agent_may, fd, (guint32)len);
			qm_lifecycle_agent_send(d, vm, QM_MSG_WINDOW,
						s->agent_id,
						g_variant_new("(uu)", fd,
							      (guint32)len));
			return true;
		}
		qm_peer_send(s->peer, QM_MSG_DATA, s->client_id,
			     g_variant_ref(msg->payload));
		return true;
	}
	case QM_MSG_EOF:
		g_variant_get(msg->payload, "(u)", &fd);
		if (fd != 1 && fd != 2)
			return violation(error, "stream %u: EOF of fd %u from "
					 "the guest", msg->stream, fd);
		if (s->peer)
			qm_peer_send(s->peer, QM_MSG_EOF, s->client_id,
				     g_variant_ref(msg->payload));
		return true;
	case QM_MSG_WINDOW:
		g_variant_get(msg->payload, "(uu)", &fd, &n);
		if (fd != 0 || !grant(s->client_may, 0, n))
			return violation(error, "stream %u: bad WINDOW",
					 msg->stream);
		if (s->peer)
			qm_peer_send(s->peer, QM_MSG_WINDOW, s->client_id,
				     g_variant_ref(msg->payload));
		return true;
	case QM_MSG_EXIT:
	case QM_MSG_CLOSE:
		if (s->peer)
			qm_peer_send(s->peer, msg->type, s->client_id,
				     g_variant_ref(msg->payload));
		forget(d, s);
		return true;
	default:
		return violation(error, "stream %u: unexpected message type %d",
				 msg->stream, msg->type);
	}
}

void qm_run_agent_gone(struct qmgrd *d, const char *vm, const char *why)
{
	for (guint i = 0; streams && i < streams->len;) {
		struct stream *s = g_ptr_array_index(streams, i);
		if (strcmp(s->vm, vm) != 0) {
			i++;
			continue;
		}
		if (s->peer) {
			g_autofree char *reason = g_strdup_printf(
				"the agent of '%s' is gone: %s", vm, why);
			qm_peer_send(s->peer, QM_MSG_CLOSE, s->client_id,
				     g_variant_new("(s)", reason));
		}
		forget(d, s);
	}
}
