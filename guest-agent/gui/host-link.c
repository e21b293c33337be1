/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "host-link.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib-unix.h>

/* Written once below this many queued bytes again, the owner is told. */
#define DRAIN_MARK GA_LINK_HIGH_WATER
#define READ_CHUNK 65536

struct ga_link {
	int fd;                 /* -1: no host connected */
	const struct ga_link_handler *handler;
	void *data;
	guint in_watch, out_watch;
	GByteArray *in;
	GByteArray *out;
	size_t out_off;         /* bytes of `out` already written */
	bool hello_seen;
	uint32_t version;       /* spoken: the lower of both; 1 before the
				   host's HELLO */
	bool host_shm;          /* HELLO: version 3 with QM_GUI_HELLO_SHM */
	bool dead;              /* no fd, or it failed: nothing is sent */
	bool was_full;
	/* the owner hears of a failure from an idle callback, never inside
	 * one of its own calls (it may be walking its windows) */
	guint closed_idle;
	char *closed_why;
	bool closed_violation;
};

static void detach(struct ga_link *link)
{
	if (link->in_watch) {
		g_source_remove(link->in_watch);
		link->in_watch = 0;
	}
	if (link->out_watch) {
		g_source_remove(link->out_watch);
		link->out_watch = 0;
	}
	if (link->fd >= 0)
		close(link->fd);
	link->fd = -1;
	link->dead = true;
	link->hello_seen = false;
	link->version = QM_GUI_VERSION_1;
	link->host_shm = false;
	link->was_full = false;
	g_byte_array_set_size(link->in, 0);
	g_byte_array_set_size(link->out, 0);
	link->out_off = 0;
}

static gboolean notify_closed(gpointer data)
{
	struct ga_link *link = data;
	g_autofree char *why = g_steal_pointer(&link->closed_why);

	link->closed_idle = 0;
	link->handler->closed(why, link->closed_violation, link->data);
	return G_SOURCE_REMOVE;
}

static void link_fail(struct ga_link *link, const char *why, bool violation)
{
	if (link->dead)
		return;
	detach(link);
	g_free(link->closed_why);
	link->closed_why = g_strdup(why);
	link->closed_violation = violation;
	if (link->closed_idle == 0)
		link->closed_idle = g_idle_add(notify_closed, link);
}

bool ga_link_connected(const struct ga_link *link)
{
	return !link->dead;
}

size_t ga_link_queued(const struct ga_link *link)
{
	return link->out->len - link->out_off;
}

bool ga_link_ready(const struct ga_link *link)
{
	return link->hello_seen;
}

uint32_t ga_link_version(const struct ga_link *link)
{
	return link->version;
}

bool ga_link_host_shm(const struct ga_link *link)
{
	return link->host_shm;
}

static gboolean on_writable(gint fd, GIOCondition cond, gpointer data);

/* Writes what the fd takes now; arms a writability watch for the rest.
 * Only the watch (notify) tells the owner of a drain, so that no owner
 * callback runs inside one of its own ga_link_send() calls. */
static void flush_out(struct ga_link *link, bool notify)
{
	while (!link->dead && ga_link_queued(link) > 0) {
		ssize_t n = write(link->fd, link->out->data + link->out_off,
				  ga_link_queued(link));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			g_autofree char *why = g_strdup_printf(
				"write to the host: %s",
				n < 0 ? g_strerror(errno) : "nothing written");
			link_fail(link, why, false);
			return;
		}
		link->out_off += (size_t)n;
	}
	if (link->dead)
		return;
	if (ga_link_queued(link) == 0) {
		g_byte_array_set_size(link->out, 0);
		link->out_off = 0;
	} else if (link->out_off > link->out->len / 2) {
		/* compact once the written part dominates: amortised O(1) */
		g_byte_array_remove_range(link->out, 0, (guint)link->out_off);
		link->out_off = 0;
	}
	if (ga_link_queued(link) > 0 && link->out_watch == 0)
		link->out_watch = g_unix_fd_add(link->fd, G_IO_OUT,
						on_writable, link);
	if (notify && link->was_full && ga_link_queued(link) < DRAIN_MARK) {
		link->was_full = false;
		link->handler->drained(link->data);
	}
}

static gboolean on_writable(gint fd, GIOCondition cond, gpointer data)
{
	struct ga_link *link = data;

	link->out_watch = 0;
	flush_out(link, true);
	return G_SOURCE_REMOVE;
}

