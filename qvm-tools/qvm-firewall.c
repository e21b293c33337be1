/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qvm-firewall: a qube's network rules in Qubes' syntax, kept as qmgr.Network
 * policy lines in a policy file of its own (docs/network.md).
 *
 *   qvm-firewall VM [list] [--raw]
 *   qvm-firewall VM add [--before N] RULE...
 *   qvm-firewall VM del --rule-no N | RULE...
 *   qvm-firewall VM reset
 *
 * The file (POLICY_DIR/30-qvm-firewall.policy) holds one block per qube:
 *
 *   # qvm-firewall: work
 *   # comment: the web
 *   qmgr.Network  +tcp-443  work  sys-net  allow
 *   # specialtarget=dns
 *   qmgr.Network  +udp-53  work  sys-net  allow
 *   qmgr.Network  +tcp-53  work  sys-net  allow
 *
 * The policy lines are the truth: `list` reads them back, the two comment
 * forms only carry what the lines cannot (a comment, and that two lines
 * are one dns rule).  A block is parsed only when its qube is named, and
 * the others are written back byte for byte, so a hand edit in one block
 * does not stop work on another.  Every change is checked by loading the
 * whole policy with the new file before it replaces the old one.
 *
 * This file keeps the file, its blocks and the commands; RULE words and a
 * rule's policy lines are firewall-rule.c's.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic-file.h"
#include "client.h"
#include "firewall-rule.h"
#include "policy.h"

#define PROG "qvm-firewall"
#define SYNOPSIS "qvm-firewall [--policy-dir DIR]... VM [list [--raw] | " \
		 "add [--before N] RULE... | del [--rule-no N | RULE...] | " \
		 "reset]"
#define FW_FILE "30-qvm-firewall.policy"
#define MARKER "# qvm-firewall:"

static const char help_text[] =
	"usage: " SYNOPSIS "\n"
	"Show or change a qube's network rules (qmgr.Network policy lines in\n"
	"POLICY_DIR/" FW_FILE ").\n"
	"\n"
	"  list [--raw]        print the rules, numbered from 0 (the default);\n"
	"                      --raw: one rule per line in RULE syntax\n"
	"  add [--before N] RULE...\n"
	"                      add one rule at the end, or before rule N\n"
	"  del --rule-no N     remove rule N\n"
	"  del RULE...         remove the first rule equal to RULE\n"
	"  reset               remove all the qube's rules\n"
	"  --policy-dir DIR    the policy directories (repeatable; the file is\n"
	"                      in the first), instead of /etc/qmgr/policy.d and\n"
	"                      /run/qmgr/policy.d\n"
	"  -h, --help          show this help\n"
	"\n"
	"RULE: action=accept|drop [proto=tcp|udp|icmp] [dstports=N|N-M]\n"
	"      [specialtarget=dns] [target=VM] [comment=TEXT]\n"
	"The first matching rule decides; traffic no rule matches falls through\n"
	"to the rest of the policy (by default: allowed to sys-net). End with\n"
	"'action=drop' to allow only what the rules accept.\n"
	"\n"
	"Exit status: 0 done, 1 failed (invalid policy, unknown qube, no such\n"
	"rule, unreadable file), 2 usage error.\n"
	"Environment: QMGR_ROOT=DIR uses DIR/etc/qmgr/policy.d and talks to the\n"
	"qmgrd started with --root DIR.\n"
	"See qvm-firewall(1).\n";

static const char header[] =
	"## Network rules of qubes, written by qvm-firewall(1). Change them with\n"
	"## `qvm-firewall VM add|del|reset`; the file is rewritten each time.\n"
	"## One block per qube; its rules are tried in order and the first match\n"
	"## decides. Traffic no rule matches falls through to the files read\n"
	"## after this one (90-default.policy lets every qube reach sys-net).\n"
	"\n";

static void block_free(struct block *b)
{
	if (b == NULL)
		return;
	g_free(b->vm);
	if (b->raw)
		g_string_free(b->raw, TRUE);
	if (b->rules)
		g_ptr_array_unref(b->rules);
	g_free(b);
}

