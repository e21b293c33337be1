/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qvm-run: run a command in a qube (vm.Run), as Qubes' qvm-run does: the
 * words of COMMAND ARGS... are joined with spaces into one shell command
 * (`/bin/sh -c` in the qube).  Without --pass-io it returns once qmgrd has
 * started the command; with it, stdio is relayed both ways and the exit
 * status is the command's.
 *
 *   qvm-run [-u USER] [-p|--pass-io] [--no-autostart] [--service]
 *           [--no-gui] [--dispvm[=TEMPLATE]] VM COMMAND [ARGS...]
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "wire.h"

#define PROG "qvm-run"
#define SYNOPSIS                                                           \
	"qvm-run [-u USER] [-p|--pass-io] [--no-autostart] [--no-gui] "    \
	"{VM | --dispvm[=TEMPLATE]} COMMAND [ARGS...]\n"                 \
	"       qvm-run [-p] [--no-autostart] --service VM SERVICE[+ARG]"

/* Qubes' default_user. */
#define DEFAULT_USER "user"

static const char help_text[] =
	"usage: " SYNOPSIS "\n"
	"Run a command in a qube, starting the qube first if it is halted.\n"
	"COMMAND and ARGS are joined with spaces and run by /bin/sh -c in "
	"the qube.\n"
	"\n"
	"  -u, --user=USER     run as USER (default: " DEFAULT_USER ")\n"
	"  -p, --pass-io       relay stdin, stdout and stderr and exit with "
	"the command's\n"
	"                      status; without it, return once the command "
	"is started\n"
	"  --no-autostart      fail instead of starting a halted qube\n"
	"  --no-gui            accepted for Qubes compatibility (no GUI "
	"yet)\n"
	"  --service           COMMAND is an RPC service, SERVICE[+ARGUMENT],\n"
	"                      run as a call from dom0 (no policy applies)\n"
	"  --dispvm[=TEMPLATE] run in a new disposable of TEMPLATE (default:\n"
	"                      dom0's default_dispvm), destroyed when the\n"
	"                      command ends; then no VM is given\n"
	"  -h, --help          show this help\n"
	"\n"
	"Exit status: with --pass-io the command's (128+N when signal N "
	"ended it);\n"
	"else 0 once the command is started.  1 qmgrd refused or closed the "
	"command,\n"
	"or is unreachable; 2 usage error; 128+N when signal N (SIGINT, "
	"SIGTERM)\n"
	"interrupted qvm-run --pass-io.\n"
	QM_TOOL_HELP_ENV
	"See qvm-run(1).\n";

static gboolean dispvm;
static char *dispvm_template;   /* --dispvm=TEMPLATE */

static gboolean on_dispvm(const char *name, const char *value, void *data,
			  GError **error)
{
	(void)name;
	(void)data;
	(void)error;
	dispvm = TRUE;
	g_free(dispvm_template);
	dispvm_template = value && *value ? g_strdup(value) : NULL;
	return TRUE;
}

/* Signals during --pass-io reach the relay through this pipe. */
static int signal_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;
	if (write(signal_pipe[1], &b, 1) < 0) {
		/* full: one byte there is enough */
	}
	errno = saved;
}

static bool catch_signals(void)
{
	if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		fprintf(stderr, "%s: pipe: %s\n", PROG, g_strerror(errno));
		return false;
	}
	/* No SA_RESTART: poll() returns and the relay sees the pipe. */
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	return true;
}

/* The signal that interrupted the relay, for the exit status. */
static int caught_signal(void)
{
	unsigned char b = SIGINT;
	if (read(signal_pipe[0], &b, 1) != 1)
		b = SIGINT;
	return b;
}

static int relay(struct qm_client *client, uint32_t stream)
{
	g_autoptr(GError) err = NULL;
	if (!catch_signals())
		return QM_EXIT_FAIL;
	struct qm_client_stdio io = {
		.in = STDIN_FILENO,
		.out = STDOUT_FILENO,
		.err = STDERR_FILENO,
		.cancel = signal_pipe[0],
	};
	int status = 0;
	if (qm_client_stream_relay(client, stream, &io, &status, &err))
		return status >= 0 && status <= 255 ? status : 255;
	if (g_error_matches(err, QM_CLIENT_ERROR, QM_CLIENT_ERROR_CANCELLED))
		return 128 + caught_signal();
	qm_tool_print_error(PROG, err);
	return QM_EXIT_FAIL;
}

