/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The agent's local RPC socket (rpc-request.h has its messages): guest
 * processes — qmgr-rpc-client, qvm-copy — ask for calls to other qubes
 * here, and the agent makes them on its channel to qmgrd (exec.c).  The
 * socket is open to every user of the guest, as Qubes' qrexec-client-vm
 * is: whether a call may happen is qmgrd's policy, never the guest's.
 */
#pragma once

#include <glib.h>

struct agent_channel;
struct agent_rpc;

/* Listens on `path` (its directory is made; a stale socket replaced). */
struct agent_rpc *agent_rpc_listen(const char *path, struct agent_channel *ch,
				   GError **error);
/* Closes the socket and cancels the calls in progress. */
void agent_rpc_close(struct agent_rpc *rpc);
