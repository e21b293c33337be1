/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "shm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <wayland-server-protocol.h>

#include "gui-proto.h"
#include "server.h"
#include "surface.h"

bool ga_shm_init(struct ga_server *server)
{
	/* ARGB8888 and XRGB8888 are always advertised, nothing else is */
	return wl_display_init_shm(server->display) == 0;
}

bool ga_shm_check(struct ga_surface *s, struct wl_resource *buffer,
		  struct ga_shm_info *info)
{
	struct wl_shm_buffer *shm = wl_shm_buffer_get(buffer);

	if (shm == NULL) {
		wl_resource_post_error(s->resource,
			WL_SURFACE_ERROR_INVALID_OFFSET,
			"only wl_shm buffers are supported");
		return false;
	}
	uint32_t format = wl_shm_buffer_get_format(shm);
	int32_t untrusted_width = wl_shm_buffer_get_width(shm);
	int32_t untrusted_height = wl_shm_buffer_get_height(shm);
	int32_t untrusted_stride = wl_shm_buffer_get_stride(shm);

	if (format != WL_SHM_FORMAT_ARGB8888 &&
	    format != WL_SHM_FORMAT_XRGB8888) {
		wl_resource_post_error(buffer, WL_SHM_ERROR_INVALID_FORMAT,
				       "format 0x%x is not supported", format);
		return false;
	}
	if (untrusted_width <= 0 || untrusted_height <= 0 ||
	    (uint32_t)untrusted_width > QM_GUI_MAX_WIDTH ||
	    (uint32_t)untrusted_height > QM_GUI_MAX_HEIGHT) {
		wl_resource_post_error(buffer, WL_SHM_ERROR_INVALID_STRIDE,
			"buffer size %dx%d outside 1x1..%ux%u",
			untrusted_width, untrusted_height,
			QM_GUI_MAX_WIDTH, QM_GUI_MAX_HEIGHT);
		return false;
	}
	if ((int64_t)untrusted_stride < (int64_t)untrusted_width * 4) {
		wl_resource_post_error(buffer, WL_SHM_ERROR_INVALID_STRIDE,
			"stride %d below width %d * 4",
			untrusted_stride, untrusted_width);
		return false;
	}
	/* sanitized: libwayland checked offset + stride * height against
	 * the pool when the buffer was made; the pool can only grow, and a
	 * buffer's size, stride and format never change */
	info->width = (uint32_t)untrusted_width;
	info->height = (uint32_t)untrusted_height;
	info->format = format;
	return true;
}

void ga_shm_probe(struct wl_resource *buffer)
{
	struct wl_shm_buffer *shm = wl_shm_buffer_get(buffer);
	size_t stride = (size_t)wl_shm_buffer_get_stride(shm);
	size_t height = (size_t)wl_shm_buffer_get_height(shm);
	size_t width = (size_t)wl_shm_buffer_get_width(shm);

	wl_shm_buffer_begin_access(shm);
	const volatile uint8_t *data = wl_shm_buffer_get_data(shm);
	(void)data[(height - 1) * stride + width * 4 - 1];
	wl_shm_buffer_end_access(shm);
}

bool ga_shm_copy_stale(struct ga_surface *s)
{
	if (s->buffer == NULL)
		return true;
	if (s->pixels == NULL) {
		s->pixels = malloc((size_t)s->width * s->height * 4);
		if (s->pixels == NULL) {
			wl_client_post_no_memory(
				wl_resource_get_client(s->buffer));
			return false;
		}
		ga_damage_clear(&s->stale);
		ga_damage_add(&s->stale, 0, 0, (int32_t)s->width,
			      (int32_t)s->height);
	}
	ga_damage_clip(&s->stale, s->width, s->height);

	struct ga_shm_view v;
	if (!ga_shm_view_begin(s, &v))
		return false;
	size_t dst_stride = (size_t)s->width * 4;
	for (unsigned i = 0; i < s->stale.n; i++) {
		const struct ga_rect *r = &s->stale.r[i];
		size_t row_bytes = (size_t)r->width * 4;
		for (int32_t y = r->y; y < r->y + r->height; y++)
			memcpy(s->pixels + (size_t)y * dst_stride +
				       (size_t)r->x * 4,
			       v.data + (size_t)y * v.stride +
				       (size_t)r->x * 4,
			       row_bytes);
	}
	ga_shm_view_end(&v);
	ga_damage_clear(&s->stale);
	return true;
}

bool ga_shm_view_begin(struct ga_surface *s, struct ga_shm_view *v)
{
	memset(v, 0, sizeof(*v));
	if (s->buffer != NULL) {
		/* checked by ga_shm_check when the surface took it; the data
		 * pointer is fetched anew each time (a pool resize may move
		 * the mapping) */
		v->shm = wl_shm_buffer_get(s->buffer);
		wl_shm_buffer_begin_access(v->shm);
		v->data = wl_shm_buffer_get_data(v->shm);
		v->stride = (size_t)wl_shm_buffer_get_stride(v->shm);
		return true;
	}
	if (s->pixels == NULL)
		return false;
	v->data = s->pixels;
	v->stride = (size_t)s->width * 4;
	return true;
}

void ga_shm_view_end(struct ga_shm_view *v)
{
	if (v->shm != NULL)
		wl_shm_buffer_end_access(v->shm);
	v->shm = NULL;
	v->data = NULL;
}
