/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A minimal clipboard client for the guest GUI tests, in place of
 * wl-clipboard (not installed on the build machines):
 *   wl-clip paste        print the selection (text/plain;charset=utf-8)
 *   wl-clip copy TEXT    own the selection until another app takes it
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wayland-client.h>

static struct wl_seat *seat;
static struct wl_data_device_manager *manager;
static struct wl_data_offer *selection;
static int selection_has_text;
static int pending_offer_text;
static const char *copy_text;
static int done;

static void offer_offer(void *data, struct wl_data_offer *offer,
			const char *mime_type)
{
	if (strcmp(mime_type, "text/plain;charset=utf-8") == 0)
		pending_offer_text = 1;
}

static void offer_source_actions(void *data, struct wl_data_offer *offer,
				 uint32_t actions)
{
}

static void offer_action(void *data, struct wl_data_offer *offer,
			 uint32_t action)
{
}

static const struct wl_data_offer_listener offer_listener = {
	.offer = offer_offer,
	.source_actions = offer_source_actions,
	.action = offer_action,
};

static void device_data_offer(void *data, struct wl_data_device *device,
			      struct wl_data_offer *offer)
{
	pending_offer_text = 0;
	wl_data_offer_add_listener(offer, &offer_listener, NULL);
}

static void device_enter(void *data, struct wl_data_device *device,
			 uint32_t serial, struct wl_surface *surface,
			 wl_fixed_t x, wl_fixed_t y, struct wl_data_offer *id)
{
}

static void device_leave(void *data, struct wl_data_device *device)
{
}

static void device_motion(void *data, struct wl_data_device *device,
			  uint32_t time, wl_fixed_t x, wl_fixed_t y)
{
}

static void device_drop(void *data, struct wl_data_device *device)
{
}

static void device_selection(void *data, struct wl_data_device *device,
			     struct wl_data_offer *offer)
{
	if (selection != NULL && selection != offer)
		wl_data_offer_destroy(selection);
	selection = offer;
	selection_has_text = offer != NULL && pending_offer_text;
}

static const struct wl_data_device_listener device_listener = {
	.data_offer = device_data_offer,
	.enter = device_enter,
	.leave = device_leave,
	.motion = device_motion,
	.drop = device_drop,
	.selection = device_selection,
};

static void source_target(void *data, struct wl_data_source *source,
			  const char *mime_type)
{
}

static void source_send(void *data, struct wl_data_source *source,
			const char *mime_type, int32_t fd)
{
	size_t len = strlen(copy_text), off = 0;

	while (off < len) {
		ssize_t n = write(fd, copy_text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
}

static void source_cancelled(void *data, struct wl_data_source *source)
{
	done = 1;
}

static void source_dnd_drop_performed(void *data,
				      struct wl_data_source *source)
{
}

static void source_dnd_finished(void *data, struct wl_data_source *source)
{
}

static void source_action(void *data, struct wl_data_source *source,
			  uint32_t action)
{
}

static const struct wl_data_source_listener source_listener = {
	.target = source_target,
	.send = source_send,
	.cancelled = source_cancelled,
	.dnd_drop_performed = source_dnd_drop_performed,
	.dnd_finished = source_dnd_finished,
	.action = source_action,
};

static void registry_global(void *data, struct wl_registry *registry,
			    uint32_t name, const char *interface,
			    uint32_t version)
{
	if (strcmp(interface, wl_seat_interface.name) == 0)
		seat = wl_registry_bind(registry, name, &wl_seat_interface, 1);
	else if (strcmp(interface, wl_data_device_manager_interface.name) == 0)
		manager = wl_registry_bind(registry, name,
					   &wl_data_device_manager_interface,
					   3);
}

static void registry_global_remove(void *data, struct wl_registry *registry,
				   uint32_t name)
{
}

static const struct wl_registry_listener registry_listener = {
	.global = registry_global,
	.global_remove = registry_global_remove,
};

static int paste(struct wl_display *display)
{
	int fds[2];
	char buf[4096];

	if (selection == NULL || !selection_has_text) {
		fprintf(stderr, "wl-clip: no text selection\n");
		return 1;
	}
	if (pipe(fds) < 0)
		return 1;
	wl_data_offer_receive(selection, "text/plain;charset=utf-8", fds[1]);
	close(fds[1]);
	wl_display_flush(display);
	for (;;) {
		ssize_t n = read(fds[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		fwrite(buf, 1, (size_t)n, stdout);
	}
	close(fds[0]);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2 || (strcmp(argv[1], "paste") != 0 &&
			 (strcmp(argv[1], "copy") != 0 || argc != 3))) {
		fprintf(stderr, "usage: wl-clip paste | wl-clip copy TEXT\n");
		return 2;
	}
	struct wl_display *display = wl_display_connect(NULL);
	if (display == NULL) {
		fprintf(stderr, "wl-clip: cannot connect to Wayland\n");
		return 1;
	}
	struct wl_registry *registry = wl_display_get_registry(display);
	wl_registry_add_listener(registry, &registry_listener, NULL);
	wl_display_roundtrip(display);
	if (seat == NULL || manager == NULL) {
		fprintf(stderr, "wl-clip: no seat or data device manager\n");
		return 1;
	}
	struct wl_data_device *device =
		wl_data_device_manager_get_data_device(manager, seat);
	wl_data_device_add_listener(device, &device_listener, NULL);
	wl_display_roundtrip(display);

	if (strcmp(argv[1], "paste") == 0) {
		int rc = paste(display);
		if (selection != NULL)
			wl_data_offer_destroy(selection);
		wl_data_device_destroy(device);
		wl_data_device_manager_destroy(manager);
		wl_seat_destroy(seat);
		wl_registry_destroy(registry);
		wl_display_disconnect(display);
		return rc;
	}
	copy_text = argv[2];
	struct wl_data_source *source =
		wl_data_device_manager_create_data_source(manager);
	wl_data_source_add_listener(source, &source_listener, NULL);
	wl_data_source_offer(source, "text/plain;charset=utf-8");
	wl_data_source_offer(source, "text/plain");
	wl_data_device_set_selection(device, source, 0);
	/* tell the test we own the selection */
	wl_display_roundtrip(display);
	printf("ready\n");
	fflush(stdout);
	while (!done && wl_display_dispatch(display) >= 0)
		;
	wl_data_source_destroy(source);
	if (selection != NULL)
		wl_data_offer_destroy(selection);
	wl_data_device_destroy(device);
	wl_data_device_manager_destroy(manager);
	wl_seat_destroy(seat);
	wl_registry_destroy(registry);
	wl_display_disconnect(display);
	return 0;
}
