/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <gio/gio.h>
#include <glib-unix.h>

#define USER_NAME_MAX 32
#define GROUPS_MAX 65536
#define ROOT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define USER_PATH "/usr/local/bin:/usr/bin:/bin"

/* Everything the child needs, prepared before fork: between fork and exec
 * it only makes system calls (no malloc, no NSS, no locale). */
struct child {
	char **argv;
	char **envp;
	bool switch_user;
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	int ngroups;
	const char *home;
	int fds[3];              /* become its stdin, stdout, stderr */
	const char *fail_prefix;
	/* the user's GUI compositor socket, waited for a few seconds before
	 * the command runs (NULL: the qube has no GUI channel) */
	const char *wayland_socket;
};

/* Whether the qube has a GUI channel (the virtio-serial port named
 * org.qmgr.gui; docs/gui.md): looked up once, ports do not come and go. */
static bool has_gui_port(void)
{
	static int known = -1;

	if (known < 0) {
		known = 0;
		g_autoptr(GDir) d = g_dir_open("/sys/class/virtio-ports", 0,
					       NULL);
		const char *n;
		while (d != NULL && (n = g_dir_read_name(d)) != NULL) {
			g_autofree char *path = g_build_filename(
				"/sys/class/virtio-ports", n, "name", NULL);
			g_autofree char *name = NULL;
			if (g_file_get_contents(path, &name, NULL, NULL) &&
			    strcmp(g_strstrip(name), "org.qmgr.gui") == 0)
				known = 1;
		}
	}
	return known == 1;
}

