/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A long-lived client of qmgrd's admin socket (docs/admin-api.md) on the
 * GLib main loop, for the programs of the user's session (gui-proxy,
 * qmgr-tray): connect, exchange HELLO, make calls whose replies come back
 * to callbacks, pass events on, and reconnect with backoff when qmgrd goes
 * away (it is restarted, or not up yet).  The tools' client library
 * (qvm-tools/client.c) blocks, which these programs must never do; this
 * rides on the asynchronous message connection (conn.h), which does the
 * framing and decoding of the wire protocol.
 *
 * qmgrd is trusted to decide, but its messages are only read through typed
 * GVariant lookups (the wire decoder checked each payload's type).
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

struct qm_admin_link;
struct qm_admin_link_listener {
	/* HELLO exchanged: calls may be made (after each reconnection) */
	void (*ready)(void *data);
	/* The connection went, or the first attempt after it went (or the
	 * first attempt at all) failed; it is retried with backoff.  Once
	 * per outage. */
	void (*lost)(const char *why, void *data);
	/* an EVENT; props is its a{sv} */
	void (*event)(const char *event, const char *vm, GVariant *props,
		      void *data);
};
/* The answer to a call: its result (the REPLY's a{sv}), or an error when
 * qmgrd refused it ("MESSAGE (Code)") or the connection was lost before it
 * came. */
typedef void (*qm_admin_reply_fn)(GVariant *result, const GError *error,
				  void *data);

/* `software` names this program in HELLO and in messages. */
struct qm_admin_link *qm_admin_link_create(const char *path,
					   const char *software);
void qm_admin_link_set_listener(struct qm_admin_link *link,
				const struct qm_admin_link_listener *listener,
				void *data);
/* Fails the calls in flight (their callbacks run). */
void qm_admin_link_destroy(struct qm_admin_link *link);
void qm_admin_link_start(struct qm_admin_link *link);
bool qm_admin_link_is_up(const struct qm_admin_link *link);
/* Sends a REQUEST (args a{sv}, may be floating; NULL: none); fn (may be
 * NULL) gets its REPLY, or an error if the connection goes first.  False
 * when not connected: fn is not called, destroy(data) is, at once. */
bool qm_admin_link_call(struct qm_admin_link *link, const char *method,
			const char *vm, GVariant *args, qm_admin_reply_fn fn,
			void *data, GDestroyNotify destroy);
