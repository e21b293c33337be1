/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The desktop prompt agent's questions (docs/admin-api.md, "Prompt
 * agents"): prompt-ask events checked and kept in the order they came,
 * their targets with the default first, until answered or cancelled.
 * Their strings are qmgrd's copies of what a qube sent: kept as received,
 * sanitized wherever they are shown (menu-model.c, notify.c).
 */
#include "tray.h"

#include <string.h>

/* qmgrd keeps at most 32 open; more here means something is wrong. */
#define MAX_QUESTIONS 64
#define MAX_TARGETS 256
#define MAX_STRING 1024

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

static bool str_prop(GVariant *props, const char *key, const char **out)
{
	if (!g_variant_lookup(props, key, "&s", out))
		return false;
	return strlen(*out) <= MAX_STRING;
}

const struct qt_question *qt_prompts_ask(struct qt_prompts *p,
					 GVariant *props, int64_t now)
{
	guint32 id, timeout;
	const char *source, *service, *argument, *def = "";
	g_autofree const char **targets = NULL;

	if (!g_variant_lookup(props, "id", "u", &id) || id == 0 ||
	    !str_prop(props, "source", &source) ||
	    !str_prop(props, "service", &service) ||
	    !str_prop(props, "argument", &argument) ||
	    !g_variant_lookup(props, "targets", "^a&s", &targets) ||
	    !g_variant_lookup(props, "timeout", "u", &timeout)) {
		g_warning("prompt-ask without id, source, service, argument, "
			  "targets or timeout of the right types: ignored");
		return NULL;
	}
	g_variant_lookup(props, "default_target", "&s", &def);
	guint n = g_strv_length((char **)targets);
	if (n == 0 || n > MAX_TARGETS) {
		g_warning("prompt-ask %u with %u targets: ignored", id, n);
		return NULL;
	}
	for (guint i = 0; i < n; i++) {
		if (!targets[i][0] || strlen(targets[i]) > MAX_STRING) {
			g_warning("prompt-ask %u with an empty or overlong "
				  "target: ignored", id);
			return NULL;
		}
	}
	if (*def && !g_strv_contains(targets, def)) {
		g_warning("prompt-ask %u: its default is not one of its "
			  "targets: ignored", id);
		return NULL;
	}
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
	q->source = g_strdup(source);
	q->service = g_strdup(service);
	q->argument = g_strdup(argument);
	q->default_target = *def ? g_strdup(def) : NULL;
	q->targets = g_new0(char *, n + 1);
	guint k = 0;
	if (*def)
		q->targets[k++] = g_strdup(def);
	for (guint i = 0; i < n; i++)
		if (!*def || strcmp(targets[i], def) != 0)
			q->targets[k++] = g_strdup(targets[i]);
	q->deadline = now + (int64_t)MIN(timeout, 86400u) * G_USEC_PER_SEC;
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
