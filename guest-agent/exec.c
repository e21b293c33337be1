/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Streams: what qmgrd sends is checked against the stream's state (open,
 * fd, direction, credit) before anything is done with it.  Output is read
 * only while the host has credit for it, so a host that stops granting
 * WINDOWs stalls that command alone; input is buffered up to the credit
 * the agent granted, and the credit is returned as the command takes it.
 */
#include "exec.h"

#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <gio/gio.h>
#include <glib-unix.h>

#include "proc.h"

/* How many streams the agent ended itself (EXIT, refusal) it remembers:
 * the host may have sent WINDOW, CLOSE or stdin for them before it saw the
 * end, and those must not count as violations. */
#define RECENT_MAX (4 * QM_STREAMS_MAX)
/* Exit status for a command that could not be started, as sh uses. */
#define STATUS_NOT_STARTED 127

struct stream;

/* stdout or stderr of a command, read towards the host. */
struct output {
	struct stream *s;
	uint32_t fd_no;      /* 1 or 2 */
	int fd;              /* -1 once at EOF */
	guint source;        /* reading; 0 while out of credit */
	uint32_t credit;     /* bytes the host still takes */
};

struct stream {
	struct agent_exec *ex;
	uint32_t id;
	GPid pid;
	guint child_watch;   /* 0 once reaped */
	bool exited;
	int32_t status;
	struct output out[2];

	/* stdin, written from the host's DATA */
	int in_fd;           /* -1 once closed */
	guint in_source;     /* waiting for the pipe to take more */
	GQueue in_queue;     /* GBytes * not written yet */
	size_t in_offset;    /* bytes of the head already written */
	uint32_t in_credit;  /* bytes the host may still send */
	bool in_eof;         /* the host sent EOF(0) */
	bool in_discard;     /* the command's stdin is gone: drop input */
};

struct agent_exec {
	struct qm_conn *conn;
	GHashTable *streams; /* stream id -> struct stream * */
	uint32_t recent[RECENT_MAX]; /* ids of ended streams; 0: free */
	unsigned recent_next;
};

static const char *type_name(enum qm_msg_type type)
{
	switch (type) {
	case QM_MSG_EXEC: return "EXEC";
	case QM_MSG_DATA: return "DATA";
	case QM_MSG_EOF: return "EOF";
	case QM_MSG_EXIT: return "EXIT";
	case QM_MSG_WINDOW: return "WINDOW";
	case QM_MSG_CLOSE: return "CLOSE";
	default: return "a non-stream message";
	}
}

static bool violation(GError **error, const char *fmt, ...)
	G_GNUC_PRINTF(2, 3);
static bool violation(GError **error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error_literal(error, QM_WIRE_ERROR_DOMAIN, 2, msg);
	return false;
}

static void remember_ended(struct agent_exec *ex, uint32_t id)
{
	ex->recent[ex->recent_next] = id;
	ex->recent_next = (ex->recent_next + 1) % RECENT_MAX;
}

static bool recently_ended(const struct agent_exec *ex, uint32_t id)
{
	for (unsigned i = 0; i < RECENT_MAX; i++)
		if (ex->recent[i] == id)
			return true;
	return false;
}

static void forget_ended(struct agent_exec *ex, uint32_t id)
{
	for (unsigned i = 0; i < RECENT_MAX; i++)
		if (ex->recent[i] == id)
			ex->recent[i] = 0;
}

static void send_eof(struct agent_exec *ex, uint32_t id, uint32_t fd)
{
	qm_conn_send(ex->conn, QM_MSG_EOF, id, g_variant_new("(u)", fd));
}

/* Sends DATA; takes buf. */
static void send_data(struct agent_exec *ex, uint32_t id, uint32_t fd,
		      void *buf, size_t len)
{
	GVariant *bytes = g_variant_new_from_data(G_VARIANT_TYPE_BYTESTRING,
						  buf, len, TRUE, g_free, buf);
	qm_conn_send(ex->conn, QM_MSG_DATA, id,
		     g_variant_new("(u@ay)", fd, bytes));
}