struct fw_file {
	char *path;
	char *fix_hint;        /* how to repair a hand-edited file */
	bool exists;
	mode_t mode;
	GString *orig;
	GString *preamble;     /* lines before the first block */
	GPtrArray *blocks;     /* struct block */
};

static void fw_file_clear(struct fw_file *f)
{
	g_free(f->path);
	g_free(f->fix_hint);
	if (f->orig)
		g_string_free(f->orig, TRUE);
	if (f->preamble)
		g_string_free(f->preamble, TRUE);
	if (f->blocks)
		g_ptr_array_unref(f->blocks);
}

/* ---- the file ---------------------------------------------------------- */

static bool fw_file_read(struct fw_file *f, GError **error)
{
	g_autofree char *data = NULL;
	gsize len = 0;
	GError *err = NULL;
	struct stat st;

	f->orig = g_string_new(NULL);
	f->preamble = g_string_new(NULL);
	f->blocks = g_ptr_array_new_with_free_func((GDestroyNotify)block_free);
	f->mode = 0644;
	if (stat(f->path, &st) == 0) {
		if (!S_ISREG(st.st_mode)) {
			g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
				    "%s is not a regular file", f->path);
			return false;
		}
		f->mode = st.st_mode & 07777;
	}
	if (!g_file_get_contents(f->path, &data, &len, &err)) {
		if (g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
			g_error_free(err);
			g_string_append(f->preamble, header);
			return true;
		}
		g_propagate_error(error, err);
		return false;
	}
	f->exists = true;
	if (memchr(data, '\0', len) != NULL) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "%s contains a NUL byte%s", f->path, f->fix_hint);
		return false;
	}
	g_string_append_len(f->orig, data, (gssize)len);

	struct block *b = NULL;
	unsigned lineno = 0;
	for (const char *p = data; *p; lineno++) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p + 1) : strlen(p);
		if (strncmp(p, MARKER, strlen(MARKER)) == 0) {
			b = g_new0(struct block, 1);
			g_autofree char *name = g_strndup(
				p + strlen(MARKER), l - strlen(MARKER));
			b->vm = g_strdup(g_strstrip(name));
			b->raw = g_string_new(NULL);
			b->first_line = lineno + 1;
			g_ptr_array_add(f->blocks, b);
		}
		g_string_append_len(b ? b->raw : f->preamble, p, (gssize)l);
		p += l;
	}
	return true;
}

/* The blocks of `vm`, parsed; false with the error printed when one
 * cannot be read back. */
static bool fw_file_parse_vm(struct fw_file *f, const char *vm)
{
	struct block *first = NULL;
	for (guint i = 0; i < f->blocks->len; i++) {
		struct block *b = f->blocks->pdata[i];
		if (strcmp(b->vm, vm) != 0)
			continue;
		g_autofree char *err = NULL;
		if (first != NULL)
			err = g_strdup_printf("%s:%u: a second block for '%s' "
					      "(the first is at line %u)",
					      f->path, b->first_line, vm,
					      first->first_line);
		else if (!fw_block_parse(b, f->path, &err))
			b->rules = NULL;
		if (err != NULL) {
			qm_tool_fputs_safe(err, stderr);
			fprintf(stderr, "\n" PROG ": cannot read %s's rules "
				"back%s\n", vm, f->fix_hint);
			return false;
		}
		first = b;
	}
	return true;
}

static struct block *fw_file_block(struct fw_file *f, const char *vm,
				   bool create)
{
	for (guint i = 0; i < f->blocks->len; i++) {
		struct block *b = f->blocks->pdata[i];
		if (strcmp(b->vm, vm) == 0)
			return b;
	}
	if (!create)
		return NULL;
	struct block *b = g_new0(struct block, 1);
	b->vm = g_strdup(vm);
	b->rules = g_ptr_array_new_with_free_func((GDestroyNotify)fw_rule_free);
	g_ptr_array_add(f->blocks, b);
	return b;
}

