/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: any bytes as a qmgr.Filecopy stream (what a receiving
 * qube reads from another) and as a result (what the sender reads back).
 *
 * The stream is decoded whole and again in pieces of a size taken from the
 * input, and the two runs must give the same events and the same verdict.
 * Every event is checked against invariants written here independently of
 * the decoder: paths relative and made of real names, printable UTF-8;
 * each entry inside the innermost open directory and after its previous
 * sibling; DIR_END closing exactly the innermost directory; a file's DATA
 * adding up to its size; every symlink target, resolved step by step from
 * the link's directory, never climbing above the receiving directory; the
 * limits kept; nothing after END.  A decoded result must encode back to
 * the same bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "decode.h"
#include "encode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                           \
	do {                                                               \
		if (!(x)) {                                                \
			fprintf(stderr, "fuzz-filecopy: invariant violated: " \
				"%s (line %d)\n", #x, __LINE__);           \
			abort();                                           \
		}                                                          \
	} while (0)

/* Small limits, so that fuzzing reaches them. */
static const struct qfc_limits limits = {
	.max_entries = 64,
	.max_bytes = 1 << 16,
	.max_depth = 6,
};

/* Valid UTF-8 without C0 or C1 controls or DEL. */
static void check_text(const char *s, size_t len)
{
	CHECK(g_utf8_validate(s, (gssize)len, NULL));
	for (const char *p = s; p < s + len; p = g_utf8_next_char(p)) {
		gunichar u = g_utf8_get_char(p);
		CHECK(u >= 0x20 && !(u >= 0x7f && u <= 0x9f));
	}
}

/* Relative, real names only, within the lengths. */
static void check_path(const char *path)
{
	size_t len = strlen(path);
	CHECK(len >= 1 && len <= QFC_PATH_MAX);
	check_text(path, len);
	g_auto(GStrv) parts = g_strsplit(path, "/", -1);
	for (char **p = parts; *p; p++) {
		CHECK(**p != '\0');
		CHECK(strcmp(*p, ".") != 0 && strcmp(*p, "..") != 0);
		CHECK(strlen(*p) <= QFC_COMPONENT_MAX);
	}
}

static char *parent_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return g_strndup(path, slash ? (size_t)(slash - path) : 0);
}

/* The target resolved from the link's directory stays at or below the
 * receiving directory, '..' never following a name. */
static void check_target(const char *link, const char *target)
{
	size_t len = strlen(target);
	CHECK(len >= 1 && len <= QFC_PATH_MAX);
	check_text(target, len);
	CHECK(target[0] != '/');
	int depth = 0;
	for (const char *p = link; *p; p++)
		depth += *p == '/';
	bool seen_name = false;
	g_auto(GStrv) parts = g_strsplit(target, "/", -1);
	for (char **p = parts; *p; p++) {
		CHECK(**p != '\0' && strcmp(*p, ".") != 0);
		if (strcmp(*p, "..") == 0) {
			CHECK(!seen_name);
			depth--;
			CHECK(depth >= 0);
		} else {
			seen_name = true;
			depth++;
		}
	}
}

struct checker {
	GString *log;
	GPtrArray *open;       /* char *: open directories, innermost last */
	GPtrArray *last;       /* char *: last name given in each, or NULL */
	bool in_file;
	uint64_t file_size, file_got;
	uint64_t entries, bytes;
	bool ended;
};

/* The entry's parent is the innermost open directory (or the root), and
 * its name sorts after the previous one given there. */
static void check_entry(struct checker *c, const char *path,
			const char *name)
{
	check_path(path);
	CHECK(!c->in_file && !c->ended);
	g_autofree char *parent = parent_of(path);
	const char *top = c->open->len
		? g_ptr_array_index(c->open, c->open->len - 1) : "";
	CHECK(strcmp(parent, top) == 0);
	CHECK(strcmp(name, strrchr(path, '/') ? strrchr(path, '/') + 1
					       : path) == 0);
	char **last = (char **)&c->last->pdata[c->last->len - 1];
	CHECK(*last == NULL || strcmp(*last, name) < 0);
	g_free(*last);
	*last = g_strdup(name);
	c->entries++;
	CHECK(c->entries <= limits.max_entries);
}

