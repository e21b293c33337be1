/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qvm-remove: delete qubes and their volumes (vm.Remove).
 *
 *   qvm-remove [-f] NAME...
 *
 * Without -f it asks for each qube on the terminal; without a terminal to
 * ask on it refuses rather than guess.  qmgrd refuses to remove a running
 * qube or one that others use (as template or default_dispvm).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"

#define PROG "qvm-remove"
#define SYNOPSIS "qvm-remove [-f] NAME..."

static const char help_text[] =
	"usage: " SYNOPSIS "\n"
	"Remove qubes, with their private volumes.  Asks for confirmation "
	"on the\n"
	"terminal unless -f is given.\n"
	"\n"
	"  -f, --force   do not ask\n"
	"  -h, --help    show this help\n"
	"\n"
	"Exit status: 0 all removed, 1 a removal failed or was declined or "
	"qmgrd is\n"
	"unreachable, 2 usage error (including: no terminal to ask on and no "
	"-f).\n"
	QM_TOOL_HELP_ENV
	"See qvm-remove(1).\n";

/* Asks on the terminal; anything but y/yes is no, as is end of input. */
static bool confirm(const char *name)
{
	char line[64];

	fprintf(stderr, "Remove qube %s? [y/N] ", name);
	fflush(stderr);
	if (fgets(line, sizeof(line), stdin) == NULL) {
		fputc('\n', stderr);
		return false;
	}
	g_strstrip(line);
	return g_ascii_strcasecmp(line, "y") == 0 ||
	       g_ascii_strcasecmp(line, "yes") == 0;
}

int main(int argc, char **argv)
{
	gboolean help = FALSE, force = FALSE;
	char **names = NULL;
	GOptionEntry entries[] = {
		{ "force", 'f', 0, G_OPTION_ARG_NONE, &force, NULL, NULL },
		QM_TOOL_HELP_AND_REST(help, names),
	};
	g_autoptr(qm_client) client = NULL;
	g_autoptr(GVariant) vms = NULL;
	int rc = QM_EXIT_USAGE;

	rc = qm_tool_parse_names(PROG, SYNOPSIS, help_text, entries, &help,
				 &names, "remove", &argc, &argv);
	if (rc >= 0)
		goto out;
	rc = QM_EXIT_USAGE;
	if (!force && !isatty(STDIN_FILENO)) {
		fprintf(stderr,
			"%s: not removing anything: standard input is not a "
			"terminal to ask for confirmation on (use -f to "
			"remove without asking)\n", PROG);
		goto out;
	}

	rc = QM_EXIT_FAIL;
	/* without -f, the list: do not ask about a qube that is not there */
	client = force ? qm_tool_connect(PROG)
		       : qm_tool_connect_list(PROG, &vms);
	if (client == NULL)
		goto out;
	rc = QM_EXIT_OK;
	for (char **n = names; *n; n++) {
		if (!force) {
			g_autoptr(GVariant) vm = qm_tool_find_vm(vms, *n);
			if (vm == NULL) {
				qm_tool_print_not_found(PROG, vms, *n);
				rc = QM_EXIT_FAIL;
				continue;
			}
			if (!confirm(*n)) {
				fprintf(stderr, "%s: %s not removed\n", PROG,
					*n);
				rc = QM_EXIT_FAIL;
				continue;
			}
		}
		if (!qm_tool_call_vm(client, PROG, "vm.Remove", *n))
			rc = QM_EXIT_FAIL;
	}
out:
	g_strfreev(names);
	return rc;
}
