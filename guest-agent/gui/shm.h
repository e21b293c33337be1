/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * wl_shm buffers.  The wl_shm global, its pools and buffers are
 * libwayland-server's own (wl_display_init_shm): it maps the client's fd,
 * checks offset/stride/size at create_buffer and, between
 * wl_shm_buffer_begin_access() and end_access(), survives a client that
 * truncates its pool (SIGBUS is caught, the client gets an error).  This
 * file checks such buffers again in 64 bit against the limits of the host
 * protocol, and is the only place that reads their pixels: into a
 * surface's own copy, or (through a view) straight into the host's
 * shared region or the stream.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wayland-server-core.h>

#include "damage.h"

struct ga_server;
struct ga_surface;

bool ga_shm_init(struct ga_server *server);

/* A checked buffer's size and format. */
struct ga_shm_info {
	uint32_t width, height;
	uint32_t format;                /* WL_SHM_FORMAT_[AX]RGB8888 */
};

/*
 * Checks that `buffer` can be a surface's content: wl_shm, ARGB8888 or
 * XRGB8888, at most QM_GUI_MAX_WIDTH x QM_GUI_MAX_HEIGHT, a stride of at
 * least width * 4.  Otherwise posts a protocol error and returns false.
 */
bool ga_shm_check(struct ga_surface *surface, struct wl_resource *buffer,
		  struct ga_shm_info *info);

/*
 * Reads the last byte of a checked buffer, so that a pool the client
 * truncated under it is answered at its commit (libwayland posts the
 * error) rather than at the first frame read out of it later.
 */
void ga_shm_probe(struct wl_resource *buffer);

/*
 * Brings surface->pixels up to date from the buffer the surface holds
 * (surface->buffer, checked by ga_shm_check): the rectangles in
 * surface->stale, or all of it when there is no copy yet (it is made).
 * False (the client told: no memory) when the copy cannot be allocated.
 */
bool ga_shm_copy_stale(struct ga_surface *surface);

/* Where a surface's current content can be read, row by row. */
struct ga_shm_view {
	const uint8_t *data;            /* the top-left pixel */
	size_t stride;                  /* bytes per row */
	struct wl_shm_buffer *shm;      /* non-NULL: a client buffer, read
					 * between begin and end access */
};

/*
 * Opens the surface's content for reading: the client's buffer while the
 * surface holds one (SIGBUS-safe until ga_shm_view_end), else its copy.
 * False when it has neither.  Nothing that can run client requests may
 * come between begin and end (the pool could be resized).
 */
bool ga_shm_view_begin(struct ga_surface *surface, struct ga_shm_view *view);
void ga_shm_view_end(struct ga_shm_view *view);
