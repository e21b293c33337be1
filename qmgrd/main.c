/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qmgrd: the compartment manager daemon.
 *
 *   qmgrd [--root DIR] [--libvirt-uri URI] [--accel auto|kvm|tcg]
 *         [--template-dir DIR] [--start-timeout S] [--prompt-timeout S]
 *         [--max-calls N] [--ip-range CIDR] [--uplink IFACE]...
 *         [--dns-upstream ADDR]...
 *
 * Keeps the inventory, runs qubes through libvirt, and serves the admin
 * API.  Exiting (SIGTERM/SIGINT) leaves running qubes alone; the next
 * qmgrd adopts them.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "atomic-file.h"
#include "disposable.h"
#include "dispvm-pool.h"
#include "libvirt-conn.h"
#include "lifecycle.h"
#include "net.h"
#include "prompt.h"
#include "rpc.h"
#include "run.h"
#include "template-store.h"
#include "volumes.h"

static void paths_init(struct qm_paths *p, const char *root,
		       const char *template_dir)
{
	p->root = g_strdup(root ? root : "");
	if (root != NULL) {
		p->etc = g_strconcat(root, "/etc/qmgr", NULL);
		p->lib = g_strconcat(root, "/var/lib/qmgr", NULL);
		p->run = g_strconcat(root, "/run/qmgr", NULL);
		p->logs = g_strconcat(root, "/var/log/qmgr", NULL);
	} else {
		/* As configured (meson --sysconfdir, --localstatedir,
		 * -Drundir); the tools find the socket the same way. */
		p->etc = g_build_filename(QMGR_SYSCONFDIR, "qmgr", NULL);
		p->lib = g_build_filename(QMGR_LOCALSTATEDIR, "lib", "qmgr",
					  NULL);
		p->run = g_build_filename(QMGR_RUNDIR, "qmgr", NULL);
		p->logs = g_build_filename(QMGR_LOCALSTATEDIR, "log", "qmgr",
					   NULL);
	}
	p->socket = g_build_filename(p->run, "qmgrd.sock", NULL);
	p->inventory = g_build_filename(p->lib, "qmgr.xml", NULL);
	p->vms = g_build_filename(p->lib, "vms", NULL);
	p->template_src = g_strdup(template_dir
					   ? template_dir
					   : QMGR_DATADIR "/qmgr/templates");
}

static void paths_clear(struct qm_paths *p)
{
	g_free(p->root);
	g_free(p->etc);
	g_free(p->lib);
	g_free(p->run);
	g_free(p->logs);
	g_free(p->socket);
	g_free(p->inventory);
	g_free(p->vms);
	g_free(p->template_src);
}

static bool make_dirs(struct qm_paths *p, GError **error)
{
	/* 0755 along the way: QEMU (another user) must reach the images. */
	const char *dirs[] = { p->etc, p->lib, p->vms, p->run, p->logs };
	for (size_t i = 0; i < G_N_ELEMENTS(dirs); i++) {
		if (g_mkdir_with_parents(dirs[i], 0755) < 0) {
			g_set_error(error, G_FILE_ERROR,
				    g_file_error_from_errno(errno),
				    "cannot create %s: %s", dirs[i],
				    g_strerror(errno));
			return false;
		}
	}
	return true;
}

/* This installation's id, made once: it marks the libvirt domains this
 * qmgrd owns, so that instances sharing a libvirtd keep apart. */
static char *instance_id(struct qm_paths *p, GError **error)
{
	g_autofree char *path = g_build_filename(p->lib, "instance-id", NULL);
	g_autofree char *id = NULL;
	if (g_file_get_contents(path, &id, NULL, NULL)) {
		g_strstrip(id);
		bool ok = strlen(id) == 8;
		for (const char *c = id; ok && *c; c++)
			ok = g_ascii_isxdigit(*c);
		if (ok)
			return g_steal_pointer(&id);
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "%s is corrupt (expected 8 hex digits); restore "
			    "it, or remove it if no qube of this qmgrd is "
			    "running", path);
		return NULL;
	}
	g_autofree char *uuid = g_uuid_string_random();
	id = g_strndup(uuid, 8);
	g_autofree char *line = g_strconcat(id, "\n", NULL);
	if (!qm_atomic_write(path, line, strlen(line), 0644, error))
		return NULL;
	return g_steal_pointer(&id);
}

