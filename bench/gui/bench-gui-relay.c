/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The channel of bench/gui: joins two unix stream sockets and copies
 * bytes both ways, as QEMU's virtio-serial chardev joins a guest's port
 * and the host's socket, counting what passes in each direction.  Both
 * pipelines of the bench go through it, so they pay the same channel.
 *
 *   bench-gui-relay A B [--counters FILE]
 *
 * A and B are listen:PATH (bind, listen, accept one peer) or
 * connect:PATH.  Both listening sockets are made before anything is
 * accepted, so two clients (gui-proxy and qmgr-gui-agent) can meet; then
 * A is accepted or connected, then B.  FILE receives two little-endian
 * uint64 counters, bytes A->B and B->A, updated as they pass (read by
 * bench-gui.py while the relay runs).  Exits 0 when both directions have
 * ended.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define CHUNK (1u << 20)        /* like relay.py: up to 1 MiB a read */

struct end {
	const char *path;
	bool listen;
	int lfd;                /* listening socket, or -1 */
	int fd;                 /* the peer */
};

struct pump {
	int from, to;
	uint64_t *count;
};

static bool end_parse(struct end *e, const char *arg)
{
	e->lfd = e->fd = -1;
	if (strncmp(arg, "listen:", 7) == 0) {
		e->listen = true;
		e->path = arg + 7;
	} else if (strncmp(arg, "connect:", 8) == 0) {
		e->listen = false;
		e->path = arg + 8;
	} else {
		return false;
	}
	return e->path[0] != '\0';
}

static bool addr_of(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		fprintf(stderr, "bench-gui-relay: %s: path too long\n", path);
		return false;
	}
	strcpy(sa->sun_path, path);
	return true;
}

static bool end_listen(struct end *e)
{
	struct sockaddr_un sa;

	if (!e->listen)
		return true;
	if (!addr_of(e->path, &sa))
		return false;
	unlink(e->path);
	e->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (e->lfd < 0 || bind(e->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(e->lfd, 1) < 0) {
		fprintf(stderr, "bench-gui-relay: listen on %s: %s\n", e->path,
			strerror(errno));
		return false;
	}
	return true;
}

static bool end_open(struct end *e)
{
	struct sockaddr_un sa;

	if (e->listen) {
		e->fd = accept4(e->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (e->fd < 0) {
			fprintf(stderr, "bench-gui-relay: accept on %s: %s\n",
				e->path, strerror(errno));
			return false;
		}
		close(e->lfd);
		e->lfd = -1;
		return true;
	}
	if (!addr_of(e->path, &sa))
		return false;
	e->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (e->fd < 0 || connect(e->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "bench-gui-relay: connect to %s: %s\n", e->path,
			strerror(errno));
		return false;
	}
	return true;
}

static void *pump_run(void *data)
{
	struct pump *p = data;
	char *buf = malloc(CHUNK);
	uint64_t total = 0;

	if (buf == NULL)
		abort();
	for (;;) {
		ssize_t n = read(p->from, buf, CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		total += (uint64_t)n;
		__atomic_store_n(p->count, total, __ATOMIC_RELAXED);
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(p->to, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				goto out;
			off += w;
		}
	}
out:
	shutdown(p->to, SHUT_WR);
	free(buf);
	return NULL;
}

int main(int argc, char **argv)
{
	struct end a, b;
	static uint64_t local[2];
	uint64_t *count = local;

	if ((argc != 3 && argc != 5) || !end_parse(&a, argv[1]) ||
	    !end_parse(&b, argv[2]) ||
	    (argc == 5 && strcmp(argv[3], "--counters") != 0)) {
		fprintf(stderr, "usage: bench-gui-relay END END [--counters FILE]\n"
			"  END: listen:PATH or connect:PATH\n");
		return 2;
	}
	if (argc == 5) {
		int fd = open(argv[4], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
			      0644);

		if (fd < 0 || ftruncate(fd, sizeof(local)) < 0) {
			fprintf(stderr, "bench-gui-relay: %s: %s\n", argv[4],
				strerror(errno));
			return 1;
		}
		count = mmap(NULL, sizeof(local), PROT_READ | PROT_WRITE,
			     MAP_SHARED, fd, 0);
		close(fd);
		if (count == MAP_FAILED) {
			perror("bench-gui-relay: mmap");
			return 1;
		}
	}
	if (!end_listen(&a) || !end_listen(&b) || !end_open(&a) ||
	    !end_open(&b))
		return 1;

	struct pump ab = { a.fd, b.fd, &count[0] };
	struct pump ba = { b.fd, a.fd, &count[1] };
	pthread_t t;

	if (pthread_create(&t, NULL, pump_run, &ba) != 0) {
		fprintf(stderr, "bench-gui-relay: cannot start a thread\n");
		return 1;
	}
	pump_run(&ab);
	pthread_join(t, NULL);
	return 0;
}
