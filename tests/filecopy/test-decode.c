/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The qmgr.Filecopy decoder (filecopy/decode.c) against well-formed and
 * hostile streams.  Every stream is decoded three times, whole, byte by
 * byte and in 7-byte pieces, and the three must agree: what the decoder
 * accepts cannot depend on how the bytes arrive.  For each hostile stream
 * the test checks the error's code, its message, the entry it names, and
 * that the offending entry never reached the receiver as an event.
 */
#ifdef NDEBUG
#error "the filecopy tests rely on assertions; do not build them with NDEBUG"
#endif
#ifdef G_DISABLE_ASSERT
#error "the filecopy tests rely on g_assert; do not define G_DISABLE_ASSERT"
#endif

#include <string.h>
#include <glib.h>

#include "decode.h"
#include "encode.h"
#include "stream.h"

/* ---- decoding into a log ---- */

struct outcome {
	GString *log;          /* one line per event; DATA joined per file */
	bool ok;               /* END reached and finish() agreed */
	enum qfc_result_code code;
	char *message;
	char *name;
	uint64_t bytes;
};

static void outcome_clear(struct outcome *o)
{
	if (o->log)
		g_string_free(o->log, TRUE);
	g_free(o->message);
	g_free(o->name);
	memset(o, 0, sizeof(*o));
}

static void log_event(struct outcome *o, const struct qfc_event *ev,
		      GString *content)
{
	switch (ev->type) {
	case QFC_EVENT_DIR:
		g_string_append_printf(o->log, "D %s %o\n", ev->path, ev->perm);
		g_assert_cmpint(ev->mtime_sec, ==, T_MTIME);
		g_assert_cmpuint(ev->mtime_nsec, ==, T_NSEC);
		break;
	case QFC_EVENT_DIR_END:
		g_string_append_printf(o->log, "/D %s\n", ev->path);
		break;
	case QFC_EVENT_FILE:
		g_string_append_printf(o->log, "F %s %o %" G_GUINT64_FORMAT
				       "\n", ev->path, ev->perm, ev->size);
		g_string_truncate(content, 0);
		break;
	case QFC_EVENT_DATA:
		g_assert_cmpuint(ev->len, >, 0);
		g_string_append_len(content, (const char *)ev->data,
				    (gssize)ev->len);
		break;
	case QFC_EVENT_FILE_END:
		g_string_append_printf(o->log, "/F %s %s\n", ev->path,
				       content->str);
		break;
	case QFC_EVENT_SYMLINK:
		g_string_append_printf(o->log, "L %s -> %s\n", ev->path,
				       ev->target);
		break;
	case QFC_EVENT_END:
		g_string_append(o->log, "END\n");
		break;
	}
	/* The last component is the path's. */
	if (ev->type != QFC_EVENT_DATA && ev->type != QFC_EVENT_END) {
		g_assert_true(g_str_has_suffix(ev->path, ev->name));
		g_assert_null(strchr(ev->name, '/'));
	}
}

/* Decodes s in pieces of `piece` bytes (0: whole). */
static void decode_pieces(const GByteArray *s, size_t piece,
			  const struct qfc_limits *limits, struct outcome *o)
{
	struct qfc_decoder *d = qfc_decoder_create(limits);
	g_autoptr(GString) content = g_string_new(NULL);
	size_t off = 0;
	bool failed = false, ended = false;

	memset(o, 0, sizeof(*o));
	o->log = g_string_new(NULL);
	while (!failed && !ended) {
		size_t n = piece ? MIN(piece, s->len - off) : s->len - off;
		size_t pos = 0;
		for (;;) {
			struct qfc_event ev;
			size_t used;
			enum qfc_status st = qfc_decoder_feed(
				d, s->data + off + pos, n - pos, &used, &ev);
			pos += used;
			g_assert_cmpuint(pos, <=, n);
			if (st == QFC_NEED_MORE) {
				g_assert_cmpuint(pos, ==, n);
				break;
			}
			if (st == QFC_ERROR) {
				failed = true;
				/* sticky */
				g_assert_cmpint(qfc_decoder_feed(d, NULL, 0,
								 &used, &ev),
						==, QFC_ERROR);
				break;
			}
			log_event(o, &ev, content);
			if (ev.type == QFC_EVENT_END) {
				ended = true;
				break;
			}
		}
		off += pos;
		if (off == s->len && !failed && !ended) {
			failed = !qfc_decoder_finish(d);
			break;
		}
	}
	o->ok = ended;
	if (ended) {
		g_assert_true(qfc_decoder_finish(d));
		o->bytes = qfc_decoder_bytes(d);
	}
	if (failed) {
		size_t len;
		const char *name = qfc_decoder_error_name(d, &len);
		o->code = qfc_decoder_error_code(d);
		o->message = g_strdup(qfc_decoder_error(d));
		o->name = g_strndup(name, len);
		g_assert_cmpint(o->code, !=, QFC_RESULT_OK);
		g_assert_cmpstr(o->message, !=, "");
	}
	qfc_decoder_destroy(d);
}

