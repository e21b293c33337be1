/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

/*
 * The admin API methods (docs/admin-api.md): checks every argument, then
 * changes the inventory and saves it, or hands the call to the lifecycle
 * code for long operations.  Nothing from a client is trusted: a bad
 * argument gets an error naming it, and the inventory stays as it was.
 */
#include "admin.h"
#include "clipboard.h"

#include <string.h>

#include "libvirt-conn.h"
#include "disposable.h"
#include "dispvm-pool.h"
#include "lifecycle.h"
#include "net.h"
#include "prompt.h"
#include "run.h"
#include "template-store.h"
#include "volumes.h"

typedef void (*method_fn)(struct qmgrd *d, struct qm_call *c,
			  struct qm_vm *vm);

/* ---- helpers ---- */

static const char *arg_str(struct qm_call *c, const char *key)
{
	const char *v = NULL;
	if (!g_variant_lookup(qm_call_args(c), key, "&s", &v))
		return NULL;
	return v;
}

static bool arg_bool(struct qm_call *c, const char *key, bool dflt)
{
	gboolean v;
	return g_variant_lookup(qm_call_args(c), key, "b", &v) ? v : dflt;
}

static guint32 arg_uint(struct qm_call *c, const char *key, guint32 dflt)
{
	guint32 v;
	return g_variant_lookup(qm_call_args(c), key, "u", &v) ? v : dflt;
}

bool qmgrd_save(struct qmgrd *d, GError **error)
{
	if (!qm_inventory_save(d->inv, error))
		return false;
	/* preload_dispvm, a template's settings, a qube removed... */
	qm_dispvm_pool_changed(d);
	return true;
}

/* Saves; on failure reloads nothing but reports the failure to the call.
 * The caller must undo its in-memory change when this returns false. */
static bool save_or_fail(struct qmgrd *d, struct qm_call *c)
{
	g_autoptr(GError) err = NULL;
	if (qmgrd_save(d, &err))
		return true;
	qm_call_fail(c, QM_ERR_INTERNAL, "cannot save the inventory: %s",
		     err->message);
	return false;
}

static GVariant *vm_summary(struct qmgrd *d, struct qm_vm *vm)
{
	GVariantDict dict;
	g_variant_dict_init(&dict, NULL);
	g_autofree char *label = qm_inventory_prop(d->inv, vm, "label");
	g_autofree char *tmpl = qm_inventory_prop(d->inv, vm, "template");
	g_autofree char *mem = qm_inventory_prop(d->inv, vm, "memory");
	g_autofree char *vcpus = qm_inventory_prop(d->inv, vm, "vcpus");
	g_autofree char *tfd = qm_inventory_prop(d->inv, vm,
						 "template_for_dispvms");
	g_autofree char *netvm = qm_inventory_prop(d->inv, vm, "netvm");
	g_autofree char *gui = qm_inventory_prop(d->inv, vm, "gui_socket");
	g_autofree char *gui_fs = qm_inventory_prop(d->inv, vm,
						    "gui_allow_fullscreen");
	g_autofree char *gui_shm = qm_inventory_prop(d->inv, vm, "gui_shm");
	g_variant_dict_insert(&dict, "name", "s", vm->name);
	g_variant_dict_insert(&dict, "uuid", "s", vm->uuid);
	g_variant_dict_insert(&dict, "state", "s",
			      qm_vm_state_name(vm->state));
	/* Why it is in that state: "agent channel dropped: ..." marks a
	 * guest that broke the protocol. */
	g_variant_dict_insert(&dict, "detail", "s",
			      vm->state_detail ? vm->state_detail : "");
	g_variant_dict_insert(&dict, "class", "s",
			      pol_vm_class_name(vm->cls));
	g_variant_dict_insert(&dict, "label", "s", label);
	g_variant_dict_insert(&dict, "template", "s", tmpl);
	g_variant_dict_insert(&dict, "netvm", "s", netvm);
	/* for gui-proxy, which shows the qubes' windows */
	g_variant_dict_insert(&dict, "gui_socket", "s", gui);
	/* unset reads False, as Qubes' gui-allow-fullscreen feature */
	g_variant_dict_insert(&dict, "gui_allow_fullscreen", "b",
			      strcmp(gui_fs, "True") == 0);
	g_variant_dict_insert(&dict, "gui_shm", "s", gui_shm);
	g_variant_dict_insert(&dict, "memory", "u",
			      (guint32)g_ascii_strtoull(mem, NULL, 10));
	g_variant_dict_insert(&dict, "vcpus", "u",
			      (guint32)g_ascii_strtoull(vcpus, NULL, 10));
	g_variant_dict_insert(&dict, "template_for_dispvms", "b",
			      strcmp(tfd, "True") == 0);
	g_variant_dict_insert_value(
		&dict, "tags",
		g_variant_new_strv((const char *const *)vm->tags->pdata,
				   vm->tags->len));
	return g_variant_dict_end(&dict);
}

/* A property's value as users see it: a boolean that qm_inventory_prop
 * gives no default reads False (each has one today; a new one may not). */
static char *prop_value(struct qmgrd *d, struct qm_vm *vm,
			const struct qm_prop_def *def)
{
	char *v = qm_inventory_prop(d->inv, vm, def->name);

	if (def->type == QM_PROP_BOOL && *v == '\0') {
		g_free(v);
		return g_strdup("False");
	}
	return v;
}

static void emit_property(struct qmgrd *d, const char *vm, const char *prop,
			  const char *value)
{
	GVariantDict dict;
	g_variant_dict_init(&dict, NULL);
	g_variant_dict_insert(&dict, "property", "s", prop);
	g_variant_dict_insert(&dict, "value", "s", value);
	qm_admin_emit(d->admin, "vm-property", vm, g_variant_dict_end(&dict));
}

