/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qmgr-tray: the desktop's view of qmgrd (docs/desktop.md).  It follows
 * qmgrd's event stream (no polling), keeps the qubes and open questions,
 * rebuilds the menu and the icon when they change, posts notifications,
 * and turns menu clicks and notification actions into admin calls.
 */
#include "config.h"

#include <glib-unix.h>
#include <string.h>

#include "admin-link.h"
#include "client.h"
#include "session-bus.h"
#include "tray.h"

#define MENU_PATH "/MenuBar"

struct tray {
	GMainLoop *loop;
	struct qm_session_bus *bus;  /* menu and item exported while up */
	struct qm_admin_link *link;
	struct qt_dbusmenu *menu;
	struct qt_sni *sni;
	struct qt_notify *notify;
	struct qt_prompts *prompts;
	struct qt_config *cfg;
	struct qt_menu_ids *ids;
	GPtrArray *qubes;            /* struct qt_qube * */
	char *lost_why;              /* why qmgrd is not reachable */
	guint rebuild_id;
};

/* ---- the menu and the icon ---- */

static gboolean rebuild_cb(gpointer data)
{
	struct tray *t = data;
	bool up = qm_admin_link_is_up(t->link);
	GPtrArray *questions = qt_prompts_list(t->prompts);
	struct qt_menu_input in = {
		.reachable = up,
		.unreachable_why = t->lost_why,
		.qubes = t->qubes,
		.questions = questions,
		.config = t->cfg,
	};
	unsigned int running = qt_qubes_running(t->qubes);
	enum qt_icon_state st = qt_icon_state_of(up, running, questions->len);
	g_autofree char *tip = up ? g_strdup_printf(
		"%u of %u qubes running%s%s", running, t->qubes->len,
		questions->len ? "; requests waiting: " : "",
		questions->len ? "yes" : "")
				  : g_strdup("qmgrd is not reachable");

	t->rebuild_id = 0;
	struct qt_item *root = qt_menu_build(&in, t->ids);
	if (t->menu)
		qt_dbusmenu_set(t->menu, root);
	else
		qt_item_destroy(root);   /* no bus: built when it is back */
	if (t->sni)
		qt_sni_set_state(t->sni, st, tip);
	g_debug("menu rebuilt: icon %s, %s", qt_icon_state_name(st), tip);
	return G_SOURCE_REMOVE;
}

/* Changes come in bursts (a start is several events): one rebuild. */
static void rebuild(struct tray *t)
{
	if (!t->rebuild_id)
		t->rebuild_id = g_idle_add(rebuild_cb, t);
}

/* ---- the qubes ---- */

static struct qt_qube *find_qube(struct tray *t, const char *name)
{
	for (guint i = 0; i < t->qubes->len; i++) {
		struct qt_qube *q = t->qubes->pdata[i];
		if (strcmp(q->name, name) == 0)
			return q;
	}
	return NULL;
}

static void listed(GVariant *result, const GError *error, void *data)
{
	struct tray *t = data;
	g_autoptr(GVariant) vms = NULL;

	if (!result) {
		g_message("vm.List failed: %s", error->message);
		return;
	}
	vms = g_variant_lookup_value(result, "vms", G_VARIANT_TYPE("aa{sv}"));
	if (!vms) {
		g_warning("vm.List's reply has no 'vms'");
		return;
	}
	g_ptr_array_set_size(t->qubes, 0);
	GVariantIter it;
	GVariant *d;
	g_variant_iter_init(&it, vms);
	while ((d = g_variant_iter_next_value(&it))) {
		const char *name = NULL, *state = "", *klass = "", *label = "";
		gboolean dvm = false;

		g_variant_lookup(d, "name", "&s", &name);
		g_variant_lookup(d, "state", "&s", &state);
		g_variant_lookup(d, "class", "&s", &klass);
		g_variant_lookup(d, "label", "&s", &label);
		g_variant_lookup(d, "template_for_dispvms", "b", &dvm);
		if (name && *name) {
			struct qt_qube *q = g_new0(struct qt_qube, 1);
			q->name = g_strdup(name);
			q->state = g_strdup(state);
			q->klass = g_strdup(klass);
			q->label = g_strdup(label);
			q->dispvm_template = dvm;
			g_ptr_array_add(t->qubes, q);
		}
		g_variant_unref(d);
	}
	rebuild(t);
}

static void relist(struct tray *t)
{
	qm_admin_link_call(t->link, "vm.List", "", NULL, listed, t, NULL);
}

