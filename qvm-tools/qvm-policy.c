/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qvm-policy: check, evaluate, explain and safely edit the RPC policy.
 *
 *   qvm-policy check   [--policy-dir DIR]...
 *   qvm-policy eval    [--policy-dir DIR]... --vms FILE SERVICE[+ARG] SRC TGT
 *   qvm-policy eval    [--policy-dir DIR]... --vms FILE --batch QUERIES
 *   qvm-policy explain [--policy-dir DIR]... --vms FILE SERVICE[+ARG] SRC TGT
 *   qvm-policy edit    [--policy-dir DIR]... FILE
 *
 * Exit status: 0 success, 1 usage or I/O error, 2 invalid policy.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "atomic-file.h"
#include "policy.h"

#define EXIT_USAGE 1
#define EXIT_INVALID 2

struct options {
	char **policy_dirs;     /* NULL: the defaults */
	char *vms;
	char *batch;
	char **args;
};

static void usage(FILE *out)
{
	fputs("usage: qvm-policy check   [--policy-dir DIR]...\n"
	      "       qvm-policy eval    [--policy-dir DIR]... --vms FILE "
	      "SERVICE[+ARG] SOURCE TARGET\n"
	      "       qvm-policy eval    [--policy-dir DIR]... --vms FILE "
	      "--batch QUERIES\n"
	      "       qvm-policy explain [--policy-dir DIR]... --vms FILE "
	      "SERVICE[+ARG] SOURCE TARGET\n"
	      "       qvm-policy edit    [--policy-dir DIR]... FILE\n"
	      "See qvm-policy(1).\n",
	      out);
}

static void default_dirs(GPtrArray *dirs)
{
	g_ptr_array_add(dirs, g_build_filename(QMGR_SYSCONFDIR, "qmgr",
					       "policy.d", NULL));
	g_ptr_array_add(dirs, g_build_filename(QMGR_RUNDIR, "qmgr",
					       "policy.d", NULL));
}

/* The directories to read, as a NULL-terminated array in `dirs`. */
static bool policy_dirs(const struct options *o, GPtrArray *dirs)
{
	if (o->policy_dirs == NULL) {
		default_dirs(dirs);
		return true;
	}
	for (char **d = o->policy_dirs; *d != NULL; d++) {
		if (!g_file_test(*d, G_FILE_TEST_IS_DIR)) {
			fprintf(stderr,
				"qvm-policy: --policy-dir %s: no such "
				"directory\n", *d);
			return false;
		}
		g_ptr_array_add(dirs, g_strdup(*d));
	}
	return true;
}

static void print_errors(const struct pol_policy *policy)
{
	for (size_t i = 0; i < pol_policy_error_count(policy); i++)
		fprintf(stderr, "%s\n", pol_policy_error(policy, i));
}

static struct pol_policy *load(const struct options *o)
{
	g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func(g_free);
	if (!policy_dirs(o, dirs))
		return NULL;
	return pol_policy_load_dirs((const char *const *)dirs->pdata,
				    dirs->len);
}

static int cmd_check(const struct options *o)
{
	if (o->args[0] != NULL || o->vms != NULL || o->batch != NULL) {
		usage(stderr);
		return EXIT_USAGE;
	}
	g_autoptr(pol_policy) policy = load(o);
	if (policy == NULL)
		return EXIT_USAGE;
	if (!pol_policy_is_valid(policy)) {
		print_errors(policy);
		return EXIT_INVALID;
	}
	return EXIT_SUCCESS;
}

/* Splits "SERVICE[+ARG]"; the argument keeps its '+', "+" when none. */
static void split_call(const char *call, char **service, char **argument)
{
	const char *plus = strchr(call, '+');
	if (plus == NULL) {
		*service = g_strdup(call);
		*argument = g_strdup("+");
	} else {
		*service = g_strndup(call, (size_t)(plus - call));
		*argument = g_strdup(plus);
	}
}