/* Decodes whole, byte by byte and in 7-byte pieces; all must agree. */
static void decode(const GByteArray *s, const struct qfc_limits *limits,
		   struct outcome *o)
{
	static const size_t pieces[] = { 1, 7 };

	decode_pieces(s, 0, limits, o);
	for (size_t i = 0; i < G_N_ELEMENTS(pieces); i++) {
		struct outcome again;
		decode_pieces(s, pieces[i], limits, &again);
		g_assert_cmpstr(again.log->str, ==, o->log->str);
		g_assert_cmpint(again.ok, ==, o->ok);
		g_assert_cmpint(again.code, ==, o->code);
		g_assert_cmpstr(again.message, ==, o->message);
		g_assert_cmpstr(again.name, ==, o->name);
		outcome_clear(&again);
	}
}

/* ---- well-formed streams ---- */

static GByteArray *sample_tree(void)
{
	GByteArray *s = ts_new();
	ts_dir(s, "a", 0755);
	ts_dir(s, "a/b", 0700);
	ts_symlink(s, "a/b/l", "../x");
	ts_file(s, "a/c", 0600, "");
	ts_file(s, "a/x", 0644, "hi");
	ts_dir(s, "z", 0755);
	ts_end(s);
	return s;
}

static void test_filecopy_decodes_tree(void)
{
	g_autoptr(GByteArray) s = sample_tree();
	struct outcome o;

	decode(s, NULL, &o);
	g_assert_true(o.ok);
	g_assert_cmpstr(o.log->str, ==,
			"D a 755\n"
			"D a/b 700\n"
			"L a/b/l -> ../x\n"
			"/D a/b\n"
			"F a/c 600 0\n"
			"/F a/c \n"
			"F a/x 644 2\n"
			"/F a/x hi\n"
			"/D a\n"
			"D z 755\n"
			"/D z\n"
			"END\n");
	g_assert_cmpuint(o.bytes, ==, s->len);
	outcome_clear(&o);
}

static void test_filecopy_accepts_unicode_and_limits(void)
{
	g_autoptr(GByteArray) s = ts_new();
	char c255[256];
	struct outcome o;

	memset(c255, 'n', 255);
	c255[255] = '\0';
	ts_file(s, "R\xc3\xa9sum\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac.txt", 0644,
		"x");
	ts_dir(s, "d", 0755);
	ts_file(s, "d/a b", 0755, "y");
	ts_symlink(s, "d/up", "..");
	ts_file(s, c255, 0644, "z");
	ts_end(s);
	decode(s, NULL, &o);
	g_assert_true(o.ok);
	g_assert_nonnull(strstr(o.log->str, "F d/a b 755 1\n"));
	g_assert_nonnull(strstr(o.log->str, "L d/up -> ..\n"));
	outcome_clear(&o);

	/* The longest path: 4095 bytes. */
	g_autoptr(GByteArray) t = ts_new();
	size_t len = 0;
	GString *path = g_string_new(NULL);
	while (path->len + 1 + 200 < QFC_PATH_MAX) {
		if (path->len)
			g_string_append_c(path, '/');
		g_string_append_printf(path, "%0200zu", len++);
		ts_dir(t, path->str, 0755);
	}
	g_string_append_c(path, '/');
	while (path->len < QFC_PATH_MAX)
		g_string_append_c(path, 'f');
	g_assert_cmpuint(path->len, ==, QFC_PATH_MAX);
	ts_file(t, path->str, 0644, "deep");
	ts_end(t);
	decode(t, NULL, &o);
	g_assert_true(o.ok);
	outcome_clear(&o);
	g_string_free(path, TRUE);
}

/* Every proper prefix of a good stream is refused as truncated, only at
 * the end (never as a different error), and says so. */
static void test_filecopy_rejects_truncated_streams(void)
{
	g_autoptr(GByteArray) s = sample_tree();

	for (size_t len = 0; len < s->len; len++) {
		g_autoptr(GByteArray) prefix = g_byte_array_new();
		g_byte_array_append(prefix, s->data, (guint)len);
		struct outcome o;
		decode(prefix, NULL, &o);
		g_assert_false(o.ok);
		g_assert_cmpint(o.code, ==, QFC_RESULT_TRUNCATED);
		g_assert_nonnull(strstr(o.message, len == 0 ? "sent nothing"
							    : "ends"));
		outcome_clear(&o);
	}
}

/* ---- hostile streams ---- */

struct step {
	char kind;             /* d, f, l; 0 ends the list */
	const char *name;
	const char *arg;       /* file content, symlink target */
	uint32_t mode;         /* 0: the kind's usual mode */
};

#define D(n) { 'd', n, NULL, 0 }
#define F(n) { 'f', n, "data", 0 }
#define L(n, t) { 'l', n, t, 0 }
#define M(n, m) { 'm', n, NULL, m }   /* any mode, no content */

