/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * For test-firewall.sh: loads a policy directory as qmgrd would and says
 * which qmgr.Network rule decides a flow, walking the rules in order with
 * the policy library's own matching, first match winning.
 *
 *   fw-policy-query DIR SOURCE TARGET PROTO PORT [SOURCE TARGET PROTO PORT]...
 *
 * prints one line per flow: "allow FILE:LINE" or "deny FILE:LINE" for the
 * deciding rule, "drop" when no rule matches; "invalid" (and the errors on
 * stderr) when the policy does not load.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

static bool add_vm(struct pol_system *sys, const char *name)
{
	if (strcmp(name, POL_NET_UPLINK) == 0)
		return true;
	struct pol_vm_info info = { .name = name, .cls = POL_CLASS_APPVM };
	GError *err = NULL;
	/* already added: fine */
	if (!pol_system_add_vm(sys, &info, &err))
		g_clear_error(&err);
	return true;
}

static bool covers(const struct pol_rule *rule, enum pol_net_proto proto,
		   unsigned port)
{
	struct pol_net_match m;
	if (!pol_net_argument_parse(pol_rule_argument(rule), &m))
		return false;
	if (m.proto == POL_NET_PROTO_ALL)
		return true;
	if (m.proto != proto)
		return false;
	return proto == POL_NET_PROTO_ICMP ||
	       (port >= m.port_lo && port <= m.port_hi);
}

int main(int argc, char **argv)
{
	if (argc < 6 || (argc - 2) % 4 != 0) {
		fprintf(stderr, "usage: fw-policy-query DIR (SOURCE TARGET "
				"PROTO PORT)...\n");
		return 2;
	}
	const char *dirs[] = { argv[1] };
	g_autoptr(pol_policy) policy = pol_policy_load_dirs(dirs, 1);
	if (!pol_policy_is_valid(policy)) {
		for (size_t i = 0; i < pol_policy_error_count(policy); i++)
			fprintf(stderr, "%s\n", pol_policy_error(policy, i));
		printf("invalid\n");
		return 1;
	}
	g_autoptr(pol_system) sys = pol_system_create();
	for (int i = 2; i < argc; i += 4) {
		add_vm(sys, argv[i]);
		add_vm(sys, argv[i + 1]);
	}
	const struct pol_rule **rules = NULL;
	pol_policy_service_rules(policy, POL_NET_SERVICE, &rules);
	for (int i = 2; i < argc; i += 4) {
		const char *proto = argv[i + 2];
		enum pol_net_proto p = strcmp(proto, "tcp") == 0 ? POL_NET_PROTO_TCP
				     : strcmp(proto, "udp") == 0 ? POL_NET_PROTO_UDP
								 : POL_NET_PROTO_ICMP;
		unsigned port = (unsigned)strtoul(argv[i + 3], NULL, 10);
		const struct pol_rule *found = NULL;
		for (const struct pol_rule **r = rules; *r && !found; r++)
			if (pol_rule_source_matches(*r, sys, argv[i]) &&
			    pol_rule_target_matches(*r, sys, argv[i + 1]) &&
			    covers(*r, p, port))
				found = *r;
		if (found == NULL) {
			printf("drop\n");
			continue;
		}
		g_autofree char *base = g_path_get_basename(
			pol_rule_file(found));
		printf("%s %s:%u\n",
		       pol_rule_action(found) == POL_ACTION_ALLOW ? "allow"
								  : "deny",
		       base, pol_rule_line(found));
	}
	g_free(rules);
	return 0;
}
