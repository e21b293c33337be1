/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The checks of SHM_BUFFER (protocol version 3) for guest-decode.c: the
 * slot against the size of the region the host really has, the window's
 * size and format, and the slots the host still holds (a guest may not
 * name one until the host released it).  Internal to the decoder; the
 * proxy uses gp_decoder_*() (guest-decode.h).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "guest-decode.h"

struct gp_decode_shm;

/* region_size: 1..QM_GUI_MAX_SHM_SIZE */
struct gp_decode_shm *gp_decode_shm_create(uint64_t region_size);
void gp_decode_shm_destroy(struct gp_decode_shm *s);
uint64_t gp_decode_shm_size(const struct gp_decode_shm *s);
unsigned int gp_decode_shm_held(const struct gp_decode_shm *s);

/* SHM_BUFFER's payload p[0, len) (len bounded by the header check) for
 * live window w: NULL with out->shm filled and the slot held, or why it
 * is refused (to be freed). */
char *gp_decode_shm_buffer(struct gp_decode_shm *s,
			   const struct gp_window_info *w, const uint8_t *p,
			   size_t len, struct gp_guest_msg *out);
bool gp_decode_shm_release(struct gp_decode_shm *s, uint32_t window,
			   uint32_t offset);
/* The window is destroyed: none of its slots are held any more. */
void gp_decode_shm_forget_window(struct gp_decode_shm *s, uint32_t window);