struct hostile {
	const char *id;
	struct step steps[8];
	enum qfc_result_code code;
	const char *message;   /* a part of the message */
	const char *name;      /* the entry the error names */
};

static const struct hostile hostile[] = {
	/* names */
	{ "dotdot", { F("../x") }, QFC_RESULT_BAD_STREAM, "'..' component",
	  "../x" },
	{ "dotdot-inside", { D("a"), F("a/../../x") }, QFC_RESULT_BAD_STREAM,
	  "'..' component", "a/../../x" },
	{ "dotdot-alone", { D("..") }, QFC_RESULT_BAD_STREAM, "'..'", ".." },
	{ "dot", { D(".") }, QFC_RESULT_BAD_STREAM, "'.' component", "." },
	{ "dot-inside", { D("a"), F("a/./x") }, QFC_RESULT_BAD_STREAM,
	  "'.' component", "a/./x" },
	{ "absolute", { F("/etc/passwd") }, QFC_RESULT_BAD_STREAM,
	  "absolute", "/etc/passwd" },
	{ "double-slash", { D("a"), F("a//x") }, QFC_RESULT_BAD_STREAM,
	  "empty component", "a//x" },
	{ "trailing-slash", { D("a/") }, QFC_RESULT_BAD_STREAM,
	  "empty component", "a/" },
	{ "newline", { F("a\nb") }, QFC_RESULT_BAD_STREAM,
	  "control character", "a\nb" },
	{ "escape-sequence", { F("\x1b[2Jx") }, QFC_RESULT_BAD_STREAM,
	  "control character", "\x1b[2Jx" },
	{ "del", { F("a\x7f") }, QFC_RESULT_BAD_STREAM, "control character",
	  "a\x7f" },
	{ "c1-control", { F("a\xc2\x9b") }, QFC_RESULT_BAD_STREAM,
	  "control character", "a\xc2\x9b" },
	{ "bidi-override", { F("gpj\xe2\x80\xae.exe") },
	  QFC_RESULT_BAD_STREAM, "bidirectional", "gpj\xe2\x80\xae.exe" },
	{ "line-separator", { F("a\xe2\x80\xa8") }, QFC_RESULT_BAD_STREAM,
	  "separator", "a\xe2\x80\xa8" },
	{ "invalid-utf8", { F("a\xff") }, QFC_RESULT_BAD_STREAM,
	  "not valid UTF-8", "a\xff" },
	{ "overlong-slash", { D("a"), F("a\xc0\xaf..\xc0\xafx") },
	  QFC_RESULT_BAD_STREAM, "not valid UTF-8", "a\xc0\xaf..\xc0\xafx" },
	{ "surrogate", { F("\xed\xa0\x80") }, QFC_RESULT_BAD_STREAM,
	  "not valid UTF-8", "\xed\xa0\x80" },
	{ "truncated-utf8", { F("ab\xe6\x97") }, QFC_RESULT_BAD_STREAM,
	  "not valid UTF-8", "ab\xe6\x97" },
	/* symlink targets */
	{ "symlink-absolute", { L("l", "/etc/passwd") },
	  QFC_RESULT_BAD_STREAM, "absolute", "l" },
	{ "symlink-up-from-top", { L("l", "../x") }, QFC_RESULT_BAD_STREAM,
	  "leads out", "l" },
	{ "symlink-up-too-far", { D("d"), L("d/l", "../../x") },
	  QFC_RESULT_BAD_STREAM, "leads out", "d/l" },
	{ "symlink-dotdot-after-name", { D("d"), L("d/l", "a/../../x") },
	  QFC_RESULT_BAD_STREAM, "'..' after a name", "d/l" },
	{ "symlink-dotdot-after-name-inside", { D("d"), L("d/l", "a/../x") },
	  QFC_RESULT_BAD_STREAM, "'..' after a name", "d/l" },
	{ "symlink-dot", { L("l", "./x") }, QFC_RESULT_BAD_STREAM,
	  "'.' component", "l" },
	{ "symlink-dot-alone", { L("l", ".") }, QFC_RESULT_BAD_STREAM,
	  "'.' component", "l" },
	{ "symlink-double-slash", { L("l", "a//b") }, QFC_RESULT_BAD_STREAM,
	  "empty component", "l" },
	{ "symlink-control", { L("l", "a\tb") }, QFC_RESULT_BAD_STREAM,
	  "control character", "l" },
	{ "symlink-invalid-utf8", { L("l", "\xc3(") }, QFC_RESULT_BAD_STREAM,
	  "not valid UTF-8", "l" },
	/* the tree */
	{ "file-through-symlink", { D("d"), L("l", "d"), F("l/x") },
	  QFC_RESULT_BAD_STREAM, "not inside a directory", "l/x" },
	{ "dir-through-symlink", { D("d"), L("d/l", ".."), D("d/l/x") },
	  QFC_RESULT_BAD_STREAM, "not inside a directory", "d/l/x" },
	{ "symlink-then-dir-same-name", { L("l", "x"), D("l") },
	  QFC_RESULT_BAD_STREAM, "comes twice", "l" },
	{ "file-through-file", { F("f"), F("f/x") }, QFC_RESULT_BAD_STREAM,
	  "not inside a directory", "f/x" },
	{ "parent-not-sent", { F("a/x") }, QFC_RESULT_BAD_STREAM,
	  "not inside a directory", "a/x" },
	{ "parent-already-ended", { D("a"), D("b"), F("a/x") },
	  QFC_RESULT_BAD_STREAM, "not inside a directory", "a/x" },
	{ "grandparent-not-sent", { D("a"), F("a/b/x") },
	  QFC_RESULT_BAD_STREAM, "not inside a directory", "a/b/x" },
	{ "duplicate-file", { F("x"), F("x") }, QFC_RESULT_BAD_STREAM,
	  "comes twice", "x" },
	{ "duplicate-dir", { D("a"), D("a") }, QFC_RESULT_BAD_STREAM,
	  "comes twice", "a" },
	{ "duplicate-after-subdir", { D("a"), D("a/s"), F("a/s/x"), D("a/s") },
	  QFC_RESULT_BAD_STREAM, "comes twice", "a/s" },
	{ "out-of-order", { F("b"), F("a") }, QFC_RESULT_BAD_STREAM,
	  "byte order", "a" },
	{ "out-of-order-after-subdir", { D("b"), F("b/x"), F("a") },
	  QFC_RESULT_BAD_STREAM, "byte order", "a" },
	/* types and modes */
	{ "char-device", { M("null", 0020666) }, QFC_RESULT_BAD_STREAM,
	  "character device", "null" },
	{ "block-device", { M("sda", 0060660) }, QFC_RESULT_BAD_STREAM,
	  "block device", "sda" },
	{ "fifo", { M("p", 0010644) }, QFC_RESULT_BAD_STREAM, "FIFO", "p" },
	{ "socket", { M("s", 0140755) }, QFC_RESULT_BAD_STREAM, "socket",
	  "s" },
	{ "no-type", { M("n", 0644) }, QFC_RESULT_BAD_STREAM, "no file type",
	  "n" },
	{ "unknown-type", { M("u", 0170644) }, QFC_RESULT_BAD_STREAM,
	  "unknown file type", "u" },
	{ "setuid", { M("x", QFC_TYPE_FILE | 04755) }, QFC_RESULT_BAD_STREAM,
	  "setuid", "x" },
	{ "setgid-dir", { M("d", QFC_TYPE_DIR | 02755) },
	  QFC_RESULT_BAD_STREAM, "outside 0777", "d" },
	{ "sticky-dir", { M("t", QFC_TYPE_DIR | 01777) },
	  QFC_RESULT_BAD_STREAM, "outside 0777", "t" },
};

