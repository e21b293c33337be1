/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "lifecycle.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <grp.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "admin.h"
#include "conn.h"
#include "dispvm-pool.h"
#include "domain-xml.h"
#include "gui-proto.h"
#include "gui-region.h"
#include "libvirt-conn.h"
#include "net.h"
#include "run.h"
#include "template-store.h"
#include "volumes.h"

#define LIFE_ERROR g_quark_from_static_string("qm-lifecycle-error")

struct waiter {
	qm_life_done_fn done;
	void *data;
};

/* Runtime state of a qube that is not halted (vm->runtime). */
struct runtime {
	struct qmgrd *d;
	char *name;             /* the qube may be removed meanwhile: look
				   it up by name */
	struct qm_conn *agent;
	guint timer;            /* start or shutdown timeout */
	guint retry;            /* agent socket connect retry */
	guint nudge;            /* repeats SHUTDOWN while Halting */
	unsigned nudges;
	GArray *start_waiters;  /* struct waiter */
	GArray *stop_waiters;
	bool stopping;          /* shutdown or kill was asked for */
	bool pause_busy;        /* a pause or resume of ours is in flight:
				   libvirt's events for it are ours */
	bool agent_ready;
	guint32 agent_version;  /* from its HELLO */
	char *console_log;
	char *start_failure;    /* why a start is being abandoned */
	/* its shared GUI region while it runs (gui-region.c), or NULL */
	struct qm_gui_region *region;
	/* define-and-start is in libvirt's hands: on_created still holds
	 * this runtime, so a stop meanwhile (qvm-kill) leaves it to be freed
	 * there (orphaned) instead of freeing it under it. */
	bool creating;
	bool orphaned;
};

static struct qm_vm *vm_of(struct runtime *rt)
{
	return qm_inventory_find(rt->d->inv, rt->name);
}

static void set_state(struct qmgrd *d, struct qm_vm *vm,
		      enum qm_vm_state state, const char *detail)
{
	vm->state = state;
	g_free(vm->state_detail);
	vm->state_detail = g_strdup(detail ? detail : "");
	GVariantDict dict;
	g_variant_dict_init(&dict, NULL);
	g_variant_dict_insert(&dict, "state", "s", qm_vm_state_name(state));
	g_variant_dict_insert(&dict, "detail", "s", vm->state_detail);
	qm_admin_emit(d->admin, "vm-state", vm->name,
		      g_variant_dict_end(&dict));
	g_message("%s: %s%s%s", vm->name, qm_vm_state_name(state),
		  detail && *detail ? ": " : "", detail ? detail : "");
	/* A member of a pool may have changed, or a qube its members need. */
	qm_dispvm_pool_changed(d);
	/* A tap appears or goes away (or will). */
	qm_net_changed(d);
}

static void notify(GArray *waiters, GError *error, const char *code)
{
	/* Callbacks may add waiters: take the list first. */
	g_autoptr(GArray) list = g_array_copy(waiters);
	g_array_set_size(waiters, 0);
	for (guint i = 0; i < list->len; i++) {
		struct waiter *w = &g_array_index(list, struct waiter, i);
		w->done(error, code, w->data);
	}
}

static struct runtime *runtime_get(struct qmgrd *d, struct qm_vm *vm)
{
	if (vm->runtime == NULL) {
		struct runtime *rt = g_new0(struct runtime, 1);
		rt->d = d;
		rt->name = g_strdup(vm->name);
		rt->start_waiters = g_array_new(FALSE, FALSE,
						sizeof(struct waiter));
		rt->stop_waiters = g_array_new(FALSE, FALSE,
					       sizeof(struct waiter));
		vm->runtime = rt;
	}
	return vm->runtime;
}

static void clear_timers(struct runtime *rt)
{
	if (rt->timer)
		g_source_remove(rt->timer);
	if (rt->retry)
		g_source_remove(rt->retry);
	if (rt->nudge)
		g_source_remove(rt->nudge);
	rt->timer = rt->retry = rt->nudge = 0;
}

static void rt_free(struct runtime *rt)
{
	clear_timers(rt);
	qm_conn_destroy(rt->agent);
	qm_gui_region_destroy(rt->region);
	g_array_free(rt->start_waiters, TRUE);
	g_array_free(rt->stop_waiters, TRUE);
	g_free(rt->console_log);
	g_free(rt->start_failure);
	g_free(rt->name);
	g_free(rt);
}

static void runtime_free(struct qm_vm *vm)
{
	if (vm->runtime == NULL)
		return;
	rt_free(vm->runtime);
	vm->runtime = NULL;
}

