/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A deliberately broken Wayland client: each mode makes one mistake the
 * compositor must answer with a protocol error (or survive), never with
 * a crash.  Exit 0 when the expected error came (or, for "flood" and
 * "teardown", when the connection still works), 1 otherwise.
 *
 *   wl-misbehave MODE   (see `modes` below)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <wayland-client.h>

#include "xdg-shell-client-protocol.h"

static struct wl_compositor *compositor;
static struct wl_subcompositor *subcompositor;
static struct wl_shm *shm;
static struct xdg_wm_base *wm_base;
static uint32_t last_configure;
static int configured;

static void registry_global(void *data, struct wl_registry *registry,
			    uint32_t name, const char *interface,
			    uint32_t version)
{
	if (strcmp(interface, wl_compositor_interface.name) == 0)
		compositor = wl_registry_bind(registry, name,
					      &wl_compositor_interface, 4);
	else if (strcmp(interface, wl_subcompositor_interface.name) == 0)
		subcompositor = wl_registry_bind(registry, name,
						 &wl_subcompositor_interface,
						 1);
	else if (strcmp(interface, wl_shm_interface.name) == 0)
		shm = wl_registry_bind(registry, name, &wl_shm_interface, 1);
	else if (strcmp(interface, xdg_wm_base_interface.name) == 0)
		wm_base = wl_registry_bind(registry, name,
					   &xdg_wm_base_interface, 1);
}

