/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The qmgr.Network compiler (qmgrd/net-compile.c): a policy text, the
 * qubes it is decided against and the networked ones that run, compiled
 * and rendered as `nft -f` text, compared exactly with the expected
 * ruleset written out below.  Set QMGR_TEST_PRINT=1 to see what a case
 * renders (to review a changed expectation before pasting it).
 */
#ifdef NDEBUG
#error "the net tests rely on assertions; do not build them with NDEBUG"
#endif
#ifdef G_DISABLE_ASSERT
#error "the net tests rely on g_assert; do not define G_DISABLE_ASSERT"
#endif

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>

#include "net-compile.h"

/* ---- the qubes of a case ---- */

struct vm_spec {
	const char *name;
	const char *tags;       /* "a;b" or NULL */
	const char *tap;
	const char *ip;
	const char *netvm;      /* NULL: sys-net */
	enum pol_vm_class cls;  /* 0 (AdminVM) is taken as AppVM here */
};

#define MAX_VMS 8

struct compile_case {
	uint32_t ct_mark;
	const char *name;
	const char *policy;
	struct vm_spec vms[MAX_VMS];
	const char *tap_prefix;
	bool two_uplinks;
	bool no_dns;
	const char *expected;
};

/* The head every non-fail-closed expectation with DNS shares is written
 * out in full in the first case; the others spell out only what differs
 * by building from these pieces. */
#define CHAINS_DNS(upstream)                                                  \
	"\tchain antispoof {\n"                                               \
	"\t\ttype filter hook prerouting priority raw; policy accept;\n"     \
	"\t\tiifname != @taps accept\n"                                       \
	"\t\tiifname . ether saddr . ip saddr @vm_addrs accept\n"             \
	"\t\tdrop\n"                                                          \
	"\t}\n\n"                                                             \
	"\tchain dstnat {\n"                                                  \
	"\t\ttype nat hook prerouting priority dstnat; policy accept;\n"     \
	"\t\tiifname @taps ip daddr 10.139.1.1 udp dport 53 dnat ip to "      \
	upstream "\n"                                                         \
	"\t\tiifname @taps ip daddr 10.139.1.1 tcp dport 53 dnat ip to "      \
	upstream "\n"                                                         \
	"\t}\n\n" CHAINS_REST

#define CHAINS_NO_DNS                                                         \
	"\tchain antispoof {\n"                                               \
	"\t\ttype filter hook prerouting priority raw; policy accept;\n"     \
	"\t\tiifname != @taps accept\n"                                       \
	"\t\tiifname . ether saddr . ip saddr @vm_addrs accept\n"             \
	"\t\tdrop\n"                                                          \
	"\t}\n\n" CHAINS_REST

#define CHAINS_REST                                                           \
	"\tchain forward {\n"                                                 \
	"\t\ttype filter hook forward priority filter; policy accept;\n"     \
	"\t\tiifname != @taps oifname != @taps accept\n"                      \
	"\t\tmeta nfproto != ipv4 drop\n"                                     \
	"\t\tct state invalid,untracked drop\n"                               \
	"\t\tct direction original iifname . oifname "                        \
	"@fwd_any accept\n"                                                   \
	"\t\tct direction original iifname . oifname . meta l4proto "         \
	"@fwd_proto accept\n"                                                 \
	"\t\tct direction original iifname . oifname . meta l4proto . th dport " \
	"@fwd_port accept\n"                                                  \
	"\t\tct direction original iifname . oifname . meta l4proto . th dport " \
	"@fwd_range accept\n"                                                 \
	"\t\tct direction reply oifname . iifname "                           \
	"@fwd_any accept\n"                                                   \
	"\t\tct direction reply oifname . iifname . meta l4proto "            \
	"@fwd_proto accept\n"                                                 \
	"\t\tct direction reply oifname . iifname . meta l4proto . th sport " \
	"@fwd_port accept\n"                                                  \
	"\t\tct direction reply oifname . iifname . meta l4proto . th sport " \
	"@fwd_range accept\n"                                                 \
	"\t\tct direction reply ct state related meta l4proto icmp oifname "  \
	". iifname @fwd_pairs accept\n"                                       \
	"\t\tdrop\n"                                                          \
	"\t}\n\n"                                                             \
	"\tchain input {\n"                                                   \
	"\t\ttype filter hook input priority filter; policy accept;\n"       \
	"\t\tiifname @taps drop\n"                                            \
	"\t}\n\n"                                                             \
	"\tchain output {\n"                                                  \
	"\t\ttype filter hook output priority filter; policy accept;\n"      \
	"\t\toifname != @taps accept\n"                                       \
	"\t\tmeta nfproto ipv4 ct state related accept\n"                     \
	"\t\tdrop\n"                                                          \
	"\t}\n\n"                                                             \
	"\tchain srcnat {\n"                                                  \
	"\t\ttype nat hook postrouting priority srcnat; policy accept;\n"    \
	"\t\tiifname @taps oifname @uplinks masquerade\n"                     \
	"\t}\n"                                                               \
	"}\n"

