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

/* Runs SERVICE[+ARGUMENT] for dom0 (qvm-run --service): as qm_run_open,
 * with the service's environment naming dom0 as the caller. */
guint32 qm_run_open_service(struct qmgrd *d, const char *vm, const char *user,
			    const char *service, const char *argument,
			    struct qm_peer *peer, GError **error);

/* ---- calls between qubes (rpc.c decides them) ---- */

/* Whether the call `id` of `caller` is still waiting for its decision
 * (false once the caller closed it or went away). */
bool qm_run_call_pending(struct qmgrd *d, const char *caller, guint32 id);
/* Joins a pending call to SERVICE in the running qube `target`: the
 * service starts and the caller may send.  False (with error) when the
 * call is gone or the target cannot take it; the call is then refused. */
bool qm_run_call_join(struct qmgrd *d, const char *caller, guint32 id,
		      const char *target, const char *user,
		      const char *service, const char *argument,
		      const char *requested_target, GError **error);
/* Refuses a pending call: the caller gets CLOSE with `why`. */
void qm_run_call_refuse(struct qmgrd *d, const char *caller, guint32 id,
			const char *why);
/* Answers a pending call from qmgrd itself (admin.* calls): `output` is
 * the service's stdout, `status` its exit status. */
void qm_run_call_answer(struct qmgrd *d, const char *caller, guint32 id,
			GBytes *output, int status);

/* The most calls one qube may have open at once (made or served). */
void qm_run_set_limit(unsigned max_streams);

/* Stream messages from an admin client (stream != 0); false when the
 * client broke the protocol (the caller drops it). */
bool qm_run_from_client(struct qmgrd *d, struct qm_peer *peer,
			const struct qm_wire_msg *msg, GError **error);
/* The client went away: its commands are closed. */
void qm_run_client_gone(struct qmgrd *d, struct qm_peer *peer);

/* Stream messages from a qube's agent — its commands and services, and
 * the calls it makes (CALL, handed to rpc.c); false on a violation. */
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
/* rpc.c: decides a call a qube made; answers with qm_run_call_*. */
void qm_rpc_call(struct qmgrd *d, const char *caller, guint32 id,
		 const char *target, const char *service);
