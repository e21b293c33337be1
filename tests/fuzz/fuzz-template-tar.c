/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: any bytes as the 512-byte header blocks of a template
 * tarball (qvm-tools/template-tar.c).  For every header it accepts, what
 * the extractor relies on holds: a file has a plain name (no '/', no
 * "..", not hidden) in at most one plain directory, and a size within the
 * limit; a directory entry is a plain name or the top itself.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template-manifest.h"
#include "template-tar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                           \
	do {                                                               \
		if (!(x)) {                                                \
			fprintf(stderr, "fuzz-template-tar: invariant "    \
				"violated: %s\n", #x);                     \
			abort();                                           \
		}                                                          \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (size_t off = 0; off + QM_TAR_BLOCK <= size; off += QM_TAR_BLOCK) {
		struct qm_tar_entry e;
		GError *error = NULL;
		if (!qm_tar_header_parse(data + off, &e, &error)) {
			CHECK(error != NULL && error->message[0] != '\0');
			g_error_free(error);
			continue;
		}
		switch (e.kind) {
		case QM_TAR_FILE:
			CHECK(qm_tpl_file_name_is_valid(e.name));
			CHECK(e.dir[0] == '\0' ||
			      qm_tpl_file_name_is_valid(e.dir));
			CHECK(e.size <= QM_TAR_MAX_FILE_SIZE);
			break;
		case QM_TAR_DIR:
			CHECK(e.name[0] == '\0' ||
			      qm_tpl_file_name_is_valid(e.name));
			break;
		case QM_TAR_END:
			break;
		}
	}
	return 0;
}
