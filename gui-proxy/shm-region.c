/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A guest's shared memory region (protocol version 3): on a qube, a memfd
 * qmgrd hands out on the unix socket its gui_shm property names (one
 * byte, the fd with it: docs/gui.md); in tests and benches, any file
 * named with --shm.  The proxy never maps it: it hands the fd to the
 * compositor as one wl_shm pool per connection, and the guest's
 * SHM_BUFFER slots become wl_buffers at offsets inside it, so the guest's
 * pixels reach the compositor without a copy here.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "proxy.h"

/* qmgrd answers from its main loop at once; a hung one is not waited
 * for longer than this (the pixels then come through the channel). */
#define RECV_TIMEOUT_MS 2000

/* One byte and exactly one fd from qmgrd's region socket `path`, or -1
 * with errno (EPROTO: not what qmgrd sends). */
static int receive_fd(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { RECV_TIMEOUT_MS / 1000,
			      (RECV_TIMEOUT_MS % 1000) * 1000 };
	char byte;
	struct iovec iov = { &byte, 1 };
	union {
		/* room for two, so a second one is seen (and closed) */
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf) };
	int sock, fd = -1, err = EPROTO;
	ssize_t n;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -1;
	if (setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = errno;
		close(sock);
		errno = err;
		return -1;
	}
	do
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		err = errno;
	close(sock);
	/* Every fd that came is ours to close, whatever else is wrong. */
	for (struct cmsghdr *c = n >= 0 ? CMSG_FIRSTHDR(&m) : NULL; c;
	     c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int untrusted_fd;

			memcpy(&untrusted_fd, CMSG_DATA(c) + i * sizeof(int),
			       sizeof(int));
			if (fd < 0 && k == 1)
				fd = untrusted_fd;
			else
				close(untrusted_fd);
		}
	}
	if (n == 1 && fd >= 0 && !(m.msg_flags & (MSG_CTRUNC | MSG_TRUNC)))
		return fd;
	if (fd >= 0)
		close(fd);
	errno = err;
	return -1;
}

struct gp_region *gp_region_open(const char *path, GError **error)
{
	struct stat st;
	bool memfd = false;
	int fd;

	/* qmgrd's socket, or a file (tests, benches) */
	if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		fd = receive_fd(path);
		memfd = true;
	} else {
		/* Read-write: libwayland-server maps wl_shm pools
		 * writable. */
		fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	}
	if (fd < 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "cannot %s the shared region %s: %s",
			    memfd ? "receive" : "open", path,
			    errno == EPROTO ? "not one fd as qmgrd sends"
					    : g_strerror(errno));
		return NULL;
	}
	/* The fd is the sender's word only: the compositor maps it, so it
	 * must be a plain file whose size nobody can change under it
	 * (a shrink would SIGBUS the compositor). */
	int seals = memfd ? fcntl(fd, F_GET_SEALS) : 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (uint64_t)st.st_size > QM_GUI_MAX_SHM_SIZE ||
	    (memfd && (seals < 0 || (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) !=
					   (F_SEAL_SHRINK | F_SEAL_GROW)))) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "shared region %s: not a regular file of 1 byte "
			    "to %llu MiB%s", path, QM_GUI_MAX_SHM_SIZE >> 20,
			    memfd ? " sealed against shrinking and growing"
				  : "");
		close(fd);
		return NULL;
	}
	struct gp_region *r = g_new0(struct gp_region, 1);
	r->fd = fd;
	r->size = (uint64_t)st.st_size;
	return r;
}

void gp_region_destroy(struct gp_region *r)
{
	if (!r)
		return;
	close(r->fd);
	g_free(r);
}

struct wl_shm_pool *gp_region_pool(struct gp_region *r, struct wl_shm *shm)
{
	/* QM_GUI_MAX_SHM_SIZE < INT32_MAX: checked at open */
	G_STATIC_ASSERT(QM_GUI_MAX_SHM_SIZE <= INT32_MAX);
	return wl_shm_create_pool(shm, r->fd, (int32_t)r->size);
}
