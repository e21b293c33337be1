/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "run.h"

#include "disposable.h"

#include <gio/gio.h>
#include <string.h>

#define RUN_ERROR g_quark_from_static_string("qm-run-error")

/*
 * A stream joins two ends.  The target end is a command or service on a
 * qube's agent channel (`vm`, `agent_id`).  The caller end is an admin
 * client's stream (`peer`, `client_id`), a call a qube made (`caller_vm`,
 * `caller_id`, ids with QM_STREAM_GUEST), or nobody (output dropped).
 * A call is pending (vm NULL) until rpc.c has decided it.
 */
struct stream {
	char *vm;
	guint32 agent_id;
	struct qm_peer *peer;
	guint32 client_id;
	char *caller_vm;
	guint32 caller_id;
	/* Credits qmgrd has seen granted and not yet used, per fd: what the
	 * target may still send (fds 1, 2) and what the caller may (fd 0). */
	guint64 agent_may[3];
	guint64 client_may[3];
	bool client_eof;           /* the caller ended stdin */
	bool stderr_local;         /* the target keeps stderr (qube callers) */
};

/* Per-daemon registry; streams are few, so lists do. */
static GPtrArray *streams;
static guint32 next_agent_id = 1;
static guint32 next_client_id = 1;
static unsigned max_streams = QM_STREAMS_MAX;

void qm_run_set_limit(unsigned n)
{
	max_streams = CLAMP(n, 1u, (unsigned)QM_STREAMS_MAX);
}

static void ensure_registry(void)
{
	if (streams == NULL)
		streams = g_ptr_array_new();
}

static void stream_free(struct stream *s)
{
	qm_peer_unref(s->peer);
	g_free(s->vm);
	g_free(s->caller_vm);
	g_free(s);
}

/* Streams a qube takes part in, as target or as caller. */
static unsigned open_streams_of(const char *vm)
{
	unsigned n = 0;
	for (guint i = 0; streams && i < streams->len; i++) {
		struct stream *s = g_ptr_array_index(streams, i);
		n += g_strcmp0(s->vm, vm) == 0 ||
		     g_strcmp0(s->caller_vm, vm) == 0;
	}
	return n;
}

static void maybe_destroy_disposable(struct qmgrd *d, const char *vm)
{
	if (vm == NULL)
		return;
	struct qm_vm *q = qm_inventory_find(d->inv, vm);
	if (q != NULL && qm_vm_is_disposable(d, q) && open_streams_of(vm) == 0)
		qm_disposable_destroy(d, vm);
}

/* A stream is over.  A disposable lives for its command or call: when
 * the last one ends, however it ends, the disposable goes. */
static void forget(struct qmgrd *d, struct stream *s)
{
	g_autofree char *vm = g_strdup(s->vm);
	g_autofree char *caller = g_strdup(s->caller_vm);
	g_ptr_array_remove(streams, s);
	stream_free(s);
	maybe_destroy_disposable(d, vm);
	maybe_destroy_disposable(d, caller);
}

/* Sends to the caller end; dropped when there is none. */
static void to_caller(struct qmgrd *d, struct stream *s,
		      enum qm_msg_type type, GVariant *payload)
{
	if (s->peer != NULL)
		qm_peer_send(s->peer, type, s->client_id, payload);
	else if (s->caller_vm != NULL)
		qm_lifecycle_agent_send(d, s->caller_vm, type, s->caller_id,
					payload);
	else
		g_variant_unref(g_variant_ref_sink(payload));
}

static void to_target(struct qmgrd *d, struct stream *s,
		      enum qm_msg_type type, GVariant *payload)
{
	if (s->vm != NULL)
		qm_lifecycle_agent_send(d, s->vm, type, s->agent_id, payload);
	else
		g_variant_unref(g_variant_ref_sink(payload));
}

static bool check_target(struct qmgrd *d, const char *vm, GError **error)
{
	guint32 version = qm_lifecycle_agent_version(d, vm);
	if (version != 0 && version < QM_WIRE_VERSION_2) {
		g_set_error(error, RUN_ERROR, 1,
			    "the agent of '%s' speaks protocol %u and cannot "
			    "run commands; its template needs an update",
			    vm, version);
		return false;
	}
	if (open_streams_of(vm) >= max_streams) {
		g_set_error(error, RUN_ERROR, 1,
			    "'%s' already has %u commands and calls open; "
			    "wait for some to end", vm, max_streams);
		return false;
	}
	return true;
}

