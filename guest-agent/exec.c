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
#include "service.h"

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

/*
 * A stream is a command (EXEC or SERVICE from the host: a process whose
 * stdin we write from DATA fd 0 and whose stdout/stderr we send as fd 1/2)
 * or a call this guest makes (CALL: the local client's pipes; what it
 * writes goes out as fd 0, DATA fd 1 from the host is written to it, and
 * the host's EXIT ends it).  The same machinery serves both: `in` is what
 * the host sends us, `out` what we read and send.
 */
struct stream {
	struct agent_exec *ex;
	uint32_t id;
	bool call;           /* a call of ours, else a command */
	uint32_t in_fd_no;   /* 0 for a command, 1 for a call */
	agent_call_accepted_fn accepted; /* call: qmgrd joined it */
	agent_call_done_fn done;   /* call: told how it ended */
	void *done_data;
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
	char *service_dirs;
	uint32_t next_call_id;
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
	case QM_MSG_CALL: return "CALL";
	case QM_MSG_SERVICE: return "SERVICE";
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

/* Sends DATA; takes buf, whose data start after QM_DATA_HEADROOM bytes. */
static void send_data(struct agent_exec *ex, uint32_t id, uint32_t fd,
		      uint8_t *buf, size_t len)
{
	qm_conn_send(ex->conn, QM_MSG_DATA, id,
		     qm_wire_data_payload_take(fd, buf, len));
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
	if (kill && s->pid > 0)
		agent_proc_terminate(s->pid, s->exited);
	g_free(s);
}

static void call_maybe_finish(struct stream *s);

/* The command has exited and its output is all sent: EXIT ends it. */
static void maybe_finish(struct stream *s)
{
	struct agent_exec *ex = s->ex;

	if (s->call) {
		call_maybe_finish(s);
		return;
	}
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
	uint8_t *buf = g_malloc(QM_DATA_HEADROOM + want);

	ssize_t n = read(fd, buf + QM_DATA_HEADROOM, want);
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
		     g_variant_new("(uu)", s->in_fd_no, (guint32)n));
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
	if (untrusted_fd != s->in_fd_no)
		return violation(error, "stream %u: DATA for fd %u from the "
				 "host (only fd %u goes to the guest)",
				 s->id, untrusted_fd, s->in_fd_no);
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
	if (untrusted_fd != s->in_fd_no)
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
	struct output *o = NULL;
	for (int i = 0; i < 2; i++)
		if (s->out[i].fd_no == untrusted_fd)
			o = &s->out[i];
	if (o == NULL)
		return violation(error, "stream %u: WINDOW for fd %u from "
				 "the host", s->id, untrusted_fd);
	if ((uint64_t)o->credit + untrusted_bytes > UINT32_MAX)
		return violation(error, "stream %u: WINDOW of %u bytes "
				 "overflows the credit of %u", s->id,
				 untrusted_bytes, o->credit);
	o->credit += untrusted_bytes;
	if (s->call && s->accepted) {
		/* The first WINDOW of a call says qmgrd has joined it. */
		agent_call_accepted_fn accepted = s->accepted;
		s->accepted = NULL;
		accepted(s->done_data);
	}
	output_watch(o);
	return true;
}

static void on_close(struct stream *s, GVariant *payload)
{
	const char *untrusted_reason;

	g_variant_get(payload, "(&s)", &untrusted_reason);
	/* Logged and shown to the caller: keep it printable. */
	g_autofree char *reason = g_strescape(untrusted_reason, NULL);
	g_debug("stream %u: closed by the host (%s)", s->id, reason);
	g_hash_table_remove(s->ex->streams, GUINT_TO_POINTER(s->id));
	if (s->call && s->done)
		s->done(-1, reason, s->done_data);
	stream_free(s, true);
}

