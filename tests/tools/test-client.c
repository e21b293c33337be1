/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The tools' admin client (qvm-tools/client.c) against a scripted fake
 * qmgrd in a thread: HELLO, pipelined calls answered out of order, refused
 * calls and their codes, events, protocol violations; and the JSON writer.
 * Streams (vm.Run): a fake command that echoes stdin while granting stdin
 * credit slowly, output past the credit refused while stdout is blocked,
 * CLOSE from qmgrd, cancellation, and the real qvm-run's exit status and
 * signal handling against the same fake.
 */
#undef NDEBUG
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "wire.h"

/* ---- JSON ---- */

static const struct {
	const char *in, *out;
} json_strings[] = {
	{ "", "\"\"" },
	{ "work", "\"work\"" },
	{ "a\"b\\c", "\"a\\\"b\\\\c\"" },
	{ "\n\r\t", "\"\\n\\r\\t\"" },
	{ "\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"" },
	{ "\b\f", "\"\\u0008\\u000c\"" },
	{ "\x1b[2J", "\"\\u001b[2J\"" },
	{ "w\xc3\xb6rk \xe2\x82\xac", "\"w\xc3\xb6rk \xe2\x82\xac\"" },
	{ "\xe2\x80\xa8", "\"\\u2028\"" },
	{ "a\xffz", "\"a\\ufffdz\"" },
	{ "\xc3", "\"\\ufffd\"" },
	{ "/", "\"/\"" },
};

static void test_json_string_escapes(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(json_strings); i++) {
		g_autoptr(GString) out = g_string_new(NULL);
		qm_json_append_string(out, json_strings[i].in);
		g_assert_cmpstr(out->str, ==, json_strings[i].out);
	}
}

static const struct {
	const char *variant, *json;
} json_variants[] = {
	{ "'x'", "\"x\"" },
	{ "true", "true" },
	{ "uint32 4294967295", "4294967295" },
	{ "int64 -5", "-5" },
	{ "1.5", "1.5" },
	{ "@as []", "[]" },
	{ "['a', 'b\"']", "[\"a\",\"b\\\"\"]" },
	{ "{'k': <'v'>, 'n': <uint32 2>}", "{\"k\":\"v\",\"n\":2}" },
	{ "[{'name': <'work'>, 'tags': <['t']>}]",
	  "[{\"name\":\"work\",\"tags\":[\"t\"]}]" },
	{ "('a', true)", "[\"a\",true]" },
	{ "@ms nothing", "null" },
	{ "{1: 'x'}", "[[1,\"x\"]]" },
};

static void test_json_variants(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(json_variants); i++) {
		g_autoptr(GError) err = NULL;
		g_autoptr(GVariant) v = g_variant_parse(
			NULL, json_variants[i].variant, NULL, NULL, &err);
		g_assert_no_error(err);
		g_autoptr(GString) out = g_string_new(NULL);
		qm_json_append_variant(out, v);
		g_assert_cmpstr(out->str, ==, json_variants[i].json);
	}
}

/* ---- a fake qmgrd ---- */

enum script {
	SCRIPT_CALLS,        /* two calls answered in reverse, one refused */
	SCRIPT_EVENTS,       /* subscribe, then events */
	SCRIPT_BAD_REPLY_ID, /* a reply to a call never made */
	SCRIPT_NO_HELLO,     /* a REPLY instead of HELLO */
	SCRIPT_RUN_ECHO,     /* vm.Run: echo stdin, slow stdin credit */
	SCRIPT_RUN_OVERFLOW, /* output past the client's credit */
	SCRIPT_RUN_CLOSE,    /* output, then CLOSE */
	SCRIPT_RUN_CANCEL,   /* expects CLOSE, sends late data, then a call */
	SCRIPT_RUN_TOOL,     /* qvm-run -p: echo stdin, exit 42 */
	SCRIPT_RUN_SIGINT,   /* qvm-run -p interrupted */
};

struct fake {
	char *root, *path;
	int listen_fd;
	enum script script;
	GThread *thread;
};

static void put_s(int fd, enum qm_msg_type type, guint32 stream,
		  GVariant *payload)
{
	g_autoptr(GBytes) b = qm_wire_encode(type, stream, payload);
	gsize n;
	const uint8_t *p = g_bytes_get_data(b, &n);
	g_assert_cmpint(send(fd, p, n, MSG_NOSIGNAL), ==, (ssize_t)n);
}

static void put(int fd, enum qm_msg_type type, GVariant *payload)
{
	put_s(fd, type, 0, payload);
}

