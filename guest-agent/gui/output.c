/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "output.h"

#include <glib.h>
#include <wayland-server-protocol.h>

#include "server.h"
#include "surface.h"

#define OUTPUT_VERSION 3
#define DEFAULT_WIDTH 1920
#define DEFAULT_HEIGHT 1080
#define REFRESH_MHZ 60000

struct ga_output {
	struct ga_server *server;
	struct wl_global *global;
	struct wl_list resources;
	int32_t width, height;
};

static void send_mode(struct ga_output *o, struct wl_resource *res)
{
	/* about 96 dpi, so that apps that size by millimetres behave */
	wl_output_send_geometry(res, 0, 0, o->width * 254 / 960,
				o->height * 254 / 960,
				WL_OUTPUT_SUBPIXEL_UNKNOWN, "qmgr", "virtual",
				WL_OUTPUT_TRANSFORM_NORMAL);
	wl_output_send_mode(res, WL_OUTPUT_MODE_CURRENT |
				 WL_OUTPUT_MODE_PREFERRED,
			    o->width, o->height, REFRESH_MHZ);
	if (wl_resource_get_version(res) >= WL_OUTPUT_SCALE_SINCE_VERSION)
		wl_output_send_scale(res, 1);
	if (wl_resource_get_version(res) >= WL_OUTPUT_DONE_SINCE_VERSION)
		wl_output_send_done(res);
}

static void output_release(struct wl_client *client,
			   struct wl_resource *resource)
{
	wl_resource_destroy(resource);
}

static const struct wl_output_interface output_impl = {
	.release = output_release,
};

static void resource_unlink(struct wl_resource *resource)
{
	wl_list_remove(wl_resource_get_link(resource));
}

static void output_bind(struct wl_client *client, void *data,
			uint32_t version, uint32_t id)
{
	struct ga_output *o = data;
	struct wl_resource *res = wl_resource_create(client,
		&wl_output_interface, version, id);

	if (res == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(res, &output_impl, o, resource_unlink);
	wl_list_insert(&o->resources, wl_resource_get_link(res));
	send_mode(o, res);
}

void ga_output_fit(struct ga_output *o, uint32_t width, uint32_t height)
{
	struct wl_resource *res;

	if ((int32_t)width <= o->width && (int32_t)height <= o->height)
		return;
	if ((int32_t)width > o->width)
		o->width = (int32_t)width;
	if ((int32_t)height > o->height)
		o->height = (int32_t)height;
	wl_resource_for_each(res, &o->resources)
		send_mode(o, res);
}

void ga_output_enter(struct ga_output *o, struct ga_surface *surface)
{
	struct wl_client *client = wl_resource_get_client(surface->resource);
	struct wl_resource *res;

	wl_resource_for_each(res, &o->resources)
		if (wl_resource_get_client(res) == client)
			wl_surface_send_enter(surface->resource, res);
}

struct ga_output *ga_output_create(struct ga_server *server)
{
	struct ga_output *o = g_new0(struct ga_output, 1);

	o->server = server;
	o->width = DEFAULT_WIDTH;
	o->height = DEFAULT_HEIGHT;
	wl_list_init(&o->resources);
	o->global = wl_global_create(server->display, &wl_output_interface,
				     OUTPUT_VERSION, o, output_bind);
	if (o->global == NULL) {
		g_free(o);
		return NULL;
	}
	return o;
}

void ga_output_destroy(struct ga_output *o)
{
	if (o == NULL)
		return;
	wl_global_destroy(o->global);
	g_free(o);
}
