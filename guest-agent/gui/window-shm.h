/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A window's frames through the shared region (protocol version 3): two
 * slots per window, each the size of the window's shown part; a frame is
 * copied into a slot the host does not hold (only what changed since
 * that slot was last written) and named by SHM_BUFFER.  The host holds a
 * slot from that SHM_BUFFER until its SHM_RELEASE; with both held the
 * frame waits for a release.  When the region is missing or full, the
 * caller sends DAMAGE instead (the whole window the first time after a
 * frame went through the region).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "damage.h"

struct ga_window;
struct ga_server;

enum ga_shm_result {
	GA_SHM_SENT,            /* SHM_BUFFER queued: COMMIT follows */
	GA_SHM_WAIT,            /* both slots held: again on a release */
	GA_SHM_UNUSED,          /* no region, host without it, no room */
};

/* Sends the frame through a slot: damage in the host's coordinates
 * (clipped to w->width x w->height), origin the shown part's top-left
 * pixel in a source of src_stride bytes per row. */
enum ga_shm_result ga_window_shm_send(struct ga_window *w,
				      const struct ga_damage *damage,
				      const uint8_t *origin,
				      size_t src_stride);
/* After the window's frames went through the region: the next DAMAGE
 * must cover the whole window. */
bool ga_window_shm_needs_full_damage(struct ga_window *w);
/* SHM_RELEASE for the window's slot at offset. */
void ga_window_shm_release(struct ga_window *w, uint32_t offset);
/* The host went: it holds nothing any more. */
void ga_window_shm_host_lost(struct ga_window *w);
/* The window is freed: its slots go back to the region. */
void ga_window_shm_free(struct ga_window *w);
