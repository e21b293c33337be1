/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading a template shipped as a tarball (docs/templates.md): the one
 * place where tar headers are decoded (fuzzed: tests/fuzz/fuzz-template-
 * tar.c).  A template tarball holds the files of one template directory
 * and nothing else: regular files with plain names, at its top (a leading
 * "./" allowed) or all under one directory; ustar or GNU headers, uncompressed or gzip.  Links,
 * devices, long or nested names, absolute paths, "..", duplicates, bad
 * checksums and a missing end of archive (a truncated download) are
 * refused, and nothing is kept of a refused tarball.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <gio/gio.h>

#define QM_TAR_BLOCK 512
#define QM_TAR_MAX_FILE_SIZE (64ull << 30)

/* A checked tar header. */
struct qm_tar_entry {
	enum { QM_TAR_FILE, QM_TAR_DIR, QM_TAR_END } kind;
	char name[101];         /* the file's plain name (FILE), the top
				 * directory without '/' (DIR; "" for the
				 * "./" that `tar -C DIR .` writes); "" for
				 * END */
	char dir[101];          /* FILE: its directory ("" at the top) */
	uint64_t size;          /* FILE: bytes of data that follow */
};

/* Decodes one 512-byte header block; a zero block is END. */
bool qm_tar_header_parse(const uint8_t *untrusted, struct qm_tar_entry *out,
			 GError **error);

/*
 * Extracts the template tarball `in` (gzip-compressed or not: looked at
 * its first bytes) into the existing empty directory `dir`, keeping runs
 * of zeros as holes.  Checks the whole layout (one directory at most,
 * unique plain names) and the end of the archive.  On error `dir` may hold
 * part of the files: the caller removes it.
 */
bool qm_tar_extract(GInputStream *in, const char *dir, GError **error);

/* Whether the file at `path` looks like a tarball (gzip or a ustar/GNU
 * header), as opposed to a template directory. */
bool qm_tar_file_is_tarball(const char *path);
