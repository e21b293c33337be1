/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The compartment inventory: every VM and the global preferences, stored as
 * one XML file written atomically (temporary file, fsync, rename, fsync of
 * the directory), so that a crash at any moment leaves the previous or the
 * new inventory, never a mix.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

#include "net-addr.h"
#include "vm.h"

/* Format versions of the inventory file. */
enum qm_inventory_version {
	/* 1: <qmgr-inventory version="1"> with <global> and <vm> elements */
	QM_INVENTORY_VERSION_1 = 1,
	QM_INVENTORY_VERSION = QM_INVENTORY_VERSION_1,
};

#define QM_INVENTORY_VMS_MAX 4096

struct qm_inventory {
	GPtrArray *vms;            /* struct qm_vm *, creation order */
	GHashTable *global;        /* global property -> value */
	guint64 generation;        /* bumped on every save */
	char *path;
	/* qubes' addresses come from here (qmgrd --ip-range); default
	 * QM_IP_RANGE_DEFAULT */
	struct qm_ip_range ip_range;
	/* addresses given to qubes being created, not in `vms` yet:
	 * address -> struct qm_vm * (net-addr.c) */
	GHashTable *ip_pending;
	/* qmgrd's run directory, where a qube's sockets are (its
	 * gui_socket and gui_shm); NULL: none shown */
	char *run_dir;
};

/* The name of qube `name`'s shared GUI region (libvirt's <shmem>, and
 * the name of the memfd behind it). */
char *qm_inventory_gui_shm_name(const char *instance, const char *name);
/* The unix socket that hands the region out: to gui-proxy (the gui_shm
 * property), or with `qemu` to the qube's QEMU (its ivshmem server). */
char *qm_inventory_gui_shm_socket(const char *run_dir, const char *name,
				  bool qemu);
/* The GUI channel's socket of qube `name` under `run_dir`. */
char *qm_inventory_gui_socket(const char *run_dir, const char *name);

struct qm_inventory *qm_inventory_create(const char *path);
void qm_inventory_destroy(struct qm_inventory *inv);

/* Reads `inv->path`; a missing file is an empty inventory.  Anything
 * invalid is an error naming the file and the problem (nothing is
 * changed then). */
bool qm_inventory_load(struct qm_inventory *inv, GError **error);
bool qm_inventory_save(struct qm_inventory *inv, GError **error);

struct qm_vm *qm_inventory_find(const struct qm_inventory *inv,
				const char *name);
/* Adds `vm`; an address reserved for it (net-addr.c) is now its own. */
void qm_inventory_add(struct qm_inventory *inv, struct qm_vm *vm);
/* Removes and destroys. */
/* Takes `vm` out of the inventory without destroying it (the caller owns
 * it again: to destroy it, or to add it back when saving failed). */
void qm_inventory_steal(struct qm_inventory *inv, struct qm_vm *vm);
bool qm_inventory_remove(struct qm_inventory *inv, const char *name);

/* Global preferences (`qvm-prefs dom0 ...`). */
bool qm_global_pref_known(const char *name);
const char *qm_inventory_global(const struct qm_inventory *inv,
				const char *name);
void qm_inventory_set_global(struct qm_inventory *inv, const char *name,
			     const char *value);

/* A property's effective value (set, or its default), newly allocated;
 * NULL for an unknown property. */
char *qm_inventory_prop(const struct qm_inventory *inv,
			const struct qm_vm *vm, const char *name);
/* Whether the VM's property is set rather than default. */
bool qm_inventory_prop_is_default(const struct qm_vm *vm, const char *name);

/* VMs that use `vm` (as template, default_dispvm, netvm or global
 * default), as a comma-separated list for messages; NULL when none. */
char *qm_inventory_users_of(const struct qm_inventory *inv,
			    const struct qm_vm *vm);
