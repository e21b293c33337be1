/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The qmgr.Network service in the policy engine: its argument syntax, the
 * checks its rules get while loading, and the rule view qmgrd's nftables
 * compiler walks (rules in order, source and target matching, sys-net).
 */
#ifdef NDEBUG
#error "the policy tests rely on assertions; do not build them with NDEBUG"
#endif
#ifdef G_DISABLE_ASSERT
#error "the policy tests rely on g_assert; do not define G_DISABLE_ASSERT"
#endif

#include <stdbool.h>
#include <string.h>
#include <glib.h>

#include "policy.h"

#define WORK_UUID "5d1b2a9c-3f4e-4b6a-8c7d-0e1f2a3b4c5d"

static struct pol_policy *load(const char *text)
{
	return pol_policy_load_string("test.policy", text, strlen(text), NULL);
}

static void log_errors(const struct pol_policy *p)
{
	for (size_t i = 0; i < pol_policy_error_count(p); i++)
		g_test_message("policy error: %s", pol_policy_error(p, i));
}

/* ---- arguments ---- */

struct arg_case {
	const char *arg;
	bool ok;
	enum pol_net_proto proto;
	unsigned lo, hi;
};

static const struct arg_case arg_cases[] = {
	{ NULL, true, POL_NET_PROTO_ALL, 0, 65535 },
	{ "*", true, POL_NET_PROTO_ALL, 0, 65535 },
	{ "+tcp", true, POL_NET_PROTO_TCP, 0, 65535 },
	{ "+udp", true, POL_NET_PROTO_UDP, 0, 65535 },
	{ "+icmp", true, POL_NET_PROTO_ICMP, 0, 65535 },
	{ "+tcp-443", true, POL_NET_PROTO_TCP, 443, 443 },
	{ "+udp-53", true, POL_NET_PROTO_UDP, 53, 53 },
	{ "+tcp-1", true, POL_NET_PROTO_TCP, 1, 1 },
	{ "+tcp-65535", true, POL_NET_PROTO_TCP, 65535, 65535 },
	{ "+tcp-8000-8080", true, POL_NET_PROTO_TCP, 8000, 8080 },
	{ "+udp-1-65535", true, POL_NET_PROTO_UDP, 1, 65535 },
	{ "+tcp-22-22", true, POL_NET_PROTO_TCP, 22, 22 },
	{ "+", false, 0, 0, 0 },
	{ "+tcp-0", false, 0, 0, 0 },
	{ "+tcp-65536", false, 0, 0, 0 },
	{ "+tcp-99999", false, 0, 0, 0 },
	{ "+tcp-100000", false, 0, 0, 0 },
	{ "+tcp-0443", false, 0, 0, 0 },
	{ "+tcp-", false, 0, 0, 0 },
	{ "+tcp-80-", false, 0, 0, 0 },
	{ "+tcp--80", false, 0, 0, 0 },
	{ "+tcp-90-80", false, 0, 0, 0 },
	{ "+tcp-1-2-3", false, 0, 0, 0 },
	{ "+tcp-http", false, 0, 0, 0 },
	{ "+tcp443", false, 0, 0, 0 },
	{ "+icmp-8", false, 0, 0, 0 },
	{ "+TCP", false, 0, 0, 0 },
	{ "+sctp", false, 0, 0, 0 },
	{ "tcp", false, 0, 0, 0 },
	{ "+tcp-+443", false, 0, 0, 0 },
};

static void test_argument_parse(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(arg_cases); i++) {
		const struct arg_case *c = &arg_cases[i];
		struct pol_net_match m;
		bool ok = pol_net_argument_parse(c->arg, &m);

		g_test_message("argument %s", c->arg ? c->arg : "(null)");
		g_assert_cmpint(ok, ==, c->ok);
		if (!ok)
			continue;
		g_assert_cmpint(m.proto, ==, c->proto);
		g_assert_cmpuint(m.port_lo, ==, c->lo);
		g_assert_cmpuint(m.port_hi, ==, c->hi);
	}
}

