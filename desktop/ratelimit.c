/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Notifications are limited so that qubes starting and stopping in a loop
 * (or a qube calling a denied service in a loop) cannot flood the desktop:
 * a fixed window of `window_us` passes `burst` events; the rest are only
 * counted, and one summary tells how many there were.
 */
#include "tray.h"

void qt_ratelimit_init(struct qt_ratelimit *rl, unsigned int burst,
		       int64_t window_us)
{
	*rl = (struct qt_ratelimit){ .burst = burst, .window_us = window_us };
}

static bool window_over(const struct qt_ratelimit *rl, int64_t now)
{
	return rl->window_start == 0 || now - rl->window_start >= rl->window_us
	       || now < rl->window_start;
}

unsigned int qt_ratelimit_flush(struct qt_ratelimit *rl, int64_t now)
{
	if (rl->window_start == 0 || !window_over(rl, now))
		return 0;
	unsigned int k = rl->suppressed;

	rl->suppressed = 0;
	return k;
}

bool qt_ratelimit_take(struct qt_ratelimit *rl, int64_t now,
		       unsigned int *summary)
{
	*summary = 0;
	if (window_over(rl, now)) {
		*summary = rl->suppressed;
		/* 0 means "no window yet": a clock at 0 starts at 1. */
		rl->window_start = now > 0 ? now : 1;
		rl->used = 0;
		rl->suppressed = 0;
		/* The summary counts against the new window, as it is shown
		 * in it. */
		if (*summary > 0)
			rl->used++;
	}
	if (rl->used >= rl->burst) {
		rl->suppressed++;
		return false;
	}
	rl->used++;
	return true;
}