/*
 * Cross-VM checks of a property value: a template must be a TemplateVM, a
 * default_dispvm must be a disposable template.  *why is a sentence.
 */
static bool check_reference(struct qmgrd *d, const struct qm_vm *vm,
			    const char *prop, const char *value,
			    char **why)
{
	if (*value == '\0') {
		if (strcmp(prop, "template") == 0 && vm != NULL &&
		    (vm->cls == POL_CLASS_APPVM || vm->cls == POL_CLASS_DISPVM)) {
			*why = g_strdup("an AppVM needs a template");
			return false;
		}
		return true;
	}
	if (strcmp(prop, "netvm") == 0 && strcmp(value, QM_NETVM_UPLINK) == 0)
		return true;   /* built in, not a qube */
	struct qm_vm *ref = qm_inventory_find(d->inv, value);
	if (ref == NULL) {
		*why = g_strdup_printf("qube '%s' does not exist (qvm-ls "
				       "lists them)", value);
		return false;
	}
	if (strcmp(prop, "template") == 0 || strcmp(prop,
						    "default_template") == 0) {
		bool disp = vm != NULL && vm->cls == POL_CLASS_DISPVM;
		g_autofree char *tfd = qm_inventory_prop(
			d->inv, ref, "template_for_dispvms");
		if (disp ? strcmp(tfd, "True") != 0
			 : ref->cls != POL_CLASS_TEMPLATEVM) {
			*why = g_strdup_printf(
				disp ? "'%s' is not a disposable template "
				       "(set template_for_dispvms on it)"
				     : "'%s' is not a TemplateVM",
				value);
			return false;
		}
		if (vm != NULL && (vm->cls == POL_CLASS_TEMPLATEVM ||
				   vm->cls == POL_CLASS_STANDALONEVM) &&
		    strcmp(prop, "template") == 0) {
			*why = g_strdup_printf("a %s has no template",
					       pol_vm_class_name(vm->cls));
			return false;
		}
	}
	if (strcmp(prop, "netvm") == 0) {
		g_autofree char *pn = qm_inventory_prop(d->inv, ref,
							"provides_network");
		if (ref == vm) {
			*why = g_strdup("a qube cannot be its own netvm");
			return false;
		}
		if (strcmp(pn, "True") != 0) {
			*why = g_strdup_printf(
				"'%s' does not provide network (qvm-prefs %s "
				"provides_network True; routing through a "
				"qube is not implemented yet: use sys-net, "
				"the host's uplink)", value, value);
			return false;
		}
	}
	if (strcmp(prop, "default_dispvm") == 0) {
		g_autofree char *tfd = qm_inventory_prop(
			d->inv, ref, "template_for_dispvms");
		if (strcmp(tfd, "True") != 0) {
			*why = g_strdup_printf(
				"'%s' is not a disposable template (run "
				"qvm-prefs %s template_for_dispvms True)",
				value, value);
			return false;
		}
	}
	return true;
}

static struct qm_vm *find_or_fail(struct qmgrd *d, struct qm_call *c)
{
	struct qm_vm *vm = qm_inventory_find(d->inv, qm_call_vm(c));
	if (vm == NULL)
		qm_call_fail(c, QM_ERR_NOT_FOUND,
			     "qube '%s' does not exist (qvm-ls lists them)",
			     qm_call_vm(c));
	return vm;
}

/* ---- listing and preferences ---- */

static void m_list(struct qmgrd *d, struct qm_call *c, struct qm_vm *unused)
{
	GVariantBuilder b;
	g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
	for (guint i = 0; i < d->inv->vms->len; i++)
		g_variant_builder_add_value(
			&b, vm_summary(d, g_ptr_array_index(d->inv->vms, i)));
	GVariantDict dict;
	g_variant_dict_init(&dict, NULL);
	g_variant_dict_insert_value(&dict, "vms", g_variant_builder_end(&b));
	qm_call_reply(c, g_variant_dict_end(&dict));
}

static void m_prefs_list(struct qmgrd *d, struct qm_call *c,
			 struct qm_vm *vm)
{
	GVariantBuilder b;
	g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
	for (const struct qm_prop_def *p = qm_prop_defs(); p->name; p++) {
		g_autofree char *v = prop_value(d, vm, p);
		GVariantDict e;
		g_variant_dict_init(&e, NULL);
		g_variant_dict_insert(&e, "name", "s", p->name);
		g_variant_dict_insert(&e, "value", "s", v);
		g_variant_dict_insert(&e, "default", "b",
				      !p->readonly &&
					      qm_inventory_prop_is_default(
						      vm, p->name));
		g_variant_dict_insert(&e, "readonly", "b", p->readonly);
		g_variant_dict_insert(&e, "help", "s", p->help);
		g_variant_builder_add_value(&b, g_variant_dict_end(&e));
	}
	GVariantDict dict;
	g_variant_dict_init(&dict, NULL);
	g_variant_dict_insert_value(&dict, "properties",
				    g_variant_builder_end(&b));
	qm_call_reply(c, g_variant_dict_end(&dict));
}

static const struct qm_prop_def *prop_or_fail(struct qm_call *c,
					      const char *vmname)
{
	const char *name = arg_str(c, "property");
	const struct qm_prop_def *def = name ? qm_prop_find(name) : NULL;
	if (def == NULL)
		qm_call_fail(c, QM_ERR_INVALID,
			     "qube '%s' has no property '%s' (qvm-prefs %s "
			     "lists them)", vmname, name ? name : "", vmname);
	return def;
}

