/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Deterministic randomness for the benchmarks' generated worlds
 * (splitmix64): the same seed gives the same world on every machine. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

struct rng {
	uint64_t state;
};

static inline uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->state += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static inline unsigned rng_below(struct rng *r, unsigned n)
{
	return (unsigned)(rng_next(r) % n);
}

static inline bool rng_chance(struct rng *r, unsigned percent)
{
	return rng_below(r, 100) < percent;
}

#define PICK(r, array) ((array)[rng_below((r), G_N_ELEMENTS(array))])
