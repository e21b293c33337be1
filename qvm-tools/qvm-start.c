/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qvm-start: start qubes (vm.Start), one after the other as Qubes does; each
 * call returns when the qube's agent has reported in.
 *
 *   qvm-start [--skip-if-running] NAME...
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "client.h"

#define PROG "qvm-start"
#define SYNOPSIS "qvm-start [--skip-if-running] NAME..."

static const char help_text[] =
	"usage: " SYNOPSIS "\n"
	"Start qubes and wait until each is ready (its agent has reported "
	"in).\n"
	"\n"
	"  --skip-if-running   do nothing for qubes that are not halted\n"
	"  -h, --help          show this help\n"
	"\n"
	"Exit status: 0 all started, 1 a qube failed to start or qmgrd is "
	"unreachable,\n"
	"2 usage error.\n"
	QM_TOOL_HELP_ENV
	"See qvm-start(1).\n";

/* With --skip-if-running: true when `name` exists and is not halted. */
static bool is_up(GVariant *vms, const char *name)
{
	g_autoptr(GVariant) vm = qm_tool_find_vm(vms, name);
	const char *state;
	if (vm == NULL || !g_variant_lookup(vm, "state", "&s", &state))
		return false;
	return strcmp(state, "Halted") != 0 && strcmp(state, "Crashed") != 0;
}

int main(int argc, char **argv)
{
	gboolean help = FALSE, skip = FALSE;
	char **names = NULL;
	GOptionEntry entries[] = {
		{ "skip-if-running", 0, 0, G_OPTION_ARG_NONE, &skip, NULL,
		  NULL },
		QM_TOOL_HELP_AND_REST(help, names),
	};
	g_autoptr(qm_client) client = NULL;
	g_autoptr(GVariant) vms = NULL;
	int rc = QM_EXIT_USAGE;

	rc = qm_tool_parse_names(PROG, SYNOPSIS, help_text, entries, &help,
				 &names, "start", &argc, &argv);
	if (rc >= 0)
		goto out;

	rc = QM_EXIT_FAIL;
	/* the qubes' states only for --skip-if-running */
	client = skip ? qm_tool_connect_list(PROG, &vms)
		      : qm_tool_connect(PROG);
	if (client == NULL)
		goto out;
	rc = QM_EXIT_OK;
	for (char **n = names; *n; n++) {
		if (skip && is_up(vms, *n))
			continue;
		if (!qm_tool_call_vm(client, PROG, "vm.Start", *n))
			rc = QM_EXIT_FAIL;
	}
out:
	g_strfreev(names);
	return rc;
}