static guint32 new_agent_id(void)
{
	guint32 id = next_agent_id++;
	if (next_agent_id >= QM_STREAM_GUEST)
		next_agent_id = 1;
	return id;
}

static struct stream *stream_new(const char *vm)
{
	struct stream *s = g_new0(struct stream, 1);
	s->vm = g_strdup(vm);
	for (int fd = 0; fd < 3; fd++) {
		s->agent_may[fd] = QM_WINDOW_INITIAL;
		s->client_may[fd] = QM_WINDOW_INITIAL;
	}
	return s;
}

static void attach_peer(struct stream *s, struct qm_peer *peer)
{
	s->peer = qm_peer_ref(peer);
	s->client_id = next_client_id++;
	if (next_client_id == 0)
		next_client_id = 1;
}

/* A new stream to `vm` for an admin client (or nobody), not yet open. */
static struct stream *stream_for(struct qmgrd *d, const char *vm,
				 struct qm_peer *peer, GError **error)
{
	ensure_registry();
	if (peer != NULL && !qm_peer_is_open(peer)) {
		/* The caller left while the qube was starting. */
		g_set_error(error, RUN_ERROR, 1, "the caller went away");
		return NULL;
	}
	if (!check_target(d, vm, error))
		return NULL;
	struct stream *s = stream_new(vm);
	if (peer != NULL)
		attach_peer(s, peer);
	return s;
}

/* Sends the message that opens the target end; takes `open`. */
static guint32 open_target(struct qmgrd *d, struct stream *s,
			   enum qm_msg_type type, GVariant *open,
			   bool pass_io, GError **error)
{
	s->agent_id = new_agent_id();
	if (!qm_lifecycle_agent_send(d, s->vm, type, s->agent_id, open)) {
		g_set_error(error, RUN_ERROR, 1,
			    "'%s' has no working agent channel (qvm-ls --json "
			    "shows why)", s->vm);
		stream_free(s);
		return 0;
	}
	if (!pass_io)
		qm_lifecycle_agent_send(d, s->vm, QM_MSG_EOF, s->agent_id,
					g_variant_new("(u)", 0u));
	g_ptr_array_add(streams, s);
	return s->peer ? s->client_id : 0;
}

guint32 qm_run_open(struct qmgrd *d, const char *vm, const char *user,
		    const char *command, struct qm_peer *peer, GError **error)
{
	struct stream *s = stream_for(d, vm, peer, error);
	if (s == NULL)
		return 0;
	return open_target(d, s, QM_MSG_EXEC,
			   g_variant_new("(ssu)", user, command,
					 peer ? QM_EXEC_RUN_PASS_IO : 0u),
			   peer != NULL, error);
}

