/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "net-addr.h"

#include <arpa/inet.h>
#include <string.h>

#include "inventory.h"

#define NET_ERROR g_quark_from_static_string("qm-net-addr-error")

static guint32 mask_of(unsigned prefix)
{
	return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

bool qm_ipv4_parse(const char *text, guint32 *out)
{
	struct in_addr a;
	if (text == NULL || inet_pton(AF_INET, text, &a) != 1)
		return false;
	*out = ntohl(a.s_addr);
	return true;
}

void qm_ipv4_format(guint32 addr, char out[QM_IPV4_STR_SIZE])
{
	g_snprintf(out, QM_IPV4_STR_SIZE, "%u.%u.%u.%u", addr >> 24,
		   (addr >> 16) & 0xff, (addr >> 8) & 0xff, addr & 0xff);
}

bool qm_ip_range_parse(const char *text, struct qm_ip_range *out,
		       const char **why)
{
	const char *slash = text ? strchr(text, '/') : NULL;
	guint64 prefix = 0;
	guint32 net;

	if (slash == NULL) {
		*why = "expected an IPv4 network as A.B.C.D/N";
		return false;
	}
	g_autofree char *addr = g_strndup(text, (gsize)(slash - text));
	if (!qm_ipv4_parse(addr, &net)) {
		*why = "not an IPv4 address before the '/'";
		return false;
	}
	if (!g_ascii_string_to_unsigned(slash + 1, 10, 0, 32, &prefix,
					NULL)) {
		*why = "the prefix length after the '/' is not a number";
		return false;
	}
	if (prefix < QM_IP_RANGE_PREFIX_MIN ||
	    prefix > QM_IP_RANGE_PREFIX_MAX) {
		*why = "the prefix length must be 16 to 28";
		return false;
	}
	if ((net & ~mask_of((unsigned)prefix)) != 0) {
		*why = "host bits are set (give the network address, e.g. "
		       "10.137.0.0/16)";
		return false;
	}
	out->net = net;
	out->prefix = (unsigned)prefix;
	return true;
}

guint32 qm_ip_range_gateway(const struct qm_ip_range *r)
{
	return r->net + 1;
}

bool qm_ip_range_is_vm_addr(const struct qm_ip_range *r, guint32 addr)
{
	guint32 mask = mask_of(r->prefix);
	guint32 bcast = r->net | ~mask;
	return (addr & mask) == r->net && addr > r->net + 1 && addr < bcast;
}

void qm_vm_mac(guint32 addr, char out[QM_MAC_STR_SIZE])
{
	g_snprintf(out, QM_MAC_STR_SIZE, "00:16:3e:%02x:%02x:%02x",
		   (addr >> 16) & 0xff, (addr >> 8) & 0xff, addr & 0xff);
}

bool qm_vm_tap_prefix(const char *instance, char out[QM_TAP_NAME_SIZE])
{
	if (instance == NULL || strlen(instance) < 6)
		return false;
	g_snprintf(out, QM_TAP_NAME_SIZE, "qm%.6sv", instance);
	return true;
}

bool qm_vm_tap_name(const char *instance, guint32 addr,
		    char out[QM_TAP_NAME_SIZE])
{
	char prefix[QM_TAP_NAME_SIZE];
	if (!qm_vm_tap_prefix(instance, prefix))
		return false;
	/* 2 + 6 + 1 + at most 5 digits: 14 < IFNAMSIZ */
	g_snprintf(out, QM_TAP_NAME_SIZE, "%s%u", prefix, addr & 0xffff);
	return true;
}

/* The stored address of `vm`, or 0. */
static guint32 stored_addr(const struct qm_vm *vm)
{
	guint32 a = 0;
	const char *ip = qm_vm_prop_get_set(vm, "ip");
	if (ip == NULL || !qm_ipv4_parse(ip, &a))
		return 0;
	return a;
}

static bool networked(const struct qm_inventory *inv, const struct qm_vm *vm)
{
	g_autofree char *netvm = qm_inventory_prop(inv, vm, "netvm");
	return netvm != NULL && *netvm != '\0';
}

bool qm_net_vm_info(const struct qm_inventory *inv, const char *instance,
		    const struct qm_vm *vm, struct qm_vm_net *out)
{
	g_autofree char *netvm = qm_inventory_prop(inv, vm, "netvm");
	guint32 a = stored_addr(vm);

	memset(out, 0, sizeof(*out));
	if (*netvm == '\0' || a == 0 ||
	    !qm_vm_tap_name(instance, a, out->tap))
		return false;
	g_strlcpy(out->name, vm->name, sizeof(out->name));
	g_strlcpy(out->netvm, netvm, sizeof(out->netvm));
	out->addr = a;
	qm_ipv4_format(a, out->ip);
	qm_ipv4_format(qm_ip_range_gateway(&inv->ip_range), out->gateway);
	g_strlcpy(out->dns, QM_NET_DNS, sizeof(out->dns));
	qm_vm_mac(a, out->mac);
	return true;
}

/* ---- giving out addresses ---- */

/* Addresses in use by qubes of the inventory other than `except` and by
 * reservations of others: address -> the qube. */
static GHashTable *used_addrs(const struct qm_inventory *inv,
			      const struct qm_vm *except)
{
	GHashTable *used = g_hash_table_new(NULL, NULL);
	for (guint i = 0; i < inv->vms->len; i++) {
		const struct qm_vm *o = g_ptr_array_index(inv->vms, i);
		guint32 a = stored_addr(o);
		if (o != except && a != 0 && networked(inv, o))
			g_hash_table_insert(used, GUINT_TO_POINTER(a),
					    (gpointer)o);
	}
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, inv->ip_pending);
	while (g_hash_table_iter_next(&it, &k, &v))
		if (v != except)
			g_hash_table_insert(used, k, v);
	return used;
}

