/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "libvirt-conn.h"

#include <gio/gio.h>
#include <libvirt/virterror.h>
#include <libxml/xpath.h>
#include <string.h>

#include "cleanup.h"
#include "domain-xml.h"
#include "xml-util.h"

#define LV_ERROR g_quark_from_static_string("qm-libvirt-error")

struct qm_libvirt {
	struct qmgrd *d;
	virConnectPtr conn;
	int lifecycle_cb;
	qm_lv_stopped_fn stopped;
	qm_lv_paused_fn paused;
};

/*
 * libvirt's default event implementation (libvirt >= 6.2) is built on
 * GLib's default main context, the one qmgrd's main loop runs: that loop
 * dispatches libvirt's events, and the callbacks below run on the main
 * thread.  A thread calling virEventRunDefaultImpl() would iterate the same
 * context; before the main loop starts it would win the context and
 * dispatch qmgrd's own sources (idles, GTask callbacks) on itself, so there
 * is none.
 */
static bool event_impl;

static void lv_error(GError **error, const char *what)
{
	const char *msg = virGetLastErrorMessage();
	g_set_error(error, LV_ERROR, 1, "%s: %s", what,
		    msg ? msg : "unknown libvirt error");
}

char *qm_libvirt_domain_name(struct qmgrd *d, const char *vm)
{
	return g_strdup_printf("qmgr-%s-%s", d->instance, vm);
}

/* The qube name if `name` is a domain of this instance, else NULL. */
static const char *vm_of_domain(struct qm_libvirt *lv, const char *name)
{
	g_autofree char *prefix = g_strdup_printf("qmgr-%s-", lv->d->instance);
	if (!g_str_has_prefix(name, prefix))
		return NULL;
	return name + strlen(prefix);
}

struct stopped_ev {
	struct qm_libvirt *lv;
	char *vm;
	bool crashed;
};

static gboolean deliver_stopped(gpointer data)
{
	struct stopped_ev *ev = data;
	ev->lv->stopped(ev->lv->d, ev->vm, ev->crashed);
	g_free(ev->vm);
	g_free(ev);
	return G_SOURCE_REMOVE;
}

struct paused_ev {
	struct qm_libvirt *lv;
	char *vm;
	bool paused;
	const char *why;        /* static */
};

static gboolean deliver_paused(gpointer data)
{
	struct paused_ev *ev = data;
	ev->lv->paused(ev->lv->d, ev->vm, ev->paused, ev->why);
	g_free(ev->vm);
	g_free(ev);
	return G_SOURCE_REMOVE;
}

/* Why libvirt suspended a domain, for the qube's state detail. */
static const char *suspend_reason(int detail)
{
	switch (detail) {
	case VIR_DOMAIN_EVENT_SUSPENDED_IOERROR:
		return "paused by QEMU after a disk I/O error (is the disk "
		       "full?)";
	case VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG:
		return "paused by its watchdog";
	case VIR_DOMAIN_EVENT_SUSPENDED_API_ERROR:
		return "paused after a libvirt error";
	default:
		return "paused through libvirt";
	}
}

/* Runs inside libvirt's event dispatch, on the main thread. */
static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event,
			int detail, void *opaque)
{
	struct qm_libvirt *lv = opaque;
	if (event != VIR_DOMAIN_EVENT_STOPPED &&
	    event != VIR_DOMAIN_EVENT_SUSPENDED &&
	    event != VIR_DOMAIN_EVENT_RESUMED)
		return 0;
	const char *vm = vm_of_domain(lv, virDomainGetName(dom));
	if (vm == NULL)
		return 0;
	if (event != VIR_DOMAIN_EVENT_STOPPED) {
		if (lv->paused == NULL)
			return 0;
		struct paused_ev *pe = g_new0(struct paused_ev, 1);
		pe->lv = lv;
		pe->vm = g_strdup(vm);
		pe->paused = event == VIR_DOMAIN_EVENT_SUSPENDED;
		pe->why = pe->paused ? suspend_reason(detail) : "";
		/* after libvirt's callback has returned */
		g_idle_add_full(G_PRIORITY_DEFAULT, deliver_paused, pe, NULL);
		return 0;
	}
	struct stopped_ev *ev = g_new0(struct stopped_ev, 1);
	ev->lv = lv;
	ev->vm = g_strdup(vm);
	ev->crashed = detail == VIR_DOMAIN_EVENT_STOPPED_CRASHED ||
		      detail == VIR_DOMAIN_EVENT_STOPPED_FAILED;
	g_idle_add_full(G_PRIORITY_DEFAULT, deliver_stopped, ev, NULL);
	return 0;
}

