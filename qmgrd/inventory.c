/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "inventory.h"

#include <errno.h>
#include <gio/gio.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <string.h>

#include "atomic-file.h"
#include "xml-util.h"

#define INV_ERROR g_quark_from_static_string("qm-inventory-error")
#define INVENTORY_FILE_MAX (16u << 20)

static const char *const global_prefs[] = {
	"default_template", "default_dispvm",
};

bool qm_global_pref_known(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(global_prefs); i++)
		if (strcmp(global_prefs[i], name) == 0)
			return true;
	return false;
}

struct qm_inventory *qm_inventory_create(const char *path)
{
	struct qm_inventory *inv = g_new0(struct qm_inventory, 1);
	inv->vms = g_ptr_array_new_with_free_func(
		(GDestroyNotify)qm_vm_destroy);
	inv->global = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					    g_free);
	inv->path = g_strdup(path);
	const char *why;
	qm_ip_range_parse(QM_IP_RANGE_DEFAULT, &inv->ip_range, &why);
	inv->ip_pending = g_hash_table_new(NULL, NULL);
	return inv;
}

void qm_inventory_destroy(struct qm_inventory *inv)
{
	if (inv == NULL)
		return;
	g_ptr_array_free(inv->vms, TRUE);
	g_hash_table_destroy(inv->global);
	g_hash_table_destroy(inv->ip_pending);
	g_free(inv->path);
	g_free(inv->run_dir);
	g_free(inv);
}

struct qm_vm *qm_inventory_find(const struct qm_inventory *inv,
				const char *name)
{
	for (guint i = 0; i < inv->vms->len; i++) {
		struct qm_vm *vm = g_ptr_array_index(inv->vms, i);
		if (strcmp(vm->name, name) == 0)
			return vm;
	}
	return NULL;
}

void qm_inventory_add(struct qm_inventory *inv, struct qm_vm *vm)
{
	qm_net_ip_unreserve(inv, vm);
	g_ptr_array_add(inv->vms, vm);
}

void qm_inventory_steal(struct qm_inventory *inv, struct qm_vm *vm)
{
	guint idx = 0;
	if (g_ptr_array_find(inv->vms, vm, &idx))
		g_ptr_array_steal_index(inv->vms, idx);
}

bool qm_inventory_remove(struct qm_inventory *inv, const char *name)
{
	struct qm_vm *vm = qm_inventory_find(inv, name);
	return vm != NULL && g_ptr_array_remove(inv->vms, vm);
}

const char *qm_inventory_global(const struct qm_inventory *inv,
				const char *name)
{
	const char *v = g_hash_table_lookup(inv->global, name);
	return v ? v : "";
}

void qm_inventory_set_global(struct qm_inventory *inv, const char *name,
			     const char *value)
{
	g_hash_table_replace(inv->global, g_strdup(name), g_strdup(value));
}

bool qm_inventory_prop_is_default(const struct qm_vm *vm, const char *name)
{
	return qm_vm_prop_get_set(vm, name) == NULL;
}