/* The lowest address of the range not in `used`, or 0. */
static guint32 lowest_free(const struct qm_ip_range *r, GHashTable *used)
{
	guint32 bcast = r->net | ~mask_of(r->prefix);
	for (guint32 a = r->net + 2; a < bcast; a++)
		if (!g_hash_table_contains(used, GUINT_TO_POINTER(a)))
			return a;
	return 0;
}

static void range_full(const struct qm_inventory *inv, const char *vm,
		       GError **error)
{
	char net[QM_IPV4_STR_SIZE];
	qm_ipv4_format(inv->ip_range.net, net);
	g_set_error(error, NET_ERROR, 1,
		    "no free address for '%s' in %s/%u (set netvm none on "
		    "qubes that need no network, or give qmgrd a larger "
		    "--ip-range)", vm, net, inv->ip_range.prefix);
}

static void set_addr(struct qm_vm *vm, guint32 a)
{
	char ip[QM_IPV4_STR_SIZE];
	qm_ipv4_format(a, ip);
	qm_vm_prop_set(vm, "ip", ip);
}

/* One qube against `used` (which it is not in); adds its address there. */
static bool assign(struct qm_inventory *inv, struct qm_vm *vm,
		   GHashTable *used, bool *changed, GError **error)
{
	guint32 a = stored_addr(vm);
	*changed = false;
	if (!networked(inv, vm)) {
		if (qm_vm_prop_get_set(vm, "ip") != NULL) {
			qm_net_ip_unreserve(inv, vm);
			qm_vm_prop_reset(vm, "ip");
			*changed = true;
		}
		return true;
	}
	if (a != 0 && qm_ip_range_is_vm_addr(&inv->ip_range, a) &&
	    !g_hash_table_contains(used, GUINT_TO_POINTER(a))) {
		g_hash_table_insert(used, GUINT_TO_POINTER(a), vm);
		return true;
	}
	guint32 n = lowest_free(&inv->ip_range, used);
	if (n == 0) {
		range_full(inv, vm->name, error);
		return false;
	}
	qm_net_ip_unreserve(inv, vm);
	set_addr(vm, n);
	g_hash_table_insert(used, GUINT_TO_POINTER(n), vm);
	*changed = true;
	return true;
}

