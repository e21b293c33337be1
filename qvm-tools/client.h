/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The tools' side of qmgrd's admin API (docs/admin-api.md): find the socket,
 * connect, exchange HELLO, make calls and follow the event stream.
 *
 * I/O is blocking: a qvm-* tool does one thing and exits, so it has no main
 * loop to return to.  Replies may arrive out of order (the daemon serves long
 * calls such as vm.Start concurrently), so calls can be pipelined with
 * qm_client_send() + qm_client_wait(); qm_client_call() is both at once.
 * A command started with vm.Run has its stdio relayed by
 * qm_client_stream_relay(), which polls (the one non-blocking part).
 *
 * Also here: the helpers every tool shares (exit codes, name checks, error
 * printing) and a small JSON writer for `qvm-ls --json`.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <glib.h>

/* Exit codes of every qvm-* tool except qvm-policy (see their man pages). */
#define QM_EXIT_OK 0
#define QM_EXIT_FAIL 1    /* the operation failed, qmgrd unreachable, timeout */
#define QM_EXIT_USAGE 2   /* bad arguments; nothing was done */

/* Why a client call failed.  The daemon's codes are documented in
 * docs/admin-api.md; the first six are the client's own. */
enum qm_client_error {
	QM_CLIENT_ERROR_UNREACHABLE,  /* no qmgrd at the socket, or refused us */
	QM_CLIENT_ERROR_PROTOCOL,     /* qmgrd broke the protocol or hung up */
	QM_CLIENT_ERROR_NO_ANSWER,    /* our wait for qmgrd's answer expired */
	QM_CLIENT_ERROR_CLOSED,       /* qmgrd closed a stream (CLOSE) */
	QM_CLIENT_ERROR_CANCELLED,    /* the caller abandoned a stream */
	QM_CLIENT_ERROR_LOCAL_IO,     /* writing a command's output failed */
	QM_CLIENT_ERROR_TIMEOUT,      /* qmgrd's "Timeout" */
	QM_CLIENT_ERROR_NOT_FOUND,
	QM_CLIENT_ERROR_EXISTS,
	QM_CLIENT_ERROR_INVALID,
	QM_CLIENT_ERROR_STATE,
	QM_CLIENT_ERROR_IN_USE,
	QM_CLIENT_ERROR_LIBVIRT,
	QM_CLIENT_ERROR_DENIED,
	QM_CLIENT_ERROR_INTERNAL,
	QM_CLIENT_ERROR_OTHER,        /* a code this client does not know */
};
#define QM_CLIENT_ERROR qm_client_error_quark()
GQuark qm_client_error_quark(void);

struct qm_client;
typedef struct qm_client qm_client;   /* for g_autoptr only */

/*
 * Called for each EVENT: `properties` is the event's a{sv}.  Return false to
 * make qm_client_dispatch() return.
 */
typedef bool (*qm_client_event_fn)(const char *event, const char *vm,
				   GVariant *properties, void *user_data);

/* $QMGR_ROOT/run/qmgr/qmgrd.sock when QMGR_ROOT is set (and not empty),
 * else the system socket under the configured rundir. */
char *qm_client_socket_path(void);

/*
 * Connects to qmgrd and exchanges HELLO.  `software` names this peer in
 * HELLO (e.g. "qvm-ls").  On failure the error says what to do, e.g.
 * "cannot reach qmgrd at PATH: No such file or directory (is qmgrd running?
 * start it with: qmgrd)".
 */
struct qm_client *qm_client_connect(const char *software, GError **error);
void qm_client_destroy(struct qm_client *client);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(qm_client, qm_client_destroy)

/*
 * Sends a REQUEST.  `args` is an a{sv} (floating references are sunk) or
 * NULL for none.  Returns the call's id (never 0), or 0 with *error.
 */
uint32_t qm_client_send(struct qm_client *client, const char *method,
			const char *vm, GVariant *args, GError **error);

/*
 * Waits for the REPLY to call `id`, at most timeout_ms (-1: no limit).
 * Returns its result (a{sv}, owned by the caller) or NULL with *error: for a
 * refused call the daemon's message, the code mapped to enum
 * qm_client_error.  Events arriving meanwhile are kept for
 * qm_client_dispatch().
 */
GVariant *qm_client_wait(struct qm_client *client, uint32_t id,
			 int timeout_ms, GError **error);

/* qm_client_send() then qm_client_wait() without a time limit. */
GVariant *qm_client_call(struct qm_client *client, const char *method,
			 const char *vm, GVariant *args, GError **error);

/* Calls events.Subscribe; from then on events go to `fn`. */
bool qm_client_subscribe(struct qm_client *client, qm_client_event_fn fn,
			 void *user_data, GDestroyNotify destroy,
			 GError **error);

/*
 * Delivers events (first those that arrived during calls) until the
 * callback returns false (true is returned), or timeout_ms passes
 * (-1: no limit; QM_CLIENT_ERROR_NO_ANSWER) or the connection fails.
 */
bool qm_client_dispatch(struct qm_client *client, int timeout_ms,
			GError **error);

/* ---- streams (vm.Run with pass_io) ---- */

/* Where a stream's stdio goes.  Any fd may be -1: no stdin (EOF is sent at
 * once), output discarded, no cancellation. */
struct qm_client_stdio {
	int in;       /* read for the command's stdin (fd 0) */
	int out;      /* the command's stdout (fd 1) is written here */
	int err;      /* and its stderr (fd 2) */
	int cancel;   /* readable: abandon the stream (CLOSE "interrupted") */
};

