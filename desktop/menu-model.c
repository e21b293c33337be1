/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The tray's menu as a tree of items, built from what qmgrd said (the
 * qubes, the open questions) and the tray's configuration; dbusmenu.c
 * exports it.  Pure data: no D-Bus here, so the tests build menus from
 * tables.
 *
 *   Requests (N)           only with open questions
 *     work: test.Ask+x     one submenu per question
 *       personal (default)   the targets, default first
 *       Deny
 *   ────────
 *   work — Running         running qubes first, then the others, by name
 *     Open terminal        what fits the state (see actions_for)
 *     Terminal, ...        tray.conf's entries
 *     Shut down, Kill
 *   Disposable             one submenu per disposable template
 *     default-dvm
 *       Firefox, Terminal
 *
 * Every label that holds guest-controlled text is sanitized here.
 */
#include "tray.h"

#include <string.h>

struct qt_menu_ids {
	GHashTable *by_key;   /* key -> id */
	int32_t next;
};

struct qt_menu_ids *qt_menu_ids_create(void)
{
	struct qt_menu_ids *ids = g_new0(struct qt_menu_ids, 1);

	ids->by_key = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					    NULL);
	ids->next = 1;
	return ids;
}

void qt_menu_ids_destroy(struct qt_menu_ids *ids)
{
	if (!ids)
		return;
	g_hash_table_destroy(ids->by_key);
	g_free(ids);
}

static int32_t id_for(struct qt_menu_ids *ids, const char *key)
{
	gpointer v;

	if (g_hash_table_lookup_extended(ids->by_key, key, NULL, &v))
		return GPOINTER_TO_INT(v);
	/* Ids are never reused: a stale id from an older layout names
	 * nothing rather than something else. */
	int32_t id = ids->next++;
	g_hash_table_insert(ids->by_key, g_strdup(key), GINT_TO_POINTER(id));
	return id;
}

void qt_qube_free(struct qt_qube *q)
{
	if (!q)
		return;
	g_free(q->name);
	g_free(q->state);
	g_free(q->klass);
	g_free(q->label);
	g_free(q);
}

void qt_question_free(struct qt_question *q)
{
	if (!q)
		return;
	g_free(q->source);
	g_free(q->service);
	g_free(q->argument);
	g_strfreev(q->targets);
	g_free(q->default_target);
	g_free(q);
}

void qt_item_destroy(struct qt_item *item)
{
	if (!item)
		return;
	g_free(item->label);
	g_free(item->vm);
	g_free(item->arg);
	if (item->children)
		g_ptr_array_unref(item->children);
	g_free(item);
}

static struct qt_item *item_new(struct qt_menu_ids *ids, const char *key,
				const char *text)
{
	struct qt_item *it = g_new0(struct qt_item, 1);

	it->id = ids ? id_for(ids, key) : 0;
	it->label = qt_menu_escape(text ? text : "");
	it->enabled = true;
	return it;
}

static void add_child(struct qt_item *parent, struct qt_item *child)
{
	if (!parent->children)
		parent->children = g_ptr_array_new_with_free_func(
			(GDestroyNotify)qt_item_destroy);
	g_ptr_array_add(parent->children, child);
}

static void add_separator(struct qt_item *parent, struct qt_menu_ids *ids,
			  const char *key)
{
	struct qt_item *it = item_new(ids, key, "");

	it->separator = true;
	add_child(parent, it);
}

static struct qt_item *add_action(struct qt_item *parent,
				  struct qt_menu_ids *ids, const char *key,
				  const char *text, enum qt_action action,
				  const char *vm, const char *arg)
{
	struct qt_item *it = item_new(ids, key, text);

	it->action = action;
	it->vm = g_strdup(vm);
	it->arg = g_strdup(arg);
	add_child(parent, it);
	return it;
}

static bool state_is(const struct qt_qube *q, const char *s)
{
	return q->state && strcmp(q->state, s) == 0;
}

static bool is_running(const struct qt_qube *q)
{
	return state_is(q, "Running") || state_is(q, "Transient") ||
	       state_is(q, "Halting") || state_is(q, "Paused");
}

unsigned int qt_qubes_running(GPtrArray *qubes)
{
	unsigned int n = 0;

	for (guint i = 0; qubes && i < qubes->len; i++)
		n += is_running(qubes->pdata[i]);
	return n;
}