/* The next message within timeout_ms (-1: no limit); false on timeout. */
static bool get_within(int fd, GByteArray *buf, struct qm_wire_msg *msg,
		       int timeout_ms)
{
	for (;;) {
		size_t used;
		g_autoptr(GError) err = NULL;
		enum qm_wire_status st = qm_wire_decode(buf->data, buf->len,
							&used, msg, &err);
		g_assert_cmpint(st, !=, QM_WIRE_ERROR);
		if (st == QM_WIRE_OK) {
			g_byte_array_remove_range(buf, 0, (guint)used);
			return true;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, timeout_ms) == 0)
			return false;
		uint8_t tmp[65536];
		ssize_t r = read(fd, tmp, sizeof(tmp));
		g_assert_cmpint(r, >, 0);
		g_byte_array_append(buf, tmp, (guint)r);
	}
}

static void get(int fd, GByteArray *buf, struct qm_wire_msg *msg)
{
	g_assert_true(get_within(fd, buf, msg, -1));
}

static guint32 get_request(int fd, GByteArray *buf, const char *method,
			   const char *vm)
{
	struct qm_wire_msg msg;
	guint32 id;
	const char *m, *v;
	get(fd, buf, &msg);
	g_assert_cmpint(msg.type, ==, QM_MSG_REQUEST);
	g_variant_get(msg.payload, "(u&s&s@a{sv})", &id, &m, &v, NULL);
	g_assert_cmpstr(m, ==, method);
	g_assert_cmpstr(v, ==, vm);
	qm_wire_msg_clear(&msg);
	return id;
}

static void reply_ok(int fd, guint32 id, const char *key, const char *value)
{
	GVariantDict d;
	g_variant_dict_init(&d, NULL);
	if (key)
		g_variant_dict_insert(&d, key, "s", value);
	put(fd, QM_MSG_REPLY,
	    g_variant_new("(ubs@a{sv})", id, TRUE, "", g_variant_dict_end(&d)));
}

static void reply_fail(int fd, guint32 id, const char *code, const char *msg)
{
	GVariantDict d;
	g_variant_dict_init(&d, NULL);
	g_variant_dict_insert(&d, "code", "s", code);
	put(fd, QM_MSG_REPLY,
	    g_variant_new("(ubs@a{sv})", id, FALSE, msg,
			  g_variant_dict_end(&d)));
}

static void event(int fd, const char *name, const char *vm, const char *state)
{
	GVariantDict d;
	g_variant_dict_init(&d, NULL);
	g_variant_dict_insert(&d, "state", "s", state);
	put(fd, QM_MSG_EVENT,
	    g_variant_new("(ss@a{sv})", name, vm, g_variant_dict_end(&d)));
}

/* ---- the fake's side of streams ---- */

static void put_data(int fd, guint32 stream, guint32 which, const void *p,
		     gsize n)
{
	put_s(fd, QM_MSG_DATA, stream,
	      g_variant_new("(u@ay)", which,
			    g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, p,
						      n, 1)));
}

/* Takes a vm.Run for "work" and checks its arguments. */
static guint32 get_run(int fd, GByteArray *buf, const char *command)
{
	struct qm_wire_msg msg;
	guint32 id;
	const char *m, *v, *cmd, *user;
	gboolean pass_io, autostart;
	g_autoptr(GVariant) args = NULL;
	get(fd, buf, &msg);
	g_assert_cmpint(msg.type, ==, QM_MSG_REQUEST);
	g_variant_get(msg.payload, "(u&s&s@a{sv})", &id, &m, &v, &args);
	g_assert_cmpstr(m, ==, "vm.Run");
	g_assert_cmpstr(v, ==, "work");
	g_assert_true(g_variant_lookup(args, "command", "&s", &cmd));
	g_assert_cmpstr(cmd, ==, command);
	g_assert_true(g_variant_lookup(args, "user", "&s", &user));
	g_assert_cmpstr(user, ==, "user");
	g_assert_true(g_variant_lookup(args, "pass_io", "b", &pass_io));
	g_assert_true(pass_io);
	if (g_variant_lookup(args, "autostart", "b", &autostart))
		g_assert_true(autostart);
	qm_wire_msg_clear(&msg);
	return id;
}

static void reply_stream(int fd, guint32 id, guint32 stream)
{
	GVariantDict d;
	g_variant_dict_init(&d, NULL);
	g_variant_dict_insert(&d, "stream", "u", stream);
	put(fd, QM_MSG_REPLY,
	    g_variant_new("(ubs@a{sv})", id, TRUE, "", g_variant_dict_end(&d)));
}

