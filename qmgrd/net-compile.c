/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The qmgr.Network policy flattened into the model of one nftables table
 * (see net-compile.h and docs/network.md for the table's shape).
 *
 * For every (source qube, target) the matching rules are walked in policy
 * order, keeping for tcp and udp the port intervals no earlier rule has
 * decided, and for icmp and "every other protocol" one undecided flag.
 * What an allow rule reaches while still undecided becomes allowed; what a
 * deny (or ask) reaches is decided dropped; the rest drops at the end.
 * The allowed parts are then laid out over the protocol numbers 0-255 so
 * that neighbouring protocols with the same ports merge: `*` allow is one
 * element, not 256.
 */
#include "net-compile.h"

#include <arpa/inet.h>
#include <string.h>

#define NET_ERROR g_quark_from_static_string("qm-net-compile-error")

enum {
	PROTO_ICMP = 1,
	PROTO_TCP = 6,
	PROTO_UDP = 17,
};

bool qm_net_ifname_is_valid(const char *name)
{
	size_t len = strlen(name);

	/* The kernel takes almost anything; ours are [A-Za-z0-9_.-], which
	 * also keeps them safe to print quoted in nft syntax ('*' would be
	 * a wildcard there). */
	if (len == 0 || len >= QM_NET_IFNAME_SIZE || name[0] == '.' ||
	    name[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!g_ascii_isalnum(name[i]) && name[i] != '_' &&
		    name[i] != '.' && name[i] != '-')
			return false;
	return true;
}

bool qm_net_table_name_is_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > QM_NET_TABLE_MAX || !g_ascii_isalpha(name[0]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!g_ascii_isalnum(name[i]) && name[i] != '_')
			return false;
	return true;
}

void qm_net_ruleset_destroy(struct qm_net_ruleset *rs)
{
	if (rs == NULL)
		return;
	g_free(rs->table);
	g_free(rs->tap_prefix);
	g_ptr_array_unref(rs->taps);
	g_ptr_array_unref(rs->uplinks);
	g_array_unref(rs->addrs);
	g_array_unref(rs->flows);
	g_array_unref(rs->pairs);
	g_free(rs);
}

static int str_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Key order of the taps set: a name NUL-padded, a "PREFIX*" as its
 * prefix (the start of its interval), which no listed tap starts with. */
static int tap_key_cmp(gconstpointer a, gconstpointer b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	size_t nx = strlen(x), ny = strlen(y);

	nx -= nx > 0 && x[nx - 1] == '*';
	ny -= ny > 0 && y[ny - 1] == '*';
	int c = memcmp(x, y, MIN(nx, ny));
	return c != 0 ? c : (nx > ny) - (nx < ny);
}

static int addr_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(((const struct qm_net_addr *)a)->tap,
		      ((const struct qm_net_addr *)b)->tap);
}

static int flow_cmp(gconstpointer a, gconstpointer b)
{
	const struct qm_net_flow *x = a, *y = b;
	int c = strcmp(x->iif, y->iif);

	if (c == 0)
		c = strcmp(x->oif, y->oif);
	if (c == 0)
		c = (int)x->proto_lo - (int)y->proto_lo;
	if (c == 0)
		c = (int)x->port_lo - (int)y->port_lo;
	return c;
}

static int pair_cmp(gconstpointer a, gconstpointer b)
{
	const struct qm_net_pair *x = a, *y = b;
	int c = strcmp(x->iif, y->iif);

	return c != 0 ? c : strcmp(x->oif, y->oif);
}

/* ---- first-match flattening for one (source, target) ---- */

struct span {
	guint16 lo, hi;
};

/* What is still undecided and what is allowed so far. */
struct verdicts {
	GArray *open[2];        /* struct span: tcp, udp */
	GArray *allowed[2];
	int icmp, other;        /* -1 undecided, 0 drop, 1 accept */
};

static void verdicts_reset(struct verdicts *v)
{
	const struct span all = { 0, 65535 };

	for (int i = 0; i < 2; i++) {
		g_array_set_size(v->open[i], 0);
		g_array_append_val(v->open[i], all);
		g_array_set_size(v->allowed[i], 0);
	}
	v->icmp = v->other = -1;
}