/* Directories under vms/ that no qube owns: left by a crash during
 * create or remove. */
static void collect_orphans(struct qmgrd *d)
{
	g_autoptr(GDir) dir = g_dir_open(d->paths.vms, 0, NULL);
	const char *n;
	g_autoptr(GPtrArray) junk = g_ptr_array_new_with_free_func(g_free);
	while (dir && (n = g_dir_read_name(dir)) != NULL)
		if (qm_inventory_find(d->inv, n) == NULL)
			g_ptr_array_add(junk, g_strdup(n));
	for (guint i = 0; i < junk->len; i++) {
		g_message("removing orphaned volumes of '%s'",
			  (char *)g_ptr_array_index(junk, i));
		qm_volumes_remove(d, g_ptr_array_index(junk, i));
	}
}

/* ---- first start: import the installed template ---- */

struct import_op {
	struct qmgrd *d;
	struct qm_vm *tmpl;
	struct qm_vm *dvm;
};

/* Imported qubes get their libvirt domain like created ones. */
static void define_domain(struct qmgrd *d, struct qm_vm *vm)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *xml = qm_lifecycle_domain_xml(d, vm, NULL, &err);
	if (xml == NULL)
		g_warning("cannot define the domain of '%s': %s", vm->name,
			  err->message);
	else
		qm_libvirt_define(d->lv, xml, NULL, NULL);
}

static void import_dvm_done(GError *error, void *data)
{
	struct import_op *op = data;
	struct qmgrd *d = op->d;
	GError *err = NULL;
	if (error != NULL) {
		g_warning("cannot create default-dvm: %s", error->message);
		qm_net_ip_unreserve(d->inv, op->dvm);
		qm_volumes_remove(d, op->dvm->name);
		qm_vm_destroy(op->dvm);
		g_free(op);
		return;
	}
	qm_inventory_add(d->inv, op->dvm);
	qm_inventory_set_global(d->inv, "default_dispvm", "default-dvm");
	define_domain(d, op->dvm);
	if (!qmgrd_save(d, &err)) {
		g_warning("%s", err->message);
		g_error_free(err);
	}
	g_message("first start: imported template 'minimal' and created "
		  "'default-dvm'");
	qm_net_changed(d);
	g_free(op);
}

static void import_template_done(GError *error, void *data)
{
	struct import_op *op = data;
	struct qmgrd *d = op->d;
	GError *err = NULL;
	if (error != NULL) {
		g_warning("cannot import the default template: %s",
			  error->message);
		qm_volumes_remove(d, op->tmpl->name);
		qm_vm_destroy(op->tmpl);
		g_free(op);
		return;
	}
	qm_inventory_add(d->inv, op->tmpl);
	qm_inventory_set_global(d->inv, "default_template", op->tmpl->name);
	define_domain(d, op->tmpl);
	if (!qmgrd_save(d, &err)) {
		g_warning("%s", err->message);
		g_error_free(err);
	}
	/* As Qubes ships: an AppVM that disposables are based on. */
	op->dvm = qm_vm_create("default-dvm", POL_CLASS_APPVM, NULL);
	qm_vm_prop_set(op->dvm, "template_for_dispvms", "True");
	qm_vm_prop_set(op->dvm, "label", "red");
	if (!qm_net_ip_assign(d->inv, op->dvm, NULL, &err)) {
		g_warning("%s", err->message);
		g_clear_error(&err);
	}
	qm_volumes_create(d, op->dvm, NULL, NULL, import_dvm_done, op);
}