static void build_steps(GByteArray *s, const struct step *steps)
{
	for (const struct step *st = steps; st->kind; st++) {
		switch (st->kind) {
		case 'd':
			ts_dir(s, st->name, 0755);
			break;
		case 'f':
			ts_file(s, st->name, 0644, st->arg);
			break;
		case 'l':
			ts_symlink(s, st->name, st->arg);
			break;
		case 'm':
			ts_header(s, st->mode, st->name,
				  (uint32_t)strlen(st->name), 0, T_MTIME,
				  T_NSEC, 0);
			break;
		}
	}
}

/* The error is the one expected and names `name`. */
static void assert_refused(const struct outcome *o,
			   enum qfc_result_code code, const char *message,
			   const char *name)
{
	g_assert_false(o->ok);
	if (o->code != code || strstr(o->message, message) == NULL)
		g_test_fail_printf("got code %d '%s', want code %d with '%s'",
				   o->code, o->message, code, message);
	g_assert_cmpstr(o->name, ==, name);
	/* The message shows no raw control byte from the stream. */
	for (const char *p = o->message; *p; p++)
		g_assert_cmpint((unsigned char)*p, >=, 0x20);
}

static void test_filecopy_rejects(gconstpointer data)
{
	const struct hostile *h = data;
	g_autoptr(GByteArray) s = ts_new();
	struct outcome o, before;
	size_t n = 0;

	while (h->steps[n].kind)
		n++;
	build_steps(s, h->steps);
	ts_end(s);
	decode(s, NULL, &o);
	assert_refused(&o, h->code, h->message, h->name);

	/*
	 * The last step is the offending one.  Without it the stream is good,
	 * and its events up to the point of the error are exactly those of
	 * the hostile stream: nothing of the offending entry was given, not
	 * even the ends of directories it would have closed.
	 */
	struct step good_steps[G_N_ELEMENTS(h->steps)] = { 0 };
	memcpy(good_steps, h->steps, (n - 1) * sizeof(struct step));
	g_autoptr(GByteArray) good = ts_new();
	build_steps(good, good_steps);
	ts_end(good);
	decode(good, NULL, &before);
	g_assert_true(before.ok);
	g_assert_true(g_str_has_prefix(before.log->str, o.log->str));
	g_auto(GStrv) rest = g_strsplit(before.log->str + o.log->len, "\n",
					-1);
	for (char **l = rest; *l; l++)
		g_assert_true(**l == '\0' || g_str_has_prefix(*l, "/D ") ||
			      strcmp(*l, "END") == 0);
	outcome_clear(&before);
	outcome_clear(&o);
}

