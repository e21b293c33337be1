/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Finding the agent's virtio-serial port.  The host names the port in the
 * domain XML (<target type='virtio' name='org.qmgr.agent.0'/>); the guest
 * kernel shows that name in /sys/class/virtio-ports/vportNpM/name and
 * devtmpfs creates /dev/vportNpM.
 */
#pragma once

#define AGENT_PORT_NAME_DEFAULT "org.qmgr.agent.0"
#define AGENT_PORT_SYSFS_DIR "/sys/class/virtio-ports"

/*
 * Returns the device path ("/dev/vport0p1") of the port called `name`, or
 * NULL when no such port exists (yet: virtio_console may still be probing).
 * `sysfs_dir` is normally AGENT_PORT_SYSFS_DIR.
 */
char *agent_port_find(const char *sysfs_dir, const char *name);