uint8_t *ga_link_reserve(struct ga_link *link, uint32_t type,
			 uint32_t window, size_t len)
{
	g_assert(len <= QM_GUI_PAYLOAD_MAX);
	if (link->dead) {
		/* nobody to send to: the caller fills a message that is
		 * dropped at once (state is sent again on reconnection) */
		g_byte_array_set_size(link->out, 0);
		link->out_off = 0;
	}
	guint at = link->out->len;
	g_byte_array_set_size(link->out, at + QM_GUI_HEADER_SIZE + (guint)len);
	uint8_t *h = link->out->data + at;
	ga_put32(h, QM_GUI_MAGIC);
	ga_put32(h + 4, type);
	ga_put32(h + 8, window);
	ga_put32(h + 12, (uint32_t)len);
	if (ga_link_queued(link) >= DRAIN_MARK)
		link->was_full = true;
	return h + QM_GUI_HEADER_SIZE;
}

void ga_link_send(struct ga_link *link, uint32_t type, uint32_t window,
		  const void *a, size_t alen, const void *b, size_t blen)
{
	if (link->dead)
		return;
	uint8_t *p = ga_link_reserve(link, type, window, alen + blen);
	if (alen)
		memcpy(p, a, alen);
	if (blen)
		memcpy(p + alen, b, blen);
	/* written at once where possible: the queue stays short and input
	 * events are answered without a trip through the main loop */
	flush_out(link, false);
}

void ga_link_flush(struct ga_link *link)
{
	if (!link->dead)
		flush_out(link, false);
	else
		g_byte_array_set_size(link->out, 0);
}

static void handle_input(struct ga_link *link)
{
	size_t off = 0;

	while (!link->dead) {
		struct ga_host_msg msg;
		size_t used = 0;
		const char *why = NULL;
		enum ga_decode_status st = ga_host_decode(
			link->in->data + off, link->in->len - off,
			link->hello_seen, &msg, &used, &why);
		if (st == GA_DECODE_INCOMPLETE)
			break;
		if (st == GA_DECODE_INVALID) {
			g_autofree char *m = g_strdup_printf(
				"protocol violation from the host: %s", why);
			link_fail(link, m, true);
			return;
		}
		off += used;
		if (msg.type == QM_GUI_HELLO) {
			link->hello_seen = true;
			link->version = MIN(msg.u.hello.version,
					    (uint32_t)QM_GUI_VERSION);
			link->host_shm =
				link->version >= QM_GUI_VERSION_3 &&
				(msg.u.hello.flags & QM_GUI_HELLO_SHM);
			g_debug("host speaks version %u%s", msg.u.hello.version,
				link->host_shm ? ", shared region" : "");
			continue;
		}
		link->handler->message(&msg, link->data);
	}
	if (!link->dead && off > 0)
		g_byte_array_remove_range(link->in, 0, (guint)off);
}

static gboolean on_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct ga_link *link = data;

	for (;;) {
		guint at = link->in->len;
		g_byte_array_set_size(link->in, at + READ_CHUNK);
		ssize_t n = read(fd, link->in->data + at, READ_CHUNK);
		g_byte_array_set_size(link->in, at + (n > 0 ? (guint)n : 0));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			g_autofree char *why = g_strdup_printf(
				"read from the host: %s",
				n < 0 ? g_strerror(errno) : "end of stream");
			link->in_watch = 0; /* removed by returning */
			link_fail(link, why, false);
			return G_SOURCE_REMOVE;
		}
		handle_input(link);
		if (link->dead)
			return G_SOURCE_CONTINUE; /* detach() removed it */
	}
	return G_SOURCE_CONTINUE;
}

struct ga_link *ga_link_create(const struct ga_link_handler *handler,
			       void *data)
{
	struct ga_link *link = g_new0(struct ga_link, 1);

	link->fd = -1;
	link->dead = true;
	link->handler = handler;
	link->data = data;
	link->in = g_byte_array_new();
	link->out = g_byte_array_new();
	return link;
}

void ga_link_attach(struct ga_link *link, int fd)
{
	int fl = fcntl(fd, F_GETFL);

	detach(link);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	link->fd = fd;
	link->dead = false;
	link->in_watch = g_unix_fd_add(fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
				       on_readable, link);

	uint8_t hello[8];
	ga_put32(hello, QM_GUI_VERSION);
	ga_put32(hello + 4, 0);
	ga_link_send(link, QM_GUI_HELLO, 0, hello, sizeof(hello), NULL, 0);
}

void ga_link_destroy(struct ga_link *link)
{
	if (link == NULL)
		return;
	detach(link);
	if (link->closed_idle)
		g_source_remove(link->closed_idle);
	g_free(link->closed_why);
	g_byte_array_unref(link->in);
	g_byte_array_unref(link->out);
	g_free(link);
}