/* Names with a NUL byte, which a C string table cannot hold. */
static void test_filecopy_rejects_nul_in_name(void)
{
	g_autoptr(GByteArray) s = ts_new();
	struct outcome o;

	ts_header(s, QFC_TYPE_FILE | 0644, "a\0b", 3, 0, T_MTIME, 0, 0);
	ts_end(s);
	decode(s, NULL, &o);
	g_assert_false(o.ok);
	g_assert_nonnull(strstr(o.message, "NUL"));
	outcome_clear(&o);

	g_autoptr(GByteArray) t = ts_new();
	ts_header(t, QFC_TYPE_SYMLINK, "l", 1, 3, T_MTIME, 0, 0);
	ts_raw(t, "x\0y", 3);
	ts_end(t);
	decode(t, NULL, &o);
	g_assert_false(o.ok);
	g_assert_nonnull(strstr(o.message, "NUL"));
	g_assert_cmpstr(o.name, ==, "l");
	outcome_clear(&o);
}

static void test_filecopy_rejects_long_names(void)
{
	char c256[257];
	struct outcome o;

	memset(c256, 'n', 256);
	c256[256] = '\0';
	g_autoptr(GByteArray) s = ts_new();
	ts_file(s, c256, 0644, "");
	ts_end(s);
	decode(s, NULL, &o);
	assert_refused(&o, QFC_RESULT_BAD_STREAM, "longer than 255", c256);
	outcome_clear(&o);

	/* Over 4095: refused from the header, before the name is read. */
	g_autoptr(GByteArray) t = ts_new();
	ts_header(t, QFC_TYPE_FILE | 0644, "", 0, 0, T_MTIME, 0, 0);
	uint32_t len = GUINT32_TO_LE(QFC_PATH_MAX + 1);
	memcpy(t->data + QFC_STREAM_HEADER_SIZE + 4, &len, 4);
	decode(t, NULL, &o);
	g_assert_cmpint(o.code, ==, QFC_RESULT_BAD_STREAM);
	g_assert_nonnull(strstr(o.message, "at most 4095"));
	outcome_clear(&o);

	/* A symlink target over 4095, refused before it is read. */
	g_autoptr(GByteArray) u = ts_new();
	ts_header(u, QFC_TYPE_SYMLINK, "l", 1, UINT64_C(1) << 40, T_MTIME, 0,
		  0);
	decode(u, NULL, &o);
	assert_refused(&o, QFC_RESULT_BAD_STREAM, "1 to 4095", "l");
	outcome_clear(&o);

	/* Component of 256 in a symlink target. */
	g_autoptr(GByteArray) v = ts_new();
	ts_symlink(v, "l", c256);
	ts_end(v);
	decode(v, NULL, &o);
	assert_refused(&o, QFC_RESULT_BAD_STREAM, "longer than 255", "l");
	outcome_clear(&o);
}

/* Header fields other than the name. */
static void test_filecopy_rejects_bad_headers(void)
{
	struct {
		const char *id;
		uint32_t mode, name_len;
		uint64_t size;
		uint32_t nsec, flags;
		const char *message;
	} cases[] = {
		{ "flags", QFC_TYPE_FILE | 0644, 1, 0, 0, 4, "unknown flags" },
		{ "nsec", QFC_TYPE_FILE | 0644, 1, 0, 1000000000u, 0,
		  "nanoseconds" },
		{ "dir-with-size", QFC_TYPE_DIR | 0755, 1, 5, 0, 0,
		  "directory with a size" },
		{ "symlink-empty-target", QFC_TYPE_SYMLINK, 1, 0, 0, 0,
		  "1 to 4095" },
		{ "symlink-perm", QFC_TYPE_SYMLINK | 0777, 1, 1, 0, 0,
		  "permission bits" },
		{ "empty-name", QFC_TYPE_FILE | 0644, 0, 0, 0, 0,
		  "empty name" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GByteArray) s = ts_new();
		struct outcome o;
		ts_header(s, cases[i].mode, "x", cases[i].name_len,
			  cases[i].size, T_MTIME, cases[i].nsec,
			  cases[i].flags);
		ts_raw(s, "y", 1);
		ts_end(s);
		decode(s, NULL, &o);
		g_test_message("case %s: %s", cases[i].id,
			       o.message ? o.message : "(accepted)");
		g_assert_false(o.ok);
		g_assert_cmpint(o.code, ==, QFC_RESULT_BAD_STREAM);
		g_assert_nonnull(strstr(o.message, cases[i].message));
		outcome_clear(&o);
	}
}

