/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A guest's shared memory region (protocol version 3): on a qube, the
 * file behind QEMU's ivshmem-plain device (qmgrd's gui_shm); in tests
 * and benches, any file named with --shm.  The proxy never maps it: it
 * hands the fd to the compositor as one wl_shm pool per connection, and
 * the guest's SHM_BUFFER slots become wl_buffers at offsets inside it,
 * so the guest's pixels reach the compositor without a copy here.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proxy.h"

struct gp_region *gp_region_open(const char *path, GError **error)
{
	struct stat st;
	int fd;

	/* Read-write: libwayland-server maps wl_shm pools writable. */
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	if (fd < 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "cannot open the shared region %s: %s", path,
			    g_strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (uint64_t)st.st_size > QM_GUI_MAX_SHM_SIZE) {
		g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "shared region %s: not a regular file of 1 byte "
			    "to %llu MiB", path, QM_GUI_MAX_SHM_SIZE >> 20);
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
