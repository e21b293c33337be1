/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Encoder and decoder of the qmgr wire protocol.  The decoder reads bytes
 * from guests and from local clients: it trusts nothing it has not checked
 * (it has a fuzz target, tests/fuzz/fuzz-wire.c).
 */
#include "wire.h"

#include <string.h>

struct type_info {
	const char *gvariant_type;
	uint32_t max_length;
};

static const struct type_info types[QM_MSG_TYPE_END] = {
	[QM_MSG_HELLO] = { "(us)", 4096 },
	[QM_MSG_REQUEST] = { "(ussa{sv})", 256u << 10 },
	[QM_MSG_REPLY] = { "(ubsa{sv})", QM_WIRE_PAYLOAD_MAX },
	[QM_MSG_EVENT] = { "(ssa{sv})", 256u << 10 },
	[QM_MSG_SHUTDOWN] = { "()", 16 },
	[QM_MSG_EXEC] = { "(ssu)", QM_COMMAND_MAX + 256 },
	[QM_MSG_DATA] = { "(uay)", QM_DATA_MAX + 16 },
	[QM_MSG_EOF] = { "(u)", 8 },
	[QM_MSG_EXIT] = { "(i)", 8 },
	[QM_MSG_WINDOW] = { "(uu)", 16 },
	[QM_MSG_CLOSE] = { "(s)", 1024 },
	[QM_MSG_CALL] = { "(ss)", QM_TARGET_MAX + QM_SERVICE_MAX + 16 },
	[QM_MSG_SERVICE] = { "(sssssu)", 1024 },
};

const char *qm_wire_payload_type(enum qm_msg_type type)
{
	if ((unsigned)type >= QM_MSG_TYPE_END)
		return NULL;
	return types[type].gvariant_type;
}

void qm_wire_msg_clear(struct qm_wire_msg *msg)
{
	g_clear_pointer(&msg->payload, g_variant_unref);
}

/* Payloads smaller than this are copied next to their header (one buffer,
 * one write); larger ones are sent from the variant's own bytes. */
#define ENCODE_COPY_MAX 4096u

static GVariant *take_payload(enum qm_msg_type type, GVariant *payload)
{
	const char *vt = qm_wire_payload_type(type);
	/* Consumes the caller's reference (sinking a floating one). */
	GVariant *p = payload ? g_variant_take_ref(payload)
			      : g_variant_ref_sink(g_variant_new_tuple(NULL, 0));
	if (vt == NULL || !g_variant_is_of_type(p, G_VARIANT_TYPE(vt)) ||
	    g_variant_get_size(p) > types[type].max_length) {
		g_variant_unref(p);
		g_return_val_if_reached(NULL);
	}
	return p;
}

static void store_header(uint8_t *buf, enum qm_msg_type type,
			 uint32_t stream, size_t size)
{
	struct qm_wire_header h = {
		.magic = GUINT32_TO_LE(QM_WIRE_MAGIC),
		.type = GUINT16_TO_LE((uint16_t)type),
		.flags = 0,
		.stream = GUINT32_TO_LE(stream),
		.length = GUINT32_TO_LE((uint32_t)size),
	};
	memcpy(buf, &h, sizeof(h));
}

GBytes *qm_wire_encode(enum qm_msg_type type, uint32_t stream,
		       GVariant *payload)
{
	g_autoptr(GVariant) p = take_payload(type, payload);
	if (p == NULL)
		return NULL;
	size_t size = g_variant_get_size(p);
	uint8_t *buf = g_malloc(QM_WIRE_HEADER_SIZE + size);
	store_header(buf, type, stream, size);
	/* GVariant serializes in host order; qmgr's peers share the host's
	 * architecture (a guest of the same machine), and the header says
	 * little-endian, so refuse big-endian builds outright. */
	G_STATIC_ASSERT(G_BYTE_ORDER == G_LITTLE_ENDIAN);
	g_variant_store(p, buf + QM_WIRE_HEADER_SIZE);
	return g_bytes_new_take(buf, QM_WIRE_HEADER_SIZE + size);
}

bool qm_wire_encode_parts(enum qm_msg_type type, uint32_t stream,
			  GVariant *payload, GBytes **head, GBytes **body)
{
	*head = *body = NULL;
	g_autoptr(GVariant) p = take_payload(type, payload);
	if (p == NULL)
		return false;
	size_t size = g_variant_get_size(p);
	if (size < ENCODE_COPY_MAX) {
		*head = qm_wire_encode(type, stream, g_steal_pointer(&p));
		return *head != NULL;
	}
	uint8_t *buf = g_malloc(QM_WIRE_HEADER_SIZE);
	store_header(buf, type, stream, size);
	*head = g_bytes_new_take(buf, QM_WIRE_HEADER_SIZE);
	/* A variant read from the wire (a relayed payload) or made from
	 * serialized data hands over its bytes without a copy. */
	*body = g_variant_get_data_as_bytes(p);
	return true;
}

