/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "dispvm-pool.h"

#include <string.h>

#include "admin.h"
#include "run.h"

/* After a failed fill, a template's pool waits this long before trying
 * again, doubling up to the maximum: a broken template must not boot
 * guests in a loop. */
#define BACKOFF_FIRST_S 10
#define BACKOFF_MAX_S 300

/*
 * A member's steps.  At most one member of all pools is in MAKING, BOOTING
 * or PAUSING at a time: that is the refill, one guest booting at most.
 */
enum stage {
	MAKING,    /* qm_disposable_create_preload in flight; no name yet */
	BOOTING,   /* qm_lifecycle_start in flight, until the agent's HELLO */
	PAUSING,   /* qm_lifecycle_pause in flight */
	READY,     /* Paused with its agent ready: can be taken */
	DYING,     /* destroyed by the pool; waits until its domain is down */
};

struct member {
	char *name;
	char *template;
	enum stage stage;
	bool doomed;       /* destroy it once the step in flight ends */
	bool destroying;   /* qm_disposable_destroy was called */
	/* The domain XML it booted with: if the XML it would boot with now
	 * differs (memory, kernel, template...), it is stale. */
	char *xml;
};

/* A start held back by qm_dispvm_pool_release. */
struct held_start {
	char *name;
	qm_life_done_fn done;
	void *data;
};

struct backoff {
	unsigned fails;
	gint64 not_before;     /* g_get_monotonic_time() */
};

struct pool {
	struct qmgrd *d;
	GPtrArray *members;    /* struct member *, in order of creation */
	GPtrArray *held;       /* struct held_start * */
	GHashTable *backoff;   /* template name -> struct backoff * */
	guint idle;
	guint timer;           /* the earliest end of a backoff */
};

/* One daemon per process (daemon.h). */
static struct pool *pool;

static void member_free(gpointer p)
{
	struct member *m = p;
	g_free(m->name);
	g_free(m->template);
	g_free(m->xml);
	g_free(m);
}

static void held_free(gpointer p)
{
	struct held_start *h = p;
	g_free(h->name);
	g_free(h);
}

static gboolean reconcile(gpointer unused);

void qm_dispvm_pool_changed(struct qmgrd *d)
{
	if (pool != NULL && pool->idle == 0)
		pool->idle = g_idle_add(reconcile, NULL);
}

/* ---- what a pool depends on ---- */

/* Members of `tname`'s pool boot from the volumes of `tname` (their
 * private volume's backing) and of the TemplateVM behind it (the volatile
 * root's backing, kernel, initramfs): does `qname` own any of them? */
static bool backs(struct qmgrd *d, const char *tname, const char *qname)
{
	struct qm_vm *t = qm_inventory_find(d->inv, tname);
	for (int depth = 0; t != NULL && depth < 4; depth++) {
		if (strcmp(t->name, qname) == 0)
			return true;
		if (t->cls == POL_CLASS_TEMPLATEVM ||
		    t->cls == POL_CLASS_STANDALONEVM)
			return false;
		g_autofree char *next = qm_inventory_prop(d->inv, t,
							  "template");
		t = *next ? qm_inventory_find(d->inv, next) : NULL;
	}
	return false;
}

/* How many members `t` wants: preload_dispvm, on a disposable template. */
static unsigned wanted(struct qmgrd *d, const struct qm_vm *t)
{
	if (t == NULL)
		return 0;
	g_autofree char *tfd = qm_inventory_prop(d->inv, t,
						 "template_for_dispvms");
	g_autofree char *n = qm_inventory_prop(d->inv, t, "preload_dispvm");
	if (strcmp(tfd, "True") != 0)
		return 0;
	return (unsigned)MIN(g_ascii_strtoull(n, NULL, 10),
			     QM_PRELOAD_DISPVM_MAX);
}

static bool held(struct qmgrd *d, const char *tname)
{
	for (guint i = 0; i < pool->held->len; i++) {
		struct held_start *h = g_ptr_array_index(pool->held, i);
		if (backs(d, tname, h->name))
			return true;
	}
	return false;
}

