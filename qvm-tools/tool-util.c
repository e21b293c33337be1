/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The helpers every qvm-* tool shares (client.h, "shared by the tools"):
 * name and text checks, error and usage messages, and looking up qubes in
 * a vm.List result.
 */
#include "config.h"

#include "client.h"

#include <stdarg.h>
#include <string.h>

#include "suggest.h"
#include "vm.h"

void qm_tool_fputs_safe(const char *s, FILE *out)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, out);
}

void qm_tool_print_error(const char *prog, const GError *error)
{
	fprintf(stderr, "%s: ", prog);
	qm_tool_fputs_safe(error->message, stderr);
	fputc('\n', stderr);
}

/*
 * The user's own argument, shown back in a message: readable UTF-8 stays
 * as it is, control characters (C0, DEL, C1) and bytes that are not UTF-8
 * become C escapes so they cannot act on the terminal.
 */
static char *shown(const char *s)
{
	if (!g_utf8_validate(s, -1, NULL))
		return g_strescape(s, NULL);
	GString *out = g_string_new(NULL);
	for (const char *p = s; *p; p = g_utf8_next_char(p)) {
		gunichar u = g_utf8_get_char(p);
		if (u < 0x80 && (g_unichar_iscntrl(u) || u == '\\')) {
			g_autofree char *one = g_strndup(p, 1);
			g_autofree char *esc = g_strescape(one, NULL);
			g_string_append(out, esc);
		} else if (g_unichar_iscntrl(u)) {
			g_string_append_printf(out, "\\u%04x", u);
		} else {
			g_string_append_len(out, p, g_utf8_next_char(p) - p);
		}
	}
	return g_string_free(out, FALSE);
}

bool qm_tool_check_text(const char *prog, const char *what, const char *s)
{
	if (g_utf8_validate(s, -1, NULL))
		return true;
	g_autofree char *s_shown = shown(s);
	fprintf(stderr, "%s: %s '%s' is not valid UTF-8\n", prog, what,
		s_shown);
	return false;
}

bool qm_tool_check_name(const char *prog, const char *name)
{
	const char *why = NULL;
	if (qm_vm_name_check(name, &why))
		return true;
	g_autofree char *name_shown = shown(name);
	fprintf(stderr, "%s: invalid qube name '%s': %s\n", prog, name_shown,
		why);
	return false;
}

struct qm_client *qm_tool_connect(const char *prog)
{
	g_autoptr(GError) err = NULL;
	struct qm_client *c = qm_client_connect(prog, &err);
	if (c == NULL)
		qm_tool_print_error(prog, err);
	return c;
}

int qm_tool_usage_error(const char *prog, const char *synopsis,
			const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\nusage: %s\nTry '%s --help' for more.\n",
		prog, msg, synopsis, prog);
	return QM_EXIT_USAGE;
}

int qm_tool_parse_options(const char *prog, const char *synopsis,
			  const char *help_text, const GOptionEntry *entries,
			  const gboolean *help, int *argc, char ***argv)
{
	g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
	g_autoptr(GError) err = NULL;

	g_option_context_set_help_enabled(ctx, FALSE);
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, argc, argv, &err))
		return qm_tool_usage_error(prog, synopsis, "%s", err->message);
	if (*help) {
		fputs(help_text, stdout);
		return QM_EXIT_OK;
	}
	return -1;
}

int qm_tool_parse_names(const char *prog, const char *synopsis,
			const char *help_text, const GOptionEntry *entries,
			const gboolean *help, char ***names, const char *verb,
			int *argc, char ***argv)
{
	int rc = qm_tool_parse_options(prog, synopsis, help_text, entries,
				       help, argc, argv);

	if (rc >= 0)
		return rc;
	if (*names == NULL || (*names)[0] == NULL)
		return qm_tool_usage_error(prog, synopsis, "name the qubes to %s",
					   verb);
	for (char **n = *names; *n; n++)
		if (!qm_tool_check_name(prog, *n))
			return QM_EXIT_USAGE;
	return -1;
}

GVariant *qm_tool_list_vms(struct qm_client *c, GError **error)
{
	g_autoptr(GVariant) r = qm_client_call(c, "vm.List", "", NULL, error);
	if (r == NULL)
		return NULL;
	GVariant *vms = g_variant_lookup_value(r, "vms",
					       G_VARIANT_TYPE("aa{sv}"));
	if (vms == NULL)
		g_set_error(error, QM_CLIENT_ERROR, QM_CLIENT_ERROR_PROTOCOL,
			    "qmgrd's vm.List reply has no 'vms' list (is it "
			    "the same version as this tool?)");
	return vms;
}

bool qm_tool_call_vm(struct qm_client *c, const char *prog,
		     const char *method, const char *vm)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GVariant) r = qm_client_call(c, method, vm, NULL, &err);

	if (r == NULL)
		qm_tool_print_error(prog, err);
	return r != NULL;
}

struct qm_client *qm_tool_connect_list(const char *prog, GVariant **vms)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(qm_client) c = qm_tool_connect(prog);

	if (c == NULL)
		return NULL;
	*vms = qm_tool_list_vms(c, &err);
	if (*vms == NULL) {
		qm_tool_print_error(prog, err);
		return NULL;
	}
	return g_steal_pointer(&c);
}

GVariant *qm_tool_find_vm(GVariant *vms, const char *name)
{
	for (gsize i = 0; i < g_variant_n_children(vms); i++) {
		GVariant *vm = g_variant_get_child_value(vms, i);
		const char *n;
		if (g_variant_lookup(vm, "name", "&s", &n) &&
		    strcmp(n, name) == 0)
			return vm;
		g_variant_unref(vm);
	}
	return NULL;
}

void qm_tool_print_not_found(const char *prog, GVariant *vms,
			     const char *name)
{
	gsize n = g_variant_n_children(vms);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	for (gsize i = 0; i < n; i++) {
		g_autoptr(GVariant) vm = g_variant_get_child_value(vms, i);
		char *s = NULL;
		if (g_variant_lookup(vm, "name", "s", &s))
			g_ptr_array_add(names, s);
	}
	const char *guess = qm_suggest(name, (const char *const *)names->pdata,
				       names->len);
	fprintf(stderr, "%s: qube '", prog);
	qm_tool_fputs_safe(name, stderr);
	if (guess != NULL) {
		fputs("' does not exist (did you mean '", stderr);
		qm_tool_fputs_safe(guess, stderr);
		fputs("'?)\n", stderr);
	} else {
		fputs("' does not exist (qvm-ls lists them)\n", stderr);
	}
}
