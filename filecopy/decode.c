/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Decoder of the qmgr.Filecopy stream and result (format.h).  The stream
 * comes from another qube and may be written to break out of the receiving
 * directory; the result comes from another qube too.  Nothing here trusts
 * a byte it has not checked (fuzz target: tests/fuzz/fuzz-filecopy.c).
 *
 * The order of checks for an entry: the fixed header's name length and
 * flags (before the name is read); the name; type, mode, time and the
 * target's length; the target (symlinks); the entry's place in the tree;
 * the limits.  Only then is anything handed to the receiver.
 */
#include "decode.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

G_STATIC_ASSERT(G_BYTE_ORDER == G_LITTLE_ENDIAN);

void qfc_limits_init(struct qfc_limits *limits)
{
	limits->max_entries = QFC_DEFAULT_MAX_ENTRIES;
	limits->max_bytes = QFC_DEFAULT_MAX_BYTES;
	limits->max_depth = QFC_DEFAULT_MAX_DEPTH;
}

/* ---- the stream ---- */

enum state {
	S_STREAM_HEADER,  /* reading the 8-byte stream header */
	S_ENTRY_HEADER,   /* reading an entry header */
	S_NAME,           /* reading a name */
	S_TARGET,         /* reading a symlink's target */
	S_POPS,           /* DIR_END events due before the entry (or END) */
	S_DATA,           /* a file's content */
	S_FILE_END,       /* FILE_END due */
	S_DONE,           /* END given */
	S_FAILED,
};

struct qfc_decoder {
	struct qfc_limits limits;
	enum state state;
	uint64_t consumed;
	uint64_t entries;
	uint64_t total_size;

	/* the header being read, and the current entry as read */
	uint8_t raw[sizeof(struct qfc_entry_header)];
	size_t raw_have;
	uint32_t name_len;        /* bounded by the buffer */
	uint32_t untrusted_mode;
	uint64_t untrusted_size;
	int64_t untrusted_mtime_sec;
	uint32_t untrusted_mtime_nsec;
	char untrusted_name[QFC_PATH_MAX + 1];
	size_t name_have;
	char untrusted_target[QFC_PATH_MAX + 1];
	size_t target_have;

	/*
	 * The current entry once checked (check_name_and_type(),
	 * check_target()).  A file's size is checked against the limits in
	 * check_place(), before anything but that check uses it.
	 */
	uint32_t mode;
	uint64_t size;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	char name[QFC_PATH_MAX + 1];
	char target[QFC_PATH_MAX + 1];
	uint64_t data_left;

	/*
	 * The open directories: `open` is the path of the innermost one ("":
	 * only the receiving directory), `depth` its number of components,
	 * `last` the last entry given inside it (empty: none yet).  Entries of
	 * a directory come in increasing order, so a new entry must sort after
	 * `last`, or after the open subdirectory it closes.
	 */
	char open[QFC_PATH_MAX + 1];
	size_t open_len;
	uint32_t depth;
	char last[QFC_COMPONENT_MAX + 1];
	size_t last_len;

	/* the DIR_END events still due, and what `last` becomes after them */
	uint32_t pops;
	bool pops_for_end;
	char after_pops[QFC_COMPONENT_MAX + 1];
	size_t after_pops_len;
	char popped[QFC_PATH_MAX + 1];

	enum qfc_result_code err_code;
	char *err_message;
	char err_name[QFC_PATH_MAX + 1];
	size_t err_name_len;
};

struct qfc_decoder *qfc_decoder_create(const struct qfc_limits *limits)
{
	struct qfc_decoder *d = g_new0(struct qfc_decoder, 1);
	if (limits != NULL)
		d->limits = *limits;
	else
		qfc_limits_init(&d->limits);
	d->state = S_STREAM_HEADER;
	return d;
}

void qfc_decoder_destroy(struct qfc_decoder *d)
{
	if (d == NULL)
		return;
	g_free(d->err_message);
	g_free(d);
}

enum qfc_result_code qfc_decoder_error_code(const struct qfc_decoder *d)
{
	return d->err_code;
}