static void on_event(struct checker *c, const struct qfc_event *ev)
{
	switch (ev->type) {
	case QFC_EVENT_DIR:
		check_entry(c, ev->path, ev->name);
		CHECK(ev->perm <= 0777);
		CHECK(c->open->len < limits.max_depth);
		g_ptr_array_add(c->open, g_strdup(ev->path));
		g_ptr_array_add(c->last, NULL);
		g_string_append_printf(c->log, "D %s %o %" G_GINT64_FORMAT
				       ".%u\n", ev->path, ev->perm,
				       ev->mtime_sec, ev->mtime_nsec);
		break;
	case QFC_EVENT_DIR_END:
		CHECK(!c->in_file && c->open->len > 0);
		CHECK(strcmp(ev->path, g_ptr_array_index(
				     c->open, c->open->len - 1)) == 0);
		g_ptr_array_remove_index(c->open, c->open->len - 1);
		g_ptr_array_remove_index(c->last, c->last->len - 1);
		g_string_append_printf(c->log, "/D %s\n", ev->path);
		break;
	case QFC_EVENT_FILE:
		check_entry(c, ev->path, ev->name);
		CHECK(ev->perm <= 0777);
		c->in_file = true;
		c->file_size = ev->size;
		c->file_got = 0;
		c->bytes += ev->size;
		CHECK(c->bytes <= limits.max_bytes);
		g_string_append_printf(c->log, "F %s %o %" G_GUINT64_FORMAT
				       "\n", ev->path, ev->perm, ev->size);
		break;
	case QFC_EVENT_DATA:
		CHECK(c->in_file && ev->len > 0);
		c->file_got += ev->len;
		CHECK(c->file_got <= c->file_size);
		/* The bytes, not how they were split. */
		g_string_append_len(c->log, (const char *)ev->data,
				    (gssize)ev->len);
		break;
	case QFC_EVENT_FILE_END:
		CHECK(c->in_file && c->file_got == c->file_size);
		c->in_file = false;
		g_string_append_printf(c->log, "\n/F %s\n", ev->path);
		break;
	case QFC_EVENT_SYMLINK:
		check_entry(c, ev->path, ev->name);
		check_target(ev->path, ev->target);
		g_string_append_printf(c->log, "L %s %s\n", ev->path,
				       ev->target);
		break;
	case QFC_EVENT_END:
		CHECK(!c->in_file && c->open->len == 0 && !c->ended);
		c->ended = true;
		g_string_append(c->log, "END\n");
		break;
	}
}

/* Decodes in pieces of `piece` bytes (0: whole); returns the log and the
 * verdict ("ok" or the error). */
static GString *decode(const uint8_t *data, size_t size, size_t piece)
{
	struct qfc_decoder *d = qfc_decoder_create(&limits);
	struct checker c = {
		.log = g_string_new(NULL),
		.open = g_ptr_array_new_with_free_func(g_free),
		.last = g_ptr_array_new_with_free_func(g_free),
	};
	g_ptr_array_add(c.last, NULL);
	size_t off = 0;
	bool failed = false;

	while (!failed && !c.ended) {
		size_t n = piece ? MIN(piece, size - off) : size - off;
		size_t pos = 0;
		for (;;) {
			struct qfc_event ev;
			size_t used;
			enum qfc_status st = qfc_decoder_feed(
				d, data + off + pos, n - pos, &used, &ev);
			pos += used;
			CHECK(pos <= n);
			if (st == QFC_NEED_MORE) {
				CHECK(pos == n);
				break;
			}
			if (st == QFC_ERROR) {
				failed = true;
				break;
			}
			CHECK(st == QFC_EVENT);
			on_event(&c, &ev);
			if (ev.type == QFC_EVENT_END)
				break;
		}
		off += pos;
		if (off == size && !failed && !c.ended) {
			failed = !qfc_decoder_finish(d);
			CHECK(failed);
		}
	}
	CHECK(failed != c.ended);
	if (c.ended) {
		CHECK(qfc_decoder_finish(d));
		CHECK(qfc_decoder_bytes(d) == off);
		g_string_append(c.log, "verdict: ok\n");
	} else {
		size_t name_len;
		const char *msg = qfc_decoder_error(d);
		const char *name = qfc_decoder_error_name(d, &name_len);
		enum qfc_result_code code = qfc_decoder_error_code(d);
		CHECK(code != QFC_RESULT_OK && code < QFC_RESULT_CODE_END);
		CHECK(msg[0] != '\0');
		check_text(msg, strlen(msg));
		CHECK(name_len <= QFC_PATH_MAX && name[name_len] == '\0');
		g_string_append_printf(c.log, "verdict: %d %s\n", code, msg);
	}
	qfc_decoder_destroy(d);
	g_ptr_array_free(c.open, TRUE);
	g_ptr_array_free(c.last, TRUE);
	return c.log;
}

static void fuzz_result(const uint8_t *data, size_t size)
{
	struct qfc_result r;
	size_t used;
	g_autoptr(GError) err = NULL;

	enum qfc_status st = qfc_result_decode(data, size, &used, &r, &err);
	CHECK((st == QFC_ERROR) == (err != NULL));
	if (st != QFC_EVENT) {
		CHECK(r.name == NULL && r.message == NULL);
		return;
	}
	CHECK(used <= size);
	g_autoptr(GBytes) again = qfc_result_encode(
		r.code, r.error, r.entries, r.bytes, r.name, r.name_len,
		r.message);
	CHECK(g_bytes_get_size(again) == used);
	CHECK(memcmp(g_bytes_get_data(again, NULL), data, used) == 0);
	g_autofree char *shown = qfc_escape_message(r.message);
	check_text(shown, strlen(shown));
	qfc_result_clear(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GString *whole = decode(data, size, 0);
	size_t piece = size ? 1 + data[size - 1] % 29 : 1;
	GString *split = decode(data, size, piece);
	if (!g_string_equal(whole, split)) {
		fprintf(stderr, "fuzz-filecopy: the events depend on the "
			"input's pieces (%zu bytes):\n--- whole\n%s--- "
			"split\n%s", piece, whole->str, split->str);
		abort();
	}
	g_string_free(whole, TRUE);
	g_string_free(split, TRUE);

	fuzz_result(data, size);

	g_autofree char *shown = qfc_escape(data, size);
	check_text(shown, strlen(shown));
	return 0;
}
