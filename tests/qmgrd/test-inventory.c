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
	/* read-only for users, but saved */
	qm_vm_prop_set(qm_inventory_find(inv, "work"), "ip", "10.137.0.9");
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
	g_assert_cmpstr(qm_vm_prop_get_set(w, "ip"), ==, "10.137.0.9");
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
	{ "bad-ip", "<qmgr-inventory version='1'><vm name='x' class='AppVM'"
		    " uuid='c9024a97-9b15-46cc-8341-38d75d5d421b'><property "
		    "name='ip'>10.137.0.300</property></vm></qmgr-inventory>",
	  "expected an IPv4 address" },
	{ "computed-prop", "<qmgr-inventory version='1'><vm name='x' "
			   "class='AppVM' uuid="
			   "'c9024a97-9b15-46cc-8341-38d75d5d421b'><property "
			   "name='mac'>00:16:3e:00:00:01</property></vm>"
			   "</qmgr-inventory>", "unknown property 'mac'" },
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

/* ---- addresses (net-addr.c) ---- */

struct range_row {
	const char *text;
	bool ok;
	guint32 net;
	unsigned prefix;
};

static const struct range_row ranges[] = {
	{ "10.137.0.0/16", true, 0x0a890000, 16 },
	{ "192.168.7.16/28", true, 0xc0a80710, 28 },
	{ "10.137.0.0/15", false }, { "10.137.0.0/29", false },
	{ "10.137.0.1/16", false },         /* host bits */
	{ "10.137.0.0", false }, { "10.137.0.0/", false },
	{ "10.137.0.0/x", false }, { "10.137.0/16", false },
	{ "010.137.0.0/16", false }, { "::1/16", false }, { "", false },
};

static void test_ip_range_parse_table(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(ranges); i++) {
		struct qm_ip_range r = { 0 };
		const char *why = NULL;
		g_assert_cmpint(qm_ip_range_parse(ranges[i].text, &r, &why),
				==, ranges[i].ok);
		if (!ranges[i].ok) {
			g_assert_nonnull(why);
			continue;
		}
		g_assert_cmphex(r.net, ==, ranges[i].net);
		g_assert_cmpuint(r.prefix, ==, ranges[i].prefix);
	}
	struct qm_ip_range r;
	const char *why;
	g_assert_true(qm_ip_range_parse("10.1.2.0/28", &r, &why));
	g_assert_cmphex(qm_ip_range_gateway(&r), ==, 0x0a010201);
	g_assert_false(qm_ip_range_is_vm_addr(&r, 0x0a010200)); /* network */
	g_assert_false(qm_ip_range_is_vm_addr(&r, 0x0a010201)); /* gateway */
	g_assert_true(qm_ip_range_is_vm_addr(&r, 0x0a010202));
	g_assert_true(qm_ip_range_is_vm_addr(&r, 0x0a01020e));
	g_assert_false(qm_ip_range_is_vm_addr(&r, 0x0a01020f)); /* bcast */
	g_assert_false(qm_ip_range_is_vm_addr(&r, 0x0a010210));
}

struct tap_row {
	const char *instance;
	const char *ip;
	const char *want;   /* NULL: refused */
};

static const struct tap_row taps[] = {
	{ "8561df88", "10.137.0.5", "qm8561dfv5" },
	{ "8561df88", "10.137.1.2", "qm8561dfv258" },
	{ "abcdef01", "10.137.255.254", "qmabcdefv65534" },  /* longest */
	{ "8561df88", "192.168.77.3", "qm8561dfv19715" },
	{ "8561d", "10.137.0.5", NULL },
};

static void test_vm_tap_name_table(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(taps); i++) {
		char tap[QM_TAP_NAME_SIZE];
		guint32 a;
		g_assert_true(qm_ipv4_parse(taps[i].ip, &a));
		bool ok = qm_vm_tap_name(taps[i].instance, a, tap);
		g_assert_cmpint(ok, ==, taps[i].want != NULL);
		char prefix[QM_TAP_NAME_SIZE];
		g_assert_cmpint(qm_vm_tap_prefix(taps[i].instance, prefix), ==,
				ok);
		if (ok) {
			g_assert_cmpstr(tap, ==, taps[i].want);
			g_assert_cmpuint(strlen(tap), <, 16);   /* IFNAMSIZ */
			/* the ruleset's wildcard covers every tap */
			g_assert_true(g_str_has_prefix(tap, prefix));
			g_assert_cmpuint(strlen(prefix), ==, 9);
		}
	}
	char mac[QM_MAC_STR_SIZE];
	qm_vm_mac(0x0a890005, mac);
	g_assert_cmpstr(mac, ==, "00:16:3e:89:00:05");
}

