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

bool ga_shm_copy(struct ga_surface *s, struct wl_resource *buffer,
		 const struct ga_damage *damage)
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
	 * the pool when the buffer was made; the pool can only grow */
	uint32_t width = (uint32_t)untrusted_width;
	uint32_t height = (uint32_t)untrusted_height;
	size_t stride = (size_t)untrusted_stride;

	struct ga_damage copy = *damage;
	if (s->pixels == NULL || s->width != width || s->height != height ||
	    s->format != format) {
		uint8_t *p = realloc(s->pixels, (size_t)width * height * 4);
		if (p == NULL) {
			wl_client_post_no_memory(wl_resource_get_client(buffer));
			return false;
		}
		s->pixels = p;
		s->size_changed = s->width != width || s->height != height ||
				  s->size_changed;
		s->width = width;
		s->height = height;
		s->format = format;
		ga_damage_clear(&copy);
		ga_damage_add(&copy, 0, 0, (int32_t)width, (int32_t)height);
	}
	ga_damage_clip(&copy, width, height);

	const uint8_t *src = wl_shm_buffer_get_data(shm);
	size_t dst_stride = (size_t)width * 4;
	wl_shm_buffer_begin_access(shm);
	for (unsigned i = 0; i < copy.n; i++) {
		const struct ga_rect *r = &copy.r[i];
		size_t row_bytes = (size_t)r->width * 4;
		for (int32_t y = r->y; y < r->y + r->height; y++)
			memcpy(s->pixels + (size_t)y * dst_stride +
				       (size_t)r->x * 4,
			       src + (size_t)y * stride + (size_t)r->x * 4,
			       row_bytes);
	}
	wl_shm_buffer_end_access(shm);
	ga_damage_add_all(&s->content_damage, &copy, 0, 0);
	return true;
}
