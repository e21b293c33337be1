/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The template store (docs/templates.md, "Installing and rolling back"):
 * verified template revisions, two per template, switched atomically.
 *
 *   STORE/NAME/state      GKeyFile [Store] current=N previous=M (M may be
 *                         absent): the one file that says which revision
 *                         is in use, replaced with a rename
 *   STORE/NAME/N/         a complete, verified copy of revision N
 *   STORE/.incoming-*     a copy being made (removed by the next command
 *                         if a crash left it)
 *
 * A revision directory is only named in `state` once it is complete and
 * verified, and `state` is replaced in one rename, so a crash at any point
 * leaves the previous state in force; directories `state` does not name
 * are removed by the next install, rollback or recover.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

struct qm_tpl_store_entry {
	char *name;
	guint32 current, previous;      /* previous 0: none */
	char *current_version, *previous_version;
	char *current_signer;           /* NULL: installed unsigned */
};

void qm_tpl_store_entry_free(struct qm_tpl_store_entry *e);

/*
 * Copies the template directory `src` into the store, verifies the copy
 * against `keys_dir` (or, with allow_unsigned and no signature, only reads
 * its name and revision), and makes it the current revision, the one it
 * replaces the previous.  The revision must be newer than the current
 * one.  On any error nothing in the store changes.  *installed gets the
 * entry after the install.
 */
bool qm_tpl_store_install(const char *store, const char *src,
			  const char *keys_dir, bool allow_unsigned,
			  struct qm_tpl_store_entry **installed,
			  GError **error);

/* Makes the previous revision current (and the current one previous). */
bool qm_tpl_store_rollback(const char *store, const char *name,
			   struct qm_tpl_store_entry **now, GError **error);

/* Removes a template and all its revisions. */
bool qm_tpl_store_remove(const char *store, const char *name,
			 GError **error);

/* The installed templates, by name (an empty store: none). */
GPtrArray *qm_tpl_store_list(const char *store, GError **error);

/* Removes what a crash left: copies in progress, revisions not named by
 * any state. */
bool qm_tpl_store_recover(const char *store, GError **error);
