/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A Wayland client whose every pixel the test knows: host-harness.py
 * drives it line by line on stdin and computes the same image itself.
 * One XRGB8888 toplevel; each frame is a whole buffer (the model copied
 * in) with only the changed rectangle damaged, taken from up to four
 * buffers, one memfd pool each.  A buffer the compositor releases is
 * scribbled over at once (a client may draw into a released buffer), so
 * a compositor that reads a buffer after releasing it shows wrong pixels.
 * After each command, a roundtrip, then "ok" (or "error ..." and exit 1).
 *
 *   map W H RRGGBB          the first buffer, all of it one colour
 *   fill X Y W H RRGGBB     a rectangle of a new colour (clipped)
 *   fill-destroy X Y W H RRGGBB
 *                           the same, and the wl_buffer destroyed right
 *                           after the commit
 *   resize W H RRGGBB       a new size, all of it one colour
 *   sub X Y W H RRGGBB      a (synchronized) subsurface at X, Y
 *   move X Y                the subsurface moved (a commit of the parent
 *                           without a buffer)
 *   unsub                   the subsurface destroyed
 *   quit
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <wayland-client.h>

#include "xdg-shell-client-protocol.h"

#define NBUF 4
#define SCRIBBLE 0x5a5a5a5au

struct buffer {
	struct wl_buffer *wl;
	uint32_t *px;
	int32_t w, h;
	bool busy;
};

static struct wl_compositor *compositor;
static struct wl_subcompositor *subcompositor;
static struct wl_shm *shm;
static struct xdg_wm_base *wm_base;
static struct wl_display *display;
static struct wl_surface *surface;
static struct xdg_surface *xdg;
static struct xdg_toplevel *toplevel;
static uint32_t configure_serial;
static bool configured;
static struct buffer bufs[NBUF];
static uint32_t *model;
static int32_t width, height;
static struct wl_surface *child;
static struct wl_subsurface *child_sub;

static void registry_global(void *data, struct wl_registry *r, uint32_t name,
			    const char *iface, uint32_t version)
{
	if (strcmp(iface, wl_compositor_interface.name) == 0)
		compositor = wl_registry_bind(r, name, &wl_compositor_interface,
					      4);
	else if (strcmp(iface, wl_subcompositor_interface.name) == 0)
		subcompositor = wl_registry_bind(r, name,
			&wl_subcompositor_interface, 1);
	else if (strcmp(iface, wl_shm_interface.name) == 0)
		shm = wl_registry_bind(r, name, &wl_shm_interface, 1);
	else if (strcmp(iface, xdg_wm_base_interface.name) == 0)
		wm_base = wl_registry_bind(r, name, &xdg_wm_base_interface, 1);
}

static void registry_global_remove(void *data, struct wl_registry *r,
				   uint32_t name)
{
}

static const struct wl_registry_listener registry_listener = {
	.global = registry_global,
	.global_remove = registry_global_remove,
};

static void xdg_surface_configure(void *data, struct xdg_surface *xs,
				  uint32_t serial)
{
	configure_serial = serial;
	configured = true;
}

static const struct xdg_surface_listener xdg_surface_listener = {
	.configure = xdg_surface_configure,
};

static void toplevel_configure(void *data, struct xdg_toplevel *t,
			       int32_t w, int32_t h, struct wl_array *states)
{
}

static void toplevel_close(void *data, struct xdg_toplevel *t)
{
}

static const struct xdg_toplevel_listener toplevel_listener = {
	.configure = toplevel_configure,
	.close = toplevel_close,
};

static void buffer_release(void *data, struct wl_buffer *wl)
{
	struct buffer *b = data;

	for (int32_t i = 0; i < b->w * b->h; i++)
		b->px[i] = SCRIBBLE;
	b->busy = false;
}

static const struct wl_buffer_listener buffer_listener = {
	.release = buffer_release,
};

static void buffer_free(struct buffer *b)
{
	if (b->wl != NULL)
		wl_buffer_destroy(b->wl);
	if (b->px != NULL)
		munmap(b->px, (size_t)b->w * b->h * 4);
	memset(b, 0, sizeof(*b));
}

