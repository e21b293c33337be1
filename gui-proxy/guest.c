/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One guest's GUI channel: connecting (and reconnecting with backoff),
 * reading its messages through the decoder, acting on the checked ones,
 * and queueing the host's messages towards it.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib-unix.h>

#include "proxy.h"

#define READ_CHUNK (256u << 10)
/* Bytes read from one guest before the main loop serves the others and
 * the compositor again: a busy guest cannot starve them. */
#define READ_BUDGET (4u << 20)
#define BACKOFF_MIN_MS 100u
#define BACKOFF_MAX_MS 2000u

static void guest_connect(struct gp_guest *g);

struct gp_guest *gp_guest_create(struct gp_display *dpy,
				 const struct gp_guest_config *cfg)
{
	struct gp_guest *g = g_new0(struct gp_guest, 1);

	g->dpy = dpy;
	g->cfg.name = g_strdup(cfg->name);
	g->cfg.color = cfg->color;
	g->cfg.socket_path = g_strdup(cfg->socket_path);
	g->cfg.shm_path = g_strdup(cfg->shm_path);
	g->fd = -1;
	g->backoff_ms = BACKOFF_MIN_MS;
	g->windows = g_hash_table_new(g_direct_hash, g_direct_equal);
	g->out = g_byte_array_new();
	g->inbuf = g_malloc(READ_CHUNK);
	return g;
}

static void close_windows(struct gp_guest *g)
{
	GHashTableIter it;
	gpointer value;

	/* Off screen first, with the table intact: a window takes its
	 * popups down before itself (xdg-shell wants the topmost first). */
	g_hash_table_iter_init(&it, g->windows);
	while (g_hash_table_iter_next(&it, NULL, &value))
		gp_window_destroy_host(value);
	g_hash_table_iter_init(&it, g->windows);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		g_hash_table_iter_remove(&it);
		gp_window_destroy(value);
	}
}

static void close_channel(struct gp_guest *g)
{
	if (g->in_watch)
		g_source_remove(g->in_watch);
	if (g->out_watch)
		g_source_remove(g->out_watch);
	g->in_watch = g->out_watch = 0;
	if (g->fd >= 0)
		close(g->fd);
	g->fd = -1;
	g_byte_array_set_size(g->out, 0);
	close_windows(g);
	/* the next session's windows are new */
	g_clear_pointer(&g->cursor.pixels, g_free);
	g->cursor.window = 0;
	g->cursor.gen++;
	g_clear_pointer(&g->decoder, gp_decoder_destroy);
	g_clear_pointer(&g->pool, wl_shm_pool_destroy);
	g_clear_pointer(&g->region, gp_region_destroy);
}

void gp_guest_destroy(struct gp_guest *g)
{
	if (!g)
		return;
	if (g->dpy->cursor_guest == g)
		g->dpy->cursor_guest = NULL;
	close_channel(g);
	if (g->retry_id)
		g_source_remove(g->retry_id);
	g_hash_table_destroy(g->windows);
	g_byte_array_free(g->out, TRUE);
	g_free(g->inbuf);
	gp_guest_config_finish(&g->cfg);
	g_free(g);
}

static gboolean retry_cb(gpointer data)
{
	struct gp_guest *g = data;

	g->retry_id = 0;
	guest_connect(g);
	return G_SOURCE_REMOVE;
}

static void schedule_retry(struct gp_guest *g)
{
	if (g->retry_id || g->disabled || !g->active)
		return;
	g->retry_id = g_timeout_add(g->backoff_ms, retry_cb, g);
	g->backoff_ms = MIN(g->backoff_ms * 2, BACKOFF_MAX_MS);
}

void gp_guest_disconnect(struct gp_guest *g, bool violation, const char *why)
{
	if (g->fd < 0)
		return;
	if (violation) {
		/* Fail closed: a guest that broke the protocol stays
		 * disconnected until the proxy is restarted. */
		g_warning("guest '%s' violated the GUI protocol: %s; its "
			  "windows are closed and it is disconnected",
			  g->cfg.name, why);
		g->disabled = true;
		gp_notify_guest_dropped(g->dpy->notify, g->cfg.name, why);
	} else {
		g_message("guest '%s': %s; reconnecting", g->cfg.name, why);
	}
	close_channel(g);
	schedule_retry(g);
}

/* ---- writing ---- */

static gboolean out_ready(gint fd, GIOCondition cond, gpointer data);

