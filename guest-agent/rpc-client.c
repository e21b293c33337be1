/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qmgr-rpc-client TARGET SERVICE[+ARG] [LOCAL_PROGRAM [ARG...]]
 *
 * Qubes' qrexec-client-vm: calls a service in another qube through the
 * agent's local socket (rpc-request.h).  Without a local program, stdin
 * goes to the service and its stdout comes to ours, and the exit status
 * is the service's.  With one, the program is started once qmgrd has
 * allowed the call, with its stdin reading the service's output and its
 * stdout writing the service's input; the exit status is the program's.
 * A refused call prints why and exits 126.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib.h>

#include "rpc-request.h"

#define EXIT_REFUSED 126
#define EXIT_LOCAL 125     /* the call could not be made at all */
#define BUF_SIZE (64 << 10)

static const char *prog = "qmgr-rpc-client";

static int connect_agent(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "%s: socket: %s\n", prog, g_strerror(errno));
		return -1;
	}
	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "%s: cannot reach the qmgr agent at %s: %s "
			"(is qmgr-agent running?)\n", prog, path,
			g_strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static bool send_request(int sock, const char *target, const char *service,
			 int request_fd, int reply_fd)
{
	g_autoptr(GBytes) req = agent_rpc_request_encode(target, service);
	if (req == NULL) {
		fprintf(stderr, "%s: the target or service name is too long\n",
			prog);
		return false;
	}
	gsize len;
	const void *data = g_bytes_get_data(req, &len);
	struct iovec iov = { (void *)data, len };
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(2 * sizeof(int))];
	} ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.space, .msg_controllen = sizeof(ctl.space),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(2 * sizeof(int));
	int fds[2] = { request_fd, reply_fd };
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	if (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0) {
		fprintf(stderr, "%s: sending the request: %s\n", prog,
			g_strerror(errno));
		return false;
	}
	return true;
}

/* Reads one packet from the agent: the result (or ACCEPTED).  Returns its
 * text, or NULL when the agent hung up without one. */
