/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: any bytes as one policy file.
 *
 * The input is loaded with pol_policy_load_string() (no include root, so
 * directives are errors rather than file accesses), then a fixed set of
 * requests is decided against a fixed system.  Besides the sanitizers this
 * checks that the error list and validity agree, that an invalid policy
 * denies everything, and the per-decision invariants of fuzz-check.c.
 *
 * Service names in the requests below are the ones the seed corpus and
 * policy.dict use, so mutated rules keep matching them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "fuzz-check.h"
#include "policy.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WORK_UUID "a1b2c3d4-0000-4000-8000-000000000001"
#define VAULT_UUID "a1b2c3d4-0000-4000-8000-000000000002"

static const struct {
	struct pol_request req;
	const char *source_name;    /* the caller's name, NULL if unknown */
} requests[] = {
	{ { "qmgr.Filecopy", "+", "work", NULL }, "work" },
	{ { "qmgr.Filecopy", NULL, "work", "personal" }, "work" },
	{ { "qmgr.Filecopy", "+", "standalone", "nonexistent" },
	  "standalone" },
	{ { "qmgr.OpenInVM", "+", "work", "@dispvm" }, "work" },
	{ { "qmgr.OpenInVM", "+arg", "personal", "@dispvm" }, "personal" },
	{ { "qmgr.OpenURL", "+https", "disp123", "@dispvm:work-dvm" },
	  "disp123" },
	{ { "test.Service", "+arg", "vault", "dom0" }, "vault" },
	{ { "test.Service", "+", "dom0", "work" }, "dom0" },
	{ { "test.Service", "+x", "uuid:" WORK_UUID, "uuid:" VAULT_UUID },
	  "work" },
	{ { "qmgr.Gpg", "+key", "work", "vault" }, "work" },
	{ { "admin.vm.List", "+", "work", "@default" }, "work" },
	{ { "qmgr.VMShell", "+", "work", "sys-gui" }, "work" },
	{ { "x", "+", "debian-12", "@dispvm:default-dvm" }, "debian-12" },
	{ { "x", "+a+b", "default-dvm", "@adminvm" }, "default-dvm" },
	{ { "qmgr.Filecopy", "+", "ghost", "work" }, NULL },
	{ { "qmgr.Filecopy", "+", "work", "@anyvm" }, "work" },
	{ { "bad service", "+", "work", NULL }, "work" },
};

static struct pol_system *make_system(void)
{
	static const char *const work_tags[] = { "work", "audio", NULL };
	static const char *const personal_tags[] = { "personal", NULL };
	static const char *const dvm_tags[] = { "dvm", NULL };
	static const char *const work_dvm_tags[] = { "work", "dvm", NULL };
	static const struct pol_vm_info vms[] = {
		{ .name = "work", .cls = POL_CLASS_APPVM, .uuid = WORK_UUID,
		  .tags = work_tags, .default_dispvm = "default-dvm",
		  .running = true },
		{ .name = "personal", .cls = POL_CLASS_APPVM,
		  .tags = personal_tags },
		{ .name = "vault", .cls = POL_CLASS_APPVM, .uuid = VAULT_UUID },
		{ .name = "default-dvm", .cls = POL_CLASS_APPVM,
		  .tags = dvm_tags, .default_dispvm = "default-dvm",
		  .template_for_dispvms = true },
		{ .name = "work-dvm", .cls = POL_CLASS_APPVM,
		  .tags = work_dvm_tags, .template_for_dispvms = true,
		  .running = true },
		{ .name = "disp123", .cls = POL_CLASS_DISPVM,
		  .template_name = "default-dvm",
		  .default_dispvm = "default-dvm", .running = true },
		{ .name = "debian-12", .cls = POL_CLASS_TEMPLATEVM },
		{ .name = "sys-gui", .cls = POL_CLASS_APPVM, .running = true,
		  .internal = true },
		{ .name = "standalone", .cls = POL_CLASS_STANDALONEVM,
		  .default_dispvm = "work-dvm" },
	};
	struct pol_system *sys = pol_system_create();
	GError *error = NULL;

	for (size_t i = 0; i < G_N_ELEMENTS(vms); i++)
		if (!pol_system_add_vm(sys, &vms[i], &error))
			g_error("fixed VM %s: %s", vms[i].name, error->message);
	if (!pol_system_check(sys, &error))
		g_error("fixed system: %s", error->message);
	return sys;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_setup();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pol_system *sys;
	struct pol_policy *policy;

	if (sys == NULL)
		sys = make_system();

	policy = pol_policy_load_string("fuzz.policy", (const char *)data,
					size, NULL);
	FUZZ_CHECK(policy != NULL);

	size_t n_errors = pol_policy_error_count(policy);
	FUZZ_CHECK(pol_policy_is_valid(policy) == (n_errors == 0));
	/* Past POL_ERRORS_MAX one last line counts the dropped errors. */
	FUZZ_CHECK(n_errors <= POL_ERRORS_MAX + 1);
	for (size_t i = 0; i < n_errors; i++) {
		const char *e = pol_policy_error(policy, i);
		FUZZ_CHECK(e != NULL);
		/* Every message says where: this input is the only file. */
		FUZZ_CHECK(i == POL_ERRORS_MAX ||
			   g_str_has_prefix(e, "fuzz.policy:"));
	}
	FUZZ_CHECK(pol_policy_error(policy, n_errors) == NULL);

	for (size_t i = 0; i < G_N_ELEMENTS(requests); i++) {
		struct pol_decision d;
		fuzz_evaluate_checked(policy, sys, &requests[i].req,
				      requests[i].source_name, &d);
		pol_decision_finish(&d);
	}

	pol_policy_destroy(policy);
	return 0;
}
