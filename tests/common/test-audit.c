/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "audit.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>

#ifdef NDEBUG
#error "tests need assertions"
#endif

#define N_RECORDS 5

struct fixture {
	char *dir;
	char *log;
};

static void fixture_setup(struct fixture *f, gconstpointer data)
{
	GError *err = NULL;
	f->dir = g_dir_make_tmp("test-audit-XXXXXX", &err);
	g_assert_no_error(err);
	f->log = g_build_filename(f->dir, "audit.log", NULL);
}

static void fixture_teardown(struct fixture *f, gconstpointer data)
{
	g_unlink(f->log);
	g_rmdir(f->dir);
	g_free(f->log);
	g_free(f->dir);
}

static const char *const sources[] = { "work", "personal", "vault",
				       "untrusted", "sys-net" };

/* Appends `n` plain records to an open log, the i-th from sources[i % 5]. */
static void append_n(struct qm_audit *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct qm_audit_record rec = {
			.call = "qmgr.Filecopy+",
			.source = sources[i % G_N_ELEMENTS(sources)],
			.requested_target = "@default",
			.resolved_target = "vault",
			.action = i % 2 ? QM_AUDIT_DENY : QM_AUDIT_ALLOW,
			.rule = "/etc/qmgr/policy.d/30-user.policy:12",
		};
		GError *err = NULL;
		g_assert_true(qm_audit_append(a, &rec, &err));
		g_assert_no_error(err);
	}
}

static void write_log(const char *path, size_t n)
{
	GError *err = NULL;
	g_autoptr(qm_audit) a = qm_audit_open(path, &err);
	g_assert_no_error(err);
	append_n(a, n);
}

static void assert_verifies(const char *path, size_t want)
{
	GError *err = NULL;
	size_t n = 99;
	g_assert_true(qm_audit_verify(path, &n, &err));
	g_assert_no_error(err);
	g_assert_cmpuint(n, ==, want);
}

/* --- editing the log as text ---------------------------------------------- */

struct log_text {
	GPtrArray *lines;       /* without '\n' */
	bool final_newline;
};

static void log_read(const char *path, struct log_text *t)
{
	g_autofree char *data = NULL;
	gsize len;
	GError *err = NULL;
	g_assert_true(g_file_get_contents(path, &data, &len, &err));
	g_assert_no_error(err);
	t->final_newline = len > 0 && data[len - 1] == '\n';
	if (t->final_newline)
		data[len - 1] = '\0';
	t->lines = g_ptr_array_new_with_free_func(g_free);
	g_auto(GStrv) parts = g_strsplit(data, "\n", -1);
	for (char **p = parts; *p != NULL; p++)
		g_ptr_array_add(t->lines, g_strdup(*p));
}

static void log_write(const char *path, struct log_text *t)
{
	g_autoptr(GString) s = g_string_new(NULL);
	for (size_t i = 0; i < t->lines->len; i++) {
		g_string_append(s, t->lines->pdata[i]);
		if (i + 1 < t->lines->len || t->final_newline)
			g_string_append_c(s, '\n');
	}
	GError *err = NULL;
	g_assert_true(g_file_set_contents(path, s->str, (gssize)s->len,
					  &err));
	g_assert_no_error(err);
	g_ptr_array_unref(t->lines);
}

static char *hex_hash(const char *data, size_t len)
{
	unsigned char h[32];
	crypto_generichash(h, sizeof(h), (const unsigned char *)data, len,
			   NULL, 0);
	char hex[65];
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	return g_strdup(hex);
}

/* Line `i` (0-based) with its own hash field recomputed, as a forger who
 * knows the format would. */
static void rehash(GPtrArray *lines, size_t i)
{
	char *line = lines->pdata[i];
	char *tab = strrchr(line, '\t');
	g_autofree char *h = hex_hash(line, (size_t)(tab + 1 - line));
	tab[1] = '\0';
	lines->pdata[i] = g_strconcat(line, h, NULL);
	g_free(line);
}