static void m_prefs_get(struct qmgrd *d, struct qm_call *c, struct qm_vm *vm)
{
	const struct qm_prop_def *def = prop_or_fail(c, vm->name);
	if (def == NULL)
		return;
	g_autofree char *v = prop_value(d, vm, def);
	GVariantDict dict;
	g_variant_dict_init(&dict, NULL);
	g_variant_dict_insert(&dict, "value", "s", v);
	g_variant_dict_insert(&dict, "default", "b",
			      !def->readonly &&
				      qm_inventory_prop_is_default(vm,
								   def->name));
	qm_call_reply(c, g_variant_dict_end(&dict));
}

static bool prop_change_allowed(struct qm_call *c, struct qm_vm *vm,
				const struct qm_prop_def *def)
{
	if (def->readonly) {
		qm_call_fail(c, QM_ERR_INVALID, "property '%s' is read-only",
			     def->name);
		return false;
	}
	/* What the running domain was built from cannot change under it. */
	static const char *const live_fixed[] = { "template", "memory",
						  "vcpus", "kernelopts",
						  "netvm", "gui" };
	for (size_t i = 0; i < G_N_ELEMENTS(live_fixed); i++) {
		if (strcmp(def->name, live_fixed[i]) == 0 &&
		    !qm_vm_is_down(vm)) {
			qm_call_fail(c, QM_ERR_STATE,
				     "cannot change %s of '%s' while it is %s "
				     "(qvm-shutdown --wait %s first)",
				     def->name, vm->name,
				     qm_vm_state_name(vm->state), vm->name);
			return false;
		}
	}
	return true;
}

/* A qube that others have as netvm keeps providing network. */
static bool provides_network_allowed(struct qmgrd *d, struct qm_call *c,
				     struct qm_vm *vm, const char *prop,
				     const char *value)
{
	if (strcmp(prop, "provides_network") != 0 ||
	    strcmp(value, "True") == 0)
		return true;
	g_autoptr(GString) users = g_string_new(NULL);
	for (guint i = 0; i < d->inv->vms->len; i++) {
		struct qm_vm *o = g_ptr_array_index(d->inv->vms, i);
		g_autofree char *nv = qm_inventory_prop(d->inv, o, "netvm");
		if (strcmp(nv, vm->name) == 0)
			g_string_append_printf(users, "%s%s",
					       users->len ? ", " : "",
					       o->name);
	}
	if (users->len == 0)
		return true;
	qm_call_fail(c, QM_ERR_IN_USE, "'%s' is the netvm of: %s", vm->name,
		     users->str);
	return false;
}

/*
 * The property `prop` of `vm` was just changed from `old` (NULL: it
 * followed its default).  Gives and takes addresses as the qubes' netvms
 * now say (a disposable follows its template's netvm) and saves; on
 * failure undoes all of it and fails the call.
 */
static bool commit_prop(struct qmgrd *d, struct qm_call *c, struct qm_vm *vm,
			const char *prop, const char *old)
{
	g_autoptr(GHashTable) ips = qm_net_ip_snapshot(d->inv);
	g_autoptr(GError) err = NULL;
	const char *code = QM_ERR_INVALID;

	if (qm_net_ip_assign_all(d->inv, NULL, &err)) {
		code = QM_ERR_INTERNAL;
		if (qmgrd_save(d, &err))
			return true;
		g_prefix_error(&err, "cannot save the inventory: ");
	}
	if (old)
		qm_vm_prop_set(vm, prop, old);
	else
		qm_vm_prop_reset(vm, prop);
	qm_net_ip_restore(d->inv, ips);
	qm_call_fail(c, code, "%s: %s", prop, err->message);
	return false;
}

static void m_prefs_set(struct qmgrd *d, struct qm_call *c, struct qm_vm *vm)
{
	const struct qm_prop_def *def = prop_or_fail(c, vm->name);
	const char *value = arg_str(c, "value");
	const char *why = NULL;
	g_autofree char *refwhy = NULL;

	if (def == NULL)
		return;
	if (value == NULL) {
		qm_call_fail(c, QM_ERR_INVALID, "no value given for %s",
			     def->name);
		return;
	}
	if (!prop_change_allowed(c, vm, def))
		return;
	g_autofree char *norm = qm_prop_normalise(def, value, &why);
	if (norm == NULL) {
		qm_call_fail(c, QM_ERR_INVALID, "%s: invalid value '%s': %s",
			     def->name, value, why);
		return;
	}
	if (def->type == QM_PROP_VMREF &&
	    !check_reference(d, vm, def->name, norm, &refwhy)) {
		qm_call_fail(c, QM_ERR_INVALID, "%s: %s", def->name, refwhy);
		return;
	}
	const char *code = NULL;
	if (!qm_dispvm_pool_check_pref(d, vm, def->name, norm, &code,
				       &refwhy)) {
		qm_call_fail(c, code, "%s: %s", def->name, refwhy);
		return;
	}
	if (!provides_network_allowed(d, c, vm, def->name, norm))
		return;
	if (strcmp(def->name, "template_for_dispvms") == 0 &&
	    strcmp(norm, "False") == 0) {
		g_autofree char *users = qm_inventory_users_of(d->inv, vm);
		if (users != NULL) {
			qm_call_fail(c, QM_ERR_IN_USE,
				     "'%s' is the disposable template of: %s",
				     vm->name, users);
			return;
		}
	}
	g_autofree char *old = g_strdup(qm_vm_prop_get_set(vm, def->name));
	qm_vm_prop_set(vm, def->name, norm);
	if (!commit_prop(d, c, vm, def->name, old))
		return;
	emit_property(d, vm->name, def->name, norm);
	qm_net_changed(d);
	qm_call_reply(c, NULL);
}

