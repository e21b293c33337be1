/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reaching the host: the virtio-serial port (or a unix socket in tests),
 * found, opened and waited for on a timer, since neither a port that
 * appears nor a host that connects gives an event (virtio_console reports
 * POLLHUP for as long as nobody listens on the host, and drops what is
 * written meanwhile).
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

struct ga_host_port;

/* fd: connected to the host; owned by the callee */
typedef void (*ga_host_port_fn)(int fd, void *data);

/* One of port_path / unix_path. */
struct ga_host_port *ga_host_port_create(const char *port_path,
					 const char *unix_path,
					 ga_host_port_fn connected,
					 void *data);
void ga_host_port_destroy(struct ga_host_port *port);
/* Tries again in `ms` milliseconds, until connected. */
void ga_host_port_schedule(struct ga_host_port *port, guint ms);
/* Connects a unix socket now: the fd, or -1 (logged). */
int ga_host_port_connect_unix(const char *path, bool quiet);
