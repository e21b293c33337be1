/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Connections over a socketpair: delivery, byte-at-a-time reassembly,
 * large messages read into buffers of their own whatever the split of the
 * bytes, gathering writes, and a peer sending garbage being dropped. */
#include <signal.h>
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

/* A mix of small and large messages (the large ones take the no-copy
 * path of conn.c), distinct contents. */
static GPtrArray *mixed_messages(void)
{
	static const size_t sizes[] = { 10, 60000, 5000, 0, 65536, 4090,
					4100, 1, 65536, 20000 };
	GPtrArray *out = g_ptr_array_new_with_free_func(
		(GDestroyNotify)g_bytes_unref);
	for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
		uint8_t *buf = g_malloc(QM_DATA_HEADROOM + sizes[i]);
		for (size_t j = 0; j < sizes[i]; j++)
			buf[QM_DATA_HEADROOM + j] = (uint8_t)(i * 31 + j * 7);
		g_ptr_array_add(out, qm_wire_encode(
			QM_MSG_DATA, (uint32_t)i + 1,
			qm_wire_data_payload_take((uint32_t)i, buf, sizes[i])));
		if (i % 3 == 0)
			g_ptr_array_add(out, qm_wire_encode(
				QM_MSG_WINDOW, (uint32_t)i + 1,
				g_variant_new("(uu)", 0, (guint32)i)));
	}
	return out;
}

struct recorder {
	GPtrArray *got;       /* re-encoded messages, in order */
	bool closed;
};

static void record(struct qm_conn *c, struct qm_wire_msg *m, void *data)
{
	struct recorder *r = data;
	g_ptr_array_add(r->got, qm_wire_encode(m->type, m->stream,
					       g_steal_pointer(&m->payload)));
}

static void record_closed(struct qm_conn *c, const GError *why, void *data)
{
	struct recorder *r = data;
	r->closed = true;
}

/* Writes the messages in pieces of `chunk` bytes and checks that the same
 * messages come out. */
static void check_split(size_t chunk)
{
	int sv[2];
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
	struct recorder r = { .got = g_ptr_array_new_with_free_func(
				      (GDestroyNotify)g_bytes_unref) };
	struct qm_conn *b = qm_conn_create(sv[1], "b", record, record_closed,
					   &r, NULL);
	g_autoptr(GPtrArray) msgs = mixed_messages();
	g_autoptr(GByteArray) all = g_byte_array_new();
	for (guint i = 0; i < msgs->len; i++) {
		gsize len;
		const uint8_t *p = g_bytes_get_data(msgs->pdata[i], &len);
		g_byte_array_append(all, p, (guint)len);
	}
	for (size_t off = 0; off < all->len; off += chunk) {
		size_t n = MIN(chunk, all->len - off);
		g_assert_cmpint(write(sv[0], all->data + off, n), ==, (ssize_t)n);
		while (g_main_context_iteration(NULL, FALSE))
			;
	}
	for (int i = 0; i < 1000 && r.got->len < msgs->len; i++)
		g_main_context_iteration(NULL, TRUE);
	g_assert_false(r.closed);
	g_assert_cmpuint(r.got->len, ==, msgs->len);
	for (guint i = 0; i < msgs->len; i++)
		g_assert_true(g_bytes_equal(r.got->pdata[i], msgs->pdata[i]));
	close(sv[0]);
	qm_conn_destroy(b);
	g_ptr_array_unref(r.got);
}

static void test_conn_large_messages_any_split(void)
{
	static const size_t chunks[] = { 1, 3, 16, 17, 4095, 4096, 16384,
					 16401, 65552, 200000 };
	for (size_t i = 0; i < G_N_ELEMENTS(chunks); i++)
		check_split(chunks[i]);
}

/* A large message whose header is good but whose payload is not is read
 * into its own buffer and then refused like any other. */
static void test_conn_drops_bad_large_message(void)
{
	int sv[2];
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
	struct recorder r = { .got = g_ptr_array_new_with_free_func(
				      (GDestroyNotify)g_bytes_unref) };
	struct qm_conn *b = qm_conn_create(sv[1], "b", record, record_closed,
					   &r, NULL);
	size_t len = QM_WIRE_HEADER_SIZE + 8192;
	g_autofree uint8_t *buf = g_malloc(len);
	memset(buf, 0xff, len);
	struct qm_wire_header h = {
		.magic = GUINT32_TO_LE(QM_WIRE_MAGIC),
		.type = GUINT16_TO_LE(QM_MSG_REPLY),
		.flags = 0,
		.stream = 0,
		.length = GUINT32_TO_LE(8192),
	};
	memcpy(buf, &h, sizeof(h));
	for (size_t off = 0; off < len; off += 1000) {
		g_assert_false(r.closed);
		size_t n = MIN(1000, len - off);
		g_assert_cmpint(write(sv[0], buf + off, n), ==, (ssize_t)n);
		while (g_main_context_iteration(NULL, FALSE))
			;
	}
	for (int i = 0; i < 1000 && !r.closed; i++)
		g_main_context_iteration(NULL, TRUE);
	g_assert_true(r.closed);
	g_assert_cmpuint(r.got->len, ==, 0);
	close(sv[0]);
	qm_conn_destroy(b);
	g_ptr_array_unref(r.got);
}

/* Sending: large payloads go out from their own bytes (gathered writes,
 * partial writes resumed); the bytes on the socket are the encoding. */
static void test_conn_sends_what_it_encodes(void)
{
	int sv[2];
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
	int small = 4096;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	struct qm_conn *a = qm_conn_create(sv[0], "a", NULL, NULL, NULL, NULL);
	g_autoptr(GPtrArray) msgs = mixed_messages();
	g_autoptr(GByteArray) want = g_byte_array_new();
	for (guint i = 0; i < msgs->len; i++) {
		gsize len;
		const uint8_t *p = g_bytes_get_data(msgs->pdata[i], &len);
		g_byte_array_append(want, p, (guint)len);
		struct qm_wire_msg m;
		size_t used;
		g_assert_cmpint(qm_wire_decode_bytes(msgs->pdata[i], 0, &used,
						     &m, NULL), ==, QM_WIRE_OK);
		qm_conn_send(a, m.type, m.stream, g_steal_pointer(&m.payload));
	}
	g_autoptr(GByteArray) got = g_byte_array_new();
	uint8_t buf[7000];
	while (got->len < want->len) {
		while (g_main_context_iteration(NULL, FALSE))
			;
		ssize_t n = recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0)
			g_byte_array_append(got, buf, (guint)n);
	}
	g_assert_cmpmem(got->data, got->len, want->data, want->len);
	qm_conn_destroy(a);
	close(sv[1]);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	signal(SIGPIPE, SIG_IGN);
	g_test_add_func("/conn/delivers-messages", test_conn_delivers_messages);
	g_test_add_func("/conn/reassembles-byte-by-byte",
			test_conn_reassembles_byte_by_byte);
	g_test_add_func("/conn/large-messages-any-split",
			test_conn_large_messages_any_split);
	g_test_add_func("/conn/drops-bad-large-message",
			test_conn_drops_bad_large_message);
	g_test_add_func("/conn/sends-what-it-encodes",
			test_conn_sends_what_it_encodes);
	g_test_add_func("/conn/drops-peer-sending-garbage",
			test_conn_drops_peer_sending_garbage);
	return g_test_run();
}