/* Decides the still open part of lo..hi: moved out of `open`, and into
 * `allowed` when `allow`. */
static void decide_ports(GArray *open, GArray *allowed, guint16 lo,
			 guint16 hi, bool allow)
{
	g_autoptr(GArray) rest = g_array_new(FALSE, FALSE, sizeof(struct span));

	for (guint i = 0; i < open->len; i++) {
		struct span s = g_array_index(open, struct span, i);
		if (s.hi < lo || s.lo > hi) {
			g_array_append_val(rest, s);
			continue;
		}
		struct span hit = { MAX(s.lo, lo), MIN(s.hi, hi) };
		if (allow)
			g_array_append_val(allowed, hit);
		if (s.lo < hit.lo) {
			struct span left = { s.lo, (guint16)(hit.lo - 1) };
			g_array_append_val(rest, left);
		}
		if (s.hi > hit.hi) {
			struct span right = { (guint16)(hit.hi + 1), s.hi };
			g_array_append_val(rest, right);
		}
	}
	g_array_set_size(open, 0);
	g_array_append_vals(open, rest->data, rest->len);
}

static void decide_flag(int *flag, bool allow)
{
	if (*flag < 0)
		*flag = allow ? 1 : 0;
}

static void verdicts_apply(struct verdicts *v, const struct pol_net_match *m,
			   bool allow)
{
	switch (m->proto) {
	case POL_NET_PROTO_ALL:
		for (int i = 0; i < 2; i++)
			decide_ports(v->open[i], v->allowed[i], 0, 65535,
				     allow);
		decide_flag(&v->icmp, allow);
		decide_flag(&v->other, allow);
		break;
	case POL_NET_PROTO_TCP:
	case POL_NET_PROTO_UDP:
		decide_ports(v->open[m->proto == POL_NET_PROTO_UDP],
			     v->allowed[m->proto == POL_NET_PROTO_UDP],
			     m->port_lo, m->port_hi, allow);
		break;
	case POL_NET_PROTO_ICMP:
		decide_flag(&v->icmp, allow);
		break;
	}
}

static int span_cmp(gconstpointer a, gconstpointer b)
{
	return (int)((const struct span *)a)->lo -
	       (int)((const struct span *)b)->lo;
}

/* Sorts and merges touching spans. */
static void spans_normalise(GArray *spans)
{
	guint out = 0;

	g_array_sort(spans, span_cmp);
	for (guint i = 0; i < spans->len; i++) {
		struct span s = g_array_index(spans, struct span, i);
		struct span *last = out ? &g_array_index(spans, struct span,
							 out - 1)
					: NULL;
		if (last != NULL && (guint32)last->hi + 1 >= s.lo) {
			last->hi = MAX(last->hi, s.hi);
			continue;
		}
		g_array_index(spans, struct span, out++) = s;
	}
	g_array_set_size(spans, out);
}

static bool spans_equal(const GArray *a, const GArray *b)
{
	/* An empty GArray may have no data at all. */
	return a->len == b->len &&
	       (a->len == 0 ||
		memcmp(a->data, b->data, a->len * sizeof(struct span)) == 0);
}

