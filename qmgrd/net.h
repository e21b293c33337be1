/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qmgrd's side of the qubes' network (docs/network.md): checks
 * before a networked qube starts, the host settings once its tap exists,
 * the list of qubes with a tap, and the one hook the nftables ruleset is
 * rebuilt from.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

#include "daemon.h"
#include "net-addr.h"

/*
 * Something the ruleset depends on may have changed: a qube was created,
 * removed, started or stopped (every state change), a property or tag of
 * one changed, or addresses were given out.  Called on the main loop,
 * after the inventory was saved; possibly several times in a row for one
 * user action, so an implementation should coalesce (an idle source).
 */
void qm_net_changed(struct qmgrd *d);

/* At a clean exit: removes qmgrd's nftables table unless networked qubes
 * still run (they keep their rules until qmgrd is back). */
void qm_net_finish(struct qmgrd *d);

/* The interfaces the host's IPv4 default routes leave by (what sys-net
 * stands for unless `qmgrd --uplink` says), NULL-terminated. */
char **qm_net_default_uplinks(void);
/* The IPv4 nameservers of `resolv_conf` that qubes can be forwarded to
 * (not the host's own 127/8), in order. */
GArray *qm_net_default_dns(const char *resolv_conf);

/* The qubes that have a tap device now (every state but Halted and
 * Crashed, Transient included: libvirt makes the tap before the guest
 * runs) and a network: a GArray of struct qm_vm_net, inventory order. */
GArray *qm_net_running(struct qmgrd *d);

/* Before `vm` starts: refuses a netvm that is a qube (not routed yet),
 * and gives it an address if it has a netvm but none yet (saving the
 * inventory).  False with a sentence for the user. */
bool qm_net_prepare_start(struct qmgrd *d, struct qm_vm *vm, GError **error);

/* `vm`'s domain runs (or was adopted): its tap exists.  Puts the
 * gateway on it with the qube's address as peer (net-link.c), turns IPv4
 * forwarding on (once, logged) and IPv6 off on the tap. */
void qm_net_vm_started(struct qmgrd *d, struct qm_vm *vm);