/* The command was not started: the host sees why on stderr and 127. */
static void refuse(struct agent_exec *ex, uint32_t id, const char *why,
		   bool stderr_local)
{
	/* A calling qube gets stdout only: the reason stays in our log
	 * (the caller of refuse logged it). */
	if (!stderr_local) {
		g_autofree char *msg = g_strdup_printf("qmgr-agent: %s\n", why);
		size_t len = strlen(msg);
		uint8_t *buf = g_malloc(QM_DATA_HEADROOM + len);
		memcpy(buf + QM_DATA_HEADROOM, msg, len);
		send_data(ex, id, 2, buf, len);
	}
	send_eof(ex, id, 1);
	send_eof(ex, id, 2);
	qm_conn_send(ex->conn, QM_MSG_EXIT, id,
		     g_variant_new("(i)", STATUS_NOT_STARTED));
	remember_ended(ex, id);
}

/* Checks what EXEC and SERVICE have in common; false on a violation,
 * *refused when the stream cannot be taken (too many open). */
static bool check_open(struct agent_exec *ex, uint32_t id, const char *what,
		       guint32 untrusted_flags, bool *refused, GError **error)
{
	*refused = false;
	if (id == 0 || (id & QM_STREAM_GUEST))
		return violation(error, "%s on stream %u, which the host may "
				 "not open", what, id);
	if (g_hash_table_contains(ex->streams, GUINT_TO_POINTER(id)))
		return violation(error, "%s on stream %u, which is open", what,
				 id);
	if (untrusted_flags & ~QM_EXEC_FLAGS)
		return violation(error, "stream %u: unknown %s flags 0x%x",
				 id, what, untrusted_flags);
	forget_ended(ex, id);
	if (g_hash_table_size(ex->streams) >= QM_STREAMS_MAX) {
		g_message("stream %u: refused, %d streams are open", id,
			  QM_STREAMS_MAX);
		qm_conn_send(ex->conn, QM_MSG_CLOSE, id,
			     g_variant_new("(s)", "too many streams"));
		remember_ended(ex, id);
		*refused = true;
	}
	return true;
}

/* Starts the process of an EXEC or SERVICE stream. */
static void start_command(struct agent_exec *ex, uint32_t id,
			  const struct agent_proc_spec *spec)
{
	struct agent_proc p;
	g_autoptr(GError) err = NULL;

	if (!agent_proc_start(spec, &p, &err)) {
		g_message("stream %u: %s", id, err->message);
		refuse(ex, id, err->message, spec->stderr_local);
		return;
	}
	g_debug("stream %u: pid %d runs: %s", id, (int)p.pid,
		spec->command ? spec->command : spec->argv[0]);

	struct stream *s = g_new0(struct stream, 1);
	s->ex = ex;
	s->id = id;
	s->in_fd_no = 0;
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
}

static bool on_exec(struct agent_exec *ex, uint32_t id, GVariant *payload,
		    GError **error)
{
	const char *untrusted_user, *untrusted_command;
	guint32 untrusted_flags;
	bool refused;

	g_variant_get(payload, "(&s&su)", &untrusted_user, &untrusted_command,
		      &untrusted_flags);
	if (!check_open(ex, id, "EXEC", untrusted_flags, &refused, error))
		return false;
	if (strlen(untrusted_command) > QM_COMMAND_MAX)
		return violation(error, "stream %u: a command of more than "
				 "%u bytes", id, QM_COMMAND_MAX);
	if (refused)
		return true;
	/* sanitized: bounded, NUL-free (GVariant strings); the user name
	 * is checked by agent_proc_start */
	const char *command = untrusted_command;

	if (*command == '\0') {
		refuse(ex, id, "empty command",
		       untrusted_flags & QM_EXEC_STDERR_LOCAL);
		return true;
	}
	const struct agent_proc_spec spec = {
		.user = untrusted_user,
		.command = command,
		.pipes = untrusted_flags & QM_EXEC_RUN_PASS_IO,
		.stderr_local = untrusted_flags & QM_EXEC_STDERR_LOCAL,
	};
	start_command(ex, id, &spec);
	return true;
}

