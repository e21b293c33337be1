/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "disposable.h"

#include <gio/gio.h>
#include <string.h>

#include "admin.h"
#include "dispvm-pool.h"
#include "libvirt-conn.h"
#include "lifecycle.h"
#include "net.h"
#include "volumes.h"

#define DISP_ERROR g_quark_from_static_string("qm-disposable-error")

bool qm_vm_is_disposable(struct qmgrd *d, const struct qm_vm *vm)
{
	g_autofree char *a = qm_inventory_prop(d->inv, vm, "auto_cleanup");
	return vm->cls == POL_CLASS_DISPVM && a != NULL &&
	       strcmp(a, "True") == 0;
}

struct create_op {
	struct qmgrd *d;
	struct qm_vm *vm;
	qm_disposable_fn done;
	void *data;
};

static void fail(struct create_op *op, const char *code, const char *fmt,
		 ...) G_GNUC_PRINTF(3, 4);
static void fail(struct create_op *op, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autoptr(GError) e = g_error_new_valist(DISP_ERROR, 1, fmt, ap);
	va_end(ap);
	if (op->vm != NULL) {
		qm_net_ip_unreserve(op->d->inv, op->vm);
		qm_volumes_remove(op->d, op->vm->name);
		qm_vm_destroy(op->vm);
	}
	op->done(e, code, NULL, op->data);
	g_free(op);
}

static void on_defined(GError *error, void *data)
{
	struct create_op *op = data;
	struct qmgrd *d = op->d;
	g_autoptr(GError) err = NULL;

	if (error != NULL) {
		fail(op, QM_ERR_LIBVIRT, "cannot define the disposable: %s",
		     error->message);
		return;
	}
	qm_inventory_add(d->inv, op->vm);
	if (!qmgrd_save(d, &err)) {
		qm_libvirt_undefine(d->lv, op->vm->name, NULL, NULL);
		g_ptr_array_remove(d->inv->vms, op->vm);
		op->vm = NULL;
		fail(op, QM_ERR_INTERNAL, "cannot save the inventory: %s",
		     err->message);
		return;
	}
	GVariantDict ev;
	g_variant_dict_init(&ev, NULL);
	g_variant_dict_insert(&ev, "class", "s", "DispVM");
	qm_admin_emit(d->admin, "vm-added", op->vm->name,
		      g_variant_dict_end(&ev));
	qm_net_changed(d);
	op->done(NULL, NULL, op->vm->name, op->data);
	g_free(op);
}

static void on_volumes(GError *error, void *data)
{
	struct create_op *op = data;
	g_autoptr(GError) err = NULL;

	if (error != NULL) {
		fail(op, QM_ERR_INTERNAL, "cannot make the disposable's "
		     "volumes: %s", error->message);
		return;
	}
	g_autofree char *xml = qm_lifecycle_domain_xml(op->d, op->vm, NULL,
						       &err);
	if (xml == NULL) {
		fail(op, QM_ERR_INVALID, "%s", err->message);
		return;
	}
	qm_libvirt_define(op->d->lv, xml, on_defined, op);
}

