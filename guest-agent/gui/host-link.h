/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The stream to the host's gui-proxy: framing, an output queue that is
 * written as the fd allows (the caller looks at ga_link_queued() to hold
 * back frames), and decoded host messages handed to a callback.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host-link-decode.h"

struct ga_link;

struct ga_link_handler {
	/* a checked host message; HELLO is handled by the link itself */
	void (*message)(const struct ga_host_msg *msg, void *data);
	/* the output queue became short again (see ga_link_queued) */
	void (*drained)(void *data);
	/* the host is gone (EOF, I/O error, or a protocol violation when
	 * `violation`): why.  The fd is closed; ga_link_attach() starts
	 * anew. */
	void (*closed)(const char *why, bool violation, void *data);
};

/* A link without a host yet: what is sent meanwhile is dropped. */
struct ga_link *ga_link_create(const struct ga_link_handler *handler,
			       void *data);
void ga_link_destroy(struct ga_link *link);
/* Starts a session on fd (owned, made non-blocking): sends HELLO and
 * expects the host's HELLO first. */
void ga_link_attach(struct ga_link *link, int fd);
/* A host is attached (its HELLO may still be on the way). */
bool ga_link_connected(const struct ga_link *link);
/* The protocol version spoken: the lower of both HELLOs, 1 until the
 * host's has come (what later versions add waits for it). */
uint32_t ga_link_version(const struct ga_link *link);

/* Queues a message whose payload is a + b (either may be empty). */
void ga_link_send(struct ga_link *link, uint32_t type, uint32_t window,
		  const void *a, size_t alen, const void *b, size_t blen);
/* Queues a header and returns where its `len` payload bytes go; valid
 * until the next call on the link. */
uint8_t *ga_link_reserve(struct ga_link *link, uint32_t type,
			 uint32_t window, size_t len);
/* Above this many queued bytes, frames wait for the drained callback. */
#define GA_LINK_HIGH_WATER (1u << 20)

/* Writes queued bytes (after filling a reservation). */
void ga_link_flush(struct ga_link *link);
/* Bytes queued but not yet written. */
size_t ga_link_queued(const struct ga_link *link);
/* The host's HELLO arrived. */
bool ga_link_ready(const struct ga_link *link);
/* The host speaks version 3 and has our shared region (HELLO's
 * QM_GUI_HELLO_SHM). */
bool ga_link_host_shm(const struct ga_link *link);

/* little-endian store, for payload encoders */
static inline void ga_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}
