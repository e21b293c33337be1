/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The qmgr.Network service: what its rules may say (checked while the
 * policy loads, so a network rule that could never mean anything is an
 * error instead of a silent hole or a silent block), the syntax of its
 * arguments, and the read-only view of rules that qmgrd's nftables compiler
 * walks (qmgrd/net-compile.c).
 *
 * Network rules are not decided call by call like RPC: qmgrd flattens them
 * into a packet filter, so there is nobody to ask, no target to redirect to
 * and no user to run as.  Their targets are qubes and the built-in name
 * sys-net, the host's uplink.
 */
#include "internal.h"

#include <string.h>

/* Parses a decimal port 1..65535 without sign or leading zeros, from `p`
 * up to `end` (exclusive). */
static bool parse_port(const char *p, const char *end, guint16 *out)
{
	guint32 v = 0;

	if (p == end || end - p > 5 || *p == '0')
		return false;
	for (; p < end; p++) {
		if (!g_ascii_isdigit(*p))
			return false;
		v = v * 10 + (guint32)(*p - '0');
	}
	if (v < 1 || v > 65535)
		return false;
	*out = (guint16)v;
	return true;
}

bool pol_net_argument_parse(const char *arg, struct pol_net_match *out)
{
	static const struct {
		const char *name;
		enum pol_net_proto proto;
		bool ports;
	} protos[] = {
		{ "tcp", POL_NET_PROTO_TCP, true },
		{ "udp", POL_NET_PROTO_UDP, true },
		{ "icmp", POL_NET_PROTO_ICMP, false },
	};

	memset(out, 0, sizeof(*out));
	out->port_lo = 0;
	out->port_hi = 65535;
	if (arg == NULL || strcmp(arg, "*") == 0) {
		out->proto = POL_NET_PROTO_ALL;
		return true;
	}
	if (arg[0] != '+')
		return false;
	arg++;
	for (size_t i = 0; i < G_N_ELEMENTS(protos); i++) {
		size_t n = strlen(protos[i].name);
		if (strncmp(arg, protos[i].name, n) != 0)
			continue;
		const char *rest = arg + n;
		out->proto = protos[i].proto;
		if (*rest == '\0')
			return true;
		if (*rest != '-' || !protos[i].ports)
			return false;
		rest++;
		const char *dash = strchr(rest, '-');
		const char *end = rest + strlen(rest);
		if (dash == NULL)
			dash = end;
		if (!parse_port(rest, dash, &out->port_lo))
			return false;
		out->port_hi = out->port_lo;
		if (dash == end)
			return true;
		return parse_port(dash + 1, end, &out->port_hi) &&
		       out->port_lo <= out->port_hi;
	}
	return false;
}

/* ---- load-time checks (called by parser.c) ---- */

static const char *target_help =
	"use sys-net, a qube name, uuid:UUID, @anyvm, @tag:TAG, @type:CLASS "
	"or *";

void network_rule_check(struct pol_policy *pol, const char *file,
			unsigned line, const struct pol_rule *rule, bool *ok)
{
	struct pol_net_match m;

	if (rule->action == POL_ACTION_ASK) {
		policy_add_error(pol, file, line,
				 POL_NET_SERVICE ": 'ask' cannot be used for "
				 "network rules (use allow or deny)");
		*ok = false;
	}
	if (rule->redirect.kind != TOK_NONE ||
	    rule->default_target.kind != TOK_NONE || rule->user != NULL) {
		const char *opt = rule->redirect.kind != TOK_NONE ? "target"
				  : rule->default_target.kind != TOK_NONE
					  ? "default_target"
					  : "user";
		policy_add_error(pol, file, line,
				 POL_NET_SERVICE ": option '%s=' cannot be "
				 "used for network rules (a network rule has "
				 "no redirect, prompt or user)", opt);
		*ok = false;
	}
	if (!pol_net_argument_parse(rule->argument, &m)) {
		g_autofree char *q = g_strescape(rule->argument, NULL);
		policy_add_error(pol, file, line,
				 POL_NET_SERVICE ": invalid argument '%s' "
				 "(expected *, +tcp, +udp, +icmp, +tcp-PORT or "
				 "+tcp-LOW-HIGH with ports 1 to 65535 and LOW "
				 "<= HIGH, e.g. +tcp-443, +udp-53, "
				 "+tcp-8000-8080)", q);
		*ok = false;
	}
	if (rule->source.kind == TOK_ADMINVM) {
		policy_add_error(pol, file, line,
				 POL_NET_SERVICE ": source '%s' cannot be used "
				 "for network rules (the admin VM's own "
				 "network is not managed by qmgr)",
				 rule->source.text);
		*ok = false;
	}
	switch (rule->target.kind) {
	case TOK_NAME:
	case TOK_UUID:
	case TOK_ANYVM:
	case TOK_WILDCARD:
	case TOK_TYPE:
	case TOK_TAG:
		break;
	default:
		policy_add_error(pol, file, line,
				 POL_NET_SERVICE ": target '%s' cannot be used "
				 "for network rules (%s)", rule->target.text,
				 target_help);
		*ok = false;
		break;
	}
}

