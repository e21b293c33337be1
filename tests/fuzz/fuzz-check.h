/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Invariants every decision of the policy engine must satisfy, whatever the
 * policy and the VMs, shared by the fuzz targets.  A violation prints what
 * failed and aborts, which libFuzzer reports as a crash.
 */
#pragma once

#include <stdbool.h>
#include "policy.h"

#define FUZZ_CHECK(cond)                                                    \
	do {                                                                \
		if (!(cond))                                                \
			fuzz_check_failed(#cond, __FILE__, __LINE__);       \
	} while (0)

G_NORETURN void fuzz_check_failed(const char *what, const char *file,
				  int line);

/* Makes glib criticals (misuse of an API inside the library) fatal. */
void fuzz_setup(void);

/*
 * Evaluates `req` twice, checks both decisions agree and satisfy the
 * invariants (see fuzz-check.c), and leaves the first in `out` (to be
 * finished by the caller).  `source_name` is the name of the calling VM
 * when known, to check that it is never offered as an ask target.
 */
void fuzz_evaluate_checked(const struct pol_policy *policy,
			   const struct pol_system *sys,
			   const struct pol_request *req,
			   const char *source_name,
			   struct pol_decision *out);