/* Replaces field `field` (0-based) of line `i`. */
static void set_field(GPtrArray *lines, size_t i, size_t field,
		      const char *value)
{
	g_auto(GStrv) f = g_strsplit(lines->pdata[i], "\t", -1);
	g_assert_cmpuint(g_strv_length(f), ==, 10);
	g_free(f[field]);
	f[field] = g_strdup(value);
	g_free(lines->pdata[i]);
	lines->pdata[i] = g_strjoinv("\t", f);
}

/* Lines are 0-based below; the expected bad line is 1-based. */
static void tamper_edit_field(struct log_text *t)
{
	set_field(t->lines, 2, 3, "dom0");
}

static void tamper_edit_field_and_hash(struct log_text *t)
{
	set_field(t->lines, 2, 3, "dom0");
	rehash(t->lines, 2);
}

static void tamper_edit_action(struct log_text *t)
{
	set_field(t->lines, 1, 6, "allow");
}

static void tamper_delete_middle(struct log_text *t)
{
	g_ptr_array_remove_index(t->lines, 2);
}

static void tamper_delete_first(struct log_text *t)
{
	g_ptr_array_remove_index(t->lines, 0);
}

static void tamper_swap(struct log_text *t)
{
	gpointer x = t->lines->pdata[1];
	t->lines->pdata[1] = t->lines->pdata[2];
	t->lines->pdata[2] = x;
}

static void tamper_duplicate(struct log_text *t)
{
	g_ptr_array_insert(t->lines, 3, g_strdup(t->lines->pdata[2]));
}

/* A line whose hash does not match, after line 2. */
static void tamper_insert_garbage_hash(struct log_text *t)
{
	g_ptr_array_insert(t->lines, 2, g_strdup(t->lines->pdata[1]));
	set_field(t->lines, 2, 3, "dom0");
}

/* A perfectly consistent forged record 3 after record 2: only the real
 * record 3, now on line 4, no longer follows. */
static void tamper_insert_forged(struct log_text *t)
{
	g_ptr_array_insert(t->lines, 2, g_strdup(t->lines->pdata[2]));
	set_field(t->lines, 2, 3, "dom0");
	rehash(t->lines, 2);
}

static void tamper_seq_gap(struct log_text *t)
{
	set_field(t->lines, 2, 0, "4");
	rehash(t->lines, 2);
}

static void tamper_truncate_last(struct log_text *t)
{
	char *last = t->lines->pdata[t->lines->len - 1];
	last[strlen(last) - 10] = '\0';
	t->final_newline = false;
}

static void tamper_drop_final_newline(struct log_text *t)
{
	t->final_newline = false;
}

static void tamper_extra_field(struct log_text *t)
{
	char *l = t->lines->pdata[1];
	t->lines->pdata[1] = g_strconcat(l, "\tx", NULL);
	g_free(l);
}

static void tamper_empty_line(struct log_text *t)
{
	g_ptr_array_insert(t->lines, 3, g_strdup(""));
}

static void tamper_raw_control_byte(struct log_text *t)
{
	set_field(t->lines, 3, 2, "qmgr.Filecopy+\033[2J");
}

static void tamper_stray_backslash(struct log_text *t)
{
	set_field(t->lines, 3, 2, "qmgr.Filecopy+\\q");
	rehash(t->lines, 3);
}

static void tamper_upper_case_hash(struct log_text *t)
{
	char *l = t->lines->pdata[0];
	size_t n = strlen(l);
	l[n - 1] = g_ascii_toupper(l[n - 1]) == l[n - 1] ? 'A' : 'F';
}

static void tamper_bad_time(struct log_text *t)
{
	set_field(t->lines, 4, 1, "2024-05-01 12:34:56");
	rehash(t->lines, 4);
}

struct tamper_row {
	const char *name;
	void (*tamper)(struct log_text *t);
	enum qm_audit_error code;
	size_t line;            /* 1-based */
};

