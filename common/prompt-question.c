/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The prompt-ask decoder shared by the prompt agents.  It does nothing but
 * decode, so tests/fuzz/fuzz-prompt-question.c can feed it any bytes.
 */
#include "prompt-question.h"

#include <string.h>
#include <gio/gio.h>

/* Why a prompt-ask is refused; the message names the property. */
G_GNUC_PRINTF(2, 3)
static void refuse(GError **error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_autofree char *why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
		    "prompt-ask %s (is qmgrd the same version as this "
		    "prompt agent?)", why);
}

static bool lookup_string(GVariant *props, const char *key,
			  const char **untrusted, GError **error)
{
	if (!g_variant_lookup(props, key, "&s", untrusted)) {
		refuse(error, "without '%s' (a string)", key);
		return false;
	}
	if (strlen(*untrusted) > QM_PROMPT_MAX_STRING) {
		refuse(error, "with a '%s' longer than %d bytes", key,
		       QM_PROMPT_MAX_STRING);
		return false;
	}
	return true;
}

struct qm_prompt_question *qm_prompt_question_parse(GVariant *props,
						    GError **error)
{
	const char *untrusted_source, *untrusted_service, *untrusted_argument;
	const char *untrusted_default;
	g_autofree const char **untrusted_targets = NULL;
	guint32 id, timeout;

	if (props == NULL ||
	    !g_variant_is_of_type(props, G_VARIANT_TYPE_VARDICT)) {
		refuse(error, "whose properties are not an a{sv}");
		return NULL;
	}
	if (!g_variant_lookup(props, "id", "u", &id) || id == 0) {
		refuse(error, "without 'id' (a uint32, not 0)");
		return NULL;
	}
	if (!lookup_string(props, "source", &untrusted_source, error) ||
	    !lookup_string(props, "service", &untrusted_service, error) ||
	    !lookup_string(props, "argument", &untrusted_argument, error) ||
	    !lookup_string(props, "default_target", &untrusted_default,
			   error))
		return NULL;
	if (!g_variant_lookup(props, "timeout", "u", &timeout)) {
		refuse(error, "without 'timeout' (a uint32)");
		return NULL;
	}
	if (!g_variant_lookup(props, "targets", "^a&s", &untrusted_targets)) {
		refuse(error, "without 'targets' (an array of strings)");
		return NULL;
	}
	guint n = g_strv_length((char **)untrusted_targets);
	if (n == 0 || n > QM_PROMPT_MAX_TARGETS) {
		refuse(error, "%u with %u targets (1 to %d)", id, n,
		       QM_PROMPT_MAX_TARGETS);
		return NULL;
	}
	for (guint i = 0; i < n; i++) {
		size_t len = strlen(untrusted_targets[i]);

		if (len == 0 || len > QM_PROMPT_MAX_STRING) {
			refuse(error, "%u with an empty target or one longer "
			       "than %d bytes", id, QM_PROMPT_MAX_STRING);
			return NULL;
		}
	}
	if (*untrusted_default != '\0' &&
	    !g_strv_contains(untrusted_targets, untrusted_default)) {
		refuse(error, "%u with a default_target that is not one of "
		       "its targets", id);
		return NULL;
	}

	struct qm_prompt_question *q = g_new0(struct qm_prompt_question, 1);
	q->id = id;
	q->untrusted_source = g_strdup(untrusted_source);
	q->untrusted_service = g_strdup(untrusted_service);
	q->untrusted_argument = g_strdup(untrusted_argument);
	q->untrusted_targets = g_strdupv((char **)untrusted_targets);
	q->ntargets = n;
	q->untrusted_default = *untrusted_default != '\0'
			       ? g_strdup(untrusted_default) : NULL;
	q->timeout_s = MIN(timeout, QM_PROMPT_MAX_TIMEOUT_S);
	return q;
}

void qm_prompt_question_destroy(struct qm_prompt_question *q)
{
	if (q == NULL)
		return;
	g_free(q->untrusted_source);
	g_free(q->untrusted_service);
	g_free(q->untrusted_argument);
	g_strfreev(q->untrusted_targets);
	g_free(q->untrusted_default);
	g_free(q);
}