static bool valid_user_name(const char *untrusted_name)
{
	size_t len = strlen(untrusted_name);

	if (len == 0 || len > USER_NAME_MAX || untrusted_name[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = untrusted_name[i];
		if (!g_ascii_isalnum(c) && c != '_' && c != '-' && c != '.')
			return false;
	}
	return true;
}

static void write_str(int fd, const char *s)
{
	size_t len = strlen(s);
	while (len > 0) {
		ssize_t n = write(fd, s, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

static G_GNUC_NORETURN void child_fail(const struct child *c,
				       const char *step)
{
	/* strerrorname_np only looks up a table: safe after fork. */
	const char *name = strerrorname_np(errno);

	write_str(STDERR_FILENO, c->fail_prefix);
	write_str(STDERR_FILENO, step);
	write_str(STDERR_FILENO, ": ");
	write_str(STDERR_FILENO, name ? name : "unknown error");
	write_str(STDERR_FILENO, "\n");
	_exit(127);
}

static G_GNUC_NORETURN void run_child(struct child *c)
{
	sigset_t none;
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	/* The agent ignores SIGPIPE, and ignored signals survive exec. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);

	/* Lift the ends above 2 first, so that no dup2 below overwrites one
	 * still to be moved (the agent may run with stdio closed). */
	for (int i = 0; i < 3; i++) {
		c->fds[i] = fcntl(c->fds[i], F_DUPFD_CLOEXEC, 3);
		if (c->fds[i] < 0)
			child_fail(c, "dup");
	}
	for (int i = 0; i < 3; i++)
		if (dup2(c->fds[i], i) < 0)
			child_fail(c, "dup2");
	close_range(3, ~0u, 0);

	if (setsid() < 0)
		child_fail(c, "setsid");
	if (c->switch_user) {
		if (setgroups((size_t)c->ngroups, c->groups) < 0)
			child_fail(c, "setgroups");
		if (setgid(c->gid) < 0)
			child_fail(c, "setgid");
		if (setuid(c->uid) < 0)
			child_fail(c, "setuid");
		if (getuid() != c->uid || geteuid() != c->uid ||
		    getgid() != c->gid || getegid() != c->gid) {
			errno = EPERM;
			child_fail(c, "switching user");
		}
	}
	if (chdir(c->home) < 0 && chdir("/") < 0)
		child_fail(c, "chdir");
	/* A command started as the qube boots (a disposable's) may come
	 * before the GUI session's compositor: give it up to 10 s. */
	for (int i = 0; c->wayland_socket != NULL && i < 200 &&
			access(c->wayland_socket, F_OK) < 0; i++) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	execve(c->argv[0], c->argv, c->envp);
	child_fail(c, c->argv[0]);
}

/* The user's supplementary groups, as initgroups would set them. */
static gid_t *user_groups(const char *name, gid_t gid, int *ngroups)
{
	int n = 32;
	gid_t *groups = g_new(gid_t, n);

	/* getgrouplist says how many there are when the array is short. */
	while (getgrouplist(name, gid, groups, &n) < 0) {
		if (n <= 0 || n > GROUPS_MAX) {
			g_free(groups);
			return NULL;
		}
		groups = g_renew(gid_t, groups, n);
	}
	*ngroups = n;
	return groups;
}

static void close_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

bool agent_proc_spawn(const char *user, const char *command, bool pipes,
		      struct agent_proc *out, GError **error)
{
	const struct agent_proc_spec spec = {
		.user = user, .command = command, .pipes = pipes,
	};
	return agent_proc_start(&spec, out, error);
}

bool agent_proc_start(const struct agent_proc_spec *spec,
		      struct agent_proc *out, GError **error)
{
	const char *untrusted_user = spec->user;
	bool pipes = spec->pipes;
	struct child c = { 0 };
	int ends[3][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 } };
	int devnull = -1;
	bool ok = false;

	out->pid = 0;
	out->stdin_fd = out->stdout_fd = out->stderr_fd = -1;
	if (!valid_user_name(untrusted_user)) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "invalid user name");
		return false;
	}
	/* sanitized: a plain, short name */
	const char *user = untrusted_user;
	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (pw == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "no user %s in this qube%s%s", user,
			    errno ? ": " : "", errno ? g_strerror(errno) : "");
		return false;
	}
	c.uid = pw->pw_uid;
	c.gid = pw->pw_gid;
	c.switch_user = geteuid() == 0;
	if (!c.switch_user && c.uid != geteuid()) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
			    "the agent runs as uid %u, not root: it cannot "
			    "run commands as %s", (unsigned)geteuid(), user);
		return false;
	}
	g_autofree char *home = g_strdup(pw->pw_dir && *pw->pw_dir
						 ? pw->pw_dir : "/");
	g_autofree char *shell = g_strdup(pw->pw_shell && *pw->pw_shell
						  ? pw->pw_shell : "/bin/sh");
	g_autofree gid_t *groups = NULL;
	if (c.switch_user) {
		groups = user_groups(user, c.gid, &c.ngroups);
		if (groups == NULL) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "cannot list the groups of %s", user);
			return false;
		}
	}
	guint n_extra = spec->env ? g_strv_length((char **)spec->env) : 0;
	g_auto(GStrv) envp = g_new0(char *, 8 + n_extra);
	guint n_env = 0;
	envp[n_env++] = g_strconcat("HOME=", home, NULL);
	envp[n_env++] = g_strconcat("USER=", user, NULL);
	envp[n_env++] = g_strconcat("LOGNAME=", user, NULL);
	envp[n_env++] = g_strconcat("SHELL=", shell, NULL);
	envp[n_env++] = g_strconcat("PATH=", c.uid == 0 ? ROOT_PATH
							 : USER_PATH, NULL);
	/* The user's session of the qube's GUI (qmgr-gui-agent, started by
	 * the template's gui-session script): apps find its compositor. */
	g_autofree char *runtime = g_strdup_printf("/run/user/%u",
						   (unsigned)c.uid);
	g_autofree char *wl = g_build_filename(runtime, "wayland-0", NULL);
	/* Only a user's commands wait: root's are the system's own (qmgrd
	 * sets a resumed disposable's clock that way) and must run at once. */
	bool gui_user = c.uid != 0 && has_gui_port();
	if (gui_user || g_file_test(wl, G_FILE_TEST_EXISTS)) {
		envp[n_env++] = g_strconcat("XDG_RUNTIME_DIR=", runtime, NULL);
		envp[n_env++] = g_strdup("WAYLAND_DISPLAY=wayland-0");
		if (gui_user)
			c.wayland_socket = wl;
	}
	for (guint i = 0; i < n_extra; i++)
		envp[n_env++] = g_strdup(spec->env[i]);
	g_autofree char *fail_prefix = g_strdup_printf(
		"qmgr-agent: cannot run the command as %s: ", user);

	if (pipes) {
		for (int i = 0; i < 3; i++) {
			if (pipe2(ends[i], O_CLOEXEC) < 0) {
				g_set_error(error, G_IO_ERROR,
					    g_io_error_from_errno(errno),
					    "pipe: %s", g_strerror(errno));
				goto out;
			}
		}
		c.fds[0] = ends[0][0];
		c.fds[1] = ends[1][1];
		c.fds[2] = ends[2][1];
		if (spec->stderr_local) {
			close_fds(ends[2], 2);
			c.fds[2] = STDERR_FILENO;
			/* An agent started with stderr closed: /dev/null. */
			if (fcntl(STDERR_FILENO, F_GETFD) < 0) {
				devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
				c.fds[2] = devnull;
			}
		}
	} else {
		devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (devnull < 0) {
			g_set_error(error, G_IO_ERROR,
				    g_io_error_from_errno(errno),
				    "/dev/null: %s", g_strerror(errno));
			goto out;
		}
		c.fds[0] = c.fds[1] = c.fds[2] = devnull;
	}
	char *sh_argv[] = { (char *)"/bin/sh", (char *)"-c",
			    (char *)spec->command, NULL };
	c.argv = spec->command ? sh_argv : (char **)spec->argv;
	c.envp = envp;
	c.groups = groups;
	c.home = home;
	c.fail_prefix = fail_prefix;

	pid_t pid = fork();
	if (pid < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "fork: %s", g_strerror(errno));
		goto out;
	}
	if (pid == 0)
		run_child(&c);

	out->pid = pid;
	if (pipes) {
		out->stdin_fd = ends[0][1];
		out->stdout_fd = ends[1][0];
		out->stderr_fd = ends[2][0];
		ends[0][1] = ends[1][0] = ends[2][0] = -1;
		g_unix_set_fd_nonblocking(out->stdin_fd, TRUE, NULL);
		g_unix_set_fd_nonblocking(out->stdout_fd, TRUE, NULL);
		if (out->stderr_fd >= 0)
			g_unix_set_fd_nonblocking(out->stderr_fd, TRUE, NULL);
	}
	ok = true;