guint32 qm_run_open_service(struct qmgrd *d, const char *vm, const char *user,
			    const char *service, const char *argument,
			    struct qm_peer *peer, GError **error)
{
	if (qm_lifecycle_agent_version(d, vm) < QM_WIRE_VERSION_3) {
		g_set_error(error, RUN_ERROR, 1,
			    "the agent of '%s' does not run services (protocol "
			    "%u < 3); its template needs an update", vm,
			    qm_lifecycle_agent_version(d, vm));
		return 0;
	}
	struct stream *s = stream_for(d, vm, peer, error);
	if (s == NULL)
		return 0;
	return open_target(d, s, QM_MSG_SERVICE,
			   g_variant_new("(sssssu)", user, service, argument,
					 "dom0", vm,
					 peer ? QM_EXEC_RUN_PASS_IO : 0u),
			   peer != NULL, error);
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

static struct stream *by_caller(const char *vm, guint32 id)
{
	for (guint i = 0; streams && i < streams->len; i++) {
		struct stream *s = g_ptr_array_index(streams, i);
		if (s->caller_id == id && g_strcmp0(s->caller_vm, vm) == 0)
			return s;
	}
	return NULL;
}

static struct stream *by_agent(const char *vm, guint32 id)
{
	for (guint i = 0; streams && i < streams->len; i++) {
		struct stream *s = g_ptr_array_index(streams, i);
		if (s->agent_id == id && g_strcmp0(s->vm, vm) == 0)
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

/* A message from the caller end of `s`: an admin client or a calling
 * qube; the same rules for both. */
static bool from_caller(struct qmgrd *d, struct stream *s,
			const struct qm_wire_msg *msg, GError **error)
{
	guint32 fd, n;
	bool pending = s->vm == NULL;

	switch (msg->type) {
	case QM_MSG_DATA: {
		g_autoptr(GVariant) data = NULL;
		g_variant_get(msg->payload, "(u@ay)", &fd, &data);
		gsize len = g_variant_get_size(data);
		if (fd != 0)
			return violation(error, "stream %u: data on fd %u "
					 "from the caller", msg->stream, fd);
		if (s->client_eof)
			return violation(error, "stream %u: data after EOF",
					 msg->stream);
		if (pending || !spend(s->client_may, 0, len))
			return violation(error, "stream %u: %zu bytes past "
					 "the stdin credit", msg->stream, len);
		to_target(d, s, QM_MSG_DATA, g_variant_ref(msg->payload));
		return true;
	}
	case QM_MSG_EOF:
		g_variant_get(msg->payload, "(u)", &fd);
		if (fd != 0 || s->client_eof)
			return violation(error, "stream %u: EOF of fd %u from "
					 "the caller%s", msg->stream, fd,
					 s->client_eof ? " again" : "");
		s->client_eof = true;
		/* A pending call passes it on when it is joined. */
		to_target(d, s, QM_MSG_EOF, g_variant_ref(msg->payload));
		return true;
	case QM_MSG_WINDOW:
		g_variant_get(msg->payload, "(uu)", &fd, &n);
		if (pending || (fd != 1 && !(fd == 2 && !s->stderr_local)) ||
		    !grant(s->agent_may, fd, n))
			return violation(error, "stream %u: bad WINDOW",
					 msg->stream);
		to_target(d, s, QM_MSG_WINDOW, g_variant_ref(msg->payload));
		return true;
	case QM_MSG_CLOSE:
		to_target(d, s, QM_MSG_CLOSE,
			  g_variant_new("(s)", "closed by the caller"));
		forget(d, s);
		return true;
	default:
		return violation(error, "stream %u: unexpected message type %d",
				 msg->stream, msg->type);
	}
}

/* Stream messages that may still come for a stream that just ended (its
 * EXIT or CLOSE crossing them): dropped, they are harmless. */
static bool late_message(enum qm_msg_type type)
{
	return type == QM_MSG_WINDOW || type == QM_MSG_CLOSE ||
	       type == QM_MSG_DATA || type == QM_MSG_EOF ||
	       type == QM_MSG_EXIT;
}

bool qm_run_from_client(struct qmgrd *d, struct qm_peer *peer,
			const struct qm_wire_msg *msg, GError **error)
{
	struct stream *s = by_client(peer, msg->stream);

	if (s == NULL) {
		if (late_message(msg->type) && msg->type != QM_MSG_EXIT)
			return true;
		return violation(error, "message type %d for unknown stream %u",
				 msg->type, msg->stream);
	}
	return from_caller(d, s, msg, error);
}

void qm_run_client_gone(struct qmgrd *d, struct qm_peer *peer)
{
	for (guint i = 0; streams && i < streams->len;) {
		struct stream *s = g_ptr_array_index(streams, i);
		if (s->peer != peer) {
			i++;
			continue;
		}
		to_target(d, s, QM_MSG_CLOSE,
			  g_variant_new("(s)", "the caller went away"));
		forget(d, s);
	}
}

/* CALL: a qube opens a call; rpc.c decides it. */
static bool on_call(struct qmgrd *d, const char *vm,
		    const struct qm_wire_msg *msg, GError **error)
{
	const char *untrusted_target, *untrusted_service;

	/* a qube's call may come before any command since qmgrd started */
	ensure_registry();
	if (by_caller(vm, msg->stream) != NULL)
		return violation(error, "CALL on stream %u, which is open",
				 msg->stream);
	if (qm_lifecycle_agent_version(d, vm) < QM_WIRE_VERSION_3)
		return violation(error, "CALL from an agent that announced "
				 "protocol %u",
				 qm_lifecycle_agent_version(d, vm));
	g_variant_get(msg->payload, "(&s&s)", &untrusted_target,
		      &untrusted_service);
	if (open_streams_of(vm) >= max_streams) {
		g_autofree char *why = g_strdup_printf(
			"'%s' already has %u calls and commands open",
			vm, max_streams);
		qm_lifecycle_agent_send(d, vm, QM_MSG_CLOSE, msg->stream,
					g_variant_new("(s)", why));
		return true;
	}
	struct stream *s = stream_new(NULL);
	s->caller_vm = g_strdup(vm);
	s->caller_id = msg->stream;
	s->stderr_local = true;
	/* The caller may send nothing but EOF or CLOSE until the call is
	 * joined (from_caller refuses the rest while it is pending). */
	g_ptr_array_add(streams, s);
	/* rpc.c checks the names (they are the guest's words). */
	qm_rpc_call(d, vm, msg->stream, untrusted_target, untrusted_service);
	return true;
}

static struct stream *pending_call(const char *caller, guint32 id)
{
	struct stream *s = by_caller(caller, id);
	return s != NULL && s->vm == NULL ? s : NULL;
}

bool qm_run_call_pending(struct qmgrd *d, const char *caller, guint32 id)
{
	return pending_call(caller, id) != NULL;
}

bool qm_run_call_join(struct qmgrd *d, const char *caller, guint32 id,
		      const char *target, const char *user,
		      const char *service, const char *argument,
		      const char *requested_target, GError **error)
{
	struct stream *s = pending_call(caller, id);

	if (s == NULL) {
		g_set_error(error, RUN_ERROR, 1, "the caller went away");
		return false;
	}
	if (qm_lifecycle_agent_version(d, target) < QM_WIRE_VERSION_3) {
		g_set_error(error, RUN_ERROR, 1,
			    "the agent of '%s' does not run services; its "
			    "template needs an update", target);
		qm_run_call_refuse(d, caller, id, (*error)->message);
		return false;
	}
	/* The call itself counts as one of the caller's streams. */
	if (open_streams_of(target) >= max_streams +
	    (strcmp(target, caller) == 0)) {
		g_set_error(error, RUN_ERROR, 1,
			    "'%s' already has %u commands and calls open",
			    target, max_streams);
		qm_run_call_refuse(d, caller, id, (*error)->message);
		return false;
	}
	s->vm = g_strdup(target);
	s->agent_id = new_agent_id();
	if (!qm_lifecycle_agent_send(
		    d, target, QM_MSG_SERVICE, s->agent_id,
		    g_variant_new("(sssssu)", user, service, argument, caller,
				  requested_target,
				  QM_EXEC_RUN_PASS_IO | QM_EXEC_STDERR_LOCAL))) {
		g_set_error(error, RUN_ERROR, 1,
			    "'%s' has no working agent channel", target);
		g_clear_pointer(&s->vm, g_free);
		qm_run_call_refuse(d, caller, id, (*error)->message);
		return false;
	}
	if (s->client_eof)
		to_target(d, s, QM_MSG_EOF, g_variant_new("(u)", 0u));
	/* The first credit tells the caller the call is joined. */
	to_caller(d, s, QM_MSG_WINDOW,
		  g_variant_new("(uu)", 0u, (guint32)QM_WINDOW_INITIAL));
	return true;
}

void qm_run_call_refuse(struct qmgrd *d, const char *caller, guint32 id,
			const char *why)
{
	struct stream *s = pending_call(caller, id);

	if (s == NULL)
		return;
	to_caller(d, s, QM_MSG_CLOSE, g_variant_new("(s)", why));
	forget(d, s);
}

void qm_run_call_answer(struct qmgrd *d, const char *caller, guint32 id,
			GBytes *output, int status)
{
	struct stream *s = pending_call(caller, id);
	gsize len, off = 0;
	const guint8 *p = g_bytes_get_data(output, &len);

	if (s == NULL)
		return;
	/* Joined (to qmgrd itself): the caller may start its local program;
	 * what it sends is dropped with the stream. */
	to_caller(d, s, QM_MSG_WINDOW,
		  g_variant_new("(uu)", 0u, (guint32)QM_WINDOW_INITIAL));
	/* Within the caller's initial credit: larger answers are cut. */
	len = MIN(len, (gsize)QM_WINDOW_INITIAL);
	while (off < len) {
		gsize n = MIN(len - off, (gsize)QM_DATA_MAX);
		to_caller(d, s, QM_MSG_DATA,
			  g_variant_new("(u@ay)", 1u,
					g_variant_new_fixed_array(
						G_VARIANT_TYPE_BYTE, p + off,
						n, 1)));
		off += n;
	}
	to_caller(d, s, QM_MSG_EOF, g_variant_new("(u)", 1u));
	to_caller(d, s, QM_MSG_EXIT, g_variant_new("(i)", status));
	forget(d, s);
}

bool qm_run_from_agent(struct qmgrd *d, const char *vm,
		       const struct qm_wire_msg *msg, GError **error)
{
	guint32 fd, n;

	if (msg->stream & QM_STREAM_GUEST) {
		/* The qube's end of a call it makes. */
		if (msg->type == QM_MSG_CALL)
			return on_call(d, vm, msg, error);
		struct stream *c = by_caller(vm, msg->stream);
		if (c == NULL) {
			if (late_message(msg->type) && msg->type != QM_MSG_EXIT)
				return true;
			return violation(error, "message type %d for unknown "
					 "call %u", msg->type, msg->stream);
		}
		return from_caller(d, c, msg, error);
	}

	struct stream *s = by_agent(vm, msg->stream);
	if (s == NULL) {
		/* For a command the caller closed: its last output, EOF or
		 * EXIT may still be on the way.  Dropped. */
		if (late_message(msg->type))
			return true;
		return violation(error, "message type %d for unknown stream %u",
				 msg->type, msg->stream);
	}
	switch (msg->type) {
	case QM_MSG_DATA: {
		g_autoptr(GVariant) data = NULL;
		g_variant_get(msg->payload, "(u@ay)", &fd, &data);
		gsize len = g_variant_get_size(data);
		if (fd != 1 && !(fd == 2 && !s->stderr_local))
			return violation(error, "stream %u: data on fd %u "
					 "from the guest", msg->stream, fd);
		if (!spend(s->agent_may, fd, len))
			return violation(error, "stream %u: %zu bytes past "
					 "the credit of fd %u", msg->stream,
					 len, fd);
		if (s->peer == NULL && s->caller_vm == NULL) {
			/* Nobody reads it: drop it and take more. */
			grant(s->agent_may, fd, (guint32)len);
			qm_lifecycle_agent_send(d, vm, QM_MSG_WINDOW,
						s->agent_id,
						g_variant_new("(uu)", fd,
							      (guint32)len));
			return true;
		}
		to_caller(d, s, QM_MSG_DATA, g_variant_ref(msg->payload));
		return true;
	}
	case QM_MSG_EOF:
		g_variant_get(msg->payload, "(u)", &fd);
		if (fd != 1 && fd != 2)
			return violation(error, "stream %u: EOF of fd %u from "
					 "the guest", msg->stream, fd);
		/* A calling qube gets stdout only. */
		if (fd == 1 || !s->stderr_local)
			to_caller(d, s, QM_MSG_EOF,
				  g_variant_ref(msg->payload));
		return true;
	case QM_MSG_WINDOW:
		g_variant_get(msg->payload, "(uu)", &fd, &n);
		if (fd != 0 || !grant(s->client_may, 0, n))
			return violation(error, "stream %u: bad WINDOW",
					 msg->stream);
		to_caller(d, s, QM_MSG_WINDOW, g_variant_ref(msg->payload));
		return true;
	case QM_MSG_EXIT:
	case QM_MSG_CLOSE:
		to_caller(d, s, msg->type, g_variant_ref(msg->payload));
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
		bool target = g_strcmp0(s->vm, vm) == 0;
		bool caller = g_strcmp0(s->caller_vm, vm) == 0;
		if (!target && !caller) {
			i++;
			continue;
		}
		g_autofree char *reason = g_strdup_printf(
			"the agent of '%s' is gone: %s", vm, why);
		if (target && !caller)
			to_caller(d, s, QM_MSG_CLOSE,
				  g_variant_new("(s)", reason));
		if (caller && !target)
			to_target(d, s, QM_MSG_CLOSE,
				  g_variant_new("(s)", reason));
		forget(d, s);
	}
}
