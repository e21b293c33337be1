/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Decoder of the local RPC socket's requests: untrusted input. */
#include "rpc-request.h"

#include <string.h>

#include "wire.h"

static bool fail(GError **error, const char *what)
{
	g_set_error(error, g_quark_from_static_string("agent-rpc-error"), 1,
		    "malformed call request: %s", what);
	return false;
}

bool agent_chars_ok(const char *s, const char *extra)
{
	for (; *s; s++)
		if (!g_ascii_isalnum(*s) && !strchr(extra, *s))
			return false;
	return true;
}

/* A target: a qube name, or @default, @dispvm, @dispvm:NAME, @adminvm. */
static bool valid_target(const char *s)
{
	size_t len = strlen(s);

	return len > 0 && len <= QM_TARGET_MAX && agent_chars_ok(s, "._-@:");
}

/* SERVICE[+ARG]: [A-Za-z0-9._-] then optionally '+' and [A-Za-z0-9._+-]. */
static bool valid_service(const char *s)
{
	size_t len = strlen(s);

	return len > 0 && len <= QM_SERVICE_MAX && s[0] != '+' &&
	       s[0] != '.' && agent_chars_ok(s, "._+-");
}

bool agent_rpc_request_parse(const uint8_t *untrusted_buf, size_t len,
			     struct agent_rpc_request *out, GError **error)
{
	const char *fields[3];
	size_t n = 0, start = 0;

	memset(out, 0, sizeof(*out));
	if (len > AGENT_RPC_REQUEST_MAX)
		return fail(error, "too long");
	/* Exactly three NUL-terminated fields, nothing after. */
	for (size_t i = 0; i < len; i++) {
		if (untrusted_buf[i] != '\0')
			continue;
		if (n == 3)
			return fail(error, "more than three fields");
		fields[n++] = (const char *)untrusted_buf + start;
		start = i + 1;
	}
	if (n != 3 || start != len)
		return fail(error, "not three NUL-terminated fields");
	if (strcmp(fields[0], AGENT_RPC_MAGIC) != 0)
		return fail(error, "unknown magic (client and agent of "
				   "different versions?)");
	if (!valid_target(fields[1]))
		return fail(error, "the target is not a qube name or "
				   "@keyword");
	if (!valid_service(fields[2]))
		return fail(error, "the service is not SERVICE[+ARGUMENT] "
				   "of [A-Za-z0-9._-]");
	/* sanitized: bounded, charset checked */
	out->target = g_strdup(fields[1]);
	out->service = g_strdup(fields[2]);
	return true;
}

void agent_rpc_request_clear(struct agent_rpc_request *req)
{
	g_clear_pointer(&req->target, g_free);
	g_clear_pointer(&req->service, g_free);
}

GBytes *agent_rpc_request_encode(const char *target, const char *service)
{
	GByteArray *b = g_byte_array_new();

	g_byte_array_append(b, (const guint8 *)AGENT_RPC_MAGIC,
			    sizeof(AGENT_RPC_MAGIC));
	g_byte_array_append(b, (const guint8 *)target, strlen(target) + 1);
	g_byte_array_append(b, (const guint8 *)service, strlen(service) + 1);
	if (b->len > AGENT_RPC_REQUEST_MAX) {
		g_byte_array_unref(b);
		return NULL;
	}
	return g_byte_array_free_to_bytes(b);
}