/* How much stdin credit the fake command grants at a time, and when. */
#define SLOW_GRANT 16384

/*
 * A command that echoes stdin to stdout, as `cat` would, within the
 * client's stdout credit.  It grants stdin credit slowly, in small steps
 * once the client has nearly used what it has, and asserts that the
 * client never sends past it.
 */
static void fake_echo(int fd, GByteArray *buf, guint32 stream, int status)
{
	guint64 got = 0, granted = QM_WINDOW_INITIAL;
	guint64 out_may = QM_WINDOW_INITIAL;
	g_autoptr(GByteArray) echo = g_byte_array_new();
	bool eof = false;
	guint32 which, n;

	for (;;) {
		while (echo->len > 0 && out_may > 0) {
			gsize k = MIN(MIN(echo->len, QM_DATA_MAX), out_may);
			put_data(fd, stream, 1, echo->data, k);
			out_may -= k;
			g_byte_array_remove_range(echo, 0, (guint)k);
		}
		if (eof && echo->len == 0)
			break;
		struct qm_wire_msg m;
		get(fd, buf, &m);
		g_assert_cmpuint(m.stream, ==, stream);
		switch (m.type) {
		case QM_MSG_DATA: {
			g_autoptr(GVariant) data = NULL;
			g_variant_get(m.payload, "(u@ay)", &which, &data);
			g_assert_cmpuint(which, ==, 0);
			gsize len = g_variant_get_size(data);
			g_assert_cmpuint(got + len, <=, granted);
			got += len;
			g_byte_array_append(echo, g_variant_get_data(data),
					    (guint)len);
			if (granted - got < SLOW_GRANT) {
				g_usleep(1000);
				put_s(fd, QM_MSG_WINDOW, stream,
				      g_variant_new("(uu)", 0u, SLOW_GRANT));
				granted += SLOW_GRANT;
			}
			break;
		}
		case QM_MSG_WINDOW:
			g_variant_get(m.payload, "(uu)", &which, &n);
			g_assert_true(which == 1 || which == 2);
			if (which == 1)
				out_may += n;
			break;
		case QM_MSG_EOF:
			g_variant_get(m.payload, "(u)", &which);
			g_assert_cmpuint(which, ==, 0);
			eof = true;
			break;
		default:
			g_assert_not_reached();
		}
		qm_wire_msg_clear(&m);
	}
	put_s(fd, QM_MSG_EOF, stream, g_variant_new("(u)", 1u));
	put_s(fd, QM_MSG_EOF, stream, g_variant_new("(u)", 2u));
	put_s(fd, QM_MSG_EXIT, stream, g_variant_new("(i)", status));
}

/* Skips the client's EOF and WINDOW until its CLOSE; returns the reason. */
static char *get_close(int fd, GByteArray *buf, guint32 stream)
{
	for (;;) {
		struct qm_wire_msg m;
		get(fd, buf, &m);
		g_assert_cmpuint(m.stream, ==, stream);
		if (m.type == QM_MSG_CLOSE) {
			char *reason;
			g_variant_get(m.payload, "(s)", &reason);
			qm_wire_msg_clear(&m);
			return reason;
		}
		g_assert_true(m.type == QM_MSG_EOF || m.type == QM_MSG_WINDOW);
		qm_wire_msg_clear(&m);
	}
}

/* Fills the client's stdout credit while its stdout is blocked, waits
 * until it grants no more, then sends one byte more than it granted. */
static void fake_overflow(int fd, GByteArray *buf, guint32 stream)
{
	g_autofree uint8_t *chunk = g_malloc0(QM_DATA_MAX);
	for (guint64 sent = 0; sent < QM_WINDOW_INITIAL; sent += QM_DATA_MAX)
		put_data(fd, stream, 1, chunk, QM_DATA_MAX);
	guint64 granted = 0;
	struct qm_wire_msg m;
	while (get_within(fd, buf, &m, 300)) {
		guint32 which, n;
		if (m.type == QM_MSG_WINDOW) {
			g_variant_get(m.payload, "(uu)", &which, &n);
			granted += n;
		}
		qm_wire_msg_clear(&m);
	}
	for (guint64 left = granted + 1; left > 0;) {
		gsize k = (gsize)MIN(left, QM_DATA_MAX);
		put_data(fd, stream, 1, chunk, k);
		left -= k;
	}
}

