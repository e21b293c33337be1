/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qvm-firewall's rules (firewall-rule.h): Qubes' RULE words parsed into a
 * struct rule, and a rule written as, and read back from, the qmgr.Network
 * policy lines of its qube's block.
 */
#include "config.h"

#include <string.h>

#include "firewall-rule.h"
#include "policy.h"
#include "vm.h"

#define COMMENT "# comment:"
#define DNS_MARK "# specialtarget=dns"

const char *const fw_proto_names[] = { "-", "tcp", "udp", "icmp" };

void fw_rule_free(struct rule *r)
{
	if (r == NULL)
		return;
	g_free(r->target);
	g_free(r->comment);
	g_free(r);
}

/* ---- RULE words (Qubes' syntax) ---------------------------------------- */

static bool unset_key(GPtrArray *order, const char *key)
{
	for (guint i = 0; i < order->len; i++)
		if (strcmp(order->pdata[i], key) == 0)
			return g_ptr_array_remove_index(order, i) != NULL;
	return false;
}

/* "N" or "LOW-HIGH", ports 1 to 65535 in plain decimal. */
static bool parse_ports(const char *v, struct rule *r, char **why)
{
	g_auto(GStrv) parts = g_strsplit(v, "-", 3);
	guint n = g_strv_length(parts);
	guint64 p[2] = { 0, 0 };
	for (guint i = 0; i < n && n <= 2; i++) {
		const char *s = parts[i];
		if (*s == '\0' || strspn(s, "0123456789") != strlen(s) ||
		    (s[0] == '0' && s[1] != '\0') || strlen(s) > 6)
			n = 3;
		else
			p[i] = g_ascii_strtoull(s, NULL, 10);
	}
	if (n < 1 || n > 2) {
		*why = g_strdup_printf("dstports=%s: expected a port or a "
				       "range LOW-HIGH (e.g. 443 or 1200-1400)",
				       v);
		return false;
	}
	if (n == 1)
		p[1] = p[0];
	for (guint i = 0; i < 2; i++) {
		if (p[i] < 1 || p[i] > 65535) {
			*why = g_strdup_printf("dstports=%s: ports are 1 to "
					       "65535", v);
			return false;
		}
	}
	if (p[0] > p[1]) {
		*why = g_strdup_printf("dstports=%s: the range's LOW is above "
				       "its HIGH", v);
		return false;
	}
	r->port_lo = (guint16)p[0];
	r->port_hi = (guint16)p[1];
	return true;
}

static bool check_target(const char *v, const char *vm, char **why)
{
	const char *name_why = NULL;
	if (strcmp(v, POL_NET_UPLINK) == 0)
		return true;
	if (!qm_vm_name_check(v, &name_why)) {
		*why = g_strdup_printf("target=%s: invalid qube name: %s "
				       "(the target is sys-net, the default, "
				       "or a qube)", v, name_why);
		return false;
	}
	if (strcmp(v, vm) == 0) {
		*why = g_strdup_printf("target=%s: a qube's traffic to itself "
				       "does not pass the firewall", v);
		return false;
	}
	return true;
}