#define TAPS_WORK_PERSONAL                                                    \
	"\tset taps {\n"                                                      \
	"\t\ttype ifname\n"                                                   \
	"\t\tflags interval\n"                                                \
	"\t\telements = { \"qmt2\",\n"                                        \
	"\t\t\t     \"qmt3\" }\n"                                             \
	"\t}\n\n"

#define UPLINKS_ETH0                                                          \
	"\tset uplinks {\n"                                                   \
	"\t\ttype ifname\n"                                                   \
	"\t\telements = { \"eth0\" }\n"                                       \
	"\t}\n\n"

#define ADDRS_WORK_PERSONAL                                                   \
	"\tset vm_addrs {\n"                                                  \
	"\t\ttype ifname . ether_addr . ipv4_addr\n"                          \
	"\t\telements = { \"qmt2\" . 00:16:3e:89:00:02 . 10.137.0.2,\n"       \
	"\t\t\t     \"qmt3\" . 00:16:3e:89:00:03 . 10.137.0.3 }\n"            \
	"\t}\n\n"

#define FWD_PAIRS_HEAD                                                        \
	"\tset fwd_pairs {\n"                                                 \
	"\t\ttype ifname . ifname\n"

/* work (qmt2) and personal (qmt3), both through sys-net */
#define WORK_PERSONAL                                                         \
	{ "work", "office", "qmt2", "10.137.0.2", NULL, POL_CLASS_APPVM },   \
	{ "personal", NULL, "qmt3", "10.137.0.3", NULL, POL_CLASS_APPVM }

/* The shipped default: qubes reach sys-net, nothing else. */
#define DEFAULT_POLICY                                                        \
	"qmgr.Network * @anyvm sys-net allow\n"                               \
	"* * @anyvm @anyvm deny\n"

