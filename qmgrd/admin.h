/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The admin API server: a Unix socket for the qvm-* tools (and later the
 * tray), one qm_conn per client, requests dispatched to admin-methods.c and
 * answered asynchronously, and the event stream.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

#include "daemon.h"

/* Error codes carried in a failed REPLY's result as "code". */
#define QM_ERR_NOT_FOUND "NotFound"
#define QM_ERR_EXISTS "Exists"
#define QM_ERR_INVALID "Invalid"
#define QM_ERR_STATE "State"
#define QM_ERR_IN_USE "InUse"
#define QM_ERR_LIBVIRT "Libvirt"
#define QM_ERR_TIMEOUT "Timeout"
#define QM_ERR_DENIED "Denied"
#define QM_ERR_INTERNAL "Internal"

struct qm_admin;
struct qm_call;

struct qm_admin *qm_admin_create(struct qmgrd *d, GError **error);
void qm_admin_destroy(struct qm_admin *admin);

/* One request being served; answered exactly once by one of these, which
 * free it.  If the client went away the answer is dropped. */
const char *qm_call_method(const struct qm_call *call);
const char *qm_call_vm(const struct qm_call *call);
GVariant *qm_call_args(const struct qm_call *call);   /* a{sv} */
void qm_call_reply(struct qm_call *call, GVariant *result);  /* a{sv}/NULL */
void qm_call_fail(struct qm_call *call, const char *code, const char *fmt,
		  ...) G_GNUC_PRINTF(3, 4);
void qm_call_subscribe(struct qm_call *call);

/* The answer to an internal call: the REPLY's fields (result a{sv}). */
typedef void (*qm_call_done_fn)(bool ok, const char *error, GVariant *result,
				void *data);
/* A call qmgrd makes itself (a qube's admin.* call, allowed by the
 * policy), dispatched like a client's with qm_admin_dispatch: it has no
 * client (qm_call_peer is NULL, so no streams or subscriptions); `who`
 * names it in the log.  Takes `args` (a{sv}, may be floating). */
struct qm_call *qm_call_new_internal(const char *method, const char *vm,
				     GVariant *args, const char *who,
				     qm_call_done_fn done, void *data);
/* The client of a call (valid while the call is). */
struct qm_peer *qm_call_peer(const struct qm_call *call);

/* Sends an EVENT to this one client, whether or not it subscribed (the
 * prompt's questions go only to the prompt agent).  Takes `properties`
 * (a{sv}, may be floating; NULL: none).  False when the client is gone. */
bool qm_peer_emit(struct qm_peer *peer, const char *event, const char *vm,
		  GVariant *properties);
/* "client pid N uid N", for the log. */
const char *qm_peer_name(const struct qm_peer *peer);

/* admin-methods.c */
void qm_admin_dispatch(struct qmgrd *d, struct qm_call *call);