char *qm_inventory_prop(const struct qm_inventory *inv,
			const struct qm_vm *vm, const char *name)
{
	if (qm_prop_find(name) == NULL)
		return NULL;
	if (strcmp(name, "name") == 0)
		return g_strdup(vm->name);
	if (strcmp(name, "uuid") == 0)
		return g_strdup(vm->uuid);
	if (strcmp(name, "klass") == 0)
		return g_strdup(pol_vm_class_name(vm->cls));
	/* runtime only: pool membership ends with qmgrd (dispvm-pool.c) */
	if (strcmp(name, "is_preload") == 0)
		return g_strdup(vm->preload ? "True" : "False");
	/* what its network device and guest are given (net-addr.c) */
	if (strcmp(name, "mac") == 0 || strcmp(name, "gateway") == 0 ||
	    strcmp(name, "dns") == 0) {
		guint32 a;
		char buf[QM_MAC_STR_SIZE] = "";
		const char *ip = qm_vm_prop_get_set(vm, "ip");
		if (ip == NULL || !qm_ipv4_parse(ip, &a))
			return g_strdup("");
		if (name[0] == 'm')
			qm_vm_mac(a, buf);
		else if (name[0] == 'g')
			qm_ipv4_format(qm_ip_range_gateway(&inv->ip_range),
				       buf);
		else
			g_strlcpy(buf, QM_NET_DNS, sizeof(buf));
		return g_strdup(buf);
	}
	if (strcmp(name, "gui_socket") == 0) {
		g_autofree char *gui = qm_inventory_prop(inv, vm, "gui");
		if (inv->run_dir == NULL || strcmp(gui, "True") != 0)
			return g_strdup("");
		return qm_inventory_gui_socket(inv->run_dir, vm->name);
	}
	if (strcmp(name, "gui_shm") == 0) {
		g_autofree char *gui = qm_inventory_prop(inv, vm, "gui");
		if (inv->run_dir == NULL || strcmp(gui, "True") != 0)
			return g_strdup("");
		return qm_inventory_gui_shm_socket(inv->run_dir, vm->name,
						   false);
	}
	const char *set = qm_vm_prop_get_set(vm, name);
	if (set != NULL)
		return g_strdup(set);

	/* Defaults, as Qubes has them. */
	if (strcmp(name, "label") == 0)
		return g_strdup("red");
	if (strcmp(name, "template") == 0) {
		if (vm->cls == POL_CLASS_APPVM || vm->cls == POL_CLASS_DISPVM)
			return g_strdup(qm_inventory_global(
				inv, "default_template"));
		return g_strdup("");
	}
	if (strcmp(name, "memory") == 0 || strcmp(name, "vcpus") == 0) {
		/* An AppVM inherits its template's sizing. */
		g_autofree char *tname = qm_inventory_prop(inv, vm, "template");
		const struct qm_vm *t = *tname ? qm_inventory_find(inv, tname)
					       : NULL;
		if (t != NULL && t != vm)
			return qm_inventory_prop(inv, t, name);
		return g_strdup(strcmp(name, "memory") == 0 ? "256" : "1");
	}
	if (strcmp(name, "default_dispvm") == 0)
		return g_strdup(qm_inventory_global(inv, "default_dispvm"));
	if (strcmp(name, "template_for_dispvms") == 0 ||
	    strcmp(name, "autostart") == 0 ||
	    strcmp(name, "auto_cleanup") == 0 ||
	    strcmp(name, "gui_allow_fullscreen") == 0)
		return g_strdup("False");
	if (strcmp(name, "preload_dispvm") == 0)
		return g_strdup("0");
	if (strcmp(name, "provides_network") == 0)
		return g_strdup("False");
	if (strcmp(name, "gui") == 0)
		return g_strdup("True");
	if (strcmp(name, "netvm") == 0) {
		/* As Qubes: templates have no network; a disposable has its
		 * disposable template's; other qubes the host's uplink. */
		if (vm->cls == POL_CLASS_TEMPLATEVM)
			return g_strdup("");
		if (vm->cls == POL_CLASS_DISPVM) {
			g_autofree char *tname =
				qm_inventory_prop(inv, vm, "template");
			const struct qm_vm *t =
				*tname ? qm_inventory_find(inv, tname) : NULL;
			if (t != NULL && t != vm &&
			    t->cls != POL_CLASS_DISPVM)
				return qm_inventory_prop(inv, t, "netvm");
			return g_strdup("");
		}
		return g_strdup(QM_NETVM_UPLINK);
	}
	return g_strdup("");
}

char *qm_inventory_gui_shm_name(const char *instance, const char *name)
{
	return g_strdup_printf("qmgr-%s-%s-gui", instance, name);
}

char *qm_inventory_gui_shm_socket(const char *run_dir, const char *name,
				  bool qemu)
{
	return g_build_filename(run_dir, "vms", name,
				qemu ? "gui-shm-qemu.sock" : "gui-shm.sock",
				NULL);
}

char *qm_inventory_gui_socket(const char *run_dir, const char *name)
{
	return g_build_filename(run_dir, "vms", name, "gui.sock", NULL);
}

char *qm_inventory_users_of(const struct qm_inventory *inv,
			    const struct qm_vm *vm)
{
	g_autoptr(GString) s = g_string_new(NULL);
	for (guint i = 0; i < inv->vms->len; i++) {
		const struct qm_vm *o = g_ptr_array_index(inv->vms, i);
		if (o == vm)
			continue;
		const char *t = qm_vm_prop_get_set(o, "template");
		const char *d = qm_vm_prop_get_set(o, "default_dispvm");
		g_autofree char *et = qm_inventory_prop(inv, o, "template");
		g_autofree char *nv = qm_inventory_prop(inv, o, "netvm");
		bool uses = (t && strcmp(t, vm->name) == 0) ||
			    (d && strcmp(d, vm->name) == 0) ||
			    strcmp(et, vm->name) == 0 ||
			    strcmp(nv, vm->name) == 0;
		if (uses)
			g_string_append_printf(s, "%s%s", s->len ? ", " : "",
					       o->name);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(global_prefs); i++) {
		if (strcmp(qm_inventory_global(inv, global_prefs[i]),
			   vm->name) == 0)
			g_string_append_printf(s, "%sdom0 (%s)",
					       s->len ? ", " : "",
					       global_prefs[i]);
	}
	return s->len ? g_string_free(g_steal_pointer(&s), FALSE) : NULL;
}

/* ---- loading ---- */

static bool load_fail(GError **error, const char *path, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);
static bool load_fail(GError **error, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, INV_ERROR, 1, "%s: %s", path, msg);
	return false;
}

