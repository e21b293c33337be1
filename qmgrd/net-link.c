/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "net-link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

struct request {
	struct nlmsghdr nh;
	union {
		struct ifaddrmsg ifa;
		struct ifinfomsg ifi;
	};
	char attrs[64];
};

static void add_attr(struct request *r, unsigned short type,
		     const void *data, size_t len)
{
	struct rtattr *rta =
		(struct rtattr *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));
	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

/* Sends one request and reads the kernel's acknowledgement: 0 or the
 * negative errno it reports. */
static int transact(int fd, struct request *r, guint32 seq)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	r->nh.nlmsg_seq = seq;
	if (sendto(fd, r, r->nh.nlmsg_len, 0, (struct sockaddr *)&kernel,
		   sizeof(kernel)) < 0)
		return -errno;
	for (;;) {
		char buf[4096] __attribute__((aligned(4)));
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		/* NLMSG_OK without its signed/unsigned comparison */
		for (size_t off = 0; off + sizeof(struct nlmsghdr) <= (size_t)n;) {
			struct nlmsghdr *h = (struct nlmsghdr *)(buf + off);
			if (h->nlmsg_len < sizeof(*h) ||
			    h->nlmsg_len > (size_t)n - off)
				break;
			off += NLMSG_ALIGN(h->nlmsg_len);
			if (h->nlmsg_seq != seq || h->nlmsg_type != NLMSG_ERROR)
				continue;
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
				return -EPROTO;
			return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
		}
	}
}

int qm_net_link_set_peer(const char *ifname, guint32 local, guint32 peer)
{
	unsigned idx = if_nametoindex(ifname);
	if (idx == 0)
		return -errno;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	struct sockaddr_nl me = { .nl_family = AF_NETLINK };
	/* runs on the main loop: never wait long for the kernel's answer */
	struct timeval tv = { .tv_sec = 2 };
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}

	struct request up = { 0 };
	up.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	up.nh.nlmsg_type = RTM_NEWLINK;
	up.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	up.ifi.ifi_family = AF_UNSPEC;
	up.ifi.ifi_index = (int)idx;
	up.ifi.ifi_flags = IFF_UP;
	up.ifi.ifi_change = IFF_UP;
	int err = transact(fd, &up, 1);

	if (err == 0) {
		struct request addr = { 0 };
		guint32 l = htonl(local), p = htonl(peer);
		addr.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
		addr.nh.nlmsg_type = RTM_NEWADDR;
		addr.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK |
				      NLM_F_CREATE | NLM_F_EXCL;
		addr.ifa.ifa_family = AF_INET;
		addr.ifa.ifa_prefixlen = 32;
		addr.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
		addr.ifa.ifa_index = idx;
		/* LOCAL is ours, ADDRESS the other end of the link */
		add_attr(&addr, IFA_LOCAL, &l, sizeof(l));
		add_attr(&addr, IFA_ADDRESS, &p, sizeof(p));
		err = transact(fd, &addr, 2);
		if (err == -EEXIST)
			err = 0;
	}
	close(fd);
	return err;
}
