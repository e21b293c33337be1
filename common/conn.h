/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A message connection over a file descriptor (unix socket, virtio-serial
 * port), driven by the GLib main loop: reassembles incoming wire messages,
 * queues outgoing ones, and reports protocol violations by closing.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

#include "wire.h"

struct qm_conn;

/* A decoded message; the callee may take msg->payload (steal it). */
typedef void (*qm_conn_message_fn)(struct qm_conn *conn,
				   struct qm_wire_msg *msg, void *user_data);
/* The peer went away or broke the protocol (why says which).  The
 * connection is already closed; the callee usually destroys it. */
typedef void (*qm_conn_closed_fn)(struct qm_conn *conn, const GError *why,
				  void *user_data);

/* Takes ownership of fd (made non-blocking and close-on-exec). */
struct qm_conn *qm_conn_create(int fd, const char *peer,
			       qm_conn_message_fn on_message,
			       qm_conn_closed_fn on_closed, void *user_data,
			       GDestroyNotify destroy);
void qm_conn_destroy(struct qm_conn *conn);

/* Queues a message; takes one reference to payload (may be floating).
 * False when closed. */
bool qm_conn_send(struct qm_conn *conn, enum qm_msg_type type,
		  uint32_t stream, GVariant *payload);
/* Writes what is queued, blocking up to timeout_ms (for last words). */
bool qm_conn_flush(struct qm_conn *conn, int timeout_ms);

/* Closes without calling on_closed. */
void qm_conn_close(struct qm_conn *conn);
bool qm_conn_is_open(const struct qm_conn *conn);
const char *qm_conn_peer(const struct qm_conn *conn);
int qm_conn_fd(const struct qm_conn *conn);
