/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The qubes as qmgrd knows them, without --guest: their labels, states
 * and GUI sockets from vm.List and the event stream, turned into guests.
 * A qube with a GUI socket gets a guest that is connected while the qube
 * is up and closed when it stops; a label change recolours its windows.
 *
 * Events are applied as they come.  vm.List is asked after subscribing,
 * so its answer is never older than an event already seen: it replaces
 * what the events said.  A qube added, or one whose `gui` changed, is
 * learnt by listing again.  When qmgrd goes away the guests stay as they
 * are (their sockets are QEMU's, not qmgrd's) until the next list after
 * reconnecting says otherwise.
 */
#include <string.h>

#include "proxy.h"

struct qube {
	char *name;
	char *state;            /* qmgrd's: Halted, Running, ... */
	char *label;
	char *gui_socket;       /* "" without a GUI channel */
	bool allow_fullscreen;  /* gui_allow_fullscreen */
	char *gui_shm;          /* "" without a shared region */
	struct gp_guest *guest; /* in dpy->guests; NULL: none */
	bool seen;              /* in the list being applied */
};

struct gp_qubes {
	struct gp_display *dpy;
	struct qm_admin_link *admin;
	GHashTable *qubes;      /* name -> struct qube */
	bool listing;           /* a vm.List is on its way */
	bool relist;            /* and another is wanted after it */
};

static void qube_drop_guest(struct gp_qubes *q, struct qube *v)
{
	if (v->guest)
		g_ptr_array_remove(q->dpy->guests, v->guest);
	v->guest = NULL;
}

static void qube_free(struct qube *v)
{
	g_free(v->name);
	g_free(v->state);
	g_free(v->label);
	g_free(v->gui_socket);
	g_free(v->gui_shm);
	g_free(v);
}

/* Down: no domain, so no GUI socket to talk to. */
static bool state_up(const char *state)
{
	return strcmp(state, "Halted") != 0 && strcmp(state, "Crashed") != 0;
}

/* Makes the qube's guest follow what is known of it. */
static void qube_apply(struct gp_qubes *q, struct qube *v)
{
	uint32_t rgb;

	if (!*v->gui_socket || !gp_guest_name_ok(v->name)) {
		qube_drop_guest(q, v);
		return;
	}
	if (!qm_label_rgb(v->label, &rgb)) {
		g_warning("qube '%s' has label '%s', which gui-proxy does not "
			  "know: its windows are not shown", v->name,
			  v->label);
		qube_drop_guest(q, v);
		return;
	}
	if (v->guest && strcmp(v->guest->cfg.socket_path, v->gui_socket) != 0)
		qube_drop_guest(q, v);
	if (!v->guest) {
		struct gp_guest_config cfg = {
			.name = v->name,
			.color = rgb,
			.socket_path = v->gui_socket,
		};

		v->guest = gp_guest_create(q->dpy, &cfg);
		g_ptr_array_add(q->dpy->guests, v->guest);
	}
	gp_guest_set_color(v->guest, rgb);
	gp_guest_set_allow_fullscreen(v->guest, v->allow_fullscreen);
	gp_guest_set_shm(v->guest, v->gui_shm);
	if (!state_up(v->state)) {
		gp_guest_stop(v->guest);
		return;
	}
	/* Running: the agent reported in, so the socket is QEMU's and
	 * given to group qmgr; connect now rather than at the next retry. */
	gp_guest_start(v->guest, strcmp(v->state, "Running") == 0);
}

static struct qube *qube_get(struct gp_qubes *q, const char *name)
{
	struct qube *v = g_hash_table_lookup(q->qubes, name);

	if (v)
		return v;
	v = g_new0(struct qube, 1);
	v->name = g_strdup(name);
	v->state = g_strdup("Halted");
	v->label = g_strdup("red");
	v->gui_socket = g_strdup("");
	v->gui_shm = g_strdup("");
	g_hash_table_insert(q->qubes, v->name, v);
	if (!gp_guest_name_ok(name))
		g_warning("qube '%s': its windows are not shown (gui-proxy "
			  "takes names of letters, digits, '-' and '_': "
			  "'.' would make app_ids ambiguous)", name);
	return v;
}

static void set_str(char **field, const char *value)
{
	if (strcmp(*field, value) == 0)
		return;
	g_free(*field);
	*field = g_strdup(value);
}

static void list_vms(struct gp_qubes *q);