/* ---- load-time checks ---- */

struct load_case {
	const char *line;
	/* NULL: valid; else the one error, exactly */
	const char *error;
};

static const struct load_case load_cases[] = {
	{ "qmgr.Network * @anyvm sys-net allow", NULL },
	{ "qmgr.Network +tcp-443 work sys-net allow", NULL },
	{ "qmgr.Network +udp-53 @tag:office sys-net deny", NULL },
	{ "qmgr.Network +icmp @type:AppVM @anyvm deny notify=no", NULL },
	{ "qmgr.Network +tcp-22 @dispvm:default-dvm work allow", NULL },
	{ "qmgr.Network * * * deny", NULL },
	{ "qmgr.Network * work @tag:db allow", NULL },
	{ "qmgr.Network * work uuid:" WORK_UUID " allow", NULL },
	{ "qmgr.Network +tcp-8000-8080 work @type:AppVM allow", NULL },
	/* a '*' service rule may still ask: it is not a network rule */
	{ "* * @anyvm @anyvm ask", NULL },
	{ "qmgr.Network * @anyvm sys-net ask",
	  "test.policy:1: qmgr.Network: 'ask' cannot be used for network "
	  "rules (use allow or deny)" },
	{ "qmgr.Network * @anyvm @anyvm allow target=work",
	  "test.policy:1: qmgr.Network: option 'target=' cannot be used for "
	  "network rules (a network rule has no redirect, prompt or user)" },
	{ "qmgr.Network * @anyvm @anyvm allow user=root",
	  "test.policy:1: qmgr.Network: option 'user=' cannot be used for "
	  "network rules (a network rule has no redirect, prompt or user)" },
	{ "qmgr.Network +tcp-0 @anyvm sys-net allow",
	  "test.policy:1: qmgr.Network: invalid argument '+tcp-0' (expected "
	  "*, +tcp, +udp, +icmp, +tcp-PORT or +tcp-LOW-HIGH with ports 1 to "
	  "65535 and LOW <= HIGH, e.g. +tcp-443, +udp-53, +tcp-8000-8080)" },
	{ "qmgr.Network +https @anyvm sys-net allow",
	  "test.policy:1: qmgr.Network: invalid argument '+https' (expected "
	  "*, +tcp, +udp, +icmp, +tcp-PORT or +tcp-LOW-HIGH with ports 1 to "
	  "65535 and LOW <= HIGH, e.g. +tcp-443, +udp-53, +tcp-8000-8080)" },
	{ "qmgr.Network +tcp-90-80 @anyvm sys-net allow",
	  "test.policy:1: qmgr.Network: invalid argument '+tcp-90-80' "
	  "(expected *, +tcp, +udp, +icmp, +tcp-PORT or +tcp-LOW-HIGH with "
	  "ports 1 to 65535 and LOW <= HIGH, e.g. +tcp-443, +udp-53, "
	  "+tcp-8000-8080)" },
	{ "qmgr.Network * @anyvm @dispvm allow",
	  "test.policy:1: qmgr.Network: target '@dispvm' cannot be used for "
	  "network rules (use sys-net, a qube name, uuid:UUID, @anyvm, "
	  "@tag:TAG, @type:CLASS or *)" },
	{ "qmgr.Network * @anyvm @dispvm:default-dvm allow",
	  "test.policy:1: qmgr.Network: target '@dispvm:default-dvm' cannot "
	  "be used for network rules (use sys-net, a qube name, uuid:UUID, "
	  "@anyvm, @tag:TAG, @type:CLASS or *)" },
	{ "qmgr.Network * @anyvm @default deny",
	  "test.policy:1: qmgr.Network: target '@default' cannot be used for "
	  "network rules (use sys-net, a qube name, uuid:UUID, @anyvm, "
	  "@tag:TAG, @type:CLASS or *)" },
	{ "qmgr.Network * @anyvm dom0 allow",
	  "test.policy:1: qmgr.Network: target 'dom0' cannot be used for "
	  "network rules (use sys-net, a qube name, uuid:UUID, @anyvm, "
	  "@tag:TAG, @type:CLASS or *)" },
	{ "qmgr.Network * @anyvm @adminvm allow",
	  "test.policy:1: qmgr.Network: target '@adminvm' cannot be used for "
	  "network rules (use sys-net, a qube name, uuid:UUID, @anyvm, "
	  "@tag:TAG, @type:CLASS or *)" },
	{ "qmgr.Network * dom0 sys-net allow",
	  "test.policy:1: qmgr.Network: source 'dom0' cannot be used for "
	  "network rules (the admin VM's own network is not managed by "
	  "qmgr)" },
};

