/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qvm-tags: list, add and delete a qube's tags (vm.tags.*), as in Qubes.
 *
 *   qvm-tags VM [list [TAG...]]     (aliases: ls, l)
 *   qvm-tags VM add TAG...          (aliases: a, set)
 *   qvm-tags VM del TAG...          (aliases: d, unset, u)
 *
 * `list TAG...` prints the given tags the qube has and fails when it has
 * none of them, so scripts can test for a tag.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "client.h"

#define PROG "qvm-tags"
#define SYNOPSIS "qvm-tags VM [list [TAG...] | add TAG... | del TAG...]"

static const char help_text[] =
	"usage: " SYNOPSIS "\n"
	"Show or change a qube's tags (used by the RPC policy as "
	"@tag:NAME).\n"
	"\n"
	"  list [TAG...]   print its tags, one per line (the default); with "
	"TAGs:\n"
	"                  only those it has, failing if it has none of them\n"
	"  add TAG...      add the tags\n"
	"  del TAG...      remove the tags\n"
	"  -h, --help      show this help\n"
	"\n"
	"Exit status: 0 done, 1 qmgrd refused or is unreachable (or list "
	"TAG...\n"
	"found none), 2 usage error.\n"
	QM_TOOL_HELP_ENV
	"See qvm-tags(1).\n";

enum mode { MODE_LIST, MODE_ADD, MODE_DEL };

static const struct {
	const char *word;
	enum mode mode;
} words[] = {
	{ "list", MODE_LIST }, { "ls", MODE_LIST }, { "l", MODE_LIST },
	{ "add", MODE_ADD }, { "a", MODE_ADD }, { "set", MODE_ADD },
	{ "del", MODE_DEL }, { "d", MODE_DEL }, { "unset", MODE_DEL },
	{ "u", MODE_DEL },
};

static bool parse_mode(const char *word, enum mode *mode)
{
	for (size_t i = 0; i < G_N_ELEMENTS(words); i++) {
		if (strcmp(words[i].word, word) == 0) {
			*mode = words[i].mode;
			return true;
		}
	}
	return false;
}

static int do_list(struct qm_client *c, const char *vm, char **filter)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GVariant) r = qm_client_call(c, "vm.tags.List", vm, NULL,
					       &err);
	if (r == NULL) {
		qm_tool_print_error(PROG, err);
		return QM_EXIT_FAIL;
	}
	g_autofree const char **tags = NULL;
	if (!g_variant_lookup(r, "tags", "^a&s", &tags))
		tags = g_new0(const char *, 1);
	bool any = false;
	for (const char **t = tags; *t; t++) {
		if (filter[0] != NULL &&
		    !g_strv_contains((const char *const *)filter, *t))
			continue;
		qm_tool_fputs_safe(*t, stdout);
		putchar('\n');
		any = true;
	}
	if (fflush(stdout) != 0)
		return QM_EXIT_FAIL;
	return filter[0] == NULL || any ? QM_EXIT_OK : QM_EXIT_FAIL;
}

static int do_change(struct qm_client *c, const char *vm, const char *method,
		     char **tags)
{
	int rc = QM_EXIT_OK;
	for (char **t = tags; *t; t++) {
		g_autoptr(GError) err = NULL;
		GVariantDict d;
		g_variant_dict_init(&d, NULL);
		g_variant_dict_insert(&d, "tag", "s", *t);
		g_autoptr(GVariant) r = qm_client_call(c, method, vm,
						       g_variant_dict_end(&d),
						       &err);
		if (r == NULL) {
			qm_tool_print_error(PROG, err);
			rc = QM_EXIT_FAIL;
		}
	}
	return rc;
}

int main(int argc, char **argv)
{
	gboolean help = FALSE;
	char **args = NULL;
	GOptionEntry entries[] = {
		QM_TOOL_HELP_AND_REST(help, args),
	};
	g_autoptr(qm_client) client = NULL;
	enum mode mode = MODE_LIST;
	int rc = QM_EXIT_USAGE;

	rc = qm_tool_parse_options(PROG, SYNOPSIS, help_text, entries, &help,
				   &argc, &argv);
	if (rc >= 0)
		goto out;
	rc = QM_EXIT_USAGE;
	if (args == NULL || args[0] == NULL) {
		rc = qm_tool_usage_error(PROG, SYNOPSIS, "name the qube");
		goto out;
	}
	char **tags = args + 1;
	if (args[1] != NULL) {
		if (!parse_mode(args[1], &mode)) {
			rc = qm_tool_usage_error(PROG, SYNOPSIS,
						 "unknown command '%s' (list, "
						 "add or del)", args[1]);
			goto out;
		}
		tags = args + 2;
	}
	if (mode != MODE_LIST && tags[0] == NULL) {
		rc = qm_tool_usage_error(PROG, SYNOPSIS,
					 "%s needs at least one TAG",
					 mode == MODE_ADD ? "add" : "del");
		goto out;
	}
	if (!qm_tool_check_name(PROG, args[0]))
		goto out;
	for (char **t = tags; mode != MODE_LIST && *t; t++)
		if (!qm_tool_check_text(PROG, "tag", *t))
			goto out;

	rc = QM_EXIT_FAIL;
	client = qm_tool_connect(PROG);
	if (client == NULL)
		goto out;
	if (mode == MODE_LIST)
		rc = do_list(client, args[0], tags);
	else
		rc = do_change(client, args[0],
			       mode == MODE_ADD ? "vm.tags.Add"
						: "vm.tags.Del",
			       tags);
out:
	g_strfreev(args);
	return rc;
}
