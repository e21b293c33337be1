/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Loading a compiled network ruleset (net-compile.h) into the kernel with
 * libnftnl and libmnl, in one nfnetlink batch: the previous version of the
 * table, if any, is deleted and the new one created in the same
 * transaction, so there is never a moment with no rules or half of them.
 * Only the table named in the ruleset is touched.
 *
 * Both calls block for the kernel's answers (a few milliseconds) and need
 * CAP_NET_ADMIN in the current network namespace.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

#include "net-compile.h"

/* Replaces table `inet rs->table` by `rs`, atomically.  On failure
 * nothing changed, and the error names the operation the kernel refused
 * and why. */
bool qm_net_nft_apply(const struct qm_net_ruleset *rs, GError **error);

/* Removes table `inet table`; no error when it does not exist. */
bool qm_net_nft_remove(const char *table, GError **error);