static const struct tamper_row tamper_rows[] = {
	{ "edit-field", tamper_edit_field, QM_AUDIT_ERROR_HASH, 3 },
	{ "edit-action", tamper_edit_action, QM_AUDIT_ERROR_HASH, 2 },
	{ "edit-field-and-hash", tamper_edit_field_and_hash,
	  QM_AUDIT_ERROR_PREV, 4 },
	{ "delete-middle", tamper_delete_middle, QM_AUDIT_ERROR_PREV, 3 },
	{ "delete-first", tamper_delete_first, QM_AUDIT_ERROR_PREV, 1 },
	{ "swap", tamper_swap, QM_AUDIT_ERROR_PREV, 2 },
	{ "duplicate", tamper_duplicate, QM_AUDIT_ERROR_PREV, 4 },
	{ "insert-garbage-hash", tamper_insert_garbage_hash,
	  QM_AUDIT_ERROR_HASH, 3 },
	{ "insert-forged", tamper_insert_forged, QM_AUDIT_ERROR_PREV, 4 },
	{ "seq-gap", tamper_seq_gap, QM_AUDIT_ERROR_SEQ, 3 },
	{ "truncate-last", tamper_truncate_last, QM_AUDIT_ERROR_TRUNCATED,
	  N_RECORDS },
	{ "drop-final-newline", tamper_drop_final_newline,
	  QM_AUDIT_ERROR_TRUNCATED, N_RECORDS },
	{ "extra-field", tamper_extra_field, QM_AUDIT_ERROR_SYNTAX, 2 },
	{ "empty-line", tamper_empty_line, QM_AUDIT_ERROR_SYNTAX, 4 },
	{ "raw-control-byte", tamper_raw_control_byte, QM_AUDIT_ERROR_SYNTAX,
	  4 },
	{ "stray-backslash", tamper_stray_backslash, QM_AUDIT_ERROR_SYNTAX,
	  4 },
	{ "upper-case-hash", tamper_upper_case_hash, QM_AUDIT_ERROR_SYNTAX,
	  1 },
	{ "bad-time", tamper_bad_time, QM_AUDIT_ERROR_SYNTAX, 5 },
};

static void test_tamper_detected(struct fixture *f, gconstpointer data)
{
	const struct tamper_row *row = data;
	write_log(f->log, N_RECORDS);
	assert_verifies(f->log, N_RECORDS);

	struct log_text t;
	log_read(f->log, &t);
	g_assert_cmpuint(t.lines->len, ==, N_RECORDS);
	row->tamper(&t);
	log_write(f->log, &t);

	GError *err = NULL;
	size_t n = 99;
	g_assert_false(qm_audit_verify(f->log, &n, &err));
	g_assert_error(err, QM_AUDIT_ERROR, (gint)row->code);
	g_assert_true(qm_audit_error_is_chain(err));
	g_assert_cmpuint(n + 1, ==, row->line);
	g_autofree char *where = g_strdup_printf("%s:%zu: ", f->log,
						 row->line);
	if (!g_str_has_prefix(err->message, where))
		g_error("message '%s' does not start with '%s'", err->message,
			where);
	g_clear_error(&err);
}

/* --- the writer --------------------------------------------------------- */

static void test_append_verify(struct fixture *f, gconstpointer data)
{
	write_log(f->log, 0);           /* creates an empty log */
	assert_verifies(f->log, 0);
	write_log(f->log, N_RECORDS);
	assert_verifies(f->log, N_RECORDS);

	struct stat st;
	g_assert_cmpint(g_stat(f->log, &st), ==, 0);
	g_assert_cmpuint(st.st_mode & 07777, ==, 0600);
}

static void test_reopen_continues_chain(struct fixture *f,
					gconstpointer data)
{
	write_log(f->log, 3);
	GError *err = NULL;
	g_autoptr(qm_audit) a = qm_audit_open(f->log, &err);
	g_assert_no_error(err);
	g_assert_cmpuint(qm_audit_last_seq(a), ==, 3);
	append_n(a, 2);
	g_assert_cmpuint(qm_audit_last_seq(a), ==, 5);
	g_clear_pointer(&a, qm_audit_close);
	write_log(f->log, 1);
	assert_verifies(f->log, 6);
}

