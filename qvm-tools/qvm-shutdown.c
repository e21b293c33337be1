/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qvm-shutdown: ask qubes to shut down cleanly (vm.Shutdown), optionally
 * waiting until they have.
 *
 *   qvm-shutdown [--wait [--timeout S]] NAME...
 *   qvm-shutdown [--wait [--timeout S]] --all [--exclude NAME]...
 *
 * All requests are sent at once and the replies collected afterwards, so
 * `--all --wait` takes as long as the slowest qube, not the sum.  As in
 * Qubes, a qube that is already halted is not an error.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "client.h"

#define PROG "qvm-shutdown"
#define SYNOPSIS "qvm-shutdown [--wait [--timeout SECONDS]] " \
		 "{NAME... | --all [--exclude NAME]...}"

/* qmgrd's default when no timeout is given (docs/admin-api.md) */
#define DEFAULT_TIMEOUT_S 60
#define MAX_TIMEOUT_S 86400
/* on top of qmgrd's own timeout, before we stop waiting for its reply */
#define REPLY_GRACE_S 30

static const char help_text[] =
	"usage: " SYNOPSIS "\n"
	"Ask qubes to shut down cleanly.  Halted qubes are left alone.\n"
	"\n"
	"  --wait              wait until the qubes have halted\n"
	"  --timeout SECONDS   with --wait: give up after SECONDS "
	"(default 60)\n"
	"  --all               all running qubes\n"
	"  --exclude NAME      with --all: not this qube (repeatable)\n"
	"  -h, --help          show this help\n"
	"\n"
	"Exit status: 0 all were asked (with --wait: all halted), 1 a "
	"shutdown failed\n"
	"or timed out or qmgrd is unreachable, 2 usage error.\n"
	QM_TOOL_HELP_ENV
	"See qvm-shutdown(1).\n";

static const char *vm_state(GVariant *vm)
{
	const char *state;
	if (vm == NULL || !g_variant_lookup(vm, "state", "&s", &state))
		return "";
	return state;
}

/* The qubes to shut down: the NAMEs that exist and are not halted, or with
 * --all every running one not excluded.  Unknown NAMEs are reported. */
static bool pick(GVariant *vms, char **names, bool all, char **exclude,
		 GPtrArray *picked)
{
	bool ok = true;

	if (!all) {
		for (char **n = names; *n; n++) {
			g_autoptr(GVariant) vm = qm_tool_find_vm(vms, *n);
			if (vm == NULL) {
				qm_tool_print_not_found(PROG, vms, *n);
				ok = false;
			} else if (strcmp(vm_state(vm), "Halted") != 0) {
				g_ptr_array_add(picked, g_strdup(*n));
			}
		}
		return ok;
	}
	for (char **n = exclude; n && *n; n++) {
		g_autoptr(GVariant) vm = qm_tool_find_vm(vms, *n);
		if (vm == NULL) {
			qm_tool_print_not_found(PROG, vms, *n);
			ok = false;
		}
	}
	for (gsize i = 0; i < g_variant_n_children(vms); i++) {
		g_autoptr(GVariant) vm = g_variant_get_child_value(vms, i);
		const char *state = vm_state(vm), *name;
		if (!g_variant_lookup(vm, "name", "&s", &name))
			continue;
		if (exclude != NULL &&
		    g_strv_contains((const char *const *)exclude, name))
			continue;
		if (strcmp(state, "Running") == 0 ||
		    strcmp(state, "Transient") == 0)
			g_ptr_array_add(picked, g_strdup(name));
	}
	return ok;
}

