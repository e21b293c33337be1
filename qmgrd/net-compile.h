/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The qmgr.Network policy compiled into one nftables table
 * (docs/network.md): a pure function from the policy, the qubes it is
 * decided against and the networked qubes that run now, to an in-memory
 * ruleset; and a renderer of that ruleset as `nft -f` text, which the unit
 * tests compare with readable expected rulesets.  net-nft.c loads the same
 * ruleset into the kernel through libnftnl.
 *
 * Addresses are IPv4 in host byte order.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "policy.h"

#define QM_NET_IFNAME_SIZE 16     /* IFNAMSIZ, with the NUL */
#define QM_NET_TABLE_MAX 64

/* One networked qube whose tap exists (running, or starting). */
struct qm_net_vm {
	const char *name;     /* as in the pol_system */
	const char *tap;      /* host side of its interface */
	uint32_t ip4;         /* the only source address it may use */
	uint8_t mac[6];       /* the only source MAC it may use */
	/* POL_NET_UPLINK (or NULL, the same): its traffic to sys-net leaves
	 * by the uplinks.  A qube name: routing through a qube is not done
	 * yet, so this qube gets nothing towards sys-net (fail closed) but
	 * is still judged for traffic to other qubes. */
	const char *netvm;
};

struct qm_net_config {
	const char *table;              /* ours alone: "qmgr_8561df88" */
	/* The interfaces sys-net stands for (where the default routes
	 * leave), NULL-terminated; may be NULL or empty. */
	const char *const *uplinks;
	/* Any interface whose name starts with this is taken as one of our
	 * taps even before it is listed (NULL: none), so that a tap created
	 * before the ruleset names it is dropped, not forwarded. */
	const char *tap_prefix;
	/* The address guests use as their resolver (10.139.1.1), and the
	 * host's resolvers it is forwarded to (DNAT).  Only the first
	 * upstream is used: a DNAT rule picks one address.  No forwarding
	 * when dns_addr is 0 or there is no upstream; an upstream must not
	 * be a local address of the host (guests do not reach the host). */
	uint32_t dns_addr;
	const uint32_t *dns_upstream;
	size_t n_dns_upstream;
	/* Non-zero: the conntrack mark of the connections judged under
	 * this table (a generation, different for every table loaded).  A
	 * packet of a connection with this mark is accepted without a
	 * lookup; any other is looked up and, when allowed, marked.  A new
	 * table has a new mark, so every connection is judged again at its
	 * next packet (a removed allow still cuts it).  Zero: every packet
	 * is looked up. */
	uint32_t ct_mark;
};

/* A qube's allowed source addresses (antispoofing). */
struct qm_net_addr {
	char tap[QM_NET_IFNAME_SIZE];
	uint8_t mac[6];
	uint32_t ip4;
};

/* Traffic allowed in its original direction from `iif` to `oif`: layer 4
 * protocols proto_lo..proto_hi with destination ports port_lo..port_hi
 * (for protocols without ports, 0-65535: any).  Replies are allowed while
 * the original direction is. */
struct qm_net_flow {
	char iif[QM_NET_IFNAME_SIZE];
	char oif[QM_NET_IFNAME_SIZE];
	uint8_t proto_lo, proto_hi;
	uint16_t port_lo, port_hi;
};

/*
 * The set a flow is looked up in.  The kernel loads elements of a plain
 * (hash) set cheaply, while every element of an interval set (pipapo)
 * costs time that grows with the set; so only boxes that really are
 * ranges go to the interval set, and the exact ones to three hash sets
 * keyed as narrowly as they need (bench/README.md, bench-net).
 */
enum qm_net_fwd_set {
	QM_NET_FWD_ANY,         /* every protocol, every port: iif . oif */
	QM_NET_FWD_PROTO,       /* one protocol, every port: . l4proto */
	QM_NET_FWD_PORT,        /* one protocol, one port: . l4proto . port */
	QM_NET_FWD_RANGE,       /* anything else (interval set) */
	QM_NET_FWD_N,
};
enum qm_net_fwd_set qm_net_flow_set(const struct qm_net_flow *f);
extern const char *const qm_net_fwd_set_names[QM_NET_FWD_N];

/* A pair of interfaces with some flow allowed (related ICMP errors). */
struct qm_net_pair {
	char iif[QM_NET_IFNAME_SIZE];
	char oif[QM_NET_IFNAME_SIZE];
};

/* The model of the table: what net-nft.c loads and the renderer prints. */
struct qm_net_ruleset {
	char *table;
	/* The policy was invalid (or absent): every packet from or to our
	 * taps is dropped; only `taps` below is filled. */
	bool fail_closed;
	char *tap_prefix;       /* NULL: none */
	/* char *, the elements of the taps set in key order: each tap not
	 * under tap_prefix, and the prefix itself as "PREFIX*" (nft's
	 * wildcard: every name starting with it). */
	GPtrArray *taps;
	GPtrArray *uplinks;     /* char *, sorted */
	GArray *addrs;          /* struct qm_net_addr, sorted by tap */
	GArray *flows;          /* struct qm_net_flow, sorted, disjoint */
	GArray *pairs;          /* struct qm_net_pair, sorted */
	uint32_t dns_addr;      /* 0: no DNS forwarding */
	uint32_t dns_upstream;
	uint32_t ct_mark;       /* see qm_net_config; 0: none */
};

/*
 * Compiles the qmgr.Network rules of `policy`, decided against `sys`, for
 * the networked qubes `vms` (each a source; sys-net and every other of
 * them a target).  For each source and target the rules whose source and
 * target match are walked in order and flattened, first match winning,
 * into disjoint (protocol, port range) boxes; what no allow rule reaches
 * is dropped, and an `ask` rule (only a '*' service rule can be one here)
 * drops.  A NULL or invalid policy compiles to the fail-closed ruleset.
 * Returns NULL with an error only when the inputs themselves are wrong (a
 * bad or duplicated interface or table name, a duplicated qube or
 * address); qmgrd should then apply qm_net_ruleset_compile() with a NULL
 * policy for the taps it trusts.
 */
struct qm_net_ruleset *qm_net_ruleset_compile(const struct pol_policy *policy,
					      const struct pol_system *sys,
					      const struct qm_net_vm *vms,
					      size_t n_vms,
					      const struct qm_net_config *config,
					      GError **error);
void qm_net_ruleset_destroy(struct qm_net_ruleset *rs);
typedef struct qm_net_ruleset qm_net_ruleset;   /* for g_autoptr only */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(qm_net_ruleset, qm_net_ruleset_destroy)

/* The ruleset as `nft -f` input, laid out as `nft list table` prints it
 * (set elements in the model's order). */
char *qm_net_ruleset_render(const struct qm_net_ruleset *rs);

/* Interface and table name checks used by the compiler. */
bool qm_net_ifname_is_valid(const char *name);
bool qm_net_table_name_is_valid(const char *name);