/* A member can be made now: the template and the TemplateVM behind it
 * are halted (their volumes are not changing), no start waits for the
 * pool to let go of them, and the template is not backing off. */
static bool fillable(struct qmgrd *d, struct qm_vm *t)
{
	struct qm_vm *q = t;
	for (int depth = 0; q != NULL && depth < 4; depth++) {
		if (!qm_vm_is_down(q))
			return false;
		if (q->cls == POL_CLASS_TEMPLATEVM ||
		    q->cls == POL_CLASS_STANDALONEVM)
			break;
		g_autofree char *next = qm_inventory_prop(d->inv, q,
							  "template");
		q = *next ? qm_inventory_find(d->inv, next) : NULL;
	}
	struct backoff *b = g_hash_table_lookup(pool->backoff, t->name);
	if (b != NULL && g_get_monotonic_time() < b->not_before)
		return false;
	return !held(d, t->name);
}

static bool stale(struct qmgrd *d, struct member *m, struct qm_vm *vm)
{
	g_autofree char *now = qm_lifecycle_domain_xml(d, vm, NULL, NULL);
	return now == NULL || m->xml == NULL || strcmp(now, m->xml) != 0;
}

/* Why a READY member cannot be handed out, or NULL if it can. */
static const char *unusable(struct qmgrd *d, struct member *m,
			    struct qm_vm *vm)
{
	if (vm == NULL)
		return "it is gone";
	if (vm->state != QM_VM_PAUSED)
		return "it is no longer paused";
	if (qm_lifecycle_agent_version(d, m->name) == 0)
		return "its agent channel is gone";
	if (stale(d, m, vm))
		return "its template's settings changed";
	return NULL;
}

/* ---- members ---- */

/* Lets a member go.  sweep() destroys it, from the top of the main loop:
 * a member fails inside lifecycle callbacks, which must not see a qube
 * vanish under them.  One in a step in flight goes when that step ends;
 * a booting one too, as lifecycle.c cannot yet kill a domain whose start
 * is still in libvirt's hands (the start's callback would find its
 * runtime freed). */
static void doom(struct member *m)
{
	m->doomed = true;
	if (m->stage == READY)
		m->stage = DYING;
	qm_dispvm_pool_changed(pool->d);
}

static void fill_failed(struct member *m, const char *what, const char *why)
{
	struct backoff *b = g_hash_table_lookup(pool->backoff, m->template);
	if (b == NULL) {
		b = g_new0(struct backoff, 1);
		g_hash_table_insert(pool->backoff, g_strdup(m->template), b);
	}
	unsigned delay = BACKOFF_FIRST_S;
	for (unsigned i = 0; i < b->fails && delay < BACKOFF_MAX_S; i++)
		delay *= 2;
	delay = MIN(delay, BACKOFF_MAX_S);
	b->fails++;
	b->not_before = g_get_monotonic_time() + (gint64)delay * G_USEC_PER_SEC;
	g_warning("pool of '%s': cannot %s a preloaded disposable: %s; "
		  "trying again in %u s", m->template, what, why, delay);
	m->stage = DYING;
	doom(m);
}

/* A step in flight ended: a doomed member goes now.  True if it does. */
static bool ends_doomed(struct member *m)
{
	if (!m->doomed)
		return false;
	m->stage = DYING;
	qm_dispvm_pool_changed(pool->d);
	return true;
}

static void on_paused(GError *error, const char *code, void *data)
{
	struct member *m = data;
	if (ends_doomed(m))
		return;
	if (error != NULL) {
		fill_failed(m, "pause", error->message);
		return;
	}
	m->stage = READY;
	g_hash_table_remove(pool->backoff, m->template);
	g_message("pool of '%s': '%s' is ready", m->template, m->name);
	qm_dispvm_pool_changed(pool->d);
}

static void on_booted(GError *error, const char *code, void *data)
{
	struct member *m = data;
	struct qm_vm *vm = qm_inventory_find(pool->d->inv, m->name);
	if (ends_doomed(m))
		return;
	if (error != NULL || vm == NULL) {
		fill_failed(m, "boot", error ? error->message : "it is gone");
		return;
	}
	m->stage = PAUSING;
	g_autofree char *detail = g_strdup_printf(
		"preloaded disposable of '%s', ready for qvm-run --dispvm=%s",
		m->template, m->template);
	qm_lifecycle_pause(pool->d, vm, detail, on_paused, m);
}