const char *qfc_decoder_error(const struct qfc_decoder *d)
{
	return d->err_message ? d->err_message : "";
}

const char *qfc_decoder_error_name(const struct qfc_decoder *d, size_t *len)
{
	*len = d->err_name_len;
	return d->err_name;
}

uint64_t qfc_decoder_bytes(const struct qfc_decoder *d)
{
	return d->consumed;
}

/* Records the error about `name` (len bytes; may be 0) and fails. */
static enum qfc_status fail(struct qfc_decoder *d, enum qfc_result_code code,
			    const char *name, size_t name_len,
			    const char *fmt, ...) G_GNUC_PRINTF(5, 6);
static enum qfc_status fail(struct qfc_decoder *d, enum qfc_result_code code,
			    const char *name, size_t name_len,
			    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_free(d->err_message);
	d->err_message = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	d->err_code = code;
	d->err_name_len = MIN(name_len, QFC_PATH_MAX);
	if (d->err_name_len > 0)
		memcpy(d->err_name, name, d->err_name_len);
	d->err_name[d->err_name_len] = '\0';
	d->state = S_FAILED;
	return QFC_ERROR;
}

/* Failure about the current entry, whose name has been read (and may be
 * what is wrong). */
#define fail_entry(d, code, ...) \
	fail((d), (code), (d)->untrusted_name, (d)->name_have, __VA_ARGS__)

/* Copies input into buf until it holds `want` bytes; true once it does. */
static bool fill(void *buf, size_t *have, size_t want, const uint8_t *data,
		 size_t len, size_t *consumed)
{
	size_t n = MIN(want - *have, len - *consumed);
	if (n == 0)
		return *have == want;
	memcpy((uint8_t *)buf + *have, data + *consumed, n);
	*have += n;
	*consumed += n;
	return *have == want;
}

static const char *type_word(uint32_t type)
{
	switch (type) {
	case 0020000: return "a character device";
	case 0060000: return "a block device";
	case 0010000: return "a FIFO";
	case 0140000: return "a socket";
	case 0: return "of no file type";
	default: return "of an unknown file type";
	}
}

static enum qfc_status read_stream_header(struct qfc_decoder *d)
{
	struct qfc_stream_header untrusted_h;

	memcpy(&untrusted_h, d->raw, sizeof(untrusted_h));
	uint32_t untrusted_magic = GUINT32_FROM_LE(untrusted_h.magic);
	if (untrusted_magic != QFC_STREAM_MAGIC)
		return fail(d, QFC_RESULT_BAD_STREAM, NULL, 0,
			    "the stream does not start with the qmgr.Filecopy "
			    "magic (0x%08" PRIx32 "): the sender is not "
			    "qmgr-filecopy-send",
			    untrusted_magic);
	uint32_t untrusted_version = GUINT32_FROM_LE(untrusted_h.version);
	if (untrusted_version != QFC_VERSION)
		return fail(d, QFC_RESULT_BAD_STREAM, NULL, 0,
			    "the stream is of version %" PRIu32 " and this "
			    "receiver reads version %u: install the same qmgr "
			    "version in both qubes",
			    untrusted_version, (unsigned)QFC_VERSION);
	d->state = S_ENTRY_HEADER;
	d->raw_have = 0;
	return QFC_NEED_MORE;
}

/* Checks the fixed header of an entry; only the name's length matters
 * before the name is read, the rest is checked with the name in hand. */
static enum qfc_status read_entry_header(struct qfc_decoder *d)
{
	struct qfc_entry_header untrusted_h;
	static const struct qfc_entry_header zero;

