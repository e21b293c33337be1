/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Removing a directory tree (a qube's volumes, a template revision). */
#pragma once

#include <stdbool.h>
#include <glib.h>

/*
 * Removes `path` and everything below it, never following a symbolic link
 * (a link is removed, not what it points to).  A path that does not exist
 * is not an error.  Goes on past a file it cannot remove, and returns
 * false with the first such failure ("PATH: REASON", G_IO_ERROR).
 */
bool qm_remove_tree(const char *path, GError **error);
