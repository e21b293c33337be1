/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* common/ratelimit.c, the notifications' rate limit of qmgr-tray (a burst
 * per window, then a summary) and gui-proxy (burst 1 per qube), from
 * tables. */
#include "ratelimit.h"

#include <glib.h>

#ifdef NDEBUG
#error "tests need assertions"
#endif

/* ---- rate limit ---- */

struct rl_step {
	int64_t at;             /* µs */
	bool pass;
	unsigned int summary;   /* expected from take */
};

struct rl_case {
	const char *name;
	unsigned int burst;
	struct rl_step steps[12];
	size_t n;
	int64_t flush_at;       /* 0: no flush check */
	unsigned int flushed;
};

#define S (G_USEC_PER_SEC)
static const struct rl_case rl_cases[] = {
	{ "under-the-burst", 3,
	  { { 1, true, 0 }, { 2, true, 0 }, { 3, true, 0 } }, 3, 0, 0 },
	{ "over-the-burst-suppressed", 2,
	  { { 1, true, 0 }, { 2, true, 0 }, { 3, false, 0 }, { 4, false, 0 } },
	  4, 0, 0 },
	{ "next-window-brings-the-summary", 2,
	  { { 1, true, 0 }, { 2, true, 0 }, { 3, false, 0 }, { 4, false, 0 },
	    { 11 * S, true, 2 } },
	  5, 0, 0 },
	{ "summary-counts-in-the-new-window", 2,
	  { { 1, true, 0 }, { 2, true, 0 }, { 3, false, 0 },
	    { 11 * S, true, 1 }, { 11 * S + 1, false, 0 } },
	  5, 0, 0 },
	{ "flush-after-the-window", 1,
	  { { 1, true, 0 }, { 2, false, 0 }, { 3, false, 0 }, { 4, false, 0 } },
	  4, 10 * S + 1, 3 },
	{ "flush-too-early-gives-nothing", 1,
	  { { 1, true, 0 }, { 2, false, 0 } }, 2, 5 * S, 0 },
	{ "clock-at-zero", 1, { { 0, true, 0 }, { 1, false, 0 } }, 2, 0, 0 },
};

static void test_ratelimit(gconstpointer data)
{
	const struct rl_case *c = data;
	struct qm_ratelimit rl;

	qm_ratelimit_init(&rl, c->burst, 10 * S);
	for (size_t i = 0; i < c->n; i++) {
		unsigned int k = 99;
		bool pass = qm_ratelimit_take(&rl, c->steps[i].at, &k);
		g_assert_cmpint(pass, ==, c->steps[i].pass);
		g_assert_cmpuint(k, ==, c->steps[i].summary);
	}
	if (c->flush_at) {
		g_assert_cmpuint(qm_ratelimit_flush(&rl, c->flush_at), ==,
				 c->flushed);
		/* once handed out, forgotten */
		g_assert_cmpuint(qm_ratelimit_flush(&rl, c->flush_at), ==, 0);
	}
}

/* gui-proxy's use: burst 1 and no summaries, so one event per window
 * since the last one that passed, with a window of 30 s. */
static void test_burst_one_is_an_interval(void)
{
	static const struct { int64_t at_s; bool pass; } steps[] = {
		{ 100, true }, { 100, false }, { 110, false }, { 129, false },
		{ 130, true }, { 131, false }, { 1000, true },
	};
	struct qm_ratelimit rl;

	qm_ratelimit_init(&rl, 1, 30 * S);
	for (size_t i = 0; i < G_N_ELEMENTS(steps); i++)
		g_assert_cmpint(qm_ratelimit_take(&rl, steps[i].at_s * S,
						  NULL), ==, steps[i].pass);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(rl_cases); i++) {
		g_autofree char *p = g_strdup_printf("/ratelimit/%s",
						     rl_cases[i].name);
		g_test_add_data_func(p, &rl_cases[i], test_ratelimit);
	}
	g_test_add_func("/ratelimit/burst-one-is-an-interval",
			test_burst_one_is_an_interval);
	return g_test_run();
}
