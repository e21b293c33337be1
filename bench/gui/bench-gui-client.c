/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Wayland app of bench/gui: one wl_shm toplevel of a fixed size that
 * either animates (every pixel changes on every frame, the next frame is
 * drawn when the compositor's frame callback for the last one fires) or
 * waits for keys (each key press repaints the whole window in a new
 * colour and the time from the key to the frame callback of that frame is
 * printed).  Its frame and key counts live in a small shared file that
 * the driver (bench-gui.py) reads while it runs, so that counting costs
 * no syscall per frame.
 *
 *   bench-gui-client [--size WxH] [--pattern gradient|noise]
 *                    [--counter FILE] [--keys]
 *
 * The frame callbacks are the compositor's way of saying "shown": under
 * gui-proxy they are answered by qmgr-gui-agent when the host's
 * FRAME_DONE comes back, which gui-proxy sends when sway's own frame
 * callback fires; under waypipe they come from sway through waypipe.
 * Either way a callback means the frame reached the screen.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <wayland-client.h>

#include "xdg-shell-client-protocol.h"

/* Read by bench-gui.py, which knows this layout (8-byte fields). */
struct counter {
	uint64_t pid;
	uint64_t frames;        /* frame callbacks received */
	uint64_t keys;          /* key presses seen */
};

#define NBUF 3                  /* a third one if sway holds two */

struct buffer {
	struct wl_buffer *wl;
	uint32_t *px;
	bool busy;
};

static struct {
	struct wl_compositor *compositor;
	struct wl_shm *shm;
	struct xdg_wm_base *wm_base;
	struct wl_seat *seat;
	struct wl_surface *surface;
	struct xdg_surface *xdg;
	struct xdg_toplevel *top;
	struct buffer buf[NBUF];
	int32_t w, h;
	bool configured;
	bool keys_mode;
	bool noise;
	uint32_t *noise_px;     /* w * h + NOISE_SLACK pixels */
	uint64_t frame;
	struct counter *counter;
	struct counter local;
	uint64_t key_ns;        /* time of the key whose frame is pending */
	bool key_drawn;         /* ... and that frame has been committed */
	bool waiting;           /* a frame callback is pending */
	bool want_frame;        /* draw when a buffer is released */
} app;

#define NOISE_SLACK 4099

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void buffer_release(void *data, struct wl_buffer *wl)
{
	struct buffer *b = data;

	b->busy = false;
}

static const struct wl_buffer_listener buffer_listener = {
	.release = buffer_release,
};

static bool buffer_init(struct buffer *b)
{
	size_t size = (size_t)app.w * (size_t)app.h * 4;
	int fd = memfd_create("bench-gui", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
		perror("bench-gui-client: memfd");
		return false;
	}
	b->px = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (b->px == MAP_FAILED) {
		perror("bench-gui-client: mmap");
		close(fd);
		return false;
	}
	struct wl_shm_pool *pool = wl_shm_create_pool(app.shm, fd,
						      (int32_t)size);
	b->wl = wl_shm_pool_create_buffer(pool, 0, app.w, app.h, app.w * 4,
					  WL_SHM_FORMAT_XRGB8888);
	wl_buffer_add_listener(b->wl, &buffer_listener, b);
	wl_shm_pool_destroy(pool);
	close(fd);
	return true;
}

static struct buffer *buffer_free(void)
{
	for (int i = 0; i < NBUF; i++) {
		struct buffer *b = &app.buf[i];

		if (b->wl == NULL && !buffer_init(b))
			return NULL;
		if (!b->busy)
			return b;
	}
	return NULL;
}

/* Every pixel differs from the last frame's.  gradient: wl-misbehave
 * animate's pattern (a ramp whose base moves; compressible).  noise:
 * pseudo-random pixels shifted by a few pixels each frame (what lz4
 * cannot shrink, like video or photos moving). */
static void paint(uint32_t *px)
{
	size_t n = (size_t)app.w * (size_t)app.h;

	if (app.keys_mode) {
		uint32_t c = 0xff000000u | (uint32_t)(app.local.keys * 0x3f1f7f);

		for (size_t i = 0; i < n; i++)
			px[i] = c;
	} else if (app.noise) {
		memcpy(px, app.noise_px + app.frame * 7 % NOISE_SLACK, n * 4);
	} else {
		uint32_t v = 0xff000000u | (uint32_t)(app.frame * 0x010203);

		for (size_t i = 0; i < n; i++)
			px[i] = v + (uint32_t)i;
	}
}

static void draw(void);

static void frame_done(void *data, struct wl_callback *cb, uint32_t t)
{
	wl_callback_destroy(cb);
	app.waiting = false;
	app.local.frames++;
	__atomic_store_n(&app.counter->frames, app.local.frames,
			 __ATOMIC_RELAXED);
	if (app.keys_mode) {
		if (app.key_ns != 0 && !app.key_drawn) {
			draw();         /* the key came during an older frame */
		} else if (app.key_ns != 0) {
			/* key time, shown time: bench-gui.py pairs them with
			 * the time it ran wtype */
			printf("key %llu %llu\n",
			       (unsigned long long)app.key_ns,
			       (unsigned long long)now_ns());
			fflush(stdout);
			app.key_ns = 0;
		}
		return;
	}
	draw();
}

static const struct wl_callback_listener frame_listener = {
	.done = frame_done,
};

static void draw(void)
{
	struct buffer *b = buffer_free();

	if (b == NULL) {
		app.want_frame = true;          /* on the next release */
		return;
	}
	app.want_frame = false;
	app.key_drawn = app.key_ns != 0;
	paint(b->px);
	app.frame++;
	wl_surface_attach(app.surface, b->wl, 0, 0);
	wl_surface_damage_buffer(app.surface, 0, 0, app.w, app.h);
	wl_callback_add_listener(wl_surface_frame(app.surface),
				 &frame_listener, NULL);
	wl_surface_commit(app.surface);
	b->busy = true;
	app.waiting = true;
}

/* ---- keyboard ---- */

static void kb_keymap(void *data, struct wl_keyboard *kb, uint32_t format,
		      int32_t fd, uint32_t size)
{
	close(fd);
}

static void kb_enter(void *data, struct wl_keyboard *kb, uint32_t serial,
		     struct wl_surface *s, struct wl_array *keys)
{
}

static void kb_leave(void *data, struct wl_keyboard *kb, uint32_t serial,
		     struct wl_surface *s)
{
}

static void kb_key(void *data, struct wl_keyboard *kb, uint32_t serial,
		   uint32_t time, uint32_t key, uint32_t state)
{
	/* wtype numbers keys in a keymap of its own: any press counts */
	if (!app.keys_mode || state != WL_KEYBOARD_KEY_STATE_PRESSED)
		return;
	uint64_t t = now_ns();

	app.local.keys++;
	__atomic_store_n(&app.counter->keys, app.local.keys,
			 __ATOMIC_RELAXED);
	if (app.key_ns == 0)
		app.key_ns = t;
	if (!app.waiting)
		draw();
}

static void kb_modifiers(void *data, struct wl_keyboard *kb,
			 uint32_t serial, uint32_t dep, uint32_t lat,
			 uint32_t lock, uint32_t group)
{
}

static void kb_repeat(void *data, struct wl_keyboard *kb, int32_t rate,
		      int32_t delay)
{
}

static const struct wl_keyboard_listener keyboard_listener = {
	.keymap = kb_keymap,
	.enter = kb_enter,
	.leave = kb_leave,
	.key = kb_key,
	.modifiers = kb_modifiers,
	.repeat_info = kb_repeat,
};

/* A headless sway has a keyboard only while wtype's virtual one exists:
 * the capability comes and goes, and a keyboard object of a removed
 * capability stays inert, so it is released and made anew. */
static void seat_caps(void *data, struct wl_seat *seat, uint32_t caps)
{
	static struct wl_keyboard *kb;
	bool has = caps & WL_SEAT_CAPABILITY_KEYBOARD;

	if (has && kb == NULL) {
		kb = wl_seat_get_keyboard(seat);
		wl_keyboard_add_listener(kb, &keyboard_listener, NULL);
	} else if (!has && kb != NULL) {
		if (wl_keyboard_get_version(kb) >= WL_KEYBOARD_RELEASE_SINCE_VERSION)
			wl_keyboard_release(kb);
		else
			wl_keyboard_destroy(kb);
		kb = NULL;
	}
}

static void seat_name(void *data, struct wl_seat *seat, const char *name)
{
}

static const struct wl_seat_listener seat_listener = {
	.capabilities = seat_caps,
	.name = seat_name,
};

/* ---- globals, shell ---- */

static void wm_ping(void *data, struct xdg_wm_base *wm, uint32_t serial)
{
	xdg_wm_base_pong(wm, serial);
}

static const struct xdg_wm_base_listener wm_listener = {
	.ping = wm_ping,
};

static void registry_global(void *data, struct wl_registry *registry,
			    uint32_t name, const char *interface,
			    uint32_t version)
{
	if (strcmp(interface, wl_compositor_interface.name) == 0) {
		app.compositor = wl_registry_bind(registry, name,
						  &wl_compositor_interface, 4);
	} else if (strcmp(interface, wl_shm_interface.name) == 0) {
		app.shm = wl_registry_bind(registry, name,
					   &wl_shm_interface, 1);
	} else if (strcmp(interface, xdg_wm_base_interface.name) == 0) {
		app.wm_base = wl_registry_bind(registry, name,
					       &xdg_wm_base_interface, 1);
		xdg_wm_base_add_listener(app.wm_base, &wm_listener, NULL);
	} else if (strcmp(interface, wl_seat_interface.name) == 0 &&
		   app.seat == NULL) {
		app.seat = wl_registry_bind(registry, name,
					    &wl_seat_interface,
					    version < 5 ? version : 5);
		wl_seat_add_listener(app.seat, &seat_listener, NULL);
	}
}

static void registry_global_remove(void *data, struct wl_registry *r,
				   uint32_t name)
{
}

static const struct wl_registry_listener registry_listener = {
	.global = registry_global,
	.global_remove = registry_global_remove,
};

static void xdg_configure(void *data, struct xdg_surface *xs,
			  uint32_t serial)
{
	xdg_surface_ack_configure(xs, serial);
	app.configured = true;
}

static const struct xdg_surface_listener xdg_listener = {
	.configure = xdg_configure,
};

/* The size is ours whatever the compositor suggests: the bench wants
 * exactly W x H on the screen. */
static void top_configure(void *data, struct xdg_toplevel *t, int32_t w,
			  int32_t h, struct wl_array *states)
{
}

static void top_close(void *data, struct xdg_toplevel *t)
{
	exit(0);
}

static const struct xdg_toplevel_listener top_listener = {
	.configure = top_configure,
	.close = top_close,
};

static bool counter_open(const char *path)
{
	if (path == NULL) {
		app.counter = &app.local;
		return true;
	}
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0 || ftruncate(fd, sizeof(struct counter)) < 0) {
		fprintf(stderr, "bench-gui-client: %s: %s\n", path,
			strerror(errno));
		return false;
	}
	app.counter = mmap(NULL, sizeof(struct counter),
			   PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (app.counter == MAP_FAILED) {
		perror("bench-gui-client: mmap counter");
		return false;
	}
	memset(app.counter, 0, sizeof(*app.counter));
	app.counter->pid = (uint64_t)getpid();
	return true;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench-gui-client [--size WxH] "
		"[--pattern gradient|noise] [--counter FILE] [--keys]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *counter_path = NULL;

	app.w = 1280;
	app.h = 720;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
			if (sscanf(argv[++i], "%dx%d", &app.w, &app.h) != 2 ||
			    app.w < 1 || app.h < 1 || app.w > 7680 ||
			    app.h > 4320)
				usage();
		} else if (strcmp(argv[i], "--pattern") == 0 && i + 1 < argc) {
			i++;
			if (strcmp(argv[i], "noise") == 0)
				app.noise = true;
			else if (strcmp(argv[i], "gradient") != 0)
				usage();
		} else if (strcmp(argv[i], "--counter") == 0 && i + 1 < argc) {
			counter_path = argv[++i];
		} else if (strcmp(argv[i], "--keys") == 0) {
			app.keys_mode = true;
		} else {
			usage();
		}
	}
	if (!counter_open(counter_path))
		return 1;
	if (app.noise) {
		size_t n = (size_t)app.w * (size_t)app.h + NOISE_SLACK;
		uint32_t x = 2463534242u;

		app.noise_px = malloc(n * 4);
		if (app.noise_px == NULL)
			return 1;
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			app.noise_px[i] = 0xff000000u | x;
		}
	}

	struct wl_display *d = wl_display_connect(NULL);
	if (d == NULL) {
		fprintf(stderr, "bench-gui-client: cannot connect to the "
			"Wayland display (WAYLAND_DISPLAY, XDG_RUNTIME_DIR)\n");
		return 1;
	}
	struct wl_registry *registry = wl_display_get_registry(d);
	wl_registry_add_listener(registry, &registry_listener, NULL);
	wl_display_roundtrip(d);
	if (!app.compositor || !app.shm || !app.wm_base) {
		fprintf(stderr, "bench-gui-client: the compositor lacks "
			"wl_compositor, wl_shm or xdg_wm_base\n");
		return 1;
	}
	app.surface = wl_compositor_create_surface(app.compositor);
	app.xdg = xdg_wm_base_get_xdg_surface(app.wm_base, app.surface);
	xdg_surface_add_listener(app.xdg, &xdg_listener, NULL);
	app.top = xdg_surface_get_toplevel(app.xdg);
	xdg_toplevel_add_listener(app.top, &top_listener, NULL);
	xdg_toplevel_set_title(app.top, "bench-gui");
	xdg_toplevel_set_app_id(app.top, "bench-gui");
	wl_surface_commit(app.surface);
	while (!app.configured && wl_display_dispatch(d) >= 0)
		;
	draw();
	while (wl_display_dispatch(d) >= 0) {
		if (app.want_frame && !app.waiting)
			draw();
	}
	fprintf(stderr, "bench-gui-client: connection lost after %llu "
		"frames\n", (unsigned long long)app.local.frames);
	return 1;
}