static void fake_streams(int fd, GByteArray *buf, enum script script)
{
	guint32 a;
	g_autofree char *reason = NULL;

	switch (script) {
	case SCRIPT_RUN_ECHO:
		a = get_run(fd, buf, "cat");
		reply_stream(fd, a, 7);
		put_data(fd, 7, 2, "warming up\n", 11);
		/* another stream's output, kept for its own relay */
		put_data(fd, 9, 1, "other", 5);
		fake_echo(fd, buf, 7, 3);
		put_s(fd, QM_MSG_EXIT, 9, g_variant_new("(i)", 5));
		break;
	case SCRIPT_RUN_OVERFLOW:
		a = get_run(fd, buf, "yes");
		reply_stream(fd, a, 3);
		fake_overflow(fd, buf, 3);
		break;
	case SCRIPT_RUN_CLOSE:
		a = get_run(fd, buf, "sleep 9");
		reply_stream(fd, a, 2);
		put_data(fd, 2, 1, "partial\n", 8);
		put_s(fd, QM_MSG_CLOSE, 2,
		      g_variant_new("(s)", "the agent of 'work' is gone: "
					   "channel dropped"));
		break;
	case SCRIPT_RUN_CANCEL:
		a = get_run(fd, buf, "sleep 9");
		reply_stream(fd, a, 4);
		reason = get_close(fd, buf, 4);
		g_assert_cmpstr(reason, ==, "interrupted");
		/* crossed the CLOSE: the client drops them */
		put_data(fd, 4, 1, "late", 4);
		put_s(fd, QM_MSG_EXIT, 4, g_variant_new("(i)", 0));
		a = get_request(fd, buf, "vm.List", "");
		reply_ok(fd, a, NULL, NULL);
		break;
	case SCRIPT_RUN_TOOL:
		a = get_run(fd, buf, "echo hi  there");
		reply_stream(fd, a, 1);
		put_data(fd, 1, 2, "err\n", 4);
		fake_echo(fd, buf, 1, 42);
		break;
	case SCRIPT_RUN_SIGINT:
		a = get_run(fd, buf, "sleep 9");
		reply_stream(fd, a, 1);
		put_data(fd, 1, 1, "ready\n", 6);
		reason = get_close(fd, buf, 1);
		g_assert_cmpstr(reason, ==, "interrupted");
		break;
	default:
		g_assert_not_reached();
	}
}

static gpointer fake_main(gpointer data)
{
	struct fake *f = data;
	g_autoptr(GByteArray) buf = g_byte_array_new();
	struct qm_wire_msg msg;
	int fd = accept(f->listen_fd, NULL, NULL);
	g_assert_cmpint(fd, >=, 0);

	get(fd, buf, &msg);
	g_assert_cmpint(msg.type, ==, QM_MSG_HELLO);
	qm_wire_msg_clear(&msg);
	if (f->script == SCRIPT_NO_HELLO) {
		reply_ok(fd, 1, NULL, NULL);
		goto out;
	}
	bool streams = f->script >= SCRIPT_RUN_ECHO;
	put(fd, QM_MSG_HELLO, g_variant_new("(us)", streams ? 2 : 1,
					    "fake-qmgrd"));
	if (streams) {
		fake_streams(fd, buf, f->script);
		goto drain;
	}

	guint32 a, b, c;
	switch (f->script) {
	case SCRIPT_CALLS:
		a = get_request(fd, buf, "vm.Start", "a");
		b = get_request(fd, buf, "vm.Start", "b");
		reply_ok(fd, b, "who", "b");
		reply_ok(fd, a, "who", "a");
		c = get_request(fd, buf, "vm.Remove", "wrok");
		reply_fail(fd, c, "NotFound",
			   "qube 'wrok' does not exist (qvm-ls lists them)");
		c = get_request(fd, buf, "vm.Kill", "x");
		reply_fail(fd, c, "Frobbed", "");
		break;
	case SCRIPT_EVENTS:
		a = get_request(fd, buf, "events.Subscribe", "");
		/* an event may overtake the reply */
		event(fd, "vm-state", "a", "Transient");
		reply_ok(fd, a, NULL, NULL);
		event(fd, "vm-state", "a", "Running");
		event(fd, "vm-removed", "b", "-");
		break;
	case SCRIPT_BAD_REPLY_ID:
		a = get_request(fd, buf, "vm.List", "");
		reply_ok(fd, a + 100, NULL, NULL);
		break;
	default:
		break;
	}
drain:
	/* wait for the client to hang up */
	uint8_t tmp[256];
	while (read(fd, tmp, sizeof(tmp)) > 0)
		;
out:
	close(fd);
	return NULL;
}