static const struct compile_case cases[] = {
{
	.name = "default_policy",
	.policy = DEFAULT_POLICY,
	.vms = { WORK_PERSONAL },
	.expected =
	"table inet qmgr_test {\n"
	"\tset taps {\n"
	"\t\ttype ifname\n"
	"\t\tflags interval\n"
	"\t\telements = { \"qmt2\",\n"
	"\t\t\t     \"qmt3\" }\n"
	"\t}\n"
	"\n"
	"\tset uplinks {\n"
	"\t\ttype ifname\n"
	"\t\telements = { \"eth0\" }\n"
	"\t}\n"
	"\n"
	"\tset vm_addrs {\n"
	"\t\ttype ifname . ether_addr . ipv4_addr\n"
	"\t\telements = { \"qmt2\" . 00:16:3e:89:00:02 . 10.137.0.2,\n"
	"\t\t\t     \"qmt3\" . 00:16:3e:89:00:03 . 10.137.0.3 }\n"
	"\t}\n"
	"\n"
	"\tset fwd_any {\n"
	"\t\ttype ifname . ifname\n"
	"\t\telements = { \"qmt2\" . \"eth0\",\n"
	"\t\t\t     \"qmt3\" . \"eth0\" }\n"
	"\t}\n"
	"\n"
	"\tset fwd_proto {\n"
	"\t\ttype ifname . ifname . inet_proto\n"
	"\t}\n"
	"\n"
	"\tset fwd_port {\n"
	"\t\ttype ifname . ifname . inet_proto . inet_service\n"
	"\t}\n"
	"\n"
	"\tset fwd_range {\n"
	"\t\ttype ifname . ifname . inet_proto . inet_service\n"
	"\t\tflags interval\n"
	"\t}\n"
	"\n"
	"\tset fwd_pairs {\n"
	"\t\ttype ifname . ifname\n"
	"\t\telements = { \"qmt2\" . \"eth0\",\n"
	"\t\t\t     \"qmt3\" . \"eth0\" }\n"
	"\t}\n"
	"\n"
	"\tchain antispoof {\n"
	"\t\ttype filter hook prerouting priority raw; policy accept;\n"
	"\t\tiifname != @taps accept\n"
	"\t\tiifname . ether saddr . ip saddr @vm_addrs accept\n"
	"\t\tdrop\n"
	"\t}\n"
	"\n"
	"\tchain dstnat {\n"
	"\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
	"\t\tiifname @taps ip daddr 10.139.1.1 udp dport 53 dnat ip to "
	"192.168.1.1\n"
	"\t\tiifname @taps ip daddr 10.139.1.1 tcp dport 53 dnat ip to "
	"192.168.1.1\n"
	"\t}\n"
	"\n"
	"\tchain forward {\n"
	"\t\ttype filter hook forward priority filter; policy accept;\n"
	"\t\tiifname != @taps oifname != @taps accept\n"
	"\t\tmeta nfproto != ipv4 drop\n"
	"\t\tct state invalid,untracked drop\n"
	"\t\tct direction original iifname . oifname "
	"@fwd_any accept\n"
	"\t\tct direction original iifname . oifname . meta l4proto "
	"@fwd_proto accept\n"
	"\t\tct direction original iifname . oifname . meta l4proto . th dport "
	"@fwd_port accept\n"
	"\t\tct direction original iifname . oifname . meta l4proto . th dport "
	"@fwd_range accept\n"
	"\t\tct direction reply oifname . iifname "
	"@fwd_any accept\n"
	"\t\tct direction reply oifname . iifname . meta l4proto "
	"@fwd_proto accept\n"
	"\t\tct direction reply oifname . iifname . meta l4proto . th sport "
	"@fwd_port accept\n"
	"\t\tct direction reply oifname . iifname . meta l4proto . th sport "
	"@fwd_range accept\n"
	"\t\tct direction reply ct state related meta l4proto icmp oifname . "
	"iifname @fwd_pairs accept\n"
	"\t\tdrop\n"
	"\t}\n"
	"\n"
	"\tchain input {\n"
	"\t\ttype filter hook input priority filter; policy accept;\n"
	"\t\tiifname @taps drop\n"
	"\t}\n"
	"\n"
	"\tchain output {\n"
	"\t\ttype filter hook output priority filter; policy accept;\n"
	"\t\toifname != @taps accept\n"
	"\t\tmeta nfproto ipv4 ct state related accept\n"
	"\t\tdrop\n"
	"\t}\n"
	"\n"
	"\tchain srcnat {\n"
	"\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
	"\t\tiifname @taps oifname @uplinks masquerade\n"
	"\t}\n"
	"}\n",
},
{
	.name = "ct_mark_fast_path",
	/* as qmgrd loads it: judged connections skip the lookup */
	.ct_mark = 0x51c0ffee,
	.policy = DEFAULT_POLICY,
	.vms = { WORK_PERSONAL },
	.expected =
	"table inet qmgr_test {\n"
	"\tset taps {\n"
	"\t\ttype ifname\n"
	"\t\tflags interval\n"
	"\t\telements = { \"qmt2\",\n"
	"\t\t\t     \"qmt3\" }\n"
	"\t}\n"
	"\n"
	"\tset uplinks {\n"
	"\t\ttype ifname\n"
	"\t\telements = { \"eth0\" }\n"
	"\t}\n"
	"\n"
	"\tset vm_addrs {\n"
	"\t\ttype ifname . ether_addr . ipv4_addr\n"
	"\t\telements = { \"qmt2\" . 00:16:3e:89:00:02 . 10.137.0.2,\n"
	"\t\t\t     \"qmt3\" . 00:16:3e:89:00:03 . 10.137.0.3 }\n"
	"\t}\n"
	"\n"
	"\tset fwd_any {\n"
	"\t\ttype ifname . ifname\n"
	"\t\telements = { \"qmt2\" . \"eth0\",\n"
	"\t\t\t     \"qmt3\" . \"eth0\" }\n"
	"\t}\n"
	"\n"
	"\tset fwd_proto {\n"
	"\t\ttype ifname . ifname . inet_proto\n"
	"\t}\n"
	"\n"
	"\tset fwd_port {\n"
	"\t\ttype ifname . ifname . inet_proto . inet_service\n"
	"\t}\n"
	"\n"
	"\tset fwd_range {\n"
	"\t\ttype ifname . ifname . inet_proto . inet_service\n"
	"\t\tflags interval\n"
	"\t}\n"
	"\n"
	"\tset fwd_pairs {\n"
	"\t\ttype ifname . ifname\n"
	"\t\telements = { \"qmt2\" . \"eth0\",\n"
	"\t\t\t     \"qmt3\" . \"eth0\" }\n"
	"\t}\n"
	"\n"
	"\tchain antispoof {\n"
	"\t\ttype filter hook prerouting priority raw; policy accept;\n"
	"\t\tiifname != @taps accept\n"
	"\t\tiifname . ether saddr . ip saddr @vm_addrs accept\n"
	"\t\tdrop\n"
	"\t}\n"
	"\n"
	"\tchain dstnat {\n"
	"\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
	"\t\tiifname @taps ip daddr 10.139.1.1 udp dport 53 dnat ip to "
	"192.168.1.1\n"
	"\t\tiifname @taps ip daddr 10.139.1.1 tcp dport 53 dnat ip to "
	"192.168.1.1\n"
	"\t}\n"
	"\n"
	"\tchain forward {\n"
	"\t\ttype filter hook forward priority filter; policy accept;\n"
	"\t\tiifname != @taps oifname != @taps accept\n"
	"\t\tmeta nfproto != ipv4 drop\n"
	"\t\tct state invalid,untracked drop\n"
	"\t\tct mark 0x51c0ffee accept\n"
	"\t\tct direction original iifname . oifname "
	"@fwd_any ct mark set 0x51c0ffee accept\n"
	"\t\tct direction original iifname . oifname . meta l4proto "
	"@fwd_proto ct mark set 0x51c0ffee accept\n"
	"\t\tct direction original iifname . oifname . meta l4proto . th dport "
	"@fwd_port ct mark set 0x51c0ffee accept\n"
	"\t\tct direction original iifname . oifname . meta l4proto . th dport "
	"@fwd_range ct mark set 0x51c0ffee accept\n"
	"\t\tct direction reply oifname . iifname "
	"@fwd_any ct mark set 0x51c0ffee accept\n"
	"\t\tct direction reply oifname . iifname . meta l4proto "
	"@fwd_proto ct mark set 0x51c0ffee accept\n"
	"\t\tct direction reply oifname . iifname . meta l4proto . th sport "
	"@fwd_port ct mark set 0x51c0ffee accept\n"
	"\t\tct direction reply oifname . iifname . meta l4proto . th sport "
	"@fwd_range ct mark set 0x51c0ffee accept\n"
	"\t\tct direction reply ct state related meta l4proto icmp oifname . "
	"iifname @fwd_pairs accept\n"
	"\t\tdrop\n"
	"\t}\n"
	"\n"
	"\tchain input {\n"
	"\t\ttype filter hook input priority filter; policy accept;\n"
	"\t\tiifname @taps drop\n"
	"\t}\n"
	"\n"
	"\tchain output {\n"
	"\t\ttype filter hook output priority filter; policy accept;\n"
	"\t\toifname != @taps accept\n"
	"\t\tmeta nfproto ipv4 ct state related accept\n"
	"\t\tdrop\n"
	"\t}\n"
	"\n"
	"\tchain srcnat {\n"
	"\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
	"\t\tiifname @taps oifname @uplinks masquerade\n"
	"\t}\n"
	"}\n",
},
{
	/* First match wins per port: the deny of 8000-8080 cuts a hole in
	 * the later allow of 7000-9000; 443 is allowed once; the final '*'
	 * deny of work shadows the @anyvm allow for work only. */
	.name = "ports_first_match",
	.policy =
	"qmgr.Network +tcp-8000-8080 work sys-net deny\n"
	"qmgr.Network +tcp-443 work sys-net allow\n"
	"qmgr.Network +tcp-7000-9000 work sys-net allow\n"
	"qmgr.Network +tcp-443 work sys-net deny\n"
	"qmgr.Network +udp-53 @anyvm sys-net allow\n"
	"qmgr.Network +icmp work sys-net allow\n"
	"qmgr.Network +udp-50-60 work sys-net allow\n"
	"qmgr.Network * work sys-net deny\n"
	"qmgr.Network * @anyvm sys-net allow\n"
	"* * @anyvm @anyvm deny\n",
	.vms = { WORK_PERSONAL },
	.expected =
	"table inet qmgr_test {\n"
	TAPS_WORK_PERSONAL UPLINKS_ETH0 ADDRS_WORK_PERSONAL
	"\tset fwd_any {\n"
	"\t\ttype ifname . ifname\n"
	"\t\telements = { \"qmt3\" . \"eth0\" }\n"
	"\t}\n\n"
	"\tset fwd_proto {\n"
	"\t\ttype ifname . ifname . inet_proto\n"
	"\t\telements = { \"qmt2\" . \"eth0\" . icmp }\n"
	"\t}\n\n"
	"\tset fwd_port {\n"
	"\t\ttype ifname . ifname . inet_proto . inet_service\n"
	"\t\telements = { \"qmt2\" . \"eth0\" . tcp . 443 }\n"
	"\t}\n\n"
	"\tset fwd_range {\n"
	"\t\ttype ifname . ifname . inet_proto . inet_service\n"
	"\t\tflags interval\n"
	"\t\telements = { \"qmt2\" . \"eth0\" . tcp . 7000-7999,\n"
	"\t\t\t     \"qmt2\" . \"eth0\" . tcp . 8081-9000,\n"
	"\t\t\t     \"qmt2\" . \"eth0\" . udp . 50-60 }\n"
	"\t}\n\n"
	FWD_PAIRS_HEAD
	"\t\telements = { \"qmt2\" . \"eth0\",\n"
	"\t\t\t     \"qmt3\" . \"eth0\" }\n"
	"\t}\n\n"
	CHAINS_DNS("192.168.1.1"),
},
{
	/* '*' after a protocol deny: every other protocol, around tcp. */
	.name = "all_but_tcp",
	.policy =
	"qmgr.Network +tcp work sys-net deny\n"
	"qmgr.Network +udp-1-65535 work sys-net deny\n"
	"qmgr.Network * work sys-net allow\n",
	.vms = { WORK_PERSONAL },
	.expected =
	"table inet qmgr_test {\n"
	TAPS_WORK_PERSONAL UPLINKS_ETH0 ADDRS_WORK_PERSONAL
	"\tset fwd_any {\n"
	"\t\ttype ifname . ifname\n"
	"\t}\n\n"
	"\tset fwd_proto {\n"
	"\t\ttype ifname . ifname . inet_proto\n"
	"\t}\n\n"
	"\tset fwd_port {\n"
	"\t\ttype ifname . ifname . inet_proto . inet_service\n"
	"\t\telements = { \"qmt2\" . \"eth0\" . udp . 0 }\n"
	"\t}\n\n"
	"\tset fwd_range {\n"
	"\t\ttype ifname . ifname . inet_proto . inet_service\n"
	"\t\tflags interval\n"
	"\t\telements = { \"qmt2\" . \"eth0\" . 0-5 . 0-65535,\n"
	"\t\t\t     \"qmt2\" . \"eth0\" . 7-16 . 0-65535,\n"
	"\t\t\t     \"qmt2\" . \"eth0\" . 18-255 . 0-65535 }\n"
	"\t}\n\n"
	FWD_PAIRS_HEAD
	"\t\telements = { \"qmt2\" . \"eth0\" }\n"
	"\t}\n\n"
	CHAINS_DNS("192.168.1.1"),
},
{
	/* Qube to qube by tag, @anyvm as target covers qubes and sys-net,
	 * an ask from a '*' rule drops; two uplinks. */
	.name = "vm_to_vm_tags",
	.policy =
	"qmgr.Network +tcp-22 @tag:admin @tag:office allow\n"
	"qmgr.Network +icmp @anyvm @anyvm allow\n"
	"qmgr.Network * @tag:admin @anyvm deny\n"
	"qmgr.Network * @anyvm sys-net allow\n"
	"* * @anyvm @anyvm ask\n",
	.vms = {
		WORK_PERSONAL,
		{ "admin", "admin", "qmt4", "10.137.0.4", NULL,
		  POL_CLASS_APPVM },
	},
	.two_uplinks = true,
	.expected =
	"table inet qmgr_test {\n"
	"\tset taps {\n"
	"\t\ttype ifname\n"
	"\t\tflags interval\n"
	"\t\telements = { \"qmt2\",\n"
	"\t\t\t     \"qmt3\",\n"
	"\t\t\t     \"qmt4\" }\n"
	"\t}\n\n"
	"\tset uplinks {\n"
	"\t\ttype ifname\n"
	"\t\telements = { \"eth0\",\n"
	"\t\t\t     \"wlan0\" }\n"
	"\t}\n\n"
	"\tset vm_addrs {\n"
	"\t\ttype ifname . ether_addr . ipv4_addr\n"
	"\t\telements = { \"qmt2\" . 00:16:3e:89:00:02 . 10.137.0.2,\n"
	"\t\t\t     \"qmt3\" . 00:16:3e:89:00:03 . 10.137.0.3,\n"
	"\t\t\t     \"qmt4\" . 00:16:3e:89:00:04 . 10.137.0.4 }\n"
	"\t}\n\n"
	"\tset fwd_any {\n"
	"\t\ttype ifname . ifname\n"
	"\t\telements = { \"qmt2\" . \"eth0\",\n"
	"\t\t\t     \"qmt2\" . \"wlan0\",\n"
	"\t\t\t     \"qmt3\" . \"eth0\",\n"
	"\t\t\t     \"qmt3\" . \"wlan0\" }\n"
	"\t}\n\n"
	"\tset fwd_proto {\n"
	"\t\ttype ifname . ifname . inet_proto\n"
	"\t\telements = { \"qmt2\" . \"qmt3\" . icmp,\n"
	"\t\t\t     \"qmt2\" . \"qmt4\" . icmp,\n"
	"\t\t\t     \"qmt3\" . \"qmt2\" . icmp,\n"
	"\t\t\t     \"qmt3\" . \"qmt4\" . icmp,\n"
	"\t\t\t     \"qmt4\" . \"eth0\" . icmp,\n"
	"\t\t\t     \"qmt4\" . \"qmt2\" . icmp,\n"
	"\t\t\t     \"qmt4\" . \"qmt3\" . icmp,\n"
	"\t\t\t     \"qmt4\" . \"wlan0\" . icmp }\n"
	"\t}\n\n"
	"\tset fwd_port {\n"
	"\t\ttype ifname . ifname . inet_proto . inet_service\n"
	"\t\telements = { \"qmt4\" . \"qmt2\" . tcp . 22 }\n"
	"\t}\n\n"
	"\tset fwd_range {\n"
	"\t\ttype ifname . ifname . inet_proto . inet_service\n"
	"\t\tflags interval\n"
	"\t}\n\n"
	FWD_PAIRS_HEAD
	"\t\telements = { \"qmt2\" . \"eth0\",\n"
	"\t\t\t     \"qmt2\" . \"qmt3\",\n"
	"\t\t\t     \"qmt2\" . \"qmt4\",\n"
	"\t\t\t     \"qmt2\" . \"wlan0\",\n"
	"\t\t\t     \"qmt3\" . \"eth0\",\n"
	"\t\t\t     \"qmt3\" . \"qmt2\",\n"
	"\t\t\t     \"qmt3\" . \"qmt4\",\n"
	"\t\t\t     \"qmt3\" . \"wlan0\",\n"
	"\t\t\t     \"qmt4\" . \"eth0\",\n"
	"\t\t\t     \"qmt4\" . \"qmt2\",\n"
	"\t\t\t     \"qmt4\" . \"qmt3\",\n"
	"\t\t\t     \"qmt4\" . \"wlan0\" }\n"
	"\t}\n\n"
	CHAINS_DNS("192.168.1.1"),
},
{
	/* A qube routed through another qube gets nothing towards sys-net
	 * (not built yet) but is still judged qube to qube; no DNS. */
	.name = "netvm_qube_and_no_dns",
	.policy =
	"qmgr.Network * @anyvm sys-net allow\n"
	"qmgr.Network +udp-1194 work vpn allow\n",
	.vms = {
		{ "work", NULL, "qmt2", "10.137.0.2", "vpn", POL_CLASS_APPVM },
		{ "vpn", NULL, "qmt5", "10.137.0.5", NULL,
		  POL_CLASS_STANDALONEVM },
	},
	.no_dns = true,
	.expected =
	"table inet qmgr_test {\n"
	"\tset taps {\n"
	"\t\ttype ifname\n"
	"\t\tflags interval\n"
	"\t\telements = { \"qmt2\",\n"
	"\t\t\t     \"qmt5\" }\n"
	"\t}\n\n"
	UPLINKS_ETH0
	"\tset vm_addrs {\n"
	"\t\ttype ifname . ether_addr . ipv4_addr\n"
	"\t\telements = { \"qmt2\" . 00:16:3e:89:00:02 . 10.137.0.2,\n"
	"\t\t\t     \"qmt5\" . 00:16:3e:89:00:05 . 10.137.0.5 }\n"
	"\t}\n\n"
	"\tset fwd_any {\n"
	"\t\ttype ifname . ifname\n"
	"\t\telements = { \"qmt5\" . \"eth0\" }\n"
	"\t}\n\n"
	"\tset fwd_proto {\n"
	"\t\ttype ifname . ifname . inet_proto\n"
	"\t}\n\n"
	"\tset fwd_port {\n"
	"\t\ttype ifname . ifname . inet_proto . inet_service\n"
	"\t\telements = { \"qmt2\" . \"qmt5\" . udp . 1194 }\n"
	"\t}\n\n"
	"\tset fwd_range {\n"
	"\t\ttype ifname . ifname . inet_proto . inet_service\n"
	"\t\tflags interval\n"
	"\t}\n\n"
	FWD_PAIRS_HEAD
	"\t\telements = { \"qmt2\" . \"qmt5\",\n"
	"\t\t\t     \"qmt5\" . \"eth0\" }\n"
	"\t}\n\n"
	CHAINS_NO_DNS,
},
{
	/* No qube runs: the table is still complete, its sets empty. */
	.name = "no_vms",
	.policy = DEFAULT_POLICY,
	.vms = { { NULL } },
	.expected =
	"table inet qmgr_test {\n"
	"\tset taps {\n"
	"\t\ttype ifname\n"
	"\t\tflags interval\n"
	"\t}\n\n"
	"\tset uplinks {\n"
	"\t\ttype ifname\n"
	"\t\telements = { \"eth0\" }\n"
	"\t}\n\n"
	"\tset vm_addrs {\n"
	"\t\ttype ifname . ether_addr . ipv4_addr\n"
	"\t}\n\n"
	"\tset fwd_any {\n"
	"\t\ttype ifname . ifname\n"
	"\t}\n\n"
	"\tset fwd_proto {\n"
	"\t\ttype ifname . ifname . inet_proto\n"
	"\t}\n\n"
	"\tset fwd_port {\n"
	"\t\ttype ifname . ifname . inet_proto . inet_service\n"
	"\t}\n\n"
	"\tset fwd_range {\n"
	"\t\ttype ifname . ifname . inet_proto . inet_service\n"
	"\t\tflags interval\n"
	"\t}\n\n"
	FWD_PAIRS_HEAD
	"\t}\n\n"
	CHAINS_DNS("192.168.1.1"),
},
{
	/* An error anywhere in the policy: everything from and to our taps
	 * drops, including interfaces with the tap prefix not listed yet. */
	.name = "invalid_policy_fails_closed",
	.policy =
	"qmgr.Network * @anyvm sys-net allow\n"
	"qmgr.Network +tcp-0 @anyvm sys-net allow\n",
	.vms = {
		WORK_PERSONAL,
		{ "later", NULL, "qmtestv9", "10.137.0.9", NULL,
		  POL_CLASS_APPVM },
	},
	.tap_prefix = "qmtestv",
	.expected =
	"table inet qmgr_test {\n"
	"\tset taps {\n"
	"\t\ttype ifname\n"
	"\t\tflags interval\n"
	"\t\telements = { \"qmt2\",\n"
	"\t\t\t     \"qmt3\",\n"
	"\t\t\t     \"qmtestv*\" }\n"
	"\t}\n\n"
	"\tchain antispoof {\n"
	"\t\ttype filter hook prerouting priority raw; policy accept;\n"
	"\t\tiifname @taps drop\n"
	"\t}\n\n"
	"\tchain forward {\n"
	"\t\ttype filter hook forward priority filter; policy accept;\n"
	"\t\tiifname @taps drop\n"
	"\t\toifname @taps drop\n"
	"\t}\n\n"
	"\tchain input {\n"
	"\t\ttype filter hook input priority filter; policy accept;\n"
	"\t\tiifname @taps drop\n"
	"\t}\n\n"
	"\tchain output {\n"
	"\t\ttype filter hook output priority filter; policy accept;\n"
	"\t\toifname @taps drop\n"
	"\t}\n"
	"}\n",
},
{
	/* The tap prefix sorts among the listed taps; taps under it are
	 * not listed again. */
	.name = "tap_prefix",
	.policy = DEFAULT_POLICY,
	.vms = {
		{ "work", NULL, "qmabcv2", "10.137.0.2", NULL,
		  POL_CLASS_APPVM },
		{ "old", NULL, "aaa0", "10.137.0.7", NULL, POL_CLASS_APPVM },
		{ "other", NULL, "zz1", "10.137.0.8", NULL, POL_CLASS_APPVM },
	},
	.tap_prefix = "qmabcv",
	.no_dns = true,
	.expected =
	"table inet qmgr_test {\n"
	"\tset taps {\n"
	"\t\ttype ifname\n"
	"\t\tflags interval\n"
	"\t\telements = { \"aaa0\",\n"
	"\t\t\t     \"qmabcv*\",\n"
	"\t\t\t     \"zz1\" }\n"
	"\t}\n\n"
	UPLINKS_ETH0
	"\tset vm_addrs {\n"
	"\t\ttype ifname . ether_addr . ipv4_addr\n"
	"\t\telements = { \"aaa0\" . 00:16:3e:89:00:07 . 10.137.0.7,\n"
	"\t\t\t     \"qmabcv2\" . 00:16:3e:89:00:02 . 10.137.0.2,\n"
	"\t\t\t     \"zz1\" . 00:16:3e:89:00:08 . 10.137.0.8 }\n"
	"\t}\n\n"
	"\tset fwd_any {\n"
	"\t\ttype ifname . ifname\n"
	"\t\telements = { \"aaa0\" . \"eth0\",\n"
	"\t\t\t     \"qmabcv2\" . \"eth0\",\n"
	"\t\t\t     \"zz1\" . \"eth0\" }\n"
	"\t}\n\n"
	"\tset fwd_proto {\n"
	"\t\ttype ifname . ifname . inet_proto\n"
	"\t}\n\n"
	"\tset fwd_port {\n"
	"\t\ttype ifname . ifname . inet_proto . inet_service\n"
	"\t}\n\n"
	"\tset fwd_range {\n"
	"\t\ttype ifname . ifname . inet_proto . inet_service\n"
	"\t\tflags interval\n"
	"\t}\n\n"
	FWD_PAIRS_HEAD
	"\t\telements = { \"aaa0\" . \"eth0\",\n"
	"\t\t\t     \"qmabcv2\" . \"eth0\",\n"
	"\t\t\t     \"zz1\" . \"eth0\" }\n"
	"\t}\n\n"
	CHAINS_NO_DNS,
},
};

