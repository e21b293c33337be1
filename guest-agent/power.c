/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "power.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <unistd.h>
#include <glib.h>

/* How long programs get to exit on SIGTERM before the file systems are
 * made read-only under them. */
#define TERM_GRACE_US (300 * 1000)

static void remount_ro(const char *target)
{
	/* Fails with EBUSY when a file is still open for writing; the data
	 * is synced anyway, and ext4's journal covers the rest. */
	if (mount(NULL, target, NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0 &&
	    errno != EINVAL && errno != ENOENT)
		g_debug("remounting %s read-only: %s", target,
			g_strerror(errno));
}

bool agent_power_off(void)
{
	g_message("powering off");
	sync();
	/* kill(-1) spares the caller and init. */
	if (kill(-1, SIGTERM) == 0)
		g_usleep(TERM_GRACE_US);
	sync();
	remount_ro("/rw");
	remount_ro("/");
	sync();
	reboot(RB_POWER_OFF);
	g_warning("power off failed: reboot(RB_POWER_OFF): %s",
		  g_strerror(errno));
	return false;
}
