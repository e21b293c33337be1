/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The wire protocol decoder: round trips and every class of bad input. */
#include <string.h>

#include "wire.h"

#ifdef NDEBUG
#error "tests need assertions"
#endif

static GBytes *hello(void)
{
	return qm_wire_encode(QM_MSG_HELLO, 7,
			      g_variant_new("(us)", QM_WIRE_VERSION, "test"));
}

static void test_wire_round_trip(void)
{
	g_autoptr(GBytes) b = hello();
	gsize len;
	const uint8_t *p = g_bytes_get_data(b, &len);
	struct qm_wire_msg msg;
	size_t used;

	g_assert_cmpint(qm_wire_decode(p, len, &used, &msg, NULL), ==,
			QM_WIRE_OK);
	g_assert_cmpuint(used, ==, len);
	g_assert_cmpint(msg.type, ==, QM_MSG_HELLO);
	g_assert_cmpuint(msg.stream, ==, 7);
	guint32 v;
	const char *sw;
	g_variant_get(msg.payload, "(u&s)", &v, &sw);
	g_assert_cmpuint(v, ==, QM_WIRE_VERSION);
	g_assert_cmpstr(sw, ==, "test");
	qm_wire_msg_clear(&msg);
}

static void test_wire_partial_input_needs_more(void)
{
	g_autoptr(GBytes) b = hello();
	gsize len;
	const uint8_t *p = g_bytes_get_data(b, &len);
	struct qm_wire_msg msg;
	size_t used;

	for (size_t i = 0; i < len; i++)
		g_assert_cmpint(qm_wire_decode(p, i, &used, &msg, NULL), ==,
				QM_WIRE_NEED_MORE);
}

static void test_wire_two_messages_in_one_buffer(void)
{
	g_autoptr(GBytes) a = hello();
	g_autoptr(GBytes) b = qm_wire_encode(QM_MSG_SHUTDOWN, 0, NULL);
	g_autoptr(GByteArray) buf = g_byte_array_new();
	g_byte_array_append(buf, g_bytes_get_data(a, NULL), g_bytes_get_size(a));
	g_byte_array_append(buf, g_bytes_get_data(b, NULL), g_bytes_get_size(b));
	struct qm_wire_msg msg;
	size_t used;

	g_assert_cmpint(qm_wire_decode(buf->data, buf->len, &used, &msg, NULL),
			==, QM_WIRE_OK);
	qm_wire_msg_clear(&msg);
	g_assert_cmpint(qm_wire_decode(buf->data + used, buf->len - used,
				       &used, &msg, NULL), ==, QM_WIRE_OK);
	g_assert_cmpint(msg.type, ==, QM_MSG_SHUTDOWN);
	qm_wire_msg_clear(&msg);
}

/* Header fields patched into a valid HELLO, each of which must be refused
 * before any payload is waited for or read. */
struct bad_header {
	const char *name;
	size_t offset;
	uint32_t value;
	size_t width;
	const char *message_part;
};

static const struct bad_header bad_headers[] = {
	{ "magic", 0, 0x12345678, 4, "bad magic" },
	{ "type-zero", 4, 0, 2, "unknown message type 0" },
	{ "type-unknown", 4, 999, 2, "unknown message type 999" },
	{ "flags", 6, 1, 2, "unknown flags" },
	{ "length-over-type-limit", 12, 4097, 4, "exceeds the limit" },
	{ "length-huge", 12, 0xffffffffu, 4, "exceeds the limit" },
};

static void test_wire_rejects_bad_header(gconstpointer data)
{
	const struct bad_header *t = data;
	g_autoptr(GBytes) b = hello();
	gsize len;
	const void *orig = g_bytes_get_data(b, &len);
	uint8_t *p = g_memdup2(orig, len);
	uint32_t le = GUINT32_TO_LE(t->value);
	memcpy(p + t->offset, &le, t->width);
	struct qm_wire_msg msg;
	size_t used;
	g_autoptr(GError) err = NULL;

	/* Only the header: the violation is seen without the payload. */
	g_assert_cmpint(qm_wire_decode(p, QM_WIRE_HEADER_SIZE, &used, &msg,
				       &err), ==, QM_WIRE_ERROR);
	g_assert_nonnull(strstr(err->message, t->message_part));
	g_free(p);
}