	memcpy(&untrusted_h, d->raw, sizeof(untrusted_h));
	d->raw_have = 0;
	if (untrusted_h.mode == 0 && untrusted_h.name_len == 0) {
		if (memcmp(&untrusted_h, &zero, sizeof(zero)) != 0)
			return fail(d, QFC_RESULT_BAD_STREAM, NULL, 0,
				    "an end marker (no type, no name) has "
				    "other fields set");
		d->pops = d->depth;
		d->pops_for_end = true;
		d->state = S_POPS;
		return QFC_NEED_MORE;
	}
	uint32_t untrusted_name_len = GUINT32_FROM_LE(untrusted_h.name_len);
	if (untrusted_name_len == 0)
		return fail(d, QFC_RESULT_BAD_STREAM, NULL, 0,
			    "entry %" PRIu64 " has an empty name",
			    d->entries + 1);
	if (untrusted_name_len > QFC_PATH_MAX)
		return fail(d, QFC_RESULT_BAD_STREAM, NULL, 0,
			    "entry %" PRIu64 " has a name of %" PRIu32
			    " bytes; at most %u are allowed",
			    d->entries + 1, untrusted_name_len,
			    (unsigned)QFC_PATH_MAX);
	/* sanitized: bounded by the buffer */
	d->name_len = untrusted_name_len;
	/* checked once the name is known, to name the entry when refused */
	d->untrusted_mode = GUINT32_FROM_LE(untrusted_h.mode);
	d->untrusted_size = GUINT64_FROM_LE(untrusted_h.size);
	d->untrusted_mtime_sec = GINT64_FROM_LE(untrusted_h.mtime_sec);
	d->untrusted_mtime_nsec = GUINT32_FROM_LE(untrusted_h.mtime_nsec);
	uint32_t untrusted_flags = GUINT32_FROM_LE(untrusted_h.flags);
	if (untrusted_flags != 0)
		return fail(d, QFC_RESULT_BAD_STREAM, NULL, 0,
			    "entry %" PRIu64 " has unknown flags 0x%" PRIx32
			    " (a newer sender?)",
			    d->entries + 1, untrusted_flags);
	d->name_have = 0;
	d->state = S_NAME;
	return QFC_NEED_MORE;
}

/* The name, type and header fields of the entry whose name was read;
 * QFC_NEED_MORE when they pass, and the entry is then copied into the
 * checked fields. */
static enum qfc_status check_name_and_type(struct qfc_decoder *d)
{
	d->untrusted_name[d->name_have] = '\0';
	const char *why = qfc_path_check(d->untrusted_name, d->name_have);
	if (why != NULL)
		return fail_entry(d, QFC_RESULT_BAD_STREAM, "%s", why);

	uint32_t untrusted_mode = d->untrusted_mode;
	uint64_t untrusted_size = d->untrusted_size;
	uint32_t untrusted_type = untrusted_mode & QFC_TYPE_MASK;
	if (untrusted_type != QFC_TYPE_DIR && untrusted_type != QFC_TYPE_FILE &&
	    untrusted_type != QFC_TYPE_SYMLINK)
		return fail_entry(d, QFC_RESULT_BAD_STREAM,
				  "it is %s (mode 0%" PRIo32 "): only "
				  "directories, regular files and symlinks "
				  "are copied",
				  type_word(untrusted_type), untrusted_mode);
	if ((untrusted_mode & ~(QFC_TYPE_MASK | QFC_PERM_MASK)) != 0)
		return fail_entry(d, QFC_RESULT_BAD_STREAM,
				  "its mode 0%" PRIo32 " has bits outside "
				  "0777: setuid, setgid and sticky bits are "
				  "not copied",
				  untrusted_mode);
	if (d->untrusted_mtime_nsec > 999999999u)
		return fail_entry(d, QFC_RESULT_BAD_STREAM,
				  "its modification time has %" PRIu32
				  " nanoseconds (at most 999999999)",
				  d->untrusted_mtime_nsec);
	if (untrusted_type == QFC_TYPE_DIR && untrusted_size != 0)
		return fail_entry(d, QFC_RESULT_BAD_STREAM,
				  "it is a directory with a size (%" PRIu64
				  "); directories have none",
				  untrusted_size);
	if (untrusted_type == QFC_TYPE_SYMLINK &&
	    (untrusted_size == 0 || untrusted_size > QFC_PATH_MAX))
		return fail_entry(d, QFC_RESULT_BAD_STREAM,
				  "it is a symlink with a target of %" PRIu64
				  " bytes (1 to %u are allowed)",
				  untrusted_size, (unsigned)QFC_PATH_MAX);
	if (untrusted_type == QFC_TYPE_SYMLINK &&
	    (untrusted_mode & QFC_PERM_MASK))
		return fail_entry(d, QFC_RESULT_BAD_STREAM,
				  "it is a symlink with permission bits "
				  "(0%" PRIo32 "); symlinks have none",
				  untrusted_mode & QFC_PERM_MASK);

