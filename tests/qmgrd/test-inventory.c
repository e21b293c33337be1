/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The inventory: names, properties and their defaults, and the XML file
 * (round trip, rejection of bad files without losing the loaded state). */
#include <glib/gstdio.h>
#include <string.h>

#include "inventory.h"

#ifdef NDEBUG
#error "tests need assertions"
#endif

struct name_row {
	const char *name;
	bool ok;
};

static const struct name_row names[] = {
	{ "work", true }, { "a", true }, { "Work-2.b_c", true },
	{ "abcdefghijklmnopqrstuvwxyz01234", true },   /* 31 */
	{ "abcdefghijklmnopqrstuvwxyz012345", false }, /* 32 */
	{ "", false }, { "1work", false }, { "-work", false },
	{ "wo rk", false }, { "wörk", false }, { "work/x", false },
	{ "none", false }, { "default", false }, { "dom0", false },
	{ "sys-net", false }, { "foo-dm", false }, { "NONE", false },
};

static void test_vm_name_check_table(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		const char *why = NULL;
		g_assert_cmpint(qm_vm_name_check(names[i].name, &why), ==,
				names[i].ok);
		if (!names[i].ok)
			g_assert_nonnull(why);
	}
}

struct prop_row {
	const char *prop, *value, *want;   /* want NULL: refused */
};

static const struct prop_row props[] = {
	{ "label", "blue", "blue" }, { "label", "pink", NULL },
	{ "memory", "512", "512" }, { "memory", "0", NULL },
	{ "memory", "63", NULL }, { "memory", "12x", NULL },
	{ "memory", "-5", NULL },
	{ "vcpus", "2", "2" }, { "vcpus", "0", NULL }, { "vcpus", "65", NULL },
	{ "autostart", "true", "True" }, { "autostart", "no", "False" },
	{ "autostart", "maybe", NULL },
	{ "template", "minimal", "minimal" }, { "template", "1bad", NULL },
	{ "default_dispvm", "", "" },
	{ "kernelopts", "quiet loglevel=3", "quiet loglevel=3" },
	{ "kernelopts", "a\nb", NULL },
};

static void test_prop_normalise_table(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(props); i++) {
		const char *why = NULL;
		const struct qm_prop_def *d = qm_prop_find(props[i].prop);
		g_assert_nonnull(d);
		g_autofree char *v = qm_prop_normalise(d, props[i].value, &why);
		g_assert_cmpstr(v, ==, props[i].want);
		if (props[i].want == NULL)
			g_assert_nonnull(why);
	}
}

static struct qm_inventory *sample(const char *path)
{
	struct qm_inventory *inv = qm_inventory_create(path);
	qm_inventory_set_global(inv, "default_template", "minimal");
	qm_inventory_set_global(inv, "default_dispvm", "default-dvm");
	struct qm_vm *t = qm_vm_create("minimal", POL_CLASS_TEMPLATEVM, NULL);
	qm_vm_prop_set(t, "memory", "300");
	qm_vm_prop_set(t, "label", "black");
	qm_inventory_add(inv, t);
	struct qm_vm *d = qm_vm_create("default-dvm", POL_CLASS_APPVM, NULL);
	qm_vm_prop_set(d, "template_for_dispvms", "True");
	qm_inventory_add(inv, d);
	struct qm_vm *w = qm_vm_create("work", POL_CLASS_APPVM, NULL);
	qm_vm_tag_add(w, "corp");
	qm_vm_tag_add(w, "alpha");
	qm_inventory_add(inv, w);
	return inv;
}

static void test_inventory_defaults(void)
{
	g_autoptr(GError) err = NULL;
	struct qm_inventory *inv = sample("/nonexistent/x.xml");
	struct qm_vm *w = qm_inventory_find(inv, "work");
	g_autofree char *tmpl = qm_inventory_prop(inv, w, "template");
	g_autofree char *mem = qm_inventory_prop(inv, w, "memory");
	g_autofree char *dvm = qm_inventory_prop(inv, w, "default_dispvm");
	g_autofree char *label = qm_inventory_prop(inv, w, "label");
	g_autofree char *cls = qm_inventory_prop(inv, w, "klass");
	g_assert_cmpstr(tmpl, ==, "minimal");
	g_assert_cmpstr(mem, ==, "300");      /* inherited from template */
	g_assert_cmpstr(dvm, ==, "default-dvm");
	g_assert_cmpstr(label, ==, "red");
	g_assert_cmpstr(cls, ==, "AppVM");
	g_assert_true(qm_inventory_prop_is_default(w, "memory"));
	g_assert_null(qm_inventory_prop(inv, w, "nosuch"));
	g_autofree char *users = qm_inventory_users_of(
		inv, qm_inventory_find(inv, "minimal"));
	g_assert_cmpstr(users, ==,
			"default-dvm, work, dom0 (default_template)");
	qm_inventory_destroy(inv);
}

