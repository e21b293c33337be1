/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qmgrd's event stream, end to end: a real qmgrd (libvirt's test driver
 * standing in for QEMU, a small fake template) and the tools' client.  A
 * subscriber sees vm-added, vm-property, vm-tags and vm-removed for what
 * another client does, in order.
 *
 *   test-events BUILD_DIR
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"

#ifdef NDEBUG
#error "tests need assertions"
#endif

static const char *build;
static char *tmp;
static GPid qmgrd_pid;

static void write_file(const char *dir, const char *name, const char *text,
		       gssize len)
{
	g_autofree char *p = g_build_filename(dir, name, NULL);
	g_assert_true(g_file_set_contents(p, text, len, NULL));
}

static void start_qmgrd(void)
{
	tmp = g_dir_make_tmp("qmgr-events-XXXXXX", NULL);
	g_autofree char *tdir = g_build_filename(tmp, "templates", "minimal",
						 NULL);
	g_assert_cmpint(g_mkdir_with_parents(tdir, 0755), ==, 0);
	char zeros[4096] = { 0 };
	write_file(tdir, "vmlinux", zeros, sizeof(zeros));
	write_file(tdir, "initramfs.cpio.gz", zeros, sizeof(zeros));
	g_autofree char *img = g_build_filename(tdir, "root.img", NULL);
	const char *mk[] = { "qemu-img", "create", "-q", "-f", "raw", img,
			     "1M", NULL };
	gint status = -1;
	g_assert_true(g_spawn_sync(NULL, (char **)mk, NULL, G_SPAWN_SEARCH_PATH,
				   NULL, NULL, NULL, NULL, &status, NULL));
	g_assert_cmpint(status, ==, 0);
	write_file(tdir, "template.conf",
		   "[Template]\nname=minimal\nkernel=vmlinux\n"
		   "initramfs=initramfs.cpio.gz\nroot=root.img\n"
		   "kernel_cmdline=console=ttyS0\nmemory=128\nvcpus=1\n", -1);

	g_autofree char *root = g_build_filename(tmp, "root", NULL);
	g_autofree char *templates = g_build_filename(tmp, "templates", NULL);
	g_autofree char *qmgrd = g_build_filename(build, "qmgrd", "qmgrd",
						  NULL);
	const char *argv[] = { qmgrd, "--root", root, "--libvirt-uri",
			       "test:///default", "--template-dir", templates,
			       NULL };
	g_assert_true(g_spawn_async(NULL, (char **)argv, NULL,
				    G_SPAWN_DO_NOT_REAP_CHILD |
					    G_SPAWN_STDOUT_TO_DEV_NULL |
					    G_SPAWN_STDERR_TO_DEV_NULL,
				    NULL, NULL, &qmgrd_pid, NULL));
	g_setenv("QMGR_ROOT", root, TRUE);
}

static struct qm_client *connect_when_ready(void)
{
	for (int i = 0; i < 200; i++) {
		g_autoptr(GError) err = NULL;
		struct qm_client *c = qm_client_connect("test-events", &err);
		if (c != NULL) {
			/* wait for the first-start import to finish */
			g_autoptr(GVariant) r = qm_client_call(c, "vm.List", "",
							       NULL, NULL);
			GVariant *vms = g_variant_lookup_value(
				r, "vms", G_VARIANT_TYPE("aa{sv}"));
			gsize n = vms ? g_variant_n_children(vms) : 0;
			if (vms)
				g_variant_unref(vms);
			if (n == 2)
				return c;
			qm_client_destroy(c);
		}
		g_usleep(50000);
	}
	g_assert_not_reached();
}

struct seen {
	GPtrArray *lines;     /* "event vm key=value" */
	guint want;
};

static bool on_event(const char *event, const char *vm, GVariant *props,
		     void *data)
{
	struct seen *s = data;
	const char *prop = NULL, *value = NULL;
	g_variant_lookup(props, "property", "&s", &prop);
	g_variant_lookup(props, "value", "&s", &value);
	g_ptr_array_add(s->lines,
			g_strdup_printf("%s %s%s%s%s%s", event, vm,
					prop ? " " : "", prop ? prop : "",
					value ? "=" : "", value ? value : ""));
	return s->lines->len < s->want;
}

static void call_ok(struct qm_client *c, const char *method, const char *vm,
		    GVariant *args)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GVariant) r = qm_client_call(c, method, vm, args, &err);
	g_assert_no_error(err);
	g_assert_nonnull(r);
}

static GVariant *dict1(const char *k1, const char *v1, const char *k2,
		       const char *v2)
{
	GVariantDict d;
	g_variant_dict_init(&d, NULL);
	g_variant_dict_insert(&d, k1, "s", v1);
	if (k2)
		g_variant_dict_insert(&d, k2, "s", v2);
	return g_variant_dict_end(&d);
}

static void test_events_follow_changes(void)
{
	g_autoptr(qm_client) sub = connect_when_ready();
	g_autoptr(qm_client) actor = connect_when_ready();
	struct seen s = { g_ptr_array_new_with_free_func(g_free), 5 };
	g_autoptr(GError) err = NULL;

	g_assert_true(qm_client_subscribe(sub, on_event, &s, NULL, &err));
	call_ok(actor, "vm.Create", "work", dict1("label", "blue", NULL, NULL));
	call_ok(actor, "vm.prefs.Set", "work",
		dict1("property", "memory", "value", "300"));
	call_ok(actor, "vm.tags.Add", "work", dict1("tag", "corp", NULL, NULL));
	call_ok(actor, "global.prefs.Set", "",
		dict1("property", "default_dispvm", "value", ""));
	call_ok(actor, "vm.Remove", "work", NULL);

	g_assert_true(qm_client_dispatch(sub, 10000, &err));
	g_assert_no_error(err);
	const char *want[] = {
		"vm-added work",
		"vm-property work memory=300",
		"vm-tags work",
		"vm-property  default_dispvm=",
		"vm-removed work",
	};
	g_assert_cmpuint(s.lines->len, ==, G_N_ELEMENTS(want));
	for (guint i = 0; i < G_N_ELEMENTS(want); i++)
		g_assert_cmpstr(g_ptr_array_index(s.lines, i), ==, want[i]);
	g_ptr_array_free(s.lines, TRUE);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	build = argc > 1 ? argv[1] : ".";
	start_qmgrd();
	g_test_add_func("/events/follow-changes", test_events_follow_changes);
	int rc = g_test_run();
	kill(qmgrd_pid, SIGTERM);
	waitpid(qmgrd_pid, NULL, 0);
	g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmp);
	(void)!system(cmd);
	return rc;
}
