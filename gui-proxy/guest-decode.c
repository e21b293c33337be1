/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Decoding and checking of guest -> host GUI messages (guest-decode.h).
 *
 * Order of checks per message, all before anything is used: the header
 * (magic; a type a guest may send in version 1; HELLO first and once; the
 * window id against the window table; the payload length, exact for fixed
 * messages, bounded for variable ones) as soon as its 16 bytes are in,
 * before any payload is buffered; then the payload's fields, with every
 * size computed in 64 bits against the window's real buffer size.
 */
#include <string.h>
#include <glib.h>

#include "guest-decode.h"
#include "guest-decode-shm.h"
#include "text-sanitize.h"

struct gp_decoder {
	GHashTable *windows;            /* id -> struct gp_window_info */
	uint64_t buffer_bytes;          /* live windows' w * h * 4 */
	bool hello_seen;
	uint32_t version;               /* spoken: the lower of both */
	struct gp_decode_shm *shm;      /* NULL: no shared region */
	unsigned int clipboard_expected;
	char *violation;

	/* framing: the header being read, then its payload */
	uint8_t header[QM_GUI_HEADER_SIZE];
	size_t header_len;
	bool have_header;               /* header complete and checked */
	struct qm_gui_header hdr;
	uint8_t *payload;               /* only for payloads split across feeds */
	size_t payload_cap, payload_len;

	char *text;                     /* the last sanitized string */
};

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static int32_t get_i32(const uint8_t *p)
{
	return (int32_t)get_u32(p);
}

static const char *type_name(uint32_t type)
{
	switch (type) {
	case QM_GUI_HELLO: return "HELLO";
	case QM_GUI_CREATE: return "CREATE";
	case QM_GUI_DESTROY: return "DESTROY";
	case QM_GUI_TITLE: return "TITLE";
	case QM_GUI_APP_ID: return "APP_ID";
	case QM_GUI_BUFFER_SIZE: return "BUFFER_SIZE";
	case QM_GUI_DAMAGE: return "DAMAGE";
	case QM_GUI_COMMIT: return "COMMIT";
	case QM_GUI_REQUEST_STATES: return "REQUEST_STATES";
	case QM_GUI_CURSOR: return "CURSOR";
	case QM_GUI_CLIPBOARD_DATA: return "CLIPBOARD_DATA";
	case QM_GUI_SHM_BUFFER: return "SHM_BUFFER";
	default: return NULL;
	}
}

G_GNUC_PRINTF(2, 3)
static enum gp_decode_status violate(struct gp_decoder *d, const char *fmt,
				     ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_autofree char *why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (d->have_header || d->header_len == QM_GUI_HEADER_SIZE) {
		const char *name = type_name(d->hdr.type);
		d->violation = name ?
			g_strdup_printf("%s (window %u): %s", name,
					d->hdr.window, why) :
			g_strdup_printf("%s", why);
	} else {
		d->violation = g_steal_pointer(&why);
	}
	return GP_DECODE_VIOLATION;
}

struct gp_decoder *gp_decoder_create(void)
{
	struct gp_decoder *d = g_new0(struct gp_decoder, 1);

	d->windows = g_hash_table_new_full(g_direct_hash, g_direct_equal,
					   NULL, g_free);
	return d;
}

void gp_decoder_destroy(struct gp_decoder *d)
{
	if (!d)
		return;
	g_hash_table_destroy(d->windows);
	gp_decode_shm_destroy(d->shm);
	g_free(d->violation);
	g_free(d->payload);
	g_free(d->text);
	g_free(d);
}

const char *gp_decoder_violation(const struct gp_decoder *d)
{
	return d->violation;
}

static struct gp_window_info *window_get(const struct gp_decoder *d,
					 uint32_t id)
{
	return g_hash_table_lookup(d->windows, GUINT_TO_POINTER(id));
}

const struct gp_window_info *gp_decoder_window(const struct gp_decoder *d,
					       uint32_t id)
{
	return window_get(d, id);
}

