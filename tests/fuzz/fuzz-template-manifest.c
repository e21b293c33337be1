/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: any bytes as a template's MANIFEST, MANIFEST.sig, .pub
 * and .key file (common/template-manifest.c).  Besides not crashing, the
 * decoders keep their promise of one form per meaning: whatever they
 * accept, the writers give back byte for byte.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template-manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                           \
	do {                                                               \
		if (!(x)) {                                                \
			fprintf(stderr, "fuzz-template-manifest: invariant " \
				"violated: %s\n", #x);                     \
			abort();                                           \
		}                                                          \
	} while (0)

static void same(const char *text, const uint8_t *data, size_t size)
{
	CHECK(strlen(text) == size && memcmp(text, data, size) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	GError *error = NULL;

	struct qm_tpl_manifest *m = qm_tpl_manifest_parse(in, size, &error);
	if (m != NULL) {
		char *back = qm_tpl_manifest_format(m);
		same(back, data, size);
		CHECK(m->files->len >= 1 && m->files->len <= QM_TPL_MAX_FILES);
		for (guint i = 0; i < m->files->len; i++)
			CHECK(qm_tpl_file_name_is_valid(g_array_index(
				m->files, struct qm_tpl_file, i).name));
		g_free(back);
		qm_tpl_manifest_destroy(m);
	} else {
		CHECK(error != NULL && error->message[0] != '\0');
	}
	g_clear_error(&error);

	struct qm_tpl_signature s;
	if (qm_tpl_signature_parse(in, size, &s, &error)) {
		char *back = qm_tpl_signature_format(&s);
		same(back, data, size);
		g_free(back);
	}
	g_clear_error(&error);

	for (int secret = 0; secret < 2; secret++) {
		struct qm_tpl_key k;
		if (qm_tpl_key_parse(in, size, secret, &k, &error)) {
			CHECK(qm_tpl_file_name_is_valid(k.name));
			char *back = qm_tpl_key_format(&k, secret);
			same(back, data, size);
			g_free(back);
		}
		g_clear_error(&error);
	}
	return 0;
}
