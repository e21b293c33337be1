/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "net.h"

#include "net-compile.h"
#include "net-nft.h"
#include "rpc.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "net-link.h"

#define NET_ERROR g_quark_from_static_string("qm-net-error")

/* ---- the nftables table ---- */

static struct {
	guint idle;            /* a rebuild is scheduled */
	bool table;            /* our table is in the kernel */
	bool closed;           /* the last one loaded was fail-closed */
	guint32 ct_mark;       /* of the last table built */
} net;

static bool parse_mac(const char *text, uint8_t mac[6])
{
	unsigned v[6];
	char end;
	if (sscanf(text, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &end) != 6)
		return false;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return true;
}

static char *table_name(struct qmgrd *d)
{
	return g_strdup_printf("qmgr_%s", d->instance);
}

/* Compiles the policy for the networked qubes that run and loads it, or
 * removes the table when none runs.  A policy that does not compile
 * loads the fail-closed table instead: the qubes get nothing through. */
static void sync_table(struct qmgrd *d)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *table = table_name(d);
	g_autoptr(GArray) running = qm_net_running(d);

	if (running->len == 0) {
		if (net.table && !qm_net_nft_remove(table, &err)) {
			g_warning("network: cannot remove the nftables table "
				  "%s: %s", table, err->message);
			return;
		}
		if (net.table)
			g_message("network: no networked qube runs: table "
				  "%s removed", table);
		net.table = false;
		return;
	}

	g_autoptr(GArray) vms = g_array_new(FALSE, TRUE,
					    sizeof(struct qm_net_vm));
	for (guint i = 0; i < running->len; i++) {
		const struct qm_vm_net *n =
			&g_array_index(running, struct qm_vm_net, i);
		struct qm_net_vm v = {
			.name = n->name, .tap = n->tap, .ip4 = n->addr,
			.netvm = n->netvm,
		};
		if (!parse_mac(n->mac, v.mac)) {
			g_warning("network: %s: bad MAC '%s'", n->name,
				  n->mac);
			continue;
		}
		g_array_append_val(vms, v);
	}
	char prefix[QM_TAP_NAME_SIZE];
	bool have_prefix = qm_vm_tap_prefix(d->instance, prefix);
	g_autoptr(GPtrArray) uplinks = g_ptr_array_new();
	for (char **u = d->uplinks; u && *u; u++)
		g_ptr_array_add(uplinks, *u);
	g_ptr_array_add(uplinks, NULL);
	struct qm_net_config config = {
		.table = table,
		.uplinks = (const char *const *)uplinks->pdata,
		.tap_prefix = have_prefix ? prefix : NULL,
		.dns_addr = 0,
		.dns_upstream = d->dns_upstream
			? (const guint32 *)(void *)d->dns_upstream->data : NULL,
		.n_dns_upstream = d->dns_upstream ? d->dns_upstream->len : 0,
	};
	qm_ipv4_parse(QM_NET_DNS, &config.dns_addr);
	/* A new mark for every table: connections are judged again at their
	 * next packet (docs/network.md).  Random to start with, so that a
	 * restarted qmgrd does not reuse its predecessor's. */
	if (net.ct_mark == 0)
		net.ct_mark = g_random_int();
	if (++net.ct_mark == 0)
		net.ct_mark = 1;
	config.ct_mark = net.ct_mark;

	gint64 t0 = g_get_monotonic_time();
	const struct pol_policy *policy = qm_rpc_policy(d);
	g_autoptr(pol_system) sys = qm_rpc_system(d, &err);
	g_autoptr(qm_net_ruleset) rs = NULL;
	if (sys == NULL) {
		g_warning("network: the qubes' description is inconsistent "
			  "(%s): the network is closed", err->message);
		g_clear_error(&err);
	} else if (!pol_policy_is_valid(policy)) {
		g_warning("network: the policy is invalid (see the errors "
			  "above, qvm-policy check): the network is closed");
	} else {
		rs = qm_net_ruleset_compile(policy, sys, (void *)vms->data,
					    vms->len, &config, &err);
		if (rs == NULL) {
			g_warning("network: cannot compile the network "
				  "policy (%s): the network is closed",
				  err->message);
			g_clear_error(&err);
		}
	}
	if (rs == NULL)
		rs = qm_net_ruleset_compile(NULL, NULL, (void *)vms->data,
					    vms->len, &config, &err);
	if (rs == NULL) {
		/* Only bad interface or table names get here: the qubes'
		 * taps stay as they are (dropped by the table, if any, by
		 * the prefix rule). */
		g_warning("network: cannot build even the closed table: %s",
			  err->message);
		return;
	}
	if (!qm_net_nft_apply(rs, &err)) {
		g_warning("network: loading table %s failed, the previous "
			  "one stays: %s", table, err->message);
		return;
	}
	net.table = true;
	net.closed = rs->fail_closed;
	g_message("network: table %s loaded for %u qube%s%s in %.1f ms",
		  table, vms->len, vms->len == 1 ? "" : "s",
		  rs->fail_closed ? " (closed: nothing gets through)" : "",
		  (double)(g_get_monotonic_time() - t0) / 1000.0);
}

