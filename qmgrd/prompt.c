/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

/*
 * The ask prompt (prompt.h, docs/admin-api.md "Prompt agents").  Open
 * questions are kept by id; each is asked of one agent at a time and ends
 * exactly once: answered, refused, timed out, or refused when qmgrd stops.
 * The deadline is set when a question is asked and is not extended when it
 * moves to another agent: the caller (a qube waiting on its RPC call) waits
 * at most --prompt-timeout in all.
 *
 * Agents are admin clients, already trusted with the whole admin API, but
 * their answers are still checked against the targets offered, so that no
 * agent, confused or not, can send a call where the policy did not allow.
 */
#include "prompt.h"

#include <string.h>

#include "admin.h"

#define NO_AGENT "no prompt agent is registered (run qvm-prompt in your " \
		 "session)"

struct question {
	struct qm_prompt *prompt;
	guint32 id;
	char *source;
	char *service;
	char *argument;
	char **targets;
	char *default_target;   /* NULL: none */
	int timeout_s;          /* given when asked */
	gint64 deadline;        /* monotonic µs */
	struct qm_peer *agent;  /* asked of; NULL once it is being refused */
	guint timeout;          /* the deadline's timer */
	guint refuse_idle;      /* a refusal on its way (with `refusal`) */
	char *refusal;
	qm_prompt_fn done;
	void *data;
};

struct qm_prompt {
	struct qmgrd *d;
	/* struct qm_peer *, most recent last.  Not referenced: the admin
	 * socket calls qm_prompt_peer_gone before it lets a client go. */
	GPtrArray *agents;
	GHashTable *questions;  /* id -> struct question (owned) */
	guint32 next_id;
};

static void question_free(struct question *q)
{
	if (q->timeout)
		g_source_remove(q->timeout);
	if (q->refuse_idle)
		g_source_remove(q->refuse_idle);
	g_free(q->source);
	g_free(q->service);
	g_free(q->argument);
	g_strfreev(q->targets);
	g_free(q->default_target);
	g_free(q->refusal);
	g_free(q);
}

/* Ends a question: out of the table first, so that `done` may ask again. */
static void finish(struct question *q, const char *answer, const char *why)
{
	g_hash_table_steal(q->prompt->questions, GUINT_TO_POINTER(q->id));
	if (answer != NULL)
		g_message("prompt %u: %s -> %s%s: %s chose %s", q->id,
			  q->source, q->service, q->argument,
			  q->agent ? qm_peer_name(q->agent) : "", answer);
	else
		g_message("prompt %u: %s -> %s%s refused: %s", q->id,
			  q->source, q->service, q->argument, why);
	q->done(answer, why, q->data);
	question_free(q);
}

static gboolean on_refuse_idle(gpointer data)
{
	struct question *q = data;
	q->refuse_idle = 0;
	finish(q, NULL, q->refusal);
	return G_SOURCE_REMOVE;
}

/* Refuses from the main loop, never from within qm_prompt_ask. */
static void refuse_soon(struct question *q, const char *why)
{
	q->agent = NULL;
	if (q->timeout) {
		g_source_remove(q->timeout);
		q->timeout = 0;
	}
	g_free(q->refusal);
	q->refusal = g_strdup(why);
	if (q->refuse_idle == 0)
		q->refuse_idle = g_idle_add(on_refuse_idle, q);
}

/* Tells the agent to take the question off the screen. */
static void cancel(struct question *q)
{
	if (q->agent == NULL)
		return;
	GVariantDict props;
	g_variant_dict_init(&props, NULL);
	g_variant_dict_insert(&props, "id", "u", q->id);
	qm_peer_emit(q->agent, "prompt-cancel", "",
		     g_variant_dict_end(&props));
}

static gboolean on_timeout(gpointer data)
{
	struct question *q = data;
	q->timeout = 0;
	cancel(q);
	g_autofree char *why = g_strdup_printf(
		"no answer within %d s", q->timeout_s);
	finish(q, NULL, why);
	return G_SOURCE_REMOVE;
}

/* Whole seconds left, at least 1: what the agent may show as a count. */
static guint32 seconds_left(const struct question *q)
{
	gint64 left = q->deadline - g_get_monotonic_time();
	return left <= 1000000 ? 1 : (guint32)((left + 999999) / 1000000);
}

