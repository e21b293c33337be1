/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Templates as qmgrd reads them: a template directory's template.conf
 * (docs/templates.md) and the template store that `qvm-template install`
 * fills, ROOT/var/lib/qmgr/template-store/NAME/REVISION, whose `state`
 * file names the current revision.  A TemplateVM named like a template in
 * the store boots that template's current revision (lifecycle.c); a new
 * TemplateVM can be made from it with no root of its own
 * (admin-methods.c), and a copy of it is a copy of that revision
 * (volumes.c).
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

#include "daemon.h"
#include "vm.h"

/*
 * NAME's current revision in the store: its directory (*dir) and its
 * template.conf, loaded.  NULL without an error when NAME is not in the
 * store; NULL with one when it is but cannot be read.
 */
GKeyFile *qm_store_current(struct qmgrd *d, const char *name, char **dir,
			   GError **error);

/*
 * The kernel, initramfs and root image that template.conf `kf` of the
 * template directory `dir` names, as paths in `dir` (files[0..2], freed by
 * the caller).  Each must be a plain file name.
 */
bool qm_template_files(GKeyFile *kf, const char *dir, char *files[3],
		       GError **error);
/* Sets `memory` and `vcpus` of `vm` from template.conf `kf`: a template's
 * own sizing becomes its TemplateVM's, and so its AppVMs' default.
 * A property `vm` has set already, and a value that is not valid for
 * the property, are left alone. */
void qm_template_sizing_apply(struct qm_vm *vm, GKeyFile *kf);
