/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The libnftnl loader (qmgrd/net-nft.c) against the kernel, in a private
 * network namespace made at start (so the host's tables are never seen):
 *
 * - what it loads lists, with nft, exactly as the renderer's text does
 *   when nft itself loads that text (same bytecode, same elements);
 * - replacing the table drops old elements, touches no other table, and a
 *   batch the kernel refuses leaves the previous table as it was;
 * - removing works whether or not the table exists;
 * - packets, through veth pairs standing for taps and an uplink in their
 *   own namespaces: an allowed port passes (masqueraded), a denied one
 *   and a spoofed source do not, DNS is forwarded, qube to qube follows
 *   the policy, and revoking an allow cuts a flow that already exists.
 *
 * Needs root (CAP_NET_ADMIN) and nft(8) and ip(8) for checking and
 * plumbing; without root the whole test is skipped.
 */
#ifdef NDEBUG
#error "the net tests rely on assertions; do not build them with NDEBUG"
#endif
#ifdef G_DISABLE_ASSERT
#error "the net tests rely on g_assert; do not define G_DISABLE_ASSERT"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <gio/gio.h>
#include <glib.h>

#include "net-compile.h"
#include "net-nft.h"

/* ---- helpers ---- */

/* Runs argv (no shell), feeding `input`; returns its exit status and
 * stdout.  Failures to spawn fail the test. */
static int run(const char *const *argv, const char *input, char **out)
{
	g_autoptr(GSubprocess) p = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *o = NULL, *e = NULL;
	GSubprocessFlags flags = G_SUBPROCESS_FLAGS_STDOUT_PIPE |
				 G_SUBPROCESS_FLAGS_STDERR_PIPE;

	if (input != NULL)
		flags |= G_SUBPROCESS_FLAGS_STDIN_PIPE;
	p = g_subprocess_newv(argv, flags, &error);
	g_assert_no_error(error);
	g_subprocess_communicate_utf8(p, input, NULL, &o, &e, &error);
	g_assert_no_error(error);
	if (e != NULL && *e != '\0')
		g_test_message("%s: %s", argv[0], e);
	if (out != NULL)
		*out = g_steal_pointer(&o);
	return g_subprocess_get_exit_status(p);
}

static char *nft_list(const char *table)
{
	const char *argv[] = { "nft", "list", "table", "inet", table, NULL };
	char *out = NULL;

	if (run(argv, NULL, &out) != 0)
		g_clear_pointer(&out, g_free);
	return out;
}

static void nft_text(const char *text)
{
	const char *argv[] = { "nft", "-f", "-", NULL };

	g_assert_cmpint(run(argv, text, NULL), ==, 0);
}

static void sh_ip(const char *args)
{
	g_auto(GStrv) argv = NULL;
	g_autofree char *cmd = g_strconcat("ip ", args, NULL);

	g_assert_true(g_shell_parse_argv(cmd, NULL, &argv, NULL));
	if (run((const char *const *)argv, NULL, NULL) != 0)
		g_error("failed: %s", cmd);
}

static int strp_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * A listing made comparable: the table's name replaced by NAME, and the
 * elements of each set sorted (the kernel lists hash sets in hash order).
 */
static char *normalise(const char *listing, const char *table)
{
	g_autofree char *head = g_strdup_printf("table inet %s {", table);
	g_auto(GStrv) lines = g_strsplit(listing, "\n", -1);
	GString *out = g_string_new(NULL);
	g_autoptr(GString) elems = NULL;

	for (size_t i = 0; lines[i] != NULL; i++) {
		const char *l = lines[i];
		if (strcmp(l, head) == 0)
			l = "table inet NAME {";
		if (elems == NULL && strstr(l, "elements = { ") != NULL)
			elems = g_string_new(NULL);
		if (elems == NULL) {
			g_string_append_printf(out, "%s\n", l);
			continue;
		}
		g_string_append(elems, l);
		if (!g_str_has_suffix(l, "}"))
			continue;
		const char *open = strchr(elems->str, '{');
		g_autofree char *inner = g_strndup(
			open + 1, strlen(open + 1) - 1);
		g_auto(GStrv) items = g_strsplit(inner, ",", -1);
		g_autoptr(GPtrArray) sorted = g_ptr_array_new();
		for (size_t j = 0; items[j] != NULL; j++)
			g_ptr_array_add(sorted, g_strstrip(items[j]));
		g_ptr_array_sort(sorted, strp_cmp);
		g_string_append(out, "elements = {");
		for (guint j = 0; j < sorted->len; j++)
			g_string_append_printf(out, " %s",
					       (char *)sorted->pdata[j]);
		g_string_append(out, " }\n");
		g_string_free(g_steal_pointer(&elems), TRUE);
	}
	return g_string_free(out, FALSE);
}

static uint32_t ip4(const char *text)
{
	struct in_addr a;

	g_assert_cmpint(inet_pton(AF_INET, text, &a), ==, 1);
	return ntohl(a.s_addr);
}

/* ---- rulesets ---- */

struct vm {
	const char *name, *tags, *tap, *ip;
};

static const struct vm all_vms[] = {
	{ "work", "office", "qmt2", "10.137.0.2" },
	{ "personal", NULL, "qmt3", "10.137.0.3" },
	{ "admin", "admin", "qmt4", "10.137.0.4" },
	{ "late", NULL, "qmtestv5", "10.137.0.5" },
};

static const char *const uplinks[] = { "up0", "up1", NULL };

/* Compiles `policy` for the qubes of all_vms whose bit is in `which`. */
/* qmgrd gives every table it loads a new conntrack mark; the packet
 * tests below take a new one for every table they load, the pairs
 * compared with nft's reading share one. */
static uint32_t ct_mark_generation = 0x51c0ff00;

static struct qm_net_ruleset *compile(const char *table, const char *policy,
				      unsigned which)
{
	g_autoptr(pol_policy) p = pol_policy_load_string(
		"test.policy", policy, strlen(policy), NULL);
	g_autoptr(pol_system) sys = pol_system_create();
	struct qm_net_vm vms[G_N_ELEMENTS(all_vms)];
	size_t n = 0;
	const uint32_t upstream = ip4("192.0.2.2");
	const struct qm_net_config config = {
		.table = table,
		.uplinks = uplinks,
		.tap_prefix = "qmtestv",
		.dns_addr = ip4("10.139.1.1"),
		.dns_upstream = &upstream,
		.n_dns_upstream = 1,
		/* as qmgrd: a new mark per table (the packet tests below
		 * check that a removed allow still cuts a live flow) */
		.ct_mark = ct_mark_generation,
	};
	GError *error = NULL;

	for (size_t i = 0; i < pol_policy_error_count(p); i++)
		g_test_message("policy error: %s", pol_policy_error(p, i));
	for (size_t i = 0; i < G_N_ELEMENTS(all_vms); i++) {
		g_auto(GStrv) tags = all_vms[i].tags
			? g_strsplit(all_vms[i].tags, ";", -1) : NULL;
		struct pol_vm_info info = {
			.name = all_vms[i].name,
			.cls = POL_CLASS_APPVM,
			.tags = (const char *const *)tags,
		};
		g_assert_true(pol_system_add_vm(sys, &info, NULL));
		if (!(which & (1u << i)))
			continue;
		uint32_t a = ip4(all_vms[i].ip);
		vms[n++] = (struct qm_net_vm){
			.name = all_vms[i].name,
			.tap = all_vms[i].tap,
			.ip4 = a,
			.mac = { 0x00, 0x16, 0x3e, (uint8_t)(a >> 16),
				 (uint8_t)(a >> 8), (uint8_t)a },
		};
	}
	struct qm_net_ruleset *rs = qm_net_ruleset_compile(p, sys, vms, n,
							   &config, &error);
	g_assert_no_error(error);
	return rs;
}

static void apply(const struct qm_net_ruleset *rs)
{
	GError *error = NULL;

	if (!qm_net_nft_apply(rs, &error))
		g_error("apply: %s", error->message);
}

static const char *const rich_policy =
	"qmgr.Network +tcp-8000-8080 work sys-net deny\n"
	"qmgr.Network +tcp-443 work sys-net allow\n"
	"qmgr.Network +tcp-7000-9000 work sys-net allow\n"
	"qmgr.Network +udp-53 @anyvm sys-net allow\n"
	"qmgr.Network +icmp @anyvm @anyvm allow\n"
	"qmgr.Network +tcp-22 @tag:admin @tag:office allow\n"
	"qmgr.Network +tcp work sys-net deny\n"
	"qmgr.Network * work sys-net allow\n"
	"qmgr.Network * personal sys-net allow\n"
	"* * @anyvm @anyvm deny\n";

/* ---- tests of the table ---- */

/* libnftnl's table lists exactly as nft's reading of the rendered text. */
static void check_same_as_nft(const struct qm_net_ruleset *rs_a,
			      const struct qm_net_ruleset *rs_b)
{
	g_autofree char *text = qm_net_ruleset_render(rs_b);
	g_autofree char *list_a = NULL, *list_b = NULL;
	g_autofree char *norm_a = NULL, *norm_b = NULL;

	apply(rs_a);
	nft_text(text);
	list_a = nft_list(rs_a->table);
	list_b = nft_list(rs_b->table);
	g_assert_nonnull(list_a);
	g_assert_nonnull(list_b);
	norm_a = normalise(list_a, rs_a->table);
	norm_b = normalise(list_b, rs_b->table);
	g_test_message("libnftnl:\n%s", list_a);
	g_assert_cmpstr(norm_a, ==, norm_b);
	g_assert_true(qm_net_nft_remove(rs_a->table, NULL));
	g_assert_true(qm_net_nft_remove(rs_b->table, NULL));
}

static void test_lists_as_rendered(void)
{
	g_autoptr(qm_net_ruleset) a = compile("qmgr_a", rich_policy, 0xf);
	g_autoptr(qm_net_ruleset) b = compile("qmgr_b", rich_policy, 0xf);

	check_same_as_nft(a, b);
}

static void test_fail_closed_lists_as_rendered(void)
{
	const char *bad = "qmgr.Network * @anyvm sys-net ask\n";
	g_autoptr(qm_net_ruleset) a = compile("qmgr_a", bad, 0xf);
	g_autoptr(qm_net_ruleset) b = compile("qmgr_b", bad, 0xf);

	g_assert_true(a->fail_closed);
	check_same_as_nft(a, b);
}

static void test_empty_lists_as_rendered(void)
{
	g_autoptr(qm_net_ruleset) a = compile("qmgr_a", rich_policy, 0);
	g_autoptr(qm_net_ruleset) b = compile("qmgr_b", rich_policy, 0);

	check_same_as_nft(a, b);
}

/* Whether set `set` of table listing `list` has an element `elem`. */
static bool set_has(const char *list, const char *set, const char *elem)
{
	g_autofree char *head = g_strdup_printf("\tset %s {", set);
	const char *start = strstr(list, head);
	if (start == NULL)
		return false;
	const char *end = strstr(start, "\n\t}");
	g_assert_nonnull(end);
	g_autofree char *body = g_strndup(start, (gsize)(end - start));
	return strstr(body, elem) != NULL;
}

static void test_replace_remove(void)
{
	g_autoptr(qm_net_ruleset) one = compile("qmgr_t", rich_policy, 0x3);
	g_autoptr(qm_net_ruleset) two = compile(
		"qmgr_t", "qmgr.Network +udp-5000 @anyvm sys-net allow\n",
		0x6);
	g_autofree char *other = NULL, *other_after = NULL;
	g_autofree char *l1 = NULL, *l2 = NULL, *l3 = NULL;
	GError *error = NULL;

	nft_text("table inet other {\n chain c {\n  type filter hook "
		 "forward priority 0; policy accept;\n  iifname \"qmt2\" "
		 "counter accept\n }\n}\n");
	other = nft_list("other");
	g_assert_nonnull(other);

	/* absent, then present */
	g_assert_true(qm_net_nft_remove("qmgr_t", &error));
	g_assert_no_error(error);
	apply(one);
	l1 = nft_list("qmgr_t");
	g_assert_nonnull(l1);
	g_assert_true(set_has(l1, "fwd_port",
			      "\"qmt2\" . \"up0\" . tcp . 443"));
	g_assert_true(set_has(l1, "fwd_any", "\"qmt3\" . \"up1\""));
	apply(two);
	l2 = nft_list("qmgr_t");
	g_assert_nonnull(l2);
	g_assert_null(strstr(l2, "\"qmt2\""));
	g_assert_null(strstr(l2, "tcp . 443"));
	g_assert_true(set_has(l2, "fwd_port",
			      "\"qmt4\" . \"up0\" . udp . 5000"));
	g_assert_true(set_has(l2, "fwd_port",
			      "\"qmt3\" . \"up1\" . udp . 5000"));

	/* a batch the kernel refuses changes nothing: two overlapping
	 * elements of fwd_port */
	struct qm_net_flow dup = g_array_index(two->flows,
					       struct qm_net_flow, 0);
	g_array_append_val(two->flows, dup);
	g_assert_false(qm_net_nft_apply(two, &error));
	g_assert_nonnull(error);
	g_test_message("refused: %s", error->message);
	g_assert_nonnull(strstr(error->message, "fwd_port"));
	g_clear_error(&error);
	l3 = nft_list("qmgr_t");
	g_assert_cmpstr(l3, ==, l2);

	g_assert_true(qm_net_nft_remove("qmgr_t", &error));
	g_assert_no_error(error);
	g_assert_null(nft_list("qmgr_t"));
	g_assert_true(qm_net_nft_remove("qmgr_t", &error));
	g_assert_no_error(error);

	other_after = nft_list("other");
	g_assert_cmpstr(other_after, ==, other);
	nft_text("delete table inet other\n");
}

/* ---- packets ---- */

static char *ns_name(const char *what)
{
	return g_strdup_printf("qmgrt%d%s", (int)getpid(), what);
}

static int self_ns = -1;

/* A socket made in namespace `ns` (it stays there). */
static int socket_in(const char *ns, int type)
{
	g_autofree char *path = g_strdup_printf("/run/netns/%s", ns);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int s;

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(setns(fd, CLONE_NEWNET), ==, 0);
	close(fd);
	s = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	g_assert_cmpint(setns(self_ns, CLONE_NEWNET), ==, 0);
	g_assert_cmpint(s, >=, 0);
	return s;
}

static void bind_to(int s, const char *ip, unsigned port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	int one = 1;

	a.sin_addr.s_addr = htonl(ip4(ip));
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	g_assert_cmpint(bind(s, (struct sockaddr *)&a, sizeof(a)), ==, 0);
}

static void send_to(int s, const char *ip, unsigned port, const char *msg)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };

	a.sin_addr.s_addr = htonl(ip4(ip));
	g_assert_cmpint(sendto(s, msg, strlen(msg), 0, (struct sockaddr *)&a,
			       sizeof(a)), ==, (ssize_t)strlen(msg));
}

