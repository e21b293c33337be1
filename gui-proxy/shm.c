/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* wl_shm buffers, each in a memfd of its own. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "proxy.h"

static void buffer_release(void *data, struct wl_buffer *wl_buffer)
{
	struct gp_buffer *b = data;

	b->busy = false;
	if (b->on_release)
		b->on_release(b->release_data);
}

static const struct wl_buffer_listener buffer_listener = {
	.release = buffer_release,
};

struct gp_buffer *gp_buffer_create(struct wl_shm *shm, uint32_t width,
				   uint32_t height, bool alpha)
{
	/* At most QM_GUI_MAX_WIDTH x QM_GUI_MAX_HEIGHT plus the border:
	 * well inside int32_t, which wl_shm wants. */
	size_t stride = (size_t)width * 4, size = stride * height;
	struct gp_buffer *b;
	int fd;

	g_assert(width > 0 && height > 0 && size <= INT32_MAX);
	fd = memfd_create("gui-proxy", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		g_warning("memfd_create: %s", g_strerror(errno));
		return NULL;
	}
	if (ftruncate(fd, (off_t)size) < 0) {
		g_warning("cannot size a %ux%u buffer: %s", width, height,
			  g_strerror(errno));
		close(fd);
		return NULL;
	}
	void *data = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (data == MAP_FAILED) {
		g_warning("cannot map a %ux%u buffer: %s", width, height,
			  g_strerror(errno));
		close(fd);
		return NULL;
	}
	struct wl_shm_pool *pool = wl_shm_create_pool(shm, fd, (int32_t)size);
	close(fd);

	b = g_new0(struct gp_buffer, 1);
	b->buffer = wl_shm_pool_create_buffer(pool, 0, (int32_t)width,
					      (int32_t)height, (int32_t)stride,
					      alpha ? WL_SHM_FORMAT_ARGB8888 :
						      WL_SHM_FORMAT_XRGB8888);
	wl_shm_pool_destroy(pool);
	wl_buffer_add_listener(b->buffer, &buffer_listener, b);
	b->data = data;
	b->size = size;
	b->width = width;
	b->height = height;
	return b;
}

/* The compositor keeps its own mapping of an attached buffer, so one can
 * be destroyed while it still shows it; it is never written again. */
void gp_buffer_destroy(struct gp_buffer *b)
{
	if (!b)
		return;
	wl_buffer_destroy(b->buffer);
	munmap(b->data, b->size);
	g_free(b);
}
