/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small client of org.freedesktop.Notifications (mako, dunst, the
 * desktops' servers) for gui-proxy and qmgr-tray, on a session bus that is
 * reconnected when it goes away (session-bus.h).  Everything is
 * asynchronous: a program's main loop never waits for the bus or the
 * server.  Without either, a notice is lost, and the program's log (where
 * the callers write every notice) is all there is.
 *
 * Bodies are plain text here; they are escaped (&, <, >, quotes) unless
 * the server is known not to read them as markup.  Rate limits are the
 * callers' (common/ratelimit.h): what is sent here goes out.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "session-bus.h"

/* How many notices wait for the bus or the server's capabilities; more
 * are logged only. */
#define QM_NOTIFY_MAX_QUEUED 16

struct qm_notify;

/* The user chose `action` (a key given in the notice's actions) on the
 * notice sent with `tag`. */
typedef void (*qm_notify_action_fn)(uint32_t tag, const char *action,
				    void *user_data);

struct qm_notice {
	const char *summary;        /* plain text */
	const char *body;           /* plain text */
	const char *icon;           /* NULL: none */
	uint8_t urgency;            /* 0 low, 1 normal, 2 critical */
	const char *category;       /* NULL: none */
	int timeout_ms;             /* -1: the server's choice */
	/* key, label, key, label, ..., NULL; offered only when the server
	 * shows actions (qm_notify_has_actions). NULL: none. */
	const char *const *actions;
	/* Not 0: the notice can be taken back with qm_notify_close, and its
	 * actions come back with this tag. */
	uint32_t tag;
};

/* `bus` NULL: no session bus, log only.  `app_name` is the Notify call's
 * and `desktop_entry` its hint (NULL: none). */
struct qm_notify *qm_notify_create(struct qm_session_bus *bus,
				   const char *app_name,
				   const char *desktop_entry,
				   qm_notify_action_fn fn, void *user_data);
void qm_notify_destroy(struct qm_notify *n);   /* accepts NULL */
void qm_notify_send(struct qm_notify *n, const struct qm_notice *notice);
/* Takes the notice sent with `tag` off the screen (also one whose Notify
 * is still on its way). */
void qm_notify_close(struct qm_notify *n, uint32_t tag);
/* Whether the server announced the "actions" capability. */
bool qm_notify_has_actions(const struct qm_notify *n);