static void test_first_record_is_genesis(struct fixture *f,
					 gconstpointer data)
{
	write_log(f->log, 1);
	struct log_text t;
	log_read(f->log, &t);
	g_auto(GStrv) fields = g_strsplit(t.lines->pdata[0], "\t", -1);
	g_autofree char *g = hex_hash(QM_AUDIT_GENESIS,
				      strlen(QM_AUDIT_GENESIS));
	g_assert_cmpstr(fields[0], ==, "1");
	g_assert_cmpstr(fields[8], ==, g);
	g_ptr_array_unref(t.lines);
}

static void test_second_writer_refused(struct fixture *f, gconstpointer data)
{
	GError *err = NULL;
	g_autoptr(qm_audit) a = qm_audit_open(f->log, &err);
	g_assert_no_error(err);
	struct qm_audit *b = qm_audit_open(f->log, &err);
	g_assert_null(b);
	g_assert_error(err, QM_AUDIT_ERROR, QM_AUDIT_ERROR_LOCKED);
	g_clear_error(&err);
}

static void test_field_too_long_refused(struct fixture *f,
					gconstpointer data)
{
	GError *err = NULL;
	g_autoptr(qm_audit) a = qm_audit_open(f->log, &err);
	g_assert_no_error(err);
	g_autofree char *big = g_strnfill(QM_AUDIT_MAX_FIELD + 1, 'a');
	struct qm_audit_record rec = { .call = big, .action = QM_AUDIT_DENY };
	g_assert_false(qm_audit_append(a, &rec, &err));
	g_assert_error(err, QM_AUDIT_ERROR, QM_AUDIT_ERROR_FIELD);
	g_clear_error(&err);
	g_assert_cmpuint(qm_audit_last_seq(a), ==, 0);

	/* The largest record possible fits a line. */
	g_autofree char *worst = g_strnfill(QM_AUDIT_MAX_FIELD, '\001');
	struct qm_audit_record max = {
		.call = worst, .source = worst, .requested_target = worst,
		.resolved_target = worst, .rule = worst,
		.action = QM_AUDIT_ASK,
	};
	g_assert_true(qm_audit_append(a, &max, &err));
	g_assert_no_error(err);
	g_clear_pointer(&a, qm_audit_close);
	assert_verifies(f->log, 1);
	write_log(f->log, 1);           /* the tail reader copes too */
	assert_verifies(f->log, 2);
}

/* --- hostile content ------------------------------------------------------ */

struct hostile_row {
	const char *name;
	const char *value;
};

static const struct hostile_row hostile_rows[] = {
	{ "tab", "a\tb" },
	{ "newline", "qmgr.Filecopy+x\n2\t2024-01-01T00:00:00.000000Z" },
	{ "cr", "a\rb" },
	{ "backslash", "a\\b\\\\c\\x41" },
	{ "not-utf8", "\xff\xfe\x80 \xc3(" },
	{ "escape-seq", "\033[31mred\033[0m" },
	{ "utf8", "caf\xc3\xa9" },
	{ "empty", "" },
	{ "dash", "-" },
};

