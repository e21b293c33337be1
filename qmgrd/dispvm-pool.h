/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Preloaded disposables, as in Qubes 4.3: a disposable template whose
 * preload_dispvm is N keeps N disposables booted to their agent's HELLO and
 * paused, and `vm.Run @dispvm` takes one of them (resumed in milliseconds)
 * instead of making and booting a new one.  The pool refills in the
 * background, one disposable at a time for the whole daemon, so a refill
 * never boots more than one guest next to the user's.  A member taken is
 * no longer a member: it is an ordinary disposable, destroyed when its
 * command ends, and never handed out again.
 *
 * Members are ordinary disposables (dispNNNN, auto_cleanup) with
 * vm->preload set (property is_preload), so a qmgrd that dies leaves
 * nothing the next start does not destroy; that start then fills the pools
 * anew.  Membership itself lives only in this file's memory.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

#include "daemon.h"
#include "disposable.h"
#include "lifecycle.h"

/* At daemon start, after the disposables of an earlier qmgrd have been
 * handed to qm_disposable_cleanup: starts filling the pools. */
void qm_dispvm_pool_init(struct qmgrd *d);
/* At exit: forgets the pools; their members stay, as every disposable
 * does, until the next start destroys them. */
void qm_dispvm_pool_finish(void);

/* Something changed (a qube's state, the inventory): the pools are looked
 * at again from the main loop, soon.  Cheap; safe to call anywhere, also
 * before qm_dispvm_pool_init. */
void qm_dispvm_pool_changed(struct qmgrd *d);

/* Takes a ready member of `template`'s pool: true when one was found, and
 * `done` then gets its name once it runs again (or, if it cannot be
 * resumed, a new disposable's).  False when the pool has none ready. */
bool qm_dispvm_pool_take(struct qmgrd *d, struct qm_vm *template,
			 qm_disposable_fn done, void *data);

/* Before `vm` starts: if members of a pool boot from its volumes (it is
 * their disposable template, or the TemplateVM behind it), they are
 * destroyed, and once they are gone the start is made again with `done`
 * and `data`; returns true then.  False when no member depends on `vm`. */
bool qm_dispvm_pool_release(struct qmgrd *d, struct qm_vm *vm,
			    qm_life_done_fn done, void *data);

/* Checks of a property change that concern the pools (preload_dispvm only
 * on a disposable template; template_for_dispvms stays while a pool is
 * wanted).  On refusal *code is a QM_ERR_* and *why a sentence naming the
 * fix. */
bool qm_dispvm_pool_check_pref(struct qmgrd *d, const struct qm_vm *vm,
			       const char *prop, const char *value,
			       const char **code, char **why);
