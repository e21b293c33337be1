/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "vm.h"

#include <arpa/inet.h>
#include <string.h>

const char *qm_vm_state_name(enum qm_vm_state state)
{
	switch (state) {
	case QM_VM_HALTED:
		return "Halted";
	case QM_VM_TRANSIENT:
		return "Transient";
	case QM_VM_RUNNING:
		return "Running";
	case QM_VM_HALTING:
		return "Halting";
	case QM_VM_CRASHED:
		return "Crashed";
	case QM_VM_PAUSED:
		return "Paused";
	}
	return "NA";
}

/* Words that mean something else in qvm-* arguments and policies. */
static const char *const reserved[] = {
	"none", "default", "dom0", "Domain-0", "all", "any", "host",
	"sys-net", "qmgr", "@adminvm",
};

bool qm_vm_name_check(const char *name, const char **why)
{
	size_t len = strlen(name);

	if (len == 0) {
		*why = "the name is empty";
		return false;
	}
	if (len > POL_VM_NAME_MAX) {
		*why = "the name is longer than 31 characters";
		return false;
	}
	if (!g_ascii_isalpha(name[0])) {
		*why = "the name must start with a letter";
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!g_ascii_isalnum(c) && c != '_' && c != '.' && c != '-') {
			*why = "the name may contain only letters, digits, "
			       "'_', '.' and '-'";
			return false;
		}
	}
	if (g_ascii_strcasecmp(name, "sys-net") == 0) {
		*why = "the name is reserved: sys-net is built in, it stands "
		       "for the host's network uplink (the default netvm)";
		return false;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(reserved); i++) {
		if (g_ascii_strcasecmp(name, reserved[i]) == 0) {
			*why = "the name is reserved";
			return false;
		}
	}
	if (g_str_has_suffix(name, "-dm")) {
		*why = "names ending in -dm are reserved (as in Qubes)";
		return false;
	}
	return true;
}

struct qm_vm *qm_vm_create(const char *name, enum pol_vm_class cls,
			   const char *uuid)
{
	struct qm_vm *vm = g_new0(struct qm_vm, 1);
	vm->name = g_strdup(name);
	vm->cls = cls;
	if (uuid != NULL) {
		g_strlcpy(vm->uuid, uuid, sizeof(vm->uuid));
	} else {
		g_autofree char *u = g_uuid_string_random();
		g_strlcpy(vm->uuid, u, sizeof(vm->uuid));
	}
	vm->props = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					  g_free);
	vm->tags = g_ptr_array_new_with_free_func(g_free);
	vm->state = QM_VM_HALTED;
	return vm;
}

void qm_vm_destroy(struct qm_vm *vm)
{
	if (vm == NULL)
		return;
	g_free(vm->name);
	g_hash_table_destroy(vm->props);
	g_ptr_array_free(vm->tags, TRUE);
	g_free(vm->state_detail);
	g_free(vm);
}

static const struct qm_prop_def prop_defs[] = {
	{ "name", QM_PROP_STRING, true, "the qube's name" },
	{ "uuid", QM_PROP_STRING, true, "unique identifier" },
	{ "klass", QM_PROP_STRING, true, "AppVM, TemplateVM, ..." },
	{ "label", QM_PROP_LABEL, false, "colour of the window borders" },
	{ "template", QM_PROP_VMREF, false, "the TemplateVM whose root it boots" },
	{ "memory", QM_PROP_UINT, false, "memory in MiB" },
	{ "vcpus", QM_PROP_UINT, false, "number of virtual CPUs" },
	{ "default_dispvm", QM_PROP_VMREF, false,
	  "template of disposables started from this qube (empty: none)" },
	{ "template_for_dispvms", QM_PROP_BOOL, false,
	  "disposables may be based on this qube" },
	{ "autostart", QM_PROP_BOOL, false, "start when qmgrd starts" },
	{ "auto_cleanup", QM_PROP_BOOL, false,
	  "a disposable: destroyed when its command ends" },
	{ "kernelopts", QM_PROP_STRING, false,
	  "extra kernel command line options" },
	{ "preload_dispvm", QM_PROP_UINT, false,
	  "disposables of this disposable template kept booted and paused, "
	  "ready for qvm-run --dispvm (0 to 16)" },
	{ "is_preload", QM_PROP_BOOL, true,
	  "a preloaded disposable waiting in its template's pool" },
	{ "netvm", QM_PROP_VMREF, false,
	  "where its network comes from: sys-net (the host's uplink), a "
	  "qube with provides_network, or none (no network device)" },
	{ "provides_network", QM_PROP_BOOL, false,
	  "other qubes may have this qube as netvm (routing through a qube "
	  "is not implemented yet)" },
	{ "ip", QM_PROP_IPV4, true,
	  "its IPv4 address, given by qmgrd from --ip-range (empty: no "
	  "network)", true },
	{ "mac", QM_PROP_STRING, true, "MAC address of its network device" },
	{ "gateway", QM_PROP_STRING, true,
	  "its default gateway (the host side of its tap device)" },
	{ "dns", QM_PROP_STRING, true, "the DNS server it is told to use" },
	{ "gui", QM_PROP_BOOL, false,
	  "has a GUI channel: gui-proxy shows its windows (docs/gui.md); "
	  "from its next start" },
	{ "gui_allow_fullscreen", QM_PROP_BOOL, false,
	  "its windows may go fullscreen when they ask (else they are "
	  "maximized, bordered); takes effect at once (docs/gui.md)" },
	{ "gui_socket", QM_PROP_STRING, true,
	  "the unix socket of its GUI channel (group qmgr; empty: no GUI)" },
	{ "gui_shm", QM_PROP_STRING, true,
	  "the unix socket that hands out its shared GUI region's fd "
	  "(group qmgr, while it runs; empty: no GUI)" },
	{ NULL },
};