/* Frees a stream already out of the table; `kill` ends its process group
 * (CLOSE, or the channel going away). */
static void stream_free(struct stream *s, bool kill)
{
	for (int i = 0; i < 2; i++) {
		if (s->out[i].source)
			g_source_remove(s->out[i].source);
		if (s->out[i].fd >= 0)
			close(s->out[i].fd);
	}
	if (s->in_source)
		g_source_remove(s->in_source);
	if (s->in_fd >= 0)
		close(s->in_fd);
	g_queue_clear_full(&s->in_queue, (GDestroyNotify)g_bytes_unref);
	if (s->child_watch)
		g_source_remove(s->child_watch);
	if (kill)
		agent_proc_terminate(s->pid, s->exited);
	g_free(s);
}

/* The command has exited and its output is all sent: EXIT ends it. */
static void maybe_finish(struct stream *s)
{
	struct agent_exec *ex = s->ex;

	if (!s->exited || s->out[0].fd >= 0 || s->out[1].fd >= 0)
		return;
	g_debug("stream %u: exit status %d", s->id, s->status);
	qm_conn_send(ex->conn, QM_MSG_EXIT, s->id,
		     g_variant_new("(i)", s->status));
	g_hash_table_remove(ex->streams, GUINT_TO_POINTER(s->id));
	remember_ended(ex, s->id);
	stream_free(s, false);
}

static void on_child_exit(GPid pid, gint wait_status, gpointer data)
{
	struct stream *s = data;

	s->child_watch = 0;
	s->exited = true;
	if (WIFEXITED(wait_status))
		s->status = WEXITSTATUS(wait_status);
	else if (WIFSIGNALED(wait_status))
		s->status = 128 + WTERMSIG(wait_status);
	else
		s->status = 255;
	g_spawn_close_pid(pid);
	maybe_finish(s);
}

static gboolean on_output(int fd, GIOCondition cond, gpointer data);

static void output_watch(struct output *o)
{
	if (o->fd >= 0 && o->source == 0 && o->credit > 0)
		o->source = g_unix_fd_add(o->fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
					  on_output, o);
}