struct qm_libvirt *qm_libvirt_connect(struct qmgrd *d, qm_lv_stopped_fn cb,
				      qm_lv_paused_fn paused, GError **error)
{
	if (!event_impl) {
		if (virEventRegisterDefaultImpl() < 0) {
			lv_error(error, "libvirt event loop");
			return NULL;
		}
		event_impl = true;
	}
	virConnectPtr conn = virConnectOpen(d->libvirt_uri);
	if (conn == NULL) {
		g_autofree char *what = g_strdup_printf(
			"cannot connect to libvirt at %s (is libvirtd running?"
			" start it with: libvirtd -d)", d->libvirt_uri);
		lv_error(error, what);
		return NULL;
	}
	struct qm_libvirt *lv = g_new0(struct qm_libvirt, 1);
	lv->d = d;
	lv->conn = conn;
	lv->stopped = cb;
	lv->paused = paused;
	lv->lifecycle_cb = virConnectDomainEventRegisterAny(
		conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
		VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), lv, NULL);
	if (lv->lifecycle_cb < 0)
		g_warning("no libvirt lifecycle events: %s",
			  virGetLastErrorMessage());
	return lv;
}

void qm_libvirt_close(struct qm_libvirt *lv)
{
	if (lv == NULL)
		return;
	if (lv->lifecycle_cb >= 0)
		virConnectDomainEventDeregisterAny(lv->conn, lv->lifecycle_cb);
	virConnectClose(lv->conn);
	g_free(lv);
}

/* ---- calls in a worker thread ---- */

enum job_op {
	JOB_DEFINE,          /* arg: XML */
	JOB_DEFINE_START,    /* arg: XML */
	JOB_DESTROY,         /* arg: domain name */
	JOB_UNDEFINE,        /* arg: domain name; stops it first */
	JOB_SUSPEND,         /* arg: domain name */
	JOB_RESUME,          /* arg: domain name */
};

struct lv_job {
	struct qm_libvirt *lv;
	char *arg;
	enum job_op op;
	qm_lv_done_fn done;
	void *data;
};

static void job_free(gpointer p)
{
	struct lv_job *j = p;
	g_free(j->arg);
	g_free(j);
}

static bool job_run(struct lv_job *j, GError **error)
{
	virConnectPtr conn = j->lv->conn;
	g_autoptr(virDomain) dom = NULL;

	switch (j->op) {
	case JOB_DEFINE:
	case JOB_DEFINE_START:
		/* Defining again replaces the definition: a qube always
		 * starts with its current settings. */
		dom = virDomainDefineXML(conn, j->arg);
		if (dom == NULL) {
			lv_error(error, "cannot define the domain");
			return false;
		}
		if (j->op == JOB_DEFINE_START && virDomainCreate(dom) < 0) {
			lv_error(error, "cannot start the domain");
			return false;
		}
		return true;
	case JOB_DESTROY:
	case JOB_UNDEFINE:
		dom = virDomainLookupByName(conn, j->arg);
		if (dom == NULL)
			return true;   /* already gone: what was wanted */
		if (virDomainIsActive(dom) == 1 && virDomainDestroy(dom) < 0) {
			lv_error(error, "cannot stop the domain");
			return false;
		}
		if (j->op == JOB_UNDEFINE && virDomainUndefine(dom) < 0) {
			lv_error(error, "cannot undefine the domain");
			return false;
		}
		return true;
	case JOB_SUSPEND:
	case JOB_RESUME:
		dom = virDomainLookupByName(conn, j->arg);
		if (dom == NULL) {
			lv_error(error, "no such domain");
			return false;
		}
		if (j->op == JOB_SUSPEND ? virDomainSuspend(dom) < 0
					 : virDomainResume(dom) < 0) {
			lv_error(error, j->op == JOB_SUSPEND
						? "cannot pause the domain"
						: "cannot resume the domain");
			return false;
		}
		return true;
	}
	return false;
}

