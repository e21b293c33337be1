/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What sys-net's DNS forwarding defaults to: the nameservers of a
 * resolv.conf that qubes can be forwarded to (net.c). */
#include <glib/gstdio.h>

#include "net.h"

#ifdef NDEBUG
#error "tests need assertions"
#endif

static GArray *dns_of(const char *text)
{
	g_autofree char *path = NULL;
	int fd = g_file_open_tmp("resolv-XXXXXX.conf", &path, NULL);
	g_assert_cmpint(fd, >=, 0);
	close(fd);
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	GArray *out = qm_net_default_dns(path);
	g_unlink(path);
	return out;
}

static void test_net_dns_skips_the_host_itself(void)
{
	static const struct {
		const char *text;
		guint n;
		guint32 first;
	} cases[] = {
		{ "nameserver 192.0.2.53\n", 1, 0xc0000235 },
		/* systemd-resolved: the host itself, which qubes cannot
		 * reach, then a real one */
		{ "# generated\nnameserver 127.0.0.53\nnameserver 198.51.100.2\n",
		  1, 0xc6336402 },
		{ "nameserver 127.0.0.1\n", 0, 0 },
		/* IPv6 and junk are not IPv4 resolvers */
		{ "nameserver ::1\nnameserver fe80::1%eth0\nnameserver 300.1.1.1\n"
		  "nameserver\nsearch example.org\n", 0, 0 },
		{ "  nameserver   203.0.113.9  \noptions edns0\n"
		  "nameserver 192.0.2.1\n", 2, 0xcb007109 },
		{ "", 0, 0 },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GArray) got = dns_of(cases[i].text);
		g_assert_cmpuint(got->len, ==, cases[i].n);
		if (cases[i].n > 0)
			g_assert_cmphex(g_array_index(got, guint32, 0), ==,
					cases[i].first);
	}
}

static void test_net_dns_missing_file_is_empty(void)
{
	g_autoptr(GArray) got = qm_net_default_dns("/nonexistent/resolv.conf");
	g_assert_cmpuint(got->len, ==, 0);
}

static void test_net_default_uplinks_are_interfaces(void)
{
	/* Whatever this host routes by: names of existing interfaces. */
	g_auto(GStrv) up = qm_net_default_uplinks();
	g_assert_nonnull(up);
	for (char **u = up; *u; u++) {
		g_autofree char *p = g_strdup_printf("/sys/class/net/%s", *u);
		g_assert_true(g_file_test(p, G_FILE_TEST_EXISTS));
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/net/dns-skips-the-host-itself",
			test_net_dns_skips_the_host_itself);
	g_test_add_func("/net/dns-missing-file-is-empty",
			test_net_dns_missing_file_is_empty);
	g_test_add_func("/net/default-uplinks-are-interfaces",
			test_net_default_uplinks_are_interfaces);
	return g_test_run();
}
