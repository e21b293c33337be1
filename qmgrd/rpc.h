/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Calls between qubes, decided by the RPC policy (rpc.c), and the admin.*
 * calls qubes may make to dom0 where the policy allows (rpc-admin.c).
 * run.c hands each CALL to qm_rpc_call() (declared in run.h).
 */
#pragma once

#include <glib.h>

#include "audit.h"
#include "daemon.h"

/*
 * Runs an admin.* call that the policy allowed `caller` to make: `service`
 * ("admin.vm.List", ...) with `argument` ("" for none) on the qube
 * `requested` (or on dom0/@adminvm: the whole system).  Answers the call
 * with Qubes' Admin API framing on its stdout: "0\0" and the payload, or
 * "2\0" EXCEPTION "\0\0" MESSAGE "\0".
 */
void qm_rpc_admin_call(struct qmgrd *d, const char *caller, guint32 id,
		       const char *service, const char *argument,
		       const char *requested);

/* The policy as it is now (reloaded if a file changed; an invalid one
 * denies everything), and what it knows of the qubes (from the
 * inventory; NULL with an error when that is inconsistent).  The policy
 * belongs to rpc.c and stays valid until the next call of either. */
struct pol_policy;
struct pol_system;
const struct pol_policy *qm_rpc_policy(struct qmgrd *d);
struct pol_system *qm_rpc_system(struct qmgrd *d, GError **error);

/* Appends a decision to the audit log (ROOT/var/log/qmgr/audit.log,
 * common/audit.h), opened on first use; false (logged) when it cannot be
 * written: the caller then refuses what was decided. */
bool qm_rpc_audit(struct qmgrd *d, const char *call, const char *source,
		  const char *requested, const char *resolved,
		  enum qm_audit_action action, const char *where);
/* The rule as FILE:LINE for the audit log, or NULL. */
struct pol_rule;
char *qm_rpc_rule_where(const struct pol_rule *rule);

/* At exit: drops the policy, its monitors and the audit log. */
void qm_rpc_shutdown(void);
