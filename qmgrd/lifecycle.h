/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Starting, stopping and watching qubes: volumes, domain XML, libvirt, and
 * the guest agent's channel (a qube is Running once its agent said HELLO).
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

#include "daemon.h"

/* `code` is one of the QM_ERR_* of admin.h when error is set. */
typedef void (*qm_life_done_fn)(GError *error, const char *code, void *data);

void qm_lifecycle_start(struct qmgrd *d, struct qm_vm *vm,
			qm_life_done_fn done, void *data);
void qm_lifecycle_shutdown(struct qmgrd *d, struct qm_vm *vm, bool wait,
			   unsigned timeout_s, qm_life_done_fn done,
			   void *data);
void qm_lifecycle_kill(struct qmgrd *d, struct qm_vm *vm,
		       qm_life_done_fn done, void *data);
/* Pauses a Running qube (Paused, with `detail` for users) and resumes a
 * Paused one (Running again, its agent channel as it was).  `done` may be
 * NULL. */
void qm_lifecycle_pause(struct qmgrd *d, struct qm_vm *vm, const char *detail,
			qm_life_done_fn done, void *data);
void qm_lifecycle_unpause(struct qmgrd *d, struct qm_vm *vm,
			  qm_life_done_fn done, void *data);

/* The libvirt domain XML of a qube as it would start now (its template's
 * kernel and root); *root_base, when asked for, receives the root its
 * volatile overlay is made from (NULL for a qube with its own root). */
char *qm_lifecycle_domain_xml(struct qmgrd *d, struct qm_vm *vm,
			      char **root_base, GError **error);

/* libvirt told us a domain of ours stopped. */
void qm_lifecycle_domain_stopped(struct qmgrd *d, const char *vm,
				 bool crashed);
/* libvirt told us a domain of ours was suspended or resumed (by us or by
 * anyone with access to libvirt). */
void qm_lifecycle_domain_paused(struct qmgrd *d, const char *vm, bool paused,
				const char *why);

/* At start: adopts running domains of this instance (reconnecting to their
 * agents), and stops domains of ours that the inventory does not know. */
void qm_lifecycle_adopt(struct qmgrd *d);
/* On exit: closes agent channels, leaving the qubes running. */
void qm_lifecycle_detach_all(struct qmgrd *d);
