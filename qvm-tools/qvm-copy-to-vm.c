/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qvm-copy-to-vm VM FILE...  (and qvm-move-to-vm): copies files and
 * directories from dom0 into VM's ~/Incoming/dom0/, through the qmgr.Filecopy
 * service (docs/filecopy.md).  The sender, qmgr-filecopy-send, runs here
 * with its stdout going to the service's stdin and the service's stdout (the
 * receiver's result) coming back to its stdin; its exit status is ours.
 * Calls from dom0 are not subject to the RPC policy, as in Qubes.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"

#define SYNOPSIS "qvm-copy-to-vm [--without-progress] VM FILE..."

static const char help_text[] =
	"usage: " SYNOPSIS "\n"
	"Copy files and directories into VM's ~/Incoming/dom0/ (qvm-move-to-vm\n"
	"removes them here once VM has them).  VM is started if it is halted.\n"
	"\n"
	"Options:\n"
	"  --without-progress  accepted for Qubes' scripts; there is no progress\n"
	"                      output\n"
	"  -h, --help          this text\n"
	"\n"
	"Exit status: 0 every file arrived; 1 a file could not be sent or was\n"
	"refused (the reason is printed); 2 usage error.\n"
	QM_TOOL_HELP_ENV
	"QMGR_FILECOPY_SEND=PATH runs that sender instead of the installed one.\n"
	"See qvm-copy-to-vm(1).\n";

/* The installed sender, or the one named by the environment (tests). */
static const char *sender_path(void)
{
	const char *p = g_getenv("QMGR_FILECOPY_SEND");
	return p && *p ? p : QMGR_LIBEXECDIR "/qmgr/qmgr-filecopy-send";
}

int main(int argc, char **argv)
{
	g_autofree char *prog = g_path_get_basename(argv[0]);
	bool move = strstr(prog, "move") != NULL;
	gboolean help = FALSE, without_progress = FALSE;
	GOptionEntry entries[] = {
		{ "without-progress", 0, 0, G_OPTION_ARG_NONE,
		  &without_progress, NULL, NULL },
		{ "help", 'h', 0, G_OPTION_ARG_NONE, &help, NULL, NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
	g_autoptr(GError) err = NULL;
	g_option_context_set_help_enabled(ctx, FALSE);
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &err))
		return qm_tool_usage_error(prog, SYNOPSIS, "%s", err->message);
	if (help) {
		fputs(help_text, stdout);
		return QM_EXIT_OK;
	}
	int first = argc > 1 && strcmp(argv[1], "--") == 0 ? 2 : 1;
	if (argc - first < 2)
		return qm_tool_usage_error(prog, SYNOPSIS,
					   "name the qube and the files to "
					   "copy");
	const char *vm = argv[first];
	if (!qm_tool_check_name(prog, vm))
		return QM_EXIT_USAGE;
	for (int i = first + 1; i < argc; i++) {
		/* lstat: a dangling symlink is copied as a symlink. */
		struct stat st;
		if (lstat(argv[i], &st) < 0) {
			fprintf(stderr, "%s: %s: %s\n", prog, argv[i],
				g_strerror(errno));
			return QM_EXIT_FAIL;
		}
	}

	struct qm_client *client = qm_tool_connect(prog);
	if (client == NULL)
		return QM_EXIT_FAIL;
	GVariantDict args;
	g_variant_dict_init(&args, NULL);
	g_variant_dict_insert(&args, "service", "s", "qmgr.Filecopy");
	g_variant_dict_insert(&args, "user", "s", "user");
	g_variant_dict_insert(&args, "pass_io", "b", TRUE);
	g_variant_dict_insert(&args, "autostart", "b", TRUE);
	g_autoptr(GVariant) result = qm_client_call(
		client, "vm.Run", vm, g_variant_dict_end(&args), &err);
	guint32 stream = 0;
	if (result == NULL) {
		qm_tool_print_error(prog, err);
		qm_client_destroy(client);
		return QM_EXIT_FAIL;
	}
	if (!g_variant_lookup(result, "stream", "u", &stream) || stream == 0) {
		fprintf(stderr, "%s: qmgrd's vm.Run reply has no stream (is it "
			"the same version as this tool?)\n", prog);
		qm_client_destroy(client);
		return QM_EXIT_FAIL;
	}

	/* to_service: the sender writes, we read; from_service: we write the
	 * receiver's result, the sender reads. */
	int to_service[2], from_service[2];
	if (pipe2(to_service, O_CLOEXEC) < 0 ||
	    pipe2(from_service, O_CLOEXEC) < 0) {
		fprintf(stderr, "%s: pipe: %s\n", prog, g_strerror(errno));
		qm_client_destroy(client);
		return QM_EXIT_FAIL;
	}
	g_autoptr(GPtrArray) sargv = g_ptr_array_new();
	g_ptr_array_add(sargv, (char *)sender_path());
	if (move)
		g_ptr_array_add(sargv, (char *)"--move");
	g_ptr_array_add(sargv, (char *)"--");
	for (int i = first + 1; i < argc; i++)
		g_ptr_array_add(sargv, argv[i]);
	g_ptr_array_add(sargv, NULL);
	signal(SIGPIPE, SIG_IGN);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "%s: fork: %s\n", prog, g_strerror(errno));
		qm_client_destroy(client);
		return QM_EXIT_FAIL;
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		if (dup2(from_service[0], STDIN_FILENO) < 0 ||
		    dup2(to_service[1], STDOUT_FILENO) < 0)
			_exit(QM_EXIT_FAIL);
		execv(sargv->pdata[0], (char **)sargv->pdata);
		fprintf(stderr, "%s: cannot run %s: %s\n", prog,
			(char *)sargv->pdata[0], g_strerror(errno));
		_exit(QM_EXIT_FAIL);
	}
	close(to_service[1]);
	close(from_service[0]);

	struct qm_client_stdio io = {
		.in = to_service[0],
		.out = from_service[1],
		.err = STDERR_FILENO,
		.cancel = -1,
	};
	int status = 0;
	bool relayed = qm_client_stream_relay(client, stream, &io, &status,
					      &err);
	close(to_service[0]);
	close(from_service[1]);
	int ws = 0;
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	qm_client_destroy(client);
	if (!relayed) {
		qm_tool_print_error(prog, err);
		return QM_EXIT_FAIL;
	}
	if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
		return QM_EXIT_FAIL;
	if (status != 0) {
		fprintf(stderr, "%s: the receiver in %s exited with status %d\n",
			prog, vm, status);
		return QM_EXIT_FAIL;
	}
	return QM_EXIT_OK;
}
