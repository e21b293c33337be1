/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The desktop prompt agent's questions (docs/admin-api.md, "Prompt
 * agents"): prompt-ask events checked (common/prompt-question.c) and
 * kept in the order they came, their targets with the default first,
 * until answered or cancelled.
 * Their strings are qmgrd's copies of what a qube sent: kept as received,
 * sanitized wherever they are shown (menu-model.c, notify.c).
 */
#include "tray.h"
#include "prompt-question.h"

#include <string.h>

/* qmgrd keeps at most 32 open; more here means something is wrong. */
#define MAX_QUESTIONS 64

struct qt_prompts {
	GPtrArray *list;    /* struct qt_question *, in arrival order */
};

struct qt_prompts *qt_prompts_create(void)
{
	struct qt_prompts *p = g_new0(struct qt_prompts, 1);

	p->list = g_ptr_array_new_with_free_func(
		(GDestroyNotify)qt_question_free);
	return p;
}

void qt_prompts_destroy(struct qt_prompts *p)
{
	if (!p)
		return;
	g_ptr_array_unref(p->list);
	g_free(p);
}

static int index_of(struct qt_prompts *p, uint32_t id)
{
	for (guint i = 0; i < p->list->len; i++)
		if (((struct qt_question *)p->list->pdata[i])->id == id)
			return (int)i;
	return -1;
}

const struct qt_question *qt_prompts_ask(struct qt_prompts *p,
					 GVariant *props, int64_t now)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(qm_prompt_question) ask = qm_prompt_question_parse(props,
								     &err);

	if (!ask) {
		g_warning("%s: ignored", err->message);
		return NULL;
	}
	uint32_t id = ask->id;
	const char *def = ask->untrusted_default ? ask->untrusted_default : "";
	int old = index_of(p, id);
	if (old >= 0)
		g_ptr_array_remove_index(p->list, (guint)old);
	if (p->list->len >= MAX_QUESTIONS) {
		g_warning("prompt-ask %u: %d questions are open already: "
			  "ignored (qmgrd refuses it when its time runs out)",
			  id, MAX_QUESTIONS);
		return NULL;
	}
	struct qt_question *q = g_new0(struct qt_question, 1);
	q->id = id;
	q->source = g_steal_pointer(&ask->untrusted_source);
	q->service = g_steal_pointer(&ask->untrusted_service);
	q->argument = g_steal_pointer(&ask->untrusted_argument);
	q->default_target = g_strdup(ask->untrusted_default);
	q->targets = g_new0(char *, ask->ntargets + 1);
	guint k = 0;
	if (*def)
		q->targets[k++] = g_strdup(def);
	for (guint i = 0; i < ask->ntargets; i++)
		if (!*def || strcmp(ask->untrusted_targets[i], def) != 0)
			q->targets[k++] = g_strdup(ask->untrusted_targets[i]);
	q->deadline = now + (int64_t)ask->timeout_s * G_USEC_PER_SEC;
	g_ptr_array_add(p->list, q);
	return q;
}

bool qt_prompts_forget(struct qt_prompts *p, uint32_t id)
{
	int i = index_of(p, id);

	if (i < 0)
		return false;
	g_ptr_array_remove_index(p->list, (guint)i);
	return true;
}

const struct qt_question *qt_prompts_find(struct qt_prompts *p, uint32_t id)
{
	int i = index_of(p, id);

	return i < 0 ? NULL : p->list->pdata[i];
}

bool qt_prompts_offers(struct qt_prompts *p, uint32_t id, const char *target)
{
	const struct qt_question *q = qt_prompts_find(p, id);

	if (!q)
		return false;
	return !*target || g_strv_contains((const char *const *)q->targets,
					   target);
}

void qt_prompts_clear(struct qt_prompts *p)
{
	g_ptr_array_set_size(p->list, 0);
}

GPtrArray *qt_prompts_list(struct qt_prompts *p)
{
	return p->list;
}