static struct fake *fake_start(enum script script)
{
	struct fake *f = g_new0(struct fake, 1);
	f->root = g_dir_make_tmp("qvm-client-XXXXXX", NULL);
	g_assert_nonnull(f->root);
	g_autofree char *dir = g_build_filename(f->root, "run", "qmgr", NULL);
	g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
	f->path = g_build_filename(dir, "qmgrd.sock", NULL);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	g_strlcpy(sa.sun_path, f->path, sizeof(sa.sun_path));
	f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(bind(f->listen_fd, (struct sockaddr *)&sa,
			     sizeof(sa)), ==, 0);
	g_assert_cmpint(listen(f->listen_fd, 1), ==, 0);
	f->script = script;
	g_setenv("QMGR_ROOT", f->root, TRUE);
	f->thread = g_thread_new("fake-qmgrd", fake_main, f);
	return f;
}

static void fake_finish(struct fake *f)
{
	g_thread_join(f->thread);
	close(f->listen_fd);
	g_unlink(f->path);
	g_autofree char *d1 = g_path_get_dirname(f->path);
	g_autofree char *d2 = g_path_get_dirname(d1);
	g_rmdir(d1);
	g_rmdir(d2);
	g_rmdir(f->root);
	g_free(f->path);
	g_free(f->root);
	g_free(f);
}

static void test_client_pipelined_calls_out_of_order(void)
{
	struct fake *f = fake_start(SCRIPT_CALLS);
	g_autoptr(GError) err = NULL;
	struct qm_client *c = qm_client_connect("test", &err);
	g_assert_no_error(err);

	uint32_t a = qm_client_send(c, "vm.Start", "a", NULL, &err);
	uint32_t b = qm_client_send(c, "vm.Start", "b", NULL, &err);
	g_assert_no_error(err);
	g_assert_cmpuint(a, !=, b);
	const char *who;
	g_autoptr(GVariant) ra = qm_client_wait(c, a, 5000, &err);
	g_assert_no_error(err);
	g_assert_true(g_variant_lookup(ra, "who", "&s", &who));
	g_assert_cmpstr(who, ==, "a");
	g_autoptr(GVariant) rb = qm_client_wait(c, b, 5000, &err);
	g_assert_no_error(err);
	g_assert_true(g_variant_lookup(rb, "who", "&s", &who));
	g_assert_cmpstr(who, ==, "b");

	g_assert_null(qm_client_call(c, "vm.Remove", "wrok", NULL, &err));
	g_assert_error(err, QM_CLIENT_ERROR, QM_CLIENT_ERROR_NOT_FOUND);
	g_assert_cmpstr(err->message, ==,
			"qube 'wrok' does not exist (qvm-ls lists them)");
	g_clear_error(&err);

	g_assert_null(qm_client_call(c, "vm.Kill", "x", NULL, &err));
	g_assert_error(err, QM_CLIENT_ERROR, QM_CLIENT_ERROR_OTHER);
	g_assert_cmpstr(err->message, ==,
			"qmgrd refused the call without saying why");
	qm_client_destroy(c);
	fake_finish(f);
}

struct seen {
	GString *log;
	int stop_after;
};

static bool on_event(const char *event, const char *vm, GVariant *props,
		     void *data)
{
	struct seen *s = data;
	const char *state = "";
	g_variant_lookup(props, "state", "&s", &state);
	g_string_append_printf(s->log, "%s %s %s;", event, vm, state);
	return --s->stop_after > 0;
}

static void test_client_events_in_order(void)
{
	struct fake *f = fake_start(SCRIPT_EVENTS);
	g_autoptr(GError) err = NULL;
	struct qm_client *c = qm_client_connect("test", &err);
	g_assert_no_error(err);
	struct seen s = { g_string_new(NULL), 2 };

	g_assert_true(qm_client_subscribe(c, on_event, &s, NULL, &err));
	g_assert_no_error(err);
	g_assert_true(qm_client_dispatch(c, 5000, &err));
	g_assert_cmpstr(s.log->str, ==,
			"vm-state a Transient;vm-state a Running;");
	s.stop_after = 1;
	g_assert_true(qm_client_dispatch(c, 5000, &err));
	g_assert_cmpstr(s.log->str, ==,
			"vm-state a Transient;vm-state a Running;"
			"vm-removed b -;");
	/* nothing more comes: our wait expires */
	g_assert_false(qm_client_dispatch(c, 50, &err));
	g_assert_error(err, QM_CLIENT_ERROR, QM_CLIENT_ERROR_NO_ANSWER);
	g_string_free(s.log, TRUE);
	qm_client_destroy(c);
	fake_finish(f);
}