static char *ip_of(struct qm_inventory *inv, const char *name)
{
	return qm_inventory_prop(inv, qm_inventory_find(inv, name), "ip");
}

static void test_net_defaults(void)
{
	struct qm_inventory *inv = sample("/nonexistent/x.xml");
	struct qm_vm *disp = qm_vm_create("disp1", POL_CLASS_DISPVM, NULL);
	qm_vm_prop_set(disp, "template", "default-dvm");
	qm_inventory_add(inv, disp);
	struct qm_vm *sa = qm_vm_create("sa", POL_CLASS_STANDALONEVM, NULL);
	qm_inventory_add(inv, sa);
	const char *const want[][2] = {
		{ "minimal", "" }, { "default-dvm", "sys-net" },
		{ "work", "sys-net" }, { "disp1", "sys-net" },
		{ "sa", "sys-net" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
		g_autofree char *v = qm_inventory_prop(
			inv, qm_inventory_find(inv, want[i][0]), "netvm");
		g_assert_cmpstr(v, ==, want[i][1]);
	}
	/* a disposable follows its disposable template */
	qm_vm_prop_set(qm_inventory_find(inv, "default-dvm"), "netvm", "");
	g_autofree char *dn = qm_inventory_prop(inv, disp, "netvm");
	g_assert_cmpstr(dn, ==, "");
	/* netvm none and the built-in uplink are not qube names */
	const struct qm_prop_def *def = qm_prop_find("netvm");
	const char *why = NULL;
	g_autofree char *n1 = qm_prop_normalise(def, "none", &why);
	g_autofree char *n2 = qm_prop_normalise(def, "None", &why);
	g_autofree char *n3 = qm_prop_normalise(def, "sys-net", &why);
	g_assert_cmpstr(n1, ==, "");
	g_assert_cmpstr(n2, ==, "");
	g_assert_cmpstr(n3, ==, "sys-net");
	qm_inventory_destroy(inv);
}

static void test_net_ip_assign(void)
{
	g_autoptr(GError) err = NULL;
	const char *why;
	unsigned changed = 0;
	struct qm_inventory *inv = sample("/nonexistent/x.xml");
	g_assert_true(qm_ip_range_parse("10.9.9.0/28", &inv->ip_range, &why));

	g_assert_true(qm_net_ip_assign_all(inv, &changed, &err));
	g_assert_cmpuint(changed, ==, 2);
	g_autofree char *t = ip_of(inv, "minimal");
	g_autofree char *d = ip_of(inv, "default-dvm");
	g_autofree char *w = ip_of(inv, "work");
	g_assert_cmpstr(t, ==, "");           /* a template: no netvm */
	g_assert_cmpstr(d, ==, "10.9.9.2");   /* .1 is the gateway */
	g_assert_cmpstr(w, ==, "10.9.9.3");
	g_autofree char *gw = qm_inventory_prop(
		inv, qm_inventory_find(inv, "work"), "gateway");
	g_assert_cmpstr(gw, ==, "10.9.9.1");

	/* qubes being created hold reservations until they join */
	struct qm_vm *a = qm_vm_create("a", POL_CLASS_APPVM, NULL);
	struct qm_vm *b = qm_vm_create("b", POL_CLASS_APPVM, NULL);
	g_assert_true(qm_net_ip_assign(inv, a, NULL, &err));
	g_assert_true(qm_net_ip_assign(inv, b, NULL, &err));
	g_assert_cmpstr(qm_vm_prop_get_set(a, "ip"), ==, "10.9.9.4");
	g_assert_cmpstr(qm_vm_prop_get_set(b, "ip"), ==, "10.9.9.5");
	qm_net_ip_unreserve(inv, a);          /* its create failed */
	qm_vm_destroy(a);
	qm_inventory_add(inv, b);
	g_assert_cmpuint(g_hash_table_size(inv->ip_pending), ==, 0);

	/* netvm none releases; the lowest free address is given next */
	struct qm_vm *work = qm_inventory_find(inv, "work");
	qm_vm_prop_set(work, "netvm", "");
	g_assert_true(qm_net_ip_assign_all(inv, &changed, &err));
	g_assert_cmpuint(changed, ==, 1);
	g_assert_null(qm_vm_prop_get_set(work, "ip"));
	g_autofree char *mac = qm_inventory_prop(inv, work, "mac");
	g_assert_cmpstr(mac, ==, "");
	struct qm_vm *c = qm_vm_create("c", POL_CLASS_APPVM, NULL);
	g_assert_true(qm_net_ip_assign(inv, c, NULL, &err));
	g_assert_cmpstr(qm_vm_prop_get_set(c, "ip"), ==, "10.9.9.3");
	qm_inventory_add(inv, c);

	/* fill the range: .2 to .14 are 13 addresses */
	for (int i = 0; i < 10; i++) {
		g_autofree char *name = g_strdup_printf("f%d", i);
		struct qm_vm *f = qm_vm_create(name, POL_CLASS_APPVM, NULL);
		g_assert_true(qm_net_ip_assign(inv, f, NULL, &err));
		qm_inventory_add(inv, f);
	}
	struct qm_vm *full = qm_vm_create("full", POL_CLASS_APPVM, NULL);
	g_assert_false(qm_net_ip_assign(inv, full, NULL, &err));
	g_assert_nonnull(strstr(err->message, "no free address for 'full'"));
	g_clear_error(&err);
	qm_vm_destroy(full);

	/* a snapshot undoes assignments */
	g_autoptr(GHashTable) snap = qm_net_ip_snapshot(inv);
	qm_vm_prop_set(qm_inventory_find(inv, "f0"), "netvm", "");
	g_assert_true(qm_net_ip_assign_all(inv, NULL, &err));
	g_assert_null(qm_vm_prop_get_set(qm_inventory_find(inv, "f0"), "ip"));
	qm_vm_prop_reset(qm_inventory_find(inv, "f0"), "netvm");
	qm_net_ip_restore(inv, snap);
	g_assert_nonnull(qm_vm_prop_get_set(qm_inventory_find(inv, "f0"),
					    "ip"));
	qm_inventory_destroy(inv);
}

/* A stored address outside the range, or another qube's, is replaced;
 * a running qube keeps its own (its tap has it). */
static void test_net_ip_assign_repairs(void)
{
	g_autoptr(GError) err = NULL;
	const char *why;
	struct qm_inventory *inv = sample("/nonexistent/x.xml");
	struct qm_vm *dvm = qm_inventory_find(inv, "default-dvm");
	struct qm_vm *work = qm_inventory_find(inv, "work");
	struct qm_vm *run = qm_vm_create("run", POL_CLASS_APPVM, NULL);
	qm_inventory_add(inv, run);
	qm_vm_prop_set(dvm, "ip", "10.137.0.7");
	qm_vm_prop_set(work, "ip", "10.137.0.7");      /* the same */
	qm_vm_prop_set(run, "ip", "192.168.1.5");      /* outside */
	run->state = QM_VM_RUNNING;
	g_assert_true(qm_net_ip_assign_all(inv, NULL, &err));
	g_assert_cmpstr(qm_vm_prop_get_set(dvm, "ip"), ==, "10.137.0.7");
	g_assert_cmpstr(qm_vm_prop_get_set(work, "ip"), ==, "10.137.0.2");
	g_assert_cmpstr(qm_vm_prop_get_set(run, "ip"), ==, "192.168.1.5");

	g_assert_true(qm_ip_range_parse("10.50.0.0/24", &inv->ip_range, &why));
	run->state = QM_VM_HALTED;
	g_assert_true(qm_net_ip_assign_all(inv, NULL, &err));
	g_assert_cmpstr(qm_vm_prop_get_set(dvm, "ip"), ==, "10.50.0.2");
	g_assert_cmpstr(qm_vm_prop_get_set(work, "ip"), ==, "10.50.0.3");
	g_assert_cmpstr(qm_vm_prop_get_set(run, "ip"), ==, "10.50.0.4");
	struct qm_vm_net n;
	g_assert_true(qm_net_vm_info(inv, "8561df88", work, &n));
	g_assert_cmpstr(n.tap, ==, "qm8561dfv3");
	g_assert_cmpstr(n.gateway, ==, "10.50.0.1");
	g_assert_cmpstr(n.dns, ==, "10.139.1.1");
	g_assert_cmpstr(n.netvm, ==, "sys-net");
	g_assert_false(qm_net_vm_info(inv, "8561df88",
				      qm_inventory_find(inv, "minimal"), &n));
	qm_inventory_destroy(inv);
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
	g_test_add_func("/net/ip-range-parse", test_ip_range_parse_table);
	g_test_add_func("/net/tap-name", test_vm_tap_name_table);
	g_test_add_func("/net/defaults", test_net_defaults);
	g_test_add_func("/net/ip-assign", test_net_ip_assign);
	g_test_add_func("/net/ip-assign-repairs",
			test_net_ip_assign_repairs);
	for (size_t i = 0; i < G_N_ELEMENTS(bad_files); i++) {
		g_autofree char *p = g_strdup_printf(
			"/inventory/rejects-bad-file/%s", bad_files[i].name);
		g_test_add_data_func(p, &bad_files[i],
				     test_inventory_rejects_bad_file);
	}
	return g_test_run();
}
