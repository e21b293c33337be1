/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Inside the admin client: the connection's state, shared by client.c
 * (connection, calls, events, filing of incoming messages) and
 * client-stream.c (relaying a command's stdio).  Not for the tools.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "client.h"

/* A stream qmgrd opened on this connection (vm.Run with pass_io). */
struct qm_client_stream {
	uint32_t id;
	GQueue pending;         /* struct qm_wire_msg *, not yet relayed */
	uint64_t may[3];        /* output qmgrd may still send on fds 1, 2 */
	uint64_t stdin_credit;  /* what this side may still send on fd 0 */
};

struct qm_client {
	int fd;
	char *path;
	GByteArray *in;
	uint32_t version;          /* negotiated: the lower of both HELLOs */
	uint32_t next_id;
	GHashTable *outstanding;   /* ids sent and not yet answered */
	GHashTable *replies;       /* id -> REPLY payload that arrived early */
	GQueue events;             /* EVENT payloads not yet delivered */
	GHashTable *streams;       /* id -> struct qm_client_stream */
	GHashTable *ended;         /* ids of streams that are over */
	bool subscribed;           /* events.Subscribe sent */
	bool closed;               /* qmgrd hung up */
	qm_client_event_fn event_fn;
	void *event_data;
	GDestroyNotify event_destroy;
};

/* Sets a QM_CLIENT_ERROR_PROTOCOL "qmgrd at PATH broke the protocol: ..."
 * and returns false. */
bool qm_client_protocol_error(struct qm_client *c, GError **error,
			      const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* The stream's state, created on first use; NULL with *error when qmgrd
 * opened too many. */
struct qm_client_stream *qm_client_stream_get(struct qm_client *c,
					      uint32_t id, GError **error);
/* Frees the stream; messages that still come for it are dropped. */
void qm_client_stream_end(struct qm_client *c, struct qm_client_stream *s);

/*
 * Files every whole message already received, then, when `do_read`, reads
 * what the socket has (without blocking) and files that too.  False with
 * *error when qmgrd broke the protocol or hung up.
 */
bool qm_client_receive(struct qm_client *c, bool do_read, GError **error);