bool qm_net_ip_assign(struct qm_inventory *inv, struct qm_vm *vm,
		      bool *changed, GError **error)
{
	bool ch = false;
	g_autoptr(GHashTable) used = used_addrs(inv, vm);
	bool ok = assign(inv, vm, used, &ch, error);
	if (ok && ch && qm_inventory_find(inv, vm->name) != vm &&
	    stored_addr(vm) != 0)
		g_hash_table_insert(inv->ip_pending,
				    GUINT_TO_POINTER(stored_addr(vm)), vm);
	if (changed != NULL)
		*changed = ch;
	return ok;
}

bool qm_net_ip_assign_all(struct qm_inventory *inv, unsigned *changed,
			  GError **error)
{
	g_autoptr(GHashTable) used = g_hash_table_new(NULL, NULL);
	g_autoptr(GPtrArray) todo = g_ptr_array_new();
	GHashTableIter it;
	gpointer k, v;
	unsigned count = 0;
	bool ok = true;

	g_hash_table_iter_init(&it, inv->ip_pending);
	while (g_hash_table_iter_next(&it, &k, &v))
		g_hash_table_insert(used, k, v);
	/* First who keeps what: running qubes (their taps have it), then the
	 * first of the halted qubes claiming an address; the others get new
	 * ones after. */
	for (int pass = 0; pass < 2; pass++) {
		for (guint i = 0; i < inv->vms->len; i++) {
			struct qm_vm *vm = g_ptr_array_index(inv->vms, i);
			guint32 a = stored_addr(vm);
			if ((pass == 0) != !qm_vm_is_down(vm))
				continue;
			if (!qm_vm_is_down(vm)) {
				if (a != 0)
					g_hash_table_insert(
						used, GUINT_TO_POINTER(a), vm);
				continue;
			}
			if (a != 0 && networked(inv, vm) &&
			    qm_ip_range_is_vm_addr(&inv->ip_range, a) &&
			    !g_hash_table_contains(used,
						   GUINT_TO_POINTER(a)))
				g_hash_table_insert(used, GUINT_TO_POINTER(a),
						    vm);
			else
				g_ptr_array_add(todo, vm);
		}
	}
	for (guint i = 0; i < todo->len; i++) {
		struct qm_vm *vm = g_ptr_array_index(todo, i);
		g_autofree char *old = g_strdup(qm_vm_prop_get_set(vm, "ip"));
		bool ch = false;
		GError *e = NULL;
		if (!assign(inv, vm, used, &ch, &e)) {
			if (ok)
				g_propagate_error(error, e);
			else
				g_error_free(e);
			ok = false;
			continue;
		}
		if (!ch)
			continue;
		count++;
		const char *now = qm_vm_prop_get_set(vm, "ip");
		if (old != NULL && now != NULL)
			g_message("%s: address %s is outside the range or "
				  "another qube's; it is now %s", vm->name,
				  old, now);
		else if (now != NULL)
			g_message("%s: given address %s", vm->name, now);
		else
			g_message("%s: has no netvm; address %s released",
				  vm->name, old);
	}
	if (changed != NULL)
		*changed = count;
	return ok;
}

void qm_net_ip_unreserve(struct qm_inventory *inv, const struct qm_vm *vm)
{
	guint32 a = stored_addr(vm);
	if (a != 0 &&
	    g_hash_table_lookup(inv->ip_pending, GUINT_TO_POINTER(a)) == vm)
		g_hash_table_remove(inv->ip_pending, GUINT_TO_POINTER(a));
}

GHashTable *qm_net_ip_snapshot(const struct qm_inventory *inv)
{
	GHashTable *s = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					      g_free);
	for (guint i = 0; i < inv->vms->len; i++) {
		const struct qm_vm *vm = g_ptr_array_index(inv->vms, i);
		const char *ip = qm_vm_prop_get_set(vm, "ip");
		if (ip != NULL)
			g_hash_table_insert(s, g_strdup(vm->name),
					    g_strdup(ip));
	}
	return s;
}

void qm_net_ip_restore(struct qm_inventory *inv, GHashTable *snapshot)
{
	for (guint i = 0; i < inv->vms->len; i++) {
		struct qm_vm *vm = g_ptr_array_index(inv->vms, i);
		const char *ip = g_hash_table_lookup(snapshot, vm->name);
		if (ip != NULL)
			qm_vm_prop_set(vm, "ip", ip);
		else
			qm_vm_prop_reset(vm, "ip");
	}
}
