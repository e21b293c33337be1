/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * wl_shm buffers.  The wl_shm global, its pools and buffers are
 * libwayland-server's own (wl_display_init_shm): it maps the client's fd,
 * checks offset/stride/size at create_buffer and, between
 * wl_shm_buffer_begin_access() and end_access(), survives a client that
 * truncates its pool (SIGBUS is caught, the client gets an error).  This
 * file copies pixels out of such buffers, checking everything again in
 * 64 bit against the limits of the host protocol.
 */
#pragma once

#include <stdbool.h>
#include <wayland-server-core.h>

#include "damage.h"

struct ga_server;
struct ga_surface;

bool ga_shm_init(struct ga_server *server);

/*
 * Copies the damaged part of `buffer` (all of it when the size or format
 * changed) into surface->pixels and adds it to surface->content_damage.
 * A buffer that is not wl_shm, has another format or is larger than the
 * host accepts gets a protocol error and false.
 */
bool ga_shm_copy(struct ga_surface *surface, struct wl_resource *buffer,
		 const struct ga_damage *damage);