static bool on_service(struct agent_exec *ex, uint32_t id, GVariant *payload,
		       GError **error)
{
	const char *untrusted_user, *untrusted_service, *untrusted_argument;
	const char *untrusted_source, *untrusted_target;
	guint32 untrusted_flags;
	bool refused;

	g_variant_get(payload, "(&s&s&s&s&su)", &untrusted_user,
		      &untrusted_service, &untrusted_argument,
		      &untrusted_source, &untrusted_target, &untrusted_flags);
	if (!check_open(ex, id, "SERVICE", untrusted_flags, &refused, error))
		return false;
	if (refused)
		return true;

	/* agent_service_resolve checks every name. */
	struct agent_service svc;
	g_autoptr(GError) err = NULL;
	if (!agent_service_resolve(ex->service_dirs, untrusted_service,
				   untrusted_argument, untrusted_source,
				   untrusted_target, &svc, &err)) {
		g_message("stream %u: %s", id, err->message);
		refuse(ex, id, err->message,
		       untrusted_flags & QM_EXEC_STDERR_LOCAL);
		return true;
	}
	g_message("stream %u: service %s%s%s for %s", id, untrusted_service,
		  *untrusted_argument ? "+" : "", untrusted_argument,
		  untrusted_source);
	const struct agent_proc_spec spec = {
		.user = untrusted_user,
		.argv = (const char *const *)svc.argv,
		.env = (const char *const *)svc.env,
		.pipes = untrusted_flags & QM_EXEC_RUN_PASS_IO,
		.stderr_local = untrusted_flags & QM_EXEC_STDERR_LOCAL,
	};
	start_command(ex, id, &spec);
	agent_service_clear(&svc);
	return true;
}

/* ---- calls this guest makes ---- */

/* The host's EXIT has come and the call's output is all written to the
 * local client: the call is over. */
static void call_maybe_finish(struct stream *s)
{
	if (!s->exited || s->in_fd >= 0)
		return;
	g_hash_table_remove(s->ex->streams, GUINT_TO_POINTER(s->id));
	if (s->done)
		s->done(s->status, NULL, s->done_data);
	stream_free(s, false);
}

static bool on_call_exit(struct stream *s, GVariant *payload,
			 GError **error)
{
	gint32 untrusted_status;

	if (!s->call)
		return violation(error, "stream %u: EXIT from the host on a "
				 "command", s->id);
	g_variant_get(payload, "(i)", &untrusted_status);
	/* A status to return to the caller: 0..255, like a process's. */
	s->status = untrusted_status < 0 || untrusted_status > 255
		? 255 : untrusted_status;
	s->exited = true;
	/* Nothing more comes: the client's reply side ends once written. */
	s->in_eof = true;
	if (g_queue_is_empty(&s->in_queue))
		close_input(s);
	/* Its request side is of no more use. */
	for (int i = 0; i < 2; i++) {
		if (s->out[i].source)
			g_source_remove(s->out[i].source);
		s->out[i].source = 0;
	}
	call_maybe_finish(s);
	return true;
}