unsigned int gp_decoder_window_count(const struct gp_decoder *d)
{
	return g_hash_table_size(d->windows);
}

uint64_t gp_decoder_buffer_bytes(const struct gp_decoder *d)
{
	return d->buffer_bytes;
}

bool gp_decoder_window_release(struct gp_decoder *d, uint32_t id)
{
	struct gp_window_info *w = window_get(d, id);

	if (!w || !w->destroying)
		return false;
	g_hash_table_remove(d->windows, GUINT_TO_POINTER(id));
	return true;
}

void gp_decoder_set_shm(struct gp_decoder *d, uint64_t region_size)
{
	g_assert(!d->hello_seen && !d->shm);
	d->shm = gp_decode_shm_create(region_size);
}

bool gp_decoder_shm_release(struct gp_decoder *d, uint32_t window,
			    uint32_t offset)
{
	return d->shm && gp_decode_shm_release(d->shm, window, offset);
}

unsigned int gp_decoder_shm_held(const struct gp_decoder *d)
{
	return d->shm ? gp_decode_shm_held(d->shm) : 0;
}

uint32_t gp_decoder_version(const struct gp_decoder *d)
{
	return d->version;
}

void gp_decoder_expect_clipboard(struct gp_decoder *d)
{
	d->clipboard_expected++;
}

/* ---- sanitizers ---- */

/* A title is shown in the window list and the title bar after the
 * qube's "[vm]": the shared sanitizer leaves no trace of what it drops,
 * so nothing a guest sends can fake or hide that prefix. */
char *gp_sanitize_title(const uint8_t *untrusted, size_t len)
{
	return qm_text_sanitize((const char *)untrusted, (gssize)len,
				GP_MAX_TITLE_CHARS, QM_TEXT_DROP);
}

char *gp_sanitize_app_id(const uint8_t *untrusted, size_t len)
{
	GString *s = g_string_sized_new(GP_MAX_APP_ID_CHARS + 1);

	for (size_t i = 0; i < len && s->len < GP_MAX_APP_ID_CHARS; i++) {
		uint8_t c = untrusted[i];

		if (g_ascii_isalnum(c) || c == '.' || c == '_' || c == '-')
			g_string_append_c(s, (char)c);
	}
	if (s->len == 0)
		g_string_assign(s, "unknown");
	return g_string_free(s, FALSE);
}

/* ---- header ---- */

static bool size_ok(uint32_t w, uint32_t h)
{
	return w >= 1 && w <= QM_GUI_MAX_WIDTH && h >= 1 &&
	       h <= QM_GUI_MAX_HEIGHT;
}

static uint64_t buffer_bytes(uint32_t w, uint32_t h)
{
	return (uint64_t)w * h * 4;
}

static enum gp_decode_status check_header(struct gp_decoder *d)
{
	const struct qm_gui_header *h = &d->hdr;
	const struct gp_window_info *w = NULL;
	uint64_t max;

	if (h->magic != QM_GUI_MAGIC)
		return violate(d, "bad magic 0x%08x", h->magic);
	if (!type_name(h->type) ||
	    (h->type == QM_GUI_SHM_BUFFER && d->version < QM_GUI_VERSION_3))
		return violate(d, "message type %u is not one a guest sends "
			       "in version %u", h->type,
			       d->hello_seen ? d->version : QM_GUI_VERSION_1);
	if (h->type == QM_GUI_SHM_BUFFER && !d->shm)
		return violate(d, "no shared region was offered");
	if (!d->hello_seen && h->type != QM_GUI_HELLO)
		return violate(d, "the first message must be HELLO");
	if (d->hello_seen && h->type == QM_GUI_HELLO)
		return violate(d, "HELLO sent twice");