static void m_prefs_reset(struct qmgrd *d, struct qm_call *c,
			  struct qm_vm *vm)
{
	const struct qm_prop_def *def = prop_or_fail(c, vm->name);
	if (def == NULL || !prop_change_allowed(c, vm, def))
		return;
	g_autofree char *old = g_strdup(qm_vm_prop_get_set(vm, def->name));
	qm_vm_prop_reset(vm, def->name);
	g_autofree char *now = prop_value(d, vm, def);
	g_autofree char *why = NULL;
	if (def->type == QM_PROP_VMREF &&
	    !check_reference(d, vm, def->name, now, &why)) {
		if (old)
			qm_vm_prop_set(vm, def->name, old);
		qm_call_fail(c, QM_ERR_INVALID, "%s: the default would be "
			     "invalid: %s", def->name, why);
		return;
	}
	const char *code = NULL;
	if (!qm_dispvm_pool_check_pref(d, vm, def->name, now, &code, &why)) {
		if (old)
			qm_vm_prop_set(vm, def->name, old);
		qm_call_fail(c, code, "%s: %s", def->name, why);
		return;
	}
	if (!provides_network_allowed(d, c, vm, def->name, now)) {
		if (old)
			qm_vm_prop_set(vm, def->name, old);
		return;
	}
	if (!commit_prop(d, c, vm, def->name, old))
		return;
	emit_property(d, vm->name, def->name, now);
	qm_net_changed(d);
	qm_call_reply(c, NULL);
}

static void m_global_list(struct qmgrd *d, struct qm_call *c,
			  struct qm_vm *unused)
{
	static const char *const names[] = { "default_template",
					     "default_dispvm" };
	GVariantBuilder b;
	g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		GVariantDict e;
		g_variant_dict_init(&e, NULL);
		g_variant_dict_insert(&e, "name", "s", names[i]);
		g_variant_dict_insert(&e, "value", "s",
				      qm_inventory_global(d->inv, names[i]));
		g_variant_dict_insert(&e, "default", "b", FALSE);
		g_variant_dict_insert(&e, "readonly", "b", FALSE);
		g_variant_dict_insert(&e, "help", "s",
				      i == 0 ? "template of new AppVMs"
					     : "template of new disposables");
		g_variant_builder_add_value(&b, g_variant_dict_end(&e));
	}
	GVariantDict dict;
	g_variant_dict_init(&dict, NULL);
	g_variant_dict_insert_value(&dict, "properties",
				    g_variant_builder_end(&b));
	qm_call_reply(c, g_variant_dict_end(&dict));
}

static void m_global_get(struct qmgrd *d, struct qm_call *c,
			 struct qm_vm *unused)
{
	const char *name = arg_str(c, "property");
	if (name == NULL || !qm_global_pref_known(name)) {
		qm_call_fail(c, QM_ERR_INVALID,
			     "dom0 has no property '%s' (default_template, "
			     "default_dispvm)", name ? name : "");
		return;
	}
	GVariantDict dict;
	g_variant_dict_init(&dict, NULL);
	g_variant_dict_insert(&dict, "value", "s",
			      qm_inventory_global(d->inv, name));
	g_variant_dict_insert(&dict, "default", "b", FALSE);
	qm_call_reply(c, g_variant_dict_end(&dict));
}

static void m_global_set(struct qmgrd *d, struct qm_call *c,
			 struct qm_vm *unused)
{
	const char *name = arg_str(c, "property");
	const char *value = arg_str(c, "value");
	if (g_str_has_suffix(qm_call_method(c), "Reset"))
		value = "";
	g_autofree char *why = NULL;

	if (name == NULL || !qm_global_pref_known(name)) {
		qm_call_fail(c, QM_ERR_INVALID,
			     "dom0 has no property '%s' (default_template, "
			     "default_dispvm)", name ? name : "");
		return;
	}
	if (value == NULL ||
	    !check_reference(d, NULL,
			     strcmp(name, "default_dispvm") == 0
				     ? "default_dispvm"
				     : "default_template",
			     value, &why)) {
		qm_call_fail(c, QM_ERR_INVALID, "%s: %s", name,
			     why ? why : "no value given");
		return;
	}
	g_autofree char *old = g_strdup(qm_inventory_global(d->inv, name));
	qm_inventory_set_global(d->inv, name, value);
	if (!save_or_fail(d, c)) {
		qm_inventory_set_global(d->inv, name, old);
		return;
	}
	emit_property(d, "", name, value);
	qm_call_reply(c, NULL);
}

/* ---- tags ---- */

static void reply_tags(struct qm_call *c, struct qm_vm *vm)
{
	GVariantDict dict;
	g_variant_dict_init(&dict, NULL);
	g_variant_dict_insert_value(
		&dict, "tags",
		g_variant_new_strv((const char *const *)vm->tags->pdata,
				   vm->tags->len));
	qm_call_reply(c, g_variant_dict_end(&dict));
}

static void m_tags_list(struct qmgrd *d, struct qm_call *c, struct qm_vm *vm)
{
	reply_tags(c, vm);
}

static void m_tags_change(struct qmgrd *d, struct qm_call *c,
			  struct qm_vm *vm)
{
	const char *tag = arg_str(c, "tag");
	bool add = g_str_has_suffix(qm_call_method(c), "Add");
	if (tag == NULL || !pol_tag_is_valid(tag)) {
		qm_call_fail(c, QM_ERR_INVALID,
			     "invalid tag '%s' (letters, digits, '_' and '-', "
			     "at most %d characters)", tag ? tag : "",
			     POL_TAG_MAX);
		return;
	}
	if (!add && !qm_vm_has_tag(vm, tag)) {
		qm_call_fail(c, QM_ERR_NOT_FOUND,
			     "qube '%s' has no tag '%s' (qvm-tags %s lists "
			     "them)", vm->name, tag, vm->name);
		return;
	}
	bool changed = add ? qm_vm_tag_add(vm, tag) : qm_vm_tag_del(vm, tag);
	if (changed && !save_or_fail(d, c)) {
		if (add)
			qm_vm_tag_del(vm, tag);
		else
			qm_vm_tag_add(vm, tag);
		return;
	}
	if (changed) {
		GVariantDict dict;
		g_variant_dict_init(&dict, NULL);
		g_variant_dict_insert_value(
			&dict, "tags",
			g_variant_new_strv(
				(const char *const *)vm->tags->pdata,
				vm->tags->len));
		qm_admin_emit(d->admin, "vm-tags", vm->name,
			      g_variant_dict_end(&dict));
		/* the network policy may name qubes by tag */
		qm_net_changed(d);
	}
	qm_call_reply(c, NULL);
}