static void state_changed(struct tray *t, const char *vm, GVariant *props)
{
	const char *state = NULL, *detail = "";
	struct qt_qube *q = find_qube(t, vm);

	if (!g_variant_lookup(props, "state", "&s", &state))
		return;
	g_variant_lookup(props, "detail", "&s", &detail);
	if (!q) {
		relist(t);
		return;
	}
	g_autofree char *old = g_steal_pointer(&q->state);
	q->state = g_strdup(state);
	const char *notice = qt_state_notice(old, state);
	if (notice) {
		g_autofree char *name = qt_sanitize(vm, 32);
		g_autofree char *why = qt_sanitize(detail, QT_TEXT_MAX);
		g_autofree char *s = g_strdup_printf("%s %s", name, notice);
		const char *body = *why ? why
			: strcmp(notice, "started") == 0 ? "The qube is running."
			: strcmp(notice, "stopped") == 0 ? "The qube is halted."
			: "libvirt reported the guest crashed.";
		qt_notify_event(t->notify, s, body);
	}
	rebuild(t);
}

static void denied(struct tray *t, const char *vm, GVariant *props)
{
	const char *service = "", *argument = "", *target = "";

	g_variant_lookup(props, "service", "&s", &service);
	g_variant_lookup(props, "argument", "&s", &argument);
	g_variant_lookup(props, "target", "&s", &target);
	g_autofree char *src = qt_sanitize(vm, 32);
	g_autofree char *svc = qt_sanitize(service, QT_TEXT_MAX);
	g_autofree char *arg = qt_sanitize(argument, QT_TEXT_MAX);
	g_autofree char *tgt = qt_sanitize(target, 64);
	g_autofree char *s = g_strdup_printf("Call denied: %s", src);
	g_autofree char *b = g_strdup_printf(
		"qube: %s\nservice: %s\nargument: %s\ntarget: %s\n"
		"refused by the policy", src, svc,
		strcmp(arg, "+") == 0 || !*arg ? "(none)" : arg, tgt);
	qt_notify_event(t->notify, s, b);
}

/* ---- questions ---- */

static void asked(struct tray *t, GVariant *props)
{
	const struct qt_question *q =
		qt_prompts_ask(t->prompts, props, g_get_monotonic_time());

	if (!q)
		return;
	g_message("question %u: %s asks for a call", q->id, q->source);
	qt_notify_question(t->notify, q);
	rebuild(t);
}

static void cancelled(struct tray *t, GVariant *props)
{
	guint32 id;

	if (!g_variant_lookup(props, "id", "u", &id))
		return;
	if (qt_prompts_forget(t->prompts, id))
		g_message("question %u cancelled by qmgrd (refused)", id);
	qt_notify_question_done(t->notify, id);
	rebuild(t);
}

struct answer {
	struct tray *t;
	uint32_t id;
	char *target;
};

static void answer_free(gpointer p)
{
	struct answer *a = p;

	g_free(a->target);
	g_free(a);
}

static void answered(GVariant *result, const GError *error, void *data)
{
	struct answer *a = data;

	if (!result) {
		g_message("answer to question %u not taken: %s", a->id,
			  error->message);
		/* NotFound: the question is closed (answered elsewhere, timed
		 * out); anything else (Invalid) leaves it open. */
		if (!strstr(error->message, "(NotFound)"))
			return;
	}
	g_message("question %u answered: %s", a->id,
		  *a->target ? a->target : "denied");
	qt_prompts_forget(a->t->prompts, a->id);
	qt_notify_question_done(a->t->notify, a->id);
	rebuild(a->t);
}

static void answer(struct tray *t, uint32_t id, const char *target)
{
	if (!qt_prompts_offers(t->prompts, id, target)) {
		/* from a D-Bus caller or the notification server */
		g_autofree char *shown = qt_sanitize(target, 64);
		g_message("answer '%s' to question %u ignored: not offered "
			  "(or the question is closed)", shown, id);
		return;
	}
	struct answer *a = g_new0(struct answer, 1);
	a->t = t;
	a->id = id;
	a->target = g_strdup(target);
	GVariantDict d;
	g_variant_dict_init(&d, NULL);
	g_variant_dict_insert(&d, "id", "u", id);
	g_variant_dict_insert(&d, "target", "s", target);
	qm_admin_link_call(t->link, "prompt.Answer", "", g_variant_dict_end(&d),
		     answered, a, answer_free);
}

