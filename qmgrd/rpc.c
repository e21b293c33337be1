/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Calls between qubes: the policy is the gatekeeper.  A qube's CALL
 * (run.c) comes here with the caller's name as qmgrd knows it — the
 * channel it came on, never a name the guest claims.  The policy (loaded
 * from ETC/qmgr/policy.d and RUN/qmgr/policy.d, reloaded when they change)
 * decides; the decision is appended to the audit log before anything
 * happens (a call that cannot be logged is refused); `ask` goes to the
 * prompt agent (prompt.c); an allowed call gets its target started if the
 * rule allows (autostart), a disposable made for @dispvm, and is joined to
 * the service there.  admin.* calls allowed to dom0 run the admin method
 * (rpc-admin.c).
 */
#include "config.h"

#include "rpc.h"

#include <gio/gio.h>
#include <string.h>

#include "admin.h"
#include "audit.h"
#include "disposable.h"
#include "lifecycle.h"
#include "net.h"
#include "policy.h"
#include "prompt.h"
#include "run.h"

struct rpc_state {
	struct pol_policy *policy;
	bool dirty;                 /* a policy file changed: reload */
	GHashTable *monitors;       /* directory -> its GFileMonitor */
	struct qm_audit *audit;
};

static struct rpc_state state;

/* ---- the policy ---- */

static void on_policy_changed(GFileMonitor *m, GFile *file, GFile *other,
			      GFileMonitorEvent event, gpointer data)
{
	state.dirty = true;
	/* The network follows the policy at once, not at the next call. */
	qm_net_changed(data);
}

static void monitor_free(gpointer m)
{
	if (m != NULL)
		g_object_unref(m);
}

static void policy_dirs(struct qmgrd *d, char *dirs[2])
{
	dirs[0] = g_build_filename(d->paths.etc, "policy.d", NULL);
	dirs[1] = g_build_filename(d->paths.run, "policy.d", NULL);
}

/* Watches `path`'s directory (or `path`, a directory) once. */
static void watch(struct qmgrd *d, const char *path)
{
	g_autofree char *dir = g_file_test(path, G_FILE_TEST_IS_DIR)
		? g_strdup(path) : g_path_get_dirname(path);

	if (g_hash_table_contains(state.monitors, dir))
		return;
	g_autoptr(GFile) f = g_file_new_for_path(dir);
	GFileMonitor *m = g_file_monitor_directory(f, G_FILE_MONITOR_NONE,
						   NULL, NULL);
	if (m != NULL)
		g_signal_connect(m, "changed", G_CALLBACK(on_policy_changed),
				 d);
	/* A failed monitor is remembered too, so it is not retried at
	 * every call. */
	g_hash_table_insert(state.monitors, g_steal_pointer(&dir), m);
}

/* The current policy, (re)loaded when a file changed since the last
 * call.  An invalid policy denies every call; its errors are logged. */
static const struct pol_policy *current_policy(struct qmgrd *d)
{
	if (state.policy != NULL && !state.dirty)
		return state.policy;
	char *dirs[2];
	policy_dirs(d, dirs);
	if (state.monitors == NULL)
		state.monitors = g_hash_table_new_full(g_str_hash, g_str_equal,
						       g_free, monitor_free);
	/* Directories that do not exist yet are watched from their parent
	 * (a monitor of a missing directory sees it created). */
	watch(d, dirs[0]);
	watch(d, dirs[1]);
	state.dirty = false;
	g_clear_pointer(&state.policy, pol_policy_destroy);
	state.policy = pol_policy_load_dirs((const char *const *)dirs, 2);
	if (!pol_policy_is_valid(state.policy)) {
		g_warning("the RPC policy in %s and %s is invalid, so every "
			  "call is refused until it is fixed (qvm-policy "
			  "check):", dirs[0], dirs[1]);
		for (size_t i = 0; i < pol_policy_error_count(state.policy); i++)
			g_warning("  %s", pol_policy_error(state.policy, i));
	} else {
		g_message("RPC policy loaded: %zu rules from %zu files",
			  pol_policy_rule_count(state.policy),
			  pol_policy_file_count(state.policy));
	}
	/* Files included from elsewhere are watched too (also when the
	 * policy is invalid: fixing one must reload it). */
	for (size_t i = 0; i < pol_policy_file_count(state.policy); i++)
		watch(d, pol_policy_file(state.policy, i));
	g_free(dirs[0]);
	g_free(dirs[1]);
	return state.policy;
}

static struct pol_system *current_system(struct qmgrd *d, GError **error);

const struct pol_policy *qm_rpc_policy(struct qmgrd *d)
{
	return current_policy(d);
}