/* ---- creation, cloning, removal ---- */

struct create_op {
	struct qmgrd *d;
	struct qm_call *call;
	struct qm_vm *vm;     /* not in the inventory until the volumes exist */
};

static void create_fail(struct create_op *op, const char *code,
			const char *what, const char *why)
{
	qm_call_fail(op->call, code, "cannot create '%s': %s: %s",
		     op->vm->name, what, why);
	qm_net_ip_unreserve(op->d->inv, op->vm);
	qm_volumes_remove(op->d, op->vm->name);
	qm_vm_destroy(op->vm);
	g_free(op);
}

/* Last step: the domain is defined; the qube joins the inventory. */
static void create_defined(GError *error, void *data)
{
	struct create_op *op = data;
	struct qmgrd *d = op->d;

	if (error != NULL) {
		create_fail(op, QM_ERR_LIBVIRT, "libvirt", error->message);
		return;
	}
	if (qm_inventory_find(d->inv, op->vm->name) != NULL) {
		/* Raced with another create of the same name, which owns the
		 * volumes and the domain now. */
		qm_call_fail(op->call, QM_ERR_EXISTS,
			     "qube '%s' already exists", op->vm->name);
		qm_net_ip_unreserve(d->inv, op->vm);
		qm_vm_destroy(op->vm);
		g_free(op);
		return;
	}
	qm_inventory_add(d->inv, op->vm);
	if (!save_or_fail(d, op->call)) {
		qm_libvirt_undefine(d->lv, op->vm->name, NULL, NULL);
		qm_volumes_remove(d, op->vm->name);
		g_ptr_array_remove(d->inv->vms, op->vm); /* destroys it */
		g_free(op);
		return;
	}
	GVariantDict ev;
	g_variant_dict_init(&ev, NULL);
	g_variant_dict_insert(&ev, "class", "s",
			      pol_vm_class_name(op->vm->cls));
	qm_admin_emit(d->admin, "vm-added", op->vm->name,
		      g_variant_dict_end(&ev));
	qm_net_changed(d);
	GVariantDict dict;
	g_variant_dict_init(&dict, NULL);
	g_variant_dict_insert(&dict, "uuid", "s", op->vm->uuid);
	qm_call_reply(op->call, g_variant_dict_end(&dict));
	g_free(op);
}

/* The volumes exist: define the qube's libvirt domain. */
static void create_done(GError *error, void *data)
{
	struct create_op *op = data;
	g_autoptr(GError) err = NULL;

	if (error != NULL) {
		create_fail(op, QM_ERR_INTERNAL, "volumes", error->message);
		return;
	}
	g_autofree char *xml =
		qm_lifecycle_domain_xml(op->d, op->vm, NULL, &err);
	if (xml == NULL) {
		create_fail(op, QM_ERR_INVALID, "domain", err->message);
		return;
	}
	qm_libvirt_define(op->d->lv, xml, create_defined, op);
}

/* The root a new TemplateVM/StandaloneVM copies, or NULL. */
static struct qm_vm *root_source(struct qmgrd *d, struct qm_vm *vm,
				 const char *tmpl)
{
	if (vm->cls != POL_CLASS_TEMPLATEVM &&
	    vm->cls != POL_CLASS_STANDALONEVM)
		return NULL;
	const char *name = tmpl ? tmpl
				: qm_inventory_global(d->inv,
						      "default_template");
	return *name ? qm_inventory_find(d->inv, name) : NULL;
}