/* Appends the allowed boxes of `v` from iif to each of `oifs`. */
static void emit_flows(struct qm_net_ruleset *rs, struct verdicts *v,
		       const char *iif, const char *const *oifs, size_t n_oifs)
{
	g_autoptr(GArray) full = g_array_new(FALSE, FALSE, sizeof(struct span));
	g_autoptr(GArray) none = g_array_new(FALSE, FALSE, sizeof(struct span));
	const struct span all = { 0, 65535 };
	bool any = false;

	if (v->allowed[0]->len == 0 && v->allowed[1]->len == 0 &&
	    v->icmp != 1 && v->other != 1)
		return;         /* nothing allowed (the common case) */
	g_array_append_val(full, all);
	for (int i = 0; i < 2; i++)
		spans_normalise(v->allowed[i]);

	/* Protocol numbers with the same allowed ports merge into one
	 * range.  Only icmp, tcp and udp differ from the other protocols,
	 * so the numbers are walked as the runs between them: each entry
	 * of `runs` starts one (the last, 256, only closes the walk). */
	static const unsigned runs[] = {
		0, PROTO_ICMP, PROTO_ICMP + 1, PROTO_TCP, PROTO_TCP + 1,
		PROTO_UDP, PROTO_UDP + 1, 256,
	};
	unsigned start = 0;
	const GArray *cur = NULL;
	for (size_t r = 0; r < G_N_ELEMENTS(runs); r++) {
		unsigned p = runs[r];
		const GArray *ports = NULL;
		if (p < 256) {
			if (p == PROTO_TCP)
				ports = v->allowed[0];
			else if (p == PROTO_UDP)
				ports = v->allowed[1];
			else if (p == PROTO_ICMP)
				ports = v->icmp == 1 ? full : none;
			else
				ports = v->other == 1 ? full : none;
		}
		if (cur != NULL && ports != NULL && spans_equal(cur, ports))
			continue;
		for (guint s = 0; cur != NULL && s < cur->len; s++) {
			const struct span *sp = &g_array_index(cur, struct span,
							      s);
			for (size_t o = 0; o < n_oifs; o++) {
				struct qm_net_flow f = { 0 };
				g_strlcpy(f.iif, iif, sizeof(f.iif));
				g_strlcpy(f.oif, oifs[o], sizeof(f.oif));
				f.proto_lo = (uint8_t)start;
				f.proto_hi = (uint8_t)(p - 1);
				f.port_lo = sp->lo;
				f.port_hi = sp->hi;
				g_array_append_val(rs->flows, f);
				any = true;
			}
		}
		cur = ports;
		start = p;
	}
	for (size_t o = 0; any && o < n_oifs; o++) {
		struct qm_net_pair pr = { 0 };
		g_strlcpy(pr.iif, iif, sizeof(pr.iif));
		g_strlcpy(pr.oif, oifs[o], sizeof(pr.oif));
		g_array_append_val(rs->pairs, pr);
	}
}

/* ---- input checks ---- */

static bool check_inputs(const struct qm_net_vm *vms, size_t n_vms,
			 const struct qm_net_config *config, GError **error)
{
	g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash,
						       g_str_equal);
	g_autoptr(GHashTable) ifs = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GHashTable) addrs = g_hash_table_new(NULL, NULL);

	if (config->table == NULL ||
	    !qm_net_table_name_is_valid(config->table)) {
		g_set_error(error, NET_ERROR, 1,
			    "invalid nftables table name '%s' (a letter, then "
			    "letters, digits and '_', at most %d)",
			    config->table ? config->table : "(null)",
			    QM_NET_TABLE_MAX);
		return false;
	}
	if (config->tap_prefix != NULL &&
	    (!qm_net_ifname_is_valid(config->tap_prefix) ||
	     strlen(config->tap_prefix) >= QM_NET_IFNAME_SIZE - 1)) {
		g_set_error(error, NET_ERROR, 1, "invalid tap prefix '%s'",
			    config->tap_prefix);
		return false;
	}
	for (size_t i = 0; config->uplinks && config->uplinks[i]; i++) {
		const char *u = config->uplinks[i];
		if (!qm_net_ifname_is_valid(u) ||
		    !g_hash_table_add(ifs, (gpointer)u)) {
			g_set_error(error, NET_ERROR, 1,
				    "invalid or repeated uplink interface "
				    "'%s'", u);
			return false;
		}
	}
	for (size_t i = 0; i < n_vms; i++) {
		const struct qm_net_vm *vm = &vms[i];
		if (vm->name == NULL || !g_hash_table_add(names,
							  (gpointer)vm->name)) {
			g_set_error(error, NET_ERROR, 1,
				    "networked qube %zu has no name or a "
				    "repeated one", i);
			return false;
		}
		if (vm->tap == NULL || !qm_net_ifname_is_valid(vm->tap) ||
		    !g_hash_table_add(ifs, (gpointer)vm->tap)) {
			g_set_error(error, NET_ERROR, 1,
				    "qube %s: invalid tap name, or one used "
				    "twice or by an uplink: '%s'", vm->name,
				    vm->tap ? vm->tap : "(null)");
			return false;
		}
		if (vm->ip4 == 0 ||
		    !g_hash_table_add(addrs, GUINT_TO_POINTER(vm->ip4))) {
			g_set_error(error, NET_ERROR, 1,
				    "qube %s: no address, or one another "
				    "qube has", vm->name);
			return false;
		}
	}
	for (size_t i = 0; i < n_vms; i++) {
		const char *netvm = vms[i].netvm;
		if (netvm != NULL && strcmp(netvm, POL_NET_UPLINK) != 0 &&
		    !g_hash_table_contains(names, netvm))
			g_debug("qube %s: netvm %s is not running: nothing "
				"towards sys-net", vms[i].name, netvm);
	}
	return true;
}