static void test_filecopy_rejects_bad_stream_header(void)
{
	struct outcome o;
	g_autoptr(GByteArray) s = ts_new();
	ts_end(s);

	s->data[0] ^= 0xff;
	decode(s, NULL, &o);
	g_assert_cmpint(o.code, ==, QFC_RESULT_BAD_STREAM);
	g_assert_nonnull(strstr(o.message, "magic"));
	outcome_clear(&o);

	s->data[0] ^= 0xff;
	s->data[4] = 2;
	decode(s, NULL, &o);
	g_assert_cmpint(o.code, ==, QFC_RESULT_BAD_STREAM);
	g_assert_nonnull(strstr(o.message, "version 2"));
	outcome_clear(&o);
}

static void test_filecopy_rejects_bad_end(void)
{
	struct outcome o;

	/* An end marker with a size. */
	g_autoptr(GByteArray) s = ts_new();
	ts_header(s, 0, "", 0, 1, 0, 0, 0);
	decode(s, NULL, &o);
	g_assert_cmpint(o.code, ==, QFC_RESULT_BAD_STREAM);
	g_assert_nonnull(strstr(o.message, "end marker"));
	outcome_clear(&o);

	/* Bytes after the end marker, if the caller goes on feeding. */
	g_autoptr(GByteArray) t = ts_new();
	ts_file(t, "x", 0644, "1");
	ts_end(t);
	ts_raw(t, "z", 1);
	struct qfc_decoder *d = qfc_decoder_create(NULL);
	struct qfc_event ev;
	size_t off = 0, used;
	enum qfc_status st;
	do {
		st = qfc_decoder_feed(d, t->data + off, t->len - off, &used,
				      &ev);
		off += used;
		g_assert_cmpint(st, ==, QFC_EVENT);
	} while (ev.type != QFC_EVENT_END);
	g_assert_cmpuint(off, ==, t->len - 1);
	g_assert_cmpint(qfc_decoder_feed(d, t->data + off, 1, &used, &ev), ==,
			QFC_ERROR);
	g_assert_nonnull(strstr(qfc_decoder_error(d),
				"follows the end marker"));
	qfc_decoder_destroy(d);
}

/* A file's size and the bytes that follow disagree. */
static void test_filecopy_rejects_size_mismatch(void)
{
	struct outcome o;

	/* Shorter: the end marker is taken as content, and then the stream
	 * stops without one. */
	g_autoptr(GByteArray) s = ts_new();
	ts_header(s, QFC_TYPE_FILE | 0644, "x", 1, 100, T_MTIME, 0, 0);
	ts_raw(s, "hello", 5);
	ts_end(s);
	decode(s, NULL, &o);
	g_assert_cmpint(o.code, ==, QFC_RESULT_TRUNCATED);
	g_assert_cmpstr(o.name, ==, "x");
	g_assert_nonnull(strstr(o.message, "after 37 of its 100 bytes"));
	g_assert_null(strstr(o.log->str, "/F x"));
	outcome_clear(&o);

	/* Longer: the rest is read as a header, and refused. */
	g_autoptr(GByteArray) t = ts_new();
	ts_header(t, QFC_TYPE_FILE | 0644, "x", 1, 2, T_MTIME, 0, 0);
	ts_raw(t, "hello", 5);
	ts_end(t);
	decode(t, NULL, &o);
	g_assert_false(o.ok);
	g_assert_cmpint(o.code, ==, QFC_RESULT_BAD_STREAM);
	outcome_clear(&o);
}