static void m_create(struct qmgrd *d, struct qm_call *c, struct qm_vm *u)
{
	const char *name = qm_call_vm(c);
	const char *cls_name = arg_str(c, "class");
	const char *tmpl = arg_str(c, "template");
	const char *label = arg_str(c, "label");
	const char *why = NULL;
	enum pol_vm_class cls = POL_CLASS_APPVM;

	if (!qm_vm_name_check(name, &why)) {
		qm_call_fail(c, QM_ERR_INVALID, "invalid qube name '%s': %s",
			     name, why);
		return;
	}
	if (qm_inventory_find(d->inv, name) != NULL) {
		qm_call_fail(c, QM_ERR_EXISTS, "qube '%s' already exists",
			     name);
		return;
	}
	if (d->inv->vms->len >= QM_INVENTORY_VMS_MAX) {
		qm_call_fail(c, QM_ERR_INVALID, "too many qubes");
		return;
	}
	if (cls_name != NULL && (!pol_vm_class_from_name(cls_name, &cls) ||
				 cls == POL_CLASS_ADMINVM)) {
		qm_call_fail(c, QM_ERR_INVALID,
			     "unknown class '%s' (AppVM, TemplateVM, "
			     "StandaloneVM, DispVM)", cls_name);
		return;
	}

	struct qm_vm *vm = qm_vm_create(name, cls, NULL);
	g_autofree char *refwhy = NULL;
	g_autofree char *eff = NULL;
	g_autoptr(GError) nerr = NULL;
	GVariant *props = NULL;
	if (label != NULL)
		qm_vm_prop_set(vm, "label", label);
	if (tmpl != NULL && (cls == POL_CLASS_APPVM || cls == POL_CLASS_DISPVM))
		qm_vm_prop_set(vm, "template", tmpl);
	if (g_variant_lookup(qm_call_args(c), "properties", "@a{ss}",
			     &props)) {
		GVariantIter it;
		const char *k, *v;
		g_variant_iter_init(&it, props);
		while (g_variant_iter_next(&it, "{&s&s}", &k, &v))
			qm_vm_prop_set(vm, k, v);
		g_variant_unref(props);
	}
	/* Check every property as qvm-prefs would. */
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, vm->props);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		const struct qm_prop_def *def = qm_prop_find(k);
		g_autofree char *norm = NULL;
		if (def == NULL || def->readonly) {
			qm_call_fail(c, QM_ERR_INVALID,
				     "unknown or read-only property '%s' "
				     "(qvm-prefs --help-properties lists "
				     "them)", (char *)k);
			goto fail;
		}
		norm = qm_prop_normalise(def, v, &why);
		if (norm == NULL) {
			qm_call_fail(c, QM_ERR_INVALID,
				     "%s: invalid value '%s': %s", (char *)k,
				     (char *)v, why);
			goto fail;
		}
		g_hash_table_iter_replace(&it, g_steal_pointer(&norm));
	}
	g_hash_table_iter_init(&it, vm->props);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		const struct qm_prop_def *def = qm_prop_find(k);
		if (def->type == QM_PROP_VMREF &&
		    !check_reference(d, vm, k, v, &refwhy)) {
			qm_call_fail(c, QM_ERR_INVALID, "%s: %s", (char *)k,
				     refwhy);
			goto fail;
		}
	}
	eff = qm_inventory_prop(d->inv, vm, "template");
	if ((cls == POL_CLASS_APPVM || cls == POL_CLASS_DISPVM) &&
	    !check_reference(d, vm, "template", eff, &refwhy)) {
		qm_call_fail(c, QM_ERR_INVALID, "template: %s%s", refwhy,
			     *eff ? "" : " (give --template, or set "
					 "qvm-prefs dom0 default_template)");
		goto fail;
	}
	/* A TemplateVM named like a template in the store, without
	 * --template, is that template's (qvm-template install makes it so):
	 * it boots the store's current revision and has no root of its own. */
	bool from_store = false;
	if (cls == POL_CLASS_TEMPLATEVM && tmpl == NULL) {
		g_autofree char *rev = NULL;
		g_autoptr(GError) serr = NULL;
		g_autoptr(GKeyFile) kf = qm_store_current(d, name, &rev,
							  &serr);
		if (serr != NULL) {
			qm_call_fail(c, QM_ERR_INVALID, "template store: %s",
				     serr->message);
			goto fail;
		}
		from_store = kf != NULL;
		if (from_store) {
			/* its sizing, unless the call gave one */
			qm_template_sizing_apply(vm, kf);
			if (!g_hash_table_contains(vm->props, "label"))
				qm_vm_prop_set(vm, "label", "black");
		}
	}
	struct qm_vm *src = from_store ? NULL : root_source(d, vm, tmpl);
	if (!from_store &&
	    (cls == POL_CLASS_TEMPLATEVM || cls == POL_CLASS_STANDALONEVM) &&
	    (src == NULL || (src->cls != POL_CLASS_TEMPLATEVM &&
			     src->cls != POL_CLASS_STANDALONEVM))) {
		qm_call_fail(c, QM_ERR_INVALID,
			     "a new %s copies the root of a TemplateVM: give "
			     "--template%s", cls_name,
			     cls == POL_CLASS_TEMPLATEVM
				     ? ", or install a template of this name "
				       "(qvm-template install)"
				     : "");
		goto fail;
	}
	if (src != NULL && !qm_vm_is_down(src)) {
		qm_call_fail(c, QM_ERR_STATE,
			     "'%s' is running; its root can be copied only "
			     "when it is halted", src->name);
		goto fail;
	}

	/* its address, reserved until it joins the inventory */
	if (!qm_net_ip_assign(d->inv, vm, NULL, &nerr)) {
		qm_call_fail(c, QM_ERR_INVALID, "%s", nerr->message);
		goto fail;
	}

	struct create_op *op = g_new0(struct create_op, 1);
	op->d = d;
	op->call = c;
	op->vm = vm;
	qm_volumes_create(d, vm, src, NULL, create_done, op);
	return;
fail:
	qm_vm_destroy(vm);
}

static void m_clone(struct qmgrd *d, struct qm_call *c, struct qm_vm *src)
{
	const char *name = arg_str(c, "name");
	const char *why = NULL;

	if (name == NULL || !qm_vm_name_check(name, &why)) {
		qm_call_fail(c, QM_ERR_INVALID, "invalid qube name '%s': %s",
			     name ? name : "", why ? why : "missing");
		return;
	}
	if (qm_inventory_find(d->inv, name) != NULL) {
		qm_call_fail(c, QM_ERR_EXISTS, "qube '%s' already exists",
			     name);
		return;
	}
	if (!qm_vm_is_down(src)) {
		qm_call_fail(c, QM_ERR_STATE,
			     "'%s' is %s; shut it down before cloning "
			     "(qvm-shutdown --wait %s)", src->name,
			     qm_vm_state_name(src->state), src->name);
		return;
	}
	struct qm_vm *vm = qm_vm_create(name, src->cls, NULL);
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, src->props);
	while (g_hash_table_iter_next(&it, &k, &v))
		qm_vm_prop_set(vm, k, v);
	for (guint i = 0; i < src->tags->len; i++)
		qm_vm_tag_add(vm, g_ptr_array_index(src->tags, i));
	/* the same netvm, an address of its own */
	qm_vm_prop_reset(vm, "ip");
	g_autoptr(GError) nerr = NULL;
	if (!qm_net_ip_assign(d->inv, vm, NULL, &nerr)) {
		qm_call_fail(c, QM_ERR_INVALID, "%s", nerr->message);
		qm_vm_destroy(vm);
		return;
	}

	struct create_op *op = g_new0(struct create_op, 1);
	op->d = d;
	op->call = c;
	op->vm = vm;
	bool own_root = src->cls == POL_CLASS_TEMPLATEVM ||
			src->cls == POL_CLASS_STANDALONEVM;
	qm_volumes_create(d, vm, own_root ? src : NULL, src, create_done, op);
}