	/* The window id, before the length: DAMAGE's bound needs it. */
	switch (h->type) {
	case QM_GUI_HELLO:
	case QM_GUI_CLIPBOARD_DATA:
		if (h->window != 0)
			return violate(d, "must be sent for window 0");
		break;
	case QM_GUI_CREATE:
		if (h->window == 0)
			return violate(d, "window id 0 is reserved");
		w = window_get(d, h->window);
		if (w && w->destroying)
			return violate(d, "id reused before DESTROYED");
		if (w)
			return violate(d, "id already in use");
		if (gp_decoder_window_count(d) >= QM_GUI_MAX_WINDOWS)
			return violate(d, "more than %u windows",
				       QM_GUI_MAX_WINDOWS);
		break;
	default:
		w = window_get(d, h->window);
		if (!w)
			return violate(d, "unknown window");
		if (w->destroying)
			return violate(d, "window already destroyed");
		break;
	}

	switch (h->type) {
	case QM_GUI_HELLO:
		max = sizeof(struct qm_gui_hello);
		goto exact;
	case QM_GUI_CREATE:
		max = sizeof(struct qm_gui_create);
		goto exact;
	case QM_GUI_BUFFER_SIZE:
		max = sizeof(struct qm_gui_size);
		goto exact;
	case QM_GUI_REQUEST_STATES:
		max = sizeof(struct qm_gui_states);
		goto exact;
	case QM_GUI_DESTROY:
	case QM_GUI_COMMIT:
		max = 0;
		goto exact;
	case QM_GUI_TITLE:
		max = QM_GUI_MAX_TITLE;
		break;
	case QM_GUI_APP_ID:
		max = QM_GUI_MAX_APP_ID;
		break;
	case QM_GUI_DAMAGE:
		if (h->length < sizeof(struct qm_gui_rect))
			return violate(d, "payload of %u bytes is shorter than "
				       "its rectangle", h->length);
		max = sizeof(struct qm_gui_rect) +
		      buffer_bytes(w->width, w->height);
		break;
	case QM_GUI_CURSOR:
		if (h->length < sizeof(struct qm_gui_cursor))
			return violate(d, "payload of %u bytes is too short",
				       h->length);
		max = sizeof(struct qm_gui_cursor) +
		      buffer_bytes(QM_GUI_MAX_CURSOR, QM_GUI_MAX_CURSOR);
		break;
	case QM_GUI_CLIPBOARD_DATA:
		if (d->clipboard_expected == 0)
			return violate(d, "clipboard data nobody asked for");
		max = QM_GUI_MAX_CLIPBOARD;
		break;
	case QM_GUI_SHM_BUFFER:
		if (h->length < sizeof(struct qm_gui_shm_buffer))
			return violate(d, "payload of %u bytes is too short",
				       h->length);
		max = sizeof(struct qm_gui_shm_buffer) +
		      QM_GUI_MAX_SHM_RECTS * sizeof(struct qm_gui_rect);
		break;
	default:
		g_assert_not_reached();
	}
	if (h->length > max)
		return violate(d, "payload of %u bytes exceeds the maximum %"
			       G_GUINT64_FORMAT, h->length, max);
	return GP_DECODE_MESSAGE;
exact:
	if (h->length != max)
		return violate(d, "payload of %u bytes, must be %" G_GUINT64_FORMAT,
			       h->length, max);
	return GP_DECODE_MESSAGE;
}

/* ---- payloads ---- */

/* Bytes the live windows would claim with `w` resized to width x height
 * (w NULL: a new window). */
static bool memory_ok(struct gp_decoder *d, const struct gp_window_info *w,
		      uint32_t width, uint32_t height)
{
	uint64_t total = d->buffer_bytes + buffer_bytes(width, height);

	if (w)
		total -= buffer_bytes(w->width, w->height);
	return total <= GP_MAX_BUFFER_BYTES;
}

static enum gp_decode_status decode_create(struct gp_decoder *d,
					   const uint8_t *p,
					   struct gp_guest_msg *out)
{
	uint32_t untrusted_parent = get_u32(p);
	uint32_t untrusted_flags = get_u32(p + 4);
	int32_t untrusted_x = get_i32(p + 8), untrusted_y = get_i32(p + 12);
	uint32_t untrusted_w = get_u32(p + 16), untrusted_h = get_u32(p + 20);
	bool popup;