	/* sanitized (a file's size: see struct qfc_decoder) */
	d->mode = untrusted_mode;
	d->size = untrusted_size;
	d->mtime_sec = d->untrusted_mtime_sec;
	d->mtime_nsec = d->untrusted_mtime_nsec;
	memcpy(d->name, d->untrusted_name, d->name_have + 1);
	return QFC_NEED_MORE;
}

/* Where the entry goes in the tree (see struct qfc_decoder) and the
 * limits; on success the DIR_END events it implies are due. */
static enum qfc_status check_place(struct qfc_decoder *d)
{
	const char *slash = memrchr(d->name, '/', d->name_have);
	size_t parent_len = slash ? (size_t)(slash - d->name) : 0;
	const char *base = slash ? slash + 1 : d->name;
	size_t base_len = d->name_have - (size_t)(base - d->name);

	/* The parent must be the open directory or one it is inside. */
	bool inside = parent_len == 0 ||
		      (d->open_len >= parent_len &&
		       memcmp(d->open, d->name, parent_len) == 0 &&
		       (d->open_len == parent_len ||
			d->open[parent_len] == '/'));
	if (!inside) {
		g_autofree char *shown = qfc_escape(d->name, parent_len);
		return fail_entry(d, QFC_RESULT_BAD_STREAM,
				  "it is not inside a directory sent before "
				  "it: '%s' was not sent as a directory, or "
				  "its entries have already ended",
				  shown);
	}

	/* Directories closed by this entry, and the one it is a sibling of. */
	uint32_t pops = 0;
	const char *prev = d->last;
	size_t prev_len = d->last_len;
	if (d->open_len > parent_len) {
		size_t child = parent_len ? parent_len + 1 : 0;
		const char *end = memchr(d->open + child, '/',
					 d->open_len - child);
		prev = d->open + child;
		prev_len = end ? (size_t)(end - prev) : d->open_len - child;
		for (size_t i = parent_len; i < d->open_len; i++)
			if (d->open[i] == '/')
				pops++;
		if (parent_len == 0)
			pops++;
	}
	if (prev_len > 0) {
		int cmp = memcmp(base, prev, MIN(base_len, prev_len));
		if (cmp == 0)
			cmp = base_len < prev_len ? -1 : base_len > prev_len;
		if (cmp == 0)
			return fail_entry(d, QFC_RESULT_BAD_STREAM,
					  "it comes twice in the stream");
		if (cmp < 0) {
			g_autofree char *shown = qfc_escape(prev, prev_len);
			return fail_entry(d, QFC_RESULT_BAD_STREAM,
					  "it comes after '%s' of the same "
					  "directory: a directory's entries "
					  "must come in byte order",
					  shown);
		}
	}

	uint32_t type = d->mode & QFC_TYPE_MASK;
	if (type == QFC_TYPE_DIR && d->depth - pops >= d->limits.max_depth)
		return fail_entry(d, QFC_RESULT_LIMIT,
				  "it would be nested more than %" PRIu32
				  " directories deep, the limit",
				  d->limits.max_depth);
	if (d->entries >= d->limits.max_entries)
		return fail_entry(d, QFC_RESULT_LIMIT,
				  "it is one entry more than the limit of "
				  "%" PRIu64,
				  d->limits.max_entries);
	if (type == QFC_TYPE_FILE &&
	    d->size > d->limits.max_bytes - d->total_size) {
		g_autofree char *size = g_format_size_full(
			d->size, G_FORMAT_SIZE_IEC_UNITS);
		g_autofree char *max = g_format_size_full(
			d->limits.max_bytes, G_FORMAT_SIZE_IEC_UNITS);
		return fail_entry(d, QFC_RESULT_LIMIT,
				  "its %s would bring the transfer over the "
				  "limit of %s",
				  size, max);
	}
	d->entries++;
	if (type == QFC_TYPE_FILE)
		d->total_size += d->size;

