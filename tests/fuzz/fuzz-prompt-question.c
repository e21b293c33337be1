/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: any bytes as a prompt-ask's serialized a{sv}
 * properties (common/prompt-question.c), as a prompt agent takes them from
 * qmgrd's EVENT frames.  The strings in them come from a qube's call.
 *
 * Checks: an accepted question satisfies every documented limit (id not
 * 0, 1..QM_PROMPT_MAX_TARGETS non-empty targets, strings within
 * QM_PROMPT_MAX_STRING and valid UTF-8, the default one of the targets, the
 * timeout capped); a refused one says why.  Both the bytes as given and
 * their normal form are decoded, and must agree.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "prompt-question.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                           \
	do {                                                               \
		if (!(x)) {                                                \
			fprintf(stderr, "fuzz-prompt-question: check failed: " \
				"%s\n", #x);                               \
			abort();                                           \
		}                                                          \
	} while (0)

static bool string_ok(const char *s, bool may_be_empty)
{
	size_t len = strlen(s);

	return (may_be_empty || len > 0) && len <= QM_PROMPT_MAX_STRING &&
	       g_utf8_validate(s, -1, NULL);
}

/* Decodes props; returns the question (checked) or NULL (with a why). */
static struct qm_prompt_question *decode(GVariant *props)
{
	GError *err = NULL;
	struct qm_prompt_question *q = qm_prompt_question_parse(props, &err);

	if (q == NULL) {
		CHECK(err != NULL && err->message != NULL && *err->message);
		g_error_free(err);
		return NULL;
	}
	CHECK(err == NULL);
	CHECK(q->id != 0);
	CHECK(string_ok(q->untrusted_source, true));
	CHECK(string_ok(q->untrusted_service, true));
	CHECK(string_ok(q->untrusted_argument, true));
	CHECK(q->ntargets >= 1 && q->ntargets <= QM_PROMPT_MAX_TARGETS);
	CHECK(g_strv_length(q->untrusted_targets) == q->ntargets);
	for (unsigned int i = 0; i < q->ntargets; i++)
		CHECK(string_ok(q->untrusted_targets[i], false));
	CHECK(q->untrusted_default == NULL ||
	      g_strv_contains((const char *const *)q->untrusted_targets,
			      q->untrusted_default));
	CHECK(q->timeout_s <= QM_PROMPT_MAX_TIMEOUT_S);
	return q;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GBytes *bytes = g_bytes_new(data, size);
	GVariant *props = g_variant_ref_sink(g_variant_new_from_bytes(
		G_VARIANT_TYPE_VARDICT, bytes, FALSE));
	GVariant *normal = g_variant_get_normal_form(props);
	struct qm_prompt_question *a = decode(props);
	struct qm_prompt_question *b = decode(normal);

	CHECK((a == NULL) == (b == NULL));
	if (a != NULL) {
		CHECK(a->id == b->id && a->ntargets == b->ntargets);
		CHECK(strcmp(a->untrusted_source, b->untrusted_source) == 0);
		CHECK(g_strv_equal((const char *const *)a->untrusted_targets,
				   (const char *const *)b->untrusted_targets));
	}
	qm_prompt_question_destroy(a);
	qm_prompt_question_destroy(b);
	g_variant_unref(normal);
	g_variant_unref(props);
	g_bytes_unref(bytes);
	return 0;
}