static void first_start(struct qmgrd *d)
{
	if (d->inv->vms->len > 0)
		return;
	g_autofree char *src = g_build_filename(d->paths.template_src,
						"minimal", NULL);
	g_autofree char *conf = g_build_filename(src, "template.conf", NULL);
	if (!g_file_test(conf, G_FILE_TEST_EXISTS)) {
		g_message("no installed template at %s: nothing imported", src);
		return;
	}
	struct import_op *op = g_new0(struct import_op, 1);
	op->d = d;
	op->tmpl = qm_vm_create("minimal", POL_CLASS_TEMPLATEVM, NULL);
	qm_vm_prop_set(op->tmpl, "label", "black");
	g_autoptr(GKeyFile) kf = g_key_file_new();
	if (g_key_file_load_from_file(kf, conf, G_KEY_FILE_NONE, NULL))
		qm_template_sizing_apply(op->tmpl, kf);
	g_message("first start: importing template from %s", src);
	qm_volumes_import_template(d, op->tmpl, src, import_template_done, op);
}

/* After adoption (running qubes keep the addresses their taps have):
 * every networked qube has an address from the current range. */
static void assign_addresses(struct qmgrd *d)
{
	char net[QM_IPV4_STR_SIZE];
	unsigned changed = 0;
	GError *err = NULL;

	qm_ipv4_format(d->inv->ip_range.net, net);
	g_message("qubes' addresses come from %s/%u", net,
		  d->inv->ip_range.prefix);
	if (!qm_net_ip_assign_all(d->inv, &changed, &err)) {
		g_warning("%s", err->message);
		g_clear_error(&err);
	}
	if (changed > 0 && !qmgrd_save(d, &err)) {
		g_warning("%s", err->message);
		g_error_free(err);
	}
	qm_net_changed(d);
}

static void autostart_done(GError *error, const char *code, void *data)
{
	char *name = data;
	if (error != NULL)
		g_warning("autostart of '%s' failed: %s", name, error->message);
	g_free(name);
}

static void autostart(struct qmgrd *d)
{
	for (guint i = 0; i < d->inv->vms->len; i++) {
		struct qm_vm *vm = g_ptr_array_index(d->inv->vms, i);
		g_autofree char *a = qm_inventory_prop(d->inv, vm, "autostart");
		if (strcmp(a, "True") == 0 && qm_vm_is_down(vm))
			qm_lifecycle_start(d, vm, autostart_done,
					   g_strdup(vm->name));
	}
}

static gboolean on_signal(gpointer data)
{
	struct qmgrd *d = data;
	g_message("exiting; running qubes are left running");
	g_main_loop_quit(d->loop);
	return G_SOURCE_CONTINUE;
}

