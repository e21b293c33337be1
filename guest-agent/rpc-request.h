/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The local RPC socket's messages (guest processes <-> qmgr-agent), on a
 * SOCK_SEQPACKET unix socket, one message a packet:
 *
 *   request  (client -> agent): "QMRPC1" NUL TARGET NUL SERVICE[+ARG] NUL,
 *            with exactly two file descriptors (SCM_RIGHTS): the read end
 *            of a pipe carrying the call's input, the write end of a pipe
 *            for its output.
 *   accepted (agent -> client): "ACCEPTED" — qmgrd allowed the call.
 *   result   (agent -> client): "EXIT N" (the service's status, 0..255) or
 *            "REFUSED TEXT" (qmgrd refused the call, or it was closed) or
 *            "ERROR TEXT" (it could not be made); then the agent closes.
 *
 * Any process of the guest may connect, so the agent decodes requests as
 * untrusted (rpc-request.c; fuzz target tests/fuzz/fuzz-rpc-request.c).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#define AGENT_RPC_SOCKET_DEFAULT "/run/qmgr/rpc.sock"
#define AGENT_RPC_MAGIC "QMRPC1"
/* Longest request packet (magic, target, service, NULs). */
#define AGENT_RPC_REQUEST_MAX 512
/* Longest result packet. */
#define AGENT_RPC_RESULT_MAX 1200

struct agent_rpc_request {
	char *target;    /* as the caller wrote it: a name or @keyword */
	char *service;   /* SERVICE or SERVICE+ARG */
};

/* Whether every byte of `s` is an ASCII letter, a digit or one of `extra`
 * (the character sets of names in calls; service.c uses it too). */
bool agent_chars_ok(const char *s, const char *extra);

/* Decodes a request packet; false (and why, naming the field) when it is
 * malformed. */
bool agent_rpc_request_parse(const uint8_t *untrusted_buf, size_t len,
			     struct agent_rpc_request *out, GError **error);
void agent_rpc_request_clear(struct agent_rpc_request *req);

/* Encodes a request (for qmgr-rpc-client); NULL when a field is too long. */
GBytes *agent_rpc_request_encode(const char *target, const char *service);