static void on_notify_action(uint32_t question, const char *target,
			     void *data)
{
	answer(data, question, target);
}

/* ---- menu clicks ---- */

struct act {
	struct tray *t;
	char *what;
};

static void act_free(gpointer p)
{
	struct act *a = p;

	g_free(a->what);
	g_free(a);
}

static void act_done(GVariant *result, const GError *error, void *data)
{
	struct act *a = data;

	if (result)
		return;
	g_autofree char *msg = qt_sanitize(error->message, 200);
	g_autofree char *s = g_strdup_printf("Could not %s", a->what);
	qt_notify_event(a->t->notify, s, msg);
}

static void on_activate(const struct qt_item *it, void *data)
{
	struct tray *t = data;
	struct act *a = g_new0(struct act, 1);
	const char *method = NULL;
	GVariant *args = NULL;

	a->t = t;
	switch (it->action) {
	case QT_ACT_START:
		method = "vm.Start";
		a->what = g_strdup_printf("start %s", it->vm);
		break;
	case QT_ACT_SHUTDOWN:
		method = "vm.Shutdown";
		a->what = g_strdup_printf("shut down %s", it->vm);
		break;
	case QT_ACT_KILL:
		method = "vm.Kill";
		a->what = g_strdup_printf("kill %s", it->vm);
		break;
	case QT_ACT_RUN: {
		GVariantDict d;
		g_variant_dict_init(&d, NULL);
		g_variant_dict_insert(&d, "command", "s", it->arg);
		args = g_variant_dict_end(&d);
		method = "vm.Run";
		a->what = g_strdup_printf("run '%s' in %s", it->arg, it->vm);
		break;
	}
	case QT_ACT_ANSWER:
		act_free(a);
		answer(t, it->question, it->arg);
		return;
	case QT_ACT_NONE:
		act_free(a);
		return;
	}
	g_message("menu: %s", a->what);
	if (!qm_admin_link_call(t->link, method, it->vm, args, act_done, a,
			  act_free))
		qt_notify_event(t->notify, "qmgrd is not reachable",
				"The tray retries; try again when it is back.");
}

/* ---- qmgrd ---- */

static void logged(GVariant *result, const GError *error, void *data)
{
	if (!result)
		g_warning("%s failed: %s", (const char *)data, error->message);
}

static void on_ready(void *data)
{
	struct tray *t = data;

	g_clear_pointer(&t->lost_why, g_free);
	/* Subscribe first: the events of what follows are then seen. */
	qm_admin_link_call(t->link, "events.Subscribe", "", NULL, logged,
		     "events.Subscribe", NULL);
	qm_admin_link_call(t->link, "prompt.Register", "", NULL, logged,
		     "prompt.Register", NULL);
	relist(t);
	rebuild(t);
}

static void on_lost(const char *why, void *data)
{
	struct tray *t = data;
	GPtrArray *qs = qt_prompts_list(t->prompts);

	g_free(t->lost_why);
	t->lost_why = g_strdup(why);
	/* qmgrd refuses the open questions when it goes. */
	for (guint i = 0; i < qs->len; i++)
		qt_notify_question_done(
			t->notify, ((struct qt_question *)qs->pdata[i])->id);
	qt_prompts_clear(t->prompts);
	g_ptr_array_set_size(t->qubes, 0);
	rebuild(t);
}

static void on_event(const char *event, const char *vm, GVariant *props,
		     void *data)
{
	struct tray *t = data;

	if (strcmp(event, "vm-state") == 0)
		state_changed(t, vm, props);
	else if (strcmp(event, "vm-added") == 0 ||
		 strcmp(event, "vm-removed") == 0)
		relist(t);
	else if (strcmp(event, "vm-property") == 0) {
		const char *prop = "";
		g_variant_lookup(props, "property", "&s", &prop);
		if (strcmp(prop, "label") == 0 ||
		    strcmp(prop, "template_for_dispvms") == 0 ||
		    strcmp(prop, "class") == 0)
			relist(t);
	} else if (strcmp(event, "prompt-ask") == 0)
		asked(t, props);
	else if (strcmp(event, "prompt-cancel") == 0)
		cancelled(t, props);
	else if (strcmp(event, "rpc-denied") == 0)
		denied(t, vm, props);
}

static const struct qm_admin_link_listener link_listener = {
	.ready = on_ready,
	.lost = on_lost,
	.event = on_event,
};

/* ---- main ---- */

static gboolean on_signal(gpointer data)
{
	g_main_loop_quit(data);
	return G_SOURCE_CONTINUE;
}