/* ---- running a case ---- */

static size_t vm_count(const struct compile_case *c)
{
	size_t n = 0;

	while (n < MAX_VMS && c->vms[n].name != NULL)
		n++;
	return n;
}

static struct pol_system *make_system(const struct compile_case *c)
{
	struct pol_system *sys = pol_system_create();

	for (size_t i = 0; i < vm_count(c); i++) {
		g_auto(GStrv) tags = c->vms[i].tags
					     ? g_strsplit(c->vms[i].tags, ";", -1)
					     : NULL;
		struct pol_vm_info info = {
			.name = c->vms[i].name,
			.cls = c->vms[i].cls ? c->vms[i].cls : POL_CLASS_APPVM,
			.tags = (const char *const *)tags,
		};
		GError *error = NULL;
		g_assert_true(pol_system_add_vm(sys, &info, &error));
		g_assert_no_error(error);
	}
	g_assert_true(pol_system_check(sys, NULL));
	return sys;
}

static uint32_t ip4(const char *text)
{
	struct in_addr a;

	g_assert_cmpint(inet_pton(AF_INET, text, &a), ==, 1);
	return ntohl(a.s_addr);
}

/* The qubes of a case as the compiler takes them; MACs as qmgrd makes
 * them, 00:16:3e and the address's low three bytes. */
