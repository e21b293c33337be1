/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The network ruleset (net-compile.h) as the nf_tables messages of its
 * chains, sets, set elements and rules, added to net-nft.c's batch.
 *
 * The rules are the bytecode nft(8) generates for the text that
 * qm_net_ruleset_render() prints (checked by tests/net/test-net-nft.c,
 * which lists both with nft and compares), so `nft list table` shows them
 * as that text.  Register numbers: NFT_REG_1..4 are 16 bytes each and
 * NFT_REG32_nn name their 4-byte parts; a concatenation is laid out from
 * NFT_REG_1 on, each field padded to 4 bytes, as the set key is.
 */
#include <arpa/inet.h>
#include <net/if_arp.h>
#include <string.h>

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>

#include "net-nft-private.h"

/* nft's datatype numbers (src/datatype.h), so that `nft list` prints the
 * sets' keys as their types; a concatenation's type is the field types
 * shifted in 6 bits at a time. */
enum {
	TYPE_IPADDR = 7,
	TYPE_ETHERADDR = 9,
	TYPE_INET_PROTOCOL = 12,
	TYPE_INET_SERVICE = 13,
	TYPE_IFNAME = 41,
};
#define CONCAT2(a, b) (((a) << 6) | (b))
#define CONCAT3(a, b, c) ((CONCAT2(a, b) << 6) | (c))
#define CONCAT4(a, b, c, d) ((CONCAT3(a, b, c) << 6) | (d))

enum set_id {
	SET_TAPS = 1,
	SET_UPLINKS,
	SET_VM_ADDRS,
	SET_FWD_ANY,
	SET_FWD_PROTO,
	SET_FWD_PORT,
	SET_FWD_RANGE,
	SET_FWD_PAIRS,
};

/* ---- chains ---- */

static void put_chain(struct batch *b, const char *name, const char *type,
		      uint32_t hook, int32_t prio)
{
	struct nftnl_chain *c = nftnl_chain_alloc();

	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, b->table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	struct nlmsghdr *nlh = qm_net_nft_msg_start(b, NFT_MSG_NEWCHAIN,
						    NLM_F_CREATE | NLM_F_EXCL);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	qm_net_nft_batch_put(b, nlh, g_strdup_printf("create chain %s", name));
}

/* ---- sets ---- */

struct set_desc {
	const char *name;
	uint32_t id;
	uint32_t flags;
	uint32_t key_type;
	uint32_t key_len;
	/* Field lengths of a concatenated interval set, 0-terminated. */
	uint8_t fields[NFT_REG32_COUNT];
};

static struct nftnl_set *set_new(struct batch *b, const struct set_desc *d)
{
	struct nftnl_set *s = nftnl_set_alloc();

	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, b->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, d->name);
	nftnl_set_set_u32(s, NFTNL_SET_ID, d->id);
	return s;
}

static void put_set(struct batch *b, const struct set_desc *d)
{
	struct nftnl_set *s = set_new(b, d);

	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, d->flags);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, d->key_type);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, d->key_len);
	if (d->fields[0] != 0)
		nftnl_set_set_data(s, NFTNL_SET_DESC_CONCAT, d->fields,
				   sizeof(d->fields));
	if (d->key_type == TYPE_IFNAME) {
		/* nft lists a lone string key as empty unless told it is in
		 * host byte order (nft's BYTEORDER_HOST_ENDIAN, 1), as nft
		 * records in the set's user data. */
		struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(64);
		nftnl_udata_put_u32(u, NFTNL_UDATA_SET_KEYBYTEORDER, 1);
		nftnl_set_set_data(s, NFTNL_SET_USERDATA,
				   nftnl_udata_buf_data(u),
				   nftnl_udata_buf_len(u));
		nftnl_udata_buf_free(u);
	}
	struct nlmsghdr *nlh = qm_net_nft_msg_start(b, NFT_MSG_NEWSET,
						    NLM_F_CREATE | NLM_F_EXCL);
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	qm_net_nft_batch_put(b, nlh, g_strdup_printf("create set %s",
						     d->name));
}

