/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Inside the nftables loader: the batch of netlink messages, shared by
 * net-nft.c (the table, sending, acknowledgements) and net-nft-rules.c
 * (the ruleset's chains, sets, elements and rules).  Not for the rest of
 * qmgrd.
 */
#pragma once

#include <stdint.h>
#include <glib.h>
#include <linux/netlink.h>

#include "net-compile.h"

/* Room for one message; element lists are cut to fit. */
#define MSG_BUF_SIZE (64 * 1024)
#define ELEMS_PER_MSG 128

/* The batch being built: its bytes and, for each sequence number, what
 * the message does (for error messages). */
struct batch {
	GByteArray *bytes;
	GPtrArray *what;        /* char *, index = seq - first_seq */
	uint32_t first_seq;
	uint32_t seq;
	char *scratch;
	const char *table;
};

/* Starts a message of `type` in b's scratch buffer, asking for an
 * acknowledgement; qm_net_nft_batch_put() appends it. */
struct nlmsghdr *qm_net_nft_msg_start(struct batch *b, uint16_t type,
				      uint16_t flags);

/* Appends the message to the batch; `what` (owned by the batch) is what it
 * does, for the error message should the kernel refuse it. */
void qm_net_nft_batch_put(struct batch *b, struct nlmsghdr *nlh, char *what);

/* Adds rs's chains, sets with their elements, and rules to the batch, after
 * the table was created (net-nft-rules.c). */
void qm_net_nft_ruleset_put(struct batch *b, const struct qm_net_ruleset *rs);