/*
 * Relays stream `stream` (vm.Run's "stream") until the command ends
 * (docs/admin-api.md, "Streams").  Stdin is sent only within the credit
 * qmgrd grants; output is buffered only as far as the credit this side
 * grants (QM_WINDOW_INITIAL per fd, renewed by WINDOW as the output is
 * written), so a stalled stdout stalls only the command, never the reading
 * of the socket.  The fds (terminals excepted) are made non-blocking for
 * the duration and their flags restored.  Replies and events arriving meanwhile are kept, as are
 * messages of other streams (for their own relay).
 *
 * Returns true with *status, the command's exit status (128 + signal when
 * a signal ended it), once the output before EXIT is written.  Else false
 * with *error: QM_CLIENT_ERROR_CLOSED with qmgrd's reason, _CANCELLED when
 * `cancel` became readable (CLOSE was sent), _LOCAL_IO when the output
 * could not be written (CLOSE was sent), _PROTOCOL when qmgrd broke the
 * protocol or hung up.
 */
bool qm_client_stream_relay(struct qm_client *client, uint32_t stream,
			    const struct qm_client_stdio *io, int *status,
			    GError **error);

/* The name of a daemon error code ("NotFound"), or NULL for the client's
 * own codes. */
const char *qm_client_error_code_name(int code);

/* ---- shared by the tools ---- */

/*
 * Qubes' name rules (qmgrd's own check, qm_vm_name_check).  On failure
 * prints "PROG: invalid qube name 'NAME': WHY" and returns false; the tool
 * then exits QM_EXIT_USAGE without connecting.
 */
bool qm_tool_check_name(const char *prog, const char *name);

/*
 * Strings travel as GVariant 's', which must be UTF-8: on failure prints
 * "PROG: WHAT 'S' is not valid UTF-8"; the tool exits QM_EXIT_USAGE.
 */
bool qm_tool_check_text(const char *prog, const char *what, const char *s);

/* Connects, or prints "PROG: cannot reach qmgrd ..." and returns NULL. */
struct qm_client *qm_tool_connect(const char *prog);

/* Prints "PROG: MESSAGE" (control characters made harmless) to stderr. */
void qm_tool_print_error(const char *prog, const GError *error);

/* Writes s to `out`, control characters (from the daemon: not trusted to
 * be harmless on a terminal) replaced by '?'. */
void qm_tool_fputs_safe(const char *s, FILE *out);

/*
 * Prints "PROG: MESSAGE", the synopsis and where to find help to stderr and
 * returns QM_EXIT_USAGE.
 */
int qm_tool_usage_error(const char *prog, const char *synopsis,
			const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/*
 * The common start of the tools that act on the qubes they name: parses
 * argv with `entries` (whose --help lands in *help and whose remaining
 * arguments land in *names), prints the help text, and requires at least
 * one valid qube name ("name the qubes to VERB").  Returns -1 to go on, or
 * the exit status to return at once.
 */
int qm_tool_parse_names(const char *prog, const char *synopsis,
			const char *help_text, const GOptionEntry *entries,
			const gboolean *help, char ***names, const char *verb,
			int *argc, char ***argv);

/* The end of a tool's option table: -h/--help setting `help`, the other
 * arguments (file names: any bytes) into the char ** `rest`. */
#define QM_TOOL_HELP_AND_REST(help, rest)                                  \
	{ "help", 'h', 0, G_OPTION_ARG_NONE, &(help), NULL, NULL },        \
	{ G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &(rest),  \
	  NULL, NULL },                                                    \
	{ NULL }

/*
 * Parses the options of `entries` without GLib's own help (the tool's
 * help_text is printed for -h), reporting a parse error as a usage error.
 * Returns -1 to go on, or the exit status to return at once.
 */
int qm_tool_parse_options(const char *prog, const char *synopsis,
			  const char *help_text, const GOptionEntry *entries,
			  const gboolean *help, int *argc, char ***argv);

/*
 * Looks up one qube in a vm.List result ("vms", aa{sv}): its dict, or NULL.
 */
GVariant *qm_tool_find_vm(GVariant *vms, const char *name);

/* The vm.List result's "vms" (aa{sv}), or NULL with *error. */
GVariant *qm_tool_list_vms(struct qm_client *client, GError **error);

/* Calls `method` (vm.Start, vm.Kill, ...) on qube `vm` without arguments:
 * false with the error printed as PROG's. */
bool qm_tool_call_vm(struct qm_client *client, const char *prog,
		     const char *method, const char *vm);

/* Connects to qmgrd and lists the qubes (*vms, vm.List's "vms"): the
 * client, or NULL with the error printed as PROG's. */
struct qm_client *qm_tool_connect_list(const char *prog, GVariant **vms);

/* "qube 'NAME' does not exist (did you mean 'X'? / qvm-ls lists them)". */
void qm_tool_print_not_found(const char *prog, GVariant *vms,
			     const char *name);

/* For the help text: the socket the tools use and how to change it. */
#define QM_TOOL_HELP_ENV                                                    \
	"Environment: QMGR_ROOT=DIR talks to the qmgrd started with "      \
	"--root DIR.\n"

/* ---- JSON (for --json) ---- */

/* Appends `s` as a JSON string: quoted, escaped, control characters as
 * \u00XX, invalid UTF-8 bytes as \ufffd. */
void qm_json_append_string(GString *out, const char *s);

/* Appends a GVariant as JSON: strings, booleans, integers, doubles, arrays
 * and a{sv}/a{ss} dictionaries; other types as their GVariant text. */
void qm_json_append_variant(GString *out, GVariant *value);