struct pol_system *qm_rpc_system(struct qmgrd *d, GError **error)
{
	return current_system(d, error);
}

/* What the policy knows of the qubes, from the inventory, now. */
static struct pol_system *current_system(struct qmgrd *d, GError **error)
{
	g_autoptr(pol_system) sys = pol_system_create();

	for (guint i = 0; i < d->inv->vms->len; i++) {
		struct qm_vm *vm = g_ptr_array_index(d->inv->vms, i);
		/* A preloaded disposable is nobody's target until it is
		 * taken for a @dispvm call: not a name, not an ask choice. */
		if (vm->preload)
			continue;
		g_autofree char *dispvm =
			qm_inventory_prop(d->inv, vm, "default_dispvm");
		g_autofree char *tmpl = qm_inventory_prop(d->inv, vm, "template");
		g_autofree char *tfd =
			qm_inventory_prop(d->inv, vm, "template_for_dispvms");
		/* Borrowed pointers (g_ptr_array_copy() would take the
		 * tags' free function along and free them). */
		g_autoptr(GPtrArray) tags = g_ptr_array_sized_new(
			vm->tags->len + 1);
		for (guint t = 0; t < vm->tags->len; t++)
			g_ptr_array_add(tags, vm->tags->pdata[t]);
		g_ptr_array_add(tags, NULL);
		struct pol_vm_info info = {
			.name = vm->name,
			.cls = vm->cls,
			.uuid = vm->uuid,
			.tags = (const char *const *)tags->pdata,
			.default_dispvm = dispvm,
			.template_name = vm->cls == POL_CLASS_DISPVM ? tmpl
								     : NULL,
			.template_for_dispvms = strcmp(tfd, "True") == 0,
			.running = vm->state == QM_VM_RUNNING,
		};
		if (!pol_system_add_vm(sys, &info, error))
			return NULL;
	}
	if (!pol_system_check(sys, error))
		return NULL;
	return g_steal_pointer(&sys);
}

/* ---- the audit log ---- */

char *qm_rpc_rule_where(const struct pol_rule *rule)
{
	return rule ? g_strdup_printf("%s:%u", pol_rule_file(rule),
				      pol_rule_line(rule))
		    : NULL;
}

bool qm_rpc_audit(struct qmgrd *d, const char *call, const char *source,
		  const char *requested, const char *resolved,
		  enum qm_audit_action action, const char *where)
{
	g_autoptr(GError) err = NULL;

	if (state.audit == NULL) {
		g_autofree char *path = g_build_filename(d->paths.logs,
							 "audit.log", NULL);
		g_mkdir_with_parents(d->paths.logs, 0750);
		state.audit = qm_audit_open(path, &err);
		if (state.audit == NULL) {
			g_warning("cannot open the audit log, so calls are "
				  "refused: %s", err->message);
			return false;
		}
	}
	const struct qm_audit_record rec = {
		.call = call,
		.source = source,
		.requested_target = requested,
		.resolved_target = resolved,
		.action = action,
		.rule = where,
	};
	if (!qm_audit_append(state.audit, &rec, &err)) {
		g_warning("cannot write the audit log, so the call is "
			  "refused: %s", err->message);
		if (g_error_matches(err, QM_AUDIT_ERROR,
				    QM_AUDIT_ERROR_BROKEN))
			g_clear_pointer(&state.audit, qm_audit_close);
		return false;
	}
	return true;
}

/* ---- one call ---- */

struct call {
	struct qmgrd *d;
	char *caller;
	guint32 id;
	char *full;          /* SERVICE[+ARG] as the caller sent it */
	char *service;
	char *argument;      /* without '+'; "" for none */
	char *requested;     /* the target as the caller wrote it */
	char *user;
	bool autostart;
	char *rule;          /* the deciding rule, FILE:LINE, or NULL */
	char *target;        /* the qube the service runs in */
	bool disposable;     /* made for this call */
};

static void call_free(struct call *c)
{
	g_free(c->caller);
	g_free(c->full);
	g_free(c->service);
	g_free(c->argument);
	g_free(c->requested);
	g_free(c->user);
	g_free(c->rule);
	g_free(c->target);
	g_free(c);
}

static void refuse(struct call *c, const char *why)
{
	g_message("call %s from %s to %s refused: %s", c->full, c->caller,
		  c->requested, why);
	qm_run_call_refuse(c->d, c->caller, c->id, why);
	if (c->disposable && c->target)
		qm_disposable_destroy(c->d, c->target);
	call_free(c);
}

/* The caller closed the call while it was being decided or started. */
static bool caller_left(struct call *c)
{
	if (qm_run_call_pending(c->d, c->caller, c->id))
		return false;
	g_message("call %s from %s: the caller went away", c->full,
		  c->caller);
	if (c->disposable && c->target)
		qm_disposable_destroy(c->d, c->target);
	call_free(c);
	return true;
}