static bool flush_out(struct gp_guest *g)
{
	while (g->out->len) {
		ssize_t n = send(g->fd, g->out->data, g->out->len,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			g_autofree char *why = g_strdup_printf(
				"write failed: %s", g_strerror(errno));
			gp_guest_disconnect(g, false, why);
			return false;
		}
		g_byte_array_remove_range(g->out, 0, (guint)n);
	}
	if (g->out->len && !g->out_watch)
		g->out_watch = g_unix_fd_add(g->fd, G_IO_OUT, out_ready, g);
	return true;
}

static gboolean out_ready(gint fd, GIOCondition cond, gpointer data)
{
	struct gp_guest *g = data;

	g->out_watch = 0;
	flush_out(g);
	return G_SOURCE_REMOVE;
}

void gp_guest_send(struct gp_guest *g, enum qm_gui_msg type, uint32_t window,
		   const void *payload, size_t len)
{
	struct qm_gui_header h = {
		.magic = GUINT32_TO_LE(QM_GUI_MAGIC),
		.type = GUINT32_TO_LE(type),
		.window = GUINT32_TO_LE(window),
		.length = GUINT32_TO_LE((uint32_t)len),
	};

	if (g->fd < 0)
		return;
	if (g->out->len + sizeof(h) + len > GP_MAX_OUTQUEUE) {
		gp_guest_disconnect(g, false, "it does not read its messages");
		return;
	}
	/* Payload structs are all uint32_t fields: on a little-endian
	 * host they are already in wire order. */
	G_STATIC_ASSERT(G_BYTE_ORDER == G_LITTLE_ENDIAN);
	g_byte_array_append(g->out, (const guint8 *)&h, sizeof(h));
	if (len)
		g_byte_array_append(g->out, payload, (guint)len);
	if (!g->out_watch)
		flush_out(g);
}

void gp_guest_send_keymap(struct gp_guest *g)
{
	if (g->fd >= 0 && g->dpy->keymap)
		gp_guest_send(g, QM_GUI_KEYMAP, 0, g->dpy->keymap,
			      g->dpy->keymap_size);
}

/* ---- reading ---- */

/* Acts on one checked message; the guest may be disconnected after it
 * (a write failed, memory ran out). */
static void handle(struct gp_guest *g, const struct gp_guest_msg *m)
{
	struct gp_window *w = g_hash_table_lookup(g->windows,
						  GUINT_TO_POINTER(m->window));

	switch (m->type) {
	case QM_GUI_HELLO:
		g->backoff_ms = BACKOFF_MIN_MS;
		g_message("guest '%s' connected (protocol version %u%s)",
			  g->cfg.name, m->hello.version,
			  g->region && m->hello.version >= QM_GUI_VERSION_3 ?
			  ", shared region" : "");
		break;
	case QM_GUI_CREATE:
		w = gp_window_create(g, m->window, m);
		if (!w) {
			gp_guest_disconnect(g, false, "cannot create a window");
			break;
		}
		g_hash_table_insert(g->windows, GUINT_TO_POINTER(m->window), w);
		break;
	case QM_GUI_DESTROY: {
		bool released;

		/* Its popups leave the screen with it (destroy_host); their
		 * ids stay in use until the guest destroys them too. */
		gp_window_destroy_host(w);
		g_hash_table_remove(g->windows, GUINT_TO_POINTER(m->window));
		gp_window_destroy(w);
		if (g->cursor.window == m->window)
			g->cursor.window = 0;   /* the id may come again */
		released = gp_decoder_window_release(g->decoder, m->window);
		g_assert(released);
		gp_guest_send(g, QM_GUI_DESTROYED, m->window, NULL, 0);
		break;
	}
	case QM_GUI_TITLE:
		gp_window_set_title(w, m->title.text);
		break;
	case QM_GUI_APP_ID:
		gp_window_set_app_id(w, m->app_id.text);
		break;
	case QM_GUI_BUFFER_SIZE:
		if (!gp_window_resize(w, m->size.width, m->size.height))
			gp_guest_disconnect(g, false, "out of memory");
		break;
	case QM_GUI_DAMAGE:
		gp_window_damage(w, m);
		break;
	case QM_GUI_COMMIT:
		gp_window_commit(w);
		break;
	case QM_GUI_REQUEST_STATES:
		gp_window_request_states(w, m->states.states);
		break;
	case QM_GUI_CURSOR:
		/* Checked by the decoder: 0x0, or 1..256 square with the
		 * hotspot inside and w * h * 4 bytes of pixels. */
		g_free(g->cursor.pixels);
		g->cursor.pixels = g_memdup2(m->cursor.pixels,
			(size_t)m->cursor.width * m->cursor.height * 4);
		g->cursor.window = m->window;
		g->cursor.width = m->cursor.width;
		g->cursor.height = m->cursor.height;
		g->cursor.hot_x = m->cursor.hot_x;
		g->cursor.hot_y = m->cursor.hot_y;
		g->cursor.gen++;
		if (g->dpy->ptr_focus && g->dpy->ptr_focus->guest == g)
			gp_display_update_cursor(g->dpy);
		break;
	case QM_GUI_CLIPBOARD_DATA:
		/* Only ever in answer to the user's Ctrl-Shift-C. */
		gp_clipboard_received(g, m->clipboard.data, m->clipboard.len);
		break;
	case QM_GUI_SHM_BUFFER:
		gp_window_shm_buffer(w, m);
		break;
	default:
		g_assert_not_reached();
	}
}