static void test_hostile_round_trip(struct fixture *f, gconstpointer data)
{
	GError *err = NULL;
	g_autoptr(qm_audit) a = qm_audit_open(f->log, &err);
	g_assert_no_error(err);
	for (size_t i = 0; i < G_N_ELEMENTS(hostile_rows); i++) {
		const char *v = hostile_rows[i].value;
		struct qm_audit_record rec = {
			.time_us = 1714566896123456,
			.call = v, .source = v, .requested_target = v,
			.resolved_target = v, .rule = v,
			.action = QM_AUDIT_ASK,
		};
		g_assert_true(qm_audit_append(a, &rec, &err));
		g_assert_no_error(err);
	}
	g_clear_pointer(&a, qm_audit_close);

	/* One line per record, ten fields, printable ASCII and tabs only. */
	struct log_text t;
	log_read(f->log, &t);
	g_assert_true(t.final_newline);
	g_assert_cmpuint(t.lines->len, ==, G_N_ELEMENTS(hostile_rows));
	for (size_t i = 0; i < t.lines->len; i++) {
		const char *l = t.lines->pdata[i];
		g_auto(GStrv) fields = g_strsplit(l, "\t", -1);
		g_assert_cmpuint(g_strv_length(fields), ==, 10);
		for (const char *p = l; *p != '\0'; p++)
			g_assert_true(*p == '\t' || (*p >= 0x20 && *p < 0x7f));
	}
	g_ptr_array_unref(t.lines);

	g_autoptr(qm_audit_reader) r = qm_audit_reader_create(f->log, &err);
	g_assert_no_error(err);
	struct qm_audit_entry e;
	for (size_t i = 0; i < G_N_ELEMENTS(hostile_rows); i++) {
		const char *v = hostile_rows[i].value;
		g_test_message("row %s", hostile_rows[i].name);
		g_assert_cmpint(qm_audit_reader_next(r, &e, &err), ==, 1);
		g_assert_no_error(err);
		g_assert_cmpuint(e.line_no, ==, i + 1);
		g_assert_cmpuint(e.seq, ==, i + 1);
		g_assert_cmpstr(e.call, ==, v);
		g_assert_cmpstr(e.source, ==, v);
		g_assert_cmpstr(e.requested_target, ==, v);
		g_assert_cmpstr(e.resolved_target, ==, v);
		g_assert_cmpstr(e.rule, ==, v);
		g_assert_cmpint(e.action, ==, QM_AUDIT_ASK);
		g_assert_cmpstr(e.time, ==, "2024-05-01T12:34:56.123456Z");
		g_assert_cmpint(e.time_us, ==, 1714566896123456);
		qm_audit_entry_finish(&e);
	}
	g_assert_cmpint(qm_audit_reader_next(r, &e, &err), ==, 0);
	g_assert_no_error(err);
}

static void test_no_rule_is_dash(struct fixture *f, gconstpointer data)
{
	GError *err = NULL;
	g_autoptr(qm_audit) a = qm_audit_open(f->log, &err);
	g_assert_no_error(err);
	struct qm_audit_record rec = { .call = "x+", .action = QM_AUDIT_DENY };
	g_assert_true(qm_audit_append(a, &rec, &err));
	g_clear_pointer(&a, qm_audit_close);

	g_autoptr(qm_audit_reader) r = qm_audit_reader_create(f->log, &err);
	g_assert_no_error(err);
	struct qm_audit_entry e;
	g_assert_cmpint(qm_audit_reader_next(r, &e, &err), ==, 1);
	g_assert_null(e.rule);
	g_assert_cmpstr(e.source, ==, "");
	g_auto(GStrv) fields = g_strsplit(e.line, "\t", -1);
	g_assert_cmpstr(fields[7], ==, "-");
	qm_audit_entry_finish(&e);
}