static bool set_value(struct rule *r, const char *key, const char *v,
		      bool positional, const char *vm, GPtrArray *order,
		      char **why)
{
	if (strcmp(key, "action") == 0) {
		if (strcmp(v, "accept") != 0 && strcmp(v, "drop") != 0) {
			*why = g_strdup_printf(
				"action=%s: a network rule is action=accept "
				"or action=drop%s", v,
				strcmp(v, "ask") == 0
					? " (traffic cannot wait for a "
					  "question)" : "");
			return false;
		}
		r->accept = strcmp(v, "accept") == 0;
	} else if (strcmp(key, "dsthost") == 0) {
		*why = g_strdup_printf(
			"dsthost=%s%s: destination hosts are not supported: "
			"qmgr's network policy knows the uplink (sys-net) and "
			"qubes (target=VM), not addresses or names; narrow the "
			"rule with proto= and dstports= instead", v,
			positional ? " (the word after the action names the "
				     "host, as in Qubes)" : "");
		return false;
	} else if (strcmp(key, "icmptype") == 0) {
		*why = g_strdup_printf("icmptype=%s: ICMP types are not "
				       "supported: a rule accepts or drops all "
				       "of ICMP (proto=icmp)", v);
		return false;
	} else if (strcmp(key, "expire") == 0) {
		*why = g_strdup_printf("expire=%s: rules that expire are not "
				       "supported; remove the rule with "
				       "'qvm-firewall %s del' when it should "
				       "end", v, vm);
		return false;
	} else if (strcmp(key, "proto") == 0) {
		if (strcmp(v, "tcp") == 0)
			r->proto = PROTO_TCP;
		else if (strcmp(v, "udp") == 0)
			r->proto = PROTO_UDP;
		else if (strcmp(v, "icmp") == 0)
			r->proto = PROTO_ICMP;
		else {
			*why = g_strdup_printf("proto=%s: expected tcp, udp "
					       "or icmp", v);
			return false;
		}
		/* as Qubes: after tcp/udp a bare word is ports, after
		 * icmp an ICMP type */
		unset_key(order, r->proto == PROTO_ICMP ? "dstports"
							: "icmptype");
	} else if (strcmp(key, "dstports") == 0) {
		return parse_ports(v, r, why);
	} else if (strcmp(key, "specialtarget") == 0) {
		if (strcmp(v, "dns") != 0) {
			*why = g_strdup_printf("specialtarget=%s: only "
					       "specialtarget=dns is supported",
					       v);
			return false;
		}
		r->dns = true;
	} else if (strcmp(key, "target") == 0) {
		if (!check_target(v, vm, why))
			return false;
		g_free(r->target);
		r->target = g_strdup(v);
	} else if (strcmp(key, "comment") == 0) {
		for (const char *p = v; *p; p++) {
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				*why = g_strdup("comment= may not contain "
						"control characters");
				return false;
			}
		}
		if (!g_utf8_validate(v, -1, NULL)) {
			*why = g_strdup("comment= is not valid UTF-8");
			return false;
		}
		g_free(r->comment);
		r->comment = *v ? g_strdup(v) : NULL;
	}
	return true;
}

struct rule *fw_rule_from_words(char **words, const char *vm,
				char **why)
{
	static const char *const keys[] = {
		"action", "dsthost", "proto", "dstports", "icmptype",
		"specialtarget", "target", "comment", "expire",
	};
	g_autoptr(GPtrArray) order = g_ptr_array_new();
	for (int i = 0; i < 5; i++)
		g_ptr_array_add(order, (char *)keys[i]);
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash,
							 g_str_equal, g_free, NULL);
	struct rule *r = g_new0(struct rule, 1);
	r->target = g_strdup(POL_NET_UPLINK);

	for (char **w = words; *w; w++) {
		const char *eq = strchr(*w, '=');
		g_autofree char *key = eq ? g_strndup(*w, (gsize)(eq - *w))
					  : NULL;
		const char *v = eq ? eq + 1 : *w;
		bool positional = key == NULL;
		if (positional) {
			if (order->len == 0) {
				*why = g_strdup_printf("too many words in "
						       "the rule: '%s'", *w);
				goto fail;
			}
			key = g_strdup(order->pdata[0]);
		}
		if (strcmp(key, "dst4") == 0 || strcmp(key, "dst6") == 0) {
			g_free(key);
			key = g_strdup("dsthost");
		}
		bool known = false;
		for (size_t k = 0; k < G_N_ELEMENTS(keys); k++)
			known = known || strcmp(key, keys[k]) == 0;
		if (!known) {
			g_autofree char *s = g_strescape(*w, NULL);
			*why = g_strdup_printf(
				"unknown rule element '%s' (known: action, "
				"proto, dstports, specialtarget, target, "
				"comment)", s);
			goto fail;
		}
		if (!g_hash_table_add(seen, g_strdup(key))) {
			*why = g_strdup_printf("%s= given twice", key);
			goto fail;
		}
		unset_key(order, key);
		if (!set_value(r, key, v, positional, vm, order, why))
			goto fail;
	}
	if (!g_hash_table_contains(seen, "action")) {
		*why = g_strdup("a rule needs action=accept or action=drop");
		goto fail;
	}
	if (r->dns && (r->proto != PROTO_ANY || r->port_lo != 0 ||
		       strcmp(r->target, POL_NET_UPLINK) != 0)) {
		*why = g_strdup("specialtarget=dns means udp and tcp port 53 "
				"to sys-net: do not combine it with proto=, "
				"dstports= or target=");
		goto fail;
	}
	if (r->port_lo != 0 && r->proto != PROTO_TCP &&
	    r->proto != PROTO_UDP) {
		*why = g_strdup("dstports= needs proto=tcp or proto=udp");
		goto fail;
	}
	return r;
