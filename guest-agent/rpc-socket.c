/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "rpc-socket.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <gio/gio.h>
#include <glib-unix.h>

#include "channel.h"
#include "exec.h"
#include "rpc-request.h"

struct agent_rpc {
	char *path;
	int fd;
	guint source;
	struct agent_channel *ch;
	GList *clients;
};

struct client {
	struct agent_rpc *rpc;
	int fd;
	guint source;
	struct agent_exec *ex;   /* while the call is open */
	uint32_t stream;         /* 0: no call open */
	struct ucred cred;
};

static void client_free(struct client *c)
{
	if (c->stream)
		agent_exec_call_cancel(c->ex, c->stream);
	if (c->source)
		g_source_remove(c->source);
	close(c->fd);
	c->rpc->clients = g_list_remove(c->rpc->clients, c);
	g_free(c);
}

/* One packet to the client; it may be gone, which is its loss. */
static void reply(struct client *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void reply(struct client *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	size_t len = MIN(strlen(msg), (size_t)AGENT_RPC_RESULT_MAX);
	if (send(c->fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		g_debug("rpc client (pid %d): %s", (int)c->cred.pid,
			g_strerror(errno));
}

static void on_accepted(void *data)
{
	reply(data, "ACCEPTED");
}

static void on_done(int status, const char *why, void *data)
{
	struct client *c = data;

	c->stream = 0;
	if (status >= 0)
		reply(c, "EXIT %d", status);
	else
		reply(c, "REFUSED %s", why ? why : "closed");
	client_free(c);
}

/* After the request, the client only waits: input or hang-up ends it. */
static gboolean on_client_event(int fd, GIOCondition cond, gpointer data)
{
	struct client *c = data;

	c->source = 0;
	if (c->stream)
		g_debug("rpc client (pid %d) went away: closing its call",
			(int)c->cred.pid);
	client_free(c);
	return G_SOURCE_REMOVE;
}

static bool fd_is_pipe(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) ||
				       S_ISSOCK(st.st_mode));
}

static gboolean on_request(int fd, GIOCondition cond, gpointer data);

static void take_request(struct client *c)
{
	uint8_t buf[AGENT_RPC_REQUEST_MAX + 1];
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(2 * sizeof(int))];
	} ctl;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.space, .msg_controllen = sizeof(ctl.space),
	};
	int fds[2] = { -1, -1 };
	size_t nfds = 0;

	ssize_t n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		c->source = g_unix_fd_add(c->fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
					  on_request, c);
		return;
	}
	for (struct cmsghdr *cm = n >= 0 ? CMSG_FIRSTHDR(&mh) : NULL; cm;
	     cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int *p = (int *)CMSG_DATA(cm);
		for (size_t i = 0; i < k; i++) {
			if (nfds < 2)
				fds[nfds++] = p[i];
			else
				close(p[i]);
		}
	}
	g_autoptr(GError) err = NULL;
	struct agent_rpc_request req = { 0 };
	const char *problem = NULL;
	if (n <= 0)
		problem = "no request";
	else if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		problem = "malformed call request: too long or too many fds";
	else if (nfds != 2 || !fd_is_pipe(fds[0]) || !fd_is_pipe(fds[1]))
		problem = "malformed call request: it needs two pipes";
	else if (!agent_rpc_request_parse(buf, (size_t)n, &req, &err))
		problem = err->message;
	if (problem != NULL) {
		for (size_t i = 0; i < nfds; i++)
			close(fds[i]);
		g_message("rpc client (pid %d, uid %d): %s", (int)c->cred.pid,
			  (int)c->cred.uid, problem);
		reply(c, "ERROR %s", problem);
		client_free(c);
		return;
	}

	struct agent_exec *ex = agent_channel_calls(c->rpc->ch);
	if (ex == NULL) {
		close(fds[0]);
		close(fds[1]);
		reply(c, "ERROR qmgrd is not connected to this qube's agent "
			 "(or speaks a protocol without calls); try again");
		agent_rpc_request_clear(&req);
		client_free(c);
		return;
	}
	g_message("call %s to %s (pid %d, uid %d)", req.service, req.target,
		  (int)c->cred.pid, (int)c->cred.uid);
	c->ex = ex;
	c->stream = agent_exec_call(ex, req.target, req.service, fds[0],
				    fds[1], on_accepted, on_done, c, &err);
	agent_rpc_request_clear(&req);
	if (c->stream == 0) {
		reply(c, "ERROR %s", err->message);
		client_free(c);
		return;
	}
	c->source = g_unix_fd_add(c->fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
				  on_client_event, c);
}

static gboolean on_request(int fd, GIOCondition cond, gpointer data)
{
	struct client *c = data;

	c->source = 0;
	take_request(c);   /* may free c */
	return G_SOURCE_REMOVE;
}

static gboolean on_listen(int fd, GIOCondition cond, gpointer data)
{
	struct agent_rpc *rpc = data;
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (cfd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			g_warning("rpc socket %s: accept: %s", rpc->path,
				  g_strerror(errno));
		return G_SOURCE_CONTINUE;
	}
	struct client *c = g_new0(struct client, 1);
	socklen_t len = sizeof(c->cred);
	c->rpc = rpc;
	c->fd = cfd;
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &c->cred, &len) < 0)
		c->cred.pid = -1;
	rpc->clients = g_list_prepend(rpc->clients, c);
	c->source = g_unix_fd_add(cfd, G_IO_IN | G_IO_HUP | G_IO_ERR,
				  on_request, c);
	return G_SOURCE_CONTINUE;
}

struct agent_rpc *agent_rpc_listen(const char *path, struct agent_channel *ch,
				   GError **error)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FILENAME_TOO_LONG,
			    "rpc socket path %s is too long", path);
		return NULL;
	}
	g_autofree char *dir = g_path_get_dirname(path);
	if (g_mkdir_with_parents(dir, 0755) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "cannot make %s: %s", dir, g_strerror(errno));
		return NULL;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK,
			0);
	if (fd < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "socket: %s", g_strerror(errno));
		return NULL;
	}
	unlink(path);   /* a previous agent's */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0666) < 0 || listen(fd, 16) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "cannot listen on %s: %s", path,
			    g_strerror(errno));
		close(fd);
		return NULL;
	}
	struct agent_rpc *rpc = g_new0(struct agent_rpc, 1);
	rpc->path = g_strdup(path);
	rpc->fd = fd;
	rpc->ch = ch;
	rpc->source = g_unix_fd_add(fd, G_IO_IN, on_listen, rpc);
	return rpc;
}

void agent_rpc_close(struct agent_rpc *rpc)
{
	if (rpc == NULL)
		return;
	while (rpc->clients)
		client_free(rpc->clients->data);
	g_source_remove(rpc->source);
	close(rpc->fd);
	unlink(rpc->path);
	g_free(rpc->path);
	g_free(rpc);
}