const struct qm_prop_def *qm_prop_defs(void)
{
	return prop_defs;
}

const struct qm_prop_def *qm_prop_find(const char *name)
{
	for (const struct qm_prop_def *d = prop_defs; d->name; d++)
		if (strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

char *qm_prop_normalise(const struct qm_prop_def *def, const char *value,
			const char **why)
{
	enum qm_label label;
	guint64 n;

	switch (def->type) {
	case QM_PROP_LABEL:
		if (!qm_label_from_name(value, &label)) {
			*why = "unknown label (red, orange, yellow, green, "
			       "gray, blue, purple, black)";
			return NULL;
		}
		return g_strdup(value);
	case QM_PROP_BOOL:
		if (g_ascii_strcasecmp(value, "true") == 0 ||
		    strcmp(value, "1") == 0 ||
		    g_ascii_strcasecmp(value, "yes") == 0)
			return g_strdup("True");
		if (g_ascii_strcasecmp(value, "false") == 0 ||
		    strcmp(value, "0") == 0 ||
		    g_ascii_strcasecmp(value, "no") == 0)
			return g_strdup("False");
		*why = "expected True or False";
		return NULL;
	case QM_PROP_UINT:
		if (!g_ascii_string_to_unsigned(value, 10, 0, G_MAXUINT32, &n,
						NULL)) {
			*why = "expected a whole number";
			return NULL;
		}
		if (strcmp(def->name, "memory") == 0 &&
		    (n < QM_VM_MEMORY_MIN || n > QM_VM_MEMORY_MAX)) {
			*why = "memory must be between 64 and 1048576 MiB";
			return NULL;
		}
		if (strcmp(def->name, "vcpus") == 0 &&
		    (n < 1 || n > QM_VM_VCPUS_MAX)) {
			*why = "vcpus must be between 1 and 64";
			return NULL;
		}
		if (strcmp(def->name, "preload_dispvm") == 0 &&
		    n > QM_PRELOAD_DISPVM_MAX) {
			*why = "preload_dispvm must be between 0 and 16";
			return NULL;
		}
		return g_strdup_printf("%" G_GUINT64_FORMAT, n);
	case QM_PROP_VMREF:
		if (*value == '\0')
			return g_strdup("");
		if (strcmp(def->name, "netvm") == 0) {
			/* as Qubes' qvm-prefs takes "none" (and "None") */
			if (g_ascii_strcasecmp(value, "none") == 0)
				return g_strdup("");
			if (strcmp(value, "sys-net") == 0)
				return g_strdup(value);
		}
		if (!qm_vm_name_check(value, why))
			return NULL;
		return g_strdup(value);
	case QM_PROP_IPV4: {
		struct in_addr a;
		if (inet_pton(AF_INET, value, &a) != 1) {
			*why = "expected an IPv4 address";
			return NULL;
		}
		return g_strdup(value);
	}
	case QM_PROP_STRING:
		if (strlen(value) > QM_KERNELOPTS_MAX) {
			*why = "the value is too long";
			return NULL;
		}
		for (const char *p = value; *p; p++) {
			/* kernel options end up on a command line */
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				*why = "control characters are not allowed";
				return NULL;
			}
		}
		return g_strdup(value);
	}
	*why = "unknown property type";
	return NULL;
}

const char *qm_vm_prop_get_set(const struct qm_vm *vm, const char *name)
{
	return g_hash_table_lookup(vm->props, name);
}

void qm_vm_prop_set(struct qm_vm *vm, const char *name, const char *value)
{
	g_hash_table_replace(vm->props, g_strdup(name), g_strdup(value));
}

void qm_vm_prop_reset(struct qm_vm *vm, const char *name)
{
	g_hash_table_remove(vm->props, name);
}

static int cmp_str(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

bool qm_vm_has_tag(const struct qm_vm *vm, const char *tag)
{
	for (guint i = 0; i < vm->tags->len; i++)
		if (strcmp(g_ptr_array_index(vm->tags, i), tag) == 0)
			return true;
	return false;
}

bool qm_vm_tag_add(struct qm_vm *vm, const char *tag)
{
	if (qm_vm_has_tag(vm, tag))
		return false;
	g_ptr_array_add(vm->tags, g_strdup(tag));
	g_ptr_array_sort(vm->tags, cmp_str);
	return true;
}

bool qm_vm_tag_del(struct qm_vm *vm, const char *tag)
{
	for (guint i = 0; i < vm->tags->len; i++) {
		if (strcmp(g_ptr_array_index(vm->tags, i), tag) == 0) {
			g_ptr_array_remove_index(vm->tags, i);
			return true;
		}
	}
	return false;
}
