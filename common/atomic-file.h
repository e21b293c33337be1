/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Replacing a file so that a crash leaves either the old or the new one. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <glib.h>

/*
 * Writes `data` to a temporary file in the directory of `path`, fsyncs it,
 * renames it over `path` and fsyncs the directory.  The new file gets `mode`.
 * On failure `path` is untouched and the temporary file is removed.
 */
bool qm_atomic_write(const char *path, const void *data, size_t len,
		     mode_t mode, GError **error);

/* Renames the existing file `tmp` over `path` with the same guarantees
 * (fsync of tmp, rename, fsync of the directory). */
bool qm_atomic_install(const char *tmp, const char *path, GError **error);

/* fsyncs the directory holding `path`. */
bool qm_fsync_parent(const char *path, GError **error);