	if (untrusted_flags & ~(d->version >= QM_GUI_VERSION_2 ?
				QM_GUI_CREATE_FLAGS_MASK :
				QM_GUI_CREATE_FLAGS_MASK_V1))
		return violate(d, "unknown flags 0x%x in version %u",
			       untrusted_flags, d->version);
	popup = untrusted_flags & QM_GUI_CREATE_POPUP;
	if ((untrusted_flags & QM_GUI_CREATE_GRAB) && !popup)
		return violate(d, "a grab for a toplevel");
	if (!size_ok(untrusted_w, untrusted_h))
		return violate(d, "size %ux%u outside 1x1..%ux%u",
			       untrusted_w, untrusted_h, QM_GUI_MAX_WIDTH,
			       QM_GUI_MAX_HEIGHT);
	if (!memory_ok(d, NULL, untrusted_w, untrusted_h))
		return violate(d, "%ux%u would exceed the guest's %llu MiB of "
			       "window buffers", untrusted_w, untrusted_h,
			       GP_MAX_BUFFER_BYTES >> 20);
	if (!popup && untrusted_parent != 0)
		return violate(d, "a toplevel with parent %u",
			       untrusted_parent);
	if (popup) {
		const struct gp_window_info *parent =
			window_get(d, untrusted_parent);

		if (!parent || parent->destroying)
			return violate(d, "popup of unknown window %u",
				       untrusted_parent);
		if (untrusted_x < -GP_MAX_POPUP_OFFSET ||
		    untrusted_x > GP_MAX_POPUP_OFFSET ||
		    untrusted_y < -GP_MAX_POPUP_OFFSET ||
		    untrusted_y > GP_MAX_POPUP_OFFSET)
			return violate(d, "popup offset %d,%d out of range",
				       untrusted_x, untrusted_y);
	}

	/* sanitized */
	struct gp_window_info *w = g_new0(struct gp_window_info, 1);
	w->id = d->hdr.window;
	w->parent = popup ? untrusted_parent : 0;
	w->popup = popup;
	w->alpha = untrusted_flags & QM_GUI_CREATE_ALPHA;
	w->width = untrusted_w;
	w->height = untrusted_h;
	g_hash_table_insert(d->windows, GUINT_TO_POINTER(w->id), w);
	d->buffer_bytes += buffer_bytes(w->width, w->height);

	out->create.parent = w->parent;
	out->create.popup = popup;
	out->create.alpha = untrusted_flags & QM_GUI_CREATE_ALPHA;
	out->create.grab = untrusted_flags & QM_GUI_CREATE_GRAB;
	out->create.x = popup ? untrusted_x : 0;
	out->create.y = popup ? untrusted_y : 0;
	out->create.width = w->width;
	out->create.height = w->height;
	return GP_DECODE_MESSAGE;
}

static enum gp_decode_status decode_payload(struct gp_decoder *d,
					    const uint8_t *p, size_t len,
					    struct gp_guest_msg *out)
{
	struct gp_window_info *w = window_get(d, d->hdr.window);

	memset(out, 0, sizeof(*out));
	out->type = d->hdr.type;
	out->window = d->hdr.window;

