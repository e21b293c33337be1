/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * admin.* calls from qubes (Qubes' Admin API over qrexec): a qube the
 * policy allows, for instance
 *     admin.vm.List  *  mgmt  @adminvm  allow target=dom0
 *     admin.vm.Start *  mgmt  work      allow target=dom0
 * may list and control qubes.  Each admin.* service maps to one admin
 * method of qmgrd's own API, run as an internal call (admin.h), and the
 * answer is framed as Qubes frames it.  Only the read-only and lifecycle
 * calls below are offered; anything else is refused as unknown.
 */
#include "config.h"

#include "rpc.h"

#include <string.h>

#include "admin.h"
#include "run.h"

struct admin_map {
	const char *service;
	const char *method;
	bool needs_vm;        /* acts on the requested qube */
	bool takes_argument;  /* the argument is the property name */
};

static const struct admin_map admin_calls[] = {
	{ "admin.vm.List", "vm.List", false, false },
	{ "admin.vm.Start", "vm.Start", true, false },
	{ "admin.vm.Shutdown", "vm.Shutdown", true, false },
	{ "admin.vm.Kill", "vm.Kill", true, false },
	{ "admin.vm.property.List", "vm.prefs.List", true, false },
	{ "admin.vm.property.Get", "vm.prefs.Get", true, true },
	{ "admin.vm.tag.List", "vm.tags.List", true, false },
};

struct admin_op {
	struct qmgrd *d;
	char *caller;
	guint32 id;
	const struct admin_map *map;
	char *vm;            /* the requested qube; "" for the system */
};

static void answer(struct admin_op *op, GString *out, int status)
{
	g_autoptr(GBytes) b = g_string_free_to_bytes(out);
	qm_run_call_answer(op->d, op->caller, op->id, b, status);
	g_free(op->caller);
	g_free(op->vm);
	g_free(op);
}

static void fail(struct admin_op *op, const char *exception,
		 const char *message)
{
	GString *out = g_string_new(NULL);
	/* "2" NUL type NUL traceback NUL message NUL */
	g_string_append_len(out, "2\0", 2);
	g_string_append(out, exception);
	g_string_append_len(out, "\0\0", 2);
	g_string_append(out, message);
	g_string_append_len(out, "\0", 1);
	answer(op, out, 0);
}

static const char *dict_str(GVariant *d, const char *key)
{
	const char *v = NULL;
	if (!g_variant_lookup(d, key, "&s", &v))
		v = "";
	return v;
}

/* The result of the method, as Qubes' Admin API prints it. */
static void format(const struct admin_map *map, const char *vm,
		   GVariant *result, GString *out)
{
	if (strcmp(map->method, "vm.List") == 0) {
		/* "NAME class=CLASS state=STATE\n" per qube */
		g_autoptr(GVariant) vms = g_variant_lookup_value(
			result, "vms", G_VARIANT_TYPE("aa{sv}"));
		GVariantIter it;
		GVariant *e;
		if (*vm == '\0')
			g_string_append(out, "dom0 class=AdminVM "
					     "state=Running\n");
		g_variant_iter_init(&it, vms);
		while ((e = g_variant_iter_next_value(&it))) {
			const char *name = dict_str(e, "name");
			if (*vm == '\0' || strcmp(vm, name) == 0)
				g_string_append_printf(
					out, "%s class=%s state=%s\n", name,
					dict_str(e, "class"),
					dict_str(e, "state"));
			g_variant_unref(e);
		}
	} else if (strcmp(map->method, "vm.prefs.Get") == 0) {
		gboolean def = FALSE;
		g_variant_lookup(result, "default", "b", &def);
		g_string_append_printf(out, "default=%s type=str %s",
				       def ? "True" : "False",
				       dict_str(result, "value"));
	} else if (strcmp(map->method, "vm.prefs.List") == 0) {
		g_autoptr(GVariant) props = g_variant_lookup_value(
			result, "properties", G_VARIANT_TYPE("aa{sv}"));
		GVariantIter it;
		GVariant *e;
		g_variant_iter_init(&it, props);
		while ((e = g_variant_iter_next_value(&it))) {
			g_string_append_printf(out, "%s\n",
					       dict_str(e, "name"));
			g_variant_unref(e);
		}
	} else if (strcmp(map->method, "vm.tags.List") == 0) {
		g_autoptr(GVariant) tags = g_variant_lookup_value(
			result, "tags", G_VARIANT_TYPE("as"));
		for (gsize i = 0; tags && i < g_variant_n_children(tags); i++) {
			const char *t;
			g_variant_get_child(tags, i, "&s", &t);
			g_string_append_printf(out, "%s\n", t);
		}
	}
}

static void on_done(bool ok, const char *error, GVariant *result, void *data)
{
	struct admin_op *op = data;

	if (!ok) {
		const char *code = dict_str(result, "code");
		g_autofree char *exc = g_strdup_printf(
			"Qubes%sError", *code ? code : "");
		fail(op, exc, error);
		return;
	}
	GString *out = g_string_new(NULL);
	g_string_append_len(out, "0\0", 2);
	format(op->map, op->vm, result, out);
	answer(op, out, 0);
}

void qm_rpc_admin_call(struct qmgrd *d, const char *caller, guint32 id,
		       const char *service, const char *argument,
		       const char *requested)
{
	struct admin_op *op = g_new0(struct admin_op, 1);
	op->d = d;
	op->caller = g_strdup(caller);
	op->id = id;
	bool system = strcmp(requested, "dom0") == 0 ||
		      strcmp(requested, "@adminvm") == 0 ||
		      strcmp(requested, "@default") == 0 || *requested == '\0';
	op->vm = g_strdup(system ? "" : requested);

	for (size_t i = 0; i < G_N_ELEMENTS(admin_calls); i++)
		if (strcmp(admin_calls[i].service, service) == 0)
			op->map = &admin_calls[i];
	if (op->map == NULL) {
		fail(op, "QubesException",
		     "qmgr offers qubes these admin calls only: "
		     "admin.vm.List, admin.vm.Start, admin.vm.Shutdown, "
		     "admin.vm.Kill, admin.vm.property.List, "
		     "admin.vm.property.Get, admin.vm.tag.List");
		return;
	}
	if (op->map->needs_vm && *op->vm == '\0') {
		fail(op, "QubesException",
		     "this call acts on a qube: name it as the call's target");
		return;
	}
	if (op->map->takes_argument != (*argument != '\0')) {
		fail(op, "QubesException", op->map->takes_argument
			     ? "this call needs the property name as its "
			       "argument (admin.vm.property.Get+NAME)"
			     : "this call takes no argument");
		return;
	}
	GVariantDict args;
	g_variant_dict_init(&args, NULL);
	if (op->map->takes_argument)
		g_variant_dict_insert(&args, "property", "s", argument);
	g_autofree char *who = g_strdup_printf("qube %s (%s)", caller,
					       service);
	struct qm_call *c = qm_call_new_internal(
		op->map->method, op->vm, g_variant_dict_end(&args), who,
		on_done, op);
	qm_admin_dispatch(d, c);
}