static void join(struct call *c)
{
	g_autoptr(GError) err = NULL;

	if (caller_left(c))
		return;
	if (qm_run_call_join(c->d, c->caller, c->id, c->target, c->user,
			     c->service, c->argument, c->requested, &err)) {
		g_message("call %s from %s joined to %s", c->full, c->caller,
			  c->target);
		call_free(c);
		return;
	}
	/* run.c has refused it already. */
	g_message("call %s from %s to %s failed: %s", c->full, c->caller,
		  c->target, err->message);
	if (c->disposable)
		qm_disposable_destroy(c->d, c->target);
	call_free(c);
}

static void target_started(GError *error, const char *code, void *data)
{
	struct call *c = data;

	if (error != NULL) {
		g_autofree char *why = g_strdup_printf(
			"cannot start '%s': %s", c->target, error->message);
		refuse(c, why);
		return;
	}
	join(c);
}

static void go_to_target(struct call *c)
{
	struct qm_vm *vm = qm_inventory_find(c->d->inv, c->target);

	if (vm == NULL) {
		refuse(c, "the target qube no longer exists");
		return;
	}
	if (vm->state == QM_VM_RUNNING) {
		join(c);
		return;
	}
	if (!c->autostart && !c->disposable) {
		g_autofree char *why = g_strdup_printf(
			"'%s' is not running and the policy does not start "
			"it (autostart=no)", c->target);
		refuse(c, why);
		return;
	}
	qm_lifecycle_start(c->d, vm, target_started, c);
}

static void disposable_made(GError *error, const char *code,
			    const char *name, void *data)
{
	struct call *c = data;

	if (error != NULL || name == NULL) {
		g_autofree char *why = g_strdup_printf(
			"cannot make a disposable: %s",
			error ? error->message : "it vanished");
		refuse(c, why);
		return;
	}
	c->target = g_strdup(name);
	c->disposable = true;
	if (caller_left(c))
		return;
	go_to_target(c);
}

/* The name of a resolved target ("uuid:..." or a name), or NULL. */
static char *target_name(struct qmgrd *d, const char *resolved)
{
	if (!g_str_has_prefix(resolved, "uuid:"))
		return qm_inventory_find(d->inv, resolved) ? g_strdup(resolved)
							   : NULL;
	for (guint i = 0; i < d->inv->vms->len; i++) {
		struct qm_vm *vm = g_ptr_array_index(d->inv->vms, i);
		if (strcmp(vm->uuid, resolved + 5) == 0)
			return g_strdup(vm->name);
	}
	return NULL;
}

static bool is_admin_vm(const char *t)
{
	return strcmp(t, "dom0") == 0 || strcmp(t, "@adminvm") == 0 ||
	       g_str_has_prefix(t, "uuid:00000000-0000-0000-0000-000000000000");
}

/* An allowed call goes to `resolved`. */
static void proceed(struct call *c, const char *resolved)
{
	if (is_admin_vm(resolved)) {
		if (g_str_has_prefix(c->service, "admin.")) {
			/* The qube acted on, as the caller named it (a uuid
			 * is turned into its name). */
			g_autofree char *named = g_str_has_prefix(c->requested,
								  "uuid:")
				? target_name(c->d, c->requested) : NULL;
			qm_rpc_admin_call(c->d, c->caller, c->id, c->service,
					  c->argument,
					  named ? named : c->requested);
			call_free(c);
			return;
		}
		refuse(c, "dom0 runs no services other than admin.* calls");
		return;
	}
	if (g_str_has_prefix(resolved, "@dispvm:")) {
		/* "@dispvm:NAME" (the policy has resolved uuids to names
		 * only for plain targets, so accept both). */
		g_autofree char *tmpl = target_name(c->d, resolved + 8);
		if (tmpl == NULL) {
			refuse(c, "the disposable template no longer exists");
			return;
		}
		qm_disposable_create(c->d, tmpl, disposable_made, c);
		return;
	}
	c->target = target_name(c->d, resolved);
	if (c->target == NULL) {
		refuse(c, "the target qube no longer exists");
		return;
	}
	go_to_target(c);
}

static void answered(const char *answer, const char *why, void *data)
{
	struct call *c = data;

	if (caller_left(c))
		return;
	if (answer == NULL) {
		qm_rpc_audit(c->d, c->full, c->caller, c->requested, NULL,
			     QM_AUDIT_DENY, c->rule);
		refuse(c, why ? why : "the user refused");
		return;
	}
	if (!qm_rpc_audit(c->d, c->full, c->caller, c->requested, answer,
			  QM_AUDIT_ALLOW, c->rule)) {
		refuse(c, "the audit log cannot be written");
		return;
	}
	g_autofree char *resolved = g_strdup(answer);
	proceed(c, resolved);
}

