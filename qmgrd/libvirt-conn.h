/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qmgrd's libvirt connection.  Calls that may take long (creating,
 * destroying, pausing a domain) run in a worker thread and report back on
 * the main loop, so other clients keep being served; libvirt's domain
 * events are dispatched by the main loop itself.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <glib.h>

#include "daemon.h"

typedef void (*qm_lv_done_fn)(GError *error, void *data);
/* A domain of ours stopped (any reason); `crashed` when not asked for. */
typedef void (*qm_lv_stopped_fn)(struct qmgrd *d, const char *vm,
				 bool crashed);
/* A domain of ours was suspended (`paused`, with a reason for users) or
 * resumed, by qmgrd or anyone else: the event does not say who, and may
 * arrive after the state changed again. */
typedef void (*qm_lv_paused_fn)(struct qmgrd *d, const char *vm,
				bool paused, const char *why);

struct qm_libvirt *qm_libvirt_connect(struct qmgrd *d, qm_lv_stopped_fn cb,
				      qm_lv_paused_fn paused, GError **error);
void qm_libvirt_close(struct qm_libvirt *lv);

/* "qmgr-INSTANCE-VM" */
char *qm_libvirt_domain_name(struct qmgrd *d, const char *vm);

/* Qubes are persistent libvirt domains: defined when created, defined
 * again (with the current settings) and started at each start, undefined
 * when removed.  `done` may be NULL (errors are then logged). */
void qm_libvirt_define(struct qm_libvirt *lv, const char *xml,
		       qm_lv_done_fn done, void *data);
void qm_libvirt_define_and_start(struct qm_libvirt *lv, const char *xml,
				 qm_lv_done_fn done, void *data);
void qm_libvirt_destroy(struct qm_libvirt *lv, const char *vm,
			qm_lv_done_fn done, void *data);
void qm_libvirt_undefine(struct qm_libvirt *lv, const char *vm,
			 qm_lv_done_fn done, void *data);
/* Pauses (virDomainSuspend) or resumes a running domain: its vCPUs stop,
 * QEMU and its devices (the agent's channel included) stay. */
void qm_libvirt_suspend(struct qm_libvirt *lv, const char *vm,
			qm_lv_done_fn done, void *data);
void qm_libvirt_resume(struct qm_libvirt *lv, const char *vm,
		       qm_lv_done_fn done, void *data);
/* Whether the domain is paused now (a short call, on the main loop). */
bool qm_libvirt_is_paused(struct qm_libvirt *lv, const char *vm);
/* Asks the guest OS to power off through ACPI (fallback without agent). */
bool qm_libvirt_acpi_shutdown(struct qm_libvirt *lv, const char *vm,
			      GError **error);

/* Names of the qubes that have a domain of this instance (running ones
 * only, or all defined), checked against the domains' qmgr metadata. */
GPtrArray *qm_libvirt_list(struct qm_libvirt *lv, bool active_only,
			   GError **error);
/* The agent socket path of a running qube's domain, read from its XML. */
char *qm_libvirt_agent_socket(struct qm_libvirt *lv, const char *vm);
/* The user QEMU runs domains of type `kvm` or `qemu` as (libvirt's DAC
 * base label in its capabilities), or -1 when there is none (QEMU runs
 * as root, or another security driver decides). */
uid_t qm_libvirt_qemu_uid(struct qm_libvirt *lv, bool kvm);
