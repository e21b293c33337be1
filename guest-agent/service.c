/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "service.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gio/gio.h>

#include "rpc-request.h"
#include "wire.h"

#define NAME_MAX_LEN 64     /* a qube name is at most 31; dom0 */

static bool valid_service(const char *s)
{
	size_t len = strlen(s);

	return len > 0 && len <= QM_SERVICE_MAX && s[0] != '.' &&
	       agent_chars_ok(s, "._-");
}

static bool valid_argument(const char *s)
{
	return strlen(s) <= QM_SERVICE_MAX && agent_chars_ok(s, "._+-");
}

/* A qube name as qmgrd spells it, "dom0", or a target keyword such as
 * "@dispvm:work" or "@default" (requested targets only). */
static bool valid_name(const char *s, bool keyword_ok)
{
	size_t len = strlen(s);

	if (len == 0 || len > NAME_MAX_LEN)
		return false;
	if (keyword_ok && s[0] == '@')
		s++;
	return agent_chars_ok(s, keyword_ok ? "._-:@" : "._-");
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

char **agent_vmexec_decode(const char *argument)
{
	g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GString) cur = g_string_new(NULL);

	for (const char *p = argument;; p++) {
		if (*p == '+' || *p == '\0') {
			if (memchr(cur->str, '\0', cur->len) != NULL)
				return NULL;   /* "-00": no NUL in an argument */
			g_ptr_array_add(args, g_strndup(cur->str, cur->len));
			g_string_truncate(cur, 0);
			if (*p == '\0')
				break;
			continue;
		}
		if (*p == '-') {
			int hi = p[1] ? hex_value(p[1]) : -1;
			int lo = hi >= 0 && p[2] ? hex_value(p[2]) : -1;
			if (lo < 0)
				return NULL;
			g_string_append_c(cur, (char)(hi << 4 | lo));
			p += 2;
			continue;
		}
		if (!g_ascii_isalnum(*p) && *p != '_' && *p != '.')
			return NULL;
		g_string_append_c(cur, *p);
	}
	if (args->len == 0 || *(char *)g_ptr_array_index(args, 0) == '\0')
		return NULL;
	g_ptr_array_add(args, NULL);
	return (char **)g_ptr_array_free(g_steal_pointer(&args), FALSE);
}

/* The file of a service in `dir`: SERVICE+ARG, then SERVICE; NULL when
 * neither exists.  *with_arg says which. */
static char *find_file(const char *dir, const char *service,
		       const char *argument, bool *with_arg, GError **error)
{
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 0 && *argument == '\0')
			continue;
		g_autofree char *name = pass == 0
			? g_strconcat(service, "+", argument, NULL)
			: g_strdup(service);
		g_autofree char *path = g_build_filename(dir, name, NULL);
		struct stat st;
		if (stat(path, &st) < 0)
			continue;
		if (!S_ISREG(st.st_mode) || access(path, X_OK) < 0) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
				    "the service file %s is not an executable "
				    "file (chmod +x it)", path);
			return NULL;
		}
		*with_arg = pass == 0;
		return g_steal_pointer(&path);
	}
	return NULL;
}

bool agent_service_resolve(const char *dirs, const char *service,
			   const char *argument, const char *source,
			   const char *requested_target,
			   struct agent_service *out, GError **error)
{
	memset(out, 0, sizeof(*out));
	if (!valid_service(service) || !valid_argument(argument) ||
	    !valid_name(source, false) ||
	    !valid_name(requested_target, true)) {
		g_set_error_literal(error, G_IO_ERROR,
				    G_IO_ERROR_INVALID_ARGUMENT,
				    "malformed service call");
		return false;
	}

	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_auto(GStrv) dir_list = g_strsplit(dirs, ":", -1);
	for (char **dir = dir_list; *dir && argv->len == 0; dir++) {
		bool with_arg = false;
		if (**dir == '\0')
			continue;
		GError *err = NULL;
		char *path = find_file(*dir, service, argument, &with_arg,
				       &err);
		if (err != NULL) {
			g_propagate_error(error, err);
			return false;
		}
		if (path == NULL)
			continue;
		g_ptr_array_add(argv, path);
		if (!with_arg && *argument)
			g_ptr_array_add(argv, g_strdup(argument));
	}
	if (argv->len == 0 && strcmp(service, "qmgr.VMShell") == 0) {
		/* Commands on stdin, as Qubes' qubes.VMShell. */
		g_ptr_array_add(argv, g_strdup("/bin/sh"));
	} else if (argv->len == 0 && strcmp(service, "qmgr.VMExec") == 0) {
		g_auto(GStrv) args = agent_vmexec_decode(argument);
		if (args == NULL) {
			g_set_error(error, G_IO_ERROR,
				    G_IO_ERROR_INVALID_ARGUMENT,
				    "qmgr.VMExec: the argument '%s' is not an "
				    "encoded command (ARG+ARG..., other bytes "
				    "as -XX)", argument);
			return false;
		}
		/* The shell finds the program on PATH; "$@" passes every
		 * argument as it is. */
		g_ptr_array_add(argv, g_strdup("/bin/sh"));
		g_ptr_array_add(argv, g_strdup("-c"));
		g_ptr_array_add(argv, g_strdup("exec \"$0\" \"$@\""));
		for (char **a = args; *a; a++)
			g_ptr_array_add(argv, g_strdup(*a));
	}
	if (argv->len == 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "no service %s in this qube (add an executable "
			    "/etc/qmgr/rpc/%s)", service, service);
		return false;
	}
	g_ptr_array_add(argv, NULL);

	GPtrArray *env = g_ptr_array_new();
	g_ptr_array_add(env, g_strconcat("QREXEC_REMOTE_DOMAIN=", source, NULL));
	g_ptr_array_add(env, *argument
		? g_strconcat("QREXEC_SERVICE_FULL_NAME=", service, "+",
			      argument, NULL)
		: g_strconcat("QREXEC_SERVICE_FULL_NAME=", service, NULL));
	if (*argument)
		g_ptr_array_add(env, g_strconcat("QREXEC_SERVICE_ARGUMENT=",
						 argument, NULL));
	g_ptr_array_add(env, g_strconcat("QREXEC_REQUESTED_TARGET=",
					 requested_target, NULL));
	g_ptr_array_add(env, g_strdup_printf("QREXEC_AGENT_PID=%d",
					     (int)getpid()));
	g_ptr_array_add(env, NULL);
	out->argv = (char **)g_ptr_array_free(g_steal_pointer(&argv), FALSE);
	out->env = (char **)g_ptr_array_free(env, FALSE);
	return true;
}

void agent_service_clear(struct agent_service *s)
{
	g_clear_pointer(&s->argv, g_strfreev);
	g_clear_pointer(&s->env, g_strfreev);
}
