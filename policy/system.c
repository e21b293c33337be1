/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The description of the VMs that decisions are taken against. */
#include "internal.h"

#include <string.h>

static void vm_free(struct pol_vm *vm)
{
	if (vm == NULL)
		return;
	g_free(vm->name);
	g_free(vm->dispvm_target);
	g_strfreev(vm->tags);
	g_free(vm->default_dispvm);
	g_free(vm->template_name);
	g_free(vm);
}

static struct pol_vm *make_adminvm(const char *name)
{
	struct pol_vm *vm = g_new0(struct pol_vm, 1);
	vm->name = g_strdup(name);
	vm->cls = POL_CLASS_ADMINVM;
	memcpy(vm->uuid, POL_ADMINVM_UUID, sizeof(vm->uuid));
	vm->tags = g_new0(char *, 1);
	vm->running = true;
	return vm;
}

static void index_vm(struct pol_system *sys, struct pol_vm *vm)
{
	vm->target = vm->cls == POL_CLASS_ADMINVM ? "dom0" : vm->name;
	g_free(vm->dispvm_target);
	vm->dispvm_target = g_strconcat("@dispvm:", vm->name, NULL);
	/* Indexes follow the array: replacing the admin VM shifts them. */
	for (guint i = 0; i < sys->vms->len; i++)
		((struct pol_vm *)g_ptr_array_index(sys->vms, i))->index = i;
	g_hash_table_insert(sys->by_name, vm->name, vm);
	if (vm->uuid[0] != '\0')
		g_hash_table_insert(sys->by_uuid, vm->uuid, vm);
}

struct pol_system *pol_system_create(void)
{
	struct pol_system *sys = g_new0(struct pol_system, 1);
	sys->vms = g_ptr_array_new_with_free_func((GDestroyNotify)vm_free);
	sys->by_name = g_hash_table_new(g_str_hash, g_str_equal);
	sys->by_uuid = g_hash_table_new(g_str_hash, g_str_equal);
	sys->adminvm = make_adminvm("dom0");
	g_ptr_array_add(sys->vms, sys->adminvm);
	index_vm(sys, sys->adminvm);
	return sys;
}

void pol_system_destroy(struct pol_system *sys)
{
	if (sys == NULL)
		return;
	g_hash_table_destroy(sys->by_name);
	g_hash_table_destroy(sys->by_uuid);
	g_ptr_array_free(sys->vms, TRUE);
	g_free(sys);
}

size_t pol_system_vm_count(const struct pol_system *sys)
{
	return sys->vms->len;
}

const struct pol_vm *sys_find_name(const struct pol_system *sys,
				   const char *name)
{
	return g_hash_table_lookup(sys->by_name, name);
}

const struct pol_vm *sys_find_uuid(const struct pol_system *sys,
				   const char *uuid)
{
	return g_hash_table_lookup(sys->by_uuid, uuid);
}

bool vm_has_tag(const struct pol_vm *vm, const char *tag)
{
	for (char **t = vm->tags; *t != NULL; t++)
		if (strcmp(*t, tag) == 0)
			return true;
	return false;
}

#define SYS_ERROR g_quark_from_static_string("pol-system-error")