int main(int argc, char **argv)
{
	gboolean help = FALSE, wait = FALSE, all = FALSE;
	char *timeout_arg = NULL;
	char **names = NULL, **exclude = NULL;
	GOptionEntry entries[] = {
		{ "wait", 0, 0, G_OPTION_ARG_NONE, &wait, NULL, NULL },
		{ "timeout", 0, 0, G_OPTION_ARG_FILENAME, &timeout_arg, NULL,
		  NULL },
		{ "all", 0, 0, G_OPTION_ARG_NONE, &all, NULL, NULL },
		{ "exclude", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &exclude, NULL,
		  NULL },
		QM_TOOL_HELP_AND_REST(help, names),
	};
	g_autoptr(GError) err = NULL;
	g_autoptr(qm_client) client = NULL;
	g_autoptr(GVariant) vms = NULL;
	g_autoptr(GPtrArray) picked = g_ptr_array_new_with_free_func(g_free);
	g_autofree uint32_t *ids = NULL;
	guint64 timeout = DEFAULT_TIMEOUT_S;
	int rc = QM_EXIT_USAGE;

	rc = qm_tool_parse_options(PROG, SYNOPSIS, help_text, entries, &help,
				   &argc, &argv);
	if (rc >= 0)
		goto out;
	rc = QM_EXIT_USAGE;
	bool have_names = names != NULL && names[0] != NULL;
	if (all && have_names) {
		rc = qm_tool_usage_error(PROG, SYNOPSIS,
					 "give either --all or NAMEs, not "
					 "both");
		goto out;
	}
	if (!all && !have_names) {
		rc = qm_tool_usage_error(PROG, SYNOPSIS,
					 "name the qubes to shut down, or "
					 "use --all");
		goto out;
	}
	if (exclude != NULL && !all) {
		rc = qm_tool_usage_error(PROG, SYNOPSIS,
					 "--exclude only makes sense with "
					 "--all");
		goto out;
	}
	if (timeout_arg != NULL) {
		if (!wait) {
			rc = qm_tool_usage_error(PROG, SYNOPSIS,
						 "--timeout needs --wait");
			goto out;
		}
		if (!g_ascii_string_to_unsigned(timeout_arg, 10, 1,
						MAX_TIMEOUT_S, &timeout,
						NULL)) {
			rc = qm_tool_usage_error(PROG, SYNOPSIS,
						 "--timeout '%s': expected "
						 "whole seconds from 1 to %d",
						 timeout_arg, MAX_TIMEOUT_S);
			goto out;
		}
	}
	for (char **n = names; n && *n; n++)
		if (!qm_tool_check_name(PROG, *n))
			goto out;
	for (char **n = exclude; n && *n; n++)
		if (!qm_tool_check_name(PROG, *n))
			goto out;

	rc = QM_EXIT_FAIL;
	client = qm_tool_connect_list(PROG, &vms);
	if (client == NULL)
		goto out;
	rc = pick(vms, names, all, exclude, picked) ? QM_EXIT_OK
						     : QM_EXIT_FAIL;

	ids = g_new0(uint32_t, picked->len + 1);
	for (guint i = 0; i < picked->len; i++) {
		GVariantDict d;
		g_variant_dict_init(&d, NULL);
		g_variant_dict_insert(&d, "wait", "b", wait);
		if (timeout_arg != NULL)
			g_variant_dict_insert(&d, "timeout", "u",
					      (guint32)timeout);
		ids[i] = qm_client_send(client, "vm.Shutdown",
					picked->pdata[i],
					g_variant_dict_end(&d), &err);
		if (ids[i] == 0) {
			qm_tool_print_error(PROG, err);
			rc = QM_EXIT_FAIL;
			goto out;
		}
	}
	/* qmgrd enforces the timeout; ours only guards against a hang */
	gint64 deadline = g_get_monotonic_time() +
			  (gint64)(timeout + REPLY_GRACE_S) * G_USEC_PER_SEC;
	for (guint i = 0; i < picked->len; i++) {
		const char *name = picked->pdata[i];
		int left = -1;
		if (wait)
			left = (int)MAX(0, (deadline - g_get_monotonic_time()) /
						   1000);
		g_autoptr(GVariant) r = qm_client_wait(client, ids[i], left,
						       &err);
		if (r != NULL)
			continue;
		rc = QM_EXIT_FAIL;
		if (g_error_matches(err, QM_CLIENT_ERROR,
				    QM_CLIENT_ERROR_PROTOCOL)) {
			qm_tool_print_error(PROG, err);
			goto out;
		}
		if (g_error_matches(err, QM_CLIENT_ERROR,
				    QM_CLIENT_ERROR_NO_ANSWER))
			fprintf(stderr,
				"%s: qube '%s' did not shut down within "
				"%" G_GUINT64_FORMAT " seconds (qvm-kill %s "
				"powers it off at once)\n",
				PROG, name, timeout, name);
		else
			qm_tool_print_error(PROG, err);
		g_clear_error(&err);
	}
out:
	g_free(timeout_arg);
	g_strfreev(names);
	g_strfreev(exclude);
	return rc;
}