/*
 * Sends the question to the most recent agent; one that cannot take it
 * (its connection just failed) is dropped from the list.  False when no
 * agent is left.
 */
static bool ask_agent(struct question *q)
{
	GPtrArray *agents = q->prompt->agents;

	q->agent = NULL;
	while (agents->len > 0) {
		struct qm_peer *p = g_ptr_array_index(agents, agents->len - 1);
		GVariantDict props;
		g_variant_dict_init(&props, NULL);
		g_variant_dict_insert(&props, "id", "u", q->id);
		g_variant_dict_insert(&props, "source", "s", q->source);
		g_variant_dict_insert(&props, "service", "s", q->service);
		g_variant_dict_insert(&props, "argument", "s", q->argument);
		g_variant_dict_insert_value(
			&props, "targets",
			g_variant_new_strv((const char *const *)q->targets,
					   -1));
		g_variant_dict_insert(&props, "default_target", "s",
				      q->default_target ? q->default_target
							: "");
		g_variant_dict_insert(&props, "timeout", "u", seconds_left(q));
		if (qm_peer_emit(p, "prompt-ask", "",
				 g_variant_dict_end(&props))) {
			q->agent = p;
			g_message("prompt %u: asking %s whether %s may call "
				  "%s%s", q->id, qm_peer_name(p), q->source,
				  q->service, q->argument);
			return true;
		}
		g_message("prompt agent %s is gone", qm_peer_name(p));
		g_ptr_array_remove_index(agents, agents->len - 1);
	}
	return false;
}

struct qm_prompt *qm_prompt_create(struct qmgrd *d)
{
	struct qm_prompt *pr = g_new0(struct qm_prompt, 1);
	pr->d = d;
	pr->agents = g_ptr_array_new();
	pr->questions = g_hash_table_new(NULL, NULL);
	pr->next_id = 1;
	return pr;
}

void qm_prompt_destroy(struct qm_prompt *pr)
{
	if (pr == NULL)
		return;
	GHashTableIter it;
	gpointer q;
	while (g_hash_table_size(pr->questions) > 0) {
		g_hash_table_iter_init(&it, pr->questions);
		g_hash_table_iter_next(&it, NULL, &q);
		cancel(q);
		finish(q, NULL, "qmgrd is stopping");
	}
	g_hash_table_destroy(pr->questions);
	g_ptr_array_free(pr->agents, TRUE);
	g_free(pr);
}

void qm_prompt_ask(struct qmgrd *d, const char *source, const char *service,
		   const char *argument, const char *const *targets,
		   const char *default_target, qm_prompt_fn done, void *data)
{
	struct qm_prompt *pr = d->prompt;
	g_assert(pr != NULL);
	g_assert(targets != NULL && targets[0] != NULL);

	struct question *q = g_new0(struct question, 1);
	q->prompt = pr;
	/* Ids are not reused while open: 2^32 questions are not open. */
	do {
		q->id = pr->next_id++;
	} while (q->id == 0 || g_hash_table_contains(pr->questions,
						     GUINT_TO_POINTER(q->id)));
	q->source = g_strdup(source);
	q->service = g_strdup(service);
	q->argument = g_strdup(argument ? argument : "");
	q->targets = g_strdupv((char **)targets);
	if (default_target != NULL && *default_target != '\0') {
		if (g_strv_contains(targets, default_target))
			q->default_target = g_strdup(default_target);
		else
			g_warning("prompt: default target '%s' of %s -> %s is "
				  "not among its targets; asking without a "
				  "default", default_target, source, service);
	}
	q->timeout_s = d->prompt_timeout_s;
	q->deadline = g_get_monotonic_time() +
		      (gint64)q->timeout_s * G_USEC_PER_SEC;
	q->done = done;
	q->data = data;
	g_hash_table_insert(pr->questions, GUINT_TO_POINTER(q->id), q);

	if (g_hash_table_size(pr->questions) > QM_PROMPT_OPEN_MAX) {
		g_autofree char *why = g_strdup_printf(
			"too many questions are waiting for an answer (at "
			"most %d at a time)", QM_PROMPT_OPEN_MAX);
		refuse_soon(q, why);
		return;
	}
	if (!ask_agent(q)) {
		refuse_soon(q, NO_AGENT);
		return;
	}
	q->timeout = g_timeout_add((guint)q->timeout_s * 1000, on_timeout,
				   q);
}

