/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Names and symlink targets of qmgr.Filecopy (format.h): the checks the
 * receiver's decoder applies and the sender applies to its own files
 * first, and escaping for showing what came from another qube.
 */
#pragma once

#include <stddef.h>

/*
 * Checks the name of an entry (len bytes, which need not be
 * NUL-terminated).  NULL if it may be used, else why not, a static clause
 * for a message ("the name has a '..' component").
 */
const char *qfc_path_check(const char *path, size_t len);

/*
 * Checks the target of a symlink whose own (valid) name is `link_path`:
 * relative, made of checked components, and staying inside the receiving
 * directory when resolved from the link's directory.  Only leading '..'
 * are allowed, at most one less than the link's depth: after a name, '..'
 * could climb out through a directory that is itself a symlink.  NULL if
 * fine, else why not, a static clause to follow "its target 'T'" ("is
 * absolute: ...").
 */
const char *qfc_symlink_target_check(const char *link_path,
				     const char *target, size_t len);

/*
 * A name or message from the other side made safe to show: printable UTF-8
 * stays, backslash, control and bidirectional-text characters and bytes
 * that are not UTF-8 become \xNN.  Long names are cut with "...".
 */
char *qfc_escape(const void *bytes, size_t len);

/* The same for a message (which has its names escaped already): backslash
 * stays, and only very long messages are cut. */
char *qfc_escape_message(const char *message);
