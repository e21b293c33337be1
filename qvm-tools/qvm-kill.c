/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qvm-kill: power qubes off at once (vm.Kill), without asking the guest.
 *
 *   qvm-kill NAME...
 *
 * As in Qubes, killing a qube that is already halted is not an error.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "client.h"

#define PROG "qvm-kill"
#define SYNOPSIS "qvm-kill NAME..."

static const char help_text[] =
	"usage: " SYNOPSIS "\n"
	"Power qubes off immediately, like pulling the plug (no clean "
	"shutdown;\n"
	"use qvm-shutdown for that).  Halted qubes are left alone.\n"
	"\n"
	"  -h, --help   show this help\n"
	"\n"
	"Exit status: 0 all are off, 1 a kill failed or qmgrd is "
	"unreachable,\n"
	"2 usage error.\n"
	QM_TOOL_HELP_ENV
	"See qvm-kill(1).\n";

int main(int argc, char **argv)
{
	gboolean help = FALSE;
	char **names = NULL;
	GOptionEntry entries[] = {
		QM_TOOL_HELP_AND_REST(help, names),
	};
	g_autoptr(qm_client) client = NULL;
	g_autoptr(GVariant) vms = NULL;
	int rc = QM_EXIT_USAGE;

	rc = qm_tool_parse_names(PROG, SYNOPSIS, help_text, entries, &help,
				 &names, "kill", &argc, &argv);
	if (rc >= 0)
		goto out;

	rc = QM_EXIT_FAIL;
	client = qm_tool_connect_list(PROG, &vms);
	if (client == NULL)
		goto out;
	rc = QM_EXIT_OK;
	for (char **n = names; *n; n++) {
		g_autoptr(GVariant) vm = qm_tool_find_vm(vms, *n);
		const char *state;
		if (vm == NULL) {
			qm_tool_print_not_found(PROG, vms, *n);
			rc = QM_EXIT_FAIL;
			continue;
		}
		if (g_variant_lookup(vm, "state", "&s", &state) &&
		    strcmp(state, "Halted") == 0)
			continue;
		if (!qm_tool_call_vm(client, PROG, "vm.Kill", *n))
			rc = QM_EXIT_FAIL;
	}
out:
	g_strfreev(names);
	return rc;
}