static void create(struct qmgrd *d, const char *template_name, bool preload,
		   qm_disposable_fn done, void *data)
{
	struct create_op *op = g_new0(struct create_op, 1);
	op->d = d;
	op->done = done;
	op->data = data;

	const char *tname = template_name && *template_name
				    ? template_name
				    : qm_inventory_global(d->inv,
							  "default_dispvm");
	if (*tname == '\0') {
		fail(op, QM_ERR_INVALID, "no disposable template given and no "
		     "default (qvm-prefs dom0 default_dispvm NAME)");
		return;
	}
	struct qm_vm *t = qm_inventory_find(d->inv, tname);
	g_autofree char *tfd = t ? qm_inventory_prop(d->inv, t,
						     "template_for_dispvms")
				 : NULL;
	if (t == NULL || strcmp(tfd, "True") != 0) {
		fail(op, t ? QM_ERR_INVALID : QM_ERR_NOT_FOUND,
		     "'%s' is not a disposable template (qvm-prefs %s "
		     "template_for_dispvms True)", tname, tname);
		return;
	}
	if (!qm_vm_is_down(t)) {
		/* Its private volume is changing: an overlay of it now would
		 * see a half-written filesystem. */
		fail(op, QM_ERR_STATE, "disposable template '%s' is running; "
		     "shut it down first", tname);
		return;
	}
	/* A preloaded one, when its pool has one ready, saves the boot. */
	if (!preload && qm_dispvm_pool_take(d, t, done, data)) {
		g_free(op);
		return;
	}
	/* dispNNNN, as Qubes names them */
	g_autofree char *name = NULL;
	for (int tries = 0; tries < 100; tries++) {
		g_free(name);
		name = g_strdup_printf("disp%d",
				       g_random_int_range(1, 10000));
		if (qm_inventory_find(d->inv, name) == NULL)
			break;
	}
	if (qm_inventory_find(d->inv, name) != NULL) {
		fail(op, QM_ERR_INTERNAL, "no free disposable name");
		return;
	}
	op->vm = qm_vm_create(name, POL_CLASS_DISPVM, NULL);
	qm_vm_prop_set(op->vm, "template", t->name);
	qm_vm_prop_set(op->vm, "auto_cleanup", "True");
	g_autofree char *label = qm_inventory_prop(d->inv, t, "label");
	qm_vm_prop_set(op->vm, "label", label);
	op->vm->preload = preload;
	/* its template's netvm (the default), an address of its own */
	g_autoptr(GError) err = NULL;
	if (!qm_net_ip_assign(d->inv, op->vm, NULL, &err)) {
		fail(op, QM_ERR_INVALID, "%s", err->message);
		return;
	}
	qm_volumes_create_disposable(d, op->vm, t, on_volumes, op);
}

void qm_disposable_create(struct qmgrd *d, const char *template_name,
			  qm_disposable_fn done, void *data)
{
	create(d, template_name, false, done, data);
}

void qm_disposable_create_preload(struct qmgrd *d, const char *template_name,
				  qm_disposable_fn done, void *data)
{
	create(d, template_name, true, done, data);
}

/* ---- destruction ---- */

static void remove_now(struct qmgrd *d, const char *name)
{
	struct qm_vm *vm = qm_inventory_find(d->inv, name);
	if (vm == NULL)
		return;
	qm_inventory_steal(d->inv, vm);
	g_autoptr(GError) err = NULL;
	if (!qmgrd_save(d, &err)) {
		/* Stays in the inventory, marked: the next start retries. */
		qm_inventory_add(d->inv, vm);
		g_warning("cannot remove disposable '%s': %s", name,
			  err->message);
		return;
	}
	qm_vm_destroy(vm);
	qm_libvirt_undefine(d->lv, name, NULL, NULL);
	qm_volumes_remove(d, name);
	qm_admin_emit(d->admin, "vm-removed", name, NULL);
	qm_net_changed(d);
}

static void on_killed(GError *error, const char *code, void *data)
{
	struct qmgrd **dp = data;
	char *name = (char *)(dp + 1);
	if (error != NULL)
		g_warning("cannot stop disposable '%s': %s", name,
			  error->message);
	remove_now(*dp, name);
	g_free(dp);
}

void qm_disposable_destroy(struct qmgrd *d, const char *name)
{
	struct qm_vm *vm = qm_inventory_find(d->inv, name);
	if (vm == NULL || !qm_vm_is_disposable(d, vm))
		return;
	if (qm_vm_is_down(vm)) {
		remove_now(d, name);
		return;
	}
	/* The qmgrd pointer and the name in one block for the callback. */
	size_t len = strlen(name) + 1;
	struct qmgrd **dp = g_malloc(sizeof(*dp) + len);
	*dp = d;
	memcpy(dp + 1, name, len);
	qm_lifecycle_kill(d, vm, on_killed, dp);
}

void qm_disposable_cleanup(struct qmgrd *d)
{
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < d->inv->vms->len; i++) {
		struct qm_vm *vm = g_ptr_array_index(d->inv->vms, i);
		if (qm_vm_is_disposable(d, vm))
			g_ptr_array_add(names, g_strdup(vm->name));
	}
	for (guint i = 0; i < names->len; i++) {
		g_message("destroying disposable '%s' left by an earlier qmgrd",
			  (char *)g_ptr_array_index(names, i));
		qm_disposable_destroy(d, g_ptr_array_index(names, i));
	}
}
