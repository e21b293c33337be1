/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qvm-create: define a new qube (vm.Create).
 *
 *   qvm-create [--class C] [--template T] [--label L] [--property K=V]...
 *              [-q] NAME
 *
 * Whatever is not given follows qmgrd's defaults (class AppVM, the global
 * default_template, label red).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "client.h"

#define PROG "qvm-create"
#define SYNOPSIS "qvm-create [--class CLASS] [--template TEMPLATE] " \
		 "[--label LABEL] [--property NAME=VALUE]... NAME"

static const char help_text[] =
	"usage: " SYNOPSIS "\n"
	"Create a new qube NAME.\n"
	"\n"
	"  -C, --class CLASS            AppVM (default), TemplateVM, "
	"StandaloneVM or DispVM\n"
	"  -t, --template TEMPLATE      the TemplateVM it is based on "
	"(default: qvm-prefs dom0 default_template)\n"
	"  -l, --label LABEL            red (default), orange, yellow, "
	"green, gray, blue, purple, black\n"
	"  -P, --property NAME=VALUE    set a property (repeatable; see "
	"qvm-prefs)\n"
	"  -q, --quiet                  accepted for Qubes compatibility "
	"(qvm-create prints nothing on success)\n"
	"  -h, --help                   show this help\n"
	"\n"
	"Exit status: 0 created, 1 qmgrd refused or is unreachable, 2 usage "
	"error.\n"
	QM_TOOL_HELP_ENV
	"See qvm-create(1).\n";

/* Both spellings (-P as asked, -p/--prop as Qubes has it) land here. */
static GPtrArray *properties;

static gboolean on_property(const char *option, const char *value,
			    gpointer data, GError **error)
{
	g_ptr_array_add(properties, g_strdup(value));
	return TRUE;
}

/* "K=V"s into an a{ss}; false (usage error printed) on bad syntax. */
static bool build_properties(GVariantBuilder *b, int *rc)
{
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash,
							   g_str_equal,
							   g_free, NULL);
	g_variant_builder_init(b, G_VARIANT_TYPE("a{ss}"));
	for (guint i = 0; i < properties->len; i++) {
		const char *kv = g_ptr_array_index(properties, i);
		const char *eq = strchr(kv, '=');
		if (!qm_tool_check_text(PROG, "--property", kv)) {
			*rc = QM_EXIT_USAGE;
			g_variant_builder_clear(b);
			return false;
		}
		if (eq == NULL || eq == kv) {
			*rc = qm_tool_usage_error(PROG, SYNOPSIS,
				"--property '%s': expected NAME=VALUE, e.g. "
				"--property memory=1024", kv);
			g_variant_builder_clear(b);
			return false;
		}
		char *key = g_strndup(kv, (gsize)(eq - kv));
		if (!g_hash_table_add(seen, key)) {
			*rc = qm_tool_usage_error(PROG, SYNOPSIS,
				"--property %s is given twice", key);
			g_variant_builder_clear(b);
			return false;
		}
		g_variant_builder_add(b, "{ss}", key, eq + 1);
	}
	return true;
}

int main(int argc, char **argv)
{
	gboolean help = FALSE, quiet = FALSE;
	char *cls = NULL, *template = NULL, *label = NULL;
	char **args = NULL;
	GOptionEntry entries[] = {
		{ "class", 'C', 0, G_OPTION_ARG_FILENAME, &cls, NULL, NULL },
		{ "template", 't', 0, G_OPTION_ARG_FILENAME, &template, NULL,
		  NULL },
		{ "label", 'l', 0, G_OPTION_ARG_FILENAME, &label, NULL, NULL },
		{ "property", 'P', G_OPTION_FLAG_FILENAME,
		  G_OPTION_ARG_CALLBACK, on_property,
		  NULL, NULL },
		{ "prop", 'p', G_OPTION_FLAG_HIDDEN | G_OPTION_FLAG_FILENAME,
		  G_OPTION_ARG_CALLBACK,
		  on_property, NULL, NULL },
		{ "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, NULL, NULL },
		QM_TOOL_HELP_AND_REST(help, args),
	};
	g_autoptr(GError) err = NULL;
	g_autoptr(qm_client) client = NULL;
	g_autoptr(GVariant) result = NULL;
	GVariantBuilder props;
	int rc = QM_EXIT_USAGE;

	properties = g_ptr_array_new_with_free_func(g_free);
	rc = qm_tool_parse_options(PROG, SYNOPSIS, help_text, entries, &help,
				   &argc, &argv);
	if (rc >= 0)
		goto out;
	rc = QM_EXIT_USAGE;
	if (args == NULL || args[0] == NULL) {
		rc = qm_tool_usage_error(PROG, SYNOPSIS,
					 "name the qube to create");
		goto out;
	}
	if (args[1] != NULL) {
		rc = qm_tool_usage_error(PROG, SYNOPSIS,
					 "one qube at a time ('%s' is extra)",
					 args[1]);
		goto out;
	}
	if (!qm_tool_check_name(PROG, args[0]) ||
	    (template != NULL && !qm_tool_check_name(PROG, template)))
		goto out;
	if ((cls != NULL && !qm_tool_check_text(PROG, "--class", cls)) ||
	    (label != NULL && !qm_tool_check_text(PROG, "--label", label)))
		goto out;
	if (!build_properties(&props, &rc))
		goto out;

	GVariantDict dict;
	g_variant_dict_init(&dict, NULL);
	if (cls != NULL)
		g_variant_dict_insert(&dict, "class", "s", cls);
	if (template != NULL)
		g_variant_dict_insert(&dict, "template", "s", template);
	if (label != NULL)
		g_variant_dict_insert(&dict, "label", "s", label);
	GVariant *p = g_variant_builder_end(&props);
	if (g_variant_n_children(p) > 0)
		g_variant_dict_insert_value(&dict, "properties", p);
	else
		g_variant_unref(g_variant_ref_sink(p));
	GVariant *call_args = g_variant_dict_end(&dict);

	rc = QM_EXIT_FAIL;
	client = qm_tool_connect(PROG);
	if (client == NULL) {
		g_variant_unref(g_variant_ref_sink(call_args));
		goto out;
	}
	result = qm_client_call(client, "vm.Create", args[0], call_args,
				&err);
	if (result == NULL) {
		qm_tool_print_error(PROG, err);
		goto out;
	}
	rc = QM_EXIT_OK;
out:
	g_ptr_array_unref(properties);
	g_free(cls);
	g_free(template);
	g_free(label);
	g_strfreev(args);
	return rc;
}