/* Waits up to `ms` for a datagram; returns its text (NULL: none) and
 * where it came from. */
static char *receive(int s, int ms, char from[INET_ADDRSTRLEN],
		     unsigned *from_port)
{
	struct pollfd p = { .fd = s, .events = POLLIN };
	char buf[256];
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);

	if (poll(&p, 1, ms) <= 0)
		return NULL;
	ssize_t n = recvfrom(s, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&a,
			     &alen);
	g_assert_cmpint(n, >=, 0);
	buf[n] = '\0';
	if (from != NULL)
		inet_ntop(AF_INET, &a.sin_addr, from, INET_ADDRSTRLEN);
	if (from_port != NULL)
		*from_port = ntohs(a.sin_port);
	return g_strdup(buf);
}

struct topo {
	char *vm1, *vm2, *net;
};

/* vm1 (work, 10.137.0.2) behind tap qmt2, vm2 (personal, 10.137.0.3)
 * behind qmt3, and "the internet" net (192.0.2.2) behind uplink up0; the
 * host routes between them and has no route back into 10.137.0.0/16
 * from net's side, so replies from there only arrive masqueraded. */
static void topo_up(struct topo *t)
{
	t->vm1 = ns_name("vm1");
	t->vm2 = ns_name("vm2");
	t->net = ns_name("net");
	const char *vms[] = { t->vm1, t->vm2 };
	const char *taps[] = { "qmt2", "qmt3" };
	const char *ips[] = { "10.137.0.2", "10.137.0.3" };
	const char *macs[] = { "00:16:3e:89:00:02", "00:16:3e:89:00:03" };

	for (int i = 0; i < 2; i++) {
		g_autofree char *c = NULL;
		sh_ip(c = g_strdup_printf("netns add %s", vms[i]));
		g_free(g_steal_pointer(&c));
		sh_ip(c = g_strdup_printf("link add %s type veth peer name "
					  "eth0 netns %s", taps[i], vms[i]));
		g_free(g_steal_pointer(&c));
		sh_ip(c = g_strdup_printf("-n %s link set eth0 address %s up",
					  vms[i], macs[i]));
		g_free(g_steal_pointer(&c));
		sh_ip(c = g_strdup_printf("-n %s addr add %s/32 dev eth0",
					  vms[i], ips[i]));
		g_free(g_steal_pointer(&c));
		sh_ip(c = g_strdup_printf("-n %s route add 10.137.0.1 dev eth0",
					  vms[i]));
		g_free(g_steal_pointer(&c));
		sh_ip(c = g_strdup_printf("-n %s route add default via "
					  "10.137.0.1", vms[i]));
		g_free(g_steal_pointer(&c));
		sh_ip(c = g_strdup_printf("addr add 10.137.0.1/32 dev %s",
					  taps[i]));
		g_free(g_steal_pointer(&c));
		sh_ip(c = g_strdup_printf("link set %s up", taps[i]));
		g_free(g_steal_pointer(&c));
		sh_ip(c = g_strdup_printf("route add %s/32 dev %s", ips[i],
					  taps[i]));
	}
	g_autofree char *c = NULL;
	sh_ip(c = g_strdup_printf("netns add %s", t->net));
	g_free(g_steal_pointer(&c));
	sh_ip(c = g_strdup_printf("link add up0 type veth peer name eth0 "
				  "netns %s", t->net));
	g_free(g_steal_pointer(&c));
	sh_ip(c = g_strdup_printf("-n %s link set eth0 up", t->net));
	g_free(g_steal_pointer(&c));
	sh_ip(c = g_strdup_printf("-n %s addr add 192.0.2.2/24 dev eth0",
				  t->net));
	sh_ip("addr add 192.0.2.1/24 dev up0");
	sh_ip("link set up0 up");
	sh_ip("link set lo up");
	/* our namespace's own setting (sysctl files follow the opener's) */
	FILE *f = fopen("/proc/sys/net/ipv4/ip_forward", "w");
	g_assert_nonnull(f);
	g_assert_cmpint(fputs("1\n", f), >=, 0);
	g_assert_cmpint(fclose(f), ==, 0);
}

