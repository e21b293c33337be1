/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "suggest.h"

#include <glib.h>
#include <string.h>

size_t qm_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	/* Two rows are enough; words compared here are short, but cap them
	 * anyway so a hostile 1 MiB token costs nothing. */
	if (la > 64 || lb > 64)
		return (size_t)-1;
	size_t prev[65], cur[65];
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			size_t m = sub < del ? sub : del;
			cur[j] = m < ins ? m : ins;
		}
		memcpy(prev, cur, (lb + 1) * sizeof(prev[0]));
	}
	return prev[lb];
}

const char *qm_suggest(const char *word, const char *const *candidates,
		       size_t n_candidates)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1;
	size_t len = strlen(word);

	for (size_t i = 0; i < n_candidates; i++) {
		size_t d = qm_edit_distance(word, candidates[i]);
		if (d < best_d) {
			best_d = d;
			best = candidates[i];
		}
	}
	if (best == NULL || best_d == 0 || best_d > 2 || best_d * 2 >= len)
		return NULL;
	return best;
}