/* ---- the compiler ---- */

static struct qm_net_ruleset *ruleset_new(const struct qm_net_vm *vms,
					  size_t n_vms,
					  const struct qm_net_config *config)
{
	struct qm_net_ruleset *rs = g_new0(struct qm_net_ruleset, 1);

	rs->table = g_strdup(config->table);
	rs->tap_prefix = g_strdup(config->tap_prefix);
	rs->taps = g_ptr_array_new_with_free_func(g_free);
	rs->uplinks = g_ptr_array_new_with_free_func(g_free);
	rs->addrs = g_array_new(FALSE, TRUE, sizeof(struct qm_net_addr));
	rs->flows = g_array_new(FALSE, TRUE, sizeof(struct qm_net_flow));
	rs->pairs = g_array_new(FALSE, TRUE, sizeof(struct qm_net_pair));
	for (size_t i = 0; i < n_vms; i++) {
		if (rs->tap_prefix == NULL ||
		    !g_str_has_prefix(vms[i].tap, rs->tap_prefix))
			g_ptr_array_add(rs->taps, g_strdup(vms[i].tap));
	}
	if (rs->tap_prefix != NULL)
		g_ptr_array_add(rs->taps,
				g_strconcat(rs->tap_prefix, "*", NULL));
	g_ptr_array_sort(rs->taps, tap_key_cmp);
	return rs;
}

