/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * For the notification tests (common/notify-client.c and its users in
 * gui-proxy and the tray): a private session bus (a real dbus-daemon)
 * that can be killed and started again at the same address, and a fake
 * org.freedesktop.Notifications server on it that records what it is
 * sent.  DBUS_SESSION_BUS_ADDRESS is set to the bus for the code under
 * test.
 */
#pragma once

#include <stdbool.h>
#include <gio/gio.h>

struct test_note {
	char *summary, *body, *icon;
	char **actions;
	guint32 id;
	guchar urgency;
};

struct test_bus {
	char *dir, *address;
	GPid daemon;            /* 0: not running */
	GDBusConnection *server;   /* the fake server's connection */
	guint reg_id;
	const char *const *caps;   /* what GetCapabilities answers */
	GPtrArray *notes;       /* struct test_note *, in order */
	GArray *closed;         /* guint32: CloseNotification's ids */
	guint32 next_id;
};

/* NULL (and the test skipped) when dbus-daemon is not installed. */
struct test_bus *test_bus_start(const char *const *caps);
void test_bus_stop(struct test_bus *tb);
/* Kills the dbus-daemon (the fake server's connection closes). */
void test_bus_kill(struct test_bus *tb);
/* Kills the dbus-daemon when it runs, and then waits until the code under
 * test logged the loss; then a new dbus-daemon at the same address, and
 * the fake server on it. */
void test_bus_restart(struct test_bus *tb);
/* Runs the main loop until cond(data) or `seconds` pass; cond's value. */
bool test_wait(bool (*cond)(void *data), void *data, int seconds);
/* Runs the main loop until the server has `n` notices (fails the test
 * after 20 s); the n-th. */
const struct test_note *test_bus_wait_note(struct test_bus *tb, guint n);
/* The server's ActionInvoked(id, key). */
void test_bus_invoke(struct test_bus *tb, guint32 id, const char *key);