static void test_client_rejects_reply_to_unknown_call(void)
{
	struct fake *f = fake_start(SCRIPT_BAD_REPLY_ID);
	g_autoptr(GError) err = NULL;
	struct qm_client *c = qm_client_connect("test", &err);
	g_assert_no_error(err);
	g_assert_null(qm_client_call(c, "vm.List", "", NULL, &err));
	g_assert_error(err, QM_CLIENT_ERROR, QM_CLIENT_ERROR_PROTOCOL);
	g_assert_nonnull(strstr(err->message, "a reply to a call it was not "
						"asked"));
	qm_client_destroy(c);
	fake_finish(f);
}

static void test_client_requires_hello_first(void)
{
	struct fake *f = fake_start(SCRIPT_NO_HELLO);
	g_autoptr(GError) err = NULL;
	g_assert_null(qm_client_connect("test", &err));
	g_assert_error(err, QM_CLIENT_ERROR, QM_CLIENT_ERROR_PROTOCOL);
	g_assert_nonnull(strstr(err->message, "first message is not HELLO"));
	fake_finish(f);
}

/* ---- streams ---- */

/* A temporary file holding `len` bytes of `data`, opened for reading and
 * writing at offset 0, already unlinked. */
static int tmpfile_with(const void *data, gsize len)
{
	g_autofree char *path = NULL;
	int fd = g_file_open_tmp("qvm-client-XXXXXX", &path, NULL);
	g_assert_cmpint(fd, >=, 0);
	g_unlink(path);
	g_assert_cmpint(write(fd, data, len), ==, (ssize_t)len);
	g_assert_cmpint(lseek(fd, 0, SEEK_SET), ==, 0);
	return fd;
}

static GBytes *file_contents(int fd)
{
	g_autoptr(GByteArray) all = g_byte_array_new();
	uint8_t tmp[65536];
	ssize_t n;
	g_assert_cmpint(lseek(fd, 0, SEEK_SET), ==, 0);
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		g_byte_array_append(all, tmp, (guint)n);
	g_assert_cmpint(n, ==, 0);
	return g_byte_array_free_to_bytes(g_steal_pointer(&all));
}

static GVariant *run_args(const char *command)
{
	GVariantDict d;
	g_variant_dict_init(&d, NULL);
	g_variant_dict_insert(&d, "command", "s", command);
	g_variant_dict_insert(&d, "user", "s", "user");
	g_variant_dict_insert(&d, "pass_io", "b", TRUE);
	return g_variant_dict_end(&d);
}

static guint32 start_run(struct qm_client *c, const char *command)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GVariant) r = qm_client_call(c, "vm.Run", "work",
					       run_args(command), &err);
	g_assert_no_error(err);
	guint32 stream = 0;
	g_assert_true(g_variant_lookup(r, "stream", "u", &stream));
	return stream;
}

static void test_stream_echo_within_slow_credit(void)
{
	struct fake *f = fake_start(SCRIPT_RUN_ECHO);
	g_autoptr(GError) err = NULL;
	struct qm_client *c = qm_client_connect("test", &err);
	g_assert_no_error(err);

	/* 1 MiB: four times the initial credit, so most of it waits for
	 * the fake's slow grants */
	gsize len = 4 * QM_WINDOW_INITIAL + 12345;
	g_autofree uint8_t *input = g_malloc(len);
	GRand *rand = g_rand_new_with_seed(4);
	for (gsize i = 0; i < len; i++)
		input[i] = (uint8_t)g_rand_int(rand);
	g_rand_free(rand);
	int in = tmpfile_with(input, len);
	int out = tmpfile_with("", 0);
	int errf = tmpfile_with("", 0);

	guint32 stream = start_run(c, "cat");
	g_assert_cmpuint(stream, ==, 7);
	struct qm_client_stdio io = { in, out, errf, -1 };
	int status = -1;
	g_assert_true(qm_client_stream_relay(c, stream, &io, &status, &err));
	g_assert_no_error(err);
	g_assert_cmpint(status, ==, 3);
	g_autoptr(GBytes) want = g_bytes_new(input, len);
	g_autoptr(GBytes) got = file_contents(out);
	g_assert_true(g_bytes_equal(got, want));
	g_autoptr(GBytes) got_err = file_contents(errf);
	g_assert_cmpmem(g_bytes_get_data(got_err, NULL),
			g_bytes_get_size(got_err), "warming up\n", 11);
	/* the fds' flags are back: blocking */
	g_assert_cmpint(fcntl(out, F_GETFL) & O_NONBLOCK, ==, 0);

	/* the other stream's output was kept for it */
	int out9 = tmpfile_with("", 0);
	struct qm_client_stdio io9 = { -1, out9, -1, -1 };
	g_assert_true(qm_client_stream_relay(c, 9, &io9, &status, &err));
	g_assert_no_error(err);
	g_assert_cmpint(status, ==, 5);
	g_autoptr(GBytes) got9 = file_contents(out9);
	g_assert_cmpmem(g_bytes_get_data(got9, NULL), g_bytes_get_size(got9),
			"other", 5);
	/* a stream that is over cannot be relayed again */
	g_assert_false(qm_client_stream_relay(c, 7, &io9, &status, &err));
	g_assert_error(err, QM_CLIENT_ERROR, QM_CLIENT_ERROR_INVALID);

	close(in);
	close(out);
	close(errf);
	close(out9);
	qm_client_destroy(c);
	fake_finish(f);
}