struct qm_net_ruleset *qm_net_ruleset_compile(const struct pol_policy *policy,
					      const struct pol_system *sys,
					      const struct qm_net_vm *vms,
					      size_t n_vms,
					      const struct qm_net_config *config,
					      GError **error)
{
	if (!check_inputs(vms, n_vms, config, error))
		return NULL;

	struct qm_net_ruleset *rs = ruleset_new(vms, n_vms, config);
	if (policy == NULL || sys == NULL || !pol_policy_is_valid(policy)) {
		rs->fail_closed = true;
		return rs;
	}

	for (size_t i = 0; config->uplinks && config->uplinks[i]; i++)
		g_ptr_array_add(rs->uplinks, g_strdup(config->uplinks[i]));
	g_ptr_array_sort(rs->uplinks, str_cmp);
	for (size_t i = 0; i < n_vms; i++) {
		struct qm_net_addr a = { 0 };
		g_strlcpy(a.tap, vms[i].tap, sizeof(a.tap));
		memcpy(a.mac, vms[i].mac, sizeof(a.mac));
		a.ip4 = vms[i].ip4;
		g_array_append_val(rs->addrs, a);
	}
	g_array_sort(rs->addrs, addr_cmp);
	rs->ct_mark = config->ct_mark;
	if (config->dns_addr != 0 && config->n_dns_upstream > 0) {
		rs->dns_addr = config->dns_addr;
		rs->dns_upstream = config->dns_upstream[0];
	}

	g_autofree const struct pol_rule **rules = NULL;
	size_t n_rules = pol_policy_service_rules(policy, POL_NET_SERVICE,
						  &rules);
	/* Each rule's argument, once. */
	g_autofree struct pol_net_match *match = g_new0(struct pol_net_match,
							n_rules + 1);
	g_autofree bool *allow = g_new0(bool, n_rules + 1);
	/* The qubes as the policy knows them, looked up once, and by name. */
	g_autofree const struct pol_vm **known =
		g_new0(const struct pol_vm *, n_vms + 1);
	g_autoptr(GHashTable) by_name = g_hash_table_new(g_str_hash,
							 g_str_equal);
	for (size_t i = 0; i < n_vms; i++) {
		known[i] = pol_system_vm(sys, vms[i].name);
		/* A qube the policy does not know (a preloaded disposable)
		 * matches nothing: it gets nothing. */
		if (known[i] != NULL)
			g_hash_table_insert(by_name, (gpointer)vms[i].name,
					    GSIZE_TO_POINTER(i + 1));
	}
	/*
	 * Sources and targets.  Most rules name one qube (or sys-net):
	 * those are indexed, and only the others (tags, types, @anyvm) are
	 * matched against every qube.  `mine[s]` lists the rules whose
	 * source is qube s, in order.  A rule's target is `tgt[r]`: a qube's
	 * index, n_vms for sys-net, NO_TARGET for none, or ANY_TARGET when
	 * it is a token, whose matches are in `dst[r * (n_vms + 1) + t]`.
	 */
	enum { NO_TARGET = -1, ANY_TARGET = -2 };
	g_autofree GArray **mine = g_new0(GArray *, n_vms + 1);
	g_autofree gssize *tgt = g_new0(gssize, n_rules + 1);
	g_autoptr(GHashTable) dst = g_hash_table_new_full(NULL, NULL, NULL,
							  g_free);
	for (size_t i = 0; i < n_vms; i++)
		mine[i] = g_array_new(FALSE, FALSE, sizeof(size_t));
	for (size_t r = 0; r < n_rules; r++) {
		/* The loader refuses other arguments for qmgr.Network, and
		 * '*' service rules can only have '*'; should one get through
		 * all the same, nothing passes. */
		if (!pol_net_argument_parse(pol_rule_argument(rules[r]),
					    &match[r])) {
			g_warning("%s:%u: unexpected network argument: "
				  "failing closed", pol_rule_file(rules[r]),
				  pol_rule_line(rules[r]));
			for (size_t i = 0; i < n_vms; i++)
				g_array_unref(mine[i]);
			g_ptr_array_set_size(rs->uplinks, 0);
			g_array_set_size(rs->addrs, 0);
			rs->dns_addr = rs->dns_upstream = 0;
			rs->fail_closed = true;
			return rs;
		}
		allow[r] = pol_rule_action(rules[r]) == POL_ACTION_ALLOW;

		const char *name = pol_rule_source_name(rules[r]);
		if (name != NULL) {
			size_t i = GPOINTER_TO_SIZE(
				g_hash_table_lookup(by_name, name));
			if (i != 0)
				g_array_append_val(mine[i - 1], r);
		} else {
			for (size_t i = 0; i < n_vms; i++)
				if (known[i] != NULL &&
				    pol_rule_source_matches_vm(rules[r], sys,
							       known[i]))
					g_array_append_val(mine[i], r);
		}

		name = pol_rule_target_name(rules[r]);
		if (name != NULL && strcmp(name, POL_NET_UPLINK) == 0) {
			tgt[r] = (gssize)n_vms;
		} else if (name != NULL) {
			size_t i = GPOINTER_TO_SIZE(
				g_hash_table_lookup(by_name, name));
			tgt[r] = i != 0 ? (gssize)(i - 1) : NO_TARGET;
		} else {
			bool *d = g_new0(bool, n_vms + 1);
			for (size_t i = 0; i < n_vms; i++)
				d[i] = known[i] != NULL &&
				       pol_rule_target_matches_vm(
					       rules[r], sys, known[i]);
			d[n_vms] = pol_rule_target_matches_vm(rules[r], sys,
							      NULL);
			g_hash_table_insert(dst, GSIZE_TO_POINTER(r + 1), d);
			tgt[r] = ANY_TARGET;
		}
	}

	const char *const *uplinks = (const char *const *)rs->uplinks->pdata;
	struct verdicts v;
	for (int i = 0; i < 2; i++) {
		v.open[i] = g_array_new(FALSE, FALSE, sizeof(struct span));
		v.allowed[i] = g_array_new(FALSE, FALSE, sizeof(struct span));
	}
	for (size_t s = 0; s < n_vms; s++) {
		bool via_uplink = vms[s].netvm == NULL ||
				  strcmp(vms[s].netvm, POL_NET_UPLINK) == 0;
		const size_t *list = (const size_t *)mine[s]->data;
		size_t n_list = mine[s]->len;
		/* Targets: every other qube, then sys-net (index n_vms). */
		for (size_t t = 0; t <= n_vms; t++) {
			if (t == s || (t == n_vms && !via_uplink))
				continue;
			verdicts_reset(&v);
			for (size_t m = 0; m < n_list; m++) {
				size_t r = list[m];
				if (tgt[r] == ANY_TARGET) {
					const bool *d = g_hash_table_lookup(
						dst, GSIZE_TO_POINTER(r + 1));
					if (!d[t])
						continue;
				} else if (tgt[r] != (gssize)t) {
					continue;
				}
				verdicts_apply(&v, &match[r], allow[r]);
			}
			if (t < n_vms)
				emit_flows(rs, &v, vms[s].tap, &vms[t].tap, 1);
			else
				emit_flows(rs, &v, vms[s].tap, uplinks,
					   rs->uplinks->len);
		}
		g_array_unref(mine[s]);
	}
	for (int i = 0; i < 2; i++) {
		g_array_unref(v.open[i]);
		g_array_unref(v.allowed[i]);
	}
	g_array_sort(rs->flows, flow_cmp);
	g_array_sort(rs->pairs, pair_cmp);
	return rs;
}

