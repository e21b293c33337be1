/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The notifications' rate limit, one mechanism for gui-proxy (a limit per
 * qube: burst 1 in 30 s) and qmgr-tray (5 notices in 10 s, then a
 * summary), so that qubes starting, stopping or misbehaving in a loop
 * cannot flood the desktop.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/*
 * A fixed-window limit: at most `burst` events per `window_us`; the rest
 * are counted, and the count is handed back once the window is over so a
 * single summary ("K more events") can be shown.
 */
struct qm_ratelimit {
	unsigned int burst;
	int64_t window_us;
	int64_t window_start;        /* of the current window; 0: none yet */
	unsigned int used;           /* events passed in this window */
	unsigned int suppressed;     /* events refused in this window */
};

void qm_ratelimit_init(struct qm_ratelimit *rl, unsigned int burst,
		       int64_t window_us);
/* Whether an event at `now` (monotonic µs) may be shown.  A new window
 * starts when the last one is over; the events it suppressed are then in
 * *summary (else 0), to be shown first, taking one of the new window's
 * `burst`.  `summary` NULL: the caller shows no summaries (gui-proxy logs
 * each event held back), and none takes room. */
bool qm_ratelimit_take(struct qm_ratelimit *rl, int64_t now,
		       unsigned int *summary);
/* At `now`: the events suppressed in a window that is over (0 if none or
 * not over yet), forgotten once returned.  For a timer, so the summary is
 * shown without waiting for the next event. */
unsigned int qm_ratelimit_flush(struct qm_ratelimit *rl, int64_t now);
