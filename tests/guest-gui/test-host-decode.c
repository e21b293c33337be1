/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Table-driven tests of the host -> guest decoder (host-link-decode.c). */
#undef NDEBUG
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host-link-decode.h"

struct buf {
	uint8_t b[256];
	size_t len;
};

static void put32(struct buf *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b->b[b->len++] = (uint8_t)(v >> (8 * i));
}

static void msg(struct buf *b, uint32_t magic, uint32_t type, uint32_t window,
		uint32_t length)
{
	put32(b, magic);
	put32(b, type);
	put32(b, window);
	put32(b, length);
}

struct test_case {
	const char *name;
	void (*build)(struct buf *b);
	bool hello_seen;
	enum ga_decode_status want;
	size_t consumed;        /* for OK */
	void (*check)(const struct ga_host_msg *m);
};

static void b_hello(struct buf *b)
{
	msg(b, QM_GUI_MAGIC, QM_GUI_HELLO, 0, 8);
	put32(b, 1);
	put32(b, 0);
}

static void b_bad_magic(struct buf *b)
{
	msg(b, 0x12345678, QM_GUI_HELLO, 0, 8);
}

static void b_short_header(struct buf *b)
{
	b_hello(b);
	b->len = 10;
}

static void b_configure(struct buf *b)
{
	msg(b, QM_GUI_MAGIC, QM_GUI_CONFIGURE, 3, 16);
	put32(b, 800);
	put32(b, 600);
	put32(b, 0xff);         /* unknown bits are masked */
	put32(b, 9);
}

static void b_configure_huge(struct buf *b)
{
	msg(b, QM_GUI_MAGIC, QM_GUI_CONFIGURE, 3, 16);
	put32(b, QM_GUI_MAX_WIDTH + 1);
	put32(b, 600);
	put32(b, 0);
	put32(b, 9);
}

static void b_configure_short(struct buf *b)
{
	msg(b, QM_GUI_MAGIC, QM_GUI_CONFIGURE, 3, 12);
}

static void b_configure_partial(struct buf *b)
{
	b_configure(b);
	b->len -= 4;
}

static void b_frame_done_window0(struct buf *b)
{
	msg(b, QM_GUI_MAGIC, QM_GUI_FRAME_DONE, 0, 0);
}

static void b_unknown_type(struct buf *b)
{
	msg(b, QM_GUI_MAGIC, QM_GUI_CREATE, 1, 24);
}

static void b_keymap_huge(struct buf *b)
{
	/* refused from the header alone, without waiting for 2 MiB */
	msg(b, QM_GUI_MAGIC, QM_GUI_KEYMAP, 0, QM_GUI_MAX_KEYMAP + 1);
}

static void b_keymap(struct buf *b)
{
	msg(b, QM_GUI_MAGIC, QM_GUI_KEYMAP, 0, 4);
	memcpy(b->b + b->len, "xkb", 4);
	b->len += 4;
}

static void b_keymap_no_nul(struct buf *b)
{
	msg(b, QM_GUI_MAGIC, QM_GUI_KEYMAP, 0, 3);
	memcpy(b->b + b->len, "xkb", 3);
	b->len += 3;
}

static void b_keymap_inner_nul(struct buf *b)
{
	msg(b, QM_GUI_MAGIC, QM_GUI_KEYMAP, 0, 4);
	memcpy(b->b + b->len, "x\0b", 4);
	b->len += 4;
}

static void b_key_state(struct buf *b)
{
	msg(b, QM_GUI_MAGIC, QM_GUI_KEY, 2, 12);
	put32(b, 1);
	put32(b, 30);
	put32(b, 2);
}

static void b_key(struct buf *b)
{
	msg(b, QM_GUI_MAGIC, QM_GUI_KEY, 2, 12);
	put32(b, 1);
	put32(b, 30);
	put32(b, 1);
}

static void b_axis_bad(struct buf *b)
{
	msg(b, QM_GUI_MAGIC, QM_GUI_AXIS, 2, 12);
	put32(b, 1);
	put32(b, 2);
	put32(b, 256);
}

static void b_clipboard_set_global(struct buf *b)
{
	msg(b, QM_GUI_MAGIC, QM_GUI_CLIPBOARD_SET, 5, 2);
	b->b[b->len++] = 'h';
	b->b[b->len++] = 'i';
}

static void b_clipboard_set(struct buf *b)
{
	msg(b, QM_GUI_MAGIC, QM_GUI_CLIPBOARD_SET, 0, 2);
	b->b[b->len++] = 'h';
	b->b[b->len++] = 'i';
}

static void b_shm_release(struct buf *b)
{
	msg(b, QM_GUI_MAGIC, QM_GUI_SHM_RELEASE, 4, 4);
	put32(b, 1u << 20);
}

static void b_shm_release_long(struct buf *b)
{
	msg(b, QM_GUI_MAGIC, QM_GUI_SHM_RELEASE, 4, 8);
	put32(b, 0);
	put32(b, 0);
}

static void b_shm_release_window0(struct buf *b)
{
	msg(b, QM_GUI_MAGIC, QM_GUI_SHM_RELEASE, 0, 4);
	put32(b, 0);
}

static void c_shm_release(const struct ga_host_msg *m)
{
	assert(m->window == 4 && m->u.shm_release.offset == 1u << 20);
}

