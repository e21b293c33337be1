/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Signing and verifying a template directory (the format is in
 * template-manifest.h; docs/templates.md, "Signing").  A template
 * directory holds regular files only: template.conf (its [Template] group
 * names name, version and revision), the kernel, initramfs and root image
 * it names, MANIFEST and MANIFEST.sig.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

#include "template-manifest.h"

#define QM_TPL_CONF "template.conf"

/* The name (a valid template name), version (NULL: not wanted) and
 * revision that `dir`/template.conf's [Template] group says. */
bool qm_tpl_conf_identity(const char *dir, char **name, char **version,
			  guint32 *revision, GError **error);

/* A new Ed25519 key pair named `name` (a file name). */
bool qm_tpl_key_generate(const char *name, struct qm_tpl_key *out,
			 GError **error);

/* Reads a .pub or .key file (at most a few hundred bytes). */
bool qm_tpl_key_load(const char *path, bool secret, struct qm_tpl_key *out,
		     GError **error);

/* Hashes every file of `dir` but MANIFEST and MANIFEST.sig into a
 * manifest named after template.conf's name, version and revision.
 * Refuses anything that is not a regular file with a plain name. */
struct qm_tpl_manifest *qm_tpl_dir_manifest(const char *dir, GError **error);

/* Writes MANIFEST and MANIFEST.sig of `dir`, signed with `key` (which
 * has its secret half). */
bool qm_tpl_dir_sign(const char *dir, const struct qm_tpl_key *key,
		     GError **error);

/*
 * Verifies `dir` against the public keys `keys_dir`/KEYNAME.pub: the
 * signature of MANIFEST by the key MANIFEST.sig names, then that the
 * directory holds exactly the files MANIFEST lists (regular files, not
 * links) with their sizes and hashes, and that template.conf says the
 * manifest's name, version and revision.  Returns the manifest, and in
 * *key_name the key that signed it; NULL with an error naming the first
 * thing that does not match.
 */
struct qm_tpl_manifest *qm_tpl_dir_verify(const char *dir,
					  const char *keys_dir,
					  char **key_name, GError **error);