static void on_made(GError *error, const char *code, const char *name,
		    void *data)
{
	struct member *m = data;
	struct qmgrd *d = pool->d;
	m->name = g_strdup(name);
	if (ends_doomed(m))
		return;
	struct qm_vm *vm = name ? qm_inventory_find(d->inv, name) : NULL;
	if (error != NULL || vm == NULL) {
		fill_failed(m, "create", error ? error->message : "it is gone");
		return;
	}
	/* The same inputs as the start below, in the same main loop turn. */
	m->xml = qm_lifecycle_domain_xml(d, vm, NULL, NULL);
	m->stage = BOOTING;
	qm_lifecycle_start(d, vm, on_booted, m);
}

static void fill(struct qm_vm *t)
{
	struct member *m = g_new0(struct member, 1);
	m->template = g_strdup(t->name);
	m->stage = MAKING;
	g_ptr_array_add(pool->members, m);
	qm_disposable_create_preload(pool->d, t->name, on_made, m);
}

/* ---- looking at the pools ---- */

/* Destroys the members let go, forgets those that are gone, and lets go
 * of READY ones that can no longer be handed out. */
static void sweep(struct qmgrd *d)
{
	for (guint i = 0; i < pool->members->len;) {
		struct member *m = g_ptr_array_index(pool->members, i);
		struct qm_vm *vm = m->name ? qm_inventory_find(d->inv, m->name)
					   : NULL;
		const char *why;
		if (m->stage == READY && (why = unusable(d, m, vm)) != NULL) {
			g_message("pool of '%s': letting '%s' go: %s",
				  m->template, m->name, why);
			doom(m);
		}
		if (m->stage == DYING && !m->destroying && vm != NULL) {
			m->destroying = true;
			qm_disposable_destroy(d, m->name);
			/* a halted one is removed at once */
			vm = qm_inventory_find(d->inv, m->name);
		}
		/* Down is enough: its volumes no longer hold anything open,
		 * and if its removal failed the next start retries it. */
		if (m->stage == DYING && (vm == NULL || qm_vm_is_down(vm))) {
			g_ptr_array_remove_index(pool->members, i);
			continue;
		}
		i++;
	}
}

/* Starts held by qm_dispvm_pool_release whose qube no member needs now. */
static void resume_held(struct qmgrd *d)
{
	for (guint i = 0; i < pool->held->len;) {
		struct held_start *h = g_ptr_array_index(pool->held, i);
		bool busy = false;
		for (guint j = 0; j < pool->members->len && !busy; j++) {
			struct member *m = g_ptr_array_index(pool->members, j);
			busy = backs(d, m->template, h->name);
		}
		if (busy) {
			i++;
			continue;
		}
		struct held_start start = *h;
		g_ptr_array_steal_index(pool->held, i);
		struct qm_vm *vm = qm_inventory_find(d->inv, start.name);
		g_message("'%s': its preloaded disposables are gone; starting "
			  "it", start.name);
		if (vm != NULL) {
			qm_lifecycle_start(d, vm, start.done, start.data);
		} else {
			g_autoptr(GError) e = g_error_new(
				g_quark_from_static_string("qm-pool-error"), 1,
				"qube '%s' was removed while starting",
				start.name);
			start.done(e, QM_ERR_NOT_FOUND, start.data);
		}
		g_free(start.name);
		g_free(h);
	}
}