static void test_filecopy_limits(void)
{
	struct qfc_limits limits;
	struct outcome o;

	/* entries */
	qfc_limits_init(&limits);
	limits.max_entries = 3;
	g_autoptr(GByteArray) s = ts_new();
	ts_dir(s, "a", 0755);
	ts_file(s, "a/1", 0644, "");
	ts_file(s, "a/2", 0644, "");
	ts_end(s);
	decode(s, &limits, &o);
	g_assert_true(o.ok);
	outcome_clear(&o);
	g_autoptr(GByteArray) s4 = ts_new();
	ts_dir(s4, "a", 0755);
	ts_file(s4, "a/1", 0644, "");
	ts_file(s4, "a/2", 0644, "");
	ts_file(s4, "a/3", 0644, "");
	ts_end(s4);
	decode(s4, &limits, &o);
	assert_refused(&o, QFC_RESULT_LIMIT, "limit of 3", "a/3");
	outcome_clear(&o);

	/* bytes, all files together */
	qfc_limits_init(&limits);
	limits.max_bytes = 10;
	g_autoptr(GByteArray) b = ts_new();
	ts_file(b, "a", 0644, "12345");
	ts_file(b, "b", 0644, "12345");
	ts_file(b, "c", 0644, "1");
	ts_end(b);
	decode(b, &limits, &o);
	assert_refused(&o, QFC_RESULT_LIMIT, "over the limit", "c");
	outcome_clear(&o);

	/* A huge size is refused before any byte of it. */
	qfc_limits_init(&limits);
	g_autoptr(GByteArray) h = ts_new();
	ts_header(h, QFC_TYPE_FILE | 0644, "big", 3, UINT64_MAX, T_MTIME, 0,
		  0);
	decode(h, &limits, &o);
	assert_refused(&o, QFC_RESULT_LIMIT, "over the limit", "big");
	outcome_clear(&o);

	/* depth: 2 levels pass, the third is refused */
	qfc_limits_init(&limits);
	limits.max_depth = 2;
	g_autoptr(GByteArray) d = ts_new();
	ts_dir(d, "a", 0755);
	ts_dir(d, "a/b", 0755);
	ts_file(d, "a/b/a", 0644, "files do not count");
	ts_dir(d, "a/b/c", 0755);
	ts_end(d);
	decode(d, &limits, &o);
	assert_refused(&o, QFC_RESULT_LIMIT, "more than 2", "a/b/c");
	g_assert_nonnull(strstr(o.log->str, "/F a/b/a "));
	outcome_clear(&o);
}

/* ---- name checks used by the sender ---- */

static void test_filecopy_symlink_targets(void)
{
	static const struct {
		const char *link, *target;
		bool ok;
	} cases[] = {
		{ "l", "x", true },
		{ "l", "a/b/c", true },
		{ "l", "..", false },
		{ "d/l", "..", true },
		{ "d/l", "../x", true },
		{ "d/l", "../..", false },
		{ "d/e/l", "../../x/y", true },
		{ "d/e/l", "../../../x", false },
		{ "d/e/l", "../x/../y", false },
		{ "d/e/l", "x/..", false },
		{ "d/l", "/", false },
		{ "d/l", "x/", false },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		const char *why = qfc_symlink_target_check(
			cases[i].link, cases[i].target,
			strlen(cases[i].target));
		if ((why == NULL) != cases[i].ok)
			g_test_fail_printf("%s -> %s: %s", cases[i].link,
					   cases[i].target,
					   why ? why : "accepted");
	}
}

static void test_filecopy_escape(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain name.txt", "plain name.txt" },
		{ "a\nb", "a\\x0ab" },
		{ "\x1b[31m", "\\x1b[31m" },
		{ "back\\slash", "back\\x5cslash" },
		{ "R\xc3\xa9sum\xc3\xa9", "R\xc3\xa9sum\xc3\xa9" },
		{ "a\xff", "a\\xff" },
		{ "x\xe2\x80\xaey", "x\\xe2\\x80\\xaey" },
		{ "\xc2\x9b", "\\xc2\\x9b" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *got = qfc_escape(cases[i].in,
						  strlen(cases[i].in));
		g_assert_cmpstr(got, ==, cases[i].out);
	}
	char nul[3] = { 'a', 0, 'b' };
	g_autofree char *got = qfc_escape(nul, 3);
	g_assert_cmpstr(got, ==, "a\\x00b");
	/* long names are cut */
	char long_name[1000];
	memset(long_name, 'x', sizeof(long_name));
	g_autofree char *cut = qfc_escape(long_name, sizeof(long_name));
	g_assert_cmpuint(strlen(cut), <, 200);
	g_assert_true(g_str_has_suffix(cut, "..."));
}

/* ---- the result ---- */

static void test_filecopy_result_round_trip(void)
{
	g_autoptr(GBytes) b = qfc_result_encode(QFC_RESULT_EXISTS, 17, 3, 999,
						"a/x", 3, "it already exists");
	gsize len;
	const uint8_t *p = g_bytes_get_data(b, &len);
	struct qfc_result r;
	size_t used;

	for (size_t i = 0; i < len; i++)
		g_assert_cmpint(qfc_result_decode(p, i, &used, &r, NULL), ==,
				QFC_NEED_MORE);
	g_assert_cmpint(qfc_result_decode(p, len, &used, &r, NULL), ==,
			QFC_EVENT);
	g_assert_cmpuint(used, ==, len);
	g_assert_cmpint(r.code, ==, QFC_RESULT_EXISTS);
	g_assert_cmpint(r.error, ==, 17);
	g_assert_cmpuint(r.entries, ==, 3);
	g_assert_cmpuint(r.bytes, ==, 999);
	g_assert_cmpstr(r.name, ==, "a/x");
	g_assert_cmpstr(r.message, ==, "it already exists");
	qfc_result_clear(&r);

	/* OK drops name and message. */
	g_autoptr(GBytes) ok = qfc_result_encode(QFC_RESULT_OK, 0, 1, 2, "n",
						 1, "m");
	p = g_bytes_get_data(ok, &len);
	g_assert_cmpuint(len, ==, sizeof(struct qfc_result_header));
	g_assert_cmpint(qfc_result_decode(p, len, &used, &r, NULL), ==,
			QFC_EVENT);
	g_assert_cmpstr(r.name, ==, "");
	qfc_result_clear(&r);

	/* A long, invalid message is cut and made valid UTF-8. */
	g_autofree char *msg = g_strnfill(3000, 'm');
	msg[5] = '\xff';
	g_autoptr(GBytes) lng = qfc_result_encode(QFC_RESULT_IO, 5, 0, 0,
						  NULL, 0, msg);
	p = g_bytes_get_data(lng, &len);
	g_assert_cmpint(qfc_result_decode(p, len, &used, &r, NULL), ==,
			QFC_EVENT);
	g_assert_cmpuint(strlen(r.message), <=, QFC_MESSAGE_MAX);
	g_assert_true(g_utf8_validate(r.message, -1, NULL));
	qfc_result_clear(&r);
}