	d->pops = pops;
	d->pops_for_end = false;
	memcpy(d->after_pops, prev, prev_len);
	d->after_pops_len = prev_len;
	d->state = S_POPS;
	return QFC_NEED_MORE;
}

static enum qfc_status check_target(struct qfc_decoder *d)
{
	d->untrusted_target[d->target_have] = '\0';
	const char *why = qfc_symlink_target_check(
		d->name, d->untrusted_target, d->target_have);
	if (why != NULL) {
		g_autofree char *shown = qfc_escape(d->untrusted_target,
						    d->target_have);
		return fail_entry(d, QFC_RESULT_BAD_STREAM,
				  "its target '%s' %s", shown, why);
	}
	/* sanitized */
	memcpy(d->target, d->untrusted_target, d->target_have + 1);
	return check_place(d);
}

/* The next DIR_END, or once they are given, the entry itself or END. */
static enum qfc_status give_pending(struct qfc_decoder *d,
				    struct qfc_event *ev)
{
	if (d->pops > 0) {
		memcpy(d->popped, d->open, d->open_len + 1);
		char *slash = memrchr(d->open, '/', d->open_len);
		d->open_len = slash ? (size_t)(slash - d->open) : 0;
		d->open[d->open_len] = '\0';
		d->depth--;
		d->pops--;
		ev->type = QFC_EVENT_DIR_END;
		ev->path = d->popped;
		slash = strrchr(d->popped, '/');
		ev->name = slash ? slash + 1 : d->popped;
		return QFC_EVENT;
	}
	if (d->pops_for_end) {
		d->state = S_DONE;
		ev->type = QFC_EVENT_END;
		return QFC_EVENT;
	}

	/* The closed subdirectory (if any) is now the last entry given. */
	memcpy(d->last, d->after_pops, d->after_pops_len);
	d->last_len = d->after_pops_len;

	const char *slash = memrchr(d->name, '/', d->name_have);
	const char *base = slash ? slash + 1 : d->name;
	size_t base_len = d->name_have - (size_t)(base - d->name);
	uint32_t type = d->mode & QFC_TYPE_MASK;

	ev->path = d->name;
	ev->name = base;
	ev->mtime_sec = d->mtime_sec;
	ev->mtime_nsec = d->mtime_nsec;
	switch (type) {
	case QFC_TYPE_DIR:
		ev->type = QFC_EVENT_DIR;
		ev->perm = d->mode & QFC_PERM_MASK;
		if (d->open_len > 0)
			d->open[d->open_len++] = '/';
		memcpy(d->open + d->open_len, base, base_len);
		d->open_len += base_len;
		d->open[d->open_len] = '\0';
		d->depth++;
		d->last_len = 0;
		d->state = S_ENTRY_HEADER;
		break;
	case QFC_TYPE_FILE:
		ev->type = QFC_EVENT_FILE;
		ev->perm = d->mode & QFC_PERM_MASK;
		ev->size = d->size;
		d->data_left = d->size;
		d->state = d->size ? S_DATA : S_FILE_END;
		memcpy(d->last, base, base_len);
		d->last_len = base_len;
		break;
	default:
		ev->type = QFC_EVENT_SYMLINK;
		ev->target = d->target;
		memcpy(d->last, base, base_len);
		d->last_len = base_len;
		d->state = S_ENTRY_HEADER;
		break;
	}
	return QFC_EVENT;
}

static enum qfc_status step(struct qfc_decoder *d, const uint8_t *data,
			    size_t len, size_t *consumed,
			    struct qfc_event *ev)
{
	enum qfc_status st;