static bool buffer_make(struct buffer *b, int32_t w, int32_t h)
{
	size_t size = (size_t)w * h * 4;
	int fd = memfd_create("wl-frames", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		return false;
	b->px = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (b->px == MAP_FAILED) {
		b->px = NULL;
		close(fd);
		return false;
	}
	struct wl_shm_pool *pool = wl_shm_create_pool(shm, fd, (int32_t)size);
	b->wl = wl_shm_pool_create_buffer(pool, 0, w, h, w * 4,
					  WL_SHM_FORMAT_XRGB8888);
	wl_shm_pool_destroy(pool);
	close(fd);
	wl_buffer_add_listener(b->wl, &buffer_listener, b);
	b->w = w;
	b->h = h;
	return true;
}

/* A buffer of the current size the compositor does not hold. */
static struct buffer *buffer_get(void)
{
	for (int i = 0; i < NBUF; i++) {
		struct buffer *b = &bufs[i];
		if (b->wl != NULL && !b->busy && (b->w != width ||
						  b->h != height))
			buffer_free(b);
		if (b->wl == NULL && !buffer_make(b, width, height))
			return NULL;
		if (!b->busy)
			return b;
	}
	return NULL;
}

static void model_fill(int32_t x, int32_t y, int32_t w, int32_t h,
		       uint32_t rgb)
{
	for (int32_t row = y < 0 ? 0 : y; row < y + h && row < height; row++)
		for (int32_t col = x < 0 ? 0 : x; col < x + w && col < width;
		     col++)
			model[(size_t)row * width + col] = 0xff000000u | rgb;
}

/* The model into a free buffer, committed with one damaged rectangle. */
static bool commit_frame(int32_t x, int32_t y, int32_t w, int32_t h,
			 bool destroy)
{
	struct buffer *b = buffer_get();

	if (b == NULL) {
		printf("error no free buffer\n");
		return false;
	}
	memcpy(b->px, model, (size_t)width * height * 4);
	wl_surface_attach(surface, b->wl, 0, 0);
	wl_surface_damage_buffer(surface, x, y, w, h);
	wl_surface_commit(surface);
	if (destroy) {
		wl_buffer_destroy(b->wl);
		b->wl = NULL;
		buffer_free(b);
	} else {
		b->busy = true;
	}
	return true;
}

static bool new_model(int32_t w, int32_t h, uint32_t rgb)
{
	if (w <= 0 || h <= 0 || w > 4096 || h > 4096)
		return false;
	free(model);
	model = malloc((size_t)w * h * 4);
	if (model == NULL)
		return false;
	width = w;
	height = h;
	model_fill(0, 0, w, h, rgb);
	return true;
}

static bool cmd_sub(int32_t x, int32_t y, int32_t w, int32_t h, uint32_t rgb)
{
	static struct buffer cb;

	if (child != NULL)
		return false;
	buffer_free(&cb);
	if (!buffer_make(&cb, w, h))
		return false;
	for (int32_t i = 0; i < w * h; i++)
		cb.px[i] = 0xff000000u | rgb;
	child = wl_compositor_create_surface(compositor);
	child_sub = wl_subcompositor_get_subsurface(subcompositor, child,
						    surface);
	wl_subsurface_set_position(child_sub, x, y);
	wl_surface_attach(child, cb.wl, 0, 0);
	wl_surface_damage_buffer(child, 0, 0, w, h);
	wl_surface_commit(child);       /* cached until the parent commits */
	wl_surface_commit(surface);
	return true;
}

static bool run(char *line)
{
	int32_t x, y, w, h;
	unsigned rgb;
	char word[32];

	if (sscanf(line, "%31s", word) != 1)
		return false;
	if (strcmp(word, "map") == 0 &&
	    sscanf(line, "map %d %d %x", &w, &h, &rgb) == 3) {
		if (!new_model(w, h, rgb))
			return false;
		surface = wl_compositor_create_surface(compositor);
		xdg = xdg_wm_base_get_xdg_surface(wm_base, surface);
		xdg_surface_add_listener(xdg, &xdg_surface_listener, NULL);
		toplevel = xdg_surface_get_toplevel(xdg);
		xdg_toplevel_add_listener(toplevel, &toplevel_listener, NULL);
		xdg_toplevel_set_title(toplevel, "wl-frames");
		wl_surface_commit(surface);
		while (!configured && wl_display_dispatch(display) >= 0)
			;
		xdg_surface_ack_configure(xdg, configure_serial);
		return commit_frame(0, 0, w, h, false);
	}
	if ((strcmp(word, "fill") == 0 || strcmp(word, "fill-destroy") == 0) &&
	    sscanf(line, "%*s %d %d %d %d %x", &x, &y, &w, &h, &rgb) == 5) {
		model_fill(x, y, w, h, rgb);
		return commit_frame(x, y, w, h,
				    strcmp(word, "fill-destroy") == 0);
	}
	if (strcmp(word, "resize") == 0 &&
	    sscanf(line, "resize %d %d %x", &w, &h, &rgb) == 3)
		return new_model(w, h, rgb) && commit_frame(0, 0, w, h, false);
	if (strcmp(word, "sub") == 0 &&
	    sscanf(line, "sub %d %d %d %d %x", &x, &y, &w, &h, &rgb) == 5)
		return cmd_sub(x, y, w, h, rgb);
	if (strcmp(word, "move") == 0 && child != NULL &&
	    sscanf(line, "move %d %d", &x, &y) == 2) {
		/* the position takes effect with the parent's state */
		wl_subsurface_set_position(child_sub, x, y);
		wl_surface_commit(surface);
		return true;
	}
	if (strcmp(word, "unsub") == 0 && child != NULL) {
		wl_subsurface_destroy(child_sub);
		wl_surface_destroy(child);
		child = NULL;
		return true;
	}
	return false;
}

int main(void)
{
	char line[256];

	display = wl_display_connect(NULL);
	if (display == NULL) {
		fprintf(stderr, "wl-frames: cannot connect\n");
		return 1;
	}
	struct wl_registry *registry = wl_display_get_registry(display);
	wl_registry_add_listener(registry, &registry_listener, NULL);
	wl_display_roundtrip(display);
	if (!compositor || !subcompositor || !shm || !wm_base) {
		fprintf(stderr, "wl-frames: globals missing\n");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		if (strncmp(line, "quit", 4) == 0)
			break;
		if (!run(line)) {
			printf("error %s", line);
			return 1;
		}
		if (wl_display_roundtrip(display) < 0) {
			printf("error connection: %d\n",
			       wl_display_get_error(display));
			return 1;
		}
		printf("ok\n");
	}
	wl_display_disconnect(display);
	return 0;
}