static void test_escape(void)
{
	static const struct { const char *in; const char *out; } rows[] = {
		{ "plain+arg", "plain+arg" },
		{ "a\tb", "a\\x09b" },
		{ "a\nb", "a\\x0ab" },
		{ "\\", "\\\\" },
		{ "\x7f\xff", "\\x7f\\xff" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
		g_autofree char *s = qm_audit_escape(rows[i].in,
						     strlen(rows[i].in));
		g_assert_cmpstr(s, ==, rows[i].out);
	}
}

/* --- opening a log with a corrupt tail ------------------------------------ */

static const struct tamper_row tail_rows[] = {
	{ "truncated", tamper_truncate_last, QM_AUDIT_ERROR_TRUNCATED,
	  N_RECORDS },
	{ "no-final-newline", tamper_drop_final_newline,
	  QM_AUDIT_ERROR_TRUNCATED, N_RECORDS },
	{ "last-edited", NULL, QM_AUDIT_ERROR_HASH, N_RECORDS },
	{ "before-last-removed", NULL, QM_AUDIT_ERROR_PREV, N_RECORDS - 1 },
	{ "before-last-edited", NULL, QM_AUDIT_ERROR_HASH, N_RECORDS - 1 },
	{ "first-removed-one-left", NULL, QM_AUDIT_ERROR_PREV, 1 },
	{ "trailing-empty-line", NULL, QM_AUDIT_ERROR_SYNTAX, N_RECORDS + 1 },
};

static void tail_tamper(const struct tamper_row *row, struct log_text *t)
{
	GPtrArray *l = t->lines;
	if (row->tamper != NULL)
		row->tamper(t);
	else if (strcmp(row->name, "last-edited") == 0)
		set_field(l, l->len - 1, 4, "dom0");
	else if (strcmp(row->name, "before-last-removed") == 0)
		g_ptr_array_remove_index(l, l->len - 2);
	else if (strcmp(row->name, "before-last-edited") == 0)
		set_field(l, l->len - 2, 4, "dom0");
	else if (strcmp(row->name, "first-removed-one-left") == 0)
		g_ptr_array_remove_range(l, 0, l->len - 1);
	else if (strcmp(row->name, "trailing-empty-line") == 0)
		g_ptr_array_add(l, g_strdup(""));
	else
		g_assert_not_reached();
}

static void test_open_refuses_corrupt_tail(struct fixture *f,
					   gconstpointer data)
{
	const struct tamper_row *row = data;
	write_log(f->log, N_RECORDS);
	struct log_text t;
	log_read(f->log, &t);
	tail_tamper(row, &t);
	log_write(f->log, &t);

	g_autofree char *before = NULL;
	g_assert_true(g_file_get_contents(f->log, &before, NULL, NULL));

	GError *err = NULL;
	struct qm_audit *a = qm_audit_open(f->log, &err);
	g_assert_null(a);
	g_assert_error(err, QM_AUDIT_ERROR, (gint)row->code);
	g_autofree char *where = g_strdup_printf("%s:%zu: ", f->log,
						 row->line);
	if (!g_str_has_prefix(err->message, where))
		g_error("message '%s' does not start with '%s'", err->message,
			where);
	g_assert_nonnull(strstr(err->message, "refusing"));
	g_clear_error(&err);

	/* Nothing was written: no new chain was started. */
	g_autofree char *after = NULL;
	g_assert_true(g_file_get_contents(f->log, &after, NULL, NULL));
	g_assert_cmpstr(after, ==, before);
}

static void test_verify_missing_log(struct fixture *f, gconstpointer data)
{
	GError *err = NULL;
	g_assert_false(qm_audit_verify(f->log, NULL, &err));
	g_assert_error(err, QM_AUDIT_ERROR, QM_AUDIT_ERROR_IO);
	g_assert_false(qm_audit_error_is_chain(err));
	g_clear_error(&err);
}

#define ADD(path, fn, data)                                             \
	g_test_add(path, struct fixture, data, fixture_setup, fn,       \
		   fixture_teardown)

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_cmpint(sodium_init(), >=, 0);
	g_test_add_func("/audit/escape", test_escape);
	ADD("/audit/append-verify", test_append_verify, NULL);
	ADD("/audit/reopen-continues-chain", test_reopen_continues_chain,
	    NULL);
	ADD("/audit/first-record-is-genesis", test_first_record_is_genesis,
	    NULL);
	ADD("/audit/second-writer-refused", test_second_writer_refused, NULL);
	ADD("/audit/field-too-long-refused", test_field_too_long_refused,
	    NULL);
	ADD("/audit/hostile-round-trip", test_hostile_round_trip, NULL);
	ADD("/audit/no-rule-is-dash", test_no_rule_is_dash, NULL);
	ADD("/audit/verify-missing-log", test_verify_missing_log, NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(tamper_rows); i++) {
		g_autofree char *p = g_strdup_printf("/audit/tamper/%s",
						     tamper_rows[i].name);
		ADD(p, test_tamper_detected, &tamper_rows[i]);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(tail_rows); i++) {
		g_autofree char *p = g_strdup_printf(
			"/audit/open-refuses-corrupt-tail/%s",
			tail_rows[i].name);
		ADD(p, test_open_refuses_corrupt_tail, &tail_rows[i]);
	}
	return g_test_run();
}