uint32_t agent_exec_call(struct agent_exec *ex, const char *target,
			 const char *service, int request_fd, int reply_fd,
			 agent_call_accepted_fn accepted,
			 agent_call_done_fn done, void *data, GError **error)
{
	if (g_hash_table_size(ex->streams) >= QM_STREAMS_MAX) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY,
			    "this qube already has %d calls and commands "
			    "open; wait for some to end", QM_STREAMS_MAX);
		close(request_fd);
		close(reply_fd);
		return 0;
	}
	uint32_t id;
	do {
		id = QM_STREAM_GUEST | (ex->next_call_id++ & ~QM_STREAM_GUEST);
	} while (id == QM_STREAM_GUEST ||
		 g_hash_table_contains(ex->streams, GUINT_TO_POINTER(id)));
	forget_ended(ex, id);
	g_unix_set_fd_nonblocking(request_fd, TRUE, NULL);
	g_unix_set_fd_nonblocking(reply_fd, TRUE, NULL);

	struct stream *s = g_new0(struct stream, 1);
	s->ex = ex;
	s->id = id;
	s->call = true;
	s->in_fd_no = 1;
	s->accepted = accepted;
	s->done = done;
	s->done_data = data;
	/* No credit for the request until qmgrd has joined the call. */
	s->out[0] = (struct output){ s, 0, request_fd, 0, 0 };
	s->out[1] = (struct output){ s, UINT32_MAX, -1, 0, 0 };
	s->in_fd = reply_fd;
	g_queue_init(&s->in_queue);
	s->in_credit = QM_WINDOW_INITIAL;
	g_hash_table_insert(ex->streams, GUINT_TO_POINTER(id), s);
	qm_conn_send(ex->conn, QM_MSG_CALL, id,
		     g_variant_new("(ss)", target, service));
	return id;
}

void agent_exec_call_cancel(struct agent_exec *ex, uint32_t id)
{
	struct stream *s = g_hash_table_lookup(ex->streams,
					       GUINT_TO_POINTER(id));
	if (s == NULL || !s->call)
		return;
	qm_conn_send(ex->conn, QM_MSG_CLOSE, id,
		     g_variant_new("(s)", "the caller went away"));
	g_hash_table_remove(ex->streams, GUINT_TO_POINTER(id));
	remember_ended(ex, id);
	stream_free(s, false);
}

/* A message for a stream that is not open. */
static bool on_unknown_stream(struct agent_exec *ex,
			      const struct qm_wire_msg *msg, GError **error)
{
	guint32 fd = 0;

	if (msg->stream != 0 && recently_ended(ex, msg->stream)) {
		/* Crossed our EXIT, refusal or CLOSE on the way: credit and
		 * CLOSE no longer matter, input has no taker. */
		switch (msg->type) {
		case QM_MSG_WINDOW:
		case QM_MSG_CLOSE:
			return true;
		case QM_MSG_EXIT:
			if (msg->stream & QM_STREAM_GUEST)
				return true;
			break;
		case QM_MSG_DATA:
		case QM_MSG_EOF:
			g_variant_get_child(msg->payload, 0, "u", &fd);
			if (fd == ((msg->stream & QM_STREAM_GUEST) ? 1u : 0u))
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
	case QM_MSG_SERVICE:
		return on_service(ex, msg->stream, msg->payload, error);
	case QM_MSG_DATA:
	case QM_MSG_EOF:
	case QM_MSG_WINDOW:
	case QM_MSG_CLOSE:
	case QM_MSG_EXIT:
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
	case QM_MSG_EXIT:
		return on_call_exit(s, msg->payload, error);
	default:
		g_assert_not_reached();
	}
}

bool agent_exec_carries(enum qm_msg_type type)
{
	return (type >= QM_MSG_EXEC && type <= QM_MSG_CLOSE) ||
	       type == QM_MSG_CALL || type == QM_MSG_SERVICE;
}

struct agent_exec *agent_exec_create(struct qm_conn *conn,
				     const char *service_dirs)
{
	struct agent_exec *ex = g_new0(struct agent_exec, 1);

	ex->conn = conn;
	ex->service_dirs = g_strdup(service_dirs ? service_dirs
						 : AGENT_SERVICE_DIRS_DEFAULT);
	ex->next_call_id = 1;
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
		g_message("ending %u running commands and calls",
			  g_hash_table_size(ex->streams));
	g_hash_table_iter_init(&it, ex->streams);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct stream *s = value;
		g_hash_table_iter_remove(&it);
		if (s->call && s->done)
			s->done(-1, "the channel to qmgrd was lost",
				s->done_data);
		stream_free(s, true);
	}
	g_hash_table_destroy(ex->streams);
	g_free(ex->service_dirs);
	g_free(ex);
}