	switch (d->hdr.type) {
	case QM_GUI_HELLO: {
		uint32_t untrusted_version = get_u32(p);

		/* Flags are reserved: ignored, so that a later version may
		 * announce capabilities without breaking this host. */
		if (untrusted_version < QM_GUI_VERSION_1)
			return violate(d, "version %u", untrusted_version);
		d->hello_seen = true;
		d->version = MIN(untrusted_version, (uint32_t)QM_GUI_VERSION);
		out->hello.version = d->version;
		return GP_DECODE_MESSAGE;
	}
	case QM_GUI_CREATE:
		return decode_create(d, p, out);
	case QM_GUI_DESTROY:
		w->destroying = true;
		d->buffer_bytes -= buffer_bytes(w->width, w->height);
		/* The host drops the window's buffers with it. */
		if (d->shm)
			gp_decode_shm_forget_window(d->shm, w->id);
		return GP_DECODE_MESSAGE;
	case QM_GUI_TITLE:
		d->text = gp_sanitize_title(p, len);
		out->title.text = d->text;
		return GP_DECODE_MESSAGE;
	case QM_GUI_APP_ID:
		d->text = gp_sanitize_app_id(p, len);
		out->app_id.text = d->text;
		return GP_DECODE_MESSAGE;
	case QM_GUI_BUFFER_SIZE: {
		uint32_t untrusted_w = get_u32(p), untrusted_h = get_u32(p + 4);

		if (!size_ok(untrusted_w, untrusted_h))
			return violate(d, "size %ux%u outside 1x1..%ux%u",
				       untrusted_w, untrusted_h,
				       QM_GUI_MAX_WIDTH, QM_GUI_MAX_HEIGHT);
		if (!memory_ok(d, w, untrusted_w, untrusted_h))
			return violate(d, "%ux%u would exceed the guest's %llu "
				       "MiB of window buffers", untrusted_w,
				       untrusted_h, GP_MAX_BUFFER_BYTES >> 20);
		d->buffer_bytes -= buffer_bytes(w->width, w->height);
		w->width = untrusted_w;
		w->height = untrusted_h;
		d->buffer_bytes += buffer_bytes(w->width, w->height);
		out->size.width = w->width;
		out->size.height = w->height;
		return GP_DECODE_MESSAGE;
	}
	case QM_GUI_DAMAGE: {
		uint32_t untrusted_x = get_u32(p), untrusted_y = get_u32(p + 4);
		uint32_t untrusted_w = get_u32(p + 8);
		uint32_t untrusted_h = get_u32(p + 12);

		if ((uint64_t)untrusted_x + untrusted_w > w->width ||
		    (uint64_t)untrusted_y + untrusted_h > w->height)
			return violate(d, "rectangle %ux%u at %u,%u outside "
				       "the %ux%u buffer", untrusted_w,
				       untrusted_h, untrusted_x, untrusted_y,
				       w->width, w->height);
		if (len - sizeof(struct qm_gui_rect) !=
		    buffer_bytes(untrusted_w, untrusted_h))
			return violate(d, "%zu bytes of pixels for a %ux%u "
				       "rectangle", len - sizeof(struct qm_gui_rect),
				       untrusted_w, untrusted_h);
		out->damage.x = untrusted_x;
		out->damage.y = untrusted_y;
		out->damage.width = untrusted_w;
		out->damage.height = untrusted_h;
		out->damage.pixels = p + sizeof(struct qm_gui_rect);
		return GP_DECODE_MESSAGE;
	}
	case QM_GUI_COMMIT:
		return GP_DECODE_MESSAGE;
	case QM_GUI_REQUEST_STATES:
		/* Masked, as gui-proto.h says: the host decides anyway, and
		 * ACTIVATED is not the guest's to ask for. */
		out->states.states = get_u32(p) & QM_GUI_STATE_MASK &
				     ~(uint32_t)QM_GUI_STATE_ACTIVATED;
		return GP_DECODE_MESSAGE;
	case QM_GUI_CURSOR: {
		int32_t untrusted_hx = get_i32(p), untrusted_hy = get_i32(p + 4);
		uint32_t untrusted_w = get_u32(p + 8);
		uint32_t untrusted_h = get_u32(p + 12);
		bool hidden = untrusted_w == 0 && untrusted_h == 0;

		if (!hidden && (untrusted_w < 1 ||
				untrusted_w > QM_GUI_MAX_CURSOR ||
				untrusted_h < 1 ||
				untrusted_h > QM_GUI_MAX_CURSOR))
			return violate(d, "cursor %ux%u outside 1x1..%ux%u",
				       untrusted_w, untrusted_h,
				       QM_GUI_MAX_CURSOR, QM_GUI_MAX_CURSOR);
		if (len - sizeof(struct qm_gui_cursor) !=
		    buffer_bytes(untrusted_w, untrusted_h))
			return violate(d, "%zu bytes of pixels for a %ux%u "
				       "cursor", len - sizeof(struct qm_gui_cursor),
				       untrusted_w, untrusted_h);
		if (!hidden && (untrusted_hx < 0 ||
				(uint32_t)untrusted_hx >= untrusted_w ||
				untrusted_hy < 0 ||
				(uint32_t)untrusted_hy >= untrusted_h))
			return violate(d, "hotspot %d,%d outside the %ux%u "
				       "cursor", untrusted_hx, untrusted_hy,
				       untrusted_w, untrusted_h);
		out->cursor.hot_x = hidden ? 0 : untrusted_hx;
		out->cursor.hot_y = hidden ? 0 : untrusted_hy;
		out->cursor.width = untrusted_w;
		out->cursor.height = untrusted_h;
		out->cursor.pixels = hidden ? NULL :
				     p + sizeof(struct qm_gui_cursor);
		return GP_DECODE_MESSAGE;
	}
	case QM_GUI_CLIPBOARD_DATA:
		d->clipboard_expected--;
		out->clipboard.data = p;
		out->clipboard.len = len;
		return GP_DECODE_MESSAGE;
	case QM_GUI_SHM_BUFFER: {
		g_autofree char *why = gp_decode_shm_buffer(d->shm, w, p, len,
							    out);

		if (why)
			return violate(d, "%s", why);
		return GP_DECODE_MESSAGE;
	}
	default:
		g_assert_not_reached();
	}
}