static void test_load(gconstpointer data)
{
	const struct load_case *c = data;
	g_autoptr(pol_policy) p = load(c->line);

	log_errors(p);
	if (c->error == NULL) {
		g_assert_true(pol_policy_is_valid(p));
		g_assert_cmpuint(pol_policy_rule_count(p), ==, 1);
		return;
	}
	g_assert_false(pol_policy_is_valid(p));
	g_assert_cmpuint(pol_policy_error_count(p), ==, 1);
	g_assert_cmpstr(pol_policy_error(p, 0), ==, c->error);
}

/* Every mistake of a file is reported, and the others still load. */
static void test_load_reports_every_error(void)
{
	g_autoptr(pol_policy) p = load(
		"qmgr.Network +tcp-443 work sys-net allow\n"
		"qmgr.Network * @anyvm sys-net ask\n"
		"qmgr.Network +tcp-0 @anyvm sys-net allow\n"
		"qmgr.Filecopy * @anyvm @anyvm ask\n");

	log_errors(p);
	g_assert_cmpuint(pol_policy_error_count(p), ==, 2);
	g_assert_true(g_str_has_prefix(pol_policy_error(p, 0),
				       "test.policy:2: "));
	g_assert_true(g_str_has_prefix(pol_policy_error(p, 1),
				       "test.policy:3: "));
	g_assert_cmpuint(pol_policy_rule_count(p), ==, 2);
}

/* ---- the rule view ---- */

static struct pol_system *make_system(void)
{
	static const char *const office[] = { "office", NULL };
	static const struct pol_vm_info vms[] = {
		{ .name = "work", .cls = POL_CLASS_APPVM, .uuid = WORK_UUID,
		  .tags = office },
		{ .name = "personal", .cls = POL_CLASS_APPVM },
		{ .name = "vault", .cls = POL_CLASS_STANDALONEVM },
	};
	struct pol_system *sys = pol_system_create();

	for (size_t i = 0; i < G_N_ELEMENTS(vms); i++)
		g_assert_true(pol_system_add_vm(sys, &vms[i], NULL));
	g_assert_true(pol_system_check(sys, NULL));
	return sys;
}

static void test_service_rules_in_order(void)
{
	g_autoptr(pol_policy) p = load(
		"qmgr.Network +tcp-443 work sys-net allow\n"
		"qmgr.Filecopy * @anyvm @anyvm deny\n"
		"* * @anyvm vault deny\n"
		"qmgr.Network * @anyvm sys-net allow\n");
	g_autofree const struct pol_rule **rules = NULL;
	size_t n = pol_policy_service_rules(p, POL_NET_SERVICE, &rules);

	log_errors(p);
	g_assert_true(pol_policy_is_valid(p));
	g_assert_cmpuint(n, ==, 3);
	g_assert_cmpuint(pol_rule_line(rules[0]), ==, 1);
	g_assert_cmpuint(pol_rule_line(rules[1]), ==, 3);
	g_assert_cmpuint(pol_rule_line(rules[2]), ==, 4);
	g_assert_null(rules[3]);
	g_assert_cmpstr(pol_rule_argument(rules[0]), ==, "+tcp-443");
	g_assert_null(pol_rule_argument(rules[1]));
	g_assert_null(pol_rule_service(rules[1]));
	g_assert_cmpstr(pol_rule_service(rules[2]), ==, POL_NET_SERVICE);
	g_assert_cmpint(pol_rule_action(rules[0]), ==, POL_ACTION_ALLOW);
	g_assert_cmpint(pol_rule_action(rules[1]), ==, POL_ACTION_DENY);

	/* a service no rule names gets the '*' rules only */
	g_autofree const struct pol_rule **other = NULL;
	g_assert_cmpuint(pol_policy_service_rules(p, "qmgr.Nothing", &other),
			 ==, 1);
}

