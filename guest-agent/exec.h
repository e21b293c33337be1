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

/* Streams on `conn`, which must outlive the result. */
struct agent_exec *agent_exec_create(struct qm_conn *conn);
/* Kills the commands still running (their process groups). */
void agent_exec_destroy(struct agent_exec *ex);

/* Whether a message type belongs to streams (EXEC ... CLOSE). */
bool agent_exec_carries(enum qm_msg_type type);

/* Handles a stream message from the host; false (and why) if it breaks
 * the protocol: the caller must then drop the channel. */
bool agent_exec_handle(struct agent_exec *ex, const struct qm_wire_msg *msg,
		       GError **error);
