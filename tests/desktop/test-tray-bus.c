/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qmgr-tray itself when its session bus goes away (issue #6): on a real
 * dbus-daemon (tests/common/notify-bus.c), without qmgrd, the tray exports
 * its item and menu; the bus is killed and a new one started at the same
 * address; the tray keeps running, connects again and exports both again
 * (the item's name has an owner, GetLayout answers), and still exits 0 on
 * SIGTERM.
 *
 *   test-tray-bus QMGR_TRAY
 */
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "notify-bus.h"

#ifdef NDEBUG
#error "tests need assertions"
#endif

static const char *tray_path;
static struct test_bus *bus;
static GPid tray;
static char *item_name;

static bool item_exported(void *data)
{
	g_autoptr(GVariant) r = g_dbus_connection_call_sync(
		bus->server, "org.freedesktop.DBus", "/org/freedesktop/DBus",
		"org.freedesktop.DBus", "NameHasOwner",
		g_variant_new("(s)", item_name), G_VARIANT_TYPE("(b)"),
		G_DBUS_CALL_FLAGS_NONE, 2000, NULL, NULL);
	gboolean has = FALSE;

	if (r)
		g_variant_get(r, "(b)", &has);
	return has;
}

/* The menu's text, from GetLayout. */
static char *layout(void)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GVariant) r = g_dbus_connection_call_sync(
		bus->server, item_name, "/MenuBar", "com.canonical.dbusmenu",
		"GetLayout", g_variant_new("(ii@as)", 0, -1,
					   g_variant_new_strv(NULL, 0)),
		NULL,
		G_DBUS_CALL_FLAGS_NONE, 5000, NULL, &err);

	g_assert_no_error(err);
	return g_variant_print(r, FALSE);
}

/* The tray dies with the test, also when an assertion aborts it. */
static void child_setup(gpointer data)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static bool tray_alive(void)
{
	return waitpid(tray, NULL, WNOHANG) == 0;
}

static void test_tray_survives_bus_restart(void)
{
	static const char *const caps[] = { "body", NULL };
	g_autoptr(GError) err = NULL;

	bus = test_bus_start(caps);
	if (!bus)
		return;
	char *argv[] = { (char *)tray_path,
			 "--socket=/nonexistent/qmgrd.sock",
			 "--config=/nonexistent/tray.conf", NULL };
	g_assert_true(g_spawn_async(NULL, argv, NULL,
				    G_SPAWN_DO_NOT_REAP_CHILD, child_setup,
				    NULL, &tray, &err));
	g_assert_no_error(err);
	item_name = g_strdup_printf("org.kde.StatusNotifierItem-%d-1",
				    (int)tray);

	g_assert_true(test_wait(item_exported, NULL, 30));
	g_autofree char *before = layout();
	g_assert_nonnull(strstr(before, "qmgrd is not reachable"));

	test_bus_kill(bus);
	g_usleep(G_USEC_PER_SEC);       /* the tray sees the loss */
	g_assert_true(tray_alive());
	test_bus_restart(bus);
	g_assert_true(test_wait(item_exported, NULL, 30));
	g_autofree char *after = layout();
	g_assert_nonnull(strstr(after, "qmgrd is not reachable"));
	g_assert_true(tray_alive());

	int status;
	kill(tray, SIGTERM);
	g_assert_cmpint(waitpid(tray, &status, 0), ==, tray);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
	g_spawn_close_pid(tray);
	test_bus_stop(bus);
	g_free(item_name);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	if (argc < 2) {
		g_printerr("usage: test-tray-bus QMGR_TRAY\n");
		return 2;
	}
	tray_path = argv[1];
	g_test_add_func("/tray/bus/survives-session-bus-restart",
			test_tray_survives_bus_restart);
	return g_test_run();
}