/*
 * Payload types for which every byte string of the right length is a
 * valid value in normal form, so the length is the whole check: "(uay)"
 * (the u, then the bytes; a last member of variable size has no framing
 * offset) and the fixed-size "(u)", "(i)", "(uu)".  GLib's own check walks
 * an 'ay' element by element, which made it most of the cost of moving
 * data (bench/README.md); fuzz-wire checks that these payloads still
 * re-encode to the same bytes.
 */
static bool normal_by_length(enum qm_msg_type type, uint32_t length)
{
	switch (type) {
	case QM_MSG_DATA:
		return length >= 4;
	case QM_MSG_EOF:
	case QM_MSG_EXIT:
		return length == 4;
	case QM_MSG_WINDOW:
		return length == 8;
	default:
		return false;
	}
}

static enum qm_wire_status fail(GError **error, const char *fmt, ...)
	G_GNUC_PRINTF(2, 3);
static enum qm_wire_status fail(GError **error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error_literal(error, QM_WIRE_ERROR_DOMAIN, 1, msg);
	return QM_WIRE_ERROR;
}

static enum qm_wire_status decode(const uint8_t *data, size_t len,
				  GBytes *owner, size_t owner_offset,
				  size_t *consumed, struct qm_wire_msg *out,
				  GError **error)
{
	struct qm_wire_header untrusted_h;

	memset(out, 0, sizeof(*out));
	*consumed = 0;
	if (len < QM_WIRE_HEADER_SIZE)
		return QM_WIRE_NEED_MORE;
	memcpy(&untrusted_h, data, sizeof(untrusted_h));

	if (GUINT32_FROM_LE(untrusted_h.magic) != QM_WIRE_MAGIC)
		return fail(error, "bad magic 0x%08x",
			    GUINT32_FROM_LE(untrusted_h.magic));
	uint16_t untrusted_type = GUINT16_FROM_LE(untrusted_h.type);
	if (untrusted_type == 0 || untrusted_type >= QM_MSG_TYPE_END)
		return fail(error, "unknown message type %u", untrusted_type);
	if (GUINT16_FROM_LE(untrusted_h.flags) != 0)
		return fail(error, "message type %u: unknown flags 0x%x",
			    untrusted_type, GUINT16_FROM_LE(untrusted_h.flags));
	/* sanitized: the type indexes the table, the length is bounded */
	enum qm_msg_type type = untrusted_type;
	uint32_t untrusted_length = GUINT32_FROM_LE(untrusted_h.length);
	if (untrusted_length > types[type].max_length)
		return fail(error, "message type %u: payload of %u bytes "
				   "exceeds the limit of %u",
			    type, untrusted_length, types[type].max_length);
	uint32_t length = untrusted_length;
	if ((uint64_t)len < (uint64_t)QM_WIRE_HEADER_SIZE + length)
		return QM_WIRE_NEED_MORE;

	/* The variant must own aligned memory that outlives `data`: a slice
	 * of `owner` (g_malloc'd, so aligned at the header's 16 bytes), or
	 * a copy. */
	g_autoptr(GBytes) bytes =
		owner ? g_bytes_new_from_bytes(owner,
					       owner_offset + QM_WIRE_HEADER_SIZE,
					       length)
		      : g_bytes_new(data + QM_WIRE_HEADER_SIZE, length);
	bool by_length = normal_by_length(type, length);
	g_autoptr(GVariant) untrusted_payload = g_variant_ref_sink(
		g_variant_new_from_bytes(G_VARIANT_TYPE(types[type].gvariant_type),
					 bytes, by_length));
	if (!by_length && !g_variant_is_normal_form(untrusted_payload))
		return fail(error, "message type %u: payload is not a valid "
				   "%s in normal form",
			    type, types[type].gvariant_type);

	out->type = type;
	out->stream = GUINT32_FROM_LE(untrusted_h.stream);
	out->payload = g_steal_pointer(&untrusted_payload);
	*consumed = QM_WIRE_HEADER_SIZE + length;
	return QM_WIRE_OK;
}

enum qm_wire_status qm_wire_decode(const uint8_t *data, size_t len,
				   size_t *consumed, struct qm_wire_msg *out,
				   GError **error)
{
	return decode(data, len, NULL, 0, consumed, out, error);
}

enum qm_wire_status qm_wire_decode_bytes(GBytes *bytes, size_t offset,
					 size_t *consumed,
					 struct qm_wire_msg *out,
					 GError **error)
{
	gsize size;
	const uint8_t *data = g_bytes_get_data(bytes, &size);
	g_return_val_if_fail(offset <= size, QM_WIRE_ERROR);
	return decode(data + offset, size - offset, bytes, offset, consumed,
		      out, error);
}

GVariant *qm_wire_data_payload_take(uint32_t fd, uint8_t *buf, size_t len)
{
	/* "(uay)" serialized: the u, then the bytes (the last member of a
	 * tuple carries no framing offset); the u is aligned at 0. */
	G_STATIC_ASSERT(QM_DATA_HEADROOM == sizeof(guint32));
	guint32 le = GUINT32_TO_LE(fd);
	memcpy(buf, &le, sizeof(le));
	return g_variant_new_from_data(G_VARIANT_TYPE("(uay)"), buf,
				       QM_DATA_HEADROOM + len, TRUE, g_free,
				       buf);
}