static void test_stream_rejects_output_past_credit(void)
{
	struct fake *f = fake_start(SCRIPT_RUN_OVERFLOW);
	g_autoptr(GError) err = NULL;
	struct qm_client *c = qm_client_connect("test", &err);
	g_assert_no_error(err);
	/* a stdout nobody reads: the client must go on reading the socket */
	int p[2];
	g_assert_cmpint(pipe(p), ==, 0);

	guint32 stream = start_run(c, "yes");
	struct qm_client_stdio io = { -1, p[1], -1, -1 };
	int status = -1;
	g_assert_false(qm_client_stream_relay(c, stream, &io, &status, &err));
	g_assert_error(err, QM_CLIENT_ERROR, QM_CLIENT_ERROR_PROTOCOL);
	g_assert_nonnull(strstr(err->message, "past the credit"));
	close(p[0]);
	close(p[1]);
	qm_client_destroy(c);
	fake_finish(f);
}

static void test_stream_close_from_qmgrd(void)
{
	struct fake *f = fake_start(SCRIPT_RUN_CLOSE);
	g_autoptr(GError) err = NULL;
	struct qm_client *c = qm_client_connect("test", &err);
	g_assert_no_error(err);
	int out = tmpfile_with("", 0);

	guint32 stream = start_run(c, "sleep 9");
	struct qm_client_stdio io = { -1, out, -1, -1 };
	int status = -1;
	g_assert_false(qm_client_stream_relay(c, stream, &io, &status, &err));
	g_assert_error(err, QM_CLIENT_ERROR, QM_CLIENT_ERROR_CLOSED);
	g_assert_cmpstr(err->message, ==,
			"qmgrd closed the command's stream: the agent of "
			"'work' is gone: channel dropped");
	/* what came before the CLOSE was written */
	g_autoptr(GBytes) got = file_contents(out);
	g_assert_cmpmem(g_bytes_get_data(got, NULL), g_bytes_get_size(got),
			"partial\n", 8);
	close(out);
	qm_client_destroy(c);
	fake_finish(f);
}

static void test_stream_cancel_sends_close(void)
{
	struct fake *f = fake_start(SCRIPT_RUN_CANCEL);
	g_autoptr(GError) err = NULL;
	struct qm_client *c = qm_client_connect("test", &err);
	g_assert_no_error(err);
	int cancel[2];
	g_assert_cmpint(pipe(cancel), ==, 0);
	g_assert_cmpint(write(cancel[1], "x", 1), ==, 1);

	guint32 stream = start_run(c, "sleep 9");
	struct qm_client_stdio io = { -1, -1, -1, cancel[0] };
	int status = -1;
	g_assert_false(qm_client_stream_relay(c, stream, &io, &status, &err));
	g_assert_error(err, QM_CLIENT_ERROR, QM_CLIENT_ERROR_CANCELLED);
	g_clear_error(&err);
	/* late messages of the abandoned stream are dropped quietly */
	g_autoptr(GVariant) r = qm_client_call(c, "vm.List", "", NULL, &err);
	g_assert_no_error(err);
	close(cancel[0]);
	close(cancel[1]);
	qm_client_destroy(c);
	fake_finish(f);
}

/* ---- the real qvm-run against the fake ---- */

struct child {
	GPid pid;
	int in, out, err;   /* our ends */
};

static void spawn_qvm_run(struct child *ch, const char *const *args)
{
	const char *tool = g_getenv("QVM_RUN");
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_ptr_array_add(argv, (char *)tool);
	for (const char *const *a = args; *a; a++)
		g_ptr_array_add(argv, (char *)*a);
	g_ptr_array_add(argv, NULL);
	g_autoptr(GError) err = NULL;
	g_assert_true(g_spawn_async_with_pipes(
		NULL, (char **)argv->pdata, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
		NULL, NULL, &ch->pid, &ch->in, &ch->out, &ch->err, &err));
	g_assert_no_error(err);
}