static char *read_packet(int sock)
{
	char buf[AGENT_RPC_RESULT_MAX + 1];
	ssize_t n;

	do
		n = recv(sock, buf, sizeof(buf) - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return g_strdup(buf);
}

/* Interprets the agent's result: the status to exit with. */
static int result_status(const char *result)
{
	if (result == NULL) {
		fprintf(stderr, "%s: the qmgr agent ended the call without a "
			"result\n", prog);
		return EXIT_LOCAL;
	}
	if (g_str_has_prefix(result, "EXIT ")) {
		int status = atoi(result + 5);
		return status >= 0 && status <= 255 ? status : 255;
	}
	g_autofree char *safe = g_strescape(result, NULL);
	if (g_str_has_prefix(result, "REFUSED ")) {
		fprintf(stderr, "%s: Request refused: %s\n", prog, safe + 8);
		return EXIT_REFUSED;
	}
	fprintf(stderr, "%s: %s\n", prog,
		g_str_has_prefix(result, "ERROR ") ? safe + 6 : safe);
	return EXIT_LOCAL;
}

static bool write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/*
 * Relays our stdin to `to_service` and `from_service` to our stdout until
 * the service's output ends and the agent has sent the result.  Input is
 * written only while the pipe takes it, so a service that answers before
 * it reads cannot dead-lock us.
 */
static int relay(int sock, int to_service, int from_service)
{
	g_autofree char *inbuf = g_malloc(BUF_SIZE);
	g_autofree char *outbuf = g_malloc(BUF_SIZE);
	size_t in_len = 0, in_off = 0;
	bool in_eof = false;
	char *result = NULL;
	bool result_in = false;

	fcntl(to_service, F_SETFL, fcntl(to_service, F_GETFL) | O_NONBLOCK);
	while (from_service >= 0 || !result_in) {
		struct pollfd p[4];
		int n = 0, i_in = -1, i_to = -1, i_from = -1, i_sock = -1;
		if (!in_eof && in_len == 0 && to_service >= 0) {
			p[n] = (struct pollfd){ STDIN_FILENO, POLLIN, 0 };
			i_in = n++;
		}
		if (in_len > 0 && to_service >= 0) {
			p[n] = (struct pollfd){ to_service, POLLOUT, 0 };
			i_to = n++;
		}
		if (from_service >= 0) {
			p[n] = (struct pollfd){ from_service, POLLIN, 0 };
			i_from = n++;
		}
		if (!result_in) {
			p[n] = (struct pollfd){ sock, POLLIN, 0 };
			i_sock = n++;
		}
		if (poll(p, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (i_in >= 0 && p[i_in].revents) {
			ssize_t r = read(STDIN_FILENO, inbuf, BUF_SIZE);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				in_eof = true;
				close(to_service);
				to_service = -1;
			} else {
				in_len = (size_t)r;
				in_off = 0;
			}
		}
		if (i_to >= 0 && p[i_to].revents) {
			ssize_t w = write(to_service, inbuf + in_off,
					  in_len - in_off);
			if (w < 0 && errno != EAGAIN && errno != EINTR) {
				/* The service stopped reading: drop input. */
				close(to_service);
				to_service = -1;
				in_len = 0;
				in_eof = true;
			} else if (w > 0) {
				in_off += (size_t)w;
				if (in_off == in_len)
					in_len = in_off = 0;
			}
		}
		if (i_from >= 0 && p[i_from].revents) {
			ssize_t r = read(from_service, outbuf, BUF_SIZE);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0 || !write_all(STDOUT_FILENO, outbuf,
						 (size_t)r)) {
				close(from_service);
				from_service = -1;
			}
		}
		if (i_sock >= 0 && p[i_sock].revents) {
			char *pkt = read_packet(sock);
			if (pkt != NULL && strcmp(pkt, "ACCEPTED") == 0) {
				g_free(pkt);
				continue;
			}
			result = pkt;
			result_in = true;
			if (pkt == NULL || !g_str_has_prefix(pkt, "EXIT ")) {
				/* Refused or failed: no output comes. */
				break;
			}
		}
	}
	int status = result_status(result);
	g_free(result);
	return status;
}

/* Runs the local program once the call is accepted. */
static int run_local(int sock, char **argv, int to_service,
		     int from_service)
{
	g_autofree char *first = read_packet(sock);
	if (first == NULL || strcmp(first, "ACCEPTED") != 0) {
		close(to_service);
		close(from_service);
		return result_status(first);
	}
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "%s: fork: %s\n", prog, g_strerror(errno));
		return EXIT_LOCAL;
	}
	if (pid == 0) {
		if (dup2(from_service, STDIN_FILENO) < 0 ||
		    dup2(to_service, STDOUT_FILENO) < 0)
			_exit(EXIT_LOCAL);
		execvp(argv[0], argv);
		fprintf(stderr, "%s: cannot run %s: %s\n", prog, argv[0],
			g_strerror(errno));
		_exit(127);
	}
	close(to_service);
	close(from_service);
	int ws;
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	g_autofree char *result = read_packet(sock);
	if (result != NULL && !g_str_has_prefix(result, "EXIT "))
		result_status(result);   /* say why it was cut short */
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	return WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : 255;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: %s [--socket PATH] TARGET SERVICE[+ARGUMENT] "
		"[LOCAL_PROGRAM [ARG...]]\n"
		"Calls SERVICE in the qube TARGET (a name, @default, @dispvm, "
		"@dispvm:NAME or @adminvm),\nif qmgr's policy allows it. See "
		"qmgr-rpc-client(1).\n", prog);
}

int main(int argc, char **argv)
{
	const char *socket_path = AGENT_RPC_SOCKET_DEFAULT;
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc) {
			socket_path = argv[++i];
			continue;
		}
		fprintf(stderr, "%s: unknown option %s\n", prog, argv[i]);
		usage(stderr);
		return 2;
	}
	if (argc - i < 2) {
		usage(stderr);
		return 2;
	}
	const char *target = argv[i], *service = argv[i + 1];
	char **local = argc - i > 2 ? argv + i + 2 : NULL;

	signal(SIGPIPE, SIG_IGN);
	int to[2], from[2];
	if (pipe2(to, O_CLOEXEC) < 0 || pipe2(from, O_CLOEXEC) < 0) {
		fprintf(stderr, "%s: pipe: %s\n", prog, g_strerror(errno));
		return EXIT_LOCAL;
	}
	int sock = connect_agent(socket_path);
	if (sock < 0)
		return EXIT_LOCAL;
	/* The agent reads to[0] and writes from[1]. */
	if (!send_request(sock, target, service, to[0], from[1]))
		return EXIT_LOCAL;
	close(to[0]);
	close(from[1]);
	if (local != NULL)
		return run_local(sock, local, to[1], from[0]);
	return relay(sock, to[1], from[0]);
}
