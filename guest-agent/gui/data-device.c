/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "data-device.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib-unix.h>
#include <wayland-server-protocol.h>

#include "gui-proto.h"
#include "host-link.h"
#include "server.h"

#define MANAGER_VERSION 3
#define MAX_MIME_TYPES 64
#define MAX_MIME_LEN 256
/* an app that does not answer a read of its selection in this time is
 * taken to have none */
#define READ_TIMEOUT_MS 2000

/* text types, best first; the host's text is offered as all of them */
static const char *const text_types[] = {
	"text/plain;charset=utf-8", "UTF8_STRING", "text/plain", "TEXT",
	"STRING",
};
#define N_HOST_TYPES 4

struct data_source {
	struct wl_resource *resource;
	struct ga_data_device_manager *mgr;
	GPtrArray *mime_types;
};

/* an offer of the selection of one generation; stale once it changed */
struct data_offer {
	struct ga_data_device_manager *mgr;
	uint64_t generation;
};

/* the host's text, written to an app's pipe */
struct writer {
	struct ga_data_device_manager *mgr;
	int fd;
	GBytes *data;
	size_t off;
	guint watch;
};

/* the selection, read from its owner for the host */
struct reader {
	int fd;
	GByteArray *buf;
	guint watch, timeout;
};

struct ga_data_device_manager {
	struct ga_server *server;
	struct wl_global *global;
	struct wl_list devices;                 /* wl_data_device links */
	uint64_t generation;
	struct data_source *source;             /* an app's selection */
	GBytes *host_text;                      /* or the host's */
	GList *writers;
	struct reader *reader;
	unsigned requests;                      /* awaiting CLIPBOARD_DATA */
};

static const struct wl_data_source_interface source_impl;
static const struct wl_data_offer_interface offer_impl;
static const struct wl_data_device_interface device_impl;

static struct data_source *source_from_resource(struct wl_resource *res)
{
	assert(wl_resource_instance_of(res, &wl_data_source_interface,
				       &source_impl));
	return wl_resource_get_user_data(res);
}

/* ---- writing the host's text to an app ---- */

static void writer_free(struct writer *w)
{
	if (w->watch)
		g_source_remove(w->watch);
	close(w->fd);
	g_bytes_unref(w->data);
	w->mgr->writers = g_list_remove(w->mgr->writers, w);
	g_free(w);
}