static GString *fw_file_render(const struct fw_file *f)
{
	GString *out = g_string_new(f->preamble->str);
	for (guint i = 0; i < f->blocks->len; i++) {
		const struct block *b = f->blocks->pdata[i];
		if (out->len > 0 && out->str[out->len - 1] != '\n')
			g_string_append_c(out, '\n');
		if (!b->changed) {
			g_string_append(out, b->raw->str);
			continue;
		}
		if (b->rules->len == 0)
			continue;   /* no rules: no block */
		g_string_append_printf(out, MARKER " %s\n", b->vm);
		for (guint r = 0; r < b->rules->len; r++)
			fw_rule_render(b->rules->pdata[r], b->vm, out);
		g_string_append_c(out, '\n');
	}
	return out;
}

/* Writes the new content next to the file, loads the whole policy with it
 * and, when valid, renames it over the file. */
static int fw_file_commit(struct fw_file *f, GPtrArray *dirs)
{
	g_autoptr(GString) text = fw_file_render(f);
	if (f->exists && g_string_equal(text, f->orig))
		return QM_EXIT_OK;
	g_autofree char *dir = g_path_get_dirname(f->path);
	g_autofree char *tmp = g_strdup_printf("%s/." FW_FILE ".XXXXXX", dir);
	int fd = g_mkstemp_full(tmp, O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, PROG ": cannot create a file in %s: %s\n", dir,
			g_strerror(errno));
		return QM_EXIT_FAIL;
	}
	bool wrote = write(fd, text->str, text->len) == (ssize_t)text->len &&
		     fchmod(fd, f->mode) == 0;
	int saved = errno;
	close(fd);
	if (!wrote) {
		fprintf(stderr, PROG ": cannot write %s: %s\n", tmp,
			g_strerror(saved));
		g_unlink(tmp);
		return QM_EXIT_FAIL;
	}
	g_autoptr(pol_policy) policy = pol_policy_load_dirs_replacing(
		(const char *const *)dirs->pdata, dirs->len, f->path, tmp);
	if (!pol_policy_is_valid(policy)) {
		for (size_t i = 0; i < pol_policy_error_count(policy); i++)
			fprintf(stderr, "%s\n", pol_policy_error(policy, i));
		fprintf(stderr, PROG ": the policy would be invalid; %s is "
			"unchanged\n", f->path);
		g_unlink(tmp);
		return QM_EXIT_FAIL;
	}
	g_autoptr(GError) err = NULL;
	if (!qm_atomic_install(tmp, f->path, &err)) {
		fprintf(stderr, PROG ": cannot install %s: %s\n", f->path,
			err->message);
		g_unlink(tmp);
		return QM_EXIT_FAIL;
	}
	return QM_EXIT_OK;
}

/* ---- commands ---------------------------------------------------------- */

static void print_table(GPtrArray *rows)
{
	enum { COLS = 7 };
	glong width[COLS] = { 0 };
	for (guint i = 0; i < rows->len; i++) {
		char **row = rows->pdata[i];
		for (int c = 0; c < COLS; c++)
			width[c] = MAX(width[c], g_utf8_strlen(row[c], -1));
	}
	for (guint i = 0; i < rows->len; i++) {
		char **row = rows->pdata[i];
		for (int c = 0; c < COLS; c++) {
			qm_tool_fputs_safe(row[c], stdout);
			if (c == COLS - 1)
				break;
			for (glong k = g_utf8_strlen(row[c], -1);
			     k < width[c] + 2; k++)
				putchar(' ');
		}
		putchar('\n');
	}
}