/* Members beyond what their template wants go, the least ready first. */
static void trim(struct qmgrd *d)
{
	g_autoptr(GHashTable) count = g_hash_table_new(g_str_hash, g_str_equal);
	for (int stage = READY; stage >= MAKING; stage--) {
		for (guint i = 0; i < pool->members->len; i++) {
			struct member *m = g_ptr_array_index(pool->members, i);
			if ((int)m->stage != stage || m->doomed)
				continue;
			unsigned n = GPOINTER_TO_UINT(
				g_hash_table_lookup(count, m->template)) + 1;
			g_hash_table_insert(count, m->template,
					    GUINT_TO_POINTER(n));
			struct qm_vm *t = qm_inventory_find(d->inv,
							    m->template);
			if (n > wanted(d, t)) {
				g_message("pool of '%s': letting %s go: "
					  "preload_dispvm is %u",
					  m->template,
					  m->name ? m->name : "a member",
					  wanted(d, t));
				doom(m);
			}
		}
	}
}

static unsigned members_of(const char *tname)
{
	unsigned n = 0;
	for (guint i = 0; i < pool->members->len; i++) {
		struct member *m = g_ptr_array_index(pool->members, i);
		n += !m->doomed && m->stage != DYING &&
		     strcmp(m->template, tname) == 0;
	}
	return n;
}

static bool refilling(void)
{
	for (guint i = 0; i < pool->members->len; i++) {
		struct member *m = g_ptr_array_index(pool->members, i);
		if (m->stage == MAKING || m->stage == BOOTING ||
		    m->stage == PAUSING)
			return true;
	}
	return false;
}

/* The template that lacks the most members and can get one now. */
static struct qm_vm *neediest(struct qmgrd *d)
{
	struct qm_vm *best = NULL;
	unsigned best_gap = 0;
	for (guint i = 0; i < d->inv->vms->len; i++) {
		struct qm_vm *t = g_ptr_array_index(d->inv->vms, i);
		unsigned want = wanted(d, t), have = members_of(t->name);
		if (want > have && want - have > best_gap && fillable(d, t)) {
			best = t;
			best_gap = want - have;
		}
	}
	return best;
}

/* Wakes the pools when the first backoff ends. */
static void arm_timer(void)
{
	gint64 now = g_get_monotonic_time(), first = G_MAXINT64;
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, pool->backoff);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		struct backoff *b = v;
		if (b->not_before > now)
			first = MIN(first, b->not_before);
	}
	if (pool->timer == 0 && first != G_MAXINT64)
		pool->timer = g_timeout_add(
			(guint)((first - now) / 1000 + 1), reconcile,
			GUINT_TO_POINTER(1));
}

static gboolean reconcile(gpointer from_timer)
{
	struct qmgrd *d = pool->d;
	if (from_timer)
		pool->timer = 0;
	else
		pool->idle = 0;
	sweep(d);
	trim(d);
	resume_held(d);
	if (!refilling()) {
		struct qm_vm *t = neediest(d);
		if (t != NULL)
			fill(t);
	}
	arm_timer();
	return G_SOURCE_REMOVE;
}

/* ---- the daemon's side ---- */

void qm_dispvm_pool_init(struct qmgrd *d)
{
	pool = g_new0(struct pool, 1);
	pool->d = d;
	pool->members = g_ptr_array_new_with_free_func(member_free);
	pool->held = g_ptr_array_new_with_free_func(held_free);
	pool->backoff = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					      g_free);
	qm_dispvm_pool_changed(d);
}

void qm_dispvm_pool_finish(void)
{
	if (pool == NULL)
		return;
	if (pool->idle)
		g_source_remove(pool->idle);
	if (pool->timer)
		g_source_remove(pool->timer);
	g_ptr_array_free(pool->members, TRUE);
	g_ptr_array_free(pool->held, TRUE);
	g_hash_table_destroy(pool->backoff);
	g_clear_pointer(&pool, g_free);
}

struct take_op {
	struct qmgrd *d;
	char *name;
	char *template;
	qm_disposable_fn done;
	void *data;
};

