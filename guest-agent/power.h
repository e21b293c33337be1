/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Clean power-off of the guest, as asked by qmgrd (QM_MSG_SHUTDOWN). */
#pragma once

#include <stdbool.h>

/*
 * Asks every other process to terminate, flushes and remounts the private
 * volume and the root read-only, then powers the machine off (ACPI, so
 * QEMU exits and libvirt sees the domain shut off).  Only returns, false,
 * when the final reboot(2) failed (e.g. not running as root).
 */
bool agent_power_off(void);