static struct qm_net_vm *make_vms(const struct compile_case *c)
{
	size_t n = vm_count(c);
	struct qm_net_vm *vms = g_new0(struct qm_net_vm, n + 1);

	for (size_t i = 0; i < n; i++) {
		uint32_t a = ip4(c->vms[i].ip);
		vms[i] = (struct qm_net_vm){
			.name = c->vms[i].name,
			.tap = c->vms[i].tap,
			.ip4 = a,
			.mac = { 0x00, 0x16, 0x3e, (uint8_t)(a >> 16),
				 (uint8_t)(a >> 8), (uint8_t)a },
			.netvm = c->vms[i].netvm,
		};
	}
	return vms;
}

static void test_case(gconstpointer data)
{
	const struct compile_case *c = data;
	g_autoptr(pol_policy) p = pol_policy_load_string(
		"test.policy", c->policy, strlen(c->policy), NULL);
	g_autoptr(pol_system) sys = make_system(c);
	g_autofree struct qm_net_vm *vms = make_vms(c);
	static const char *const one_uplink[] = { "eth0", NULL };
	static const char *const two_uplinks[] = { "wlan0", "eth0", NULL };
	const uint32_t upstream[] = { ip4("192.168.1.1"), ip4("192.168.1.2") };
	struct qm_net_config config = {
		.table = "qmgr_test",
		.uplinks = c->two_uplinks ? two_uplinks : one_uplink,
		.tap_prefix = c->tap_prefix,
		.dns_addr = c->no_dns ? 0 : ip4("10.139.1.1"),
		.dns_upstream = upstream,
		.n_dns_upstream = G_N_ELEMENTS(upstream),
		.ct_mark = c->ct_mark,
	};
	GError *error = NULL;

	for (size_t i = 0; i < pol_policy_error_count(p); i++)
		g_test_message("policy error: %s", pol_policy_error(p, i));
	g_autoptr(qm_net_ruleset) rs = qm_net_ruleset_compile(
		p, sys, vms, vm_count(c), &config, &error);
	g_assert_no_error(error);
	g_assert_nonnull(rs);
	g_autofree char *text = qm_net_ruleset_render(rs);
	if (g_getenv("QMGR_TEST_PRINT") != NULL)
		fprintf(stderr, "---- %s\n%s----\n", c->name, text);
	g_assert_cmpstr(text, ==, c->expected);
}

