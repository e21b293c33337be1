/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The shared GUI region passed as an fd (docs/gui.md, "Shared memory"):
 * qmgrd's end (qmgrd/gui-region.c: the memfd, its ivshmem server for
 * QEMU, its socket for gui-proxy) against gui-proxy's (gui-proxy/
 * shm-region.c), and gui-proxy against senders that send the wrong thing.
 */
#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "gui-region.h"
#include "proxy.h"

#ifdef NDEBUG
#error "tests need assertions"
#endif

#define SIZE (1u << 20)

static char *dir;

static char *path_in(const char *name)
{
	return g_build_filename(dir, name, NULL);
}

/* The main loop serves qmgrd's end while a thread plays gui-proxy (whose
 * receive blocks, as it does in the proxy). */
struct opened {
	const char *path;
	struct gp_region *r;
	GError *error;
	gint done;
};

static gpointer open_thread(gpointer data)
{
	struct opened *o = data;
	o->r = gp_region_open(o->path, &o->error);
	g_atomic_int_set(&o->done, 1);
	g_main_context_wakeup(NULL);
	return NULL;
}

static void open_served(struct opened *o)
{
	GThread *t = g_thread_new("proxy", open_thread, o);
	while (!g_atomic_int_get(&o->done))
		g_main_context_iteration(NULL, TRUE);
	g_thread_join(t);
}

static struct qm_gui_region *make_region(char **proxy, char **qemu,
					 char **pidfile)
{
	*proxy = path_in("gui-shm.sock");
	*qemu = path_in("gui-shm-qemu.sock");
	*pidfile = path_in("qemu.pid");
	struct qm_gui_region_spec spec = {
		.vm = "work",
		.memfd_name = "qmgr-test-work-gui",
		.size = SIZE,
		.qemu_socket = *qemu,
		.qemu_uid = (uid_t)-1,
		.qemu_pidfile = *pidfile,
		.proxy_socket = *proxy,
	};
	GError *err = NULL;
	struct qm_gui_region *r = qm_gui_region_create(&spec, &err);
	g_assert_no_error(err);
	g_assert_nonnull(r);
	return r;
}

static void test_proxy_receives_sealed_memfd(void)
{
	g_autofree char *proxy = NULL, *qemu = NULL, *pidfile = NULL;
	struct qm_gui_region *r = make_region(&proxy, &qemu, &pidfile);
	struct stat st;

	g_assert_cmpint(stat(proxy, &st), ==, 0);
	g_assert_true(S_ISSOCK(st.st_mode));
	g_assert_cmpint(st.st_mode & 0777, ==, 0660);
	/* twice: every connection gets it */
	for (int i = 0; i < 2; i++) {
		struct opened o = { .path = proxy };
		open_served(&o);
		g_assert_no_error(o.error);
		g_assert_nonnull(o.r);
		g_assert_cmpuint(o.r->size, ==, SIZE);
		g_assert_true(qm_gui_region_fd_ok(o.r->fd, SIZE, NULL));
		/* the seals hold for the receiver too */
		g_assert_cmpint(ftruncate(o.r->fd, SIZE / 2), <, 0);
		g_assert_cmpint(ftruncate(o.r->fd, SIZE * 2), <, 0);
		g_autofree char *link = g_strdup_printf("/proc/self/fd/%d",
							o.r->fd);
		g_autofree char *target = g_file_read_link(link, NULL);
		g_assert_cmpstr(target, ==,
				"/memfd:qmgr-test-work-gui (deleted)");
		gp_region_destroy(o.r);
	}
	qm_gui_region_destroy(r);
	/* both sockets are gone with it */
	g_assert_false(g_file_test(proxy, G_FILE_TEST_EXISTS));
	g_assert_false(g_file_test(qemu, G_FILE_TEST_EXISTS));
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(fd, >=, 0);
	g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	return fd;
}

