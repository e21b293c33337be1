/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Connections over a socketpair: delivery, byte-at-a-time reassembly, and
 * a peer sending garbage being dropped. */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"

#ifdef NDEBUG
#error "tests need assertions"
#endif

struct sink {
	GMainLoop *loop;
	int messages;
	bool closed;
	char *why;
};

static void on_msg(struct qm_conn *c, struct qm_wire_msg *m, void *data)
{
	struct sink *s = data;
	s->messages++;
	if (s->messages == 2)
		g_main_loop_quit(s->loop);
}

static void on_closed(struct qm_conn *c, const GError *why, void *data)
{
	struct sink *s = data;
	s->closed = true;
	s->why = g_strdup(why ? why->message : "");
	g_main_loop_quit(s->loop);
}

static gboolean timeout(gpointer data)
{
	g_assert_not_reached();
	return G_SOURCE_REMOVE;
}

static void test_conn_delivers_messages(void)
{
	int sv[2];
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
	struct sink s = { .loop = g_main_loop_new(NULL, FALSE) };
	struct qm_conn *a = qm_conn_create(sv[0], "a", NULL, NULL, NULL, NULL);
	struct qm_conn *b = qm_conn_create(sv[1], "b", on_msg, on_closed, &s,
					   NULL);
	qm_conn_send(a, QM_MSG_HELLO, 0, g_variant_new("(us)", 1, "x"));
	qm_conn_send(a, QM_MSG_SHUTDOWN, 0, NULL);
	guint t = g_timeout_add_seconds(10, timeout, NULL);
	g_main_loop_run(s.loop);
	g_source_remove(t);
	g_assert_cmpint(s.messages, ==, 2);
	g_assert_false(s.closed);
	qm_conn_destroy(a);
	qm_conn_destroy(b);
	g_main_loop_unref(s.loop);
}

static void test_conn_reassembles_byte_by_byte(void)
{
	int sv[2];
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
	struct sink s = { .loop = g_main_loop_new(NULL, FALSE) };
	struct qm_conn *b = qm_conn_create(sv[1], "b", on_msg, on_closed, &s,
					   NULL);
	g_autoptr(GBytes) m1 = qm_wire_encode(QM_MSG_HELLO, 0,
					      g_variant_new("(us)", 1, "xy"));
	g_autoptr(GBytes) m2 = qm_wire_encode(QM_MSG_SHUTDOWN, 0, NULL);
	GBytes *ms[] = { m1, m2 };
	for (int k = 0; k < 2; k++) {
		gsize len;
		const uint8_t *p = g_bytes_get_data(ms[k], &len);
		for (gsize i = 0; i < len; i++) {
			g_assert_cmpint(write(sv[0], p + i, 1), ==, 1);
			g_main_context_iteration(NULL, FALSE);
		}
	}
	guint t = g_timeout_add_seconds(10, timeout, NULL);
	if (s.messages < 2)
		g_main_loop_run(s.loop);
	g_source_remove(t);
	g_assert_cmpint(s.messages, ==, 2);
	close(sv[0]);
	qm_conn_destroy(b);
	g_main_loop_unref(s.loop);
}

static void test_conn_drops_peer_sending_garbage(void)
{
	int sv[2];
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
	struct sink s = { .loop = g_main_loop_new(NULL, FALSE) };
	struct qm_conn *b = qm_conn_create(sv[1], "guest", on_msg, on_closed,
					   &s, NULL);
	const char junk[] = "GET / HTTP/1.0\r\n\r\n";
	g_assert_cmpint(write(sv[0], junk, sizeof(junk)), ==, sizeof(junk));
	guint t = g_timeout_add_seconds(10, timeout, NULL);
	g_main_loop_run(s.loop);
	g_source_remove(t);
	g_assert_true(s.closed);
	g_assert_cmpint(s.messages, ==, 0);
	g_assert_nonnull(strstr(s.why, "guest: bad magic"));
	g_assert_false(qm_conn_is_open(b));
	close(sv[0]);
	qm_conn_destroy(b);
	g_free(s.why);
	g_main_loop_unref(s.loop);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/conn/delivers-messages", test_conn_delivers_messages);
	g_test_add_func("/conn/reassembles-byte-by-byte",
			test_conn_reassembles_byte_by_byte);
	g_test_add_func("/conn/drops-peer-sending-garbage",
			test_conn_drops_peer_sending_garbage);
	return g_test_run();
}