/* A NULL policy (qmgrd has none loaded) fails closed as well. */
static void test_null_policy_fails_closed(void)
{
	static const char *const uplinks[] = { "eth0", NULL };
	const struct qm_net_vm vm = { "work", "qmt2", 0x0a890002,
				      { 0, 0x16, 0x3e, 0x89, 0, 2 }, NULL };
	const struct qm_net_config config = { .table = "qmgr_test",
					      .uplinks = uplinks };
	g_autoptr(qm_net_ruleset) rs = qm_net_ruleset_compile(
		NULL, NULL, &vm, 1, &config, NULL);

	g_assert_nonnull(rs);
	g_assert_true(rs->fail_closed);
	g_assert_cmpuint(rs->flows->len, ==, 0);
	g_assert_cmpuint(rs->taps->len, ==, 1);
}

/* Inputs qmgrd should never pass are refused, naming what is wrong. */
struct bad_input_case {
	const char *what;
	const char *table;
	const char *tap_a, *tap_b;
	const char *name_b;
	uint32_t ip_b;
	const char *uplink;
	const char *message;     /* a part of the error */
};

static const struct bad_input_case bad_inputs[] = {
	{ "table", "qmgr-x", "qmt2", "qmt3", "b", 3, "eth0",
	  "table name 'qmgr-x'" },
	{ "table_empty", "", "qmt2", "qmt3", "b", 3, "eth0", "table name" },
	{ "tap_twice", "t", "qmt2", "qmt2", "b", 3, "eth0", "tap name" },
	{ "tap_is_uplink", "t", "qmt2", "eth0", "b", 3, "eth0", "tap name" },
	{ "tap_long", "t", "qmt2", "a123456789abcdef", "b", 3, "eth0",
	  "tap name" },
	{ "tap_wildcard", "t", "qmt2", "qm*", "b", 3, "eth0", "tap name" },
	{ "tap_quote", "t", "qmt2", "q\"m", "b", 3, "eth0", "tap name" },
	{ "name_twice", "t", "qmt2", "qmt3", "a", 3, "eth0", "repeated" },
	{ "ip_twice", "t", "qmt2", "qmt3", "b", 2, "eth0", "address" },
	{ "ip_zero", "t", "qmt2", "qmt3", "b", 0, "eth0", "address" },
	{ "uplink", "t", "qmt2", "qmt3", "b", 3, "et h0", "uplink" },
};

