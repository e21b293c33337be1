/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Disposables: a DispVM `dispNNNN` made from a qube with
 * template_for_dispvms, whose private volume is a copy-on-write overlay of
 * that qube's, started for one command and destroyed when it ends.  A
 * disposable is marked auto_cleanup in the inventory, so one left by a
 * qmgrd crash mid-way is destroyed at the next start.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

#include "daemon.h"

typedef void (*qm_disposable_fn)(GError *error, const char *code,
				 const char *name, void *data);

/* Creates (not starts) a disposable of `template_name`, or of the global
 * default_dispvm when NULL or empty. */
void qm_disposable_create(struct qmgrd *d, const char *template_name,
			  qm_disposable_fn done, void *data);

/* Kills and removes a disposable: domain, volumes and inventory entry. */
void qm_disposable_destroy(struct qmgrd *d, const char *name);

bool qm_vm_is_disposable(struct qmgrd *d, const struct qm_vm *vm);

/* At start: destroys the disposables a previous qmgrd left. */
void qm_disposable_cleanup(struct qmgrd *d);
