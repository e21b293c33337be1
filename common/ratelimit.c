/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Notifications are limited so that qubes starting and stopping in a loop
 * (or a qube calling a denied service in a loop) cannot flood the desktop:
 * a fixed window of `window_us` passes `burst` events; the rest are only
 * counted, and one summary tells how many there were.  A window starts
 * with the first event after the last one is over, so with a burst of 1 it
 * is "one per `window_us` since the last one shown".
 */
#include "ratelimit.h"

void qm_ratelimit_init(struct qm_ratelimit *rl, unsigned int burst,
		       int64_t window_us)
{
	*rl = (struct qm_ratelimit){ .burst = burst, .window_us = window_us };
}

static bool window_over(const struct qm_ratelimit *rl, int64_t now)
{
	return rl->window_start == 0 || now - rl->window_start >= rl->window_us
	       || now < rl->window_start;
}

unsigned int qm_ratelimit_flush(struct qm_ratelimit *rl, int64_t now)
{
	if (rl->window_start == 0 || !window_over(rl, now))
		return 0;
	unsigned int k = rl->suppressed;

	rl->suppressed = 0;
	return k;
}

bool qm_ratelimit_take(struct qm_ratelimit *rl, int64_t now,
		       unsigned int *summary)
{
	unsigned int k = 0;

	if (window_over(rl, now)) {
		k = rl->suppressed;
		/* 0 means "no window yet": a clock at 0 starts at 1. */
		rl->window_start = now > 0 ? now : 1;
		rl->used = 0;
		rl->suppressed = 0;
		/* A summary counts against the new window, as it is shown
		 * in it; none is when the caller shows none. */
		if (k > 0 && summary)
			rl->used++;
	}
	if (summary)
		*summary = k;
	if (rl->used >= rl->burst) {
		rl->suppressed++;
		return false;
	}
	rl->used++;
	return true;
}