static int cmd_list(const struct block *b, bool raw)
{
	g_autoptr(GPtrArray) rows =
		g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
	char *head[] = { "NO", "ACTION", "HOST", "PROTOCOL", "PORT(S)",
			 "SPECIAL TARGET", "COMMENT", NULL };
	g_ptr_array_add(rows, g_strdupv(head));
	for (guint i = 0; b != NULL && i < b->rules->len; i++) {
		const struct rule *r = b->rules->pdata[i];
		g_autofree char *ports = fw_rule_ports_text(r);
		if (raw) {
			GString *l = g_string_new(r->accept ? "action=accept"
							    : "action=drop");
			if (r->dns)
				g_string_append(l, " specialtarget=dns");
			if (r->proto != PROTO_ANY)
				g_string_append_printf(
					l, " proto=%s",
					fw_proto_names[r->proto]);
			if (r->port_lo != 0)
				g_string_append_printf(l, " dstports=%s",
						       ports);
			if (strcmp(r->target, POL_NET_UPLINK) != 0)
				g_string_append_printf(l, " target=%s",
						       r->target);
			if (r->comment)
				g_string_append_printf(l, " comment=%s",
						       r->comment);
			qm_tool_fputs_safe(l->str, stdout);
			putchar('\n');
			g_string_free(l, TRUE);
			continue;
		}
		char *row[] = {
			g_strdup_printf("%u", i),
			g_strdup(r->accept ? "accept" : "drop"),
			g_strdup(r->target),
			g_strdup(fw_proto_names[r->proto]),
			g_strdup(ports),
			g_strdup(r->dns ? "dns" : "-"),
			g_strdup(r->comment ? r->comment : "-"),
			NULL,
		};
		g_ptr_array_add(rows, g_memdup2(row, sizeof(row)));
	}
	if (!raw)
		print_table(rows);
	return fflush(stdout) == 0 ? QM_EXIT_OK : QM_EXIT_FAIL;
}

/* "N" within 0..max; else prints why and returns false. */
static bool parse_index(const char *opt, const char *s, guint max,
			guint *out)
{
	guint64 v = 0;
	if (g_ascii_string_to_unsigned(s, 10, 0, max, &v, NULL)) {
		*out = (guint)v;
		return true;
	}
	fprintf(stderr, PROG ": %s %s: expected a rule number from 0 to %u "
		"('list' shows them)\n", opt, s, max);
	return false;
}

/*
 * With the installed policy (no --policy-dir), a qube qmgrd does not know
 * gets no rules; when qmgrd cannot be reached, warns and goes on, as the
 * policy may name qubes that do not exist yet.
 */
static bool check_qubes_exist(const char *vm, const char *target)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(qm_client) c = qm_client_connect(PROG, &err);
	g_autoptr(GVariant) vms = c ? qm_tool_list_vms(c, &err) : NULL;
	if (vms == NULL) {
		fprintf(stderr, PROG ": warning: did not check that qube '%s' "
			"exists: ", vm);
		qm_tool_fputs_safe(err->message, stderr);
		fputc('\n', stderr);
		return true;
	}
	const char *names[] = { vm, target };
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		if (strcmp(names[i], POL_NET_UPLINK) == 0)
			continue;
		g_autoptr(GVariant) found = qm_tool_find_vm(vms, names[i]);
		if (found == NULL) {
			qm_tool_print_not_found(PROG, vms, names[i]);
			return false;
		}
	}
	return true;
}

struct options {
	char **policy_dirs;
	char *before;
	char *rule_no;
	gboolean raw;
	gboolean help;
	char **args;
};

enum cmd { CMD_LIST, CMD_ADD, CMD_DEL, CMD_RESET };

static void policy_dirs(const struct options *o, GPtrArray *dirs)
{
	if (o->policy_dirs != NULL) {
		for (char **d = o->policy_dirs; *d; d++)
			g_ptr_array_add(dirs, g_strdup(*d));
		return;
	}
	/* as qmgrd --root and the other tools' QMGR_ROOT */
	const char *root = g_getenv("QMGR_ROOT");
	if (root != NULL && *root != '\0') {
		g_ptr_array_add(dirs, g_build_filename(root, "etc", "qmgr",
						       "policy.d", NULL));
		g_ptr_array_add(dirs, g_build_filename(root, "run", "qmgr",
						       "policy.d", NULL));
		return;
	}
	g_ptr_array_add(dirs, g_build_filename(QMGR_SYSCONFDIR, "qmgr",
					       "policy.d", NULL));
	g_ptr_array_add(dirs, g_build_filename(QMGR_RUNDIR, "qmgr",
					       "policy.d", NULL));
}