/* ---- the set of a flow ---- */

const char *const qm_net_fwd_set_names[QM_NET_FWD_N] = {
	[QM_NET_FWD_ANY] = "fwd_any",
	[QM_NET_FWD_PROTO] = "fwd_proto",
	[QM_NET_FWD_PORT] = "fwd_port",
	[QM_NET_FWD_RANGE] = "fwd_range",
};

enum qm_net_fwd_set qm_net_flow_set(const struct qm_net_flow *f)
{
	bool all_ports = f->port_lo == 0 && f->port_hi == 65535;

	if (f->proto_lo == 0 && f->proto_hi == 255 && all_ports)
		return QM_NET_FWD_ANY;
	if (f->proto_lo != f->proto_hi)
		return QM_NET_FWD_RANGE;
	if (all_ports)
		return QM_NET_FWD_PROTO;
	/* Only protocols with ports get a partial port range. */
	return f->port_lo == f->port_hi ? QM_NET_FWD_PORT : QM_NET_FWD_RANGE;
}

/* ---- rendering as nft text ---- */

static void put_ip(GString *out, uint32_t ip)
{
	char buf[INET_ADDRSTRLEN];
	uint32_t n = htonl(ip);

	inet_ntop(AF_INET, &n, buf, sizeof(buf));
	g_string_append(out, buf);
}

static void put_proto(GString *out, unsigned lo, unsigned hi)
{
	if (lo != hi) {
		g_string_append_printf(out, "%u-%u", lo, hi);
		return;
	}
	switch (lo) {
	case PROTO_ICMP:
		g_string_append(out, "icmp");
		break;
	case PROTO_TCP:
		g_string_append(out, "tcp");
		break;
	case PROTO_UDP:
		g_string_append(out, "udp");
		break;
	default:
		g_string_append_printf(out, "%u", lo);
		break;
	}
}

static void put_ports(GString *out, unsigned lo, unsigned hi)
{
	if (lo == hi)
		g_string_append_printf(out, "%u", lo);
	else
		g_string_append_printf(out, "%u-%u", lo, hi);
}

