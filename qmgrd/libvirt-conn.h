/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qmgrd's libvirt connection.  Calls that may take long (creating or
 * destroying a domain) run in a worker thread and report back on the main
 * loop, so other clients keep being served; libvirt's domain events are
 * forwarded to the main loop too.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

#include "daemon.h"

typedef void (*qm_lv_done_fn)(GError *error, void *data);
/* A domain of ours stopped (any reason); `crashed` when not asked for. */
typedef void (*qm_lv_stopped_fn)(struct qmgrd *d, const char *vm,
				 bool crashed);

struct qm_libvirt *qm_libvirt_connect(struct qmgrd *d, qm_lv_stopped_fn cb,
				      GError **error);
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
/* Asks the guest OS to power off through ACPI (fallback without agent). */
bool qm_libvirt_acpi_shutdown(struct qm_libvirt *lv, const char *vm,
			      GError **error);

/* Names of the qubes that have a domain of this instance (running ones
 * only, or all defined), checked against the domains' qmgr metadata. */
GPtrArray *qm_libvirt_list(struct qm_libvirt *lv, bool active_only,
			   GError **error);
/* The agent socket path of a running qube's domain, read from its XML. */
char *qm_libvirt_agent_socket(struct qm_libvirt *lv, const char *vm);
