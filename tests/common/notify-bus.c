/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A private session bus and a fake notification server (notify-bus.h). */
#include "notify-bus.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define NAME "org.freedesktop.Notifications"
#define PATH "/org/freedesktop/Notifications"

static const char introspection[] =
	"<node><interface name='" NAME "'>"
	"<method name='Notify'>"
	"<arg type='s' direction='in'/><arg type='u' direction='in'/>"
	"<arg type='s' direction='in'/><arg type='s' direction='in'/>"
	"<arg type='s' direction='in'/><arg type='as' direction='in'/>"
	"<arg type='a{sv}' direction='in'/><arg type='i' direction='in'/>"
	"<arg type='u' direction='out'/></method>"
	"<method name='GetCapabilities'><arg type='as' direction='out'/>"
	"</method>"
	"<method name='CloseNotification'><arg type='u' direction='in'/>"
	"</method>"
	"<signal name='ActionInvoked'><arg type='u'/><arg type='s'/></signal>"
	"<signal name='NotificationClosed'><arg type='u'/><arg type='u'/>"
	"</signal>"
	"</interface></node>";

static void note_free(struct test_note *n)
{
	g_free(n->summary);
	g_free(n->body);
	g_free(n->icon);
	g_strfreev(n->actions);
	g_free(n);
}

static void on_call(GDBusConnection *conn, const char *sender,
		    const char *path, const char *iface, const char *method,
		    GVariant *params, GDBusMethodInvocation *inv,
		    gpointer data)
{
	struct test_bus *tb = data;

	if (g_strcmp0(method, "GetCapabilities") == 0) {
		g_dbus_method_invocation_return_value(
			inv, g_variant_new("(^as)", tb->caps));
	} else if (g_strcmp0(method, "Notify") == 0) {
		struct test_note *n = g_new0(struct test_note, 1);
		g_autoptr(GVariant) hints = NULL;

		g_variant_get(params, "(susss^as@a{sv}i)", NULL, NULL,
			      &n->icon, &n->summary, &n->body, &n->actions,
			      &hints, NULL);
		g_variant_lookup(hints, "urgency", "y", &n->urgency);
		n->id = ++tb->next_id;
		g_ptr_array_add(tb->notes, n);
		g_dbus_method_invocation_return_value(
			inv, g_variant_new("(u)", n->id));
	} else if (g_strcmp0(method, "CloseNotification") == 0) {
		guint32 id;

		g_variant_get(params, "(u)", &id);
		g_array_append_val(tb->closed, id);
		g_dbus_method_invocation_return_value(inv, NULL);
	}
}

static const GDBusInterfaceVTable vtable = { .method_call = on_call };

static bool socket_there(void *data)
{
	struct test_bus *tb = data;
	g_autofree char *path = g_build_filename(tb->dir, "bus", NULL);

	return g_file_test(path, G_FILE_TEST_EXISTS);
}

/* The daemon dies with the test, also when an assertion aborts it. */
static void child_setup(gpointer data)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static void spawn_daemon(struct test_bus *tb)
{
	g_autofree char *conf = g_build_filename(tb->dir, "bus.conf", NULL);
	g_autofree char *sock = g_build_filename(tb->dir, "bus", NULL);
	char *argv[] = { "dbus-daemon", "--nofork", "--nopidfile", NULL,
			 NULL };
	g_autofree char *conf_arg = g_strconcat("--config-file=", conf, NULL);
	g_autoptr(GError) err = NULL;

	unlink(sock);   /* what the last one left */
	argv[3] = conf_arg;
	g_assert_true(g_spawn_async(NULL, argv, NULL,
				    G_SPAWN_SEARCH_PATH |
				    G_SPAWN_DO_NOT_REAP_CHILD, child_setup,
				    NULL,
				    &tb->daemon, &err));
	g_assert_no_error(err);
	g_assert_true(test_wait(socket_there, tb, 10));
}

static void server_up(struct test_bus *tb)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GDBusNodeInfo) info = g_dbus_node_info_new_for_xml(
		introspection, &err);

	g_assert_no_error(err);
	/* The socket file comes with bind(), a moment before listen(). */
	for (int i = 0; i < 100 && !tb->server; i++) {
		g_clear_error(&err);
		tb->server = g_dbus_connection_new_for_address_sync(
			tb->address,
			G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
			G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
			NULL, NULL, &err);
		if (!tb->server)
			g_usleep(50000);
	}
	g_assert_no_error(err);
	g_dbus_connection_set_exit_on_close(tb->server, FALSE);
	tb->reg_id = g_dbus_connection_register_object(
		tb->server, PATH, info->interfaces[0], &vtable, tb, NULL,
		&err);
	g_assert_no_error(err);
	g_autoptr(GVariant) r = g_dbus_connection_call_sync(
		tb->server, "org.freedesktop.DBus", "/org/freedesktop/DBus",
		"org.freedesktop.DBus", "RequestName",
		g_variant_new("(su)", NAME, 4u /* DO_NOT_QUEUE */),
		G_VARIANT_TYPE("(u)"), G_DBUS_CALL_FLAGS_NONE, 5000, NULL,
		&err);
	g_assert_no_error(err);
}

static void server_down(struct test_bus *tb)
{
	if (!tb->server)
		return;
	g_dbus_connection_unregister_object(tb->server, tb->reg_id);
	g_clear_object(&tb->server);
}