static GError *error_new(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static GError *error_new(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	GError *e = g_error_new_valist(LIFE_ERROR, 1, fmt, ap);
	va_end(ap);
	return e;
}

/* The domain is gone: clean up and tell everyone. */
static void finish_stopped(struct qmgrd *d, struct qm_vm *vm, bool crashed,
			   const char *why)
{
	struct runtime *rt = vm->runtime;

	qm_volumes_drop_volatile(d, vm->name);
	/* QEMU has gone, and with it its fd: ours was the last but those
	 * gui-proxy holds until it notices (docs/gui.md). */
	if (rt != NULL)
		g_clear_pointer(&rt->region, qm_gui_region_destroy);
	qm_run_agent_gone(d, vm->name, why ? why : "the qube stopped");
	/* Crashed stays until the next start, so users see it; a guest that
	 * powers itself off is simply Halted. */
	if (crashed)
		set_state(d, vm, QM_VM_CRASHED, why ? why : "the guest crashed");
	else
		set_state(d, vm, QM_VM_HALTED, why);
	if (rt == NULL)
		return;
	clear_timers(rt);
	if (rt->start_waiters->len > 0) {
		/* Answered only now, so the caller sees the qube halted. */
		g_autoptr(GError) e =
			rt->start_failure
				? error_new("%s", rt->start_failure)
				: error_new("'%s' stopped while starting%s%s "
					    "(console log: %s)",
					    vm->name, why ? ": " : "",
					    why ? why : "",
					    rt->console_log ? rt->console_log
							    : "?");
		notify(rt->start_waiters, e,
		       rt->start_failure ? QM_ERR_TIMEOUT : QM_ERR_LIBVIRT);
	}
	notify(rt->stop_waiters, NULL, NULL);
	/* A waiter may have removed the qube (a disposable whose start
	 * failed is destroyed at once): `vm` may be gone. */
	vm = vm_of(rt);
	if (rt->creating) {
		if (vm != NULL && vm->runtime == rt)
			vm->runtime = NULL;
		rt->orphaned = true;
		return;
	}
	if (vm != NULL && vm->runtime == rt)
		runtime_free(vm);
	else
		rt_free(rt);
}

void qm_lifecycle_domain_stopped(struct qmgrd *d, const char *name,
				 bool crashed)
{
	struct qm_vm *vm = qm_inventory_find(d->inv, name);
	if (vm == NULL || qm_vm_is_down(vm))
		return;
	finish_stopped(d, vm, crashed,
		       crashed ? "the guest crashed (see its console log)"
			       : NULL);
}

/* ---- the agent channel ---- */

static void mark_dropped(struct runtime *rt, struct qm_vm *vm,
			 const char *why);

static void on_agent_message(struct qm_conn *c, struct qm_wire_msg *msg,
			     void *data)
{
	struct runtime *rt = data;
	struct qm_vm *vm = vm_of(rt);

	if (vm == NULL)
		return;
	if (msg->stream != 0 && rt->agent_ready) {
		GError *err = NULL;
		if (!qm_run_from_agent(rt->d, vm->name, msg, &err)) {
			qm_conn_close(rt->agent);
			rt->agent_ready = false;
			qm_run_agent_gone(rt->d, vm->name, err->message);
			mark_dropped(rt, vm, err->message);
			g_error_free(err);
		}
		return;
	}
	if (msg->type != QM_MSG_HELLO) {
		/* Nothing else is expected from a guest yet (issue #4 adds
		 * calls): a guest speaking out of turn loses its channel. */
		g_autofree char *why = g_strdup_printf(
			"unexpected message type %d", msg->type);
		qm_conn_close(rt->agent);
		rt->agent_ready = false;
		qm_run_agent_gone(rt->d, vm->name, why);
		mark_dropped(rt, vm, why);
		return;
	}
	guint32 version;
	const char *software;
	g_variant_get(msg->payload, "(u&s)", &version, &software);
	if (version < QM_WIRE_VERSION_1) {
		g_warning("%s: agent protocol version %u unsupported",
			  vm->name, version);
		qm_conn_close(rt->agent);
		return;
	}
	if (rt->agent_ready)
		return;
	rt->agent_ready = true;
	rt->agent_version = version;
	if (vm->state == QM_VM_HALTING) {
		/* reconnected while shutting down: ask again */
		qm_conn_send(rt->agent, QM_MSG_SHUTDOWN, 0, NULL);
		return;
	}
	if (rt->timer && !rt->stopping) {
		g_source_remove(rt->timer);
		rt->timer = 0;
	}
	if (vm->state == QM_VM_TRANSIENT) {
		set_state(rt->d, vm, QM_VM_RUNNING, "");
		notify(rt->start_waiters, NULL, NULL);
	}
}

/* A guest that breaks the protocol loses its channel; the daemon and every
 * other qube go on.  The qube is marked (its state detail says why and a
 * vm-state event tells subscribers) so users see it. */
static void mark_dropped(struct runtime *rt, struct qm_vm *vm,
			 const char *why)
{
	g_warning("%s: agent channel dropped: %s", vm->name, why);
	g_free(vm->state_detail);
	vm->state_detail = g_strdup_printf("agent channel dropped: %s", why);
	GVariantDict dict;
	g_variant_dict_init(&dict, NULL);
	g_variant_dict_insert(&dict, "state", "s",
			      qm_vm_state_name(vm->state));
	g_variant_dict_insert(&dict, "detail", "s", vm->state_detail);
	qm_admin_emit(rt->d->admin, "vm-state", vm->name,
		      g_variant_dict_end(&dict));
}

static void on_agent_closed(struct qm_conn *c, const GError *why, void *data)
{
	struct runtime *rt = data;
	struct qm_vm *vm = vm_of(rt);

	rt->agent_ready = false;
	if (vm != NULL)
		qm_run_agent_gone(rt->d, vm->name,
				  why ? why->message : "closed");
	if (vm == NULL || rt->stopping)
		return;
	mark_dropped(rt, vm, why ? why->message : "closed");
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static gboolean try_agent(gpointer data);

/* Connects to the QEMU end of the agent's virtio-serial port and says
 * HELLO; the agent answers with its own once it runs. */
static void attach_agent(struct runtime *rt, const char *socket_path)
{
	int fd = connect_unix(socket_path);
	if (fd < 0) {
		/* QEMU may not listen yet: try again shortly. */
		if (rt->retry == 0)
			rt->retry = g_timeout_add(100, try_agent, rt);
		return;
	}
	g_autofree char *peer = g_strdup_printf("agent of %s", rt->name);
	rt->agent = qm_conn_create(fd, peer, on_agent_message,
				   on_agent_closed, rt, NULL);
	qm_conn_send(rt->agent, QM_MSG_HELLO, 0,
		     g_variant_new("(us)", QM_WIRE_VERSION,
				   "qmgrd " QMGR_VERSION));
}

static char *agent_socket_path(struct qmgrd *d, const char *vm)
{
	return g_build_filename(d->paths.run, "vms", vm, "agent.sock", NULL);
}

static gboolean try_agent(gpointer data)
{
	struct runtime *rt = data;
	rt->retry = 0;
	if (rt->agent != NULL || vm_of(rt) == NULL)
		return G_SOURCE_REMOVE;
	g_autofree char *path = agent_socket_path(rt->d, rt->name);
	attach_agent(rt, path);
	return G_SOURCE_REMOVE;
}

/* ---- start ---- */

static gboolean start_timed_out(gpointer data)
{
	struct runtime *rt = data;
	struct qm_vm *vm = vm_of(rt);
	rt->timer = 0;
	if (vm == NULL || vm->state != QM_VM_TRANSIENT)
		return G_SOURCE_REMOVE;
	g_free(rt->start_failure);
	rt->start_failure = g_strdup_printf(
		"'%s' did not report in within %d s; its console log is %s. "
		"The domain was stopped.",
		vm->name, rt->d->start_timeout_s, rt->console_log);
	rt->stopping = true;
	qm_lifecycle_kill(rt->d, vm, NULL, NULL);
	return G_SOURCE_REMOVE;
}

/* QEMU made the GUI channel's socket: the user session's gui-proxy
 * (group qmgr, as for the admin socket) may connect to it.  QEMU takes
 * one connection at a time. */
static void share_gui_socket(struct qmgrd *d, const struct qm_vm *vm)
{
	g_autofree char *path = qm_inventory_gui_socket(d->paths.run,
							 vm->name);
	if (!g_file_test(path, G_FILE_TEST_EXISTS))
		return;         /* started without a GUI channel */
	struct group *gr = getgrnam("qmgr");
	if (gr != NULL && chown(path, 0, gr->gr_gid) < 0)
		g_warning("%s: cannot give %s to group qmgr: %s", vm->name,
			  path, g_strerror(errno));
	if (chmod(path, 0660) < 0)
		g_warning("%s: cannot make %s usable by group qmgr: %s",
			  vm->name, path, g_strerror(errno));
}

static char *qemu_pidfile(struct qmgrd *d, const char *vm)
{
	g_autofree char *dom = qm_libvirt_domain_name(d, vm);
	return g_strdup_printf("/run/libvirt/qemu/%s.pid", dom);
}

/* The qube's shared GUI region, made anew (or with `adopt`, QEMU's after
 * a qmgrd restart), or NULL (logged; its windows then come through the
 * stream, or with `adopt` false it does not start). */
static struct qm_gui_region *gui_region(struct qmgrd *d,
					const struct qm_vm *vm, bool adopt,
					GError **error)
{
	g_autofree char *memfd = qm_inventory_gui_shm_name(d->instance,
							   vm->name);
	g_autofree char *qemu = qm_inventory_gui_shm_socket(d->paths.run,
							    vm->name, true);
	g_autofree char *proxy = qm_inventory_gui_shm_socket(d->paths.run,
							     vm->name, false);
	g_autofree char *pidfile = qemu_pidfile(d, vm->name);
	struct qm_gui_region_spec spec = {
		.vm = vm->name,
		.memfd_name = memfd,
		.size = (uint64_t)QM_GUI_SHM_DEFAULT_MIB << 20,
		.qemu_socket = adopt ? NULL : qemu,
		.qemu_uid = qm_libvirt_qemu_uid(d->lv,
						d->accel == QM_ACCEL_KVM),
		.qemu_pidfile = pidfile,
		.proxy_socket = proxy,
	};
	return adopt ? qm_gui_region_adopt(&spec, error)
		     : qm_gui_region_create(&spec, error);
}

static void on_created(GError *error, void *data)
{
	struct runtime *rt = data;
	rt->creating = false;
	if (rt->orphaned) {
		/* Stopped (killed) while libvirt was starting it. */
		rt_free(rt);
		return;
	}
	struct qm_vm *vm = vm_of(rt);
	if (vm == NULL)
		return;
	if (error != NULL) {
		g_autoptr(GError) e = error_new("cannot start '%s': %s",
						vm->name, error->message);
		notify(rt->start_waiters, e, QM_ERR_LIBVIRT);
		qm_volumes_drop_volatile(rt->d, vm->name);
		set_state(rt->d, vm, QM_VM_HALTED, error->message);
		runtime_free(vm);
		return;
	}
	rt->timer = g_timeout_add_seconds(rt->d->start_timeout_s,
					  start_timed_out, rt);
	qm_net_vm_started(rt->d, vm);
	share_gui_socket(rt->d, vm);
	g_autofree char *path = agent_socket_path(rt->d, vm->name);
	attach_agent(rt, path);
}

/* What a qube boots: its template's (or its own) kernel, root and
 * command line. */
struct boot {
	char *kernel, *initrd, *cmdline, *root_base;
	bool own_root;
};

static void boot_clear(struct boot *b)
{
	g_free(b->kernel);
	g_free(b->initrd);
	g_free(b->cmdline);
	g_free(b->root_base);
}

/* The qube whose root `vm` boots: itself for a TemplateVM/StandaloneVM,
 * else its TemplateVM, following a DispVM's disposable template. */
static struct qm_vm *root_owner(struct qmgrd *d, struct qm_vm *vm)
{
	struct qm_vm *t = vm;
	for (int depth = 0; t != NULL && depth < 4; depth++) {
		if (t->cls == POL_CLASS_TEMPLATEVM ||
		    t->cls == POL_CLASS_STANDALONEVM)
			return t;
		g_autofree char *next = qm_inventory_prop(d->inv, t,
							  "template");
		t = *next ? qm_inventory_find(d->inv, next) : NULL;
	}
	return NULL;
}

/*
 * A TemplateVM that `qvm-template install` put into the template store
 * (docs/templates.md) boots from the current revision there, which the
 * store's state file names at each start: so a qube uses a new revision
 * (or, after a rollback, the previous one) from its next start.  Returns
 * false without an error when `name` is not in the store.
 */
static bool store_boot(struct qmgrd *d, const char *name, struct boot *b,
		       char **cmdline, GError **error)
{
	g_autofree char *rev = NULL;
	g_autoptr(GKeyFile) kf = qm_store_current(d, name, &rev, error);
	if (kf == NULL)
		return false;
	/* verified at install; still only plain names */
	char *files[3] = { NULL, NULL, NULL };
	if (!qm_template_files(kf, rev, files, error))
		return false;
	b->kernel = files[0];
	b->initrd = files[1];
	b->root_base = files[2];
	*cmdline = g_key_file_get_string(kf, "Template", "kernel_cmdline",
					 NULL);
	return true;
}

static bool boot_for(struct qmgrd *d, struct qm_vm *vm, struct boot *b,
		     GError **error)
{
	const char *owner = vm->name;
	b->own_root = vm->cls == POL_CLASS_TEMPLATEVM ||
		      vm->cls == POL_CLASS_STANDALONEVM;
	if (!b->own_root) {
		struct qm_vm *t = root_owner(d, vm);
		if (t == NULL) {
			g_set_error(error, LIFE_ERROR, 1,
				    "'%s' has no TemplateVM to boot from "
				    "(qvm-prefs %s template NAME)", vm->name,
				    vm->name);
			return false;
		}
		owner = t->name;
	}
	g_autofree char *base = NULL;
	/* (a qube being created is not in the inventory yet) */
	struct qm_vm *ov = owner == vm->name ? vm
					     : qm_inventory_find(d->inv, owner);
	if (ov != NULL && ov->cls == POL_CLASS_TEMPLATEVM &&
	    store_boot(d, owner, b, &base, error)) {
		/* a revision is never written, not even by its TemplateVM */
		b->own_root = false;
	} else if (error != NULL && *error != NULL) {
		return false;
	} else {
		b->kernel = qm_volume_path(d, owner, "kernel");
		b->initrd = qm_volume_path(d, owner, "initramfs");
		b->root_base = qm_volume_path(d, owner, "root.qcow2");
		g_autofree char *conf = qm_volume_path(d, owner,
						       "template.conf");
		g_autoptr(GKeyFile) kf = g_key_file_new();
		if (g_key_file_load_from_file(kf, conf, G_KEY_FILE_NONE, NULL))
			base = g_key_file_get_string(kf, "Template",
						     "kernel_cmdline", NULL);
	}
	g_autofree char *opts = qm_inventory_prop(d->inv, vm, "kernelopts");
	/* The guest's rcS configures eth0 from these (no DHCP). */
	struct qm_vm_net n;
	g_autofree char *net = qm_net_vm_info(d->inv, d->instance, vm, &n)
		? g_strdup_printf(" qmgr.ip=%s qmgr.gw=%s qmgr.dns=%s", n.ip,
				  n.gateway, n.dns)
		: g_strdup("");
	b->cmdline = g_strdup_printf("%s qmgr.name=%s%s%s%s",
				     base ? base : "console=ttyS0 root=/dev/vda rw",
				     vm->name, net, *opts ? " " : "", opts);
	for (const char *f = b->kernel; f; f = f == b->kernel ? b->initrd
							     : NULL) {
		if (g_file_test(f, G_FILE_TEST_EXISTS))
			continue;
		if (ov != NULL && ov->cls == POL_CLASS_TEMPLATEVM &&
		    !g_file_test(b->root_base, G_FILE_TEST_EXISTS))
			/* made from the store, which no longer has it */
			g_set_error(error, LIFE_ERROR, 1,
				    "TemplateVM '%s' has no root of its own "
				    "and no template '%s' is in the template "
				    "store (qvm-template install it)", owner,
				    owner);
		else
			g_set_error(error, LIFE_ERROR, 1,
				    "%s is missing: the volumes of '%s' are "
				    "incomplete", f, owner);
		return false;
	}
	return true;
}

char *qm_lifecycle_domain_xml(struct qmgrd *d, struct qm_vm *vm,
			      char **root_base, GError **error)
{
	struct boot b = { 0 };
	if (!boot_for(d, vm, &b, error)) {
		boot_clear(&b);
		return NULL;
	}
	g_autofree char *sock = agent_socket_path(d, vm->name);
	g_autofree char *gui = qm_inventory_prop(d->inv, vm, "gui_socket");
	g_autofree char *gui_shm = *gui ? qm_inventory_gui_shm_name(
		d->instance, vm->name) : NULL;
	g_autofree char *gui_shm_server = *gui ? qm_inventory_gui_shm_socket(
		d->paths.run, vm->name, true) : NULL;
	g_autofree char *console = g_strdup_printf("%s/console-%s.log",
						   d->paths.logs, vm->name);
	g_autofree char *domname = qm_libvirt_domain_name(d, vm->name);
	g_autofree char *priv = qm_volume_path(d, vm->name, "private.qcow2");
	g_autofree char *root = qm_volume_path(
		d, vm->name, b.own_root ? "root.qcow2" : "volatile.qcow2");
	g_autofree char *mem = qm_inventory_prop(d->inv, vm, "memory");
	g_autofree char *vcpus = qm_inventory_prop(d->inv, vm, "vcpus");
	struct qm_vm_net n;
	bool net = qm_net_vm_info(d->inv, d->instance, vm, &n);
	struct qm_domain_spec spec = {
		.domain_name = domname,
		.uuid = vm->uuid,
		.instance = d->instance,
		.vm_name = vm->name,
		.accel = d->accel,
		.memory_mib = (unsigned)g_ascii_strtoull(mem, NULL, 10),
		.vcpus = (unsigned)g_ascii_strtoull(vcpus, NULL, 10),
		.kernel = b.kernel,
		.initrd = b.initrd,
		.cmdline = b.cmdline,
		.root_disk = root,
		.private_disk = priv,
		.agent_socket = sock,
		.gui_socket = *gui ? gui : NULL,
		.gui_shm_name = gui_shm,
		.gui_shm_server = gui_shm_server,
		.console_log = console,
		.net_tap = net ? n.tap : NULL,
		.net_mac = net ? n.mac : NULL,
	};
	char *xml = qm_domain_xml_build(&spec);
	if (root_base != NULL)
		*root_base = b.own_root ? NULL : g_strdup(b.root_base);
	boot_clear(&b);
	return xml;
}

struct start_op {
	struct runtime *rt;
	char *xml;
};

static void on_volatile_ready(GError *error, void *data)
{
	struct start_op *op = data;
	struct runtime *rt = op->rt;
	struct qm_vm *vm = vm_of(rt);
	if (vm == NULL || error != NULL) {
		if (vm != NULL) {
			g_autoptr(GError) e = error_new(
				"cannot prepare the root of '%s': %s",
				vm->name, error->message);
			notify(rt->start_waiters, e, QM_ERR_INTERNAL);
			set_state(rt->d, vm, QM_VM_HALTED, error->message);
			runtime_free(vm);
		}
		g_free(op->xml);
		g_free(op);
		return;
	}
	rt->creating = true;
	qm_libvirt_define_and_start(rt->d->lv, op->xml, on_created, rt);
	g_free(op->xml);
	g_free(op);
}

void qm_lifecycle_start(struct qmgrd *d, struct qm_vm *vm,
			qm_life_done_fn done, void *data)
{
	struct waiter w = { done, data };
	GError *err = NULL;

	if (vm->state == QM_VM_RUNNING) {
		g_autoptr(GError) e = error_new("'%s' is already running",
						vm->name);
		done(e, QM_ERR_STATE, data);
		return;
	}
	if (vm->state == QM_VM_TRANSIENT) {
		/* Already starting: answer when that start ends. */
		g_array_append_val(runtime_get(d, vm)->start_waiters, w);
		return;
	}
	if (vm->state == QM_VM_HALTING) {
		g_autoptr(GError) e = error_new(
			"'%s' is shutting down; start it again once halted",
			vm->name);
		done(e, QM_ERR_STATE, data);
		return;
	}
	if (vm->state == QM_VM_PAUSED) {
		g_autofree char *t = qm_inventory_prop(d->inv, vm, "template");
		g_autoptr(GError) e =
			vm->preload
				? error_new("'%s' is a preloaded disposable "
					    "waiting in the pool of '%s' "
					    "(qvm-run --dispvm=%s takes one)",
					    vm->name, t, t)
				: error_new("'%s' is paused (qvm-kill %s stops "
					    "it)", vm->name, vm->name);
		done(e, QM_ERR_STATE, data);
		return;
	}
	/* Preloaded disposables keep this qube's volumes open as the backing
	 * files of theirs, and QEMU's lock would refuse the start: the pool
	 * lets them go and then starts the qube again from here. */
	if (qm_dispvm_pool_release(d, vm, done, data))
		return;
	if (vm->cls == POL_CLASS_TEMPLATEVM) {
		for (guint i = 0; i < d->inv->vms->len; i++) {
			struct qm_vm *o = g_ptr_array_index(d->inv->vms, i);
			g_autofree char *t = qm_inventory_prop(d->inv, o,
							       "template");
			if (!qm_vm_is_down(o) &&
			    strcmp(t, vm->name) == 0) {
				g_autoptr(GError) e = error_new(
					"'%s' runs on this template; a "
					"TemplateVM starts only when none of "
					"its qubes runs", o->name);
				done(e, QM_ERR_STATE, data);
				return;
			}
		}
	}

	struct qm_vm *t = root_owner(d, vm);
	if (t != NULL && t != vm && !qm_vm_is_down(t)) {
		/* Its root is being changed: an overlay of it now would see a
		 * half-written filesystem. */
		g_autoptr(GError) e = error_new(
			"template '%s' of '%s' is running; shut it down first "
			"(qvm-shutdown --wait %s)", t->name, vm->name, t->name);
		done(e, QM_ERR_STATE, data);
		return;
	}
	if (!qm_net_prepare_start(d, vm, &err)) {
		done(err, QM_ERR_INVALID, data);
		g_error_free(err);
		return;
	}
	g_autofree char *root_base = NULL;
	g_autofree char *xml = qm_lifecycle_domain_xml(d, vm, &root_base, &err);
	if (xml == NULL) {
		done(err, QM_ERR_INVALID, data);
		g_error_free(err);
		return;
	}
	g_autofree char *run_dir = g_build_filename(d->paths.run, "vms",
						    vm->name, NULL);
	g_mkdir_with_parents(run_dir, 0755);
	g_autofree char *sock = agent_socket_path(d, vm->name);
	g_unlink(sock);
	g_autofree char *gui = qm_inventory_gui_socket(d->paths.run, vm->name);
	g_unlink(gui);
	g_autofree char *console = g_strdup_printf("%s/console-%s.log",
						   d->paths.logs, vm->name);

	/* Before libvirt starts QEMU, which asks for the region at once. */
	g_autofree char *gui_on = qm_inventory_prop(d->inv, vm, "gui_socket");
	struct qm_gui_region *region = NULL;
	if (*gui_on && (region = gui_region(d, vm, false, &err)) == NULL) {
		done(err, QM_ERR_INTERNAL, data);
		g_error_free(err);
		return;
	}

	struct runtime *rt = runtime_get(d, vm);
	g_array_append_val(rt->start_waiters, w);
	qm_gui_region_destroy(rt->region);
	rt->region = region;
	rt->stopping = false;
	rt->agent_ready = false;
	g_clear_pointer(&rt->start_failure, g_free);
	g_free(rt->console_log);
	rt->console_log = g_strdup(console);
	set_state(d, vm, QM_VM_TRANSIENT, "starting");

	struct start_op *op = g_new0(struct start_op, 1);
	op->rt = rt;
	op->xml = g_steal_pointer(&xml);
	if (root_base == NULL)
		on_volatile_ready(NULL, op);
	else
		qm_volumes_make_volatile(d, vm, root_base, on_volatile_ready,
					 op);
}

/* ---- shutdown and kill ---- */

struct kill_op {
	struct qmgrd *d;
	char *name;
	qm_life_done_fn done;
	void *data;
};

static void on_destroyed(GError *error, void *data)
{
	struct kill_op *op = data;
	struct qm_vm *vm = qm_inventory_find(op->d->inv, op->name);
	if (error != NULL) {
		if (op->done)
			op->done(error, QM_ERR_LIBVIRT, op->data);
	} else {
		if (vm != NULL && !qm_vm_is_down(vm))
			finish_stopped(op->d, vm, false, "killed");
		if (op->done)
			op->done(NULL, NULL, op->data);
	}
	g_free(op->name);
	g_free(op);
}

void qm_lifecycle_kill(struct qmgrd *d, struct qm_vm *vm,
		       qm_life_done_fn done, void *data)
{
	if (qm_vm_is_down(vm)) {
		if (done) {
			g_autoptr(GError) e = error_new("'%s' is not running",
							vm->name);
			done(e, QM_ERR_STATE, data);
		}
		return;
	}
	runtime_get(d, vm)->stopping = true;
	struct kill_op *op = g_new0(struct kill_op, 1);
	op->d = d;
	op->name = g_strdup(vm->name);
	op->done = done;
	op->data = data;
	qm_libvirt_destroy(d->lv, vm->name, on_destroyed, op);
}

static gboolean shutdown_timed_out(gpointer data)
{
	struct runtime *rt = data;
	struct qm_vm *vm = vm_of(rt);
	rt->timer = 0;
	if (vm == NULL)
		return G_SOURCE_REMOVE;
	g_autoptr(GError) e = error_new(
		"'%s' did not halt in time; it is still %s (qvm-kill %s forces "
		"it off)", vm->name, qm_vm_state_name(vm->state), vm->name);
	notify(rt->stop_waiters, e, QM_ERR_TIMEOUT);
	return G_SOURCE_REMOVE;
}

/* A SHUTDOWN can be lost when qmgrd reconnected to the channel just
 * before (seen under heavy load); the agent takes a repeated one as the
 * same request, so repeat it while the qube is still halting. */
static gboolean nudge_shutdown(gpointer data)
{
	struct runtime *rt = data;
	struct qm_vm *vm = vm_of(rt);
	if (vm == NULL || vm->state != QM_VM_HALTING) {
		rt->nudge = 0;
		return G_SOURCE_REMOVE;
	}
	rt->nudges++;
	if (rt->nudges % 2 == 0) {
		/* Still nothing: the channel may be stuck.  Connect again;
		 * the agent answers HELLO and then gets SHUTDOWN anew (see
		 * on_agent_message). */
		g_message("%s: no answer to SHUTDOWN; reconnecting its agent "
			  "channel", vm->name);
		g_clear_pointer(&rt->agent, qm_conn_destroy);
		rt->agent_ready = false;
		g_autofree char *sock = qm_libvirt_agent_socket(rt->d->lv,
								vm->name);
		if (sock != NULL)
			attach_agent(rt, sock);
		return G_SOURCE_CONTINUE;
	}
	if (rt->agent && rt->agent_ready)
		qm_conn_send(rt->agent, QM_MSG_SHUTDOWN, 0, NULL);
	return G_SOURCE_CONTINUE;
}

struct shutdown_op {
	struct qmgrd *d;
	char *name;
	bool wait;
	unsigned timeout_s;
	qm_life_done_fn done;
	void *data;
};

static void shutdown_resumed(GError *error, const char *code, void *data)
{
	struct shutdown_op *op = data;
	struct qm_vm *vm = qm_inventory_find(op->d->inv, op->name);
	if (error != NULL)
		op->done(error, code, op->data);
	else if (vm != NULL)
		qm_lifecycle_shutdown(op->d, vm, op->wait, op->timeout_s,
				      op->done, op->data);
	else
		op->done(NULL, NULL, op->data);   /* removed: it is down */
	g_free(op->name);
	g_free(op);
}

void qm_lifecycle_shutdown(struct qmgrd *d, struct qm_vm *vm, bool wait,
			   unsigned timeout_s, qm_life_done_fn done,
			   void *data)
{
	if (qm_vm_is_down(vm)) {
		g_autoptr(GError) e = error_new("'%s' is not running",
						vm->name);
		done(e, QM_ERR_STATE, data);
		return;
	}
	if (vm->state == QM_VM_PAUSED) {
		/* A paused guest cannot act on SHUTDOWN: let it run first. */
		struct shutdown_op *op = g_new0(struct shutdown_op, 1);
		op->d = d;
		op->name = g_strdup(vm->name);
		op->wait = wait;
		op->timeout_s = timeout_s;
		op->done = done;
		op->data = data;
		qm_lifecycle_unpause(d, vm, shutdown_resumed, op);
		return;
	}
	struct runtime *rt = runtime_get(d, vm);
	rt->stopping = true;
	if (vm->state != QM_VM_HALTING) {
		set_state(d, vm, QM_VM_HALTING, "shutdown requested");
		bool sent = rt->agent && rt->agent_ready &&
			    qm_conn_send(rt->agent, QM_MSG_SHUTDOWN, 0, NULL);
		if (sent && rt->nudge == 0) {
			rt->nudges = 0;
			rt->nudge = g_timeout_add_seconds(5, nudge_shutdown,
							  rt);
		}
		if (!sent) {
			/* No agent to ask: ACPI power button instead. */
			GError *err = NULL;
			if (!qm_libvirt_acpi_shutdown(d->lv, vm->name, &err)) {
				g_warning("%s: %s", vm->name, err->message);
				g_error_free(err);
			}
		}
	}
	if (!wait) {
		done(NULL, NULL, data);
		return;
	}
	struct waiter w = { done, data };
	g_array_append_val(rt->stop_waiters, w);
	if (rt->timer)
		g_source_remove(rt->timer);
	rt->timer = g_timeout_add_seconds(timeout_s ? timeout_s : 60,
					  shutdown_timed_out, rt);
}

/* ---- pause and unpause ---- */

struct pause_op {
	struct qmgrd *d;
	char *name;
	char *detail;
	bool pause;
	qm_life_done_fn done;
	void *data;
};

static void on_pause_done(GError *error, void *data)
{
	struct pause_op *op = data;
	struct qm_vm *vm = qm_inventory_find(op->d->inv, op->name);
	struct runtime *rt = vm ? vm->runtime : NULL;
	enum qm_vm_state from = op->pause ? QM_VM_RUNNING : QM_VM_PAUSED;
	const char *verb = op->pause ? "pause" : "resume";
	g_autoptr(GError) e = NULL;
	const char *code = NULL;

	if (rt != NULL)
		rt->pause_busy = false;
	if (error != NULL) {
		e = error_new("cannot %s '%s': %s", verb, op->name,
			      error->message);
		code = QM_ERR_LIBVIRT;
	} else if (vm == NULL || vm->state != from) {
		/* Stopped, or asked to shut down, meanwhile. */
		e = error_new("'%s' is %s: it changed while qmgrd was about "
			      "to %s it", op->name,
			      vm ? qm_vm_state_name(vm->state) : "gone", verb);
		code = QM_ERR_STATE;
		/* A guest paused behind a shutdown would never halt. */
		if (op->pause && vm != NULL && !qm_vm_is_down(vm))
			qm_libvirt_resume(op->d->lv, vm->name, NULL, NULL);
	} else if (op->pause) {
		set_state(op->d, vm, QM_VM_PAUSED, op->detail);
	} else if (rt != NULL && rt->agent_ready) {
		set_state(op->d, vm, QM_VM_RUNNING, "");
	} else {
		set_state(op->d, vm, QM_VM_TRANSIENT,
			  "resumed; waiting for its agent");
	}
	if (op->done != NULL)
		op->done(e, code, op->data);
	g_free(op->name);
	g_free(op->detail);
	g_free(op);
}

static void pause_or_unpause(struct qmgrd *d, struct qm_vm *vm, bool pause,
			     const char *detail, qm_life_done_fn done,
			     void *data)
{
	struct runtime *rt = vm->runtime;
	enum qm_vm_state from = pause ? QM_VM_RUNNING : QM_VM_PAUSED;
	if (vm->state != from || rt == NULL || rt->pause_busy) {
		g_autoptr(GError) e = error_new(
			"'%s' is %s%s; only a %s qube can be %s", vm->name,
			qm_vm_state_name(vm->state),
			rt && rt->pause_busy ? " and being paused or resumed"
					     : "",
			pause ? "running" : "paused",
			pause ? "paused" : "resumed");
		if (done != NULL)
			done(e, QM_ERR_STATE, data);
		return;
	}
	rt->pause_busy = true;
	struct pause_op *op = g_new0(struct pause_op, 1);
	op->d = d;
	op->name = g_strdup(vm->name);
	op->detail = g_strdup(detail ? detail : "paused");
	op->pause = pause;
	op->done = done;
	op->data = data;
	if (pause)
		qm_libvirt_suspend(d->lv, vm->name, on_pause_done, op);
	else
		qm_libvirt_resume(d->lv, vm->name, on_pause_done, op);
}

void qm_lifecycle_pause(struct qmgrd *d, struct qm_vm *vm, const char *detail,
			qm_life_done_fn done, void *data)
{
	pause_or_unpause(d, vm, true, detail, done, data);
}

void qm_lifecycle_unpause(struct qmgrd *d, struct qm_vm *vm,
			  qm_life_done_fn done, void *data)
{
	pause_or_unpause(d, vm, false, NULL, done, data);
}

void qm_lifecycle_domain_paused(struct qmgrd *d, const char *name,
				bool paused, const char *why)
{
	struct qm_vm *vm = qm_inventory_find(d->inv, name);
	if (vm == NULL || qm_vm_is_down(vm))
		return;
	struct runtime *rt = vm->runtime;
	if (rt != NULL && rt->pause_busy)
		return;   /* ours: on_pause_done sets the state */
	/* Events can arrive after our own pause or resume finished, or out
	 * of step with it: go by what the domain is now. */
	bool now = qm_libvirt_is_paused(d->lv, name);
	if (now && vm->state == QM_VM_RUNNING)
		set_state(d, vm, QM_VM_PAUSED,
			  paused ? why : "paused through libvirt");
	else if (!now && vm->state == QM_VM_PAUSED)
		set_state(d, vm,
			  rt && rt->agent_ready ? QM_VM_RUNNING
						: QM_VM_TRANSIENT,
			  "resumed through libvirt");
}

/* ---- daemon start and exit ---- */

void qm_lifecycle_adopt(struct qmgrd *d)
{
	GError *err = NULL;
	g_autoptr(GPtrArray) defined = qm_libvirt_list(d->lv, false, &err);
	g_autoptr(GPtrArray) running =
		defined ? qm_libvirt_list(d->lv, true, &err) : NULL;
	if (running == NULL) {
		g_warning("cannot adopt running qubes: %s", err->message);
		g_error_free(err);
		return;
	}
	for (guint i = 0; i < defined->len; i++) {
		const char *name = g_ptr_array_index(defined, i);
		if (qm_inventory_find(d->inv, name) != NULL)
			continue;
		/* Ours, but unknown: left by a crash between defining and
		 * saving the inventory, or while removing. */
		g_message("removing the domain of unknown qube '%s'", name);
		qm_libvirt_undefine(d->lv, name, NULL, NULL);
	}
	for (guint i = 0; i < running->len; i++) {
		const char *name = g_ptr_array_index(running, i);
		struct qm_vm *vm = qm_inventory_find(d->inv, name);
		if (vm == NULL)
			continue;
		struct runtime *rt = runtime_get(d, vm);
		/* Running again once its agent answers our HELLO; a paused
		 * guest answers once it runs again. */
		if (qm_libvirt_is_paused(d->lv, name))
			set_state(d, vm, QM_VM_PAUSED,
				  "adopted after qmgrd restart; paused");
		else
			set_state(d, vm, QM_VM_TRANSIENT,
				  "adopted after qmgrd restart; waiting for "
				  "its agent");
		g_autofree char *sock = qm_libvirt_agent_socket(d->lv, name);
		if (sock != NULL)
			attach_agent(rt, sock);
		qm_net_vm_started(d, vm);
		/* The region's fd went with the old qmgrd; QEMU still has
		 * it, and so gui-proxy gets it from here again. */
		g_autofree char *gui = qm_inventory_prop(d->inv, vm,
							 "gui_socket");
		g_autoptr(GError) e = NULL;
		if (*gui && !(rt->region = gui_region(d, vm, true, &e)))
			g_warning("%s: its shared GUI region is not served "
				  "again (%s): its windows come through the "
				  "GUI channel until it restarts", name,
				  e->message);
	}
}

void qm_lifecycle_detach_all(struct qmgrd *d)
{
	for (guint i = 0; i < d->inv->vms->len; i++)
		runtime_free(g_ptr_array_index(d->inv->vms, i));
}

bool qm_lifecycle_agent_send(struct qmgrd *d, const char *name,
			     enum qm_msg_type type, guint32 stream,
			     GVariant *payload)
{
	struct qm_vm *vm = qm_inventory_find(d->inv, name);
	struct runtime *rt = vm ? vm->runtime : NULL;
	if (rt == NULL || rt->agent == NULL || !rt->agent_ready) {
		g_variant_unref(g_variant_take_ref(payload));
		return false;
	}
	return qm_conn_send(rt->agent, type, stream, payload);
}

guint32 qm_lifecycle_agent_version(struct qmgrd *d, const char *name)
{
	struct qm_vm *vm = qm_inventory_find(d->inv, name);
	struct runtime *rt = vm ? vm->runtime : NULL;
	return rt && rt->agent && rt->agent_ready ? rt->agent_version : 0;
}