static void on_list(GVariant *result, const GError *error, void *data)
{
	struct gp_qubes *q = data;
	g_autoptr(GVariant) vms = NULL;
	GHashTableIter it;
	gpointer value;

	q->listing = false;
	if (error) {
		/* Lost qmgrd: the next connection lists again. */
		g_message("cannot list the qubes: %s", error->message);
		return;
	}
	vms = g_variant_lookup_value(result, "vms", G_VARIANT_TYPE("aa{sv}"));
	if (!vms) {
		g_warning("qmgrd's vm.List has no list of qubes");
		return;
	}
	g_hash_table_iter_init(&it, q->qubes);
	while (g_hash_table_iter_next(&it, NULL, &value))
		((struct qube *)value)->seen = false;
	for (gsize i = 0; i < g_variant_n_children(vms); i++) {
		g_autoptr(GVariant) d = g_variant_get_child_value(vms, i);
		const char *name = NULL, *state = "Halted", *label = "red";
		const char *gui = "", *gui_shm = "";
		gboolean fs = FALSE;

		if (!g_variant_lookup(d, "name", "&s", &name))
			continue;
		g_variant_lookup(d, "state", "&s", &state);
		g_variant_lookup(d, "label", "&s", &label);
		g_variant_lookup(d, "gui_socket", "&s", &gui);
		/* absent from an older qmgrd: not allowed */
		g_variant_lookup(d, "gui_allow_fullscreen", "b", &fs);
		g_variant_lookup(d, "gui_shm", "&s", &gui_shm);
		struct qube *v = qube_get(q, name);
		v->seen = true;
		set_str(&v->state, state);
		set_str(&v->label, label);
		set_str(&v->gui_socket, gui);
		v->allow_fullscreen = fs;
		set_str(&v->gui_shm, gui_shm);
		qube_apply(q, v);
	}
	/* Removed while we were away. */
	g_hash_table_iter_init(&it, q->qubes);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct qube *v = value;

		if (!v->seen) {
			qube_drop_guest(q, v);
			g_hash_table_iter_remove(&it);
		}
	}
	if (q->relist) {
		q->relist = false;
		list_vms(q);
	}
}

static void list_vms(struct gp_qubes *q)
{
	if (q->listing) {
		q->relist = true;
		return;
	}
	q->listing = qm_admin_link_call(q->admin, "vm.List", "", NULL, on_list, q,
				   NULL);
}

static void on_subscribed(GVariant *result, const GError *error, void *data)
{
	if (error)
		g_warning("cannot subscribe to qmgrd's events: %s",
			  error->message);
}

static void on_ready(void *data)
{
	struct gp_qubes *q = data;

	q->listing = q->relist = false;
	/* Subscribe first: the list then answers after any event missed. */
	qm_admin_link_call(q->admin, "events.Subscribe", "", NULL, on_subscribed,
		      q, NULL);
	list_vms(q);
}

static void on_event(const char *event, const char *vm, GVariant *props,
		     void *data)
{
	struct gp_qubes *q = data;
	struct qube *v = *vm ? g_hash_table_lookup(q->qubes, vm) : NULL;
	const char *s, *prop;

	if (strcmp(event, "vm-added") == 0) {
		list_vms(q);
	} else if (strcmp(event, "vm-removed") == 0) {
		if (v) {
			qube_drop_guest(q, v);
			g_hash_table_remove(q->qubes, vm);
		}
	} else if (strcmp(event, "vm-state") == 0) {
		if (v && g_variant_lookup(props, "state", "&s", &s)) {
			set_str(&v->state, s);
			qube_apply(q, v);
		}
	} else if (strcmp(event, "vm-property") == 0) {
		if (!v || !g_variant_lookup(props, "property", "&s", &prop) ||
		    !g_variant_lookup(props, "value", "&s", &s))
			return;
		if (strcmp(prop, "label") == 0) {
			set_str(&v->label, s);
			qube_apply(q, v);
		} else if (strcmp(prop, "gui_allow_fullscreen") == 0) {
			/* qmgrd normalises booleans to True / False */
			v->allow_fullscreen = strcmp(s, "True") == 0;
			qube_apply(q, v);
		} else if (strcmp(prop, "gui") == 0) {
			/* gui_socket follows it: ask qmgrd for the path */
			list_vms(q);
		}
	}
	/* Other events (tags, ...) do not concern the proxy. */
}

static const struct qm_admin_link_listener listener = {
	.ready = on_ready,
	.event = on_event,
};

struct gp_qubes *gp_qubes_create(struct gp_display *dpy,
				 struct qm_admin_link *admin)
{
	struct gp_qubes *q = g_new0(struct gp_qubes, 1);

	q->dpy = dpy;
	q->qubes = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					 (GDestroyNotify)qube_free);
	q->admin = admin;
	qm_admin_link_set_listener(admin, &listener, q);
	return q;
}

void gp_qubes_destroy(struct gp_qubes *q)
{
	if (!q)
		return;
	/* The admin is gone already (see main.c): no callback comes. */
	g_hash_table_destroy(q->qubes);
	g_free(q);
}
