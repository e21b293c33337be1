/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qvm-ls: list qubes (vm.List), as a table like Qubes', names only, or JSON.
 *
 *   qvm-ls [--running] [--halted] [--tags TAG]... [--raw-list | --json]
 *          [NAME...]
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "client.h"

#define PROG "qvm-ls"
#define SYNOPSIS "qvm-ls [--running] [--halted] [--tags TAG]... " \
		 "[--raw-list | --json] [NAME...]"

static const char help_text[] =
	"usage: " SYNOPSIS "\n"
	"List qubes: all, or the NAMEs given.\n"
	"\n"
	"  --running        only running qubes (also starting and halting "
	"ones)\n"
	"  --halted         only halted qubes\n"
	"  --tags TAG       only qubes with tag TAG (repeatable: any of "
	"them)\n"
	"  --raw-list       print only the names, one per line\n"
	"  --json           print a JSON array of objects (name, state, "
	"class, label,\n"
	"                   template, netvm, tags, uuid, memory, vcpus, "
	"...)\n"
	"  -h, --help       show this help\n"
	"\n"
	"Exit status: 0 listed, 1 a NAME does not exist or qmgrd is "
	"unreachable,\n"
	"2 usage error.\n"
	QM_TOOL_HELP_ENV
	"See qvm-ls(1).\n";

/* Table columns: (vm.List key, heading), in Qubes' order. */
static const char *const columns[][2] = {
	{ "name", "NAME" }, { "state", "STATE" }, { "class", "CLASS" },
	{ "label", "LABEL" }, { "template", "TEMPLATE" }, { "netvm", "NETVM" },
};
#define N_COLUMNS G_N_ELEMENTS(columns)

struct filter {
	gboolean running, halted;
	char **tags;
	char **names;
};

static char *lookup_str(GVariant *vm, const char *key)
{
	char *s = NULL;
	if (!g_variant_lookup(vm, key, "s", &s))
		s = g_strdup("");
	return s;
}

static bool has_any_tag(GVariant *vm, char **tags)
{
	g_autofree const char **have = NULL;
	if (!g_variant_lookup(vm, "tags", "^a&s", &have))
		return false;
	for (char **t = tags; *t; t++)
		if (g_strv_contains(have, *t))
			return true;
	return false;
}

static bool wanted(GVariant *vm, const struct filter *f)
{
	g_autofree char *name = lookup_str(vm, "name");
	g_autofree char *state = lookup_str(vm, "state");

	if (f->names != NULL && f->names[0] != NULL &&
	    !g_strv_contains((const char *const *)f->names, name))
		return false;
	if (f->running || f->halted) {
		/* as Qubes: "running" is any state with a live domain */
		bool live = strcmp(state, "Running") == 0 ||
			    strcmp(state, "Transient") == 0 ||
			    strcmp(state, "Halting") == 0;
		bool halted = strcmp(state, "Halted") == 0;
		if (!((f->running && live) || (f->halted && halted)))
			return false;
	}
	if (f->tags != NULL && f->tags[0] != NULL && !has_any_tag(vm, f->tags))
		return false;
	return true;
}

static int by_name(gconstpointer a, gconstpointer b)
{
	GVariant *va = *(GVariant *const *)a, *vb = *(GVariant *const *)b;
	g_autofree char *na = lookup_str(va, "name");
	g_autofree char *nb = lookup_str(vb, "name");
	return strcmp(na, nb);
}

/* A copy safe to print on a terminal: control characters as '?'. */
static char *printable(const char *s)
{
	char *out = g_strdup(s);
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return out;
}

static size_t display_width(const char *s)
{
	return g_utf8_validate(s, -1, NULL) ? (size_t)g_utf8_strlen(s, -1)
					    : strlen(s);
}

static void print_table(GPtrArray *rows)
{
	size_t width[N_COLUMNS];
	g_autoptr(GPtrArray) cells = g_ptr_array_new_with_free_func(g_free);

	for (size_t c = 0; c < N_COLUMNS; c++)
		width[c] = strlen(columns[c][1]);
	for (guint r = 0; r < rows->len; r++) {
		for (size_t c = 0; c < N_COLUMNS; c++) {
			g_autofree char *v = lookup_str(rows->pdata[r],
							columns[c][0]);
			/* Qubes shows "-" for an empty reference */
			char *cell = printable(*v ? v : "-");
			width[c] = MAX(width[c], display_width(cell));
			g_ptr_array_add(cells, cell);
		}
	}
	/* like `column -t`, which Qubes' qvm-ls uses: two spaces apart */
	for (guint r = 0; r <= rows->len; r++) {
		for (size_t c = 0; c < N_COLUMNS; c++) {
			const char *cell = r == 0
				? columns[c][1]
				: cells->pdata[(r - 1) * N_COLUMNS + c];
			fputs(cell, stdout);
			if (c + 1 < N_COLUMNS)
				printf("%*s", (int)(width[c] -
						    display_width(cell) + 2),
				       "");
		}
		putchar('\n');
	}
}