/* One int64 of the ivshmem server protocol and the fd with it (-1). */
static int64_t recv_msg(int sock, int *fd)
{
	int64_t v = 0;
	struct iovec iov = { &v, sizeof(v) };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf) };
	ssize_t n;

	*fd = -1;
	while ((n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EAGAIN)
		g_main_context_iteration(NULL, FALSE);
	if (n == 0)
		return INT64_MIN;       /* closed */
	g_assert_cmpint(n, ==, sizeof(v));
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	if (c != NULL && c->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	return GINT64_FROM_LE(v);
}

static void serve_pending(void)
{
	for (int i = 0; i < 10; i++)
		g_main_context_iteration(NULL, FALSE);
}

static void test_qemu_gets_ivshmem_setup_once(void)
{
	g_autofree char *proxy = NULL, *qemu = NULL, *pidfile = NULL;
	struct qm_gui_region *r = make_region(&proxy, &qemu, &pidfile);
	int fd;

	/* Not the domain's QEMU (the pid file names another process):
	 * closed without a word. */
	g_assert_true(g_file_set_contents(pidfile, "1\n", -1, NULL));
	g_test_expect_message(NULL, G_LOG_LEVEL_WARNING,
			      "work: refused a connection to its shared GUI "
			      "region's server from pid * (the qube's QEMU is "
			      "1)");
	int sock = connect_to(qemu);
	g_assert_cmpint(fcntl(sock, F_SETFL, O_NONBLOCK), ==, 0);
	serve_pending();
	g_assert_cmpint(recv_msg(sock, &fd), ==, INT64_MIN);
	g_test_assert_expected_messages();
	close(sock);
	g_assert_true(g_file_test(qemu, G_FILE_TEST_EXISTS));

	/* The domain's QEMU: version 0, its id, then -1 with the region. */
	g_autofree char *me = g_strdup_printf("%d\n", (int)getpid());
	g_assert_true(g_file_set_contents(pidfile, me, -1, NULL));
	sock = connect_to(qemu);
	g_assert_cmpint(fcntl(sock, F_SETFL, O_NONBLOCK), ==, 0);
	g_assert_cmpint(recv_msg(sock, &fd), ==, 0);
	g_assert_cmpint(fd, ==, -1);
	g_assert_cmpint(recv_msg(sock, &fd), ==, 0);
	g_assert_cmpint(fd, ==, -1);
	g_assert_cmpint(recv_msg(sock, &fd), ==, -1);
	g_assert_cmpint(fd, >=, 0);
	g_assert_true(qm_gui_region_fd_ok(fd, SIZE, NULL));
	/* the same memory gui-proxy gets */
	struct opened o = { .path = proxy };
	open_served(&o);
	g_assert_nonnull(o.r);
	char *a = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *b = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, o.r->fd, 0);
	g_assert_true(a != MAP_FAILED && b != MAP_FAILED);
	a[SIZE - 1] = 'x';
	g_assert_cmpint(b[SIZE - 1], ==, 'x');
	munmap(a, SIZE);
	munmap(b, SIZE);
	gp_region_destroy(o.r);
	close(fd);
	close(sock);
	/* served once: the socket is gone */
	g_assert_false(g_file_test(qemu, G_FILE_TEST_EXISTS));
	qm_gui_region_destroy(r);
}

/* ---- gui-proxy against senders that send the wrong thing ---- */

enum bad_kind { UNSEALED, TWO_FDS, NO_FD, PIPE, WRONG_SEAL_SIZE_OK };

struct bad_sender {
	int listen_fd;
	enum bad_kind kind;
};