static gboolean in_ready(gint fd, GIOCondition cond, gpointer data)
{
	struct gp_guest *g = data;
	size_t total = 0;

	while (total < READ_BUDGET) {
		ssize_t n = recv(g->fd, g->inbuf, READ_CHUNK, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return G_SOURCE_CONTINUE;
		if (n <= 0) {
			g_autofree char *why = n == 0 ?
				g_strdup("connection closed") :
				g_strdup_printf("read failed: %s",
						g_strerror(errno));
			g->in_watch = 0;
			gp_guest_disconnect(g, false, why);
			return G_SOURCE_REMOVE;
		}
		total += (size_t)n;
		for (size_t off = 0; off < (size_t)n;) {
			struct gp_guest_msg m;
			size_t used;
			enum gp_decode_status st = gp_decoder_feed(
				g->decoder, g->inbuf + off, (size_t)n - off,
				&used, &m);

			off += used;
			if (st == GP_DECODE_NEED_MORE)
				break;
			if (st == GP_DECODE_VIOLATION) {
				g_autofree char *why = g_strdup(
					gp_decoder_violation(g->decoder));
				g->in_watch = 0;
				gp_guest_disconnect(g, true, why);
				return G_SOURCE_REMOVE;
			}
			handle(g, &m);
			/* Closed meanwhile: closing removed this watch. */
			if (g->fd < 0)
				return G_SOURCE_REMOVE;
		}
	}
	return G_SOURCE_CONTINUE;
}

/* The shared region, opened afresh for each connection (QEMU makes its
 * file anew at each start of the qube).  Without it the pixels come
 * through the channel. */
static bool shm_open_region(struct gp_guest *g)
{
	g_autoptr(GError) err = NULL;

	if (!g->cfg.shm_path || !g->dpy->shm)
		return false;
	g->region = gp_region_open(g->cfg.shm_path, &err);
	if (!g->region) {
		g_warning("guest '%s': %s; its pixels come through the channel",
			  g->cfg.name, err->message);
		return false;
	}
	g->pool = gp_region_pool(g->region, g->dpy->shm);
	gp_decoder_set_shm(g->decoder, g->region->size);
	return true;
}

void gp_guest_set_shm(struct gp_guest *g, const char *path)
{
	/* Taken at the next connection. */
	g_free(g->cfg.shm_path);
	g->cfg.shm_path = path && *path ? g_strdup(path) : NULL;
}

static void guest_connect(struct gp_guest *g)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct qm_gui_hello hello = { QM_GUI_VERSION, 0 };

	if (strlen(g->cfg.socket_path) >= sizeof(addr.sun_path)) {
		g_warning("guest '%s': socket path too long", g->cfg.name);
		return;
	}
	strcpy(addr.sun_path, g->cfg.socket_path);
	g->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (g->fd < 0 ||
	    connect(g->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		g_debug("guest '%s': cannot connect to %s: %s", g->cfg.name,
			g->cfg.socket_path, g_strerror(errno));
		if (g->fd >= 0)
			close(g->fd);
		g->fd = -1;
		schedule_retry(g);
		return;
	}
	g->decoder = gp_decoder_create();
	if (shm_open_region(g))
		hello.flags |= QM_GUI_HELLO_SHM;
	g->in_watch = g_unix_fd_add(g->fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
				    in_ready, g);
	gp_guest_send(g, QM_GUI_HELLO, 0, &hello, sizeof(hello));
	gp_guest_send_keymap(g);
}

void gp_guest_start(struct gp_guest *g, bool now)
{
	bool was_active = g->active;

	g->active = true;
	if (g->fd >= 0 || g->disabled || (was_active && !now))
		return;
	if (g->retry_id)
		g_source_remove(g->retry_id);
	g->retry_id = 0;
	g->backoff_ms = BACKOFF_MIN_MS;
	guest_connect(g);
}

void gp_guest_stop(struct gp_guest *g)
{
	/* A qube that stopped starts afresh: one that broke the protocol
	 * before is shown again after its restart. */
	g->disabled = false;
	if (!g->active)
		return;
	g->active = false;
	if (g->retry_id)
		g_source_remove(g->retry_id);
	g->retry_id = 0;
	if (g->fd >= 0)
		g_message("guest '%s' stopped; its windows are closed",
			  g->cfg.name);
	close_channel(g);
}

void gp_guest_set_color(struct gp_guest *g, uint32_t rgb)
{
	GHashTableIter it;
	gpointer value;

	if (g->cfg.color == rgb)
		return;
	g->cfg.color = rgb;
	g_hash_table_iter_init(&it, g->windows);
	while (g_hash_table_iter_next(&it, NULL, &value))
		gp_window_recolor(value);
}

void gp_guest_set_allow_fullscreen(struct gp_guest *g, bool allow)
{
	GHashTableIter it;
	gpointer value;

	if (g->allow_fullscreen == allow)
		return;
	g->allow_fullscreen = allow;
	g_message("guest '%s': fullscreen %s", g->cfg.name,
		  allow ? "allowed" : "not allowed");
	if (allow)
		return;         /* later requests go through */
	g_hash_table_iter_init(&it, g->windows);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct gp_window *w = value;

		if (w->fullscreen_set)
			gp_window_apply_states(w);
	}
}