/* ---- the view qmgrd's compiler walks ---- */

size_t pol_policy_service_rules(const struct pol_policy *policy,
				const char *service,
				const struct pol_rule ***out)
{
	const GArray *list = policy_candidates(policy, service);
	const struct pol_rule **rules = g_new0(const struct pol_rule *,
					       list->len + 1);

	for (guint i = 0; i < list->len; i++)
		rules[i] = g_ptr_array_index(policy->rules,
					     g_array_index(list, guint, i));
	*out = rules;
	return list->len;
}

enum pol_action pol_rule_action(const struct pol_rule *rule)
{
	return rule->action;
}

const char *pol_rule_service(const struct pol_rule *rule)
{
	return rule->service;
}

const char *pol_rule_argument(const struct pol_rule *rule)
{
	return rule->argument;
}

const struct pol_vm *pol_system_vm(const struct pol_system *sys,
				   const char *name)
{
	return sys_find_name(sys, name);
}

const char *pol_rule_source_name(const struct pol_rule *rule)
{
	return rule->source.kind == TOK_NAME ? rule->source.value : NULL;
}

const char *pol_rule_target_name(const struct pol_rule *rule)
{
	return rule->target.kind == TOK_NAME ? rule->target.value : NULL;
}

bool pol_rule_source_matches_vm(const struct pol_rule *rule,
				const struct pol_system *sys,
				const struct pol_vm *vm)
{
	return vm != NULL && tok_match_source(&rule->source, sys, vm);
}

bool pol_rule_target_matches_vm(const struct pol_rule *rule,
				const struct pol_system *sys,
				const struct pol_vm *vm)
{
	struct intended it = { 0 };

	if (vm == NULL) {
		/* sys-net */
		switch (rule->target.kind) {
		case TOK_ANYVM:
		case TOK_WILDCARD:
			return true;
		case TOK_NAME:
			return strcmp(rule->target.value, POL_NET_UPLINK) == 0;
		default:
			return false;
		}
	}
	it.vm = vm;
	it.kind = vm->cls == POL_CLASS_ADMINVM ? IT_ADMINVM : IT_VM;
	it.text = vm->name;
	/* The source only matters to @dispvm targets, which network rules
	 * cannot have. */
	return tok_match_target(&rule->target, sys, NULL, &it);
}

bool pol_rule_source_matches(const struct pol_rule *rule,
			     const struct pol_system *sys, const char *vm_name)
{
	return pol_rule_source_matches_vm(rule, sys,
					  sys_find_name(sys, vm_name));
}

bool pol_rule_target_matches(const struct pol_rule *rule,
			     const struct pol_system *sys, const char *target)
{
	if (strcmp(target, POL_NET_UPLINK) == 0)
		return pol_rule_target_matches_vm(rule, sys, NULL);
	const struct pol_vm *vm = sys_find_name(sys, target);
	return vm != NULL && pol_rule_target_matches_vm(rule, sys, vm);
}