static void send_with_fds(int conn, const int *fds, int n)
{
	char byte = 'R';
	struct iovec iov = { &byte, 1 };
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	memset(&u, 0, sizeof(u));
	if (n > 0) {
		m.msg_control = u.buf;
		m.msg_controllen = CMSG_SPACE(n * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(n * sizeof(int));
		memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	}
	g_assert_cmpint(sendmsg(conn, &m, MSG_NOSIGNAL), ==, 1);
}

static gboolean on_bad(int fd, GIOCondition cond, gpointer data)
{
	struct bad_sender *s = data;
	int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	int fds[2] = { -1, -1 };

	g_assert_cmpint(conn, >=, 0);
	int mfd = memfd_create("bad", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	g_assert_cmpint(ftruncate(mfd, SIZE), ==, 0);
	switch (s->kind) {
	case UNSEALED:
		send_with_fds(conn, &mfd, 1);
		break;
	case TWO_FDS:
		g_assert_cmpint(fcntl(mfd, F_ADD_SEALS,
				      F_SEAL_SHRINK | F_SEAL_GROW), ==, 0);
		fds[0] = fds[1] = mfd;
		send_with_fds(conn, fds, 2);
		break;
	case NO_FD:
		send_with_fds(conn, NULL, 0);
		break;
	case PIPE:
		g_assert_cmpint(pipe(fds), ==, 0);
		send_with_fds(conn, fds, 1);
		close(fds[0]);
		close(fds[1]);
		break;
	case WRONG_SEAL_SIZE_OK:
		/* grow sealed only: shrinking would SIGBUS the compositor */
		g_assert_cmpint(fcntl(mfd, F_ADD_SEALS, F_SEAL_GROW), ==, 0);
		send_with_fds(conn, &mfd, 1);
		break;
	}
	close(mfd);
	close(conn);
	return G_SOURCE_CONTINUE;
}

static unsigned open_fds(void)
{
	g_autoptr(GDir) d = g_dir_open("/proc/self/fd", 0, NULL);
	unsigned n = 0;
	while (g_dir_read_name(d) != NULL)
		n++;
	return n;
}

static void test_proxy_refuses(gconstpointer data)
{
	struct bad_sender s = { .kind = GPOINTER_TO_INT(data) };
	g_autofree char *path = path_in("bad.sock");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	g_unlink(path);
	g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	s.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(bind(s.listen_fd, (struct sockaddr *)&sa,
			     sizeof(sa)), ==, 0);
	g_assert_cmpint(listen(s.listen_fd, 4), ==, 0);
	guint w = g_unix_fd_add(s.listen_fd, G_IO_IN, on_bad, &s);
	unsigned before = open_fds();

	struct opened o = { .path = path };
	open_served(&o);
	g_assert_null(o.r);
	g_assert_nonnull(o.error);
	g_test_message("refused: %s", o.error->message);
	g_assert_nonnull(strstr(o.error->message, path));
	g_error_free(o.error);
	/* nothing that came stays open (the sender's end is closed) */
	g_assert_cmpuint(open_fds(), ==, before);
	g_source_remove(w);
	close(s.listen_fd);
	g_unlink(path);
}

static void test_proxy_opens_a_file(void)
{
	/* tests and benches: --shm NAME:PATH names a file */
	g_autofree char *path = path_in("region");
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	g_assert_cmpint(ftruncate(fd, SIZE), ==, 0);
	close(fd);
	GError *err = NULL;
	struct gp_region *r = gp_region_open(path, &err);
	g_assert_no_error(err);
	g_assert_cmpuint(r->size, ==, SIZE);
	gp_region_destroy(r);
	g_unlink(path);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	dir = g_dir_make_tmp("qmgr-shm-region-XXXXXX", NULL);
	g_assert_nonnull(dir);
	g_test_add_func("/shm-region/proxy-receives-sealed-memfd",
			test_proxy_receives_sealed_memfd);
	g_test_add_func("/shm-region/qemu-gets-ivshmem-setup-once",
			test_qemu_gets_ivshmem_setup_once);
	g_test_add_data_func("/shm-region/proxy-refuses-unsealed",
			     GINT_TO_POINTER(UNSEALED), test_proxy_refuses);
	g_test_add_data_func("/shm-region/proxy-refuses-shrinkable",
			     GINT_TO_POINTER(WRONG_SEAL_SIZE_OK),
			     test_proxy_refuses);
	g_test_add_data_func("/shm-region/proxy-refuses-two-fds",
			     GINT_TO_POINTER(TWO_FDS), test_proxy_refuses);
	g_test_add_data_func("/shm-region/proxy-refuses-no-fd",
			     GINT_TO_POINTER(NO_FD), test_proxy_refuses);
	g_test_add_data_func("/shm-region/proxy-refuses-a-pipe",
			     GINT_TO_POINTER(PIPE), test_proxy_refuses);
	g_test_add_func("/shm-region/proxy-opens-a-file",
			test_proxy_opens_a_file);
	int rc = g_test_run();
	g_rmdir(dir);
	g_free(dir);
	return rc;
}