const char *qt_state_notice(const char *old, const char *now)
{
	bool was_up = old && (strcmp(old, "Running") == 0 ||
			      strcmp(old, "Transient") == 0 ||
			      strcmp(old, "Halting") == 0 ||
			      strcmp(old, "Paused") == 0);

	/* Paused -> Running is a resume (a preloaded disposable taken), not
	 * a start. */
	if (strcmp(now, "Running") == 0 && g_strcmp0(old, "Running") != 0 &&
	    g_strcmp0(old, "Paused") != 0)
		return "started";
	if (strcmp(now, "Halted") == 0 && was_up)
		return "stopped";
	if (strcmp(now, "Crashed") == 0 && g_strcmp0(old, "Crashed") != 0)
		return "crashed";
	return NULL;
}

static int by_running_then_name(gconstpointer a, gconstpointer b)
{
	const struct qt_qube *x = *(struct qt_qube *const *)a;
	const struct qt_qube *y = *(struct qt_qube *const *)b;

	if (is_running(x) != is_running(y))
		return is_running(x) ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Actions that fit the state: a running qube can be shut down or killed; a
 * halted (or crashed) one started; one on its way up or down, or paused,
 * only killed.  Commands (vm.Run) start a halted qube first, so they are
 * offered for running and halted qubes. */
static void actions_for(struct qt_item *sub, struct qt_menu_ids *ids,
			const struct qt_qube *q, const struct qt_config *cfg)
{
	const char *n = q->name;
	bool running = state_is(q, "Running");
	bool halted = state_is(q, "Halted") || state_is(q, "Crashed");
	g_autofree char *k = NULL;

	if (halted) {
		k = g_strconcat("start:", n, NULL);
		add_action(sub, ids, k, "Start", QT_ACT_START, n, NULL);
	}
	if (running || halted) {
		g_free(k);
		k = g_strconcat("term:", n, NULL);
		add_action(sub, ids, k, "Open terminal", QT_ACT_RUN, n,
			   qt_config_terminal(cfg));
		g_autoptr(GPtrArray) entries = qt_config_entries(cfg, n);
		for (guint i = 0; i < entries->len; i++) {
			const struct qt_menu_entry *e = entries->pdata[i];
			g_autofree char *ek = g_strconcat("run:", n, ":",
							  e->name, NULL);
			add_action(sub, ids, ek, e->name, QT_ACT_RUN, n,
				   e->command);
		}
	}
	if (running) {
		g_free(k);
		k = g_strconcat("sep:", n, NULL);
		add_separator(sub, ids, k);
		g_free(k);
		k = g_strconcat("shutdown:", n, NULL);
		add_action(sub, ids, k, "Shut down", QT_ACT_SHUTDOWN, n, NULL);
	}
	if (!halted) {
		g_free(k);
		k = g_strconcat("kill:", n, NULL);
		add_action(sub, ids, k, "Kill", QT_ACT_KILL, n, NULL);
	}
}

static void add_qube(struct qt_item *root, struct qt_menu_ids *ids,
		     const struct qt_qube *q, const struct qt_config *cfg)
{
	g_autofree char *key = g_strconcat("qube:", q->name, NULL);
	/* Names are checked by qmgrd; sanitized anyway, as is the state. */
	g_autofree char *name = qt_sanitize(q->name, 32);
	g_autofree char *state = qt_sanitize(q->state, 16);
	g_autofree char *text = g_strdup_printf("%s \u2014 %s", name, state);
	struct qt_item *sub = item_new(ids, key, text);
	uint32_t rgb;

	if (q->label && qm_label_rgb(q->label, &rgb)) {
		sub->color = rgb;
		sub->has_color = true;
	}
	actions_for(sub, ids, q, cfg);
	add_child(root, sub);
}

static void add_question(struct qt_item *parent, struct qt_menu_ids *ids,
			 const struct qt_question *q)
{
	g_autofree char *key = g_strdup_printf("q:%u", q->id);
	g_autofree char *src = qt_sanitize(q->source, 32);
	g_autofree char *svc = qt_sanitize(q->service, QT_TEXT_MAX);
	g_autofree char *arg = qt_sanitize(q->argument, QT_TEXT_MAX);
	/* The argument as in the policy: "+ARG"; none is "" or "+". */
	const char *shown_arg = strcmp(arg, "+") == 0 ? "" : arg;
	g_autofree char *text = g_strdup_printf("%s wants %s%s", src, svc,
						shown_arg);
	struct qt_item *sub = item_new(ids, key, text);

	for (char **t = q->targets; t && *t; t++) {
		g_autofree char *tk = g_strdup_printf("q:%u:t:%s", q->id, *t);
		g_autofree char *tn = qt_sanitize(*t, 64);
		bool def = q->default_target &&
			   strcmp(q->default_target, *t) == 0;
		g_autofree char *tt = g_strdup_printf(
			"Allow to %s%s", tn, def ? " (default)" : "");
		struct qt_item *it = add_action(sub, ids, tk, tt,
						QT_ACT_ANSWER, NULL, *t);
		it->question = q->id;
	}
	g_autofree char *sk = g_strdup_printf("q:%u:sep", q->id);
	add_separator(sub, ids, sk);
	g_autofree char *dk = g_strdup_printf("q:%u:deny", q->id);
	struct qt_item *deny = add_action(sub, ids, dk, "Deny", QT_ACT_ANSWER,
					  NULL, "");
	deny->question = q->id;
	add_child(parent, sub);
}

static void add_disposables(struct qt_item *root, struct qt_menu_ids *ids,
			    GPtrArray *sorted, const struct qt_config *cfg)
{
	struct qt_item *dsub = NULL;

	for (guint i = 0; i < sorted->len; i++) {
		const struct qt_qube *q = sorted->pdata[i];
		if (!q->dispvm_template)
			continue;
		if (!dsub)
			dsub = item_new(ids, "disposable", "Disposable");
		g_autofree char *key = g_strconcat("dvm:", q->name, NULL);
		g_autofree char *name = qt_sanitize(q->name, 32);
		struct qt_item *sub = item_new(ids, key, name);
		uint32_t rgb;
		if (q->label && qm_label_rgb(q->label, &rgb)) {
			sub->color = rgb;
			sub->has_color = true;
		}
		g_autofree char *target = g_strconcat("@dispvm:", q->name,
						      NULL);
		g_autofree char *fk = g_strconcat("dvm:", q->name, ":firefox",
						  NULL);
		g_autofree char *tk = g_strconcat("dvm:", q->name, ":term",
						  NULL);
		add_action(sub, ids, fk, "Firefox", QT_ACT_RUN, target,
			   "firefox-esr");
		add_action(sub, ids, tk, "Terminal", QT_ACT_RUN, target,
			   qt_config_terminal(cfg));
		add_child(dsub, sub);
	}
	if (dsub) {
		add_separator(root, ids, "sep:disposable");
		add_child(root, dsub);
	}
}

struct qt_item *qt_menu_build(const struct qt_menu_input *in,
			      struct qt_menu_ids *ids)
{
	struct qt_item *root = item_new(NULL, "", "");

	root->id = 0;
	if (!in->reachable) {
		g_autofree char *why = qt_sanitize(
			in->unreachable_why ? in->unreachable_why : "", 120);
		g_autofree char *text = g_strdup_printf(
			"qmgrd is not reachable%s%s (retrying)",
			*why ? ": " : "", why);
		struct qt_item *it = item_new(ids, "unreachable", text);
		it->enabled = false;
		add_child(root, it);
	}
	if (in->questions && in->questions->len > 0) {
		g_autofree char *text = g_strdup_printf("Requests (%u)",
							in->questions->len);
		struct qt_item *req = item_new(ids, "requests", text);
		for (guint i = 0; i < in->questions->len; i++)
			add_question(req, ids, in->questions->pdata[i]);
		add_child(root, req);
		add_separator(root, ids, "sep:requests");
	}
	if (in->reachable && in->qubes) {
		g_autoptr(GPtrArray) sorted = g_ptr_array_new();
		for (guint i = 0; i < in->qubes->len; i++) {
			const struct qt_qube *q = in->qubes->pdata[i];
			/* dom0 is not a qube the tray acts on */
			if (q->klass && strcmp(q->klass, "AdminVM") == 0)
				continue;
			g_ptr_array_add(sorted, (gpointer)q);
		}
		g_ptr_array_sort(sorted, by_running_then_name);
		if (sorted->len == 0) {
			struct qt_item *it = item_new(ids, "none",
						      "No qubes (qvm-create)");
			it->enabled = false;
			add_child(root, it);
		}
		for (guint i = 0; i < sorted->len; i++)
			add_qube(root, ids, sorted->pdata[i], in->config);
		add_disposables(root, ids, sorted, in->config);
	}
	return root;
}

const struct qt_item *qt_item_find(const struct qt_item *root, int32_t id)
{
	if (root->id == id)
		return root;
	for (guint i = 0; root->children && i < root->children->len; i++) {
		const struct qt_item *f = qt_item_find(root->children->pdata[i],
						       id);
		if (f)
			return f;
	}
	return NULL;
}
