/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The host side of a qube's tap, over rtnetlink (no ip(8)): its gateway
 * address with the qube's as peer, which makes the kernel route the
 * qube's /32 to the tap.
 *
 * libvirt 9.0 could do this itself (<source><ip peer=...> of an
 * <interface type='ethernet'>), but it adds the address again each time
 * the guest's CPUs start, so resuming a paused domain (a preloaded
 * disposable) fails with "File exists".
 */
#pragma once

#include <glib.h>

/* Brings `ifname` up and gives it local/32 with `peer` as its peer (host
 * byte order).  An address already there (a qube adopted after a qmgrd
 * restart) is fine.  0 or a negative errno. */
int qm_net_link_set_peer(const char *ifname, guint32 local, guint32 peer);
