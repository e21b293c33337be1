/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The tray icon, drawn by code so that no icon theme is needed, and the
 * small label-colour squares of the menu entries (dbusmenu has no colour
 * property, only icon-data: a PNG).
 *
 * The icon at a glance: grey and crossed when qmgrd is not reachable; a
 * hollow square when no qube runs; a filled green square when some do; an
 * orange square with a white '?' when a question waits for the user.
 */
#include "tray.h"

#include <string.h>
#include <zlib.h>

enum qt_icon_state qt_icon_state_of(bool reachable, unsigned int running,
				    unsigned int questions)
{
	if (!reachable)
		return QT_ICON_UNREACHABLE;
	if (questions > 0)
		return QT_ICON_REQUEST;
	return running > 0 ? QT_ICON_RUNNING : QT_ICON_IDLE;
}

const char *qt_icon_state_name(enum qt_icon_state state)
{
	switch (state) {
	case QT_ICON_UNREACHABLE: return "unreachable";
	case QT_ICON_IDLE: return "idle";
	case QT_ICON_RUNNING: return "running";
	case QT_ICON_REQUEST: return "request";
	}
	return "?";
}

/* The colours of each state: frame, fill, mark (0: none).  ARGB. */
#define ICON_GREY 0xff8a8a8au
#define ICON_DARK 0xff2e3436u
#define ICON_GREEN 0xff4e9a06u
#define ICON_ORANGE 0xfff57900u
#define ICON_WHITE 0xffffffffu
#define ICON_RED 0xffcc0000u

static void put(uint8_t *px, int size, int x, int y, uint32_t argb)
{
	if (x < 0 || y < 0 || x >= size || y >= size)
		return;
	uint8_t *p = px + ((size_t)y * (size_t)size + (size_t)x) * 4;
	p[0] = (uint8_t)(argb >> 24);
	p[1] = (uint8_t)(argb >> 16);
	p[2] = (uint8_t)(argb >> 8);
	p[3] = (uint8_t)argb;
}

/* A '?' in a 5x7 grid, scaled into the square's middle. */
static const char *const question_mark[7] = {
	".###.", "#...#", "....#", "..##.", "..#..", ".....", "..#..",
};

GBytes *qt_icon_pixmap(enum qt_icon_state state, int size)
{
	g_assert(size >= 8 && size <= 256);
	size_t n = (size_t)size * (size_t)size * 4;
	uint8_t *px = g_malloc0(n);      /* transparent */
	int m = size / 8;                /* margin */
	int b = MAX(size / 10, 1);       /* frame width */
	uint32_t frame, fill;

	switch (state) {
	case QT_ICON_UNREACHABLE: frame = ICON_GREY; fill = 0; break;
	case QT_ICON_IDLE: frame = ICON_DARK; fill = ICON_WHITE; break;
	case QT_ICON_RUNNING: frame = ICON_DARK; fill = ICON_GREEN; break;
	case QT_ICON_REQUEST: frame = ICON_DARK; fill = ICON_ORANGE; break;
	default: g_assert_not_reached();
	}
	for (int y = m; y < size - m; y++) {
		for (int x = m; x < size - m; x++) {
			bool edge = x < m + b || y < m + b ||
				    x >= size - m - b || y >= size - m - b;
			if (edge)
				put(px, size, x, y, frame);
			else if (fill)
				put(px, size, x, y, fill);
		}
	}
	if (state == QT_ICON_UNREACHABLE) {
		/* a red diagonal cross */
		for (int i = m; i < size - m; i++) {
			for (int w = 0; w < b; w++) {
				put(px, size, i + w, i, ICON_RED);
				put(px, size, size - 1 - i - w, i, ICON_RED);
			}
		}
	} else if (state == QT_ICON_REQUEST) {
		int inner = size - 2 * (m + b);
		int cell = MAX(inner / 9, 1);
		int ox = (size - 5 * cell) / 2, oy = (size - 7 * cell) / 2;

		for (int r = 0; r < 7; r++)
			for (int c = 0; c < 5; c++)
				if (question_mark[r][c] == '#')
					for (int y = 0; y < cell; y++)
						for (int x = 0; x < cell; x++)
							put(px, size,
							    ox + c * cell + x,
							    oy + r * cell + y,
							    ICON_WHITE);
	}
	return g_bytes_new_take(px, n);
}

/* ---- a minimal PNG writer: one IDAT, filter 0 on every row ---- */

static void chunk(GByteArray *out, const char type[4], const uint8_t *data,
		  uint32_t len)
{
	uint8_t be[4] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16),
			  (uint8_t)(len >> 8), (uint8_t)len };
	g_byte_array_append(out, be, 4);
	g_byte_array_append(out, (const uint8_t *)type, 4);
	if (len)
		g_byte_array_append(out, data, len);
	uLong crc = crc32(0, (const Bytef *)type, 4);
	if (len)
		crc = crc32(crc, data, len);
	uint8_t c[4] = { (uint8_t)(crc >> 24), (uint8_t)(crc >> 16),
			 (uint8_t)(crc >> 8), (uint8_t)crc };
	g_byte_array_append(out, c, 4);
}

GBytes *qt_png_square(uint32_t rgb, int size)
{
	g_assert(size >= 3 && size <= 255);
	size_t stride = 1 + (size_t)size * 3;
	size_t raw_len = stride * (size_t)size;
	g_autofree uint8_t *raw = g_malloc(raw_len);
	/* A frame so that black and dark labels still show on dark menus. */
	uint32_t frame = 0x888a85;

	for (int y = 0; y < size; y++) {
		uint8_t *row = raw + stride * (size_t)y;
		row[0] = 0;
		for (int x = 0; x < size; x++) {
			bool edge = x == 0 || y == 0 || x == size - 1 ||
				    y == size - 1;
			uint32_t c = edge ? frame : rgb;
			row[1 + x * 3] = (uint8_t)(c >> 16);
			row[2 + x * 3] = (uint8_t)(c >> 8);
			row[3 + x * 3] = (uint8_t)c;
		}
	}
	uLongf zlen = compressBound((uLong)raw_len);
	g_autofree uint8_t *z = g_malloc(zlen);
	int rc = compress2(z, &zlen, raw, (uLong)raw_len, 9);
	g_assert(rc == Z_OK);

	GByteArray *out = g_byte_array_new();
	static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a,
					'\n' };
	g_byte_array_append(out, sig, 8);
	uint8_t ihdr[13] = {
		0, 0, 0, (uint8_t)size, 0, 0, 0, (uint8_t)size,
		8,  /* bit depth */
		2,  /* colour type: RGB */
		0, 0, 0,
	};
	chunk(out, "IHDR", ihdr, sizeof(ihdr));
	chunk(out, "IDAT", z, (uint32_t)zlen);
	chunk(out, "IEND", NULL, 0);
	return g_byte_array_free_to_bytes(out);
}
