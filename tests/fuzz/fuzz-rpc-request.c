/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: any bytes as a request packet on a guest agent's
 * local RPC socket (guest-agent/rpc-request.c), which every process of the
 * guest may send.
 *
 * Checks: an accepted request has a target and a service of the allowed
 * characters and lengths, and encoding them again gives back exactly the
 * input (the decoder accepts only what the encoder produces).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "rpc-request.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                           \
	do {                                                               \
		if (!(x)) {                                                \
			fprintf(stderr, "fuzz-rpc-request: check failed: %s\n", \
				#x);                                       \
			abort();                                           \
		}                                                          \
	} while (0)

static bool charset(const char *s, const char *extra)
{
	for (; *s; s++)
		if (!g_ascii_isalnum(*s) && !strchr(extra, *s))
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_rpc_request req;
	GError *err = NULL;

	if (!agent_rpc_request_parse(data, size, &req, &err)) {
		CHECK(err != NULL && err->message != NULL);
		g_error_free(err);
		return 0;
	}
	CHECK(err == NULL);
	CHECK(*req.target && strlen(req.target) <= QM_TARGET_MAX);
	CHECK(*req.service && strlen(req.service) <= QM_SERVICE_MAX);
	CHECK(charset(req.target, "._-@:"));
	CHECK(charset(req.service, "._+-"));
	GBytes *again = agent_rpc_request_encode(req.target, req.service);
	CHECK(again != NULL);
	gsize n;
	const void *p = g_bytes_get_data(again, &n);
	CHECK(n == size && memcmp(p, data, n) == 0);
	g_bytes_unref(again);
	agent_rpc_request_clear(&req);
	return 0;
}
