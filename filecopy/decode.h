/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The decoder of the qmgr.Filecopy stream (format.h), the part of the
 * receiver that reads hostile bytes, and of the result the sender gets
 * back.  Pure: bytes in, events out; it touches no file, so it can be
 * fuzzed alone (tests/fuzz/fuzz-filecopy.c).
 *
 * Every event it returns has been checked: names are relative, without
 * '.', '..', empty components, control characters or invalid UTF-8, within
 * the length limits, inside a directory of the same stream that is still
 * open, and new in that directory; types are directory, regular file or
 * symlink; symlink targets stay inside the receiving directory; the counts
 * stay within the limits.  The receiver still has to create what the
 * events describe without following anything already on its disk.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "format.h"
#include "names.h"

/* ---- limits ---- */

#define QFC_DEFAULT_MAX_ENTRIES 1000000u
#define QFC_DEFAULT_MAX_BYTES (UINT64_C(1) << 40)   /* 1 TiB */
/* Directories inside each other.  The receiver holds a descriptor per open
 * level, so this stays well below the usual 1024 open files. */
#define QFC_DEFAULT_MAX_DEPTH 256u

struct qfc_limits {
	uint64_t max_entries;     /* entries, the end marker not counted */
	uint64_t max_bytes;       /* file contents, all files together */
	uint32_t max_depth;       /* levels of directories */
};

void qfc_limits_init(struct qfc_limits *limits);

/* ---- stream decoder ---- */

enum qfc_event_type {
	QFC_EVENT_DIR,        /* a directory begins: create it */
	QFC_EVENT_DIR_END,    /* the innermost open directory is complete */
	QFC_EVENT_FILE,       /* a regular file begins: DATA events follow */
	QFC_EVENT_DATA,       /* the next bytes of the open file */
	QFC_EVENT_FILE_END,   /* all `size` bytes of the file were given */
	QFC_EVENT_SYMLINK,    /* a symlink */
	QFC_EVENT_END,        /* the end marker: the transfer is complete */
};

struct qfc_event {
	enum qfc_event_type type;
	/* the entry's checked path and its last component, NUL-terminated,
	 * valid until the next call (all but DATA and END) */
	const char *path;
	const char *name;
	uint32_t perm;            /* DIR, FILE: permission bits, <= 0777 */
	uint64_t size;            /* FILE: content bytes */
	int64_t mtime_sec;        /* DIR, FILE, SYMLINK */
	uint32_t mtime_nsec;      /* < 1000000000 */
	const char *target;       /* SYMLINK: checked target */
	const uint8_t *data;      /* DATA: points into the caller's input */
	size_t len;               /* DATA: > 0 */
};

enum qfc_status {
	QFC_NEED_MORE,   /* all input used; give more (or call finish) */
	QFC_EVENT,       /* one event in *event; call again */
	QFC_ERROR,       /* the stream is refused; see qfc_decoder_error() */
};

struct qfc_decoder;

struct qfc_decoder *qfc_decoder_create(const struct qfc_limits *limits);
void qfc_decoder_destroy(struct qfc_decoder *d);

/*
 * Takes bytes from `data` (len may be 0) and returns at most one event;
 * *consumed says how many bytes it used.  Call again with the rest, and
 * with len 0 after an event to get the ones that need no input.  After
 * QFC_EVENT_END it refuses any further byte; after an error it returns
 * QFC_ERROR again.  Splitting the input differently gives the same events
 * (DATA excepted, which follows the input's pieces).
 */
enum qfc_status qfc_decoder_feed(struct qfc_decoder *d, const uint8_t *data,
				 size_t len, size_t *consumed,
				 struct qfc_event *event);

/*
 * The input has ended: true if the end marker was decoded, else false with
 * the error set (QFC_RESULT_TRUNCATED).
 */
bool qfc_decoder_finish(struct qfc_decoder *d);

/* The error after QFC_ERROR or a failed finish: its code, a message for
 * people (names in it escaped) and the raw name of the entry it concerns
 * (len 0 when none). */
enum qfc_result_code qfc_decoder_error_code(const struct qfc_decoder *d);
const char *qfc_decoder_error(const struct qfc_decoder *d);
const char *qfc_decoder_error_name(const struct qfc_decoder *d, size_t *len);

/* Stream bytes taken so far, headers included. */
uint64_t qfc_decoder_bytes(const struct qfc_decoder *d);

/* ---- result decoder (the sender's side) ---- */

struct qfc_result {
	enum qfc_result_code code;
	int32_t error;
	uint64_t entries;
	uint64_t bytes;
	char *name;               /* NUL-terminated, raw bytes; "" if none */
	size_t name_len;
	char *message;            /* NUL-terminated, valid UTF-8; "" on OK */
};

void qfc_result_clear(struct qfc_result *r);

/*
 * Decodes the result at the start of `data`: QFC_EVENT when it is complete
 * (*consumed bytes, *out filled, to be cleared), QFC_NEED_MORE, or
 * QFC_ERROR with *error.  Checks magic, version, code, the lengths before
 * the bytes they announce, no NUL in name or message, UTF-8 message, and
 * that OK comes without name or message and a failure with a message.
 */
enum qfc_status qfc_result_decode(const uint8_t *data, size_t len,
				  size_t *consumed, struct qfc_result *out,
				  GError **error);

#define QFC_ERROR_DOMAIN g_quark_from_static_string("qfc-error")