fail:
	fw_rule_free(r);
	return NULL;
}

bool fw_rule_equal(const struct rule *a, const struct rule *b)
{
	return a->accept == b->accept && a->proto == b->proto &&
	       a->port_lo == b->port_lo && a->port_hi == b->port_hi &&
	       a->dns == b->dns && strcmp(a->target, b->target) == 0 &&
	       (b->comment == NULL ||
		g_strcmp0(a->comment, b->comment) == 0);
}

char *fw_rule_ports_text(const struct rule *r)
{
	if (r->port_lo == 0)
		return g_strdup("-");
	if (r->port_lo == r->port_hi)
		return g_strdup_printf("%u", r->port_lo);
	return g_strdup_printf("%u-%u", r->port_lo, r->port_hi);
}

/* ---- policy lines ---------------------------------------------------- */

static void append_line(GString *out, const char *arg, const char *vm,
			const char *target, bool accept)
{
	g_string_append_printf(out, "qmgr.Network  %s  %s  %s  %s\n", arg, vm,
			       target, accept ? "allow" : "deny");
}

void fw_rule_render(const struct rule *r, const char *vm, GString *out)
{
	if (r->comment)
		g_string_append_printf(out, COMMENT " %s\n", r->comment);
	if (r->dns) {
		g_string_append(out, DNS_MARK "\n");
		append_line(out, "+udp-53", vm, POL_NET_UPLINK, r->accept);
		append_line(out, "+tcp-53", vm, POL_NET_UPLINK, r->accept);
		return;
	}
	g_autofree char *arg = NULL;
	if (r->proto == PROTO_ANY)
		arg = g_strdup("*");
	else if (r->port_lo == 0)
		arg = g_strdup_printf("+%s", fw_proto_names[r->proto]);
	else if (r->port_lo == r->port_hi)
		arg = g_strdup_printf("+%s-%u", fw_proto_names[r->proto],
				      r->port_lo);
	else
		arg = g_strdup_printf("+%s-%u-%u", fw_proto_names[r->proto],
				      r->port_lo, r->port_hi);
	append_line(out, arg, vm, r->target, r->accept);
}

/* One "qmgr.Network ARG VM TARGET allow|deny" line as a rule. */
static struct rule *rule_from_line(const char *line, const char *vm,
				   char **why)
{
	g_auto(GStrv) all = g_strsplit_set(line, " \t", -1);
	const char *f[6];
	guint n = 0;
	for (char **x = all; *x; x++)
		if (**x != '\0' && n < G_N_ELEMENTS(f))
			f[n++] = *x;
	if (n != 5 || strcmp(f[0], POL_NET_SERVICE) != 0) {
		*why = g_strdup("not a line qvm-firewall writes (expected "
				"'qmgr.Network ARGUMENT VM TARGET allow|deny')");
		return NULL;
	}
	if (strcmp(f[2], vm) != 0) {
		*why = g_strdup_printf("the rule's source '%s' is not the "
				       "block's qube '%s'", f[2], vm);
		return NULL;
	}
	struct pol_net_match m;
	if (!pol_net_argument_parse(f[1], &m)) {
		*why = g_strdup_printf("invalid argument '%s'", f[1]);
		return NULL;
	}
	bool accept = strcmp(f[4], "allow") == 0;
	if (!accept && strcmp(f[4], "deny") != 0) {
		*why = g_strdup_printf("action '%s' (expected allow or deny)",
				       f[4]);
		return NULL;
	}
	g_autofree char *target_why = NULL;
	if (!check_target(f[3], vm, &target_why)) {
		*why = g_steal_pointer(&target_why);
		return NULL;
	}
	struct rule *r = g_new0(struct rule, 1);
	r->accept = accept;
	r->target = g_strdup(f[3]);
	static const enum proto map[] = {
		[POL_NET_PROTO_ALL] = PROTO_ANY, [POL_NET_PROTO_TCP] = PROTO_TCP,
		[POL_NET_PROTO_UDP] = PROTO_UDP,
		[POL_NET_PROTO_ICMP] = PROTO_ICMP,
	};
	r->proto = map[m.proto];
	if ((r->proto == PROTO_TCP || r->proto == PROTO_UDP) &&
	    !(m.port_lo == 0 && m.port_hi == 65535)) {
		r->port_lo = m.port_lo;
		r->port_hi = m.port_hi;
	}
	return r;
}

