/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: any bytes as a `qvm-policy --vms` file.
 *
 * The input goes to pol_system_load_keyfile_data().  When it is accepted,
 * the VMs it names (its group names, read again here with GKeyFile) call
 * each other under a fixed policy that uses every kind of token, so the
 * matcher and the ask expansion meet whatever systems the parser lets
 * through; each decision is checked with the invariants of fuzz-check.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "fuzz-check.h"
#include "policy.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Callers and targets tried per input, to keep one run fast. */
#define MAX_NAMES 6

static const char fixed_policy[] =
	"test.Svc  +a  @anyvm             @dispvm            allow\n"
	"test.Svc  +a  @tag:t1            @anyvm             ask default_target=@dispvm\n"
	"test.Svc  +a  @type:DispVM       @default           ask\n"
	"test.Svc  +a  @dispvm:@tag:t2    @anyvm             allow target=dom0\n"
	"test.Svc  +a  @anyvm             @tag:t3            allow autostart=no\n"
	"test.Svc  +a  @anyvm             @type:TemplateVM   deny notify=no\n"
	"test.Svc  +a  @anyvm             @dispvm:@tag:t1    allow\n"
	"test.Svc  +a  @anyvm             @default           allow target=@dispvm\n"
	"test.Svc  *   @anyvm             @anyvm             ask user=root\n"
	"test.Svc  *   *                  @adminvm           deny\n"
	"*         *   @adminvm           @anyvm             allow\n"
	"*         *   @anyvm             *                  ask\n";

static const char *const arguments[] = { "+a", "+b" };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_setup();
	return 0;
}

static void decide(const struct pol_policy *policy,
		   const struct pol_system *sys, const char *source,
		   const char *target)
{
	for (size_t i = 0; i < G_N_ELEMENTS(arguments); i++) {
		struct pol_request req = {
			.service = "test.Svc",
			.argument = arguments[i],
			.source = source,
			.target = target,
		};
		struct pol_decision d;
		fuzz_evaluate_checked(policy, sys, &req, source, &d);
		pol_decision_finish(&d);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pol_policy *policy;
	g_autoptr(GError) error = NULL;

	if (policy == NULL) {
		policy = pol_policy_load_string("fixed.policy", fixed_policy,
						strlen(fixed_policy), NULL);
		if (!pol_policy_is_valid(policy))
			g_error("fixed policy: %s",
				pol_policy_error(policy, 0));
	}

	struct pol_system *sys = pol_system_load_keyfile_data(
		(const char *)data, size, "fuzz.vms", &error);
	if (sys == NULL) {
		/* A rejected file always says why. */
		FUZZ_CHECK(error != NULL);
		FUZZ_CHECK(error->message != NULL && *error->message != '\0');
		return 0;
	}
	FUZZ_CHECK(error == NULL);
	FUZZ_CHECK(pol_system_vm_count(sys) >= 1);   /* the admin VM */

	const char *names[MAX_NAMES + 1] = { "dom0" };
	size_t n_names = 1;
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_auto(GStrv) groups = NULL;
	if (g_key_file_load_from_data(kf, (const char *)data, size,
				      G_KEY_FILE_NONE, NULL)) {
		groups = g_key_file_get_groups(kf, NULL);
		for (size_t i = 0; groups[i] && n_names < MAX_NAMES; i++)
			names[n_names++] = groups[i];
	}

	for (size_t s = 0; s < n_names; s++) {
		decide(policy, sys, names[s], NULL);
		decide(policy, sys, names[s], "@dispvm");
		for (size_t t = 0; t < n_names; t++)
			decide(policy, sys, names[s], names[t]);
	}

	pol_system_destroy(sys);
	return 0;
}
