/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* "Did you mean ...?" for messages about misspelt words. */
#pragma once

#include <stddef.h>

/* Edit distance (Levenshtein, insert/delete/substitute cost 1). */
size_t qm_edit_distance(const char *a, const char *b);

/*
 * The candidate closest to `word`, or NULL when none is close enough to be a
 * plausible typo (distance at most 2, and less than half the word's length).
 */
const char *qm_suggest(const char *word, const char *const *candidates,
		       size_t n_candidates);