static void registry_global_remove(void *data, struct wl_registry *registry,
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
	last_configure = serial;
	configured = 1;
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

static int pool_fd = -1;

static struct wl_buffer *make_buffer(int32_t width, int32_t height)
{
	size_t size = (size_t)width * height * 4;
	int fd = memfd_create("misbehave", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		return NULL;
	struct wl_shm_pool *pool = wl_shm_create_pool(shm, fd, (int32_t)size);
	struct wl_buffer *b = wl_shm_pool_create_buffer(pool, 0, width, height,
		width * 4, WL_SHM_FORMAT_XRGB8888);
	wl_shm_pool_destroy(pool);
	if (pool_fd >= 0)
		close(pool_fd);
	pool_fd = fd;
	return b;
}

struct toplevel {
	struct wl_surface *surface;
	struct xdg_surface *xdg;
	struct xdg_toplevel *top;
};

/* A toplevel that has had its first configure (not yet a buffer). */
static void toplevel_init(struct wl_display *d, struct toplevel *t)
{
	t->surface = wl_compositor_create_surface(compositor);
	t->xdg = xdg_wm_base_get_xdg_surface(wm_base, t->surface);
	xdg_surface_add_listener(t->xdg, &xdg_surface_listener, NULL);
	t->top = xdg_surface_get_toplevel(t->xdg);
	xdg_toplevel_add_listener(t->top, &toplevel_listener, NULL);
	configured = 0;
	wl_surface_commit(t->surface);
	while (!configured && wl_display_dispatch(d) >= 0)
		;
	xdg_surface_ack_configure(t->xdg, last_configure);
}

static void toplevel_map(struct toplevel *t, int32_t w, int32_t h)
{
	struct wl_buffer *b = make_buffer(w, h);

	wl_surface_attach(t->surface, b, 0, 0);
	wl_surface_damage(t->surface, 0, 0, w, h);
	wl_surface_commit(t->surface);
}

static void mode_subsurface_self(struct wl_display *d)
{
	struct wl_surface *s = wl_compositor_create_surface(compositor);

	wl_subcompositor_get_subsurface(subcompositor, s, s);
}

static void mode_subsurface_cycle(struct wl_display *d)
{
	struct wl_surface *a = wl_compositor_create_surface(compositor);
	struct wl_surface *b = wl_compositor_create_surface(compositor);

	wl_subcompositor_get_subsurface(subcompositor, b, a);
	wl_subcompositor_get_subsurface(subcompositor, a, b);
}

static void mode_buffer_before_configure(struct wl_display *d)
{
	struct wl_surface *s = wl_compositor_create_surface(compositor);
	struct xdg_surface *xs = xdg_wm_base_get_xdg_surface(wm_base, s);

	xdg_surface_add_listener(xs, &xdg_surface_listener, NULL);
	struct xdg_toplevel *t = xdg_surface_get_toplevel(xs);
	(void)t;
	wl_surface_attach(s, make_buffer(10, 10), 0, 0);
	wl_surface_commit(s);
}

static void mode_huge_buffer(struct wl_display *d)
{
	struct toplevel t;

	toplevel_init(d, &t);
	toplevel_map(&t, 8000, 2);      /* wider than QM_GUI_MAX_WIDTH */
}

static void mode_bad_scale(struct wl_display *d)
{
	wl_surface_set_buffer_scale(wl_compositor_create_surface(compositor),
				    0);
}

static void mode_bad_positioner(struct wl_display *d)
{
	struct toplevel t;

	toplevel_init(d, &t);
	toplevel_map(&t, 20, 20);
	struct wl_surface *s = wl_compositor_create_surface(compositor);
	struct xdg_surface *xs = xdg_wm_base_get_xdg_surface(wm_base, s);
	struct xdg_positioner *p = xdg_wm_base_create_positioner(wm_base);
	xdg_surface_get_popup(xs, t.xdg, p);    /* no size, no anchor */
}

static void mode_truncated_pool(struct wl_display *d)
{
	struct toplevel t;

	toplevel_init(d, &t);
	toplevel_map(&t, 64, 64);
	wl_display_roundtrip(d);
	/* shrink the pool under the compositor, then make it read it */
	struct wl_buffer *b = make_buffer(256, 256);
	if (ftruncate(pool_fd, 0) < 0)
		perror("ftruncate");
	wl_surface_attach(t.surface, b, 0, 0);
	wl_surface_damage(t.surface, 0, 0, 256, 256);
	wl_surface_commit(t.surface);
}

static void mode_double_role(struct wl_display *d)
{
	struct wl_surface *s = wl_compositor_create_surface(compositor);

	xdg_wm_base_get_xdg_surface(wm_base, s);
	wl_subcompositor_get_subsurface(subcompositor, s,
		wl_compositor_create_surface(compositor));
}

/* not errors: the compositor must simply cope */
static int mode_flood(struct wl_display *d)
{
	for (int i = 0; i < 300; i++) {
		struct toplevel t;
		toplevel_init(d, &t);
		toplevel_map(&t, 16, 16);
	}
	return wl_display_roundtrip(d) >= 0 ? 0 : 1;
}

static int mode_teardown(struct wl_display *d)
{
	/* parents gone before children, surfaces before their roles */
	struct toplevel t;
	toplevel_init(d, &t);
	toplevel_map(&t, 50, 50);
	struct wl_surface *child = wl_compositor_create_surface(compositor);
	struct wl_subsurface *sub = wl_subcompositor_get_subsurface(
		subcompositor, child, t.surface);
	wl_subsurface_set_position(sub, -10, 30);
	wl_subsurface_set_desync(sub);
	wl_surface_attach(child, make_buffer(100, 10), 0, 0);
	wl_surface_damage(child, 0, 0, 100, 10);
	wl_surface_commit(child);
	wl_surface_commit(t.surface);
	wl_display_roundtrip(d);
	wl_surface_destroy(t.surface);
	wl_display_roundtrip(d);
	wl_surface_commit(child);
	wl_subsurface_destroy(sub);
	wl_surface_destroy(child);
	xdg_toplevel_destroy(t.top);
	xdg_surface_destroy(t.xdg);
	return wl_display_roundtrip(d) >= 0 ? 0 : 1;
}

static void fill(struct wl_buffer *b, int32_t w, int32_t h, uint32_t px)
{
	uint32_t *p = mmap(NULL, (size_t)w * h * 4, PROT_READ | PROT_WRITE,
			   MAP_SHARED, pool_fd, 0);

	if (p == MAP_FAILED)
		return;
	for (int32_t i = 0; i < w * h; i++)
		p[i] = px;
	munmap(p, (size_t)w * h * 4);
}

/* well-behaved: a blue 40x40 toplevel with a red 10x10 subsurface at
 * (5, 5), committed in the synchronized order, its window geometry a
 * 30x30 square at (2, 2); stays until killed */
static int mode_composite(struct wl_display *d)
{
	struct toplevel t;
	toplevel_init(d, &t);
	struct wl_surface *child = wl_compositor_create_surface(compositor);
	struct wl_subsurface *sub = wl_subcompositor_get_subsurface(
		subcompositor, child, t.surface);
	wl_subsurface_set_position(sub, 5, 5);
	struct wl_buffer *cb = make_buffer(10, 10);
	fill(cb, 10, 10, 0xffff0000);
	wl_surface_attach(child, cb, 0, 0);
	wl_surface_damage(child, 0, 0, 10, 10);
	wl_surface_commit(child);       /* cached until the parent commits */
	struct wl_buffer *pb = make_buffer(40, 40);
	fill(pb, 40, 40, 0xff0000ff);
	wl_surface_attach(t.surface, pb, 0, 0);
	wl_surface_damage(t.surface, 0, 0, 40, 40);
	xdg_surface_set_window_geometry(t.xdg, 2, 2, 30, 30);
	wl_surface_commit(t.surface);
	wl_display_roundtrip(d);
	printf("ready\n");
	fflush(stdout);
	while (wl_display_dispatch(d) >= 0)
		;
	return 0;
}

/* well-behaved: W x H, every pixel changed on every frame callback;
 * for measuring the pipeline (WL_ANIMATE_SIZE=WxH, default 1280x720) */
static int frames_drawn;
static struct wl_surface *anim_surface;
static struct wl_buffer *anim_buffer;
static uint32_t *anim_pixels;
static int32_t anim_w = 1280, anim_h = 720;

static void anim_draw(void);

static void anim_done(void *data, struct wl_callback *cb, uint32_t t)
{
	wl_callback_destroy(cb);
	anim_draw();
}

static const struct wl_callback_listener anim_listener = {
	.done = anim_done,
};

static void anim_draw(void)
{
	uint32_t v = 0xff000000u | (uint32_t)(frames_drawn * 0x010203);

	for (int32_t i = 0; i < anim_w * anim_h; i++)
		anim_pixels[i] = v + (uint32_t)i;
	wl_surface_attach(anim_surface, anim_buffer, 0, 0);
	wl_surface_damage_buffer(anim_surface, 0, 0, anim_w, anim_h);
	wl_callback_add_listener(wl_surface_frame(anim_surface),
				 &anim_listener, NULL);
	wl_surface_commit(anim_surface);
	frames_drawn++;
}

static int mode_animate(struct wl_display *d)
{
	const char *size = getenv("WL_ANIMATE_SIZE");
	struct toplevel t;

	if (size != NULL && sscanf(size, "%dx%d", &anim_w, &anim_h) != 2)
		return 1;
	toplevel_init(d, &t);
	anim_surface = t.surface;
	anim_buffer = make_buffer(anim_w, anim_h);
	anim_pixels = mmap(NULL, (size_t)anim_w * anim_h * 4,
			   PROT_READ | PROT_WRITE, MAP_SHARED, pool_fd, 0);
	if (anim_pixels == MAP_FAILED)
		return 1;
	anim_draw();
	while (wl_display_dispatch(d) >= 0)
		;
	return 0;
}

/* well-behaved: a 40x40 toplevel that asks for fullscreen at once and
 * prints "configure fullscreen=0|1" for each configure; when one takes
 * fullscreen away (the host's key), it asks once more, as a user
 * pressing F11 again would, and prints "asked again" */
static int fs_now, fs_seen, fs_asked_again;
static struct xdg_toplevel *fs_top;
static struct wl_surface *fs_surface;

static void fs_toplevel_configure(void *data, struct xdg_toplevel *t,
				  int32_t w, int32_t h,
				  struct wl_array *states)
{
	uint32_t *st;

	fs_now = 0;
	wl_array_for_each(st, states)
		if (*st == XDG_TOPLEVEL_STATE_FULLSCREEN)
			fs_now = 1;
}

static const struct xdg_toplevel_listener fs_toplevel_listener = {
	.configure = fs_toplevel_configure,
	.close = toplevel_close,
};

static void fs_surface_configure(void *data, struct xdg_surface *xs,
				 uint32_t serial)
{
	xdg_surface_ack_configure(xs, serial);
	printf("configure fullscreen=%d\n", fs_now);
	if (fs_now) {
		fs_seen = 1;
	} else if (fs_seen && !fs_asked_again) {
		fs_asked_again = 1;
		xdg_toplevel_set_fullscreen(fs_top, NULL);
		printf("asked again\n");
	}
	fflush(stdout);
	wl_surface_commit(fs_surface);
}

static const struct xdg_surface_listener fs_surface_listener = {
	.configure = fs_surface_configure,
};

static int mode_fullscreen(struct wl_display *d)
{
	struct xdg_surface *xs;
	struct wl_buffer *b;

	fs_surface = wl_compositor_create_surface(compositor);
	xs = xdg_wm_base_get_xdg_surface(wm_base, fs_surface);
	xdg_surface_add_listener(xs, &fs_surface_listener, NULL);
	fs_top = xdg_surface_get_toplevel(xs);
	xdg_toplevel_add_listener(fs_top, &fs_toplevel_listener, NULL);
	xdg_toplevel_set_fullscreen(fs_top, NULL);
	wl_surface_commit(fs_surface);
	wl_display_roundtrip(d);
	b = make_buffer(40, 40);
	fill(b, 40, 40, 0xff00ff00);
	wl_surface_attach(fs_surface, b, 0, 0);
	wl_surface_damage_buffer(fs_surface, 0, 0, 40, 40);
	wl_surface_commit(fs_surface);
	while (wl_display_dispatch(d) >= 0)
		;
	return 0;
}

struct mode {
	const char *name;
	void (*bad)(struct wl_display *d);
	int (*cope)(struct wl_display *d);
};

static const struct mode modes[] = {
	{ "subsurface-self", mode_subsurface_self, NULL },
	{ "subsurface-cycle", mode_subsurface_cycle, NULL },
	{ "buffer-before-configure", mode_buffer_before_configure, NULL },
	{ "huge-buffer", mode_huge_buffer, NULL },
	{ "bad-scale", mode_bad_scale, NULL },
	{ "bad-positioner", mode_bad_positioner, NULL },
	{ "truncated-pool", mode_truncated_pool, NULL },
	{ "double-role", mode_double_role, NULL },
	{ "flood", NULL, mode_flood },
	{ "teardown", NULL, mode_teardown },
	{ "composite", NULL, mode_composite },
	{ "animate", NULL, mode_animate },
	{ "fullscreen", NULL, mode_fullscreen },
};

int main(int argc, char **argv)
{
	const struct mode *mode = NULL;

	for (size_t i = 0; argc == 2 && i < sizeof(modes) / sizeof(*modes); i++)
		if (strcmp(argv[1], modes[i].name) == 0)
			mode = &modes[i];
	if (mode == NULL) {
		fprintf(stderr, "usage: wl-misbehave MODE\n");
		return 2;
	}
	struct wl_display *d = wl_display_connect(NULL);
	if (d == NULL) {
		fprintf(stderr, "wl-misbehave: cannot connect\n");
		return 1;
	}
	struct wl_registry *registry = wl_display_get_registry(d);
	wl_registry_add_listener(registry, &registry_listener, NULL);
	wl_display_roundtrip(d);
	if (!compositor || !subcompositor || !shm || !wm_base) {
		fprintf(stderr, "wl-misbehave: globals missing\n");
		return 1;
	}
	if (mode->cope != NULL) {
		int rc = mode->cope(d);
		printf("%s: %s\n", mode->name, rc ? "connection broken" : "ok");
		return rc;
	}
	mode->bad(d);
	wl_display_roundtrip(d);
	wl_display_roundtrip(d);
	int err = wl_display_get_error(d);
	const struct wl_interface *iface = NULL;
	uint32_t id = 0;
	uint32_t code = err == EPROTO ?
		wl_display_get_protocol_error(d, &iface, &id) : 0;
	printf("%s: error %d, %s code %u\n", mode->name, err,
	       iface ? iface->name : "-", code);
	/* the client library keeps its objects: nothing to tidy after a
	 * fatal protocol error but the connection */
	return err == EPROTO ? 0 : 1;
}
