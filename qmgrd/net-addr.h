/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Addresses and devices of networked qubes (docs/network.md):
 * the range qmgrd hands addresses out of (`qmgrd --ip-range`), the gateway
 * every qube's tap carries on the host side, each qube's IPv4 address (the
 * stored, read-only property `ip`), its MAC and its tap device's name.
 *
 * A qube is networked when its effective `netvm` is not empty: `sys-net`
 * (built in: the host's uplink) or, later, a qube with provides_network.
 * Each networked qube has an address of its own, unique in the inventory,
 * routed point to point: no two qubes share an L2 segment.
 *
 * Addresses in a guint32 are in host byte order.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

struct qm_inventory;
struct qm_vm;

#define QM_IP_RANGE_DEFAULT "10.137.0.0/16"
#define QM_IP_RANGE_PREFIX_MIN 16   /* the tap name holds 16 address bits */
#define QM_IP_RANGE_PREFIX_MAX 28   /* at least 13 qubes */
/* What guests use as their resolver; qmgrd's ruleset forwards it to the
 * host's (as Qubes' 10.139.1.1). */
#define QM_NET_DNS "10.139.1.1"
/* The built-in netvm: the host's uplink, always there.  Not a qube (the
 * name is reserved). */
#define QM_NETVM_UPLINK "sys-net"
#define QM_TAP_NAME_SIZE 16         /* IFNAMSIZ */
#define QM_IPV4_STR_SIZE 16
#define QM_MAC_STR_SIZE 18

struct qm_ip_range {
	guint32 net;        /* the network address */
	unsigned prefix;    /* QM_IP_RANGE_PREFIX_MIN..MAX */
};

/* "A.B.C.D/N", N in 16..28, no host bits set.  On failure *why says what
 * is wrong. */
bool qm_ip_range_parse(const char *text, struct qm_ip_range *out,
		       const char **why);
/* The host side of every qube's tap: the first host address. */
guint32 qm_ip_range_gateway(const struct qm_ip_range *r);
/* Whether `addr` may be a qube's: in the range, and not the network,
 * gateway or broadcast address. */
bool qm_ip_range_is_vm_addr(const struct qm_ip_range *r, guint32 addr);

/* Dotted quad, strictly (inet_pton). */
bool qm_ipv4_parse(const char *text, guint32 *out);
void qm_ipv4_format(guint32 addr, char out[QM_IPV4_STR_SIZE]);
/* 00:16:3e (Xen's OUI, as Qubes) and the address's low three bytes. */
void qm_vm_mac(guint32 addr, char out[QM_MAC_STR_SIZE]);
/* "qm" + the first 6 characters of the instance id + "v" + the decimal of
 * the address's low 16 bits: at most 14 characters, unique per instance
 * (the range is at least a /16) and recognisable as qmgr's in `ip link`.
 * False if the instance id is not at least 6 characters. */
bool qm_vm_tap_name(const char *instance, guint32 addr,
		    char out[QM_TAP_NAME_SIZE]);
/* What every tap name of the instance starts with: "qm" + the first 6
 * characters of the instance id + "v" (the ruleset drops any interface
 * with it until it names the tap).  Same condition as above. */
bool qm_vm_tap_prefix(const char *instance, char out[QM_TAP_NAME_SIZE]);

/* Everything about one networked qube's plumbing. */
struct qm_vm_net {
	char name[32];
	char netvm[32];                 /* effective netvm: "sys-net", or a
					   qube (not routed yet) */
	guint32 addr;
	char ip[QM_IPV4_STR_SIZE];
	char gateway[QM_IPV4_STR_SIZE];
	char dns[QM_IPV4_STR_SIZE];
	char mac[QM_MAC_STR_SIZE];
	char tap[QM_TAP_NAME_SIZE];
};

/* Fills *out for a qube that has a netvm and an address; false for one
 * that has no network. */
bool qm_net_vm_info(const struct qm_inventory *inv, const char *instance,
		    const struct qm_vm *vm, struct qm_vm_net *out);

/* ---- giving out addresses ---- */

/* Makes `vm`'s address agree with its netvm: one with a netvm keeps its
 * address if that is in the range and nobody else's, else gets the lowest
 * free one; one without a netvm loses its address.  `vm` need not be in
 * the inventory yet (a qube being created): its new address is then
 * reserved until it joins (qm_inventory_add) or qm_net_ip_unreserve().
 * False with an error when the range has no free address; *changed (may
 * be NULL) tells whether `ip` changed. */
bool qm_net_ip_assign(struct qm_inventory *inv, struct qm_vm *vm,
		      bool *changed, GError **error);
/* The same for every halted qube of the inventory (a running qube keeps
 * the address its tap has), after loading it or after a change that other
 * qubes' defaults follow (a disposable template's netvm).  Logs each
 * change; returns false when some qube could get no address. */
bool qm_net_ip_assign_all(struct qm_inventory *inv, unsigned *changed,
			  GError **error);
/* Gives back the address reserved for a qube that will not join. */
void qm_net_ip_unreserve(struct qm_inventory *inv, const struct qm_vm *vm);
/* Every qube's `ip` (name -> value), to undo assignments with
 * qm_net_ip_restore when saving fails. */
GHashTable *qm_net_ip_snapshot(const struct qm_inventory *inv);
void qm_net_ip_restore(struct qm_inventory *inv, GHashTable *snapshot);