/* Opens "set NAME {" with its type and flags; elements follow. */
static void set_open(GString *out, const char *name, const char *type,
		     bool interval)
{
	g_string_append_printf(out, "\tset %s {\n\t\ttype %s\n", name, type);
	if (interval)
		g_string_append(out, "\t\tflags interval\n");
}

/* One element: the first opens the list, the others continue it. */
static void elem_sep(GString *out, size_t i)
{
	g_string_append(out, i == 0 ? "\t\telements = { " : ",\n\t\t\t     ");
}

static void set_close(GString *out, size_t n)
{
	g_string_append(out, n ? " }\n\t}\n\n" : "\t}\n\n");
}

static void render_taps(GString *out, const struct qm_net_ruleset *rs)
{
	set_open(out, "taps", "ifname", true);
	for (guint i = 0; i < rs->taps->len; i++) {
		elem_sep(out, i);
		g_string_append_printf(out, "\"%s\"",
				       (const char *)g_ptr_array_index(rs->taps,
								       i));
	}
	set_close(out, rs->taps->len);
}

static void chain_open(GString *out, const char *name, const char *type,
		       const char *hook, const char *prio)
{
	g_string_append_printf(out,
			       "\tchain %s {\n\t\ttype %s hook %s priority %s; "
			       "policy accept;\n", name, type, hook, prio);
}

static void render_fail_closed(GString *out)
{
	chain_open(out, "antispoof", "filter", "prerouting", "raw");
	g_string_append(out, "\t\tiifname @taps drop\n\t}\n\n");
	chain_open(out, "forward", "filter", "forward", "filter");
	g_string_append(out, "\t\tiifname @taps drop\n"
			     "\t\toifname @taps drop\n\t}\n\n");
	chain_open(out, "input", "filter", "input", "filter");
	g_string_append(out, "\t\tiifname @taps drop\n\t}\n\n");
	chain_open(out, "output", "filter", "output", "filter");
	g_string_append(out, "\t\toifname @taps drop\n\t}\n");
}

