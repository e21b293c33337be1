/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "decoration.h"

#include <assert.h>
#include <wayland-server-core.h>

#include "server.h"
#include "xdg.h"
#include "xdg-decoration-unstable-v1-server-protocol.h"

static const struct zxdg_toplevel_decoration_v1_interface decoration_impl;

/* The toplevel, or NULL once it is gone (orphaned). */
static struct ga_xdg_surface *decoration_toplevel(struct wl_resource *res)
{
	assert(wl_resource_instance_of(res,
		&zxdg_toplevel_decoration_v1_interface, &decoration_impl));
	return wl_resource_get_user_data(res);
}

static void send_mode(struct wl_resource *res)
{
	struct ga_xdg_surface *toplevel = decoration_toplevel(res);

	if (toplevel == NULL) {
		wl_resource_post_error(res,
			ZXDG_TOPLEVEL_DECORATION_V1_ERROR_ORPHANED,
			"the xdg_toplevel of this decoration is gone");
		return;
	}
	zxdg_toplevel_decoration_v1_send_configure(res,
		ZXDG_TOPLEVEL_DECORATION_V1_MODE_SERVER_SIDE);
	ga_xdg_toplevel_reconfigure(toplevel);
}

static void decoration_destroy(struct wl_client *client,
			       struct wl_resource *resource)
{
	wl_resource_destroy(resource);
}

static void decoration_set_mode(struct wl_client *client,
				struct wl_resource *resource, uint32_t mode)
{
	send_mode(resource);
}

static void decoration_unset_mode(struct wl_client *client,
				  struct wl_resource *resource)
{
	send_mode(resource);
}

static const struct zxdg_toplevel_decoration_v1_interface decoration_impl = {
	.destroy = decoration_destroy,
	.set_mode = decoration_set_mode,
	.unset_mode = decoration_unset_mode,
};

static void decoration_resource_destroy(struct wl_resource *resource)
{
	struct ga_xdg_surface *toplevel = decoration_toplevel(resource);

	if (toplevel != NULL)
		ga_xdg_toplevel_set_decoration(toplevel, NULL);
}

static void manager_destroy(struct wl_client *client,
			    struct wl_resource *resource)
{
	wl_resource_destroy(resource);
}

static void manager_get_toplevel_decoration(struct wl_client *client,
					    struct wl_resource *resource,
					    uint32_t id,
					    struct wl_resource *toplevel_res)
{
	struct ga_xdg_surface *toplevel =
		ga_xdg_toplevel_from_resource(toplevel_res);

	if (toplevel == NULL) {
		wl_resource_post_error(resource,
			ZXDG_TOPLEVEL_DECORATION_V1_ERROR_ORPHANED,
			"xdg_toplevel@%u is inert",
			wl_resource_get_id(toplevel_res));
		return;
	}
	if (ga_xdg_toplevel_has_buffer(toplevel)) {
		wl_resource_post_error(resource,
			ZXDG_TOPLEVEL_DECORATION_V1_ERROR_UNCONFIGURED_BUFFER,
			"xdg_toplevel@%u already has a buffer",
			wl_resource_get_id(toplevel_res));
		return;
	}
	struct wl_resource *res = wl_resource_create(client,
		&zxdg_toplevel_decoration_v1_interface,
		wl_resource_get_version(resource), id);
	if (res == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	if (!ga_xdg_toplevel_set_decoration(toplevel, res)) {
		wl_resource_destroy(res);
		wl_resource_post_error(resource,
			ZXDG_TOPLEVEL_DECORATION_V1_ERROR_ALREADY_CONSTRUCTED,
			"xdg_toplevel@%u already has a decoration object",
			wl_resource_get_id(toplevel_res));
		return;
	}
	wl_resource_set_implementation(res, &decoration_impl, toplevel,
				       decoration_resource_destroy);
	send_mode(res);
}

static const struct zxdg_decoration_manager_v1_interface manager_impl = {
	.destroy = manager_destroy,
	.get_toplevel_decoration = manager_get_toplevel_decoration,
};

static void manager_bind(struct wl_client *client, void *data,
			 uint32_t version, uint32_t id)
{
	struct wl_resource *res = wl_resource_create(client,
		&zxdg_decoration_manager_v1_interface, version, id);

	if (res == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(res, &manager_impl, data, NULL);
}

bool ga_decoration_init(struct ga_server *server)
{
	return wl_global_create(server->display,
				&zxdg_decoration_manager_v1_interface, 1,
				server, manager_bind) != NULL;
}