	for (;;) {
		switch (d->state) {
		case S_STREAM_HEADER:
			if (!fill(d->raw, &d->raw_have,
				  sizeof(struct qfc_stream_header), data, len,
				  consumed))
				return QFC_NEED_MORE;
			st = read_stream_header(d);
			break;
		case S_ENTRY_HEADER:
			if (!fill(d->raw, &d->raw_have, sizeof(d->raw), data,
				  len, consumed))
				return QFC_NEED_MORE;
			st = read_entry_header(d);
			break;
		case S_NAME:
			if (!fill(d->untrusted_name, &d->name_have,
				  d->name_len, data, len, consumed))
				return QFC_NEED_MORE;
			st = check_name_and_type(d);
			if (st != QFC_NEED_MORE)
				break;
			if ((d->mode & QFC_TYPE_MASK) == QFC_TYPE_SYMLINK) {
				d->target_have = 0;
				d->state = S_TARGET;
			} else {
				st = check_place(d);
			}
			break;
		case S_TARGET:
			if (!fill(d->untrusted_target, &d->target_have,
				  d->size, data, len, consumed))
				return QFC_NEED_MORE;
			st = check_target(d);
			break;
		case S_POPS:
			return give_pending(d, ev);
		case S_DATA: {
			if (*consumed == len)
				return QFC_NEED_MORE;
			size_t n = (size_t)MIN((uint64_t)(len - *consumed),
					       d->data_left);
			ev->type = QFC_EVENT_DATA;
			ev->path = d->name;
			ev->data = data + *consumed;
			ev->len = n;
			*consumed += n;
			d->data_left -= n;
			if (d->data_left == 0)
				d->state = S_FILE_END;
			return QFC_EVENT;
		}
		case S_FILE_END: {
			const char *slash = strrchr(d->name, '/');
			ev->type = QFC_EVENT_FILE_END;
			ev->path = d->name;
			ev->name = slash ? slash + 1 : d->name;
			d->state = S_ENTRY_HEADER;
			return QFC_EVENT;
		}
		case S_DONE:
			if (*consumed < len)
				return fail(d, QFC_RESULT_BAD_STREAM, NULL, 0,
					    "data follows the end marker");
			return QFC_NEED_MORE;
		case S_FAILED:
			return QFC_ERROR;
		}
		if (st == QFC_ERROR)
			return st;
	}
}

enum qfc_status qfc_decoder_feed(struct qfc_decoder *d, const uint8_t *data,
				 size_t len, size_t *consumed,
				 struct qfc_event *event)
{
	memset(event, 0, sizeof(*event));
	*consumed = 0;
	enum qfc_status st = step(d, data, len, consumed, event);
	d->consumed += *consumed;
	return st;
}

bool qfc_decoder_finish(struct qfc_decoder *d)
{
	switch (d->state) {
	case S_DONE:
		return true;
	case S_FAILED:
		return false;
	case S_STREAM_HEADER:
		if (d->consumed == 0)
			fail(d, QFC_RESULT_TRUNCATED, NULL, 0,
			     "the sender sent nothing (it stopped before "
			     "sending: see its own error)");
		else
			fail(d, QFC_RESULT_TRUNCATED, NULL, 0,
			     "the stream ends inside its header");
		return false;
	case S_NAME:
		fail(d, QFC_RESULT_TRUNCATED, NULL, 0,
		     "the stream ends inside the name of entry %" PRIu64,
		     d->entries + 1);
		return false;
	case S_TARGET:
		fail_entry(d, QFC_RESULT_TRUNCATED,
			   "the stream ends inside the target of this "
			   "symlink");
		return false;
	case S_DATA:
		fail_entry(d, QFC_RESULT_TRUNCATED,
			   "the stream ends after %" PRIu64 " of its %" PRIu64
			   " bytes (the sender stopped: see its own error)",
			   d->size - d->data_left, d->size);
		return false;
	default:
		/* Between entries, or with events not taken yet. */
		fail(d, QFC_RESULT_TRUNCATED, NULL, 0,
		     "the stream ends after %" PRIu64 " entries, without "
		     "its end marker (the sender stopped: see its own error)",
		     d->entries);
		return false;
	}
}