static bool load_property(xmlNode *n, const char *path, const char *owner,
			  GHashTable *into, bool global, GError **error)
{
	g_autofree char *name = qm_xml_attr(n, "name");
	g_autofree char *value = qm_xml_text(n);
	const char *why = NULL;

	if (name == NULL)
		return load_fail(error, path, "%s: <property> without name",
				 owner);
	if (global) {
		if (!qm_global_pref_known(name))
			return load_fail(error, path,
					 "global: unknown property '%s'", name);
		if (*value && !qm_vm_name_check(value, &why))
			return load_fail(error, path, "global %s='%s': %s",
					 name, value, why);
		g_hash_table_replace(into, g_steal_pointer(&name),
				     g_steal_pointer(&value));
		return true;
	}
	const struct qm_prop_def *def = qm_prop_find(name);
	if (def == NULL || (def->readonly && !def->kept))
		return load_fail(error, path, "%s: unknown property '%s'",
				 owner, name);
	char *norm = qm_prop_normalise(def, value, &why);
	if (norm == NULL)
		return load_fail(error, path, "%s: %s='%s': %s", owner, name,
				 value, why);
	g_hash_table_replace(into, g_steal_pointer(&name), norm);
	return true;
}

static struct qm_vm *load_vm(xmlNode *n, const char *path, GError **error)
{
	g_autofree char *name = qm_xml_attr(n, "name");
	g_autofree char *uuid = qm_xml_attr(n, "uuid");
	g_autofree char *cls = qm_xml_attr(n, "class");
	const char *why = NULL;
	enum pol_vm_class c;
	char canon[37];

	if (name == NULL || !qm_vm_name_check(name, &why)) {
		load_fail(error, path, "<vm name='%s'>: %s",
			  name ? name : "", why ? why : "missing name");
		return NULL;
	}
	if (cls == NULL || !pol_vm_class_from_name(cls, &c) ||
	    c == POL_CLASS_ADMINVM) {
		load_fail(error, path, "%s: invalid class '%s'", name,
			  cls ? cls : "");
		return NULL;
	}
	if (uuid == NULL || !pol_uuid_canonical(uuid, canon)) {
		load_fail(error, path, "%s: invalid uuid '%s'", name,
			  uuid ? uuid : "");
		return NULL;
	}
	struct qm_vm *vm = qm_vm_create(name, c, canon);
	for (xmlNode *k = n->children; k != NULL; k = k->next) {
		if (k->type != XML_ELEMENT_NODE)
			continue;
		if (xmlStrcmp(k->name, BAD_CAST "property") == 0) {
			if (!load_property(k, path, name, vm->props, false,
					   error))
				goto fail;
		} else if (xmlStrcmp(k->name, BAD_CAST "tag") == 0) {
			g_autofree char *tag = qm_xml_text(k);
			if (!pol_tag_is_valid(tag)) {
				load_fail(error, path, "%s: invalid tag '%s'",
					  name, tag);
				goto fail;
			}
			qm_vm_tag_add(vm, tag);
		} else {
			load_fail(error, path, "%s: unknown element <%s>",
				  name, (const char *)k->name);
			goto fail;
		}
	}
	return vm;
fail:
	qm_vm_destroy(vm);
	return NULL;
}