/* Elements are collected into a set object and sent in messages of at
 * most ELEMS_PER_MSG. */
struct elems {
	struct batch *b;
	const struct set_desc *d;
	struct nftnl_set *s;
	unsigned n;
};

static void elems_flush(struct elems *e)
{
	if (e->s == NULL)
		return;
	if (e->n > 0) {
		struct nlmsghdr *nlh = qm_net_nft_msg_start(
			e->b, NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL);
		nftnl_set_elems_nlmsg_build_payload(nlh, e->s);
		qm_net_nft_batch_put(e->b, nlh, g_strdup_printf(
			"add %u elements to set %s", e->n, e->d->name));
	}
	nftnl_set_free(e->s);
	e->s = NULL;
	e->n = 0;
}

/* Adds one element: key, optionally key_end (concatenated intervals) and
 * flags (NFT_SET_ELEM_INTERVAL_END in plain interval sets). */
static void elem_add(struct elems *e, const void *key, const void *key_end,
		     uint32_t flags)
{
	if (e->s == NULL)
		e->s = set_new(e->b, e->d);
	struct nftnl_set_elem *el = nftnl_set_elem_alloc();
	nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, key, e->d->key_len);
	if (key_end != NULL)
		nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY_END, key_end,
				   e->d->key_len);
	if (flags != 0)
		nftnl_set_elem_set_u32(el, NFTNL_SET_ELEM_FLAGS, flags);
	nftnl_set_elem_add(e->s, el);
	if (++e->n == ELEMS_PER_MSG)
		elems_flush(e);
}

static const struct set_desc set_taps = {
	"taps", SET_TAPS, NFT_SET_INTERVAL, TYPE_IFNAME, 16, { 0 },
};
static const struct set_desc set_uplinks = {
	"uplinks", SET_UPLINKS, 0, TYPE_IFNAME, 16, { 0 },
};
static const struct set_desc set_vm_addrs = {
	"vm_addrs", SET_VM_ADDRS, 0,
	CONCAT3(TYPE_IFNAME, TYPE_ETHERADDR, TYPE_IPADDR), 16 + 8 + 4, { 0 },
};
/* Indexed by enum qm_net_fwd_set; names as qm_net_fwd_set_names. */
static const struct set_desc set_fwd[QM_NET_FWD_N] = {
	[QM_NET_FWD_ANY] = {
		"fwd_any", SET_FWD_ANY, 0, CONCAT2(TYPE_IFNAME, TYPE_IFNAME),
		16 + 16, { 0 },
	},
	[QM_NET_FWD_PROTO] = {
		"fwd_proto", SET_FWD_PROTO, 0,
		CONCAT3(TYPE_IFNAME, TYPE_IFNAME, TYPE_INET_PROTOCOL),
		16 + 16 + 4, { 0 },
	},
	[QM_NET_FWD_PORT] = {
		"fwd_port", SET_FWD_PORT, 0,
		CONCAT4(TYPE_IFNAME, TYPE_IFNAME, TYPE_INET_PROTOCOL,
			TYPE_INET_SERVICE),
		16 + 16 + 4 + 4, { 0 },
	},
	[QM_NET_FWD_RANGE] = {
		"fwd_range", SET_FWD_RANGE, NFT_SET_INTERVAL | NFT_SET_CONCAT,
		CONCAT4(TYPE_IFNAME, TYPE_IFNAME, TYPE_INET_PROTOCOL,
			TYPE_INET_SERVICE),
		16 + 16 + 4 + 4, { 16, 16, 1, 2 },
	},
};
static const struct set_desc set_fwd_pairs = {
	"fwd_pairs", SET_FWD_PAIRS, 0, CONCAT2(TYPE_IFNAME, TYPE_IFNAME),
	16 + 16, { 0 },
};

