/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Building qmgr.Filecopy streams in tests, well-formed or not: every field
 * can be set, and what follows a header need not match it.
 */
#pragma once

#include <stdint.h>
#include <glib.h>

#include "format.h"

#define T_MTIME 1700000000
#define T_NSEC 123456789u

/* A stream with its header. */
GByteArray *ts_new(void);

/* An entry header with every field given, and its name (NUL bytes
 * included: name_len bytes are copied). */
void ts_header(GByteArray *s, uint32_t mode, const char *name,
	       uint32_t name_len, uint64_t size, int64_t mtime_sec,
	       uint32_t mtime_nsec, uint32_t flags);

void ts_dir(GByteArray *s, const char *name, uint32_t perm);
void ts_file(GByteArray *s, const char *name, uint32_t perm,
	     const char *content);
void ts_symlink(GByteArray *s, const char *name, const char *target);
void ts_end(GByteArray *s);
void ts_raw(GByteArray *s, const void *p, size_t len);