static gboolean on_idle_sync(gpointer data)
{
	net.idle = 0;
	sync_table(data);
	return G_SOURCE_REMOVE;
}

void qm_net_changed(struct qmgrd *d)
{
	/* One rebuild for a burst of changes (a start changes the state
	 * several times, an edit of the policy is seen as several file
	 * events). */
	if (net.idle == 0)
		net.idle = g_idle_add(on_idle_sync, d);
}

void qm_net_finish(struct qmgrd *d)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *table = table_name(d);

	if (net.idle != 0)
		g_source_remove(net.idle);
	net.idle = 0;
	if (!net.table)
		return;
	/* qubes that keep running while qmgrd is away keep their rules: a
	 * removed table would leave their taps unfiltered. */
	g_autoptr(GArray) running = qm_net_running(d);
	if (running->len > 0) {
		g_message("network: %u networked qube%s still run%s: table "
			  "%s stays until qmgrd is back", running->len,
			  running->len == 1 ? "" : "s",
			  running->len == 1 ? "s" : "", table);
		return;
	}
	if (!qm_net_nft_remove(table, &err))
		g_warning("network: cannot remove the nftables table %s: %s",
			  table, err->message);
	else
		g_message("network: table %s removed", table);
	net.table = false;
}

/* ---- what sys-net and the DNS address stand for ---- */

char **qm_net_default_uplinks(void)
{
	g_autofree char *text = NULL;
	g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);

	/* Iface Destination Gateway Flags RefCnt Use Metric Mask ... */
	if (g_file_get_contents("/proc/net/route", &text, NULL, NULL)) {
		g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
		for (char **l = lines + (lines[0] ? 1 : 0); *l; l++) {
			char iface[32], dest[16], gw[16], flags[16], rc[16],
				use[16], metric[16], mask[16];
			if (sscanf(*l, "%31s %15s %15s %15s %15s %15s %15s %15s",
				   iface, dest, gw, flags, rc, use, metric,
				   mask) != 8)
				continue;
			if (strcmp(dest, "00000000") != 0 ||
			    strcmp(mask, "00000000") != 0)
				continue;
			bool seen = false;
			for (guint i = 0; i < out->len; i++)
				seen |= strcmp(out->pdata[i], iface) == 0;
			if (!seen)
				g_ptr_array_add(out, g_strdup(iface));
		}
	}
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(g_steal_pointer(&out), FALSE);
}