/* The menu and the item on a connection to the session bus: at start and
 * after the bus came back (session-bus.c connects again). */
static void bus_connected(GDBusConnection *bus, void *data)
{
	struct tray *t = data;
	g_autoptr(GError) err = NULL;

	t->menu = qt_dbusmenu_create(bus, MENU_PATH, on_activate, t, &err);
	if (!t->menu) {
		g_warning("cannot export the menu: %s (no tray item until the "
			  "session bus is back)", err->message);
		return;
	}
	t->sni = qt_sni_create(bus, MENU_PATH, &err);
	if (!t->sni) {
		g_warning("cannot export the tray item: %s (none until the "
			  "session bus is back)", err->message);
		return;
	}
	rebuild(t);
}

static void bus_lost(void *data)
{
	struct tray *t = data;

	g_clear_pointer(&t->sni, qt_sni_destroy);
	g_clear_pointer(&t->menu, qt_dbusmenu_destroy);
}

static const struct qm_session_bus_listener bus_listener = {
	.connected = bus_connected,
	.lost = bus_lost,
};

int main(int argc, char **argv)
{
	g_autofree char *config_path = NULL;
	g_autofree char *socket_path = NULL;
	gboolean version = false;
	const GOptionEntry entries[] = {
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
		  "read FILE instead of ~/.config/qmgr/tray.conf", "FILE" },
		{ "socket", 's', 0, G_OPTION_ARG_FILENAME, &socket_path,
		  "qmgrd's admin socket (default: as the qvm-* tools, "
		  "QMGR_ROOT respected)", "PATH" },
		{ "version", 0, 0, G_OPTION_ARG_NONE, &version,
		  "print the version and exit", NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new(
		"- the qmgr tray menu, notifications and ask prompt");
	g_autoptr(GError) err = NULL;
	struct tray t = { 0 };
	int rc = 1;

	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		g_printerr("qmgr-tray: %s (qmgr-tray --help)\n", err->message);
		return 2;
	}
	if (argc > 1) {
		g_printerr("qmgr-tray: unexpected argument '%s' "
			   "(qmgr-tray --help)\n", argv[1]);
		return 2;
	}
	if (version) {
		printf("qmgr-tray %s\n", QMGR_VERSION);
		return 0;
	}
	t.cfg = qt_config_load(config_path, &err);
	if (!t.cfg) {
		g_printerr("qmgr-tray: %s\n", err->message);
		return 2;
	}
	t.bus = qm_session_bus_create("qmgr-tray", &err);
	if (!t.bus) {
		g_printerr("qmgr-tray: %s (is DBUS_SESSION_BUS_ADDRESS "
			   "set?)\n", err->message);
		goto out;
	}
	t.loop = g_main_loop_new(NULL, false);
	t.qubes = g_ptr_array_new_with_free_func((GDestroyNotify)qt_qube_free);
	t.prompts = qt_prompts_create();
	t.ids = qt_menu_ids_create();
	t.notify = qt_notify_create(t.bus, on_notify_action, &t);
	if (!socket_path)
		socket_path = qm_client_socket_path();
	t.link = qm_admin_link_create(socket_path, "qmgr-tray");
	qm_admin_link_set_listener(t.link, &link_listener, &t);
	g_unix_signal_add(SIGINT, on_signal, t.loop);
	g_unix_signal_add(SIGTERM, on_signal, t.loop);
	t.lost_why = g_strdup("connecting");
	/* The menu and the item come with the bus (bus_connected). */
	qm_session_bus_add_listener(t.bus, &bus_listener, &t);
	rebuild(&t);
	qm_admin_link_start(t.link);
	g_main_loop_run(t.loop);
	rc = 0;
out:
	if (t.rebuild_id)
		g_source_remove(t.rebuild_id);
	qm_admin_link_destroy(t.link);
	qt_notify_destroy(t.notify);
	if (t.bus)
		qm_session_bus_remove_listener(t.bus, &t);
	qt_sni_destroy(t.sni);
	qt_dbusmenu_destroy(t.menu);
	qt_menu_ids_destroy(t.ids);
	qt_prompts_destroy(t.prompts);
	if (t.qubes)
		g_ptr_array_unref(t.qubes);
	qt_config_destroy(t.cfg);
	g_free(t.lost_why);
	qm_session_bus_destroy(t.bus);   /* flushes what was sent */
	if (t.loop)
		g_main_loop_unref(t.loop);
	return rc;
}