/* How many times the code under test logged the loss of its bus
 * (common/session-bus.c: "... closed (...): connecting again"). */
static unsigned int losses_logged;

static void count_losses(const char *domain, GLogLevelFlags level,
			 const char *msg, gpointer data)
{
	if (strstr(msg, "closed") && strstr(msg, "connecting again"))
		losses_logged++;
	g_log_default_handler(domain, level, msg, data);
}

struct test_bus *test_bus_start(const char *const *caps)
{
	g_autofree char *exe = g_find_program_in_path("dbus-daemon");

	if (!exe) {
		g_test_skip("dbus-daemon is not installed");
		return NULL;
	}
	struct test_bus *tb = g_new0(struct test_bus, 1);
	g_autoptr(GError) err = NULL;

	tb->caps = caps;
	tb->notes = g_ptr_array_new_with_free_func((GDestroyNotify)note_free);
	tb->closed = g_array_new(FALSE, FALSE, sizeof(guint32));
	tb->dir = g_dir_make_tmp("qmgr-notify-test.XXXXXX", &err);
	g_assert_no_error(err);
	g_autofree char *sock = g_build_filename(tb->dir, "bus", NULL);
	g_autofree char *escaped = g_dbus_address_escape_value(sock);
	tb->address = g_strconcat("unix:path=", escaped, NULL);
	/* No service activation: "no server" must stay true. */
	g_autofree char *conf = g_strdup_printf(
		"<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus "
		"Configuration 1.0//EN\" \"http://www.freedesktop.org/"
		"standards/dbus/1.0/busconfig.dtd\">\n"
		"<busconfig><type>session</type><listen>%s</listen>"
		"<policy context=\"default\">"
		"<allow send_destination=\"*\" eavesdrop=\"true\"/>"
		"<allow eavesdrop=\"true\"/><allow own=\"*\"/>"
		"</policy></busconfig>\n", tb->address);
	g_autofree char *conf_path = g_build_filename(tb->dir, "bus.conf",
						      NULL);
	g_assert_true(g_file_set_contents(conf_path, conf, -1, &err));
	g_setenv("DBUS_SESSION_BUS_ADDRESS", tb->address, TRUE);
	g_log_set_default_handler(count_losses, NULL);
	spawn_daemon(tb);
	server_up(tb);
	return tb;
}

void test_bus_kill(struct test_bus *tb)
{
	if (tb->daemon) {
		kill(tb->daemon, SIGKILL);
		waitpid(tb->daemon, NULL, 0);
		g_spawn_close_pid(tb->daemon);
		tb->daemon = 0;
	}
	server_down(tb);
}

static bool loss_seen(void *data)
{
	return losses_logged > *(unsigned int *)data;
}

void test_bus_restart(struct test_bus *tb)
{
	unsigned int before = losses_logged;
	bool was_running = tb->daemon != 0;

	test_bus_kill(tb);
	/* A notice sent before the client saw the loss goes to the dead
	 * connection and is lost (logged): wait for the client to see it,
	 * as a user's restart of the bus takes longer than that anyway. */
	if (was_running && !test_wait(loss_seen, &before, 10))
		g_error("the code under test did not log the loss of its "
			"session bus");
	spawn_daemon(tb);
	server_up(tb);
}

void test_bus_stop(struct test_bus *tb)
{
	if (!tb)
		return;
	test_bus_kill(tb);
	g_autofree char *sock = g_build_filename(tb->dir, "bus", NULL);
	g_autofree char *conf = g_build_filename(tb->dir, "bus.conf", NULL);
	unlink(sock);
	unlink(conf);
	rmdir(tb->dir);
	g_ptr_array_unref(tb->notes);
	g_array_unref(tb->closed);
	g_free(tb->dir);
	g_free(tb->address);
	g_free(tb);
}

static gboolean timed_out(gpointer data)
{
	*(bool *)data = true;
	return G_SOURCE_REMOVE;
}

static gboolean tick(gpointer data)
{
	return G_SOURCE_CONTINUE;   /* wakes the loop to look at cond */
}

bool test_wait(bool (*cond)(void *data), void *data, int seconds)
{
	bool over = false;
	guint id = g_timeout_add_seconds(seconds, timed_out, &over);
	guint tick_id = g_timeout_add(20, tick, NULL);

	while (!cond(data) && !over)
		g_main_context_iteration(NULL, TRUE);
	if (!over)
		g_source_remove(id);
	g_source_remove(tick_id);
	return cond(data);
}

void test_bus_invoke(struct test_bus *tb, guint32 id, const char *key)
{
	g_autoptr(GError) err = NULL;

	g_dbus_connection_emit_signal(tb->server, NULL, PATH, NAME,
				      "ActionInvoked",
				      g_variant_new("(us)", id, key), &err);
	g_assert_no_error(err);
}

static guint want_notes;

static bool notes_reach(void *data)
{
	return ((struct test_bus *)data)->notes->len >= want_notes;
}

const struct test_note *test_bus_wait_note(struct test_bus *tb, guint n)
{
	want_notes = n;
	if (!test_wait(notes_reach, tb, 20))
		g_error("the server got %u notices, not %u", tb->notes->len,
			n);
	return tb->notes->pdata[n - 1];
}