bool qm_inventory_load(struct qm_inventory *inv, GError **error)
{
	g_autofree char *data = NULL;
	gsize len = 0;
	GError *local = NULL;

	if (!g_file_get_contents(inv->path, &data, &len, &local)) {
		if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
			g_error_free(local);
			return true;
		}
		g_propagate_error(error, local);
		return false;
	}
	if (len > INVENTORY_FILE_MAX)
		return load_fail(error, inv->path, "file too large");

	g_autoptr(xmlDoc) doc = qm_xml_parse(data, len, inv->path, error);
	if (doc == NULL)
		return false;
	xmlNode *root = xmlDocGetRootElement(doc);
	if (root == NULL || xmlStrcmp(root->name, BAD_CAST "qmgr-inventory"))
		return load_fail(error, inv->path,
				 "not a qmgr inventory (root element)");
	g_autofree char *version = qm_xml_attr(root, "version");
	guint64 v = 0, gen = 0;
	if (version == NULL ||
	    !g_ascii_string_to_unsigned(version, 10, 1, G_MAXUINT32, &v,
					NULL) ||
	    v > QM_INVENTORY_VERSION)
		return load_fail(error, inv->path,
				 "unsupported inventory version '%s' (this "
				 "qmgrd reads up to %d)",
				 version ? version : "", QM_INVENTORY_VERSION);
	g_autofree char *generation = qm_xml_attr(root, "generation");
	if (generation != NULL)
		g_ascii_string_to_unsigned(generation, 10, 0, G_MAXUINT64,
					   &gen, NULL);

	g_autoptr(GPtrArray) vms =
		g_ptr_array_new_with_free_func((GDestroyNotify)qm_vm_destroy);
	g_autoptr(GHashTable) global = g_hash_table_new_full(
		g_str_hash, g_str_equal, g_free, g_free);
	for (xmlNode *n = root->children; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (xmlStrcmp(n->name, BAD_CAST "global") == 0) {
			for (xmlNode *k = n->children; k; k = k->next) {
				if (k->type == XML_ELEMENT_NODE &&
				    !load_property(k, inv->path, "global",
						   global, true, error))
					return false;
			}
		} else if (xmlStrcmp(n->name, BAD_CAST "vm") == 0) {
			if (vms->len >= QM_INVENTORY_VMS_MAX)
				return load_fail(error, inv->path,
						 "more than %d qubes",
						 QM_INVENTORY_VMS_MAX);
			struct qm_vm *vm = load_vm(n, inv->path, error);
			if (vm == NULL)
				return false;
			for (guint i = 0; i < vms->len; i++) {
				struct qm_vm *o = g_ptr_array_index(vms, i);
				if (strcmp(o->name, vm->name) == 0 ||
				    strcmp(o->uuid, vm->uuid) == 0) {
					qm_vm_destroy(vm);
					return load_fail(error, inv->path,
							 "qube '%s' or its "
							 "uuid appears twice",
							 o->name);
				}
			}
			g_ptr_array_add(vms, vm);
		} else {
			return load_fail(error, inv->path,
					 "unknown element <%s>",
					 (const char *)n->name);
		}
	}

	/* All checked: take it. */
	g_ptr_array_free(inv->vms, TRUE);
	inv->vms = g_steal_pointer(&vms);
	g_hash_table_destroy(inv->global);
	inv->global = g_steal_pointer(&global);
	inv->generation = gen;
	return true;
}

/* ---- saving ---- */

static int cmp_key(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_properties(xmlNode *parent, GHashTable *props)
{
	/* Sorted, so that the file is stable and diffable. */
	g_autoptr(GPtrArray) keys = g_ptr_array_new();
	GHashTableIter it;
	gpointer key;
	g_hash_table_iter_init(&it, props);
	while (g_hash_table_iter_next(&it, &key, NULL))
		g_ptr_array_add(keys, key);
	g_ptr_array_sort(keys, cmp_key);
	for (guint i = 0; i < keys->len; i++) {
		const char *k = g_ptr_array_index(keys, i);
		xmlNode *p = xmlNewTextChild(parent, NULL, BAD_CAST "property",
					     BAD_CAST g_hash_table_lookup(props,
									  k));
		xmlNewProp(p, BAD_CAST "name", BAD_CAST k);
	}
}

bool qm_inventory_save(struct qm_inventory *inv, GError **error)
{
	g_autoptr(xmlDoc) doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNode *root = xmlNewNode(NULL, BAD_CAST "qmgr-inventory");
	xmlDocSetRootElement(doc, root);
	g_autofree char *version = g_strdup_printf("%d", QM_INVENTORY_VERSION);
	g_autofree char *gen = g_strdup_printf("%" G_GUINT64_FORMAT,
					       inv->generation + 1);
	xmlNewProp(root, BAD_CAST "version", BAD_CAST version);
	xmlNewProp(root, BAD_CAST "generation", BAD_CAST gen);

	xmlNode *global = xmlNewChild(root, NULL, BAD_CAST "global", NULL);
	add_properties(global, inv->global);
	for (guint i = 0; i < inv->vms->len; i++) {
		const struct qm_vm *vm = g_ptr_array_index(inv->vms, i);
		xmlNode *n = xmlNewChild(root, NULL, BAD_CAST "vm", NULL);
		xmlNewProp(n, BAD_CAST "name", BAD_CAST vm->name);
		xmlNewProp(n, BAD_CAST "uuid", BAD_CAST vm->uuid);
		xmlNewProp(n, BAD_CAST "class",
			   BAD_CAST pol_vm_class_name(vm->cls));
		add_properties(n, vm->props);
		for (guint t = 0; t < vm->tags->len; t++)
			xmlNewTextChild(n, NULL, BAD_CAST "tag",
					BAD_CAST g_ptr_array_index(vm->tags, t));
	}

	xmlChar *buf = NULL;
	int size = 0;
	xmlDocDumpFormatMemoryEnc(doc, &buf, &size, "UTF-8", 1);
	if (buf == NULL) {
		g_set_error(error, INV_ERROR, 1, "%s: cannot serialise",
			    inv->path);
		return false;
	}
	bool ok = qm_atomic_write(inv->path, buf, (size_t)size, 0600, error);
	xmlFree(buf);
	if (ok)
		inv->generation++;
	return ok;
}