int main(int argc, char **argv)
{
	struct qmgrd d = { 0 };
	g_autofree char *root = NULL, *uri = NULL, *accel = NULL;
	g_autofree char *template_dir = NULL;
	g_autofree char *ip_range = NULL;
	g_auto(GStrv) uplinks = NULL;
	g_auto(GStrv) dns_upstream = NULL;
	int start_timeout = 120;
	int prompt_timeout = 60;
	int max_calls = QM_STREAMS_MAX;
	GError *err = NULL;
	int rc = EXIT_FAILURE;
	GOptionEntry entries[] = {
		{ "root", 0, 0, G_OPTION_ARG_FILENAME, &root,
		  "Keep all state under DIR (DIR/etc/qmgr, DIR/var/lib/qmgr, "
		  "DIR/run/qmgr)", "DIR" },
		{ "libvirt-uri", 0, 0, G_OPTION_ARG_STRING, &uri,
		  "libvirt connection (default qemu:///system)", "URI" },
		{ "accel", 0, 0, G_OPTION_ARG_STRING, &accel,
		  "auto, kvm or tcg (default auto)", "ACCEL" },
		{ "template-dir", 0, 0, G_OPTION_ARG_FILENAME, &template_dir,
		  "Installed templates (default " QMGR_DATADIR
		  "/qmgr/templates)", "DIR" },
		{ "start-timeout", 0, 0, G_OPTION_ARG_INT, &start_timeout,
		  "Seconds a qube may take to report in (default 120)", "S" },
		{ "prompt-timeout", 0, 0, G_OPTION_ARG_INT, &prompt_timeout,
		  "Seconds the user has to answer an ask prompt (default 60)",
		  "S" },
		{ "max-calls", 0, 0, G_OPTION_ARG_INT, &max_calls,
		  "Commands and calls one qube may have open at once "
		  "(1 to 64, default 64)", "N" },
		{ "ip-range", 0, 0, G_OPTION_ARG_STRING, &ip_range,
		  "IPv4 network the qubes' addresses come from, /16 to /28; "
		  "the first address is their gateway (default "
		  QM_IP_RANGE_DEFAULT ")", "CIDR" },
		{ "uplink", 0, 0, G_OPTION_ARG_STRING_ARRAY, &uplinks,
		  "An interface sys-net stands for (repeat for more; default: "
		  "where the IPv4 default routes leave)", "IFACE" },
		{ "dns-upstream", 0, 0, G_OPTION_ARG_STRING_ARRAY,
		  &dns_upstream,
		  "The resolver the qubes' DNS address (10.139.1.1) is "
		  "forwarded to (default: the nameservers of "
		  "/etc/resolv.conf that are not the host itself)", "ADDR" },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx =
		g_option_context_new("- the qmgr compartment manager");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		fprintf(stderr, "qmgrd: %s\n", err->message);
		g_error_free(err);
		return 2;
	}
	enum qm_accel wanted = QM_ACCEL_AUTO;
	if (accel != NULL && !qm_accel_parse(accel, &wanted)) {
		fprintf(stderr, "qmgrd: --accel %s: expected auto, kvm or "
				"tcg\n", accel);
		return 2;
	}
	if (start_timeout < 1 || start_timeout > 3600) {
		fprintf(stderr, "qmgrd: --start-timeout: 1 to 3600 seconds\n");
		return 2;
	}
	if (prompt_timeout < 1 || prompt_timeout > 3600) {
		fprintf(stderr, "qmgrd: --prompt-timeout: 1 to 3600 seconds\n");
		return 2;
	}
	if (max_calls < 1 || max_calls > QM_STREAMS_MAX) {
		fprintf(stderr, "qmgrd: --max-calls: 1 to %d\n",
			QM_STREAMS_MAX);
		return 2;
	}
	qm_run_set_limit((unsigned)max_calls);
	struct qm_ip_range range;
	const char *range_why = NULL;
	if (!qm_ip_range_parse(ip_range ? ip_range : QM_IP_RANGE_DEFAULT,
			       &range, &range_why)) {
		fprintf(stderr, "qmgrd: --ip-range %s: %s\n", ip_range,
			range_why);
		return 2;
	}
	for (char **u = uplinks; u && *u; u++) {
		if (**u == '\0' || strlen(*u) >= 16 || strchr(*u, '/') ||
		    strchr(*u, '*') || strchr(*u, '"') || g_str_has_prefix(*u, "qm")) {
			fprintf(stderr, "qmgrd: --uplink '%s': not an interface "
				"name (up to 15 characters, not one of qmgr's "
				"own qm* taps)\n", *u);
			return 2;
		}
	}
	GArray *dns = g_array_new(FALSE, FALSE, sizeof(guint32));
	for (char **a = dns_upstream; a && *a; a++) {
		guint32 addr;
		if (!qm_ipv4_parse(*a, &addr) || (addr >> 24) == 127 ||
		    addr == 0) {
			fprintf(stderr, "qmgrd: --dns-upstream '%s': give the "
				"IPv4 address of a resolver the qubes can be "
				"forwarded to (not the host's own 127.x)\n",
				*a);
			g_array_unref(dns);
			return 2;
		}
		g_array_append_val(dns, addr);
	}
	if (root != NULL && !g_path_is_absolute(root)) {
		g_autofree char *cwd = g_get_current_dir();
		char *abs = g_build_filename(cwd, root, NULL);
		g_free(root);
		root = abs;
	}

	/* A client that goes away mid-write is an error on that
	 * connection, not a reason to die. */
	signal(SIGPIPE, SIG_IGN);
	paths_init(&d.paths, root, template_dir);
	d.libvirt_uri = g_strdup(uri ? uri : "qemu:///system");
	d.start_timeout_s = start_timeout;
	d.prompt_timeout_s = prompt_timeout;
	d.prompt = qm_prompt_create(&d);
	d.loop = g_main_loop_new(NULL, FALSE);
	d.uplinks = uplinks && *uplinks ? g_strdupv(uplinks)
					: qm_net_default_uplinks();
	if (dns->len == 0) {
		g_array_unref(dns);
		dns = qm_net_default_dns("/etc/resolv.conf");
	}
	d.dns_upstream = dns;
	{
		g_autofree char *ups = g_strjoinv(", ", d.uplinks);
		g_message("network: sys-net is %s; DNS forwarded to %u "
			  "resolver%s", *ups ? ups : "nothing (no default "
			  "route: give --uplink)", d.dns_upstream->len,
			  d.dns_upstream->len == 1 ? "" : "s");
	}
	g_autofree char *why = NULL;
	d.accel = qm_accel_choose(wanted, "/proc/cpuinfo", "/dev/kvm", &why);
	g_message("%s", why);

	if (!make_dirs(&d.paths, &err) ||
	    (d.instance = instance_id(&d.paths, &err)) == NULL)
		goto fail;
	d.inv = qm_inventory_create(d.paths.inventory);
	d.inv->ip_range = range;
	d.inv->run_dir = g_strdup(d.paths.run);
	if (!qm_inventory_load(d.inv, &err)) {
		g_prefix_error(&err, "cannot read the inventory (it was not "
				     "changed; fix or restore it): ");
		goto fail;
	}
	d.lv = qm_libvirt_connect(&d, qm_lifecycle_domain_stopped,
				  qm_lifecycle_domain_paused, &err);
	if (d.lv == NULL)
		goto fail;
	d.admin = qm_admin_create(&d, &err);
	if (d.admin == NULL)
		goto fail;

	collect_orphans(&d);
	qm_lifecycle_adopt(&d);
	assign_addresses(&d);
	qm_disposable_cleanup(&d);
	/* after the cleanup: the pools fill with new disposables */
	qm_dispvm_pool_init(&d);
	first_start(&d);
	autostart(&d);
	g_unix_signal_add(SIGTERM, on_signal, &d);
	g_unix_signal_add(SIGINT, on_signal, &d);
	g_message("qmgrd %s ready on %s (instance %s, libvirt %s)",
		  QMGR_VERSION, d.paths.socket, d.instance, d.libvirt_uri);
	g_main_loop_run(d.loop);
	rc = EXIT_SUCCESS;
	goto out;
fail:
	fprintf(stderr, "qmgrd: %s\n", err->message);
	g_error_free(err);
out:
	/* Open questions are refused while their agents can still hear it. */
	g_clear_pointer(&d.prompt, qm_prompt_destroy);
	qm_admin_destroy(d.admin);
	if (d.inv != NULL)
		qm_net_finish(&d);
	qm_rpc_shutdown();
	qm_dispvm_pool_finish();
	if (d.inv != NULL)
		qm_lifecycle_detach_all(&d);
	qm_libvirt_close(d.lv);
	qm_inventory_destroy(d.inv);
	g_main_loop_unref(d.loop);
	g_free(d.instance);
	g_free(d.libvirt_uri);
	g_strfreev(d.uplinks);
	if (d.dns_upstream)
		g_array_unref(d.dns_upstream);
	paths_clear(&d.paths);
	return rc;
}
