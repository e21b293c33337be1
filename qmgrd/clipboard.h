/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gui.ClipboardPaste (docs/admin-api.md): may the global clipboard that
 * gui-proxy holds, copied from one qube, be pasted into another?  The RPC
 * policy decides (service qmgr.ClipboardPaste, docs/policy.md), through the
 * ask prompt when it says `ask`, and the decision is audited like a call's.
 */
#pragma once

#include "daemon.h"

struct qm_call;

/* Answers `call` (args: source, target) with "decision" allow or deny and
 * a "reason", at once or once the prompt agent has answered. */
void qm_clipboard_paste(struct qmgrd *d, struct qm_call *call);
