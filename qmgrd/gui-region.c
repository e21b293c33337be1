/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "gui-region.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define REGION_ERROR g_quark_from_static_string("qm-gui-region-error")
#define SEALS (F_SEAL_SHRINK | F_SEAL_GROW)
/* QEMU's ivshmem server protocol version (ivshmem-spec.rst) */
#define IVSHMEM_PROTOCOL_VERSION 0
/* The peer id the qube's device gets: it is alone on its server. */
#define IVSHMEM_PEER_ID 0

struct listener {
	struct qm_gui_region *r;
	char *path;
	int fd;
	guint watch;
};

struct qm_gui_region {
	char *vm;
	char *pidfile;
	uint64_t size;
	int memfd;
	struct listener qemu;      /* closed once QEMU has the region */
	struct listener proxy;
};

bool qm_gui_region_fd_ok(int fd, uint64_t size, GError **error)
{
	struct stat st;
	int seals = fcntl(fd, F_GET_SEALS);

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size != size) {
		g_set_error(error, REGION_ERROR, 1,
			    "not a regular file of %" G_GUINT64_FORMAT
			    " bytes", size);
		return false;
	}
	if (seals < 0 || (seals & SEALS) != SEALS) {
		g_set_error(error, REGION_ERROR, 1,
			    "not sealed against shrinking and growing");
		return false;
	}
	return true;
}

static void listener_close(struct listener *l)
{
	if (l->watch)
		g_source_remove(l->watch);
	l->watch = 0;
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	if (l->path)
		g_unlink(l->path);
	g_clear_pointer(&l->path, g_free);
}

/* Sends `n` int64 messages, the last one with `fd` attached. */
static bool send_msgs(int conn, const int64_t *msgs, size_t n, int fd)
{
	for (size_t i = 0; i < n; i++) {
		int64_t v = GINT64_TO_LE(msgs[i]);
		struct iovec iov = { &v, sizeof(v) };
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} u;
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

		if (i == n - 1 && fd >= 0) {
			memset(&u, 0, sizeof(u));
			m.msg_control = u.buf;
			m.msg_controllen = sizeof(u.buf);
			struct cmsghdr *c = CMSG_FIRSTHDR(&m);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &fd, sizeof(int));
		}
		if (sendmsg(conn, &m, MSG_NOSIGNAL) != (ssize_t)sizeof(v))
			return false;
	}
	return true;
}

static pid_t pidfile_pid(const char *path)
{
	g_autofree char *text = NULL;
	guint64 pid;

	if (!g_file_get_contents(path, &text, NULL, NULL) ||
	    !g_ascii_string_to_unsigned(g_strstrip(text), 10, 1, G_MAXINT32,
					&pid, NULL))
		return -1;
	return (pid_t)pid;
}

/* QEMU of this qube connected: the server protocol's setup, then this
 * connection is no longer needed (QEMU keeps the region mapped and its
 * fd open when the server goes away) and neither is the socket. */
static gboolean on_qemu(int fd, GIOCondition cond, gpointer data)
{
	struct qm_gui_region *r = data;
	struct ucred cred = { .pid = -1 };
	socklen_t len = sizeof(cred);
	int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

	if (conn < 0)
		return G_SOURCE_CONTINUE;
	pid_t qemu = pidfile_pid(r->pidfile);
	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    qemu < 0 || cred.pid != qemu) {
		/* Another QEMU (another qube's, perhaps subverted) or anyone
		 * else who could reach the socket: nothing for them. */
		g_warning("%s: refused a connection to its shared GUI region's "
			  "server from pid %d (the qube's QEMU is %d)", r->vm,
			  (int)cred.pid, (int)qemu);
		close(conn);
		return G_SOURCE_CONTINUE;
	}
	/* No eventfds: the device needs none (it has one MSI-X vector the
	 * guest cannot ring anyone with), and the region is all it uses. */
	const int64_t msgs[] = { IVSHMEM_PROTOCOL_VERSION, IVSHMEM_PEER_ID,
				 -1 };
	if (!send_msgs(conn, msgs, G_N_ELEMENTS(msgs), r->memfd))
		g_warning("%s: cannot give QEMU its shared GUI region: %s",
			  r->vm, g_strerror(errno));
	else
		g_debug("%s: QEMU (pid %d) has its shared GUI region", r->vm,
			(int)qemu);
	close(conn);
	r->qemu.watch = 0;
	listener_close(&r->qemu);
	return G_SOURCE_REMOVE;
}

/* gui-proxy (group qmgr: the socket's mode is the check): one byte, the
 * fd with it, done. */
static gboolean on_proxy(int fd, GIOCondition cond, gpointer data)
{
	struct qm_gui_region *r = data;
	int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	char byte = 'R';
	struct iovec iov = { &byte, 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf) };

	if (conn < 0)
		return G_SOURCE_CONTINUE;
	memset(&u, 0, sizeof(u));
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &r->memfd, sizeof(int));
	if (sendmsg(conn, &m, MSG_NOSIGNAL) != 1)
		g_warning("%s: cannot hand its shared GUI region to a GUI "
			  "client: %s", r->vm, g_strerror(errno));
	close(conn);
	return G_SOURCE_CONTINUE;
}

