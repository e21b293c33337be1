/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qvm-audit: print and verify qmgrd's hash-chained audit log.
 *
 *   qvm-audit show   [--log FILE] [--raw]
 *   qvm-audit verify [--log FILE]
 *
 * Exit status: 0 success, 1 usage or I/O error, 2 the chain is broken.
 */
#include "config.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"

#define EXIT_USAGE 1
#define EXIT_BROKEN 2

struct options {
	const char *log;
	bool raw;
};

static void usage(FILE *out)
{
	fputs("usage: qvm-audit show   [--log FILE] [--raw]\n"
	      "       qvm-audit verify [--log FILE]\n"
	      "See qvm-audit(1).\n",
	      out);
}

static char *default_log(void)
{
	const char *root = g_getenv("QMGR_ROOT");
	if (root != NULL && *root != '\0')
		return g_build_filename(root, "var", "log", "qmgr",
					"audit.log", NULL);
	return g_build_filename(QMGR_LOCALSTATEDIR, "log", "qmgr",
				"audit.log", NULL);
}

/* Exit status for a failure reported by the audit library. */
static int fail(const GError *error)
{
	/* A break is reported as FILE:LINE: why, like a compiler error. */
	if (qm_audit_error_is_chain(error)) {
		fprintf(stderr, "%s\n", error->message);
		return EXIT_BROKEN;
	}
	fprintf(stderr, "qvm-audit: %s\n", error->message);
	return EXIT_USAGE;
}

static int cmd_verify(const char *log)
{
	g_autoptr(GError) error = NULL;
	size_t n = 0;
	if (!qm_audit_verify(log, &n, &error))
		return fail(error);
	printf("OK: %zu record%s, chain intact\n", n, n == 1 ? "" : "s");
	return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_USAGE;
}

enum { C_SEQ, C_TIME, C_SOURCE, C_CALL, C_REQUESTED, C_RESOLVED, C_ACTION,
       C_RULE, N_COLS };

static const char *const headers[N_COLS] = {
	"SEQ", "TIME", "SOURCE", "CALL", "REQUESTED", "RESOLVED", "ACTION",
	"RULE",
};

/* Display text, escaped as in the log so that no field can move the
 * cursor or fake a line on the terminal. */
static char *cell(const char *s)
{
	if (s == NULL || *s == '\0')
		return g_strdup("-");
	return qm_audit_escape(s, strlen(s));
}

static void print_row(char *const *cells, const size_t *width)
{
	for (size_t c = 0; c < N_COLS; c++) {
		if (c + 1 == N_COLS)
			printf("%s\n", cells[c]);
		else
			printf("%-*s  ", (int)width[c], cells[c]);
	}
}

static int cmd_show(const char *log, bool raw)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(qm_audit_reader) r = qm_audit_reader_create(log, &error);
	if (r == NULL)
		return fail(error);

	/* Rows are kept to size the columns; a row is N_COLS strings. */
	g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func(
		(GDestroyNotify)g_strfreev);
	size_t width[N_COLS];
	for (size_t c = 0; c < N_COLS; c++)
		width[c] = strlen(headers[c]);

	struct qm_audit_entry e;
	int rc;
	while ((rc = qm_audit_reader_next(r, &e, &error)) > 0) {
		if (raw) {
			printf("%s\n", e.line);
			qm_audit_entry_finish(&e);
			continue;
		}
		char **row = g_new0(char *, N_COLS + 1);
		row[C_SEQ] = g_strdup_printf("%" G_GUINT64_FORMAT, e.seq);
		row[C_TIME] = g_strdup(e.time);
		row[C_SOURCE] = cell(e.source);
		row[C_CALL] = cell(e.call);
		row[C_REQUESTED] = cell(e.requested_target);
		row[C_RESOLVED] = cell(e.resolved_target);
		row[C_ACTION] = g_strdup(qm_audit_action_name(e.action));
		row[C_RULE] = cell(e.rule);
		for (size_t c = 0; c < N_COLS; c++)
			width[c] = MAX(width[c], strlen(row[c]));
		g_ptr_array_add(rows, row);
		qm_audit_entry_finish(&e);
	}
	if (!raw) {
		print_row((char *const *)headers, width);
		for (size_t i = 0; i < rows->len; i++)
			print_row(rows->pdata[i], width);
	}
	if (fflush(stdout) != 0) {
		fprintf(stderr, "qvm-audit: cannot write the output\n");
		return EXIT_USAGE;
	}
	/* The records before a break are still worth seeing; the break is
	 * reported after them. */
	if (rc < 0)
		return fail(error);
	return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
			  strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return EXIT_SUCCESS;
	}
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	bool show = strcmp(cmd, "show") == 0;
	if (!show && strcmp(cmd, "verify") != 0) {
		fprintf(stderr, "qvm-audit: unknown command '%s' (show or "
				"verify)\n", cmd);
		usage(stderr);
		return EXIT_USAGE;
	}

	struct options o = { 0 };
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return EXIT_SUCCESS;
		} else if (strcmp(a, "--log") == 0 && i + 1 < argc) {
			o.log = argv[++i];
		} else if (strncmp(a, "--log=", 6) == 0 && a[6] != '\0') {
			o.log = a + 6;
		} else if (show && strcmp(a, "--raw") == 0) {
			o.raw = true;
		} else {
			fprintf(stderr, "qvm-audit: %s: unexpected argument "
					"'%s'\n", cmd, a);
			usage(stderr);
			return EXIT_USAGE;
		}
	}

	g_autofree char *def = o.log == NULL ? default_log() : NULL;
	const char *log = o.log != NULL ? o.log : def;
	return show ? cmd_show(log, o.raw) : cmd_verify(log);
}
