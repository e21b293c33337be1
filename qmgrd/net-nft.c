/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The network ruleset (net-compile.h) turned into nf_tables netlink
 * messages with libnftnl, sent as one batch through libmnl.
 *
 * The batch is "add table; delete table; add table; chains; sets and their
 * elements; rules": the first add makes the delete valid whether or not
 * the table existed, and the kernel commits the whole batch or none of it.
 * Every message asks for an acknowledgement, so a refusal is reported for
 * the message that caused it.
 *
 * This file builds the batch around the table and sends it; the chains,
 * sets, elements and rules are net-nft-rules.c's.
 */
#include "net-nft.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <poll.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "net-nft-private.h"

#define NFT_ERROR g_quark_from_static_string("qm-net-nft-error")

#define ACK_TIMEOUT_MS 5000

static void batch_init(struct batch *b, const char *table)
{
	b->bytes = g_byte_array_new();
	b->what = g_ptr_array_new_with_free_func(g_free);
	b->first_seq = b->seq = (uint32_t)time(NULL);
	b->scratch = g_malloc0(MSG_BUF_SIZE);
	b->table = table;
}

static void batch_finish(struct batch *b)
{
	g_byte_array_unref(b->bytes);
	g_ptr_array_unref(b->what);
	g_free(b->scratch);
}

struct nlmsghdr *qm_net_nft_msg_start(struct batch *b, uint16_t type,
				      uint16_t flags)
{
	memset(b->scratch, 0, MSG_BUF_SIZE);
	return nftnl_nlmsg_build_hdr(b->scratch, type, NFPROTO_INET,
				     flags | NLM_F_ACK, b->seq);
}

void qm_net_nft_batch_put(struct batch *b, struct nlmsghdr *nlh, char *what)
{
	g_assert(nlh->nlmsg_len <= MSG_BUF_SIZE);
	g_byte_array_append(b->bytes, (const guint8 *)nlh, nlh->nlmsg_len);
	g_ptr_array_add(b->what, what);
	b->seq++;
}

/* ---- the table ---- */

static void put_table(struct batch *b, uint16_t type, uint16_t flags,
		      const char *what)
{
	struct nftnl_table *t = nftnl_table_alloc();

	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, b->table);
	struct nlmsghdr *nlh = qm_net_nft_msg_start(b, type, flags);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	qm_net_nft_batch_put(b, nlh, g_strdup_printf("%s table inet %s", what,
						     b->table));
}

/* ---- sending and acknowledgements ---- */

