/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The streams of one guest channel (protocol version 2): each EXEC from
 * qmgrd starts a command (proc.h) whose stdio travels as DATA/EOF, under
 * per-(stream, fd) flow control, until EXIT; CLOSE abandons it.  The
 * host's messages are checked against the stream's state; a violation is
 * reported to the caller, which drops the channel.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

#include "conn.h"
#include "wire.h"

struct agent_exec;

/* Streams on `conn`, which must outlive the result; services are looked
 * up in `service_dirs` (service.h; NULL: the default). */
struct agent_exec *agent_exec_create(struct qm_conn *conn,
				     const char *service_dirs);
/* Kills the commands still running (their process groups) and ends the
 * calls in progress (their done callbacks say the channel was lost). */
void agent_exec_destroy(struct agent_exec *ex);

/* How a call ended: the service's exit status (0..255), or -1 and why
 * (qmgrd refused or closed it, or the channel was lost). */
typedef void (*agent_call_done_fn)(int status, const char *why, void *data);
/* qmgrd allowed the call and joined it to the service. */
typedef void (*agent_call_accepted_fn)(void *data);

/*
 * Calls SERVICE[+ARG] in `target` (protocol version 3): what the call's
 * caller writes to the pipe `request_fd` goes to the service's stdin, the
 * service's stdout is written to the pipe `reply_fd`.  Takes both fds.
 * `accepted` (may be NULL) is called when qmgrd has joined the call to the
 * service, `done` once at the end; both from the main loop, never from
 * here.  Returns the
 * stream id, or 0 with *error when the call cannot be made.
 */
uint32_t agent_exec_call(struct agent_exec *ex, const char *target,
			 const char *service, int request_fd, int reply_fd,
			 agent_call_accepted_fn accepted,
			 agent_call_done_fn done, void *data, GError **error);
/* The caller is gone: the call is closed and `done` not called. */
void agent_exec_call_cancel(struct agent_exec *ex, uint32_t id);

/* Whether a message type belongs to streams (EXEC ... CLOSE, CALL,
 * SERVICE). */
bool agent_exec_carries(enum qm_msg_type type);

/* Handles a stream message from the host; false (and why) if it breaks
 * the protocol: the caller must then drop the channel. */
bool agent_exec_handle(struct agent_exec *ex, const struct qm_wire_msg *msg,
		       GError **error);