static gboolean on_writer_ready(gint fd, GIOCondition cond, gpointer data)
{
	struct writer *w = data;
	gsize len;
	const uint8_t *p = g_bytes_get_data(w->data, &len);

	while (w->off < len) {
		ssize_t n = write(fd, p + w->off, len - w->off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return G_SOURCE_CONTINUE;
		if (n <= 0)
			break; /* the reader went away: its loss */
		w->off += (size_t)n;
	}
	w->watch = 0;
	writer_free(w);
	return G_SOURCE_REMOVE;
}

static void write_host_text(struct ga_data_device_manager *mgr, int fd)
{
	struct writer *w = g_new0(struct writer, 1);

	w->mgr = mgr;
	w->fd = fd;
	w->data = g_bytes_ref(mgr->host_text);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	w->watch = g_unix_fd_add(fd, G_IO_OUT | G_IO_ERR | G_IO_HUP,
				 on_writer_ready, w);
	mgr->writers = g_list_prepend(mgr->writers, w);
}

/* ---- reading the selection for the host ---- */

static void answer_requests(struct ga_data_device_manager *mgr,
			    const uint8_t *data, size_t len)
{
	for (; mgr->requests > 0; mgr->requests--)
		ga_link_send(mgr->server->link, QM_GUI_CLIPBOARD_DATA, 0,
			     data, len, NULL, 0);
}

static void reader_free(struct reader *r)
{
	if (r == NULL)
		return;
	if (r->watch)
		g_source_remove(r->watch);
	if (r->timeout)
		g_source_remove(r->timeout);
	close(r->fd);
	g_byte_array_unref(r->buf);
	g_free(r);
}

static void reader_done(struct ga_data_device_manager *mgr)
{
	struct reader *r = mgr->reader;

	mgr->reader = NULL;
	answer_requests(mgr, r->buf->data, r->buf->len);
	reader_free(r);
}

static gboolean on_reader_timeout(gpointer data)
{
	struct ga_data_device_manager *mgr = data;

	g_message("clipboard: the selection owner did not finish in %d ms",
		  READ_TIMEOUT_MS);
	mgr->reader->timeout = 0;
	reader_done(mgr);
	return G_SOURCE_REMOVE;
}

static gboolean on_reader_ready(gint fd, GIOCondition cond, gpointer data)
{
	struct ga_data_device_manager *mgr = data;
	struct reader *r = mgr->reader;

	for (;;) {
		uint8_t chunk[16384];
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return G_SOURCE_CONTINUE;
		if (n <= 0)
			break;
		size_t room = QM_GUI_MAX_CLIPBOARD - r->buf->len;
		if ((size_t)n >= room) {
			/* capped: the rest is not read */
			g_byte_array_append(r->buf, chunk, (guint)room);
			g_message("clipboard: selection cut at %u bytes",
				  QM_GUI_MAX_CLIPBOARD);
			break;
		}
		g_byte_array_append(r->buf, chunk, (guint)n);
	}
	r->watch = 0;
	reader_done(mgr);
	return G_SOURCE_REMOVE;
}

static const char *text_type_of(struct data_source *src)
{
	for (size_t i = 0; i < G_N_ELEMENTS(text_types); i++)
		for (guint j = 0; j < src->mime_types->len; j++)
			if (strcmp(src->mime_types->pdata[j],
				   text_types[i]) == 0)
				return text_types[i];
	return NULL;
}

void ga_data_request_selection(struct ga_data_device_manager *mgr)
{
	mgr->requests++;
	if (mgr->reader != NULL)
		return; /* answered when the read in progress ends */
	if (mgr->host_text != NULL) {
		gsize len;
		const uint8_t *p = g_bytes_get_data(mgr->host_text, &len);
		answer_requests(mgr, p, len);
		return;
	}
	const char *type = mgr->source ? text_type_of(mgr->source) : NULL;
	int fds[2];
	if (type == NULL || pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
		answer_requests(mgr, NULL, 0);
		return;
	}
	wl_data_source_send_send(mgr->source->resource, type, fds[1]);
	close(fds[1]);
	struct reader *r = g_new0(struct reader, 1);
	r->fd = fds[0];
	r->buf = g_byte_array_new();
	r->watch = g_unix_fd_add(r->fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
				 on_reader_ready, mgr);
	r->timeout = g_timeout_add(READ_TIMEOUT_MS, on_reader_timeout, mgr);
	mgr->reader = r;
}

/* ---- offers ---- */

static struct data_offer *offer_from_resource(struct wl_resource *res)
{
	assert(wl_resource_instance_of(res, &wl_data_offer_interface,
				       &offer_impl));
	return wl_resource_get_user_data(res);
}

static void offer_accept(struct wl_client *client, struct wl_resource *res,
			 uint32_t serial, const char *mime_type)
{
}

static void offer_receive(struct wl_client *client, struct wl_resource *res,
			  const char *mime_type, int32_t fd)
{
	struct data_offer *offer = offer_from_resource(res);
	struct ga_data_device_manager *mgr = offer->mgr;

	if (mgr == NULL || offer->generation != mgr->generation) {
		close(fd); /* stale: the selection changed since */
		return;
	}
	if (mgr->source != NULL) {
		wl_data_source_send_send(mgr->source->resource, mime_type, fd);
		close(fd);
	} else if (mgr->host_text != NULL) {
		write_host_text(mgr, fd);
	} else {
		close(fd);
	}
}

static void offer_destroy(struct wl_client *client, struct wl_resource *res)
{
	wl_resource_destroy(res);
}

static void offer_finish(struct wl_client *client, struct wl_resource *res)
{
}

static void offer_set_actions(struct wl_client *client,
			      struct wl_resource *res, uint32_t actions,
			      uint32_t preferred)
{
}

static const struct wl_data_offer_interface offer_impl = {
	.accept = offer_accept,
	.receive = offer_receive,
	.destroy = offer_destroy,
	.finish = offer_finish,
	.set_actions = offer_set_actions,
};

static void offer_resource_destroy(struct wl_resource *res)
{
	g_free(offer_from_resource(res));
}

static void send_selection(struct ga_data_device_manager *mgr,
			   struct wl_resource *device)
{
	struct wl_client *client = wl_resource_get_client(device);

	if (mgr->source == NULL && mgr->host_text == NULL) {
		wl_data_device_send_selection(device, NULL);
		return;
	}
	struct wl_resource *res = wl_resource_create(client,
		&wl_data_offer_interface, wl_resource_get_version(device), 0);
	if (res == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	struct data_offer *offer = g_new0(struct data_offer, 1);
	offer->mgr = mgr;
	offer->generation = mgr->generation;
	wl_resource_set_implementation(res, &offer_impl, offer,
				       offer_resource_destroy);
	wl_data_device_send_data_offer(device, res);
	if (mgr->source != NULL) {
		for (guint i = 0; i < mgr->source->mime_types->len; i++)
			wl_data_offer_send_offer(res,
				mgr->source->mime_types->pdata[i]);
	} else {
		for (size_t i = 0; i < N_HOST_TYPES; i++)
			wl_data_offer_send_offer(res, text_types[i]);
	}
	wl_data_device_send_selection(device, res);
}

static void selection_changed(struct ga_data_device_manager *mgr)
{
	struct wl_resource *device;

	mgr->generation++;
	/* every app of the guest sees it: one compartment, one clipboard */
	wl_resource_for_each(device, &mgr->devices)
		send_selection(mgr, device);
}

static void drop_selection(struct ga_data_device_manager *mgr)
{
	if (mgr->source != NULL) {
		wl_data_source_send_cancelled(mgr->source->resource);
		mgr->source = NULL;
	}
	g_clear_pointer(&mgr->host_text, g_bytes_unref);
}

void ga_data_set_selection(struct ga_data_device_manager *mgr,
			   const uint8_t *text, size_t len)
{
	drop_selection(mgr);
	mgr->host_text = g_bytes_new(text, len);
	selection_changed(mgr);
}

/* ---- sources ---- */

static void source_offer(struct wl_client *client, struct wl_resource *res,
			 const char *mime_type)
{
	struct data_source *src = source_from_resource(res);

	if (src->mime_types->len >= MAX_MIME_TYPES ||
	    strlen(mime_type) > MAX_MIME_LEN)
		return; /* more than any app needs; ignored */
	g_ptr_array_add(src->mime_types, g_strdup(mime_type));
}

static void source_destroy(struct wl_client *client, struct wl_resource *res)
{
	wl_resource_destroy(res);
}

static void source_set_actions(struct wl_client *client,
			       struct wl_resource *res, uint32_t actions)
{
}

static const struct wl_data_source_interface source_impl = {
	.offer = source_offer,
	.destroy = source_destroy,
	.set_actions = source_set_actions,
};

static void source_resource_destroy(struct wl_resource *res)
{
	struct data_source *src = source_from_resource(res);

	if (src->mgr->source == src) {
		src->mgr->source = NULL;
		selection_changed(src->mgr);
	}
	g_ptr_array_unref(src->mime_types);
	g_free(src);
}

/* ---- devices ---- */

static void device_start_drag(struct wl_client *client,
			      struct wl_resource *res,
			      struct wl_resource *source_res,
			      struct wl_resource *origin,
			      struct wl_resource *icon, uint32_t serial)
{
	/* drag and drop is not supported: the drag ends at once */
	if (source_res != NULL)
		wl_data_source_send_cancelled(source_res);
}

static void device_set_selection(struct wl_client *client,
				 struct wl_resource *res,
				 struct wl_resource *source_res,
				 uint32_t serial)
{
	struct ga_data_device_manager *mgr = wl_resource_get_user_data(res);
	struct data_source *src = source_res ? source_from_resource(source_res)
					     : NULL;

	if (src != NULL && src == mgr->source)
		return;
	drop_selection(mgr);
	mgr->source = src;
	selection_changed(mgr);
}

static void device_release(struct wl_client *client, struct wl_resource *res)
{
	wl_resource_destroy(res);
}

static const struct wl_data_device_interface device_impl = {
	.start_drag = device_start_drag,
	.set_selection = device_set_selection,
	.release = device_release,
};

static void resource_unlink(struct wl_resource *res)
{
	wl_list_remove(wl_resource_get_link(res));
}

/* ---- manager ---- */

static void manager_create_data_source(struct wl_client *client,
				       struct wl_resource *res, uint32_t id)
{
	struct wl_resource *sres = wl_resource_create(client,
		&wl_data_source_interface, wl_resource_get_version(res), id);

	if (sres == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	struct data_source *src = g_new0(struct data_source, 1);
	src->resource = sres;
	src->mgr = wl_resource_get_user_data(res);
	src->mime_types = g_ptr_array_new_with_free_func(g_free);
	wl_resource_set_implementation(sres, &source_impl, src,
				       source_resource_destroy);
}

static void manager_get_data_device(struct wl_client *client,
				    struct wl_resource *res, uint32_t id,
				    struct wl_resource *seat)
{
	struct ga_data_device_manager *mgr = wl_resource_get_user_data(res);
	struct wl_resource *dres = wl_resource_create(client,
		&wl_data_device_interface, wl_resource_get_version(res), id);

	if (dres == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(dres, &device_impl, mgr,
				       resource_unlink);
	wl_list_insert(&mgr->devices, wl_resource_get_link(dres));
	/* A new device has no selection until one is set: an empty
	 * selection event at this point is not needed, and GTK 3 (Firefox)
	 * crashes on one that arrives while it opens its display. */
	if (mgr->source != NULL || mgr->host_text != NULL)
		send_selection(mgr, dres);
}

static const struct wl_data_device_manager_interface manager_impl = {
	.create_data_source = manager_create_data_source,
	.get_data_device = manager_get_data_device,
};

static void manager_bind(struct wl_client *client, void *data,
			 uint32_t version, uint32_t id)
{
	struct wl_resource *res = wl_resource_create(client,
		&wl_data_device_manager_interface, version, id);

	if (res == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(res, &manager_impl, data, NULL);
}

struct ga_data_device_manager *ga_data_device_manager_create(
	struct ga_server *server)
{
	struct ga_data_device_manager *mgr =
		g_new0(struct ga_data_device_manager, 1);

	mgr->server = server;
	wl_list_init(&mgr->devices);
	mgr->global = wl_global_create(server->display,
				       &wl_data_device_manager_interface,
				       MANAGER_VERSION, mgr, manager_bind);
	if (mgr->global == NULL) {
		g_free(mgr);
		return NULL;
	}
	return mgr;
}

void ga_data_device_manager_destroy(struct ga_data_device_manager *mgr)
{
	if (mgr == NULL)
		return;
	/* after the clients: sources, offers and devices are gone */
	while (mgr->writers != NULL)
		writer_free(mgr->writers->data);
	reader_free(mgr->reader);
	if (mgr->host_text != NULL)
		g_bytes_unref(mgr->host_text);
	wl_global_destroy(mgr->global);
	g_free(mgr);
}