static void test_filecopy_result_rejects(void)
{
	static const struct {
		const char *id;
		size_t offset;
		uint32_t value;
		const char *message;
	} cases[] = {
		{ "magic", 0, 0x12345678, "magic" },
		{ "version", 4, 9, "version 9" },
		{ "code", 8, QFC_RESULT_CODE_END, "unknown code" },
		{ "name-too-long", 32, QFC_PATH_MAX + 1, "at most" },
		{ "message-too-long", 36, QFC_MESSAGE_MAX + 1, "at most" },
		{ "failure-without-message", 36, 0, "without a message" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GBytes) b = qfc_result_encode(QFC_RESULT_IO, 5, 0, 0,
							"n", 1, "msg");
		gsize len;
		const void *orig = g_bytes_get_data(b, &len);
		uint8_t *p = g_memdup2(orig, len);
		uint32_t le = GUINT32_TO_LE(cases[i].value);
		memcpy(p + cases[i].offset, &le, 4);
		struct qfc_result r;
		size_t used;
		g_autoptr(GError) err = NULL;
		/* refused from the header alone where it can be */
		g_assert_cmpint(qfc_result_decode(p, len, &used, &r, &err), ==,
				QFC_ERROR);
		g_assert_nonnull(strstr(err->message, cases[i].message));
		g_assert_null(r.name);
		g_free(p);
	}

	/* NUL in the message; OK carrying a message. */
	g_autoptr(GBytes) b = qfc_result_encode(QFC_RESULT_IO, 5, 0, 0, "n", 1,
						"msg");
	gsize len;
	const void *orig = g_bytes_get_data(b, &len);
	uint8_t *p = g_memdup2(orig, len);
	struct qfc_result r;
	size_t used;
	p[len - 2] = 0;
	g_assert_cmpint(qfc_result_decode(p, len, &used, &r, NULL), ==,
			QFC_ERROR);
	p[len - 2] = 's';
	memset(p + 8, 0, 4);   /* code OK */
	g_assert_cmpint(qfc_result_decode(p, len, &used, &r, NULL), ==,
			QFC_ERROR);
	g_free(p);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/filecopy/decode/tree", test_filecopy_decodes_tree);
	g_test_add_func("/filecopy/decode/unicode-and-limits",
			test_filecopy_accepts_unicode_and_limits);
	g_test_add_func("/filecopy/decode/truncated",
			test_filecopy_rejects_truncated_streams);
	for (size_t i = 0; i < G_N_ELEMENTS(hostile); i++) {
		g_autofree char *path = g_strdup_printf(
			"/filecopy/decode/rejects/%s", hostile[i].id);
		g_test_add_data_func(path, &hostile[i], test_filecopy_rejects);
	}
	g_test_add_func("/filecopy/decode/rejects/nul",
			test_filecopy_rejects_nul_in_name);
	g_test_add_func("/filecopy/decode/rejects/long-names",
			test_filecopy_rejects_long_names);
	g_test_add_func("/filecopy/decode/rejects/headers",
			test_filecopy_rejects_bad_headers);
	g_test_add_func("/filecopy/decode/rejects/stream-header",
			test_filecopy_rejects_bad_stream_header);
	g_test_add_func("/filecopy/decode/rejects/end",
			test_filecopy_rejects_bad_end);
	g_test_add_func("/filecopy/decode/rejects/size-mismatch",
			test_filecopy_rejects_size_mismatch);
	g_test_add_func("/filecopy/decode/limits", test_filecopy_limits);
	g_test_add_func("/filecopy/decode/symlink-targets",
			test_filecopy_symlink_targets);
	g_test_add_func("/filecopy/decode/escape", test_filecopy_escape);
	g_test_add_func("/filecopy/result/round-trip",
			test_filecopy_result_round_trip);
	g_test_add_func("/filecopy/result/rejects",
			test_filecopy_result_rejects);
	return g_test_run();
}