/* ---- the result ---- */

void qfc_result_clear(struct qfc_result *r)
{
	g_clear_pointer(&r->name, g_free);
	g_clear_pointer(&r->message, g_free);
}

static enum qfc_status result_fail(GError **error, const char *fmt, ...)
	G_GNUC_PRINTF(2, 3);
static enum qfc_status result_fail(GError **error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error_literal(error, QFC_ERROR_DOMAIN, 1, msg);
	return QFC_ERROR;
}

enum qfc_status qfc_result_decode(const uint8_t *data, size_t len,
				  size_t *consumed, struct qfc_result *out,
				  GError **error)
{
	struct qfc_result_header untrusted_h;

	memset(out, 0, sizeof(*out));
	*consumed = 0;
	if (len < sizeof(untrusted_h))
		return QFC_NEED_MORE;
	memcpy(&untrusted_h, data, sizeof(untrusted_h));

	if (GUINT32_FROM_LE(untrusted_h.magic) != QFC_RESULT_MAGIC)
		return result_fail(error, "its answer does not start with the "
				   "qmgr.Filecopy result magic");
	if (GUINT32_FROM_LE(untrusted_h.version) != QFC_VERSION)
		return result_fail(error, "its answer is of version %" PRIu32
				   ", not %u: install the same qmgr version "
				   "in both qubes",
				   GUINT32_FROM_LE(untrusted_h.version),
				   (unsigned)QFC_VERSION);
	uint32_t untrusted_code = GUINT32_FROM_LE(untrusted_h.code);
	if (untrusted_code >= QFC_RESULT_CODE_END)
		return result_fail(error, "its answer has an unknown code %"
				   PRIu32, untrusted_code);
	uint32_t untrusted_name_len = GUINT32_FROM_LE(untrusted_h.name_len);
	uint32_t untrusted_message_len =
		GUINT32_FROM_LE(untrusted_h.message_len);
	if (untrusted_name_len > QFC_PATH_MAX ||
	    untrusted_message_len > QFC_MESSAGE_MAX)
		return result_fail(error, "its answer announces a name of %"
				   PRIu32 " or a message of %" PRIu32
				   " bytes (at most %u and %u)",
				   untrusted_name_len, untrusted_message_len,
				   (unsigned)QFC_PATH_MAX,
				   (unsigned)QFC_MESSAGE_MAX);
	bool ok = untrusted_code == QFC_RESULT_OK;
	if (ok && (untrusted_name_len || untrusted_message_len ||
		   untrusted_h.error))
		return result_fail(error, "its answer says success with an "
				   "error attached");
	if (!ok && untrusted_message_len == 0)
		return result_fail(error, "its answer says failure without a "
				   "message");
	/* sanitized: both lengths bounded above */
	size_t name_len = untrusted_name_len;
	size_t message_len = untrusted_message_len;
	size_t total = sizeof(untrusted_h) + name_len + message_len;
	if (len < total)
		return QFC_NEED_MORE;

	const char *untrusted_name = (const char *)data + sizeof(untrusted_h);
	const char *untrusted_message = untrusted_name + name_len;
	if (memchr(untrusted_name, '\0', name_len) ||
	    memchr(untrusted_message, '\0', message_len))
		return result_fail(error, "its answer has a NUL byte in a name "
				   "or message");
	if (!g_utf8_validate(untrusted_message, (gssize)message_len, NULL))
		return result_fail(error, "its answer's message is not valid "
				   "UTF-8");

	out->code = untrusted_code;
	out->error = GINT32_FROM_LE(untrusted_h.error);
	out->entries = GUINT64_FROM_LE(untrusted_h.entries);
	out->bytes = GUINT64_FROM_LE(untrusted_h.bytes);
	out->name = g_strndup(untrusted_name, name_len);
	out->name_len = name_len;
	out->message = g_strndup(untrusted_message, message_len);
	*consumed = total;
	return QFC_EVENT;
}