static void job_thread(GTask *task, gpointer src, gpointer data,
		       GCancellable *cancel)
{
	GError *err = NULL;
	if (job_run(data, &err))
		g_task_return_boolean(task, TRUE);
	else
		g_task_return_error(task, err);
}

static void job_done(GObject *src, GAsyncResult *res, gpointer data)
{
	struct lv_job *j = g_task_get_task_data(G_TASK(res));
	GError *err = NULL;
	g_task_propagate_boolean(G_TASK(res), &err);
	if (j->done)
		j->done(err, j->data);
	else if (err)
		g_warning("%s", err->message);
	g_clear_error(&err);
}

static void run_job(struct qm_libvirt *lv, char *arg, enum job_op op,
		    qm_lv_done_fn done, void *data)
{
	struct lv_job *j = g_new0(struct lv_job, 1);
	j->lv = lv;
	j->arg = arg;
	j->op = op;
	j->done = done;
	j->data = data;
	g_autoptr(GTask) task = g_task_new(NULL, NULL, job_done, NULL);
	g_task_set_task_data(task, j, job_free);
	g_task_run_in_thread(task, job_thread);
}

void qm_libvirt_define(struct qm_libvirt *lv, const char *xml,
		       qm_lv_done_fn done, void *data)
{
	run_job(lv, g_strdup(xml), JOB_DEFINE, done, data);
}

void qm_libvirt_define_and_start(struct qm_libvirt *lv, const char *xml,
				 qm_lv_done_fn done, void *data)
{
	run_job(lv, g_strdup(xml), JOB_DEFINE_START, done, data);
}

void qm_libvirt_destroy(struct qm_libvirt *lv, const char *vm,
			qm_lv_done_fn done, void *data)
{
	run_job(lv, qm_libvirt_domain_name(lv->d, vm), JOB_DESTROY, done,
		data);
}

void qm_libvirt_undefine(struct qm_libvirt *lv, const char *vm,
			 qm_lv_done_fn done, void *data)
{
	run_job(lv, qm_libvirt_domain_name(lv->d, vm), JOB_UNDEFINE, done,
		data);
}

void qm_libvirt_suspend(struct qm_libvirt *lv, const char *vm,
			qm_lv_done_fn done, void *data)
{
	run_job(lv, qm_libvirt_domain_name(lv->d, vm), JOB_SUSPEND, done,
		data);
}

void qm_libvirt_resume(struct qm_libvirt *lv, const char *vm,
		       qm_lv_done_fn done, void *data)
{
	run_job(lv, qm_libvirt_domain_name(lv->d, vm), JOB_RESUME, done,
		data);
}

bool qm_libvirt_is_paused(struct qm_libvirt *lv, const char *vm)
{
	g_autofree char *name = qm_libvirt_domain_name(lv->d, vm);
	g_autoptr(virDomain) dom = virDomainLookupByName(lv->conn, name);
	int state = VIR_DOMAIN_NOSTATE, reason;
	if (dom == NULL || virDomainGetState(dom, &state, &reason, 0) < 0)
		return false;
	return state == VIR_DOMAIN_PAUSED;
}

bool qm_libvirt_acpi_shutdown(struct qm_libvirt *lv, const char *vm,
			      GError **error)
{
	g_autofree char *name = qm_libvirt_domain_name(lv->d, vm);
	g_autoptr(virDomain) dom = virDomainLookupByName(lv->conn, name);
	if (dom == NULL || virDomainShutdown(dom) < 0) {
		lv_error(error, "cannot ask the domain to shut down");
		return false;
	}
	return true;
}