struct remove_op {
	struct qmgrd *d;
	struct qm_call *call;
	char *name;
};

static void remove_undefined(GError *error, void *data)
{
	struct remove_op *op = data;
	if (error != NULL)
		/* Gone from the inventory already; the domain is collected at
		 * the next start.  Say so rather than fail the removal. */
		g_warning("'%s' removed, but its domain stays until qmgrd "
			  "restarts: %s", op->name, error->message);
	qm_volumes_remove(op->d, op->name);
	qm_admin_emit(op->d->admin, "vm-removed", op->name, NULL);
	qm_call_reply(op->call, NULL);
	g_free(op->name);
	g_free(op);
}

static void m_remove(struct qmgrd *d, struct qm_call *c, struct qm_vm *vm)
{
	if (!qm_vm_is_down(vm)) {
		qm_call_fail(c, QM_ERR_STATE,
			     "'%s' is %s; shut it down first (qvm-shutdown "
			     "--wait %s)", vm->name,
			     qm_vm_state_name(vm->state), vm->name);
		return;
	}
	g_autofree char *users = qm_inventory_users_of(d->inv, vm);
	if (users != NULL) {
		qm_call_fail(c, QM_ERR_IN_USE,
			     "'%s' is still used by: %s (change their "
			     "template/default_dispvm/netvm first)", vm->name,
			     users);
		return;
	}
	struct remove_op *op = g_new0(struct remove_op, 1);
	op->d = d;
	op->call = c;
	op->name = g_strdup(vm->name);
	/* Take it out of the inventory first: once that is on disk, a crash
	 * leaves only an orphan domain and volume directory, which the next
	 * qmgrd start collects. */
	qm_inventory_steal(d->inv, vm);
	g_autoptr(GError) err = NULL;
	if (!qmgrd_save(d, &err)) {
		qm_inventory_add(d->inv, vm);
		qm_call_fail(c, QM_ERR_INTERNAL,
			     "cannot save the inventory: %s", err->message);
		g_free(op->name);
		g_free(op);
		return;
	}
	qm_vm_destroy(vm);
	qm_net_changed(d);
	qm_libvirt_undefine(d->lv, op->name, remove_undefined, op);
}

/* ---- lifecycle (lifecycle.c does the work) ---- */

static void life_done(GError *error, const char *code, void *data)
{
	struct qm_call *c = data;
	if (error != NULL)
		qm_call_fail(c, code ? code : QM_ERR_INTERNAL, "%s",
			     error->message);
	else
		qm_call_reply(c, NULL);
}

static void m_start(struct qmgrd *d, struct qm_call *c, struct qm_vm *vm)
{
	qm_lifecycle_start(d, vm, life_done, c);
}

static void m_shutdown(struct qmgrd *d, struct qm_call *c, struct qm_vm *vm)
{
	qm_lifecycle_shutdown(d, vm, arg_bool(c, "wait", false),
			      arg_uint(c, "timeout", 60), life_done, c);
}

static void m_kill(struct qmgrd *d, struct qm_call *c, struct qm_vm *vm)
{
	qm_lifecycle_kill(d, vm, life_done, c);
}

/* ---- commands (run.c relays their streams) ---- */

struct run_op {
	struct qmgrd *d;
	struct qm_call *call;
	char *vm;
};

static void run_now(struct qmgrd *d, struct qm_call *c, const char *vmname)
{
	const char *command = arg_str(c, "command");
	const char *service = arg_str(c, "service");
	const char *user = arg_str(c, "user");
	bool pass_io = arg_bool(c, "pass_io", false);
	g_autoptr(GError) err = NULL;
	guint32 id;

	if (service != NULL) {
		/* SERVICE[+ARG], checked by m_run */
		const char *plus = strchr(service, '+');
		g_autofree char *name = plus ? g_strndup(service, (gsize)(plus -
								       service))
					     : g_strdup(service);
		id = qm_run_open_service(d, vmname, user ? user : "user", name,
					 plus ? plus + 1 : "",
					 pass_io ? qm_call_peer(c) : NULL,
					 &err);
	} else {
		id = qm_run_open(d, vmname, user ? user : "user", command,
				 pass_io ? qm_call_peer(c) : NULL, &err);
	}
	if (err != NULL) {
		qm_call_fail(c, QM_ERR_STATE, "%s", err->message);
		/* a disposable made for this command is not needed */
		qm_disposable_destroy(d, vmname);
		return;
	}
	GVariantDict dict;
	g_variant_dict_init(&dict, NULL);
	g_variant_dict_insert(&dict, "stream", "u", id);
	g_variant_dict_insert(&dict, "vm", "s", vmname);
	qm_call_reply(c, g_variant_dict_end(&dict));
}

static void run_started(GError *error, const char *code, void *data)
{
	struct run_op *op = data;
	if (error != NULL) {
		qm_call_fail(op->call, code ? code : QM_ERR_INTERNAL,
			     "cannot start '%s' to run the command: %s",
			     op->vm, error->message);
		qm_disposable_destroy(op->d, op->vm);
	} else {
		run_now(op->d, op->call, op->vm);
	}
	g_free(op->vm);
	g_free(op);
}

static void run_in(struct qmgrd *d, struct qm_call *c, struct qm_vm *vm)
{
	if (vm->state == QM_VM_RUNNING) {
		run_now(d, c, vm->name);
		return;
	}
	struct run_op *op = g_new0(struct run_op, 1);
	op->d = d;
	op->call = c;
	op->vm = g_strdup(vm->name);
	qm_lifecycle_start(d, vm, run_started, op);
}