static void test_inventory_round_trip(void)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *dir = g_dir_make_tmp("inv-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "qmgr.xml", NULL);
	struct qm_inventory *inv = sample(path);
	g_assert_true(qm_inventory_save(inv, &err));
	g_assert_no_error(err);

	struct qm_inventory *back = qm_inventory_create(path);
	g_assert_true(qm_inventory_load(back, &err));
	g_assert_no_error(err);
	g_assert_cmpuint(back->vms->len, ==, 3);
	g_assert_cmpuint(back->generation, ==, 1);
	struct qm_vm *w = qm_inventory_find(back, "work");
	g_assert_cmpstr(w->uuid, ==, qm_inventory_find(inv, "work")->uuid);
	g_assert_cmpuint(w->tags->len, ==, 2);
	g_assert_cmpstr(g_ptr_array_index(w->tags, 0), ==, "alpha");
	g_autofree char *mem = qm_inventory_prop(back, w, "memory");
	g_assert_cmpstr(mem, ==, "300");
	g_assert_cmpstr(qm_inventory_global(back, "default_dispvm"), ==,
			"default-dvm");
	/* no temporary file is left next to it */
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *n;
	int count = 0;
	while ((n = g_dir_read_name(d)) != NULL)
		count++;
	g_assert_cmpint(count, ==, 1);

	qm_inventory_destroy(back);
	qm_inventory_destroy(inv);
	g_unlink(path);
	g_rmdir(dir);
}

static void test_inventory_missing_file_is_empty(void)
{
	g_autoptr(GError) err = NULL;
	struct qm_inventory *inv = qm_inventory_create("/nonexistent/q.xml");
	g_assert_true(qm_inventory_load(inv, &err));
	g_assert_cmpuint(inv->vms->len, ==, 0);
	qm_inventory_destroy(inv);
}

struct bad_file {
	const char *name;
	const char *xml;
	const char *message_part;
};

static const struct bad_file bad_files[] = {
	{ "not-xml", "hello", "not well-formed" },
	{ "wrong-root", "<foo/>", "root element" },
	{ "future-version", "<qmgr-inventory version='99'/>",
	  "unsupported inventory version" },
	{ "bad-name", "<qmgr-inventory version='1'><vm name='1x' class='AppVM'"
		      " uuid='c9024a97-9b15-46cc-8341-38d75d5d421b'/>"
		      "</qmgr-inventory>", "must start with a letter" },
	{ "bad-class", "<qmgr-inventory version='1'><vm name='x' class='Foo'"
		       " uuid='c9024a97-9b15-46cc-8341-38d75d5d421b'/>"
		       "</qmgr-inventory>", "invalid class" },
	{ "bad-uuid", "<qmgr-inventory version='1'><vm name='x' class='AppVM'"
		      " uuid='nope'/></qmgr-inventory>", "invalid uuid" },
	{ "bad-prop", "<qmgr-inventory version='1'><vm name='x' class='AppVM'"
		      " uuid='c9024a97-9b15-46cc-8341-38d75d5d421b'><property "
		      "name='memory'>0</property></vm></qmgr-inventory>",
	  "memory must be" },
	{ "duplicate", "<qmgr-inventory version='1'><vm name='x' class='AppVM'"
		       " uuid='c9024a97-9b15-46cc-8341-38d75d5d421b'/><vm "
		       "name='x' class='AppVM' uuid="
		       "'b3eb69d0-f9d9-4c3c-ad5c-454500303ea4'/>"
		       "</qmgr-inventory>", "appears twice" },
	{ "doctype", "<!DOCTYPE x [<!ENTITY a 'b'>]><qmgr-inventory "
		     "version='1'/>", "DOCTYPE" },
};

static void test_inventory_rejects_bad_file(gconstpointer data)
{
	const struct bad_file *t = data;
	g_autoptr(GError) err = NULL;
	g_autofree char *dir = g_dir_make_tmp("inv-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "qmgr.xml", NULL);
	/* a good inventory is loaded first; a bad file must not replace it */
	struct qm_inventory *inv = sample(path);
	g_assert_true(g_file_set_contents(path, t->xml, -1, NULL));
	g_assert_false(qm_inventory_load(inv, &err));
	g_assert_nonnull(strstr(err->message, t->message_part));
	g_assert_cmpuint(inv->vms->len, ==, 3);
	qm_inventory_destroy(inv);
	g_unlink(path);
	g_rmdir(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/vm/name-check", test_vm_name_check_table);
	g_test_add_func("/vm/prop-normalise", test_prop_normalise_table);
	g_test_add_func("/inventory/defaults", test_inventory_defaults);
	g_test_add_func("/inventory/round-trip", test_inventory_round_trip);
	g_test_add_func("/inventory/missing-file-is-empty",
			test_inventory_missing_file_is_empty);
	for (size_t i = 0; i < G_N_ELEMENTS(bad_files); i++) {
		g_autofree char *p = g_strdup_printf(
			"/inventory/rejects-bad-file/%s", bad_files[i].name);
		g_test_add_data_func(p, &bad_files[i],
				     test_inventory_rejects_bad_file);
	}
	return g_test_run();
}
