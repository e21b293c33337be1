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

/* A disposable of `template_name`, or of the global default_dispvm when
 * NULL or empty: one taken from the template's pool of preloaded
 * disposables (dispvm-pool.c) when one is ready, Running and its agent
 * ready; else a new one, created but not started. */
void qm_disposable_create(struct qmgrd *d, const char *template_name,
			  qm_disposable_fn done, void *data);
/* A new one (never from the pool) marked as a pool member (is_preload):
 * what the pool fills itself with. */
void qm_disposable_create_preload(struct qmgrd *d, const char *template_name,
				  qm_disposable_fn done, void *data);

/* Kills and removes a disposable: domain, volumes and inventory entry. */
void qm_disposable_destroy(struct qmgrd *d, const char *name);

bool qm_vm_is_disposable(struct qmgrd *d, const struct qm_vm *vm);

/* At start: destroys the disposables a previous qmgrd left. */
void qm_disposable_cleanup(struct qmgrd *d);