static void decide(const struct pol_policy *policy,
		   const struct pol_system *sys, const char *call,
		   const char *source, const char *target,
		   struct pol_decision *d)
{
	g_autofree char *service = NULL, *argument = NULL;
	split_call(call, &service, &argument);
	struct pol_request req = {
		.service = service,
		.argument = argument,
		.source = source,
		.target = target,
	};
	pol_policy_evaluate(policy, sys, &req, d);
}

static void answer(const struct pol_policy *policy,
		   const struct pol_system *sys, char **fields)
{
	struct pol_decision d;
	decide(policy, sys, fields[0], fields[1], fields[2], &d);
	g_autofree char *line = pol_decision_format(&d);
	printf("%s\n", line);
	pol_decision_finish(&d);
}

static int run_batch(const struct pol_policy *policy,
		     const struct pol_system *sys, const char *path)
{
	g_autofree char *data = NULL;
	gsize len = 0;
	GError *err = NULL;

	if (strcmp(path, "-") == 0) {
		g_autoptr(GIOChannel) ch = g_io_channel_unix_new(0);
		g_io_channel_set_encoding(ch, NULL, NULL);
		if (g_io_channel_read_to_end(ch, &data, &len, &err) !=
		    G_IO_STATUS_NORMAL) {
			fprintf(stderr, "qvm-policy: cannot read queries from "
					"standard input: %s\n",
				err ? err->message : "error");
			g_clear_error(&err);
			return EXIT_USAGE;
		}
	} else if (!g_file_get_contents(path, &data, &len, &err)) {
		fprintf(stderr, "qvm-policy: --batch: %s\n", err->message);
		g_error_free(err);
		return EXIT_USAGE;
	}

	/* Every line gets exactly one answer, so answers line up with
	 * queries; a final newline does not start another query. */
	const char *p = data, *end = data + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		g_autofree char *line = g_strndup(p, l);
		g_auto(GStrv) fields = g_strsplit_set(g_strstrip(line), " \t",
						      -1);
		g_autoptr(GPtrArray) f = g_ptr_array_new();
		for (char **x = fields; *x != NULL; x++)
			if (**x != '\0')
				g_ptr_array_add(f, *x);
		if (f->len == 3) {
			g_ptr_array_add(f, NULL);
			answer(policy, sys, (char **)f->pdata);
		} else {
			printf("deny\n");
		}
		p += l + (nl != NULL);
	}
	return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_USAGE;
}

static int cmd_eval(const struct options *o, bool explain)
{
	size_t nargs = g_strv_length(o->args);
	if (o->vms == NULL) {
		fprintf(stderr, "qvm-policy: %s needs --vms FILE (the qubes "
				"to decide against)\n",
			explain ? "explain" : "eval");
		return EXIT_USAGE;
	}
	if ((o->batch != NULL) == (nargs == 3) || (explain && o->batch) ||
	    (o->batch == NULL && nargs != 3)) {
		usage(stderr);
		return EXIT_USAGE;
	}

	GError *err = NULL;
	g_autoptr(pol_system) sys = pol_system_load_keyfile(o->vms, &err);
	if (sys == NULL) {
		fprintf(stderr, "qvm-policy: --vms: %s\n", err->message);
		g_error_free(err);
		return EXIT_USAGE;
	}
	g_autoptr(pol_policy) policy = load(o);
	if (policy == NULL)
		return EXIT_USAGE;
	if (!pol_policy_is_valid(policy)) {
		print_errors(policy);
		return EXIT_INVALID;
	}
	if (o->batch != NULL)
		return run_batch(policy, sys, o->batch);
	if (!explain) {
		answer(policy, sys, o->args);
		return EXIT_SUCCESS;
	}

	struct pol_decision d;
	decide(policy, sys, o->args[0], o->args[1], o->args[2], &d);
	g_autofree char *line = pol_decision_format(&d);
	g_autofree char *why = pol_decision_explain(&d);
	if (d.rule != NULL) {
		printf("%s:%u\n", pol_rule_file(d.rule), pol_rule_line(d.rule));
		printf("  rule: %s\n", pol_rule_text(d.rule));
	} else {
		printf("none\n");
	}
	printf("  result: %s\n  why: %s\n", line, why);
	pol_decision_finish(&d);
	return EXIT_SUCCESS;
}