static void on_taken(GError *error, const char *code, void *data)
{
	struct take_op *op = data;
	if (error == NULL) {
		/* Its clock stood still while it was paused: set it before
		 * the command (which is opened right after, so the disposable
		 * outlives this short one). */
		g_autofree char *set_clock = g_strdup_printf(
			"date -s @%" G_GINT64_FORMAT " >/dev/null",
			g_get_real_time() / G_USEC_PER_SEC);
		g_autoptr(GError) err = NULL;
		qm_run_open(op->d, op->name, "root", set_clock, NULL, &err);
		if (err != NULL)
			g_warning("%s: cannot set its clock: %s", op->name,
				  err->message);
		op->done(NULL, NULL, op->name, op->data);
	} else {
		g_warning("cannot resume preloaded disposable '%s' (%s); "
			  "making a new one", op->name, error->message);
		qm_disposable_destroy(op->d, op->name);
		qm_disposable_create(op->d, op->template, op->done, op->data);
	}
	g_free(op->name);
	g_free(op->template);
	g_free(op);
}

bool qm_dispvm_pool_take(struct qmgrd *d, struct qm_vm *template,
			 qm_disposable_fn done, void *data)
{
	if (pool == NULL)
		return false;
	for (guint i = 0; i < pool->members->len; i++) {
		struct member *m = g_ptr_array_index(pool->members, i);
		if (m->stage != READY || strcmp(m->template, template->name))
			continue;
		struct qm_vm *vm = qm_inventory_find(d->inv, m->name);
		const char *why = unusable(d, m, vm);
		if (why != NULL) {
			g_message("pool of '%s': letting '%s' go: %s",
				  m->template, m->name, why);
			doom(m);
			continue;
		}
		/* Out of the pool for good: whatever happens next, it is
		 * never handed out again. */
		struct take_op *op = g_new0(struct take_op, 1);
		op->d = d;
		op->name = g_strdup(m->name);
		op->template = g_strdup(m->template);
		op->done = done;
		op->data = data;
		g_ptr_array_remove_index(pool->members, i);
		vm->preload = false;
		g_message("%s: taken from the pool of '%s'", op->name,
			  op->template);
		qm_lifecycle_unpause(d, vm, on_taken, op);
		qm_dispvm_pool_changed(d);
		return true;
	}
	qm_dispvm_pool_changed(d);
	return false;
}

bool qm_dispvm_pool_release(struct qmgrd *d, struct qm_vm *vm,
			    qm_life_done_fn done, void *data)
{
	if (pool == NULL)
		return false;
	bool any = false;
	for (guint i = 0; i < pool->members->len; i++) {
		struct member *m = g_ptr_array_index(pool->members, i);
		if (!backs(d, m->template, vm->name))
			continue;
		any = true;
		if (!m->doomed)
			doom(m);
	}
	if (!any)
		return false;
	g_message("'%s': destroying the preloaded disposables that boot from "
		  "its volumes before it starts", vm->name);
	struct held_start *h = g_new0(struct held_start, 1);
	h->name = g_strdup(vm->name);
	h->done = done;
	h->data = data;
	g_ptr_array_add(pool->held, h);
	qm_dispvm_pool_changed(d);
	return true;
}

bool qm_dispvm_pool_check_pref(struct qmgrd *d, const struct qm_vm *vm,
			       const char *prop, const char *value,
			       const char **code, char **why)
{
	if (strcmp(prop, "preload_dispvm") == 0 && strcmp(value, "0") != 0) {
		g_autofree char *tfd = qm_inventory_prop(
			d->inv, vm, "template_for_dispvms");
		if (strcmp(tfd, "True") != 0) {
			*why = g_strdup_printf(
				"'%s' is not a disposable template; only a "
				"disposable template keeps preloaded "
				"disposables (qvm-prefs %s "
				"template_for_dispvms True first)",
				vm->name, vm->name);
			*code = QM_ERR_INVALID;
			return false;
		}
		/* Asked again: a failing pool tries again at once. */
		if (pool != NULL)
			g_hash_table_remove(pool->backoff, vm->name);
	}
	if (strcmp(prop, "template_for_dispvms") == 0 &&
	    strcmp(value, "False") == 0) {
		g_autofree char *n = qm_inventory_prop(d->inv, vm,
						       "preload_dispvm");
		if (strcmp(n, "0") != 0) {
			*why = g_strdup_printf(
				"'%s' keeps %s preloaded disposables "
				"(qvm-prefs %s preload_dispvm 0 first)",
				vm->name, n, vm->name);
			*code = QM_ERR_IN_USE;
			return false;
		}
	}
	return true;
}