static int run(const struct options *o, enum cmd cmd, const char *vm,
	       char **words)
{
	g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func(g_free);
	policy_dirs(o, dirs);
	g_autoptr(GError) err = NULL;
	struct rule *wanted = NULL;
	g_autofree char *why = NULL;
	int rc = QM_EXIT_FAIL;
	int lock = -1;
	struct fw_file f = { 0 };

	if (words[0] != NULL) {
		wanted = fw_rule_from_words(words, vm, &why);
		if (wanted == NULL) {
			rc = qm_tool_usage_error(PROG, SYNOPSIS, "%s", why);
			goto out;
		}
	}
	const char *dir = dirs->pdata[0];
	/* as qvm-policy: a directory given must exist; of the defaults,
	 * the one the file goes in */
	for (guint i = 0; i < (o->policy_dirs ? dirs->len : 1); i++) {
		if (!g_file_test(dirs->pdata[i], G_FILE_TEST_IS_DIR)) {
			fprintf(stderr, PROG ": %s: no such directory%s\n",
				(char *)dirs->pdata[i],
				o->policy_dirs ? "" : " (is qmgr installed?)");
			goto out;
		}
	}
	for (guint i = 1; i < dirs->len; i++) {
		g_autofree char *other = g_build_filename(dirs->pdata[i],
							  FW_FILE, NULL);
		if (g_file_test(other, G_FILE_TEST_EXISTS))
			fprintf(stderr, PROG ": warning: %s shadows the file "
				"qvm-firewall writes; its rules are the ones "
				"in force\n", other);
	}
	if (cmd == CMD_ADD && o->policy_dirs == NULL &&
	    !check_qubes_exist(vm, wanted->target))
		goto out;

	/* One qvm-firewall at a time changes the file. */
	if (cmd != CMD_LIST) {
		lock = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (lock < 0 || flock(lock, LOCK_EX) < 0) {
			fprintf(stderr, PROG ": cannot lock %s: %s\n", dir,
				g_strerror(errno));
			goto out;
		}
	}
	f.path = g_build_filename(dir, FW_FILE, NULL);
	f.fix_hint = g_strdup_printf(
		" (correct the file with 'qvm-policy edit%s%s %s', or drop "
		"%s's rules with 'qvm-firewall%s%s %s reset')",
		o->policy_dirs ? " --policy-dir " : "",
		o->policy_dirs ? dir : "", FW_FILE, vm,
		o->policy_dirs ? " --policy-dir " : "",
		o->policy_dirs ? dir : "", vm);
	if (!fw_file_read(&f, &err)) {
		fprintf(stderr, PROG ": %s\n", err->message);
		goto out;
	}
	if (cmd == CMD_RESET) {
		bool any = false;
		for (guint i = f.blocks->len; i-- > 0;) {
			struct block *b = f.blocks->pdata[i];
			if (strcmp(b->vm, vm) == 0) {
				g_ptr_array_remove_index(f.blocks, i);
				any = true;
			}
		}
		rc = any ? fw_file_commit(&f, dirs) : QM_EXIT_OK;
		goto out;
	}
	if (!fw_file_parse_vm(&f, vm))
		goto out;
	struct block *b = fw_file_block(&f, vm, cmd == CMD_ADD);
	if (cmd == CMD_LIST) {
		rc = cmd_list(b, o->raw);
		goto out;
	}
	guint count = b ? b->rules->len : 0;
	guint at = count;
	if (cmd == CMD_DEL && count == 0) {
		fprintf(stderr, PROG ": %s has no rules\n", vm);
		goto out;
	}
	if (o->before && !parse_index("--before", o->before, count, &at))
		goto out;
	if (o->rule_no && !parse_index("--rule-no", o->rule_no, count - 1,
				       &at))
		goto out;
	if (cmd == CMD_DEL && wanted != NULL) {
		for (at = 0; at < count; at++)
			if (fw_rule_equal(b->rules->pdata[at], wanted))
				break;
		if (at == count) {
			fprintf(stderr, PROG ": %s has no such rule ('qvm-"
				"firewall %s list' shows its rules)\n", vm, vm);
			goto out;
		}
	}
	b->changed = true;
	if (cmd == CMD_ADD)
		g_ptr_array_insert(b->rules, (gint)at,
				   g_steal_pointer(&wanted));
	else
		g_ptr_array_remove_index(b->rules, at);
	rc = fw_file_commit(&f, dirs);
out:
	if (lock >= 0)
		close(lock);
	fw_rule_free(wanted);
	fw_file_clear(&f);
	return rc;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	GOptionEntry entries[] = {
		{ "policy-dir", 0, 0, G_OPTION_ARG_FILENAME_ARRAY,
		  &o.policy_dirs, NULL, NULL },
		{ "before", 0, 0, G_OPTION_ARG_STRING, &o.before, NULL, NULL },
		{ "rule-no", 0, 0, G_OPTION_ARG_STRING, &o.rule_no, NULL,
		  NULL },
		{ "raw", 0, 0, G_OPTION_ARG_NONE, &o.raw, NULL, NULL },
		{ "help", 'h', 0, G_OPTION_ARG_NONE, &o.help, NULL, NULL },
		{ G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY,
		  &o.args, NULL, NULL },
		{ NULL },
	};
	static const char *const names[] = { "list", "add", "del", "reset" };
	g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
	g_autoptr(GError) err = NULL;
	enum cmd cmd = CMD_LIST;
	int rc = QM_EXIT_USAGE;

	g_option_context_set_help_enabled(ctx, FALSE);
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		rc = qm_tool_usage_error(PROG, SYNOPSIS, "%s", err->message);
		goto out;
	}
	if (o.help) {
		fputs(help_text, stdout);
		rc = QM_EXIT_OK;
		goto out;
	}
	if (o.args == NULL || o.args[0] == NULL) {
		rc = qm_tool_usage_error(PROG, SYNOPSIS, "name the qube");
		goto out;
	}
	char **words = o.args + 1;
	if (o.args[1] != NULL) {
		guint i = 0;
		while (i < G_N_ELEMENTS(names) && strcmp(names[i], o.args[1]))
			i++;
		if (i == G_N_ELEMENTS(names)) {
			rc = qm_tool_usage_error(PROG, SYNOPSIS,
						 "unknown command '%s' (list, "
						 "add, del or reset)",
						 o.args[1]);
			goto out;
		}
		cmd = (enum cmd)i;
		words = o.args + 2;
	}
	const char *bad = NULL;
	if (o.before && cmd != CMD_ADD)
		bad = "--before is for add";
	else if (o.rule_no && cmd != CMD_DEL)
		bad = "--rule-no is for del";
	else if (o.raw && cmd != CMD_LIST)
		bad = "--raw is for list";
	else if (cmd == CMD_ADD && words[0] == NULL)
		bad = "add needs a RULE, e.g. action=accept proto=tcp "
		      "dstports=443";
	else if (cmd == CMD_DEL && (words[0] != NULL) == (o.rule_no != NULL))
		bad = "del needs either --rule-no N or a RULE";
	else if ((cmd == CMD_LIST || cmd == CMD_RESET) && words[0] != NULL)
		bad = "list and reset take no RULE";
	if (bad != NULL) {
		rc = qm_tool_usage_error(PROG, SYNOPSIS, "%s", bad);
		goto out;
	}
	if (!qm_tool_check_name(PROG, o.args[0]))
		goto out;
	rc = run(&o, cmd, o.args[0], words);
out:
	g_strfreev(o.policy_dirs);
	g_strfreev(o.args);
	g_free(o.before);
	g_free(o.rule_no);
	return rc;
}