/* ---- framing ---- */

static enum gp_decode_status finish(struct gp_decoder *d, const uint8_t *p,
				    size_t len, struct gp_guest_msg *out)
{
	enum gp_decode_status st = decode_payload(d, p, len, out);

	d->have_header = false;
	d->header_len = 0;
	d->payload_len = 0;
	return st;
}

enum gp_decode_status gp_decoder_feed(struct gp_decoder *d,
				      const uint8_t *data, size_t len,
				      size_t *used, struct gp_guest_msg *out)
{
	size_t off = 0;

	*used = 0;
	if (d->violation)
		return GP_DECODE_VIOLATION;
	g_clear_pointer(&d->text, g_free);

	if (!d->have_header) {
		size_t n = MIN(QM_GUI_HEADER_SIZE - d->header_len, len);

		memcpy(d->header + d->header_len, data, n);
		d->header_len += n;
		off += n;
		*used = off;
		if (d->header_len < QM_GUI_HEADER_SIZE)
			return GP_DECODE_NEED_MORE;
		d->hdr.magic = get_u32(d->header);
		d->hdr.type = get_u32(d->header + 4);
		d->hdr.window = get_u32(d->header + 8);
		d->hdr.length = get_u32(d->header + 12);
		if (check_header(d) == GP_DECODE_VIOLATION)
			return GP_DECODE_VIOLATION;
		d->have_header = true;
		d->payload_len = 0;
		/* The whole payload at hand: decode it in place. */
		if (len - off >= d->hdr.length) {
			*used = off + d->hdr.length;
			return finish(d, data + off, d->hdr.length, out);
		}
	}

	/* A payload split across feeds, gathered in d->payload.  Its length
	 * is bounded by check_header(); the buffer grows with the bytes that
	 * really arrive, so a header alone cannot make the proxy allocate. */
	size_t n = MIN(d->hdr.length - d->payload_len, len - off);
	if (d->payload_len + n > d->payload_cap) {
		size_t cap = MAX(d->payload_cap * 2, (size_t)4096);

		cap = MAX(cap, d->payload_len + n);
		cap = MIN(cap, (size_t)d->hdr.length);
		d->payload = g_realloc(d->payload, cap);
		d->payload_cap = cap;
	}
	if (n)
		memcpy(d->payload + d->payload_len, data + off, n);
	d->payload_len += n;
	off += n;
	*used = off;
	if (d->payload_len < d->hdr.length)
		return GP_DECODE_NEED_MORE;
	/* d->payload is kept for the next split message: it is never
	 * larger than the largest message check_header() let through. */
	return finish(d, d->payload, d->hdr.length, out);
}