static GBytes *read_all(int fd)
{
	g_autoptr(GByteArray) all = g_byte_array_new();
	uint8_t tmp[4096];
	ssize_t n;
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		g_byte_array_append(all, tmp, (guint)n);
	return g_byte_array_free_to_bytes(g_steal_pointer(&all));
}

static int wait_exit(GPid pid)
{
	int st;
	g_assert_cmpint(waitpid(pid, &st, 0), ==, pid);
	g_assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void test_qvm_run_pass_io_exit_status(void)
{
	if (g_getenv("QVM_RUN") == NULL) {
		g_test_skip("QVM_RUN is not set");
		return;
	}
	struct fake *f = fake_start(SCRIPT_RUN_TOOL);
	struct child ch;
	const char *args[] = { "-p", "work", "echo", "hi ", "there", NULL };
	spawn_qvm_run(&ch, args);
	g_assert_cmpint(write(ch.in, "input\n", 6), ==, 6);
	close(ch.in);
	g_autoptr(GBytes) out = read_all(ch.out);
	g_autoptr(GBytes) err = read_all(ch.err);
	g_assert_cmpint(wait_exit(ch.pid), ==, 42);
	g_assert_cmpmem(g_bytes_get_data(out, NULL), g_bytes_get_size(out),
			"input\n", 6);
	g_assert_cmpmem(g_bytes_get_data(err, NULL), g_bytes_get_size(err),
			"err\n", 4);
	close(ch.out);
	close(ch.err);
	fake_finish(f);
}

static void test_qvm_run_sigint_closes_stream(void)
{
	if (g_getenv("QVM_RUN") == NULL) {
		g_test_skip("QVM_RUN is not set");
		return;
	}
	struct fake *f = fake_start(SCRIPT_RUN_SIGINT);
	struct child ch;
	const char *args[] = { "--pass-io", "work", "sleep", "9", NULL };
	spawn_qvm_run(&ch, args);
	char ready[6];
	gsize got = 0;
	while (got < sizeof(ready)) {
		ssize_t n = read(ch.out, ready + got, sizeof(ready) - got);
		g_assert_cmpint(n, >, 0);
		got += (gsize)n;
	}
	g_assert_cmpmem(ready, 6, "ready\n", 6);
	/* the relay is running: the fake's output came through it */
	kill(ch.pid, SIGINT);
	g_autoptr(GBytes) err = read_all(ch.err);
	g_assert_cmpint(wait_exit(ch.pid), ==, 130);
	g_assert_cmpuint(g_bytes_get_size(err), ==, 0);
	close(ch.in);
	close(ch.out);
	close(ch.err);
	fake_finish(f);
}

static void test_client_socket_path(void)
{
	g_setenv("QMGR_ROOT", "/srv/q", TRUE);
	g_autofree char *p1 = qm_client_socket_path();
	g_assert_cmpstr(p1, ==, "/srv/q/run/qmgr/qmgrd.sock");
	g_setenv("QMGR_ROOT", "", TRUE);
	g_autofree char *p2 = qm_client_socket_path();
	g_assert_true(g_str_has_suffix(p2, "/qmgr/qmgrd.sock"));
	g_assert_false(g_str_has_prefix(p2, "/srv"));
	g_unsetenv("QMGR_ROOT");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/json/string-escapes", test_json_string_escapes);
	g_test_add_func("/json/variants", test_json_variants);
	g_test_add_func("/client/socket-path", test_client_socket_path);
	g_test_add_func("/client/pipelined-calls-out-of-order",
			test_client_pipelined_calls_out_of_order);
	g_test_add_func("/client/events-in-order",
			test_client_events_in_order);
	g_test_add_func("/client/rejects-reply-to-unknown-call",
			test_client_rejects_reply_to_unknown_call);
	g_test_add_func("/client/requires-hello-first",
			test_client_requires_hello_first);
	g_test_add_func("/stream/echo-within-slow-credit",
			test_stream_echo_within_slow_credit);
	g_test_add_func("/stream/rejects-output-past-credit",
			test_stream_rejects_output_past_credit);
	g_test_add_func("/stream/close-from-qmgrd",
			test_stream_close_from_qmgrd);
	g_test_add_func("/stream/cancel-sends-close",
			test_stream_cancel_sends_close);
	g_test_add_func("/qvm-run/pass-io-exit-status",
			test_qvm_run_pass_io_exit_status);
	g_test_add_func("/qvm-run/sigint-closes-stream",
			test_qvm_run_sigint_closes_stream);
	return g_test_run();
}
