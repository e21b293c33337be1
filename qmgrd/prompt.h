/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ask prompt: when the RPC policy says `ask`, the user picks the target
 * (or refuses) in a prompt agent, a tool in their session that registered
 * on the admin socket with prompt.Register (qvm-prompt; later the tray).
 * qmgrd sends each question as an EVENT prompt-ask to that one client and
 * takes its prompt.Answer, for at most --prompt-timeout seconds
 * (docs/admin-api.md, "Prompt agents").
 *
 * Several agents may be registered; a new question goes to the most recent
 * one.  When the agent a question was sent to goes away before answering,
 * the question is sent to the next most recent agent (with the time that is
 * left), and refused when none is left.
 */
#pragma once

#include <glib.h>

#include "daemon.h"

struct qm_call;
struct qm_peer;

/* Questions open at once.  More are refused at once rather than piling up
 * in front of the user (a qube calling in a loop). */
#define QM_PROMPT_OPEN_MAX 32

/* answer: the chosen target (one of `targets`), or NULL when refused;
 * why: for a refusal, a sentence for the caller ("no prompt agent is
 * registered (run qvm-prompt in your session)", "the user refused", "no
 * answer within 60 s").  Never called before qm_prompt_ask returns: always
 * from the main loop.  Both strings are valid only during the call. */
typedef void (*qm_prompt_fn)(const char *answer, const char *why, void *data);

/* The daemon's prompt (d->prompt): made once at start. */
struct qm_prompt *qm_prompt_create(struct qmgrd *d);
/* Refuses every open question ("qmgrd is stopping"; the agents get
 * prompt-cancel), so call it while the callers' state still exists and
 * before the admin socket goes.  Accepts NULL. */
void qm_prompt_destroy(struct qm_prompt *prompt);

/*
 * Asks the user, through the registered prompt agent, which of `targets`
 * (NULL-terminated, at least one) `source` may call `service` (with
 * `argument`, "+ARG" as in the policy, or "+"/"" for none) on.  `done` is
 * called exactly once, within d->prompt_timeout_s seconds (or when qmgrd
 * stops).  `default_target` may be NULL; one not among `targets` is
 * ignored.
 */
void qm_prompt_ask(struct qmgrd *d, const char *source, const char *service,
		   const char *argument, const char *const *targets,
		   const char *default_target, qm_prompt_fn done, void *data);

/* ---- what the admin socket calls ---- */

/* admin-methods.c: prompt.Register and prompt.Answer; they answer `call`. */
void qm_prompt_register(struct qmgrd *d, struct qm_call *call);
void qm_prompt_answer(struct qmgrd *d, struct qm_call *call);
/* admin-socket.c: an admin client went away (it may have been an agent). */
void qm_prompt_peer_gone(struct qmgrd *d, struct qm_peer *peer);