GPtrArray *qm_libvirt_list(struct qm_libvirt *lv, bool active_only,
			   GError **error)
{
	virDomainPtr *doms = NULL;
	int n = virConnectListAllDomains(
		lv->conn, &doms,
		active_only ? VIR_CONNECT_LIST_DOMAINS_ACTIVE : 0);
	if (n < 0) {
		lv_error(error, "cannot list domains");
		return NULL;
	}
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	for (int i = 0; i < n; i++) {
		const char *vm = vm_of_domain(lv, virDomainGetName(doms[i]));
		g_autofree char *xml = NULL, *inst = NULL, *mvm = NULL;
		if (vm != NULL)
			xml = virDomainGetXMLDesc(doms[i],
						  VIR_DOMAIN_XML_INACTIVE);
		/* Trust the name only when the metadata agrees with it. */
		if (xml && qm_domain_xml_owner(xml, &inst, &mvm) &&
		    strcmp(inst, lv->d->instance) == 0 &&
		    strcmp(mvm, vm) == 0)
			g_ptr_array_add(out, g_strdup(vm));
		virDomainFree(doms[i]);
	}
	free(doms);
	return out;
}

char *qm_libvirt_agent_socket(struct qm_libvirt *lv, const char *vm)
{
	g_autofree char *name = qm_libvirt_domain_name(lv->d, vm);
	g_autoptr(virDomain) dom = virDomainLookupByName(lv->conn, name);
	if (dom == NULL)
		return NULL;
	g_autofree char *xml = virDomainGetXMLDesc(dom, 0);
	if (xml == NULL)
		return NULL;
	g_autoptr(xmlDoc) doc = qm_xml_parse(xml, strlen(xml), name, NULL);
	if (doc == NULL)
		return NULL;
	g_autoptr(xmlXPathContext) ctx = xmlXPathNewContext(doc);
	g_autoptr(xmlXPathObject) r = xmlXPathEvalExpression(
		BAD_CAST "/domain/devices/channel[target/@name='"
			 QM_AGENT_PORT "']/source/@path", ctx);
	if (r == NULL || r->nodesetval == NULL || r->nodesetval->nodeNr != 1)
		return NULL;
	xmlChar *v = xmlNodeGetContent(r->nodesetval->nodeTab[0]);
	char *path = g_strdup((const char *)v);
	xmlFree(v);
	return path;
}

uid_t qm_libvirt_qemu_uid(struct qm_libvirt *lv, bool kvm)
{
	g_autofree char *caps = virConnectGetCapabilities(lv->conn);
	if (caps == NULL)
		return (uid_t)-1;
	g_autoptr(xmlDoc) doc = qm_xml_parse(caps, strlen(caps),
					     "libvirt capabilities", NULL);
	if (doc == NULL)
		return (uid_t)-1;
	g_autoptr(xmlXPathContext) ctx = xmlXPathNewContext(doc);
	g_autofree char *expr = g_strdup_printf(
		"/capabilities/host/secmodel[model='dac']"
		"/baselabel[@type='%s']", kvm ? "kvm" : "qemu");
	g_autoptr(xmlXPathObject) r = xmlXPathEvalExpression(BAD_CAST expr,
							     ctx);
	if (r == NULL || r->nodesetval == NULL || r->nodesetval->nodeNr != 1)
		return (uid_t)-1;
	/* "+UID:+GID" */
	xmlChar *v = xmlNodeGetContent(r->nodesetval->nodeTab[0]);
	guint64 uid = 0;
	const char *s = (const char *)v;
	s += *s == '+';
	g_autofree char *num = g_strndup(s, strcspn(s, ":"));
	bool ok = g_ascii_string_to_unsigned(num, 10, 0, G_MAXUINT32 - 1,
					     &uid, NULL);
	xmlFree(v);
	return ok ? (uid_t)uid : (uid_t)-1;
}