char *qm_net_ruleset_render(const struct qm_net_ruleset *rs)
{
	GString *out = g_string_new(NULL);

	g_string_append_printf(out, "table inet %s {\n", rs->table);
	render_taps(out, rs);
	if (rs->fail_closed) {
		render_fail_closed(out);
		g_string_append(out, "}\n");
		return g_string_free(out, FALSE);
	}

	set_open(out, "uplinks", "ifname", false);
	for (guint i = 0; i < rs->uplinks->len; i++) {
		elem_sep(out, i);
		const char *u = g_ptr_array_index(rs->uplinks, i);
		g_string_append_printf(out, "\"%s\"", u);
	}
	set_close(out, rs->uplinks->len);

	set_open(out, "vm_addrs", "ifname . ether_addr . ipv4_addr", false);
	for (guint i = 0; i < rs->addrs->len; i++) {
		const struct qm_net_addr *a =
			&g_array_index(rs->addrs, struct qm_net_addr, i);
		elem_sep(out, i);
		g_string_append_printf(out, "\"%s\" . ", a->tap);
		for (int m = 0; m < 6; m++)
			g_string_append_printf(out, m ? ":%02x" : "%02x",
					       a->mac[m]);
		g_string_append(out, " . ");
		put_ip(out, a->ip4);
	}
	set_close(out, rs->addrs->len);

	static const char *const fwd_types[QM_NET_FWD_N] = {
		[QM_NET_FWD_ANY] = "ifname . ifname",
		[QM_NET_FWD_PROTO] = "ifname . ifname . inet_proto",
		[QM_NET_FWD_PORT] = "ifname . ifname . inet_proto . "
				    "inet_service",
		[QM_NET_FWD_RANGE] = "ifname . ifname . inet_proto . "
				     "inet_service",
	};
	for (int k = 0; k < QM_NET_FWD_N; k++) {
		size_t n = 0;
		set_open(out, qm_net_fwd_set_names[k], fwd_types[k],
			 k == QM_NET_FWD_RANGE);
		for (guint i = 0; i < rs->flows->len; i++) {
			const struct qm_net_flow *f = &g_array_index(
				rs->flows, struct qm_net_flow, i);
			if (qm_net_flow_set(f) != (enum qm_net_fwd_set)k)
				continue;
			elem_sep(out, n++);
			g_string_append_printf(out, "\"%s\" . \"%s\"", f->iif,
					       f->oif);
			if (k == QM_NET_FWD_ANY)
				continue;
			g_string_append(out, " . ");
			put_proto(out, f->proto_lo, f->proto_hi);
			if (k == QM_NET_FWD_PROTO)
				continue;
			g_string_append(out, " . ");
			put_ports(out, f->port_lo, f->port_hi);
		}
		set_close(out, n);
	}

	set_open(out, "fwd_pairs", "ifname . ifname", false);
	for (guint i = 0; i < rs->pairs->len; i++) {
		const struct qm_net_pair *p =
			&g_array_index(rs->pairs, struct qm_net_pair, i);
		elem_sep(out, i);
		g_string_append_printf(out, "\"%s\" . \"%s\"", p->iif, p->oif);
	}
	set_close(out, rs->pairs->len);

	chain_open(out, "antispoof", "filter", "prerouting", "raw");
	g_string_append(out,
			"\t\tiifname != @taps accept\n"
			"\t\tiifname . ether saddr . ip saddr @vm_addrs "
			"accept\n"
			"\t\tdrop\n\t}\n\n");

	if (rs->dns_addr != 0) {
		chain_open(out, "dstnat", "nat", "prerouting", "dstnat");
		for (int i = 0; i < 2; i++) {
			g_string_append(out, "\t\tiifname @taps ip daddr ");
			put_ip(out, rs->dns_addr);
			g_string_append_printf(out, " %s dport 53 dnat ip to ",
					       i == 0 ? "udp" : "tcp");
			put_ip(out, rs->dns_upstream);
			g_string_append(out, "\n");
		}
		g_string_append(out, "\t}\n\n");
	}

	chain_open(out, "forward", "filter", "forward", "filter");
	g_autofree char *mark = rs->ct_mark
		? g_strdup_printf("ct mark set 0x%08x ", rs->ct_mark)
		: g_strdup("");
	g_string_append(out,
		"\t\tiifname != @taps oifname != @taps accept\n"
		"\t\tmeta nfproto != ipv4 drop\n"
		"\t\tct state invalid,untracked drop\n");
	if (rs->ct_mark)
		g_string_append_printf(out, "\t\tct mark 0x%08x accept\n",
				       rs->ct_mark);
	for (int dir = 0; dir < 2; dir++) {
		for (int k = 0; k < QM_NET_FWD_N; k++) {
			g_string_append_printf(out, "\t\tct direction %s %s",
					       dir ? "reply" : "original",
					       dir ? "oifname . iifname"
						   : "iifname . oifname");
			if (k != QM_NET_FWD_ANY)
				g_string_append(out, " . meta l4proto");
			if (k == QM_NET_FWD_PORT || k == QM_NET_FWD_RANGE)
				g_string_append_printf(out, " . th %s",
						       dir ? "sport" : "dport");
			g_string_append_printf(out, " @%s %saccept\n",
					       qm_net_fwd_set_names[k], mark);
		}
	}
	g_string_append(out,
		"\t\tct direction reply ct state related meta l4proto icmp "
		"oifname . iifname @fwd_pairs accept\n"
		"\t\tdrop\n\t}\n\n");

	chain_open(out, "input", "filter", "input", "filter");
	g_string_append(out, "\t\tiifname @taps drop\n\t}\n\n");

	chain_open(out, "output", "filter", "output", "filter");
	g_string_append(out,
			"\t\toifname != @taps accept\n"
			"\t\tmeta nfproto ipv4 ct state related accept\n"
			"\t\tdrop\n\t}\n\n");

	chain_open(out, "srcnat", "nat", "postrouting", "srcnat");
	g_string_append(out,
			"\t\tiifname @taps oifname @uplinks masquerade\n\t}\n");
	g_string_append(out, "}\n");
	return g_string_free(out, FALSE);
}