/* An interface name as a key: NUL-padded to 16 bytes. */
static void ifname_key(uint8_t *out, const char *name)
{
	memset(out, 0, QM_NET_IFNAME_SIZE);
	memcpy(out, name, MIN(strlen(name), (size_t)QM_NET_IFNAME_SIZE - 1));
}

/* The 16-byte big-endian successor of `key` (the exclusive end of an
 * interval that ends at `key`). */
static void key_next(uint8_t *key)
{
	for (int i = QM_NET_IFNAME_SIZE - 1; i >= 0; i--)
		if (++key[i] != 0)
			return;
}

/*
 * The taps set is a plain interval set (the kernel's rbtree): each
 * interval [lo, hi] is a start element lo and an end element hi + 1 with
 * NFT_SET_ELEM_INTERVAL_END, after an end element at 0, as nft sends it.
 * The tap prefix is the interval from "prefix\0..." to "prefix\xff...".
 */
static void put_taps(struct batch *b, const struct qm_net_ruleset *rs)
{
	struct elems e = { b, &set_taps, NULL, 0 };
	GArray *starts = g_array_new(FALSE, TRUE, QM_NET_IFNAME_SIZE);
	uint8_t key[QM_NET_IFNAME_SIZE], end[QM_NET_IFNAME_SIZE];
	/* Interval starts in key order, each followed by its end. */
	for (guint i = 0; i < rs->taps->len; i++) {
		const char *tap = g_ptr_array_index(rs->taps, i);
		size_t len = strlen(tap);
		ifname_key(key, tap);
		memcpy(end, key, sizeof(end));
		if (len >= 2 && tap[len - 1] == '*') {
			/* "PREFIX*": from "PREFIX\0..." to the next prefix */
			key[len - 1] = end[len - 1] = 0;
			end[len - 2]++;
		} else {
			key_next(end);
		}
		g_array_append_vals(starts, key, 1);
		g_array_append_vals(starts, end, 1);
	}
	if (starts->len > 0) {
		memset(key, 0, sizeof(key));
		elem_add(&e, key, NULL, NFT_SET_ELEM_INTERVAL_END);
	}
	for (guint i = 0; i < starts->len; i += 2) {
		const uint8_t *lo = (const uint8_t *)starts->data +
				    i * QM_NET_IFNAME_SIZE;
		const uint8_t *hi = lo + QM_NET_IFNAME_SIZE;
		elem_add(&e, lo, NULL, 0);
		/* An end where the next interval starts is left out: the
		 * intervals join. */
		if (i + 2 < starts->len &&
		    memcmp(hi, hi + QM_NET_IFNAME_SIZE,
			   QM_NET_IFNAME_SIZE) == 0)
			continue;
		elem_add(&e, hi, NULL, NFT_SET_ELEM_INTERVAL_END);
	}
	elems_flush(&e);
	g_array_unref(starts);
}