static void set_buffer(int fd, int force, int plain, size_t size)
{
	int v = (int)MIN(size, (size_t)G_MAXINT / 2);

	if (setsockopt(fd, SOL_SOCKET, force, &v, sizeof(v)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, plain, &v, sizeof(v));
}

/* Reads the acknowledgements of b's messages.  The kernel processes a
 * batch while sendmsg() runs, so its answers are queued by then; the
 * timeout only guards against a kernel that never answers. */
static bool read_acks(struct mnl_socket *nl, struct batch *b, GError **error)
{
	size_t n = b->what->len, answered = 0;
	g_autofree char *buf = g_malloc(MNL_SOCKET_BUFFER_SIZE * 4);
	g_autofree bool *seen = g_new0(bool, n + 1);
	int fd = mnl_socket_get_fd(nl);
	int first_err = 0;
	size_t first_err_index = 0;
	uint32_t portid = mnl_socket_get_portid(nl);

	while (answered < n) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int timeout = first_err ? 0 : ACK_TIMEOUT_MS;
		int pr = poll(&pfd, 1, timeout);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			break;
		ssize_t len = recv(fd, buf, MNL_SOCKET_BUFFER_SIZE * 4, 0);
		if (len < 0) {
			if (errno == EINTR)
				continue;
			g_set_error(error, NFT_ERROR, 1,
				    "nftables table %s: reading the kernel's "
				    "answer: %s", b->table, g_strerror(errno));
			return false;
		}
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int rest = (int)len;
		for (; mnl_nlmsg_ok(nlh, rest);
		     nlh = mnl_nlmsg_next(nlh, &rest)) {
			if (nlh->nlmsg_pid != portid ||
			    nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			if (nlh->nlmsg_len < mnl_nlmsg_size(
				    sizeof(struct nlmsgerr)))
				continue;
			const struct nlmsgerr *err =
				mnl_nlmsg_get_payload(nlh);
			uint32_t i = nlh->nlmsg_seq - b->first_seq;
			if (i >= n || seen[i])
				continue;
			seen[i] = true;
			answered++;
			if (err->error != 0 &&
			    (first_err == 0 || i < first_err_index)) {
				first_err = -err->error;
				first_err_index = i;
			}
		}
	}
	if (first_err != 0) {
		g_set_error(error, NFT_ERROR, 1,
			    "nftables: the kernel refused to %s: %s",
			    (char *)g_ptr_array_index(b->what,
						      first_err_index),
			    g_strerror(first_err));
		return false;
	}
	if (answered < n) {
		g_set_error(error, NFT_ERROR, 1,
			    "nftables table %s: the kernel acknowledged %zu of "
			    "%zu messages", b->table, answered, n);
		return false;
	}
	return true;
}

static bool batch_send(struct batch *b, GError **error)
{
	g_autoptr(GByteArray) out = g_byte_array_new();
	char hdr[256];
	struct nlmsghdr *nlh;
	struct mnl_socket *nl;
	bool ok;

	nlh = nftnl_batch_begin(hdr, b->first_seq - 1);
	g_byte_array_append(out, (const guint8 *)nlh, nlh->nlmsg_len);
	g_byte_array_append(out, b->bytes->data, b->bytes->len);
	nlh = nftnl_batch_end(hdr, b->seq);
	g_byte_array_append(out, (const guint8 *)nlh, nlh->nlmsg_len);

	nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (nl == NULL) {
		g_set_error(error, NFT_ERROR, 1,
			    "nftables: cannot open a netlink socket: %s",
			    g_strerror(errno));
		return false;
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		g_set_error(error, NFT_ERROR, 1,
			    "nftables: cannot bind a netlink socket: %s",
			    g_strerror(errno));
		mnl_socket_close(nl);
		return false;
	}
	int fd = mnl_socket_get_fd(nl);
	int one = 1;
	/* Short acknowledgements: without the request echoed back. */
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	/* The whole batch is one datagram; every answer is queued at once. */
	set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, out->len + 4096);
	set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF,
		   (size_t)b->what->len * 1024 + 65536);

	if (mnl_socket_sendto(nl, out->data, out->len) < 0) {
		g_set_error(error, NFT_ERROR, 1,
			    "nftables table %s: sending %u bytes to the "
			    "kernel: %s", b->table, out->len,
			    g_strerror(errno));
		mnl_socket_close(nl);
		return false;
	}
	ok = read_acks(nl, b, error);
	mnl_socket_close(nl);
	return ok;
}

bool qm_net_nft_apply(const struct qm_net_ruleset *rs, GError **error)
{
	struct batch b;
	bool ok;

	if (!qm_net_table_name_is_valid(rs->table)) {
		g_set_error(error, NFT_ERROR, 1,
			    "invalid nftables table name '%s'", rs->table);
		return false;
	}
	batch_init(&b, rs->table);
	put_table(&b, NFT_MSG_NEWTABLE, NLM_F_CREATE, "create");
	put_table(&b, NFT_MSG_DELTABLE, 0, "delete the old");
	put_table(&b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL, "create");
	qm_net_nft_ruleset_put(&b, rs);
	ok = batch_send(&b, error);
	batch_finish(&b);
	return ok;
}

bool qm_net_nft_remove(const char *table, GError **error)
{
	struct batch b;
	bool ok;

	if (!qm_net_table_name_is_valid(table)) {
		g_set_error(error, NFT_ERROR, 1,
			    "invalid nftables table name '%s'", table);
		return false;
	}
	batch_init(&b, table);
	put_table(&b, NFT_MSG_NEWTABLE, NLM_F_CREATE, "create");
	put_table(&b, NFT_MSG_DELTABLE, 0, "delete");
	ok = batch_send(&b, error);
	batch_finish(&b);
	return ok;
}
