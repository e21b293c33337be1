/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The agent's end of the guest channel: opens the virtio-serial port, waits
 * for the host side to be connected, says HELLO and handles what qmgrd asks
 * (SHUTDOWN; commands on streams, in exec.c).  It reopens the port whenever the host goes away or
 * breaks the protocol, so a restarted qmgrd finds a fresh HELLO.
 */
#pragma once

#include <stdbool.h>

struct agent_channel;

/* qmgrd asked for a clean power-off. */
typedef void (*agent_shutdown_fn)(void *user_data);

struct agent_channel_config {
	/* Port name to look up under sysfs_dir (AGENT_PORT_NAME_DEFAULT). */
	const char *port_name;
	/* Normally AGENT_PORT_SYSFS_DIR; tests point it elsewhere. */
	const char *sysfs_dir;
	/* If set, used instead of looking the port up: a character device or
	 * a unix socket to connect to (for running the agent on a host). */
	const char *device;
	/* Where services are looked up (service.h); NULL: the default. */
	const char *service_dirs;
};

/* Starts opening the port from the main loop; never fails (it retries). */
struct agent_channel *agent_channel_create(
	const struct agent_channel_config *config,
	agent_shutdown_fn on_shutdown, void *user_data,
	void (*destroy)(void *user_data));
void agent_channel_destroy(struct agent_channel *ch);

/* The streams calls go on: NULL while the host is not connected or does
 * not speak protocol version 3. */
struct agent_exec *agent_channel_calls(struct agent_channel *ch);
