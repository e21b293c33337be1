/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The state file of a template in the template store (docs/templates.md,
 * "Installing and rolling back"): STORE/NAME/state, a GKeyFile
 * "[Store] current=N previous=M", the one file that says which revision is
 * in use.  qvm-template writes it; qmgrd reads it at every start of a qube
 * whose template is in the store.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

#define QM_TPL_STATE "state"

/* STORE/NAME's current and previous (0: none) revisions. */
bool qm_tpl_state_read(const char *template_dir, guint32 *current,
		       guint32 *previous, GError **error);
/* Replaces the state file atomically (write, fsync, rename). */
bool qm_tpl_state_write(const char *template_dir, guint32 current,
			guint32 previous, GError **error);