static void put_elements(struct batch *b, const struct qm_net_ruleset *rs)
{
	struct elems e = { b, &set_uplinks, NULL, 0 };
	uint8_t key[64], end[64];

	for (guint i = 0; i < rs->uplinks->len; i++) {
		ifname_key(key, g_ptr_array_index(rs->uplinks, i));
		elem_add(&e, key, NULL, 0);
	}
	elems_flush(&e);

	e.d = &set_vm_addrs;
	for (guint i = 0; i < rs->addrs->len; i++) {
		const struct qm_net_addr *a =
			&g_array_index(rs->addrs, struct qm_net_addr, i);
		uint32_t ip = htonl(a->ip4);
		memset(key, 0, sizeof(key));
		ifname_key(key, a->tap);
		memcpy(key + 16, a->mac, 6);
		memcpy(key + 24, &ip, 4);
		elem_add(&e, key, NULL, 0);
	}
	elems_flush(&e);

	/* One pass per set: a message holds elements of one set. */
	for (int k = 0; k < QM_NET_FWD_N; k++) {
		e.d = &set_fwd[k];
		for (guint i = 0; i < rs->flows->len; i++) {
			const struct qm_net_flow *f = &g_array_index(
				rs->flows, struct qm_net_flow, i);
			if (qm_net_flow_set(f) != (enum qm_net_fwd_set)k)
				continue;
			uint16_t lo = htons(f->port_lo);
			uint16_t hi = htons(f->port_hi);
			memset(key, 0, sizeof(key));
			ifname_key(key, f->iif);
			ifname_key(key + 16, f->oif);
			key[32] = f->proto_lo;
			memcpy(key + 36, &lo, 2);
			if (k != QM_NET_FWD_RANGE) {
				elem_add(&e, key, NULL, 0);
				continue;
			}
			memcpy(end, key, 32);
			memset(end + 32, 0, 8);
			end[32] = f->proto_hi;
			memcpy(end + 36, &hi, 2);
			elem_add(&e, key, end, 0);
		}
		elems_flush(&e);
	}

	e.d = &set_fwd_pairs;
	for (guint i = 0; i < rs->pairs->len; i++) {
		const struct qm_net_pair *p =
			&g_array_index(rs->pairs, struct qm_net_pair, i);
		memset(key, 0, sizeof(key));
		ifname_key(key, p->iif);
		ifname_key(key + 16, p->oif);
		elem_add(&e, key, NULL, 0);
	}
	elems_flush(&e);
}

/* ---- rule expressions ---- */

static struct nftnl_expr *expr(struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	g_assert(e != NULL);
	nftnl_rule_add_expr(r, e);
	return e;
}

static void x_meta(struct nftnl_rule *r, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = expr(r, "meta");

	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
}

static void x_cmp(struct nftnl_rule *r, uint32_t op, const void *data,
		  uint32_t len)
{
	struct nftnl_expr *e = expr(r, "cmp");

	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
}

static void x_cmp_u8(struct nftnl_rule *r, uint32_t op, uint8_t v)
{
	x_cmp(r, op, &v, 1);
}

static void x_lookup(struct nftnl_rule *r, const struct set_desc *d,
		     bool invert)
{
	struct nftnl_expr *e = expr(r, "lookup");

	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, d->name);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, d->id);
	if (invert)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS,
				   NFT_LOOKUP_F_INV);
}

static void x_payload(struct nftnl_rule *r, uint32_t base, uint32_t offset,
		      uint32_t len, uint32_t dreg)
{
	struct nftnl_expr *e = expr(r, "payload");

	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
}

static void x_ct(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = expr(r, "ct");

	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
}

/* ct state: true when any of `bits` is set. */
static void x_ct_state_any(struct nftnl_rule *r, uint32_t bits)
{
	struct nftnl_expr *e;
	uint32_t zero = 0;

	x_ct(r, NFT_CT_STATE);
	e = expr(r, "bitwise");
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 4);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &bits, 4);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, 4);
	x_cmp(r, NFT_CMP_NEQ, &zero, 4);
}

static void x_ct_direction(struct nftnl_rule *r, uint8_t dir)
{
	x_ct(r, NFT_CT_DIRECTION);
	x_cmp_u8(r, NFT_CMP_EQ, dir);
}

static void x_verdict(struct nftnl_rule *r, int verdict)
{
	struct nftnl_expr *e = expr(r, "immediate");

	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
}

/* iifname/oifname in (or not in) @taps or @uplinks. */
static void x_if_in(struct nftnl_rule *r, uint32_t meta_key,
		    const struct set_desc *d, bool invert)
{
	x_meta(r, meta_key, NFT_REG_1);
	x_lookup(r, d, invert);
}

/* meta nfproto ipv4 (or not). */
static void x_ipv4(struct nftnl_rule *r, uint32_t op)
{
	x_meta(r, NFT_META_NFPROTO, NFT_REG_1);
	x_cmp_u8(r, op, NFPROTO_IPV4);
}