static void print_json(GPtrArray *rows)
{
	g_autoptr(GString) out = g_string_new("[");

	for (guint r = 0; r < rows->len; r++) {
		GVariant *vm = rows->pdata[r];
		g_string_append(out, r == 0 ? "\n  {" : ",\n  {");
		/* the table's columns first and always present */
		for (size_t c = 0; c < N_COLUMNS; c++) {
			g_autofree char *v = lookup_str(vm, columns[c][0]);
			if (c > 0)
				g_string_append_c(out, ',');
			qm_json_append_string(out, columns[c][0]);
			g_string_append_c(out, ':');
			qm_json_append_string(out, v);
		}
		GVariantIter iter;
		const char *key;
		GVariant *value;
		g_variant_iter_init(&iter, vm);
		while (g_variant_iter_next(&iter, "{&sv}", &key, &value)) {
			bool column = false;
			for (size_t c = 0; c < N_COLUMNS; c++)
				column |= strcmp(key, columns[c][0]) == 0;
			if (!column) {
				g_string_append_c(out, ',');
				qm_json_append_string(out, key);
				g_string_append_c(out, ':');
				qm_json_append_variant(out, value);
			}
			g_variant_unref(value);
		}
		g_string_append_c(out, '}');
	}
	g_string_append(out, rows->len > 0 ? "\n]\n" : "]\n");
	fputs(out->str, stdout);
}

int main(int argc, char **argv)
{
	gboolean help = FALSE, raw = FALSE, json = FALSE;
	struct filter f = { 0 };
	GOptionEntry entries[] = {
		{ "running", 0, 0, G_OPTION_ARG_NONE, &f.running, NULL,
		  NULL },
		{ "halted", 0, 0, G_OPTION_ARG_NONE, &f.halted, NULL, NULL },
		{ "tags", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &f.tags, NULL,
		  NULL },
		{ "raw-list", 0, 0, G_OPTION_ARG_NONE, &raw, NULL, NULL },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json, NULL, NULL },
		{ "help", 'h', 0, G_OPTION_ARG_NONE, &help, NULL, NULL },
		{ G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY,
		  &f.names, NULL, NULL },
		{ NULL },
	};
	g_autoptr(qm_client) client = NULL;
	g_autoptr(GVariant) vms = NULL;
	g_autoptr(GPtrArray) rows = NULL;
	int rc = QM_EXIT_USAGE;

	rc = qm_tool_parse_options(PROG, SYNOPSIS, help_text, entries, &help,
				   &argc, &argv);
	if (rc >= 0)
		goto out;
	rc = QM_EXIT_USAGE;
	if (raw && json) {
		rc = qm_tool_usage_error(PROG, SYNOPSIS,
					 "--raw-list and --json exclude each "
					 "other");
		goto out;
	}
	for (char **n = f.names; n && *n; n++)
		if (!qm_tool_check_name(PROG, *n))
			goto out;

	rc = QM_EXIT_FAIL;
	client = qm_tool_connect_list(PROG, &vms);
	if (client == NULL)
		goto out;
	/* every NAME must exist, as in Qubes: a typo is not an empty list */
	bool missing = false;
	for (char **n = f.names; n && *n; n++) {
		g_autoptr(GVariant) vm = qm_tool_find_vm(vms, *n);
		if (vm == NULL) {
			qm_tool_print_not_found(PROG, vms, *n);
			missing = true;
		}
	}
	if (missing)
		goto out;

	rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_variant_unref);
	for (gsize i = 0; i < g_variant_n_children(vms); i++) {
		GVariant *vm = g_variant_get_child_value(vms, i);
		if (wanted(vm, &f))
			g_ptr_array_add(rows, vm);
		else
			g_variant_unref(vm);
	}
	g_ptr_array_sort(rows, by_name);

	if (raw) {
		for (guint r = 0; r < rows->len; r++) {
			g_autofree char *name = lookup_str(rows->pdata[r],
							   "name");
			qm_tool_fputs_safe(name, stdout);
			putchar('\n');
		}
	} else if (json) {
		print_json(rows);
	} else {
		print_table(rows);
	}
	rc = fflush(stdout) == 0 ? QM_EXIT_OK : QM_EXIT_FAIL;
out:
	g_strfreev(f.tags);
	g_strfreev(f.names);
	return rc;
}
