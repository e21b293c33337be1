/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A qube's volumes, as in Qubes: every qube has a persistent private volume
 * (sparse qcow2); a TemplateVM or StandaloneVM has its own root (with the
 * kernel and initramfs it boots); an AppVM or DispVM boots its template's
 * root through a volatile copy-on-write overlay made at each start and
 * discarded at shutdown, so its root resets every boot.  Images are made
 * with qemu-img, run asynchronously so the daemon never blocks on them.
 */
#pragma once

#include <glib.h>

#include "daemon.h"

#define QM_PRIVATE_SIZE "2G"

typedef void (*qm_done_fn)(GError *error, void *data);

/* ROOT/var/lib/qmgr/vms/NAME/FILE */
char *qm_volume_path(struct qmgrd *d, const char *vm, const char *file);

/*
 * Creates the volumes of a new qube: a private volume (a copy of
 * private_src's when cloning, else blank), and for a TemplateVM or
 * StandaloneVM a copy of root_src's root, kernel and initramfs.
 */
void qm_volumes_create(struct qmgrd *d, struct qm_vm *vm,
		       struct qm_vm *root_src, struct qm_vm *private_src,
		       qm_done_fn done, void *data);

/* A disposable's private volume: a copy-on-write overlay of its
 * disposable template's private volume. */
void qm_volumes_create_disposable(struct qmgrd *d, struct qm_vm *vm,
				  struct qm_vm *dvm, qm_done_fn done,
				  void *data);

/* Imports an installed template directory (template.conf naming its
 * kernel, initramfs and raw root image) as the root of TemplateVM `vm`;
 * the qube's directory then holds kernel, initramfs, root.qcow2 and
 * template.conf. */
void qm_volumes_import_template(struct qmgrd *d, struct qm_vm *vm,
				const char *template_dir, qm_done_fn done,
				void *data);

/* The overlay an AppVM/DispVM boots from, created fresh from `base`. */
void qm_volumes_make_volatile(struct qmgrd *d, struct qm_vm *vm,
			      const char *base, qm_done_fn done, void *data);
void qm_volumes_drop_volatile(struct qmgrd *d, const char *vm);

/* Deletes a qube's directory (best effort; logs what it cannot). */
void qm_volumes_remove(struct qmgrd *d, const char *vm);