/* A rule under construction in `chain`. */
static struct nftnl_rule *rule_new(struct batch *b, const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, b->table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	return r;
}

static void rule_put(struct batch *b, struct nftnl_rule *r, const char *chain,
		     const char *what)
{
	struct nlmsghdr *nlh = qm_net_nft_msg_start(
		b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);

	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	qm_net_nft_batch_put(b, nlh, g_strdup_printf("add rule to chain %s: %s",
						     chain, what));
}

/* A rule of one match on an interface set and a verdict. */
static void put_if_rule(struct batch *b, const char *chain, uint32_t meta_key,
			const struct set_desc *d, bool invert, int verdict,
			const char *what)
{
	struct nftnl_rule *r = rule_new(b, chain);

	x_if_in(r, meta_key, d, invert);
	x_verdict(r, verdict);
	rule_put(b, r, chain, what);
}

static void put_verdict_rule(struct batch *b, const char *chain, int verdict,
			     const char *what)
{
	struct nftnl_rule *r = rule_new(b, chain);

	x_verdict(r, verdict);
	rule_put(b, r, chain, what);
}

/* ---- the chains' rules ---- */

static void put_antispoof(struct batch *b)
{
	struct nftnl_rule *r;
	uint16_t arphrd_ether = ARPHRD_ETHER;
	uint16_t ethertype_ip = htons(0x0800);

	put_if_rule(b, "antispoof", NFT_META_IIFNAME, &set_taps, true,
		    NF_ACCEPT, "iifname != @taps accept");

	/* iifname . ether saddr . ip saddr @vm_addrs accept, with the
	 * dependencies nft adds: an Ethernet device, an IPv4 frame. */
	r = rule_new(b, "antispoof");
	x_meta(r, NFT_META_IIFTYPE, NFT_REG_1);
	x_cmp(r, NFT_CMP_EQ, &arphrd_ether, 2);
	x_payload(r, NFT_PAYLOAD_LL_HEADER, 12, 2, NFT_REG_1);
	x_cmp(r, NFT_CMP_EQ, &ethertype_ip, 2);
	x_meta(r, NFT_META_IIFNAME, NFT_REG_1);
	x_payload(r, NFT_PAYLOAD_LL_HEADER, 6, 6, NFT_REG_2);
	x_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG32_06);
	x_lookup(r, &set_vm_addrs, false);
	x_verdict(r, NF_ACCEPT);
	rule_put(b, r, "antispoof", "source address check");

	put_verdict_rule(b, "antispoof", NF_DROP, "drop");
}

static void put_dstnat(struct batch *b, const struct qm_net_ruleset *rs)
{
	uint32_t dns = htonl(rs->dns_addr), upstream = htonl(rs->dns_upstream);
	uint16_t port = htons(53);
	static const uint8_t protos[] = { IPPROTO_UDP, IPPROTO_TCP };

	for (size_t i = 0; i < G_N_ELEMENTS(protos); i++) {
		struct nftnl_rule *r = rule_new(b, "dstnat");
		struct nftnl_expr *e;

		x_if_in(r, NFT_META_IIFNAME, &set_taps, false);
		x_ipv4(r, NFT_CMP_EQ);
		x_payload(r, NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG_1);
		x_cmp(r, NFT_CMP_EQ, &dns, 4);
		x_meta(r, NFT_META_L4PROTO, NFT_REG_1);
		x_cmp_u8(r, NFT_CMP_EQ, protos[i]);
		x_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
		x_cmp(r, NFT_CMP_EQ, &port, 2);
		e = expr(r, "immediate");
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
		nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, &upstream, 4);
		e = expr(r, "nat");
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
		rule_put(b, r, "dstnat", "DNS forwarding");
	}
}