static bool listen_on(struct qm_gui_region *r, struct listener *l,
		      const char *path, uid_t owner, gid_t group, mode_t mode,
		      GUnixFDSourceFunc fn, GError **error)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	l->r = r;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		g_set_error(error, REGION_ERROR, 1,
			    "%s: path too long for a unix socket (use a "
			    "shorter --root)", path);
		return false;
	}
	strcpy(sa.sun_path, path);
	g_unlink(path);
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		       0);
	if (l->fd < 0)
		goto fail;
	/* Bound as 0600 root until given away: nobody else in between.
	 * (Linux makes the file with the socket's own mode, less the umask;
	 * not umask(), which is the whole process's, threads included.) */
	if (fchmod(l->fd, 0600) < 0 ||
	    bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	l->path = g_strdup(path);
	if (chown(path, owner, group) < 0 || chmod(path, mode) < 0 ||
	    listen(l->fd, 8) < 0)
		goto fail;
	l->watch = g_unix_fd_add(l->fd, G_IO_IN, fn, r);
	return true;
fail:
	g_set_error(error, REGION_ERROR, 1, "%s: %s", path,
		    g_strerror(errno));
	return false;
}

static struct qm_gui_region *region_new(const struct qm_gui_region_spec *s)
{
	struct qm_gui_region *r = g_new0(struct qm_gui_region, 1);
	r->vm = g_strdup(s->vm);
	r->pidfile = g_strdup(s->qemu_pidfile);
	r->size = s->size;
	r->memfd = -1;
	r->qemu.fd = r->proxy.fd = -1;
	return r;
}

static bool serve_proxy(struct qm_gui_region *r,
			const struct qm_gui_region_spec *s, GError **error)
{
	struct group *gr = getgrnam("qmgr");
	return listen_on(r, &r->proxy, s->proxy_socket, (uid_t)-1,
			 gr ? gr->gr_gid : (gid_t)-1, 0660, on_proxy, error);
}

struct qm_gui_region *qm_gui_region_create(
	const struct qm_gui_region_spec *s, GError **error)
{
	struct qm_gui_region *r = region_new(s);

	r->memfd = memfd_create(s->memfd_name,
				MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (r->memfd < 0 || ftruncate(r->memfd, (off_t)s->size) < 0 ||
	    fcntl(r->memfd, F_ADD_SEALS, SEALS | F_SEAL_SEAL) < 0) {
		g_set_error(error, REGION_ERROR, 1,
			    "cannot make the shared GUI region of '%s' "
			    "(%" G_GUINT64_FORMAT " MiB): %s", s->vm,
			    s->size >> 20, g_strerror(errno));
		qm_gui_region_destroy(r);
		return NULL;
	}
	if (!listen_on(r, &r->qemu, s->qemu_socket, s->qemu_uid,
		       (gid_t)-1, 0600, on_qemu, error) ||
	    !serve_proxy(r, s, error)) {
		qm_gui_region_destroy(r);
		return NULL;
	}
	return r;
}

struct qm_gui_region *qm_gui_region_adopt(
	const struct qm_gui_region_spec *s, GError **error)
{
	pid_t pid = pidfile_pid(s->qemu_pidfile);
	g_autofree char *want = g_strdup_printf("/memfd:%s (deleted)",
						s->memfd_name);
	g_autofree char *dir = g_strdup_printf("/proc/%d/fd", (int)pid);
	g_autoptr(GDir) d = pid > 0 ? g_dir_open(dir, 0, NULL) : NULL;
	const char *e;

	if (d == NULL) {
		g_set_error(error, REGION_ERROR, 1,
			    "QEMU of '%s' not found (%s)", s->vm,
			    s->qemu_pidfile);
		return NULL;
	}
	while ((e = g_dir_read_name(d)) != NULL) {
		g_autofree char *link = g_build_filename(dir, e, NULL);
		g_autofree char *target = g_file_read_link(link, NULL);

		if (target == NULL || strcmp(target, want) != 0)
			continue;
		/* A new open file of the same memfd (its seals are the
		 * file's); checked as if it came from anyone. */
		int fd = open(link, O_RDWR | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			continue;
		if (!qm_gui_region_fd_ok(fd, s->size, error)) {
			g_prefix_error(error, "%s of QEMU: ", want);
			close(fd);
			return NULL;
		}
		struct qm_gui_region *r = region_new(s);
		r->memfd = fd;
		if (!serve_proxy(r, s, error)) {
			qm_gui_region_destroy(r);
			return NULL;
		}
		return r;
	}
	g_set_error(error, REGION_ERROR, 1,
		    "QEMU of '%s' (pid %d) holds no %s", s->vm, (int)pid,
		    want);
	return NULL;
}

void qm_gui_region_destroy(struct qm_gui_region *r)
{
	if (r == NULL)
		return;
	listener_close(&r->qemu);
	listener_close(&r->proxy);
	if (r->memfd >= 0)
		close(r->memfd);
	g_free(r->vm);
	g_free(r->pidfile);
	g_free(r);
}
