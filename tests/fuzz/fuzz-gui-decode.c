/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: any bytes as a guest's GUI stream into gui-proxy's
 * decoder (gui-proxy/guest-decode.c).
 *
 * The input is fed in pieces whose sizes come from the input itself, so
 * partial reads are exercised.  Every DESTROY is answered (DESTROYED) at
 * once, and every 5th message asks for the clipboard, as the proxy could.
 * For each accepted message the target checks what the proxy relies on:
 * the window table agrees with it, DAMAGE lies inside the buffer and
 * carries exactly its pixels (read in full, so ASan sees any overread),
 * strings are valid UTF-8 without control or bidi characters, app_ids
 * use the conservative charset, and the memory cap holds.  Half the
 * inputs (the first byte's top bit) have a shared region of FUZZ_REGION
 * bytes: an accepted SHM_BUFFER's slot lies inside it and overlaps no
 * slot still held, and every other SHM_BUFFER's slot is released again
 * (as the compositor would), so reuse after release is exercised.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "guest-decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                           \
	do {                                                               \
		if (!(x)) {                                                \
			fprintf(stderr, "fuzz-gui-decode: invariant violated: %s\n", \
				#x);                                       \
			abort();                                           \
		}                                                          \
	} while (0)

#define FUZZ_REGION (1u << 22)

static volatile uint8_t sink;

/* The slots the harness holds, as the proxy would: [start, end). */
struct slot {
	uint32_t window;
	uint64_t start, end;
};
static struct slot slots[QM_GUI_MAX_SHM_HELD + 1];
static unsigned int n_slots;

static void check_shm(struct gp_decoder *d, const struct gp_guest_msg *m,
		      const struct gp_window_info *w)
{
	uint64_t start = m->shm.offset;
	uint64_t end = start + (uint64_t)m->shm.stride * m->shm.height;

	CHECK(m->shm.width == w->width && m->shm.height == w->height);
	CHECK(m->shm.stride >= (uint64_t)m->shm.width * 4);
	CHECK(m->shm.stride % 4 == 0 && start % QM_GUI_SHM_ALIGN == 0);
	CHECK(end <= FUZZ_REGION);
	CHECK(m->shm.format == (w->alpha ? QM_GUI_FORMAT_ARGB8888 :
					   QM_GUI_FORMAT_XRGB8888));
	CHECK(m->shm.n_rects <= QM_GUI_MAX_SHM_RECTS);
	for (uint32_t i = 0; i < m->shm.n_rects; i++) {
		const struct qm_gui_rect *r = &m->shm.rects[i];

		CHECK((uint64_t)r->x + r->width <= w->width);
		CHECK((uint64_t)r->y + r->height <= w->height);
	}
	for (unsigned int i = 0; i < n_slots; i++)
		CHECK(!(start < slots[i].end && slots[i].start < end));
	CHECK(n_slots < QM_GUI_MAX_SHM_HELD);
	CHECK(gp_decoder_shm_held(d) == n_slots + 1);
	slots[n_slots++] = (struct slot){ m->window, start, end };
	/* every other one is released at once */
	if (start % (2 * QM_GUI_SHM_ALIGN) == 0) {
		CHECK(gp_decoder_shm_release(d, m->window, m->shm.offset));
		n_slots--;
	}
}

static void forget_slots(uint32_t window)
{
	for (unsigned int i = n_slots; i-- > 0;)
		if (slots[i].window == window)
			slots[i] = slots[--n_slots];
}

static void touch(const uint8_t *p, size_t n)
{
	uint8_t x = 0;

	for (size_t i = 0; i < n; i++)
		x ^= p[i];
	sink = x;
}

static void check_title(const char *s)
{
	CHECK(s && g_utf8_validate(s, -1, NULL));
	CHECK(g_utf8_strlen(s, -1) <= GP_MAX_TITLE_CHARS);
	for (const char *p = s; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		CHECK(c >= 0x20 && !(c >= 0x7f && c <= 0x9f));
		CHECK(c != 0x061c && c != 0x200e && c != 0x200f);
		CHECK(!(c >= 0x2028 && c <= 0x202e));
		CHECK(!(c >= 0x2066 && c <= 0x2069));
		/* common/text-sanitize.c drops every format character */
		CHECK(g_unichar_type(c) != G_UNICODE_FORMAT);
	}
}

static void check_app_id(const char *s)
{
	size_t n = strlen(s);

	CHECK(n >= 1 && n <= GP_MAX_APP_ID_CHARS);
	for (size_t i = 0; i < n; i++)
		CHECK(g_ascii_isalnum(s[i]) || s[i] == '.' || s[i] == '_' ||
		      s[i] == '-');
}

/* The version the decoder said is spoken (its HELLO), this input. */
static uint32_t spoken;

static void check_message(struct gp_decoder *d, const struct gp_guest_msg *m)
{
	const struct gp_window_info *w = gp_decoder_window(d, m->window);

	CHECK(gp_decoder_window_count(d) <= QM_GUI_MAX_WINDOWS);
	CHECK(gp_decoder_buffer_bytes(d) <= GP_MAX_BUFFER_BYTES);
	switch (m->type) {
	case QM_GUI_HELLO:
	case QM_GUI_CLIPBOARD_DATA:
		CHECK(m->window == 0);
		if (m->type == QM_GUI_HELLO) {
			CHECK(m->hello.version >= QM_GUI_VERSION_1 &&
			      m->hello.version <= QM_GUI_VERSION);
			spoken = m->hello.version;
		}
		if (m->type == QM_GUI_CLIPBOARD_DATA) {
			CHECK(m->clipboard.len <= QM_GUI_MAX_CLIPBOARD);
			touch(m->clipboard.data, m->clipboard.len);
		}
		return;
	case QM_GUI_DESTROY:
		CHECK(w && w->destroying);
		CHECK(gp_decoder_window_release(d, m->window));
		forget_slots(m->window);
		CHECK(gp_decoder_shm_held(d) == n_slots);
		return;
	default:
		break;
	}
	CHECK(m->window != 0 && w && !w->destroying);
	CHECK(w->width >= 1 && w->width <= QM_GUI_MAX_WIDTH);
	CHECK(w->height >= 1 && w->height <= QM_GUI_MAX_HEIGHT);
	switch (m->type) {
	case QM_GUI_CREATE:
		CHECK(m->create.popup == (m->create.parent != 0));
		/* a grab only for popups, only in version 2 */
		CHECK(!m->create.grab || (m->create.popup && spoken >= 2));
		if (m->create.popup) {
			const struct gp_window_info *p =
				gp_decoder_window(d, m->create.parent);
			CHECK(p && !p->destroying && p->id != m->window);
		}
		CHECK(m->create.width == w->width &&
		      m->create.height == w->height);
		break;
	case QM_GUI_TITLE:
		check_title(m->title.text);
		break;
	case QM_GUI_APP_ID:
		check_app_id(m->app_id.text);
		break;
	case QM_GUI_BUFFER_SIZE:
		CHECK(m->size.width == w->width &&
		      m->size.height == w->height);
		break;
	case QM_GUI_DAMAGE:
		CHECK((uint64_t)m->damage.x + m->damage.width <= w->width);
		CHECK((uint64_t)m->damage.y + m->damage.height <= w->height);
		touch(m->damage.pixels,
		      (size_t)m->damage.width * m->damage.height * 4);
		break;
	case QM_GUI_REQUEST_STATES:
		CHECK((m->states.states & ~(uint32_t)(QM_GUI_STATE_MAXIMIZED |
						      QM_GUI_STATE_FULLSCREEN |
						      QM_GUI_STATE_MINIMIZED)) == 0);
		break;
	case QM_GUI_CURSOR:
		CHECK(m->cursor.width <= QM_GUI_MAX_CURSOR &&
		      m->cursor.height <= QM_GUI_MAX_CURSOR);
		CHECK((m->cursor.width == 0) == (m->cursor.height == 0));
		if (m->cursor.width) {
			CHECK(m->cursor.hot_x >= 0 &&
			      (uint32_t)m->cursor.hot_x < m->cursor.width);
			CHECK(m->cursor.hot_y >= 0 &&
			      (uint32_t)m->cursor.hot_y < m->cursor.height);
			touch(m->cursor.pixels, (size_t)m->cursor.width *
			      m->cursor.height * 4);
		}
		break;
	case QM_GUI_COMMIT:
		break;
	case QM_GUI_SHM_BUFFER:
		check_shm(d, m, w);
		break;
	default:
		CHECK(!"a message type a guest may not send");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gp_decoder *d = gp_decoder_create();
	size_t off = 0;
	unsigned int n = 0;

	spoken = 0;
	/* The first byte picks the piece size (0: all at once). */
	size_t piece = 0;

	n_slots = 0;
	if (size > 0) {
		piece = data[0] % 32;
		if (data[0] & 0x80)
			gp_decoder_set_shm(d, FUZZ_REGION);
		data++, size--;
	}
	while (off < size) {
		size_t end = piece ? MIN(size, off + piece) : size;

		while (off < end) {
			struct gp_guest_msg m;
			size_t used = 0;
			enum gp_decode_status st = gp_decoder_feed(
				d, data + off, end - off, &used, &m);

			CHECK(used <= end - off);
			off += used;
			if (st == GP_DECODE_VIOLATION) {
				CHECK(gp_decoder_violation(d) != NULL);
				gp_decoder_destroy(d);
				return 0;
			}
			if (st == GP_DECODE_NEED_MORE) {
				CHECK(off == end);
				break;
			}
			CHECK(gp_decoder_violation(d) == NULL);
			check_message(d, &m);
			if (++n % 5 == 0)
				gp_decoder_expect_clipboard(d);
		}
	}
	gp_decoder_destroy(d);
	return 0;
}