/* ---- edit ---- */

static int run_editor(const char *path)
{
	const char *editor = g_getenv("VISUAL");
	if (editor == NULL || *editor == '\0')
		editor = g_getenv("EDITOR");
	g_autofree char *found = NULL;
	if (editor == NULL || *editor == '\0') {
		found = g_find_program_in_path("editor");
		if (found == NULL)
			found = g_find_program_in_path("vi");
		editor = found;
	}
	if (editor == NULL) {
		fprintf(stderr, "qvm-policy: no editor found: set EDITOR\n");
		return -1;
	}
	/* $EDITOR may carry arguments ("emacs -nw"), as for visudo. */
	g_autofree char *quoted = g_shell_quote(path);
	g_autofree char *cmd = g_strdup_printf("%s %s", editor, quoted);
	int status = system(cmd);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "qvm-policy: editor '%s' failed\n", editor);
		return -1;
	}
	return 0;
}

static bool same_content(const char *a, const char *b)
{
	g_autofree char *da = NULL, *db = NULL;
	gsize la = 0, lb = 0;
	bool ha = g_file_get_contents(a, &da, &la, NULL);
	bool hb = g_file_get_contents(b, &db, &lb, NULL);
	if (!ha || !hb)
		return ha == hb;
	return la == lb && memcmp(da, db, la) == 0;
}

static int ask_again(void)
{
	if (!isatty(0))
		return 'x';
	for (;;) {
		fputs("What now? [e]dit again, e[x]it without saving: ",
		      stderr);
		char buf[16];
		if (fgets(buf, sizeof(buf), stdin) == NULL)
			return 'x';
		if (buf[0] == 'e' || buf[0] == 'x')
			return buf[0];
	}
}

