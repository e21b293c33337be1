/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Commands in qubes (vm.Run): a stream on the qube's agent channel, relayed
 * to a stream on the admin client's connection.
 *
 * qmgrd passes DATA and WINDOW through without buffering, so flow control
 * is end to end; it tracks every credit itself so that a side sending past
 * its credit is caught (and dropped) and its own queues stay bounded by the
 * credits: a slow reader stalls only its own command.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

#include "daemon.h"
#include "wire.h"

struct qm_peer;

/* Starts `command` as `user` in the running qube `vm` (its agent must
 * have reported in).  With `peer`, stdio is relayed to it and the client
 * stream id is returned; without, stdin is closed and output dropped, and
 * 0 is returned.  On failure returns 0 and sets error. */
guint32 qm_run_open(struct qmgrd *d, const char *vm, const char *user,
		    const char *command, struct qm_peer *peer, GError **error);

/* Stream messages from an admin client (stream != 0); false when the
 * client broke the protocol (the caller drops it). */
bool qm_run_from_client(struct qmgrd *d, struct qm_peer *peer,
			const struct qm_wire_msg *msg, GError **error);
/* The client went away: its commands are closed. */
void qm_run_client_gone(struct qmgrd *d, struct qm_peer *peer);

/* Stream messages from a qube's agent; false on a violation. */
bool qm_run_from_agent(struct qmgrd *d, const char *vm,
		       const struct qm_wire_msg *msg, GError **error);
/* The qube's agent channel is gone (stopped, dropped): its commands end. */
void qm_run_agent_gone(struct qmgrd *d, const char *vm, const char *why);

/* ---- what run.c needs from its neighbours ---- */

/* admin-socket.c */
struct qm_peer *qm_peer_ref(struct qm_peer *peer);
void qm_peer_unref(struct qm_peer *peer);
bool qm_peer_send(struct qm_peer *peer, enum qm_msg_type type,
		  guint32 stream, GVariant *payload);
/* lifecycle.c: sends on the qube's agent channel; false when it has none
 * (not running, not reported in). */
bool qm_lifecycle_agent_send(struct qmgrd *d, const char *vm,
			     enum qm_msg_type type, guint32 stream,
			     GVariant *payload);
/* The protocol version the qube's agent announced; 0 without an agent. */
guint32 qm_lifecycle_agent_version(struct qmgrd *d, const char *vm);
bool qm_peer_is_open(struct qm_peer *peer);