GArray *qm_net_default_dns(const char *resolv_conf)
{
	g_autofree char *text = NULL;
	GArray *out = g_array_new(FALSE, FALSE, sizeof(guint32));

	if (!g_file_get_contents(resolv_conf, &text, NULL, NULL))
		return out;
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++) {
		char addr[64];
		guint32 a;
		if (sscanf(*l, " nameserver %63s", addr) != 1 ||
		    !qm_ipv4_parse(addr, &a))
			continue;
		if ((a >> 24) == 127) {
			g_message("network: %s: nameserver %s is the host "
				  "itself, which qubes cannot reach; give "
				  "qmgrd --dns-upstream ADDR", resolv_conf,
				  addr);
			continue;
		}
		g_array_append_val(out, a);
	}
	return out;
}

GArray *qm_net_running(struct qmgrd *d)
{
	GArray *out = g_array_new(FALSE, TRUE, sizeof(struct qm_vm_net));
	for (guint i = 0; i < d->inv->vms->len; i++) {
		const struct qm_vm *vm = g_ptr_array_index(d->inv->vms, i);
		struct qm_vm_net n;
		if (!qm_vm_is_down(vm) &&
		    qm_net_vm_info(d->inv, d->instance, vm, &n))
			g_array_append_val(out, n);
	}
	return out;
}

bool qm_net_prepare_start(struct qmgrd *d, struct qm_vm *vm, GError **error)
{
	g_autofree char *netvm = qm_inventory_prop(d->inv, vm, "netvm");
	if (*netvm != '\0' && strcmp(netvm, QM_NETVM_UPLINK) != 0) {
		g_set_error(error, NET_ERROR, 1,
			    "'%s' has netvm '%s': network through a qube is "
			    "not implemented yet, only sys-net (the host's "
			    "uplink) can be a netvm (qvm-prefs %s netvm "
			    "sys-net, or none)", vm->name, netvm, vm->name);
		return false;
	}
	bool changed = false;
	if (!qm_net_ip_assign(d->inv, vm, &changed, error))
		return false;
	if (changed) {
		/* An inventory from before addresses, or a netvm that a
		 * disposable template's change gave it. */
		if (!qmgrd_save(d, error))
			return false;
		g_message("%s: address %s", vm->name,
			  *netvm ? qm_vm_prop_get_set(vm, "ip") : "released");
	}
	return true;
}

/* Writes `value` to a /proc/sys file; errno on failure. */
static int write_sysctl(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, value, strlen(value));
	int err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

static void enable_forwarding(void)
{
	static bool done;
	const char *path = "/proc/sys/net/ipv4/ip_forward";
	g_autofree char *now = NULL;

	if (done)
		return;
	done = true;
	if (g_file_get_contents(path, &now, NULL, NULL) &&
	    g_str_has_prefix(now, "1")) {
		g_message("IPv4 forwarding is on: the host routes for its "
			  "qubes");
		return;
	}
	int err = write_sysctl(path, "1");
	if (err < 0)
		g_warning("cannot turn IPv4 forwarding on (%s: %s): qubes "
			  "reach the host only", path, g_strerror(-err));
	else
		g_message("turned IPv4 forwarding on (%s): the host routes "
			  "for its qubes, as libvirt's NAT network does",
			  path);
}

void qm_net_vm_started(struct qmgrd *d, struct qm_vm *vm)
{
	struct qm_vm_net n;
	if (!qm_net_vm_info(d->inv, d->instance, vm, &n))
		return;
	int err = qm_net_link_set_peer(n.tap,
				       qm_ip_range_gateway(&d->inv->ip_range),
				       n.addr);
	if (err < 0)
		g_warning("%s: cannot put %s peer %s on its tap %s: %s; it "
			  "has no network", vm->name, n.gateway, n.ip, n.tap,
			  g_strerror(-err));
	enable_forwarding();
	/* The qubes' network is IPv4 only: no link-local addresses or
	 * router solicitations on the host side of their taps. */
	g_autofree char *path = g_strdup_printf(
		"/proc/sys/net/ipv6/conf/%s/disable_ipv6", n.tap);
	err = write_sysctl(path, "1");
	if (err < 0 && err != -ENOENT)
		g_warning("%s: cannot turn IPv6 off on %s: %s", vm->name,
			  n.tap, g_strerror(-err));
}