static int cmd_edit(const struct options *o)
{
	if (g_strv_length(o->args) != 1 || o->vms || o->batch) {
		usage(stderr);
		return EXIT_USAGE;
	}
	g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func(g_free);
	if (!policy_dirs(o, dirs))
		return EXIT_USAGE;
	const char *arg = o->args[0];
	g_autofree char *path =
		strchr(arg, '/') ? g_strdup(arg)
				 : g_build_filename(dirs->pdata[0], arg, NULL);

	struct stat st;
	bool exists = stat(path, &st) == 0;
	if (exists && !S_ISREG(st.st_mode)) {
		fprintf(stderr, "qvm-policy: %s is not a regular file\n",
			path);
		return EXIT_USAGE;
	}
	mode_t mode = exists ? (st.st_mode & 07777) : 0644;
	g_autofree char *orig = NULL;
	gsize orig_len = 0;
	GError *err = NULL;
	if (exists && !g_file_get_contents(path, &orig, &orig_len, &err)) {
		fprintf(stderr, "qvm-policy: %s\n", err->message);
		g_error_free(err);
		return EXIT_USAGE;
	}

	/* The copy lives next to the file (same filesystem, so the final
	 * rename is atomic) under a hidden name the loader ignores. */
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *base = g_path_get_basename(path);
	g_autofree char *tmp = g_strdup_printf("%s/.%s.edit-XXXXXX", dir,
					       base);
	int fd = g_mkstemp_full(tmp, O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "qvm-policy: cannot create a copy in %s: %s\n",
			dir, g_strerror(errno));
		return EXIT_USAGE;
	}
	bool wrote = orig_len == 0 ||
		     write(fd, orig, orig_len) == (ssize_t)orig_len;
	close(fd);
	if (!wrote) {
		fprintf(stderr, "qvm-policy: cannot write %s\n", tmp);
		g_unlink(tmp);
		return EXIT_USAGE;
	}

	for (;;) {
		if (run_editor(tmp) < 0) {
			fprintf(stderr, "qvm-policy: %s left unchanged; your "
					"copy is %s\n", path, tmp);
			return EXIT_USAGE;
		}
		if (exists && same_content(tmp, path)) {
			printf("%s: no changes\n", path);
			g_unlink(tmp);
			return EXIT_SUCCESS;
		}
		g_autoptr(pol_policy) policy = pol_policy_load_dirs_replacing(
			(const char *const *)dirs->pdata, dirs->len, path, tmp);
		if (pol_policy_is_valid(policy))
			break;
		print_errors(policy);
		fprintf(stderr, "qvm-policy: the policy would be invalid; %s "
				"is unchanged\n", path);
		if (ask_again() == 'x') {
			g_unlink(tmp);
			return EXIT_INVALID;
		}
	}

	/* Someone else changed the file meanwhile: do not lose their work. */
	g_autofree char *now = NULL;
	gsize now_len = 0;
	bool now_exists = g_file_get_contents(path, &now, &now_len, NULL);
	if (now_exists != exists ||
	    (exists && (now_len != orig_len ||
			memcmp(now, orig, orig_len) != 0))) {
		fprintf(stderr, "qvm-policy: %s changed while you were editing "
				"it; not overwriting. Your version is kept in "
				"%s\n", path, tmp);
		return EXIT_USAGE;
	}
	if (chmod(tmp, mode) < 0 || !qm_atomic_install(tmp, path, &err)) {
		fprintf(stderr, "qvm-policy: cannot install %s: %s; your "
				"version is kept in %s\n", path,
			err ? err->message : g_strerror(errno), tmp);
		g_clear_error(&err);
		return EXIT_USAGE;
	}
	printf("%s: installed\n", path);
	return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	gboolean help = FALSE;
	GOptionEntry entries[] = {
		{ "policy-dir", 0, 0, G_OPTION_ARG_FILENAME_ARRAY,
		  &o.policy_dirs, "Read policy from DIR (repeatable)", "DIR" },
		{ "vms", 0, 0, G_OPTION_ARG_FILENAME, &o.vms,
		  "Qubes to decide against (key file)", "FILE" },
		{ "batch", 0, 0, G_OPTION_ARG_FILENAME, &o.batch,
		  "Queries, one per line ('-': stdin)", "QUERIES" },
		{ "help", 'h', 0, G_OPTION_ARG_NONE, &help, "Show help",
		  NULL },
		{ G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY,
		  &o.args, NULL, NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
	g_option_context_set_help_enabled(ctx, FALSE);
	g_option_context_add_main_entries(ctx, entries, NULL);
	GError *err = NULL;
	int rc = EXIT_USAGE;

	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		fprintf(stderr, "qvm-policy: %s\n", err->message);
		g_error_free(err);
		usage(stderr);
		goto out;
	}
	if (help) {
		usage(stdout);
		rc = EXIT_SUCCESS;
		goto out;
	}
	if (o.args == NULL || o.args[0] == NULL) {
		usage(stderr);
		goto out;
	}
	const char *cmd = o.args[0];
	char **rest = o.args;
	o.args = g_strdupv(rest + 1);
	if (strcmp(cmd, "check") == 0)
		rc = cmd_check(&o);
	else if (strcmp(cmd, "eval") == 0)
		rc = cmd_eval(&o, false);
	else if (strcmp(cmd, "explain") == 0)
		rc = cmd_eval(&o, true);
	else if (strcmp(cmd, "edit") == 0)
		rc = cmd_edit(&o);
	else {
		fprintf(stderr, "qvm-policy: unknown command '%s'\n", cmd);
		usage(stderr);
	}
	g_strfreev(rest);
out:
	g_strfreev(o.policy_dirs);
	g_strfreev(o.args);
	g_free(o.vms);
	g_free(o.batch);
	return rc;
}