static void test_wire_rejects_payload_not_normal_form(void)
{
	/* A HELLO whose string is not NUL-terminated. */
	uint8_t buf[QM_WIRE_HEADER_SIZE + 8];
	struct qm_wire_header h = {
		.magic = GUINT32_TO_LE(QM_WIRE_MAGIC),
		.type = GUINT16_TO_LE(QM_MSG_HELLO),
		.length = GUINT32_TO_LE(8),
	};
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + QM_WIRE_HEADER_SIZE, "\1\0\0\0abcd", 8);
	struct qm_wire_msg msg;
	size_t used;
	g_autoptr(GError) err = NULL;

	g_assert_cmpint(qm_wire_decode(buf, sizeof(buf), &used, &msg, &err),
			==, QM_WIRE_ERROR);
	g_assert_nonnull(strstr(err->message, "normal form"));
	g_assert_null(msg.payload);
}

static void test_wire_rejects_wrong_payload_type(void)
{
	/* A SHUTDOWN ("()", one zero byte) carrying 4 bytes. */
	uint8_t buf[QM_WIRE_HEADER_SIZE + 4] = { 0 };
	struct qm_wire_header h = {
		.magic = GUINT32_TO_LE(QM_WIRE_MAGIC),
		.type = GUINT16_TO_LE(QM_MSG_SHUTDOWN),
		.length = GUINT32_TO_LE(4),
	};
	memcpy(buf, &h, sizeof(h));
	struct qm_wire_msg msg;
	size_t used;

	g_assert_cmpint(qm_wire_decode(buf, sizeof(buf), &used, &msg, NULL),
			==, QM_WIRE_ERROR);
}

/* The stream messages checked by their length alone: a wrong length is
 * still refused, and every byte string of the right one decodes to the
 * value it encodes. */
static void test_wire_stream_payload_lengths(void)
{
	static const struct {
		enum qm_msg_type type;
		uint32_t length;
		bool ok;
	} cases[] = {
		{ QM_MSG_DATA, 0, false }, { QM_MSG_DATA, 3, false },
		{ QM_MSG_DATA, 4, true }, { QM_MSG_DATA, 4 + 65536, true },
		{ QM_MSG_EOF, 3, false }, { QM_MSG_EOF, 4, true },
		{ QM_MSG_EOF, 5, false }, { QM_MSG_EXIT, 8, false },
		{ QM_MSG_EXIT, 4, true }, { QM_MSG_WINDOW, 4, false },
		{ QM_MSG_WINDOW, 8, true }, { QM_MSG_WINDOW, 12, false },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		size_t n = QM_WIRE_HEADER_SIZE + cases[i].length;
		g_autofree uint8_t *buf = g_malloc(n);
		struct qm_wire_header h = {
			.magic = GUINT32_TO_LE(QM_WIRE_MAGIC),
			.type = GUINT16_TO_LE(cases[i].type),
			.stream = GUINT32_TO_LE(7),
			.length = GUINT32_TO_LE(cases[i].length),
		};
		memcpy(buf, &h, sizeof(h));
		for (size_t k = QM_WIRE_HEADER_SIZE; k < n; k++)
			buf[k] = (uint8_t)(k * 37);
		struct qm_wire_msg msg;
		size_t used;
		enum qm_wire_status st =
			qm_wire_decode(buf, n, &used, &msg, NULL);
		g_assert_cmpint(st, ==, cases[i].ok ? QM_WIRE_OK
						    : QM_WIRE_ERROR);
		if (!cases[i].ok)
			continue;
		g_autoptr(GBytes) again = qm_wire_encode(
			msg.type, msg.stream, g_variant_ref(msg.payload));
		gsize len;
		const void *p = g_bytes_get_data(again, &len);
		g_assert_cmpmem(p, len, buf, n);
		qm_wire_msg_clear(&msg);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/wire/round-trip", test_wire_round_trip);
	g_test_add_func("/wire/partial-input-needs-more",
			test_wire_partial_input_needs_more);
	g_test_add_func("/wire/two-messages-in-one-buffer",
			test_wire_two_messages_in_one_buffer);
	for (size_t i = 0; i < G_N_ELEMENTS(bad_headers); i++) {
		g_autofree char *path = g_strdup_printf(
			"/wire/rejects-bad-header/%s", bad_headers[i].name);
		g_test_add_data_func(path, &bad_headers[i],
				     test_wire_rejects_bad_header);
	}
	g_test_add_func("/wire/rejects-payload-not-normal-form",
			test_wire_rejects_payload_not_normal_form);
	g_test_add_func("/wire/rejects-wrong-payload-type",
			test_wire_rejects_wrong_payload_type);
	g_test_add_func("/wire/stream-payload-lengths",
			test_wire_stream_payload_lengths);
	return g_test_run();
}