struct match_case {
	const char *column;   /* "SOURCE TARGET" of the rule */
	const char *who;      /* source or target asked about */
	bool source;          /* ask about the source column */
	bool match;
};

static const struct match_case match_cases[] = {
	{ "work sys-net", "work", true, true },
	{ "work sys-net", "personal", true, false },
	{ "work sys-net", "nosuchvm", true, false },
	{ "@tag:office sys-net", "work", true, true },
	{ "@tag:office sys-net", "vault", true, false },
	{ "@type:StandaloneVM sys-net", "vault", true, true },
	{ "uuid:" WORK_UUID " sys-net", "work", true, true },
	{ "@anyvm sys-net", "vault", true, true },
	{ "* sys-net", "personal", true, true },
	/* sys-net as a target: only sys-net, @anyvm and * */
	{ "@anyvm sys-net", "sys-net", false, true },
	{ "@anyvm @anyvm", "sys-net", false, true },
	{ "@anyvm *", "sys-net", false, true },
	{ "@anyvm work", "sys-net", false, false },
	{ "@anyvm @tag:office", "sys-net", false, false },
	{ "@anyvm @type:AppVM", "sys-net", false, false },
	/* qubes as targets */
	{ "@anyvm sys-net", "work", false, false },
	{ "@anyvm work", "work", false, true },
	{ "@anyvm work", "personal", false, false },
	{ "@anyvm @tag:office", "work", false, true },
	{ "@anyvm @tag:office", "personal", false, false },
	{ "@anyvm @type:AppVM", "personal", false, true },
	{ "@anyvm @type:AppVM", "vault", false, false },
	{ "@anyvm uuid:" WORK_UUID, "work", false, true },
	{ "@anyvm @anyvm", "vault", false, true },
	{ "@anyvm *", "vault", false, true },
	{ "@anyvm work", "nosuchvm", false, false },
};

static void test_rule_matches(void)
{
	g_autoptr(pol_system) sys = make_system();

	for (size_t i = 0; i < G_N_ELEMENTS(match_cases); i++) {
		const struct match_case *c = &match_cases[i];
		g_autofree char *text = g_strdup_printf(
			"qmgr.Network * %s allow\n", c->column);
		g_autoptr(pol_policy) p = load(text);
		g_autofree const struct pol_rule **rules = NULL;

		g_test_message("rule '%s', %s %s", c->column,
			       c->source ? "source" : "target", c->who);
		log_errors(p);
		g_assert_true(pol_policy_is_valid(p));
		g_assert_cmpuint(pol_policy_service_rules(p, POL_NET_SERVICE,
							  &rules), ==, 1);
		bool got = c->source
				   ? pol_rule_source_matches(rules[0], sys, c->who)
				   : pol_rule_target_matches(rules[0], sys, c->who);
		g_assert_cmpint(got, ==, c->match);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/policy/network/argument_parse", test_argument_parse);
	for (size_t i = 0; i < G_N_ELEMENTS(load_cases); i++) {
		g_autofree char *path = g_strdup_printf(
			"/policy/network/load/%zu", i);
		g_test_add_data_func(path, &load_cases[i], test_load);
	}
	g_test_add_func("/policy/network/load_reports_every_error",
			test_load_reports_every_error);
	g_test_add_func("/policy/network/service_rules_in_order",
			test_service_rules_in_order);
	g_test_add_func("/policy/network/rule_matches", test_rule_matches);
	return g_test_run();
}