static void test_bad_input(gconstpointer data)
{
	const struct bad_input_case *c = data;
	const char *uplinks[] = { c->uplink, NULL };
	const struct qm_net_vm vms[] = {
		{ "a", c->tap_a, 2, { 0 }, NULL },
		{ c->name_b, c->tap_b, c->ip_b, { 0 }, NULL },
	};
	const struct qm_net_config config = { .table = c->table,
					      .uplinks = uplinks };
	GError *error = NULL;
	struct qm_net_ruleset *rs = qm_net_ruleset_compile(
		NULL, NULL, vms, 2, &config, &error);

	g_assert_null(rs);
	g_assert_nonnull(error);
	g_test_message("%s", error->message);
	g_assert_nonnull(strstr(error->message, c->message));
	g_error_free(error);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *path = g_strdup_printf("/net/compile/%s",
							cases[i].name);
		g_test_add_data_func(path, &cases[i], test_case);
	}
	g_test_add_func("/net/compile/null_policy_fails_closed",
			test_null_policy_fails_closed);
	for (size_t i = 0; i < G_N_ELEMENTS(bad_inputs); i++) {
		g_autofree char *path = g_strdup_printf("/net/compile/bad/%s",
							bad_inputs[i].what);
		g_test_add_data_func(path, &bad_inputs[i], test_bad_input);
	}
	return g_test_run();
}
