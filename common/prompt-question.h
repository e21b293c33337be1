/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The prompt-ask event's properties (docs/admin-api.md, "Prompt agents"),
 * decoded and checked for the prompt agents: qvm-prompt and qmgr-tray.
 * qmgrd builds them, but source, service, argument and the targets are
 * what a qube's call named: the strings are kept as received (checked for
 * length only) and must be sanitized wherever they are shown.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

/* Larger than anything qmgrd sends (qube names are short, a service and
 * its argument are capped by the policy); more means something is wrong. */
#define QM_PROMPT_MAX_STRING 1024
#define QM_PROMPT_MAX_TARGETS 256
/* A timeout above a day is read as a day. */
#define QM_PROMPT_MAX_TIMEOUT_S 86400u

struct qm_prompt_question {
	uint32_t id;                /* not 0 */
	char *untrusted_source;     /* the calling qube */
	char *untrusted_service;
	char *untrusted_argument;   /* "+ARG", or "+" / "" for none */
	char **untrusted_targets;   /* in qmgrd's order, at least one, none
				     * empty; NULL-terminated */
	unsigned int ntargets;
	char *untrusted_default;    /* one of the targets, or NULL */
	uint32_t timeout_s;         /* seconds left, at most
				     * QM_PROMPT_MAX_TIMEOUT_S */
};

/*
 * `props` (a prompt-ask's a{sv}) decoded: every property present with its
 * type (id u, source s, service s, argument s, targets as, default_target
 * s, timeout u); id not 0; 1..QM_PROMPT_MAX_TARGETS targets, none empty;
 * no string longer than QM_PROMPT_MAX_STRING bytes; the default "" or one
 * of the targets.  NULL with `error` (G_IO_ERROR_INVALID_DATA, naming the
 * property) otherwise.
 */
struct qm_prompt_question *qm_prompt_question_parse(GVariant *props,
						    GError **error);
void qm_prompt_question_destroy(struct qm_prompt_question *q);
typedef struct qm_prompt_question qm_prompt_question;   /* for g_autoptr */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(qm_prompt_question, qm_prompt_question_destroy)