static void topo_down(struct topo *t)
{
	const char *all[] = { t->vm1, t->vm2, t->net };

	for (int i = 0; i < 3; i++) {
		const char *argv[] = { "ip", "netns", "del", all[i], NULL };
		run(argv, NULL, NULL);
		g_free((char *)all[i]);
	}
}

/* Sends from vm1's socket to net's; true when it arrived. */
static bool udp_passes(int from, int to, const char *dst, unsigned port,
		       char src_seen[INET_ADDRSTRLEN])
{
	g_autofree char *got = NULL;

	send_to(from, dst, port, "hello");
	got = receive(to, 300, src_seen, NULL);
	return got != NULL && strcmp(got, "hello") == 0;
}

static void test_packets(void)
{
	struct topo t;
	char seen[INET_ADDRSTRLEN];
	g_autoptr(qm_net_ruleset) rs = NULL;
	g_autoptr(qm_net_ruleset) revoked = NULL;

	topo_up(&t);
	const char *policy =
		"qmgr.Network +udp-5001 work sys-net allow\n"
		"qmgr.Network +udp-53 work sys-net allow\n"
		"qmgr.Network +udp-6000 work personal allow\n"
		"qmgr.Network * @anyvm @anyvm deny\n";
	ct_mark_generation++;
	rs = compile("qmgr_p", policy, 0x3);
	apply(rs);

	int vm1 = socket_in(t.vm1, SOCK_DGRAM);
	int net5001 = socket_in(t.net, SOCK_DGRAM);
	int net5002 = socket_in(t.net, SOCK_DGRAM);
	int net53 = socket_in(t.net, SOCK_DGRAM);
	int vm2 = socket_in(t.vm2, SOCK_DGRAM);
	int vm2b = socket_in(t.vm2, SOCK_DGRAM);
	bind_to(net5001, "0.0.0.0", 5001);
	bind_to(net5002, "0.0.0.0", 5002);
	bind_to(net53, "0.0.0.0", 53);
	bind_to(vm2, "0.0.0.0", 6000);
	bind_to(vm2b, "0.0.0.0", 6001);
	bind_to(vm1, "10.137.0.2", 40000);

	g_test_message("allowed port, masqueraded");
	g_assert_true(udp_passes(vm1, net5001, "192.0.2.2", 5001, seen));
	g_assert_cmpstr(seen, ==, "192.0.2.1");

	g_test_message("the reply comes back");
	{
		send_to(net5001, "192.0.2.1", 40000, "reply");
		g_autofree char *got = receive(vm1, 300, seen, NULL);
		g_assert_cmpstr(got, ==, "reply");
	}

	g_test_message("denied port");
	g_assert_false(udp_passes(vm1, net5002, "192.0.2.2", 5002, NULL));

	g_test_message("DNS is forwarded to the upstream");
	g_assert_true(udp_passes(vm1, net53, "10.139.1.1", 53, seen));

	g_test_message("qube to qube, allowed port then another");
	g_assert_true(udp_passes(vm1, vm2, "10.137.0.3", 6000, seen));
	g_assert_cmpstr(seen, ==, "10.137.0.2");
	g_assert_false(udp_passes(vm1, vm2b, "10.137.0.3", 6001, NULL));

	g_test_message("personal has no allow");
	{
		int p = socket_in(t.vm2, SOCK_DGRAM);
		g_assert_false(udp_passes(p, net5001, "192.0.2.2", 5001, NULL));
		close(p);
	}

	g_test_message("spoofed source address");
	{
		g_autofree char *c = g_strdup_printf(
			"-n %s addr add 10.137.0.9/32 dev eth0", t.vm1);
		sh_ip(c);
		int spoof = socket_in(t.vm1, SOCK_DGRAM);
		bind_to(spoof, "10.137.0.9", 0);
		g_assert_false(udp_passes(spoof, net5001, "192.0.2.2", 5001,
					  NULL));
		close(spoof);
	}

	g_test_message("revoking the allow cuts the existing flow");
	g_assert_true(udp_passes(vm1, net5001, "192.0.2.2", 5001, seen));
	ct_mark_generation++;
	revoked = compile("qmgr_p", "qmgr.Network +udp-53 work sys-net "
				    "allow\n", 0x3);
	apply(revoked);
	g_assert_false(udp_passes(vm1, net5001, "192.0.2.2", 5001, NULL));

	g_test_message("a policy with errors lets nothing through");
	{
		ct_mark_generation++;
		g_autoptr(qm_net_ruleset) closed = compile(
			"qmgr_p", "qmgr.Network * @anyvm sys-net ask\n", 0x3);
		apply(closed);
		g_assert_false(udp_passes(vm1, net53, "10.139.1.1", 53, NULL));
		apply(rs);
		g_assert_true(udp_passes(vm1, net53, "10.139.1.1", 53, NULL));
	}

	close(vm1);
	close(net5001);
	close(net5002);
	close(net53);
	close(vm2);
	close(vm2b);
	g_assert_true(qm_net_nft_remove("qmgr_p", NULL));
	topo_down(&t);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root (CAP_NET_ADMIN)\n");
		return 0;
	}
	g_autofree char *nft = g_find_program_in_path("nft");
	g_autofree char *ip = g_find_program_in_path("ip");
	if (nft == NULL || ip == NULL) {
		printf("1..0 # SKIP needs nft and ip (apt-get install "
		       "nftables iproute2)\n");
		return 0;
	}
	/* Our own network namespace: nothing here can touch the host's
	 * tables or interfaces. */
	if (unshare(CLONE_NEWNET) != 0)
		g_error("unshare(CLONE_NEWNET): %s", g_strerror(errno));
	self_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	g_assert_cmpint(self_ns, >=, 0);

	g_test_add_func("/net/nft/lists_as_rendered", test_lists_as_rendered);
	g_test_add_func("/net/nft/fail_closed_lists_as_rendered",
			test_fail_closed_lists_as_rendered);
	g_test_add_func("/net/nft/empty_lists_as_rendered",
			test_empty_lists_as_rendered);
	g_test_add_func("/net/nft/replace_remove", test_replace_remove);
	g_test_add_func("/net/nft/packets", test_packets);
	return g_test_run();
}
