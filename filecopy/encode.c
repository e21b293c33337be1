/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "encode.h"

#include <string.h>

/* The structs are laid out for little-endian hosts; qmgr's peers are a host
 * and its guests, of one architecture, and the format is little-endian. */
G_STATIC_ASSERT(G_BYTE_ORDER == G_LITTLE_ENDIAN);

void qfc_stream_header_encode(uint8_t out[QFC_STREAM_HEADER_SIZE])
{
	struct qfc_stream_header h = {
		.magic = GUINT32_TO_LE(QFC_STREAM_MAGIC),
		.version = GUINT32_TO_LE(QFC_VERSION),
	};
	memcpy(out, &h, sizeof(h));
}

void qfc_entry_header_encode(uint8_t out[QFC_ENTRY_HEADER_SIZE],
			     uint32_t mode, uint32_t name_len, uint64_t size,
			     int64_t mtime_sec, uint32_t mtime_nsec)
{
	struct qfc_entry_header h = {
		.mode = GUINT32_TO_LE(mode),
		.name_len = GUINT32_TO_LE(name_len),
		.size = GUINT64_TO_LE(size),
		.mtime_sec = GINT64_TO_LE(mtime_sec),
		.mtime_nsec = GUINT32_TO_LE(mtime_nsec),
		.flags = 0,
	};
	memcpy(out, &h, sizeof(h));
}

void qfc_end_marker_encode(uint8_t out[QFC_ENTRY_HEADER_SIZE])
{
	memset(out, 0, QFC_ENTRY_HEADER_SIZE);
}

/* The longest prefix of s, at most max bytes, that does not split a UTF-8
 * character (s is valid UTF-8). */
static size_t utf8_prefix(const char *s, size_t max)
{
	size_t len = strlen(s);
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

GBytes *qfc_result_encode(enum qfc_result_code code, int32_t error,
			  uint64_t entries, uint64_t bytes, const char *name,
			  size_t name_len, const char *message)
{
	g_autofree char *valid = NULL;
	size_t message_len = 0;

	if (code == QFC_RESULT_OK) {
		name_len = 0;
		message = NULL;
	}
	if (name == NULL)
		name_len = 0;
	if (name_len > 0) {
		const char *nul = memchr(name, '\0', name_len);
		if (nul != NULL)
			name_len = (size_t)(nul - name);
		name_len = MIN(name_len, QFC_PATH_MAX);
	}
	if (message != NULL) {
		valid = g_utf8_make_valid(message, -1);
		message_len = utf8_prefix(valid, QFC_MESSAGE_MAX);
	}

	struct qfc_result_header h = {
		.magic = GUINT32_TO_LE(QFC_RESULT_MAGIC),
		.version = GUINT32_TO_LE(QFC_VERSION),
		.code = GUINT32_TO_LE((uint32_t)code),
		.error = GINT32_TO_LE(error),
		.entries = GUINT64_TO_LE(entries),
		.bytes = GUINT64_TO_LE(bytes),
		.name_len = GUINT32_TO_LE((uint32_t)name_len),
		.message_len = GUINT32_TO_LE((uint32_t)message_len),
	};
	GByteArray *out = g_byte_array_sized_new(sizeof(h) + name_len +
						 message_len);
	g_byte_array_append(out, (const guint8 *)&h, sizeof(h));
	if (name_len > 0)
		g_byte_array_append(out, (const guint8 *)name, (guint)name_len);
	if (message_len > 0)
		g_byte_array_append(out, (const guint8 *)valid,
				    (guint)message_len);
	return g_byte_array_free_to_bytes(out);
}