/*
 * The prompt methods are for clients of the admin socket only.  A call a
 * qube makes through the policy (an internal call, without a client) must
 * never stand in for the user: a qube answering the question about its own
 * call would make `ask` an `allow`.
 */
static bool from_socket(struct qm_call *c)
{
	if (qm_call_peer(c) != NULL)
		return true;
	qm_call_fail(c, QM_ERR_DENIED,
		     "%s is only for prompt agents on qmgrd's admin socket, "
		     "not for calls from qubes", qm_call_method(c));
	return false;
}

void qm_prompt_register(struct qmgrd *d, struct qm_call *c)
{
	struct qm_prompt *pr = d->prompt;
	struct qm_peer *p = qm_call_peer(c);

	if (!from_socket(c))
		return;
	/* Registering again makes it the most recent. */
	g_ptr_array_remove(pr->agents, p);
	g_ptr_array_add(pr->agents, p);
	g_message("%s registered as a prompt agent", qm_peer_name(p));
	qm_call_reply(c, NULL);
}

void qm_prompt_answer(struct qmgrd *d, struct qm_call *c)
{
	struct qm_prompt *pr = d->prompt;
	guint32 id;
	const char *untrusted_target;

	if (!from_socket(c))
		return;
	if (!g_variant_lookup(qm_call_args(c), "id", "u", &id) ||
	    !g_variant_lookup(qm_call_args(c), "target", "&s",
			      &untrusted_target)) {
		qm_call_fail(c, QM_ERR_INVALID,
			     "prompt.Answer needs 'id' (u, the question's) "
			     "and 'target' (s, empty to refuse)");
		return;
	}
	struct question *q = g_hash_table_lookup(pr->questions,
						 GUINT_TO_POINTER(id));
	/* Only the agent asked may answer: an answer from elsewhere is a
	 * confused client, not the user's choice. */
	if (q == NULL || q->agent == NULL || q->agent != qm_call_peer(c)) {
		qm_call_fail(c, QM_ERR_NOT_FOUND,
			     "question %u is not open for this client (it "
			     "was answered, timed out, or asked of another "
			     "prompt agent)", id);
		return;
	}
	if (*untrusted_target == '\0') {
		qm_call_reply(c, NULL);
		finish(q, NULL, "the user refused");
		return;
	}
	/* The answer must be one of the offered targets; the one passed on
	 * is qmgrd's own copy. */
	const char *target = NULL;
	for (char **t = q->targets; *t != NULL && target == NULL; t++)
		if (strcmp(*t, untrusted_target) == 0)
			target = *t;
	if (target == NULL) {
		g_autofree char *shown = g_strescape(untrusted_target, NULL);
		g_autofree char *offered = g_strjoinv(", ", q->targets);
		qm_call_fail(c, QM_ERR_INVALID,
			     "'%s' is not one of the targets offered for "
			     "question %u (%s); the question is still open",
			     shown, id, offered);
		return;
	}
	qm_call_reply(c, NULL);
	finish(q, target, NULL);
}

static gint compare_ids(gconstpointer a, gconstpointer b)
{
	guint32 x = (*(struct question *const *)a)->id;
	guint32 y = (*(struct question *const *)b)->id;
	return x < y ? -1 : x > y;
}

void qm_prompt_peer_gone(struct qmgrd *d, struct qm_peer *p)
{
	struct qm_prompt *pr = d->prompt;
	if (pr == NULL)
		return;
	if (g_ptr_array_remove(pr->agents, p))
		g_message("prompt agent %s went away", qm_peer_name(p));

	/* Its open questions (also when ask_agent has already dropped it
	 * from the list) go to the next agent, in the order they were asked
	 * (ids grow), so that the user sees them in that order. */
	g_autoptr(GPtrArray) moved = g_ptr_array_new();
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, pr->questions);
	while (g_hash_table_iter_next(&it, NULL, &v))
		if (((struct question *)v)->agent == p)
			g_ptr_array_add(moved, v);
	g_ptr_array_sort(moved, compare_ids);
	for (guint i = 0; i < moved->len; i++) {
		struct question *q = g_ptr_array_index(moved, i);
		if (!ask_agent(q))
			refuse_soon(q, "the prompt agent went away before "
				       "answering, and no other is "
				       "registered (run qvm-prompt in your "
				       "session)");
	}
}