void qm_rpc_call(struct qmgrd *d, const char *caller, guint32 id,
		 const char *untrusted_target, const char *untrusted_service)
{
	struct call *c = g_new0(struct call, 1);
	c->d = d;
	c->caller = g_strdup(caller);
	c->id = id;
	/* The guest's words, kept as they are for the audit log (which
	 * escapes them) and checked by the policy engine. */
	c->full = g_strdup(untrusted_service);
	c->requested = g_strdup(untrusted_target);
	const char *plus = strchr(c->full, '+');
	c->service = plus ? g_strndup(c->full, (gsize)(plus - c->full))
			  : g_strdup(c->full);
	c->argument = g_strdup(plus ? plus + 1 : "");
	g_autofree char *pol_arg = g_strconcat("+", c->argument, NULL);

	const struct pol_policy *policy = current_policy(d);
	g_autoptr(GError) err = NULL;
	g_autoptr(pol_system) sys = current_system(d, &err);
	if (sys == NULL) {
		g_warning("the inventory cannot be described to the policy: "
			  "%s", err->message);
		qm_rpc_audit(d, c->full, caller, c->requested, NULL,
			     QM_AUDIT_DENY, NULL);
		refuse(c, "internal error describing the qubes");
		return;
	}
	const struct pol_request req = {
		.service = c->service,
		.argument = pol_arg,
		.source = caller,
		.target = c->requested,
	};
	struct pol_decision dec;
	pol_policy_evaluate(policy, sys, &req, &dec);
	g_autofree char *explain = pol_decision_explain(&dec);
	g_message("call %s from %s to %s: %s", c->full, caller, c->requested,
		  explain);
	c->rule = qm_rpc_rule_where(dec.rule);
	c->user = g_strdup(dec.user ? dec.user : "user");
	c->autostart = dec.autostart;

	switch (dec.action) {
	case POL_ACTION_ALLOW: {
		if (!qm_rpc_audit(d, c->full, caller, c->requested,
				  dec.target, QM_AUDIT_ALLOW, c->rule)) {
			pol_decision_finish(&dec);
			refuse(c, "the audit log cannot be written");
			return;
		}
		g_autofree char *resolved = g_strdup(dec.target);
		pol_decision_finish(&dec);
		proceed(c, resolved);
		return;
	}
	case POL_ACTION_ASK: {
		if (!qm_rpc_audit(d, c->full, caller, c->requested, NULL,
				  QM_AUDIT_ASK, c->rule)) {
			pol_decision_finish(&dec);
			refuse(c, "the audit log cannot be written");
			return;
		}
		g_autoptr(GPtrArray) targets = g_ptr_array_new_with_free_func(
			g_free);
		for (guint i = 0; i < dec.ask_targets->len; i++)
			g_ptr_array_add(targets, g_strdup(g_ptr_array_index(
							 dec.ask_targets, i)));
		g_ptr_array_add(targets, NULL);
		g_autofree char *def = g_strdup(dec.ask_default);
		pol_decision_finish(&dec);
		qm_prompt_ask(d, caller, c->service, pol_arg,
			      (const char *const *)targets->pdata, def,
			      answered, c);
		return;
	}
	default:
		qm_rpc_audit(d, c->full, caller, c->requested, NULL,
			     QM_AUDIT_DENY, c->rule);
		/* A rule with notify=yes (the default of deny rules) wants the
		 * user told: the desktop tray shows it.  The strings are the
		 * guest's words; subscribers sanitize them before showing. */
		if (dec.rule != NULL && dec.notify) {
			GVariantDict dict;
			g_variant_dict_init(&dict, NULL);
			g_variant_dict_insert(&dict, "service", "s",
					      c->service);
			g_variant_dict_insert(&dict, "argument", "s", pol_arg);
			g_variant_dict_insert(&dict, "target", "s",
					      c->requested);
			qm_admin_emit(d->admin, "rpc-denied", caller,
				      g_variant_dict_end(&dict));
		}
		pol_decision_finish(&dec);
		/* The caller learns that, not which rule: the policy is not
		 * the guest's business. */
		refuse(c, "the policy does not allow this call");
		return;
	}
}

void qm_rpc_shutdown(void)
{
	g_clear_pointer(&state.policy, pol_policy_destroy);
	g_clear_pointer(&state.monitors, g_hash_table_unref);
	g_clear_pointer(&state.audit, qm_audit_close);
}