/* argv without a leading "--" (GOption leaves one that comes first). */
static int skip_dashdash(int argc, char **argv, int i)
{
	return i < argc && strcmp(argv[i], "--") == 0 ? i + 1 : i;
}

int main(int argc, char **argv)
{
	gboolean help = FALSE, pass_io = FALSE, no_autostart = FALSE;
	gboolean service = FALSE, no_gui = FALSE;
	char *user = NULL;
	GOptionEntry entries[] = {
		{ "user", 'u', 0, G_OPTION_ARG_FILENAME, &user, NULL, NULL },
		{ "pass-io", 'p', 0, G_OPTION_ARG_NONE, &pass_io, NULL,
		  NULL },
		{ "no-autostart", 0, 0, G_OPTION_ARG_NONE, &no_autostart,
		  NULL, NULL },
		{ "service", 0, 0, G_OPTION_ARG_NONE, &service, NULL, NULL },
		{ "no-gui", 0, 0, G_OPTION_ARG_NONE, &no_gui, NULL, NULL },
		/* Qubes' older spelling */
		{ "nogui", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &no_gui,
		  NULL, NULL },
		{ "dispvm", 0, G_OPTION_FLAG_OPTIONAL_ARG,
		  G_OPTION_ARG_CALLBACK, (void *)on_dispvm, NULL, NULL },
		{ "help", 'h', 0, G_OPTION_ARG_NONE, &help, NULL, NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
	g_autoptr(GOptionContext) ctx2 = g_option_context_new(NULL);
	g_autoptr(GError) err = NULL;
	g_autoptr(qm_client) client = NULL;
	g_autoptr(GVariant) result = NULL;
	g_autofree char *command = NULL;
	g_autofree char *target = NULL;
	g_autofree char **rest = NULL;
	int rc = QM_EXIT_USAGE;

	/*
	 * Options end at VM or at COMMAND (what follows is the command's,
	 * `qvm-run work ls -l`), as with Qubes' argparse: options before VM
	 * are parsed first, then those between VM and COMMAND.
	 */
	/* A bare --dispvm takes no value: `qvm-run --dispvm firefox` runs
	 * firefox (GOption would take it as the template); a template is
	 * given as --dispvm=TEMPLATE. */
	for (int i = 1; i < argc && argv[i][0] == '-' &&
			strcmp(argv[i], "--") != 0;) {
		if (strcmp(argv[i], "--dispvm") == 0) {
			dispvm = TRUE;
			memmove(&argv[i], &argv[i + 1],
				(size_t)(argc - i) * sizeof(*argv));
			argc--;
			continue;
		}
		/* options with a separate value: skip the value too */
		if (strcmp(argv[i], "-u") == 0 || strcmp(argv[i], "--user") == 0)
			i++;
		i++;
	}
	g_option_context_set_help_enabled(ctx, FALSE);
	g_option_context_set_strict_posix(ctx, TRUE);
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		rc = qm_tool_usage_error(PROG, SYNOPSIS, "%s", err->message);
		goto out;
	}
	int first = skip_dashdash(argc, argv, 1);
	if (dispvm) {
		/* No VM: everything left is the command. */
		if (help) {
			fputs(help_text, stdout);
			rc = QM_EXIT_OK;
			goto out;
		}
		if (first >= argc) {
			rc = qm_tool_usage_error(PROG, SYNOPSIS,
						 "name the command to run");
			goto out;
		}
		if (dispvm_template != NULL &&
		    !qm_tool_check_name(PROG, dispvm_template))
			goto out;
		target = dispvm_template
				 ? g_strconcat("@dispvm:", dispvm_template, NULL)
				 : g_strdup("@dispvm");
		command = g_strjoinv(" ", argv + first);
		argc = first;   /* nothing left for the VM parsing below */
	}
	const char *vm = first < argc ? argv[first] : NULL;
	int rest_argc = 0;
	rest = g_new0(char *, argc + 1);
	rest[rest_argc++] = argv[0];
	for (int i = first + 1; i < argc; i++)
		rest[rest_argc++] = argv[i];
	char **rest_argv = rest;
	if (vm != NULL && first == 1 && rest_argc > 1) {
		g_option_context_set_help_enabled(ctx2, FALSE);
		g_option_context_set_strict_posix(ctx2, TRUE);
		g_option_context_add_main_entries(ctx2, entries, NULL);
		if (!g_option_context_parse(ctx2, &rest_argc, &rest_argv,
					    &err)) {
			rc = qm_tool_usage_error(PROG, SYNOPSIS, "%s",
						 err->message);
			goto out;
		}
	}
	if (help) {
		fputs(help_text, stdout);
		rc = QM_EXIT_OK;
		goto out;
	}
	/* no_gui: there is no GUI forwarding yet, so every run is --no-gui */
	(void)no_gui;

	int cmd_first = skip_dashdash(rest_argc, rest_argv, 1);
	if (dispvm)
		goto checked;
	if (vm == NULL || cmd_first >= rest_argc) {
		rc = qm_tool_usage_error(PROG, SYNOPSIS,
					 vm == NULL ? "name the qube and the "
						      "command to run"
						    : "name the command to "
						      "run");
		goto out;
	}
	if (!qm_tool_check_name(PROG, vm))
		goto out;
	if (user != NULL && *user == '\0') {
		rc = qm_tool_usage_error(PROG, SYNOPSIS,
					 "--user needs a user name");
		goto out;
	}
	if (user != NULL && !qm_tool_check_text(PROG, "user", user))
		goto out;
	command = g_strjoinv(" ", rest_argv + cmd_first);
	target = g_strdup(vm);
checked:
	if (user != NULL && *user == '\0') {
		rc = qm_tool_usage_error(PROG, SYNOPSIS,
					 "--user needs a user name");
		goto out;
	}
	if (!qm_tool_check_text(PROG, "command", command))
		goto out;
	if (service && (strchr(command, ' ') != NULL ||
			strlen(command) > QM_SERVICE_MAX)) {
		/* qmgrd checks the name itself; this catches the usual
		 * mistake of passing arguments. */
		rc = qm_tool_usage_error(PROG, SYNOPSIS,
					 "--service takes one SERVICE[+ARGUMENT] "
					 "(at most %d bytes), not a command "
					 "line", QM_SERVICE_MAX);
		goto out;
	}
	if (strlen(command) > QM_COMMAND_MAX) {
		rc = qm_tool_usage_error(PROG, SYNOPSIS,
					 "the command is %zu bytes long, at "
					 "most %d are allowed",
					 strlen(command), QM_COMMAND_MAX);
		goto out;
	}

	rc = QM_EXIT_FAIL;
	client = qm_tool_connect(PROG);
	if (client == NULL)
		goto out;
	GVariantDict args;
	g_variant_dict_init(&args, NULL);
	g_variant_dict_insert(&args, service ? "service" : "command", "s",
			      command);
	g_variant_dict_insert(&args, "user", "s",
			      user != NULL ? user : DEFAULT_USER);
	g_variant_dict_insert(&args, "pass_io", "b", pass_io);
	g_variant_dict_insert(&args, "autostart", "b", !no_autostart);
	result = qm_client_call(client, "vm.Run", target,
				g_variant_dict_end(&args), &err);
	if (result == NULL) {
		qm_tool_print_error(PROG, err);
		goto out;
	}
	if (!pass_io) {
		/* qmgrd has handed the command to the qube's agent */
		rc = QM_EXIT_OK;
		goto out;
	}
	guint32 stream = 0;
	if (!g_variant_lookup(result, "stream", "u", &stream) || stream == 0) {
		fprintf(stderr, "%s: qmgrd's vm.Run reply has no stream (is it "
			"the same version as this tool?)\n", PROG);
		goto out;
	}
	rc = relay(client, stream);
out:
	g_free(user);
	g_free(dispvm_template);
	return rc;
}