bool pol_system_add_vm(struct pol_system *sys, const struct pol_vm_info *info,
		       GError **error)
{
	char uuid[37] = "";

	if (info->name == NULL || !name_is_valid(info->name)) {
		g_set_error(error, SYS_ERROR, 1,
			    "invalid qube name '%s' (a name starts with a "
			    "letter, has only letters, digits, '_', '.', '-' "
			    "and at most %d characters)",
			    info->name ? info->name : "", POL_VM_NAME_MAX);
		return false;
	}
	if ((unsigned)info->cls >= POL_CLASS_COUNT) {
		g_set_error(error, SYS_ERROR, 1, "qube '%s': invalid class",
			    info->name);
		return false;
	}
	if (info->uuid != NULL && info->uuid[0] != '\0' &&
	    !uuid_canonical(info->uuid, uuid)) {
		g_set_error(error, SYS_ERROR, 1,
			    "qube '%s': invalid uuid '%s' (expected 8-4-4-4-12 "
			    "hexadecimal digits)", info->name, info->uuid);
		return false;
	}
	if (info->cls == POL_CLASS_ADMINVM) {
		if (uuid[0] != '\0' && strcmp(uuid, POL_ADMINVM_UUID) != 0) {
			g_set_error(error, SYS_ERROR, 1,
				    "qube '%s': the admin VM's uuid is always "
				    POL_ADMINVM_UUID, info->name);
			return false;
		}
		memcpy(uuid, POL_ADMINVM_UUID, sizeof(uuid));
	} else if (strcmp(info->name, "dom0") == 0) {
		g_set_error(error, SYS_ERROR, 1,
			    "qube 'dom0': the name dom0 is reserved for the "
			    "admin VM (class AdminVM)");
		return false;
	} else if (strcmp(uuid, POL_ADMINVM_UUID) == 0) {
		g_set_error(error, SYS_ERROR, 1,
			    "qube '%s': the nil uuid belongs to the admin VM",
			    info->name);
		return false;
	}
	if (info->tags != NULL) {
		for (const char *const *t = info->tags; *t != NULL; t++) {
			if (!tag_is_valid(*t)) {
				g_set_error(error, SYS_ERROR, 1,
					    "qube '%s': invalid tag '%s' (a tag "
					    "has only letters, digits, '_' and "
					    "'-')", info->name, *t);
				return false;
			}
		}
	}

	/* The admin VM replaces the implicit dom0; everyone else is new. */
	struct pol_vm *old = g_hash_table_lookup(sys->by_name, info->name);
	bool replacing_admin = info->cls == POL_CLASS_ADMINVM;
	if (old != NULL && !(replacing_admin && old == sys->adminvm &&
			     !sys->admin_explicit)) {
		g_set_error(error, SYS_ERROR, 1, "qube '%s' is defined twice",
			    info->name);
		return false;
	}
	if (uuid[0] != '\0' && !replacing_admin &&
	    g_hash_table_contains(sys->by_uuid, uuid)) {
		g_set_error(error, SYS_ERROR, 1,
			    "qube '%s': uuid %s is already used by another qube",
			    info->name, uuid);
		return false;
	}
	if (replacing_admin && sys->admin_explicit) {
		g_set_error(error, SYS_ERROR, 1,
			    "qube '%s': there can be only one AdminVM",
			    info->name);
		return false;
	}

	struct pol_vm *vm = g_new0(struct pol_vm, 1);
	vm->name = g_strdup(info->name);
	memcpy(vm->uuid, uuid, sizeof(uuid));
	vm->cls = info->cls;
	vm->tags = info->tags ? g_strdupv((char **)info->tags)
			      : g_new0(char *, 1);
	if (info->default_dispvm != NULL && info->default_dispvm[0] != '\0')
		vm->default_dispvm = g_strdup(info->default_dispvm);
	if (info->template_name != NULL && info->template_name[0] != '\0')
		vm->template_name = g_strdup(info->template_name);
	vm->template_for_dispvms = info->template_for_dispvms;
	vm->running = info->running || replacing_admin;
	vm->internal = info->internal;

	if (replacing_admin) {
		struct pol_vm *prev = sys->adminvm;
		g_hash_table_remove(sys->by_name, prev->name);
		g_hash_table_remove(sys->by_uuid, prev->uuid);
		g_ptr_array_remove(sys->vms, prev);
		sys->adminvm = vm;
		sys->admin_explicit = true;
	}
	g_ptr_array_add(sys->vms, vm);
	index_vm(sys, vm);
	return true;
}

bool pol_system_check(struct pol_system *sys, GError **error)
{
	for (guint i = 0; i < sys->vms->len; i++) {
		const struct pol_vm *vm = g_ptr_array_index(sys->vms, i);
		if (vm->default_dispvm != NULL &&
		    sys_find_name(sys, vm->default_dispvm) == NULL) {
			g_set_error(error, SYS_ERROR, 1,
				    "qube '%s': default_dispvm '%s' is not a "
				    "known qube", vm->name, vm->default_dispvm);
			return false;
		}
		if (vm->template_name != NULL &&
		    sys_find_name(sys, vm->template_name) == NULL) {
			g_set_error(error, SYS_ERROR, 1,
				    "qube '%s': template '%s' is not a known "
				    "qube", vm->name, vm->template_name);
			return false;
		}
	}
	return true;
}
