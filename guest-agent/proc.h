/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The processes of the commands qmgrd runs in the guest: `/bin/sh -c
 * COMMAND` started as a user of the guest, in a session (and so a process
 * group) of its own, with pipes for its stdio; and ended by process group,
 * SIGTERM first and SIGKILL if that was not enough.
 */
#pragma once

#include <stdbool.h>
#include <glib.h>

/* How long a process group has between SIGTERM and SIGKILL. */
#define AGENT_PROC_KILL_DELAY_MS 2000

struct agent_proc {
	GPid pid;        /* also its process group id */
	int stdin_fd;    /* write end, non-blocking; -1 without pipes */
	int stdout_fd;   /* read ends, non-blocking; -1 without pipes */
	int stderr_fd;
};

/*
 * Starts `/bin/sh -c command` as `user` (a name from the guest's passwd;
 * the agent must be root for any user but its own) with HOME, USER,
 * LOGNAME, SHELL and PATH set and the home directory as its working
 * directory.  With `pipes`, its stdin, stdout and stderr are pipes to the
 * agent; without, /dev/null.  Fails (with a message for the caller's
 * user) when the user does not exist or cannot be switched to; a failure
 * after fork (setuid, exec) is reported by the child on its stderr, and it
 * exits with 127.  The caller watches the pid (g_child_watch_add).
 */
bool agent_proc_spawn(const char *user, const char *command, bool pipes,
		      struct agent_proc *out, GError **error);

/* What to start, for agent_proc_start(). */
struct agent_proc_spec {
	const char *user;
	/* `/bin/sh -c command`, or when command is NULL, argv (argv[0] an
	 * absolute path). */
	const char *command;
	const char *const *argv;
	/* Extra "NAME=value" entries after the standard ones; may be NULL. */
	const char *const *env;
	bool pipes;
	/* With pipes: stderr is the agent's own (its log), not a pipe;
	 * stderr_fd is then -1. */
	bool stderr_local;
};

/* agent_proc_spawn(), generalised. */
bool agent_proc_start(const struct agent_proc_spec *spec,
		      struct agent_proc *out, GError **error);

/*
 * Ends the process group of `pid`: SIGTERM now, SIGKILL after
 * AGENT_PROC_KILL_DELAY_MS for what is left of it.  Unless `reaped` (the
 * caller has already collected its exit status), also reaps `pid`; the
 * caller must have removed its own child watch.
 */
void agent_proc_terminate(GPid pid, bool reaped);

/* At exit: SIGKILL now for every group still being ended. */
void agent_proc_kill_all(void);
