/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A compartment (VM) in qmgrd's inventory: identity, class, properties, tags
 * and runtime state.  Properties are kept as validated strings, Qubes-style:
 * a property is either set or follows its default (`qvm-prefs --default`).
 */
#pragma once

#include "label.h"
#include <stdbool.h>
#include <glib.h>

#include "policy.h"

#define QM_VM_MEMORY_MIN 64        /* MiB */
#define QM_VM_MEMORY_MAX (1 << 20) /* MiB */
#define QM_VM_VCPUS_MAX 64
#define QM_KERNELOPTS_MAX 1024
/* Preloaded disposables one disposable template may keep: each is a paused
 * guest holding its memory, so the bound keeps a typo from filling the
 * host. */
#define QM_PRELOAD_DISPVM_MAX 16

enum qm_vm_state {
	QM_VM_HALTED,
	QM_VM_TRANSIENT,   /* started, the agent has not reported in yet */
	QM_VM_RUNNING,
	QM_VM_HALTING,
	QM_VM_CRASHED,
	/* its domain is suspended (virDomainSuspend): a preloaded disposable
	 * waiting in its pool, or a qube paused through libvirt */
	QM_VM_PAUSED,
};
const char *qm_vm_state_name(enum qm_vm_state state);

/* Not running: Halted, or Crashed (which is halted, with a reason). */
#define qm_vm_is_down(vm) ((vm)->state == QM_VM_HALTED || \
			   (vm)->state == QM_VM_CRASHED)

struct qm_vm {
	char *name;
	char uuid[37];
	enum pol_vm_class cls;
	GHashTable *props;        /* explicitly set properties: name -> value */
	GPtrArray *tags;          /* char *, sorted, unique */
	/* runtime, not persisted */
	enum qm_vm_state state;
	char *state_detail;       /* why it is in that state, for users */
	void *runtime;            /* owned by the lifecycle code */
	bool preload;             /* in a pool of preloaded disposables
				     (dispvm-pool.c); read as is_preload */
};

/* Qubes' rules: letter first, [A-Za-z0-9_.-], at most 31 characters, not a
 * reserved word.  On failure *why says what is wrong. */
bool qm_vm_name_check(const char *name, const char **why);

struct qm_vm *qm_vm_create(const char *name, enum pol_vm_class cls,
			   const char *uuid);
void qm_vm_destroy(struct qm_vm *vm);

/* ---- properties ---- */

enum qm_prop_type {
	QM_PROP_STRING,
	QM_PROP_UINT,
	QM_PROP_BOOL,
	QM_PROP_LABEL,
	QM_PROP_VMREF,     /* a VM name; "" means none */
	QM_PROP_IPV4,      /* a dotted quad */
};

struct qm_prop_def {
	const char *name;
	enum qm_prop_type type;
	bool readonly;
	const char *help;
	/* read-only for users but saved with the qube: qmgrd sets it (the
	 * address a qube was given) */
	bool kept;
};

/* All properties, NULL-name terminated. */
const struct qm_prop_def *qm_prop_defs(void);
const struct qm_prop_def *qm_prop_find(const char *name);

/* Validates `value` for `def` (no cross-VM checks); normalises booleans
 * to "True"/"False", and a netvm of "none" (any case) to "" and keeps
 * "sys-net" (the built-in uplink, not a qube's name).  Returns the value
 * to store or NULL with *why. */
char *qm_prop_normalise(const struct qm_prop_def *def, const char *value,
			const char **why);

/* The set value, or NULL when the property follows its default. */
const char *qm_vm_prop_get_set(const struct qm_vm *vm, const char *name);
void qm_vm_prop_set(struct qm_vm *vm, const char *name, const char *value);
void qm_vm_prop_reset(struct qm_vm *vm, const char *name);

/* ---- tags ---- */
bool qm_vm_tag_add(struct qm_vm *vm, const char *tag);
bool qm_vm_tag_del(struct qm_vm *vm, const char *tag);
bool qm_vm_has_tag(const struct qm_vm *vm, const char *tag);