static void disposable_made(GError *error, const char *code,
			    const char *name, void *data)
{
	struct run_op *op = data;
	struct qm_vm *vm = name ? qm_inventory_find(op->d->inv, name) : NULL;
	if (error != NULL || vm == NULL)
		qm_call_fail(op->call, code ? code : QM_ERR_INTERNAL, "%s",
			     error ? error->message : "disposable vanished");
	else
		run_in(op->d, op->call, vm);
	g_free(op);
}

static void m_run(struct qmgrd *d, struct qm_call *c, struct qm_vm *unused)
{
	const char *command = arg_str(c, "command");
	const char *service = arg_str(c, "service");
	const char *user = arg_str(c, "user");
	const char *name = qm_call_vm(c);

	if (service != NULL) {
		/* qvm-run --service: SERVICE[+ARGUMENT], as the policy
		 * spells them (dom0's calls are not subject to it). */
		const char *plus = strchr(service, '+');
		g_autofree char *sname = plus ? g_strndup(service, (gsize)(
							plus - service))
					      : g_strdup(service);
		if (command != NULL || strlen(service) > QM_SERVICE_MAX ||
		    !pol_service_is_valid(sname) ||
		    (plus && !pol_argument_is_valid(plus))) {
			qm_call_fail(c, QM_ERR_INVALID,
				     "'%s' is not SERVICE[+ARGUMENT] (letters, "
				     "digits, '.', '_', '-'; at most %d "
				     "bytes)", service, QM_SERVICE_MAX);
			return;
		}
	} else if (command == NULL || *command == '\0' ||
	    strlen(command) > QM_COMMAND_MAX) {
		qm_call_fail(c, QM_ERR_INVALID,
			     "a command of 1 to %d bytes is needed",
			     QM_COMMAND_MAX);
		return;
	}
	if (user != NULL && !pol_tag_is_valid(user)) {
		/* a user name: letters, digits, '_' and '-' */
		qm_call_fail(c, QM_ERR_INVALID, "invalid user name '%s'",
			     user);
		return;
	}
	/* "@dispvm" or "@dispvm:TEMPLATE": a new disposable, for this
	 * command only. */
	if (strcmp(name, "@dispvm") == 0 || g_str_has_prefix(name, "@dispvm:")) {
		struct run_op *op = g_new0(struct run_op, 1);
		op->d = d;
		op->call = c;
		qm_disposable_create(d, name[7] == ':' ? name + 8 : NULL,
				     disposable_made, op);
		return;
	}
	struct qm_vm *vm = find_or_fail(d, c);
	if (vm == NULL)
		return;
	if (vm->state != QM_VM_RUNNING && !arg_bool(c, "autostart", true)) {
		qm_call_fail(c, QM_ERR_STATE,
			     "'%s' is %s and autostart was not asked for "
			     "(qvm-start %s first)", vm->name,
			     qm_vm_state_name(vm->state), vm->name);
		return;
	}
	run_in(d, c, vm);
}

static void m_subscribe(struct qmgrd *d, struct qm_call *c, struct qm_vm *u)
{
	qm_call_subscribe(c);
}

/* ---- the ask prompt (prompt.c) ---- */

static void m_prompt_register(struct qmgrd *d, struct qm_call *c,
			      struct qm_vm *u)
{
	qm_prompt_register(d, c);
}

static void m_prompt_answer(struct qmgrd *d, struct qm_call *c,
			    struct qm_vm *u)
{
	qm_prompt_answer(d, c);
}

/* ---- the GUI's clipboard (clipboard.c) ---- */

static void m_clipboard_paste(struct qmgrd *d, struct qm_call *c,
			      struct qm_vm *u)
{
	qm_clipboard_paste(d, c);
}

struct method {
	const char *name;
	bool needs_vm;
	method_fn fn;
};

static const struct method methods[] = {
	{ "vm.List", false, m_list },
	{ "vm.Create", false, m_create },
	{ "vm.Clone", true, m_clone },
	{ "vm.Remove", true, m_remove },
	{ "vm.Start", true, m_start },
	{ "vm.Shutdown", true, m_shutdown },
	{ "vm.Kill", true, m_kill },
	{ "vm.prefs.List", true, m_prefs_list },
	{ "vm.prefs.Get", true, m_prefs_get },
	{ "vm.prefs.Set", true, m_prefs_set },
	{ "vm.prefs.Reset", true, m_prefs_reset },
	{ "global.prefs.List", false, m_global_list },
	{ "global.prefs.Get", false, m_global_get },
	{ "global.prefs.Set", false, m_global_set },
	{ "global.prefs.Reset", false, m_global_set },
	{ "vm.tags.List", true, m_tags_list },
	{ "vm.tags.Add", true, m_tags_change },
	{ "vm.tags.Del", true, m_tags_change },
	{ "events.Subscribe", false, m_subscribe },
	{ "vm.Run", false, m_run },
	{ "prompt.Register", false, m_prompt_register },
	{ "prompt.Answer", false, m_prompt_answer },
	{ "gui.ClipboardPaste", false, m_clipboard_paste },
};

void qm_admin_dispatch(struct qmgrd *d, struct qm_call *c)
{
	for (size_t i = 0; i < G_N_ELEMENTS(methods); i++) {
		if (strcmp(methods[i].name, qm_call_method(c)) != 0)
			continue;
		struct qm_vm *vm = NULL;
		if (methods[i].needs_vm && (vm = find_or_fail(d, c)) == NULL)
			return;
		methods[i].fn(d, c, vm);
		return;
	}
	g_autofree char *m = g_strescape(qm_call_method(c), NULL);
	qm_call_fail(c, QM_ERR_INVALID, "unknown method '%s'", m);
}