/* ct mark set MARK (reg 1 is free again after the lookup). */
static void x_ct_mark_set(struct nftnl_rule *r, uint32_t mark)
{
	struct nftnl_expr *e = expr(r, "immediate");

	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
	nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, &mark, sizeof(mark));
	e = expr(r, "ct");
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_MARK);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_SREG, NFT_REG_1);
}

/* `first` . `second` [. meta l4proto [. th (sport|dport)]] @fwd_* [ct
 * mark set MARK] accept, for packets of ct direction `dir`. */
static void put_fwd_lookup(struct batch *b, uint8_t dir,
			   enum qm_net_fwd_set k, uint32_t mark)
{
	struct nftnl_rule *r = rule_new(b, "forward");
	bool reply = dir == IP_CT_DIR_REPLY;
	struct nftnl_expr *e;

	x_ct_direction(r, dir);
	x_meta(r, reply ? NFT_META_OIFNAME : NFT_META_IIFNAME, NFT_REG_1);
	x_meta(r, reply ? NFT_META_IIFNAME : NFT_META_OIFNAME, NFT_REG_2);
	if (k != QM_NET_FWD_ANY)
		x_meta(r, NFT_META_L4PROTO, NFT_REG_3);
	if (k == QM_NET_FWD_RANGE) {
		/* A no-op on one byte, but what nft emits for an integer
		 * field of an interval key. */
		e = expr(r, "byteorder");
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SREG, NFT_REG_3);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_DREG, NFT_REG_3);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_OP,
				   NFT_BYTEORDER_HTON);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_LEN, 1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SIZE, 2);
	}
	if (k == QM_NET_FWD_PORT || k == QM_NET_FWD_RANGE)
		x_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, reply ? 0 : 2, 2,
			  NFT_REG32_09);
	x_lookup(r, &set_fwd[k], false);
	if (mark != 0)
		x_ct_mark_set(r, mark);
	x_verdict(r, NF_ACCEPT);
	g_autofree char *what = g_strdup_printf(
		"%s, looked up in %s",
		reply ? "replies of allowed flows" : "allowed flows",
		set_fwd[k].name);
	rule_put(b, r, "forward", what);
}

static void put_forward(struct batch *b, uint32_t mark)
{
	struct nftnl_rule *r;

	r = rule_new(b, "forward");
	x_if_in(r, NFT_META_IIFNAME, &set_taps, true);
	x_if_in(r, NFT_META_OIFNAME, &set_taps, true);
	x_verdict(r, NF_ACCEPT);
	rule_put(b, r, "forward", "traffic not of our taps");

	r = rule_new(b, "forward");
	x_ipv4(r, NFT_CMP_NEQ);
	x_verdict(r, NF_DROP);
	rule_put(b, r, "forward", "meta nfproto != ipv4 drop");

	r = rule_new(b, "forward");
	x_ct_state_any(r, NF_CT_STATE_INVALID_BIT | NF_CT_STATE_UNTRACKED_BIT);
	x_verdict(r, NF_DROP);
	rule_put(b, r, "forward", "ct state invalid,untracked drop");

	if (mark != 0) {
		/* Connections judged under this table: no lookup. */
		r = rule_new(b, "forward");
		x_ct(r, NFT_CT_MARK);
		x_cmp(r, NFT_CMP_EQ, &mark, sizeof(mark));
		x_verdict(r, NF_ACCEPT);
		rule_put(b, r, "forward", "connections judged by this table");
	}
	for (int k = 0; k < QM_NET_FWD_N; k++)
		put_fwd_lookup(b, IP_CT_DIR_ORIGINAL, k, mark);
	for (int k = 0; k < QM_NET_FWD_N; k++)
		put_fwd_lookup(b, IP_CT_DIR_REPLY, k, mark);

	r = rule_new(b, "forward");
	x_ct_direction(r, IP_CT_DIR_REPLY);
	x_ct_state_any(r, NF_CT_STATE_BIT(IP_CT_RELATED));
	x_meta(r, NFT_META_L4PROTO, NFT_REG_1);
	x_cmp_u8(r, NFT_CMP_EQ, IPPROTO_ICMP);
	x_meta(r, NFT_META_OIFNAME, NFT_REG_1);
	x_meta(r, NFT_META_IIFNAME, NFT_REG_2);
	x_lookup(r, &set_fwd_pairs, false);
	x_verdict(r, NF_ACCEPT);
	rule_put(b, r, "forward", "related ICMP errors");

	put_verdict_rule(b, "forward", NF_DROP, "drop");
}