void gp_guest_display_lost(struct gp_guest *g)
{
	struct gp_display *dpy = g->dpy;
	/* popups to close: id, and whether a FRAME_DONE is owed */
	g_autoptr(GArray) popups = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	g_autoptr(GArray) owed = g_array_new(FALSE, FALSE, sizeof(gboolean));
	GHashTableIter it;
	gpointer value;

	/* Input left with the compositor. */
	if (dpy->kbd_focus && dpy->kbd_focus->guest == g) {
		uint32_t id = dpy->kbd_focus->id;

		dpy->kbd_focus = NULL;
		gp_guest_send(g, QM_GUI_FOCUS_OUT, id, NULL, 0);
	}
	if (g->fd >= 0 && dpy->ptr_focus && dpy->ptr_focus->guest == g) {
		uint32_t id = dpy->ptr_focus->id;

		dpy->ptr_focus = NULL;
		gp_guest_send(g, QM_GUI_POINTER_LEAVE, id, NULL, 0);
	}
	/* Off screen with the table intact (children before parents is
	 * not needed: the compositor's objects are all dead). */
	g_hash_table_iter_init(&it, g->windows);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct gp_window *w = value;

		if (w->popup && !w->off_screen) {
			gboolean o = w->frame_done_owed || w->frame_done_next;

			g_array_append_val(popups, w->id);
			g_array_append_val(owed, o);
		}
		gp_window_host_lost(w);
	}
	/* The shared region's pool was that compositor's (its buffers went
	 * with the windows' hosts); the next one gets a pool of its own. */
	g_clear_pointer(&g->pool, wl_shm_pool_destroy);
	/* The guest's apps close the popups the compositor took away, and
	 * their last frame is answered (the guest may be dropped by a send:
	 * then its windows are gone). */
	for (guint i = 0; i < popups->len && g->fd >= 0; i++) {
		uint32_t id = g_array_index(popups, uint32_t, i);

		if (g_array_index(owed, gboolean, i))
			gp_guest_send(g, QM_GUI_FRAME_DONE, id, NULL, 0);
		if (g->fd >= 0)
			gp_guest_send(g, QM_GUI_CLOSE, id, NULL, 0);
	}
}

void gp_guest_display_restored(struct gp_guest *g)
{
	GHashTableIter it;
	gpointer value;

	if (g->region && !g->pool)
		g->pool = gp_region_pool(g->region, g->dpy->shm);
	g_hash_table_iter_init(&it, g->windows);
	while (g_hash_table_iter_next(&it, NULL, &value))
		gp_window_host_restore(value);
}
