/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qvm-clone: copy a qube under a new name (vm.Clone): its properties, tags
 * and volumes; the copy gets a new uuid.
 *
 *   qvm-clone SOURCE NEW-NAME
 */
#include "config.h"

#include <stdlib.h>

#include "client.h"

#define PROG "qvm-clone"
#define SYNOPSIS "qvm-clone SOURCE NEW-NAME"

static const char help_text[] =
	"usage: " SYNOPSIS "\n"
	"Copy qube SOURCE (halted) to a new qube NEW-NAME, with its "
	"properties, tags\n"
	"and volumes.\n"
	"\n"
	"  -h, --help   show this help\n"
	"\n"
	"Exit status: 0 cloned, 1 qmgrd refused or is unreachable, 2 usage "
	"error.\n"
	QM_TOOL_HELP_ENV
	"See qvm-clone(1).\n";

int main(int argc, char **argv)
{
	gboolean help = FALSE;
	char **args = NULL;
	GOptionEntry entries[] = {
		QM_TOOL_HELP_AND_REST(help, args),
	};
	g_autoptr(GError) err = NULL;
	g_autoptr(qm_client) client = NULL;
	g_autoptr(GVariant) r = NULL;
	int rc = QM_EXIT_USAGE;

	rc = qm_tool_parse_options(PROG, SYNOPSIS, help_text, entries, &help,
				   &argc, &argv);
	if (rc >= 0)
		goto out;
	rc = QM_EXIT_USAGE;
	guint n = args ? g_strv_length(args) : 0;
	if (n != 2) {
		rc = qm_tool_usage_error(PROG, SYNOPSIS,
					 n < 2 ? "name the source qube and "
						 "the new name"
					       : "too many arguments");
		goto out;
	}
	if (!qm_tool_check_name(PROG, args[0]) ||
	    !qm_tool_check_name(PROG, args[1]))
		goto out;

	rc = QM_EXIT_FAIL;
	client = qm_tool_connect(PROG);
	if (client == NULL)
		goto out;
	GVariantDict d;
	g_variant_dict_init(&d, NULL);
	g_variant_dict_insert(&d, "name", "s", args[1]);
	r = qm_client_call(client, "vm.Clone", args[0], g_variant_dict_end(&d),
			   &err);
	if (r == NULL) {
		qm_tool_print_error(PROG, err);
		goto out;
	}
	rc = QM_EXIT_OK;
out:
	g_strfreev(args);
	return rc;
}