static gboolean on_output(int fd, GIOCondition cond, gpointer data)
{
	struct output *o = data;
	struct stream *s = o->s;
	size_t want = MIN(o->credit, QM_DATA_MAX);
	uint8_t *buf = g_malloc(want);

	ssize_t n = read(fd, buf, want);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		g_free(buf);
		return G_SOURCE_CONTINUE;
	}
	if (n <= 0) {
		if (n < 0)
			g_debug("stream %u: reading fd %u: %s", s->id,
				o->fd_no, g_strerror(errno));
		g_free(buf);
		o->source = 0;
		close(o->fd);
		o->fd = -1;
		send_eof(s->ex, s->id, o->fd_no);
		maybe_finish(s); /* may free s and o */
		return G_SOURCE_REMOVE;
	}
	o->credit -= (uint32_t)n;
	send_data(s->ex, s->id, o->fd_no, buf, (size_t)n);
	if (o->credit == 0) {
		/* Out of credit: the pipe fills and the command blocks until
		 * the host's WINDOW. */
		o->source = 0;
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static void grant_input(struct stream *s, size_t n)
{
	if (n == 0)
		return;
	/* Cannot overflow: in_credit + what is queued or in flight never
	 * exceeds QM_WINDOW_INITIAL. */
	s->in_credit += (uint32_t)n;
	qm_conn_send(s->ex->conn, QM_MSG_WINDOW, s->id,
		     g_variant_new("(uu)", 0u, (guint32)n));
}

static void close_input(struct stream *s)
{
	if (s->in_source)
		g_source_remove(s->in_source);
	s->in_source = 0;
	if (s->in_fd >= 0)
		close(s->in_fd);
	s->in_fd = -1;
}

/* The command's stdin is gone: whatever comes for it is dropped, and its
 * credit returned at once so that the host does not stall. */
static void discard_input(struct stream *s)
{
	size_t queued = 0;

	for (GList *l = s->in_queue.head; l; l = l->next)
		queued += g_bytes_get_size(l->data);
	queued -= s->in_offset;
	g_queue_clear_full(&s->in_queue, (GDestroyNotify)g_bytes_unref);
	s->in_offset = 0;
	s->in_discard = true;
	close_input(s);
	grant_input(s, queued);
}

static gboolean on_input_writable(int fd, GIOCondition cond, gpointer data);

/* Writes what the command's stdin takes and grants that much back. */
static void flush_input(struct stream *s)
{
	size_t written = 0;

	while (!g_queue_is_empty(&s->in_queue)) {
		GBytes *b = g_queue_peek_head(&s->in_queue);
		gsize size;
		const uint8_t *p = g_bytes_get_data(b, &size);
		ssize_t n = write(s->in_fd, p + s->in_offset,
				  size - s->in_offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			/* EPIPE: the command closed its stdin (or exited). */
			g_debug("stream %u: writing stdin: %s", s->id,
				g_strerror(errno));
			grant_input(s, written);
			discard_input(s);
			return;
		}
		written += (size_t)n;
		s->in_offset += (size_t)n;
		if (s->in_offset == size) {
			g_bytes_unref(g_queue_pop_head(&s->in_queue));
			s->in_offset = 0;
		}
	}
	grant_input(s, written);
	if (g_queue_is_empty(&s->in_queue)) {
		if (s->in_eof)
			close_input(s);
		else if (s->in_source)
			g_source_remove(s->in_source);
		s->in_source = 0;
	} else if (s->in_source == 0) {
		s->in_source = g_unix_fd_add(s->in_fd, G_IO_OUT | G_IO_ERR,
					     on_input_writable, s);
	}
}

static gboolean on_input_writable(int fd, GIOCondition cond, gpointer data)
{
	struct stream *s = data;
	guint self = s->in_source;

	flush_input(s);
	/* flush_input removed this source if it is done with it. */
	return s->in_source == self ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static bool on_data(struct stream *s, GVariant *payload, GError **error)
{
	guint32 untrusted_fd;
	g_autoptr(GVariant) untrusted_bytes = NULL;

	g_variant_get(payload, "(u@ay)", &untrusted_fd, &untrusted_bytes);
	if (untrusted_fd != 0)
		return violation(error, "stream %u: DATA for fd %u from the "
				 "host (only fd 0, stdin, goes to the guest)",
				 s->id, untrusted_fd);
	if (s->in_eof)
		return violation(error, "stream %u: DATA after EOF", s->id);
	gsize untrusted_len = g_variant_get_size(untrusted_bytes);
	if (untrusted_len > s->in_credit)
		return violation(error, "stream %u: %zu bytes of DATA beyond "
				 "the credit of %u", s->id, untrusted_len,
				 s->in_credit);
	/* sanitized: within the credit, so within what we buffer */
	size_t len = untrusted_len;
	s->in_credit -= (uint32_t)len;
	if (len == 0)
		return true;
	if (s->in_discard) {
		grant_input(s, len);
		return true;
	}
	g_queue_push_tail(&s->in_queue,
			  g_variant_get_data_as_bytes(untrusted_bytes));
	flush_input(s);
	return true;
}

static bool on_eof(struct stream *s, GVariant *payload, GError **error)
{
	guint32 untrusted_fd;

	g_variant_get(payload, "(u)", &untrusted_fd);
	if (untrusted_fd != 0)
		return violation(error, "stream %u: EOF for fd %u from the "
				 "host", s->id, untrusted_fd);
	if (s->in_eof)
		return violation(error, "stream %u: a second EOF", s->id);
	s->in_eof = true;
	if (g_queue_is_empty(&s->in_queue))
		close_input(s);
	return true;
}

static bool on_window(struct stream *s, GVariant *payload, GError **error)
{
	guint32 untrusted_fd, untrusted_bytes;

	g_variant_get(payload, "(uu)", &untrusted_fd, &untrusted_bytes);
	if (untrusted_fd != 1 && untrusted_fd != 2)
		return violation(error, "stream %u: WINDOW for fd %u from "
				 "the host", s->id, untrusted_fd);
	struct output *o = &s->out[untrusted_fd - 1];
	if ((uint64_t)o->credit + untrusted_bytes > UINT32_MAX)
		return violation(error, "stream %u: WINDOW of %u bytes "
				 "overflows the credit of %u", s->id,
				 untrusted_bytes, o->credit);
	o->credit += untrusted_bytes;
	output_watch(o);
	return true;
}

static void on_close(struct stream *s, GVariant *payload)
{
	const char *untrusted_reason;

	g_variant_get(payload, "(&s)", &untrusted_reason);
	/* Only logged: keep it printable. */
	g_autofree char *reason = g_strescape(untrusted_reason, NULL);
	g_debug("stream %u: closed by the host (%s)", s->id, reason);
	g_hash_table_remove(s->ex->streams, GUINT_TO_POINTER(s->id));
	stream_free(s, true);
}

/* The command was not started: the host sees why on stderr and 127. */
static void refuse(struct agent_exec *ex, uint32_t id, const char *why)
{
	char *msg = g_strdup_printf("qmgr-agent: %s\n", why);

	send_data(ex, id, 2, msg, strlen(msg));
	send_eof(ex, id, 1);
	send_eof(ex, id, 2);
	qm_conn_send(ex->conn, QM_MSG_EXIT, id,
		     g_variant_new("(i)", STATUS_NOT_STARTED));
	remember_ended(ex, id);
}

static bool on_exec(struct agent_exec *ex, uint32_t id, GVariant *payload,
		    GError **error)
{
	const char *untrusted_user, *untrusted_command;
	guint32 untrusted_flags;

	g_variant_get(payload, "(&s&su)", &untrusted_user, &untrusted_command,
		      &untrusted_flags);
	if (id == 0)
		return violation(error, "EXEC on stream 0");
	if (g_hash_table_contains(ex->streams, GUINT_TO_POINTER(id)))
		return violation(error, "EXEC on stream %u, which is open",
				 id);
	if (strlen(untrusted_command) > QM_COMMAND_MAX)
		return violation(error, "stream %u: a command of more than "
				 "%u bytes", id, QM_COMMAND_MAX);
	if (untrusted_flags & ~QM_EXEC_RUN_PASS_IO)
		return violation(error, "stream %u: unknown EXEC flags 0x%x",
				 id, untrusted_flags);
	/* sanitized: bounded, NUL-free (GVariant strings); the user name
	 * is checked by agent_proc_spawn */
	const char *command = untrusted_command;
	bool pass_io = untrusted_flags & QM_EXEC_RUN_PASS_IO;

	forget_ended(ex, id);
	if (g_hash_table_size(ex->streams) >= QM_STREAMS_MAX) {
		g_message("stream %u: refused, %d streams are open", id,
			  QM_STREAMS_MAX);
		qm_conn_send(ex->conn, QM_MSG_CLOSE, id,
			     g_variant_new("(s)", "too many streams"));
		remember_ended(ex, id);
		return true;
	}
	if (*command == '\0') {
		refuse(ex, id, "empty command");
		return true;
	}

	struct agent_proc p;
	g_autoptr(GError) err = NULL;
	if (!agent_proc_spawn(untrusted_user, command, pass_io, &p, &err)) {
		g_message("stream %u: %s", id, err->message);
		refuse(ex, id, err->message);
		return true;
	}
	g_debug("stream %u: pid %d runs: %s", id, (int)p.pid, command);

	struct stream *s = g_new0(struct stream, 1);
	s->ex = ex;
	s->id = id;
	s->pid = p.pid;
	s->out[0] = (struct output){ s, 1, p.stdout_fd, 0, QM_WINDOW_INITIAL };
	s->out[1] = (struct output){ s, 2, p.stderr_fd, 0, QM_WINDOW_INITIAL };
	s->in_fd = p.stdin_fd;
	g_queue_init(&s->in_queue);
	s->in_credit = QM_WINDOW_INITIAL;
	s->in_discard = s->in_fd < 0;
	g_hash_table_insert(ex->streams, GUINT_TO_POINTER(id), s);
	s->child_watch = g_child_watch_add(p.pid, on_child_exit, s);
	for (int i = 0; i < 2; i++) {
		if (s->out[i].fd < 0)
			send_eof(ex, id, s->out[i].fd_no);
		else
			output_watch(&s->out[i]);
	}
	return true;
}

/* A message for a stream that is not open. */
static bool on_unknown_stream(struct agent_exec *ex,
			      const struct qm_wire_msg *msg, GError **error)
{
	guint32 fd = 0;

	if (msg->stream != 0 && recently_ended(ex, msg->stream)) {
		/* Crossed our EXIT (or refusal) on the way: credit and
		 * CLOSE no longer matter, stdin has no taker. */
		switch (msg->type) {
		case QM_MSG_WINDOW:
		case QM_MSG_CLOSE:
			return true;
		case QM_MSG_DATA:
		case QM_MSG_EOF:
			g_variant_get_child(msg->payload, 0, "u", &fd);
			if (fd == 0)
				return true;
			break;
		default:
			break;
		}
	}
	return violation(error, "%s on stream %u, which is not open",
			 type_name(msg->type), msg->stream);
}

bool agent_exec_handle(struct agent_exec *ex, const struct qm_wire_msg *msg,
		       GError **error)
{
	struct stream *s;

	switch (msg->type) {
	case QM_MSG_EXEC:
		return on_exec(ex, msg->stream, msg->payload, error);
	case QM_MSG_DATA:
	case QM_MSG_EOF:
	case QM_MSG_WINDOW:
	case QM_MSG_CLOSE:
		break;
	default:
		return violation(error, "%s (type %u) from the host on stream "
				 "%u", type_name(msg->type), msg->type,
				 msg->stream);
	}

	s = g_hash_table_lookup(ex->streams, GUINT_TO_POINTER(msg->stream));
	if (s == NULL)
		return on_unknown_stream(ex, msg, error);
	switch (msg->type) {
	case QM_MSG_DATA:
		return on_data(s, msg->payload, error);
	case QM_MSG_EOF:
		return on_eof(s, msg->payload, error);
	case QM_MSG_WINDOW:
		return on_window(s, msg->payload, error);
	case QM_MSG_CLOSE:
		on_close(s, msg->payload);
		return true;
	default:
		g_assert_not_reached();
	}
}

bool agent_exec_carries(enum qm_msg_type type)
{
	return type >= QM_MSG_EXEC && type <= QM_MSG_CLOSE;
}

struct agent_exec *agent_exec_create(struct qm_conn *conn)
{
	struct agent_exec *ex = g_new0(struct agent_exec, 1);

	ex->conn = conn;
	ex->streams = g_hash_table_new(g_direct_hash, g_direct_equal);
	return ex;
}

void agent_exec_destroy(struct agent_exec *ex)
{
	GHashTableIter it;
	gpointer value;

	if (ex == NULL)
		return;
	if (g_hash_table_size(ex->streams) > 0)
		g_message("ending %u running commands",
			  g_hash_table_size(ex->streams));
	g_hash_table_iter_init(&it, ex->streams);
	while (g_hash_table_iter_next(&it, NULL, &value))
		stream_free(value, true);
	g_hash_table_destroy(ex->streams);
	g_free(ex);
}