static void c_configure(const struct ga_host_msg *m)
{
	assert(m->window == 3);
	assert(m->u.configure.width == 800 && m->u.configure.height == 600);
	assert(m->u.configure.states == QM_GUI_STATE_MASK);
	assert(m->u.configure.serial == 9);
}

static void c_keymap(const struct ga_host_msg *m)
{
	assert(m->data_len == 3 && memcmp(m->data, "xkb", 3) == 0);
}

static void c_clipboard(const struct ga_host_msg *m)
{
	assert(m->data_len == 2 && memcmp(m->data, "hi", 2) == 0);
}

static void c_key(const struct ga_host_msg *m)
{
	assert(m->u.key.key == 30 && m->u.key.pressed == 1);
}

static const struct test_case cases[] = {
	{ "hello first", b_hello, false, GA_DECODE_OK, 24, NULL },
	{ "test_decode_rejects_second_hello", b_hello, true,
	  GA_DECODE_INVALID, 0, NULL },
	{ "test_decode_rejects_other_first", b_configure, false,
	  GA_DECODE_INVALID, 0, NULL },
	{ "test_decode_rejects_bad_magic", b_bad_magic, false,
	  GA_DECODE_INVALID, 0, NULL },
	{ "short header waits", b_short_header, false, GA_DECODE_INCOMPLETE,
	  0, NULL },
	{ "configure, states masked", b_configure, true, GA_DECODE_OK, 32,
	  c_configure },
	{ "test_decode_rejects_oversize_configure", b_configure_huge, true,
	  GA_DECODE_INVALID, 0, NULL },
	{ "test_decode_rejects_wrong_fixed_length", b_configure_short, true,
	  GA_DECODE_INVALID, 0, NULL },
	{ "partial payload waits", b_configure_partial, true,
	  GA_DECODE_INCOMPLETE, 0, NULL },
	{ "test_decode_rejects_window0_for_window_msg", b_frame_done_window0,
	  true, GA_DECODE_INVALID, 0, NULL },
	{ "test_decode_rejects_guest_types", b_unknown_type, true,
	  GA_DECODE_INVALID, 0, NULL },
	{ "test_decode_rejects_oversize_keymap_early", b_keymap_huge, true,
	  GA_DECODE_INVALID, 0, NULL },
	{ "keymap", b_keymap, true, GA_DECODE_OK, 20, c_keymap },
	{ "test_decode_rejects_keymap_without_nul", b_keymap_no_nul, true,
	  GA_DECODE_INVALID, 0, NULL },
	{ "test_decode_rejects_keymap_inner_nul", b_keymap_inner_nul, true,
	  GA_DECODE_INVALID, 0, NULL },
	{ "test_decode_rejects_key_state_2", b_key_state, true,
	  GA_DECODE_INVALID, 0, NULL },
	{ "key", b_key, true, GA_DECODE_OK, 28, c_key },
	{ "test_decode_rejects_axis_2", b_axis_bad, true, GA_DECODE_INVALID,
	  0, NULL },
	{ "test_decode_rejects_window_in_global_msg", b_clipboard_set_global,
	  true, GA_DECODE_INVALID, 0, NULL },
	{ "clipboard set", b_clipboard_set, true, GA_DECODE_OK, 18,
	  c_clipboard },
	{ "shm release", b_shm_release, true, GA_DECODE_OK, 20,
	  c_shm_release },
	{ "test_decode_rejects_long_shm_release", b_shm_release_long, true,
	  GA_DECODE_INVALID, 0, NULL },
	{ "test_decode_rejects_shm_release_window0", b_shm_release_window0,
	  true, GA_DECODE_INVALID, 0, NULL },
};

int main(void)
{
	size_t n = sizeof(cases) / sizeof(cases[0]);
	int failed = 0;

	printf("1..%zu\n", n + 1);
	for (size_t i = 0; i < n; i++) {
		struct buf b = { .len = 0 };
		struct ga_host_msg m;
		size_t used = 0;
		const char *why = NULL;
		cases[i].build(&b);
		enum ga_decode_status st = ga_host_decode(
			b.b, b.len, cases[i].hello_seen, &m, &used, &why);
		bool ok = st == cases[i].want &&
			  (st != GA_DECODE_OK || used == cases[i].consumed) &&
			  (st != GA_DECODE_INVALID || why != NULL);
		if (ok && st == GA_DECODE_OK && cases[i].check)
			cases[i].check(&m);
		printf("%s %zu - %s\n", ok ? "ok" : "not ok", i + 1,
		       cases[i].name);
		if (!ok) {
			printf("# status %d (want %d), consumed %zu, why %s\n",
			       st, cases[i].want, used, why ? why : "-");
			failed++;
		}
	}

	/* every prefix of a valid stream is INCOMPLETE, never INVALID */
	struct buf b = { .len = 0 };
	b_configure(&b);
	bool ok = true;
	for (size_t len = 0; len < b.len; len++) {
		struct ga_host_msg m;
		size_t used;
		const char *why;
		if (ga_host_decode(b.b, len, true, &m, &used, &why) !=
		    GA_DECODE_INCOMPLETE)
			ok = false;
	}
	printf("%s %zu - every prefix of a message is incomplete\n",
	       ok ? "ok" : "not ok", n + 1);
	failed += !ok;
	return failed ? 1 : 0;
}
