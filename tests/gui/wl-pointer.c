/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A pointer for the GUI tests: headless sway has no pointer device, so
 * this makes one with wlroots' virtual pointer protocol and plays the
 * commands given, in order, then keeps the pointer for a moment (the
 * compositor drops a virtual device's focus with it).
 *
 *   wl-pointer [--extent WxH] CMD...
 *   wl-pointer [--extent WxH] -      the commands from stdin, one a line,
 *                                    each answered "ok" on stdout, until
 *                                    end of input (one device throughout)
 *     move X Y     the pointer to X,Y of the WxH layout (default 1280x720)
 *     click        left button pressed and released
 *     sleep MS     wait
 *
 * Exit 0 when every command was sent, 1 if the compositor lacks the
 * protocol or the connection broke, 2 on a usage error.
 */
#include <linux/input-event-codes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wayland-client.h>

#include "wlr-virtual-pointer-unstable-v1-client-protocol.h"

static struct wl_seat *seat;
static struct zwlr_virtual_pointer_manager_v1 *manager;

static void global(void *data, struct wl_registry *reg, uint32_t name,
		   const char *iface, uint32_t version)
{
	if (strcmp(iface, wl_seat_interface.name) == 0 && !seat)
		seat = wl_registry_bind(reg, name, &wl_seat_interface, 1);
	else if (strcmp(iface,
			zwlr_virtual_pointer_manager_v1_interface.name) == 0)
		manager = wl_registry_bind(reg, name,
			&zwlr_virtual_pointer_manager_v1_interface, 1);
}

static void global_remove(void *data, struct wl_registry *reg,
			  uint32_t name)
{
}

static const struct wl_registry_listener registry_listener = {
	.global = global,
	.global_remove = global_remove,
};

static uint32_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static struct zwlr_virtual_pointer_v1 *ptr;
static unsigned int ew = 1280, eh = 720;

static void pause_ms(long ms);

/* One command (words[0..n)); returns the words used, 0 if bad. */
static int command(char **words, int n)
{
	if (n >= 3 && strcmp(words[0], "move") == 0) {
		zwlr_virtual_pointer_v1_motion_absolute(ptr, now_ms(),
			(uint32_t)atoi(words[1]), (uint32_t)atoi(words[2]),
			ew, eh);
		zwlr_virtual_pointer_v1_frame(ptr);
		return 3;
	}
	if (n >= 1 && strcmp(words[0], "click") == 0) {
		zwlr_virtual_pointer_v1_button(ptr, now_ms(), BTN_LEFT,
			WL_POINTER_BUTTON_STATE_PRESSED);
		zwlr_virtual_pointer_v1_frame(ptr);
		zwlr_virtual_pointer_v1_button(ptr, now_ms(), BTN_LEFT,
			WL_POINTER_BUTTON_STATE_RELEASED);
		zwlr_virtual_pointer_v1_frame(ptr);
		return 1;
	}
	if (n >= 2 && strcmp(words[0], "sleep") == 0) {
		pause_ms(atol(words[1]));
		return 2;
	}
	return 0;
}

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	int i = 1;

	if (argc > 2 && strcmp(argv[1], "--extent") == 0) {
		if (sscanf(argv[2], "%ux%u", &ew, &eh) != 2 || !ew || !eh)
			return 2;
		i = 3;
	}
	struct wl_display *d = wl_display_connect(NULL);
	if (!d) {
		fprintf(stderr, "wl-pointer: cannot connect\n");
		return 1;
	}
	struct wl_registry *reg = wl_display_get_registry(d);
	wl_registry_add_listener(reg, &registry_listener, NULL);
	wl_display_roundtrip(d);
	if (!manager) {
		fprintf(stderr, "wl-pointer: no zwlr_virtual_pointer_manager_v1\n");
		return 1;
	}
	ptr = zwlr_virtual_pointer_manager_v1_create_virtual_pointer(manager,
								     seat);
	wl_display_roundtrip(d);
	if (i + 1 == argc && strcmp(argv[i], "-") == 0) {
		char line[256];

		while (fgets(line, sizeof(line), stdin)) {
			char *words[4];
			int n = 0;

			for (char *w = strtok(line, " \t\n"); w && n < 4;
			     w = strtok(NULL, " \t\n"))
				words[n++] = w;
			if (n && !command(words, n)) {
				fprintf(stderr, "wl-pointer: bad command '%s'\n",
					words[0]);
				return 2;
			}
			if (wl_display_roundtrip(d) < 0) {
				fprintf(stderr, "wl-pointer: connection broken\n");
				return 1;
			}
			printf("ok\n");
			fflush(stdout);
		}
	}
	while (i < argc && !(i + 1 == argc && strcmp(argv[i], "-") == 0)) {
		int used = command(argv + i, argc - i);

		if (!used) {
			fprintf(stderr, "wl-pointer: bad command '%s'\n",
				argv[i]);
			return 2;
		}
		i += used;
		if (wl_display_roundtrip(d) < 0) {
			fprintf(stderr, "wl-pointer: connection broken\n");
			return 1;
		}
	}
	pause_ms(300);
	zwlr_virtual_pointer_v1_destroy(ptr);
	zwlr_virtual_pointer_manager_v1_destroy(manager);
	if (seat)
		wl_seat_destroy(seat);
	wl_registry_destroy(reg);
	wl_display_roundtrip(d);
	wl_display_disconnect(d);
	return 0;
}
