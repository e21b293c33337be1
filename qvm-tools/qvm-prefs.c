/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qvm-prefs: list, get, set and reset a qube's properties (vm.prefs.*), or
 * the global ones with the qube name dom0 (global.prefs.*), as in Qubes.
 *
 *   qvm-prefs VM                    list: "NAME  D  VALUE", D = default
 *   qvm-prefs VM PROP               print the value
 *   qvm-prefs VM PROP VALUE         set it
 *   qvm-prefs VM PROP --default     make it follow its default again
 *   qvm-prefs --help-properties VM  the properties and what they mean
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "client.h"

#define PROG "qvm-prefs"
#define SYNOPSIS "qvm-prefs [--help-properties] VM [PROPERTY [VALUE | " \
		 "--default]]"

static const char help_text[] =
	"usage: " SYNOPSIS "\n"
	"Show or change a qube's properties; VM dom0 means the global "
	"settings\n"
	"(default_template, default_dispvm).\n"
	"\n"
	"  (no PROPERTY)       list all: NAME, 'D' when it follows its "
	"default\n"
	"                      ('-' when set), VALUE\n"
	"  PROPERTY            print its value\n"
	"  PROPERTY VALUE      set it\n"
	"  -D, --default       with PROPERTY: reset it to its default\n"
	"  --help-properties   list the properties with a description\n"
	"  -h, --help          show this help\n"
	"\n"
	"Exit status: 0 done, 1 qmgrd refused (unknown qube or property, bad "
	"value)\n"
	"or is unreachable, 2 usage error.\n"
	QM_TOOL_HELP_ENV
	"See qvm-prefs(1).\n";

struct prop {
	char *name, *value, *help;
	gboolean is_default;
};

static void prop_free(struct prop *p)
{
	g_free(p->name);
	g_free(p->value);
	g_free(p->help);
	g_free(p);
}

static int prop_cmp(gconstpointer a, gconstpointer b)
{
	const struct prop *pa = *(struct prop *const *)a;
	const struct prop *pb = *(struct prop *const *)b;
	return strcmp(pa->name, pb->name);
}

/* prefs.List's "properties" as struct prop, sorted by name. */
static GPtrArray *unpack_list(GVariant *result)
{
	GPtrArray *props = g_ptr_array_new_with_free_func(
		(GDestroyNotify)prop_free);
	g_autoptr(GVariant) list = g_variant_lookup_value(
		result, "properties", G_VARIANT_TYPE("aa{sv}"));
	if (list == NULL)
		return props;
	for (gsize i = 0; i < g_variant_n_children(list); i++) {
		g_autoptr(GVariant) d = g_variant_get_child_value(list, i);
		struct prop *p = g_new0(struct prop, 1);
		if (!g_variant_lookup(d, "name", "s", &p->name))
			p->name = g_strdup("");
		if (!g_variant_lookup(d, "value", "s", &p->value))
			p->value = g_strdup("");
		if (!g_variant_lookup(d, "help", "s", &p->help))
			p->help = g_strdup("");
		if (!g_variant_lookup(d, "default", "b", &p->is_default))
			p->is_default = FALSE;
		g_ptr_array_add(props, p);
	}
	g_ptr_array_sort(props, prop_cmp);
	return props;
}

static void print_list(GPtrArray *props, bool help)
{
	int width = 0;
	for (guint i = 0; i < props->len; i++) {
		struct prop *p = props->pdata[i];
		width = MAX(width, (int)strlen(p->name));
	}
	for (guint i = 0; i < props->len; i++) {
		struct prop *p = props->pdata[i];
		/* Qubes' layout: name, "D" (default) or "-" (set), value */
		const char *text = help ? p->help : p->value;
		if (help)
			printf("%-*s", width, p->name);
		else
			printf("%-*s  %c", width, p->name,
			       p->is_default ? 'D' : '-');
		if (*text) {
			fputs("  ", stdout);
			qm_tool_fputs_safe(text, stdout);
		}
		putchar('\n');
	}
}

int main(int argc, char **argv)
{
	gboolean help = FALSE, reset = FALSE, help_props = FALSE;
	char **args = NULL;
	GOptionEntry entries[] = {
		{ "default", 'D', 0, G_OPTION_ARG_NONE, &reset, NULL, NULL },
		{ "help-properties", 0, 0, G_OPTION_ARG_NONE, &help_props,
		  NULL, NULL },
		QM_TOOL_HELP_AND_REST(help, args),
	};
	g_autoptr(GError) err = NULL;
	g_autoptr(qm_client) client = NULL;
	g_autoptr(GVariant) r = NULL;
	g_autofree char *method = NULL;
	int rc = QM_EXIT_USAGE;

	rc = qm_tool_parse_options(PROG, SYNOPSIS, help_text, entries, &help,
				   &argc, &argv);
	if (rc >= 0)
		goto out;
	rc = QM_EXIT_USAGE;
	guint n = args ? g_strv_length(args) : 0;
	if (n == 0) {
		rc = qm_tool_usage_error(PROG, SYNOPSIS,
					 "name the qube (or dom0 for the "
					 "global settings)");
		goto out;
	}
	if (n > 3) {
		rc = qm_tool_usage_error(PROG, SYNOPSIS,
					 "too many arguments (quote a VALUE "
					 "with spaces)");
		goto out;
	}
	if (reset && n != 2) {
		rc = qm_tool_usage_error(PROG, SYNOPSIS,
					 n == 1 ? "--default needs a PROPERTY"
						: "give either a VALUE or "
						  "--default, not both");
		goto out;
	}
	if (help_props && n != 1) {
		rc = qm_tool_usage_error(PROG, SYNOPSIS,
					 "--help-properties takes only the "
					 "qube's name");
		goto out;
	}
	if ((n >= 2 && !qm_tool_check_text(PROG, "property", args[1])) ||
	    (n == 3 && !qm_tool_check_text(PROG, "value", args[2])))
		goto out;
	const char *vm = args[0];
	bool global = strcmp(vm, "dom0") == 0;
	if (!global && !qm_tool_check_name(PROG, vm))
		goto out;

	rc = QM_EXIT_FAIL;
	client = qm_tool_connect(PROG);
	if (client == NULL)
		goto out;
	const char *prefix = global ? "global.prefs" : "vm.prefs";
	const char *target = global ? "" : vm;
	GVariantDict d;
	g_variant_dict_init(&d, NULL);
	if (n >= 2)
		g_variant_dict_insert(&d, "property", "s", args[1]);
	if (n == 3)
		g_variant_dict_insert(&d, "value", "s", args[2]);
	method = g_strdup_printf("%s.%s", prefix,
				 n == 1 ? "List"
				 : n == 3 ? "Set"
				 : reset ? "Reset" : "Get");
	r = qm_client_call(client, method, target, g_variant_dict_end(&d),
			   &err);
	if (r == NULL) {
		qm_tool_print_error(PROG, err);
		goto out;
	}
	if (n == 1) {
		g_autoptr(GPtrArray) props = unpack_list(r);
		print_list(props, help_props);
	} else if (n == 2 && !reset) {
		const char *value = "";
		g_variant_lookup(r, "value", "&s", &value);
		qm_tool_fputs_safe(value, stdout);
		putchar('\n');
	}
	rc = fflush(stdout) == 0 ? QM_EXIT_OK : QM_EXIT_FAIL;
out:
	g_strfreev(args);
	return rc;
}