out:
	for (int i = 0; i < 3; i++)
		close_fds(ends[i], 2);
	close_fds(&devnull, 1);
	return ok;
}

/* A process group on its way out. */
struct ending {
	GPid pid;
	guint watch;    /* reaps the leader; 0 once reaped */
	guint timer;    /* SIGKILL; 0 once sent */
};

static GList *endings;

static void ending_free(struct ending *e)
{
	if (e->watch)
		g_source_remove(e->watch);
	if (e->timer)
		g_source_remove(e->timer);
	endings = g_list_remove(endings, e);
	g_free(e);
}

static void signal_group(struct ending *e, int sig)
{
	kill(-e->pid, sig);
	/* A child killed before its setsid has no group of its own yet; its
	 * pid stays reserved until it is reaped. */
	if (e->watch)
		kill(e->pid, sig);
}

static gboolean on_kill_timer(gpointer data)
{
	struct ending *e = data;

	e->timer = 0;
	signal_group(e, SIGKILL);
	if (e->watch == 0)
		ending_free(e);
	return G_SOURCE_REMOVE;
}

static void on_ended(GPid pid, gint wait_status, gpointer data)
{
	struct ending *e = data;

	e->watch = 0;
	/* Nothing left of the group: no SIGKILL needed. */
	if (kill(-e->pid, 0) < 0 && errno == ESRCH)
		ending_free(e);
}

void agent_proc_terminate(GPid pid, bool reaped)
{
	struct ending *e = g_new0(struct ending, 1);

	e->pid = pid;
	if (!reaped)
		e->watch = g_child_watch_add(pid, on_ended, e);
	signal_group(e, SIGTERM);
	if (reaped && kill(-pid, 0) < 0 && errno == ESRCH) {
		ending_free(e);
		return;
	}
	e->timer = g_timeout_add(AGENT_PROC_KILL_DELAY_MS, on_kill_timer, e);
	endings = g_list_prepend(endings, e);
}

void agent_proc_kill_all(void)
{
	while (endings) {
		struct ending *e = endings->data;
		signal_group(e, SIGKILL);
		ending_free(e);
	}
}