static bool is_port53(const struct rule *r, enum proto p)
{
	return r->proto == p && r->port_lo == 53 && r->port_hi == 53 &&
	       strcmp(r->target, POL_NET_UPLINK) == 0;
}

bool fw_block_parse(struct block *b, const char *path, char **error)
{
	g_auto(GStrv) lines = g_strsplit(b->raw->str, "\n", -1);
	g_autofree char *comment = NULL;
	struct rule *dns_udp = NULL;
	int dns = 0;   /* 1: marker seen, 2: its udp line seen */
	unsigned lineno = b->first_line;
	g_autofree char *why = NULL;

	b->rules = g_ptr_array_new_with_free_func((GDestroyNotify)fw_rule_free);
	for (char **l = lines + 1; *l; l++) {
		lineno++;
		g_autofree char *s = g_strstrip(g_strdup(*l));
		if (*s == '\0')
			continue;
		if (g_str_has_prefix(s, COMMENT) && dns == 0) {
			if (comment != NULL) {
				why = g_strdup("two comment lines for one "
					       "rule");
				break;
			}
			comment = g_strdup(g_strstrip(s + strlen(COMMENT)));
			continue;
		}
		if (strcmp(s, DNS_MARK) == 0 && dns == 0) {
			dns = 1;
			continue;
		}
		if (s[0] == '#') {
			why = g_strdup("a comment qvm-firewall does not write "
				       "(it keeps only '" COMMENT " TEXT' "
				       "before a rule)");
			break;
		}
		struct rule *r = rule_from_line(s, b->vm, &why);
		if (r == NULL)
			break;
		if (dns == 1 && !is_port53(r, PROTO_UDP)) {
			fw_rule_free(r);
			why = g_strdup("after '" DNS_MARK "' expected "
				       "'qmgr.Network +udp-53 VM sys-net ...'");
			break;
		}
		if (dns == 2 && (!is_port53(r, PROTO_TCP) ||
				 r->accept != dns_udp->accept)) {
			fw_rule_free(r);
			why = g_strdup("expected the dns rule's second line, "
				       "'qmgr.Network +tcp-53 VM sys-net' "
				       "with the same action");
			break;
		}
		if (dns == 1) {
			dns_udp = r;
			dns = 2;
			continue;
		}
		if (dns == 2) {
			fw_rule_free(r);
			r = dns_udp;
			dns_udp = NULL;
			r->proto = PROTO_ANY;
			r->port_lo = r->port_hi = 0;
			r->dns = true;
			dns = 0;
		}
		r->comment = g_steal_pointer(&comment);
		g_ptr_array_add(b->rules, r);
	}
	if (why == NULL && (dns != 0 || comment != NULL))
		why = g_strdup("the block ends before the rule its comment "
			       "lines announce");
	fw_rule_free(dns_udp);
	if (why == NULL)
		return true;
	*error = g_strdup_printf("%s:%u: %s", path, lineno, why);
	return false;
}
