/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The tools' admin client (qvm-tools/client.c) against a scripted fake
 * qmgrd in a thread: HELLO, pipelined calls answered out of order, refused
 * calls and their codes, events, protocol violations; and the JSON writer.
 */
#undef NDEBUG
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
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
};

struct fake {
	char *root, *path;
	int listen_fd;
	enum script script;
	GThread *thread;
};

static void put(int fd, enum qm_msg_type type, GVariant *payload)
{
	g_autoptr(GBytes) b = qm_wire_encode(type, 0, payload);
	gsize n;
	const uint8_t *p = g_bytes_get_data(b, &n);
	g_assert_cmpint(send(fd, p, n, MSG_NOSIGNAL), ==, (ssize_t)n);
}

static void get(int fd, GByteArray *buf, struct qm_wire_msg *msg)
{
	for (;;) {
		size_t used;
		g_autoptr(GError) err = NULL;
		enum qm_wire_status st = qm_wire_decode(buf->data, buf->len,
							&used, msg, &err);
		g_assert_cmpint(st, !=, QM_WIRE_ERROR);
		if (st == QM_WIRE_OK) {
			g_byte_array_remove_range(buf, 0, (guint)used);
			return;
		}
		uint8_t tmp[4096];
		ssize_t r = read(fd, tmp, sizeof(tmp));
		g_assert_cmpint(r, >, 0);
		g_byte_array_append(buf, tmp, (guint)r);
	}
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
	put(fd, QM_MSG_HELLO, g_variant_new("(us)", 1, "fake-qmgrd"));

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
	case SCRIPT_NO_HELLO:
		break;
	}
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
	return g_test_run();
}
