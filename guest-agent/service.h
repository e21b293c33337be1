/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * RPC services (Qubes' /etc/qubes-rpc): what runs when qmgrd opens a
 * SERVICE stream.  SERVICE+ARG is looked up as a file named "SERVICE+ARG",
 * then "SERVICE", in each service directory in turn (by default
 * /etc/qmgr/rpc, /usr/local/etc/qmgr/rpc, /usr/lib/qmgr/rpc); then among
 * the built-ins (qmgr.VMShell, qmgr.VMExec).  A file found as "SERVICE"
 * gets the argument as its first command-line argument, as in Qubes.
 * Every service gets Qubes' environment: QREXEC_REMOTE_DOMAIN (the caller,
 * as qmgrd names it), QREXEC_SERVICE_FULL_NAME, QREXEC_SERVICE_ARGUMENT
 * (when there is one), QREXEC_REQUESTED_TARGET and QREXEC_AGENT_PID.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

#define AGENT_SERVICE_DIRS_DEFAULT \
	"/etc/qmgr/rpc:/usr/local/etc/qmgr/rpc:/usr/lib/qmgr/rpc"

struct agent_service {
	char **argv;   /* argv[0] an absolute path */
	char **env;    /* the QREXEC_* entries */
};

/*
 * Resolves a service.  `dirs` is a ':'-separated list of directories.
 * The names are checked again here (qmgrd already did): a service name is
 * [A-Za-z0-9._-] (not starting with '.'), an argument [A-Za-z0-9._+-] or
 * empty, the source a qube name or "dom0".  Fails with a message for the
 * caller when the service does not exist or its file is not executable.
 */
bool agent_service_resolve(const char *dirs, const char *service,
			   const char *argument, const char *source,
			   const char *requested_target,
			   struct agent_service *out, GError **error);
void agent_service_clear(struct agent_service *s);

/*
 * qmgr.VMExec's argument: arguments joined with '+'; in each, a byte
 * outside [A-Za-z0-9_.] is written "-XX" (two lowercase hex digits), so
 * '-' is "-2d".  Returns the argv (NULL-terminated), or NULL when the
 * encoding is wrong or yields an empty first argument.
 */
char **agent_vmexec_decode(const char *argument);
