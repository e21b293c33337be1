/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "stream.h"

#include <string.h>

#include "encode.h"

GByteArray *ts_new(void)
{
	GByteArray *s = g_byte_array_new();
	uint8_t h[QFC_STREAM_HEADER_SIZE];
	qfc_stream_header_encode(h);
	g_byte_array_append(s, h, sizeof(h));
	return s;
}

void ts_header(GByteArray *s, uint32_t mode, const char *name,
	       uint32_t name_len, uint64_t size, int64_t mtime_sec,
	       uint32_t mtime_nsec, uint32_t flags)
{
	struct qfc_entry_header h = {
		.mode = GUINT32_TO_LE(mode),
		.name_len = GUINT32_TO_LE(name_len),
		.size = GUINT64_TO_LE(size),
		.mtime_sec = GINT64_TO_LE(mtime_sec),
		.mtime_nsec = GUINT32_TO_LE(mtime_nsec),
		.flags = GUINT32_TO_LE(flags),
	};
	g_byte_array_append(s, (const guint8 *)&h, sizeof(h));
	g_byte_array_append(s, (const guint8 *)name, name_len);
}

void ts_dir(GByteArray *s, const char *name, uint32_t perm)
{
	ts_header(s, QFC_TYPE_DIR | perm, name, (uint32_t)strlen(name), 0,
		  T_MTIME, T_NSEC, 0);
}

void ts_file(GByteArray *s, const char *name, uint32_t perm,
	     const char *content)
{
	size_t len = strlen(content);
	ts_header(s, QFC_TYPE_FILE | perm, name, (uint32_t)strlen(name), len,
		  T_MTIME, T_NSEC, 0);
	g_byte_array_append(s, (const guint8 *)content, (guint)len);
}

void ts_symlink(GByteArray *s, const char *name, const char *target)
{
	size_t len = strlen(target);
	ts_header(s, QFC_TYPE_SYMLINK, name, (uint32_t)strlen(name), len,
		  T_MTIME, T_NSEC, 0);
	g_byte_array_append(s, (const guint8 *)target, (guint)len);
}

void ts_end(GByteArray *s)
{
	uint8_t h[QFC_ENTRY_HEADER_SIZE];
	qfc_end_marker_encode(h);
	g_byte_array_append(s, h, sizeof(h));
}

void ts_raw(GByteArray *s, const void *p, size_t len)
{
	g_byte_array_append(s, p, (guint)len);
}