static void put_output(struct batch *b)
{
	struct nftnl_rule *r;

	put_if_rule(b, "output", NFT_META_OIFNAME, &set_taps, true, NF_ACCEPT,
		    "oifname != @taps accept");
	r = rule_new(b, "output");
	x_ipv4(r, NFT_CMP_EQ);
	x_ct_state_any(r, NF_CT_STATE_BIT(IP_CT_RELATED));
	x_verdict(r, NF_ACCEPT);
	rule_put(b, r, "output", "related ICMP errors");
	put_verdict_rule(b, "output", NF_DROP, "drop");
}

void qm_net_nft_ruleset_put(struct batch *b, const struct qm_net_ruleset *rs)
{
	put_chain(b, "antispoof", "filter", NF_INET_PRE_ROUTING,
		  NF_IP_PRI_RAW);
	if (!rs->fail_closed && rs->dns_addr != 0)
		put_chain(b, "dstnat", "nat", NF_INET_PRE_ROUTING,
			  NF_IP_PRI_NAT_DST);
	put_chain(b, "forward", "filter", NF_INET_FORWARD, NF_IP_PRI_FILTER);
	put_chain(b, "input", "filter", NF_INET_LOCAL_IN, NF_IP_PRI_FILTER);
	put_chain(b, "output", "filter", NF_INET_LOCAL_OUT, NF_IP_PRI_FILTER);
	if (!rs->fail_closed)
		put_chain(b, "srcnat", "nat", NF_INET_POST_ROUTING,
			  NF_IP_PRI_NAT_SRC);

	put_set(b, &set_taps);
	put_taps(b, rs);

	if (rs->fail_closed) {
		put_if_rule(b, "antispoof", NFT_META_IIFNAME, &set_taps, false,
			    NF_DROP, "iifname @taps drop");
		put_if_rule(b, "forward", NFT_META_IIFNAME, &set_taps, false,
			    NF_DROP, "iifname @taps drop");
		put_if_rule(b, "forward", NFT_META_OIFNAME, &set_taps, false,
			    NF_DROP, "oifname @taps drop");
		put_if_rule(b, "input", NFT_META_IIFNAME, &set_taps, false,
			    NF_DROP, "iifname @taps drop");
		put_if_rule(b, "output", NFT_META_OIFNAME, &set_taps, false,
			    NF_DROP, "oifname @taps drop");
		return;
	}

	put_set(b, &set_uplinks);
	put_set(b, &set_vm_addrs);
	for (int k = 0; k < QM_NET_FWD_N; k++)
		put_set(b, &set_fwd[k]);
	put_set(b, &set_fwd_pairs);
	put_elements(b, rs);

	put_antispoof(b);
	if (rs->dns_addr != 0)
		put_dstnat(b, rs);
	put_forward(b, rs->ct_mark);
	put_if_rule(b, "input", NFT_META_IIFNAME, &set_taps, false, NF_DROP,
		    "iifname @taps drop");
	put_output(b);

	struct nftnl_rule *r = rule_new(b, "srcnat");
	x_if_in(r, NFT_META_IIFNAME, &set_taps, false);
	x_if_in(r, NFT_META_OIFNAME, &set_uplinks, false);
	expr(r, "masq");
	rule_put(b, r, "srcnat", "masquerade");
}
