/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A connection to the user's session bus that outlives the bus: when the
 * connection closes (the dbus-daemon ended or restarted), it is replaced
 * by a new one to the same address, with growing pauses between attempts
 * (0.5 s doubling to 30 s), logging once per loss and once when back.
 * The connection is a private one (not GIO's shared singleton, which a
 * closed bus would leave behind), made asynchronously on the main loop:
 * nothing waits for the bus.  gui-proxy's and the tray's notifications use
 * it (notify-client.c), and the tray exports its menu on it.
 */
#pragma once

#include <stdbool.h>
#include <gio/gio.h>

struct qm_session_bus;

struct qm_session_bus_listener {
	/* A connection is up (the first, or one after a loss). */
	void (*connected)(GDBusConnection *bus, void *user_data);
	/* The connection closed; a new one is being made.  What was
	 * exported or subscribed on it is gone. */
	void (*lost)(void *user_data);
};

/*
 * Starts connecting to the session bus: $DBUS_SESSION_BUS_ADDRESS, else
 * $XDG_RUNTIME_DIR/bus when it exists (never X11 autolaunch).  NULL with
 * `error` when neither is there.  `who` names the program in the log.
 */
struct qm_session_bus *qm_session_bus_create(const char *who, GError **error);
/* Flushes what was sent and closes the connection.  Accepts NULL. */
void qm_session_bus_destroy(struct qm_session_bus *sb);
/* The address connected to (or tried). */
const char *qm_session_bus_address(const struct qm_session_bus *sb);
/* The connection, or NULL while there is none. */
GDBusConnection *qm_session_bus_get(const struct qm_session_bus *sb);
/* Adds a listener (its `connected` is called at once when the bus is up);
 * removed by its user_data. */
void qm_session_bus_add_listener(struct qm_session_bus *sb,
				 const struct qm_session_bus_listener *l,
				 void *user_data);
void qm_session_bus_remove_listener(struct qm_session_bus *sb,
				    void *user_data);
