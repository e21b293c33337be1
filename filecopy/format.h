/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The stream of qmgr.Filecopy (Qubes' qubes.Filecopy), modelled on Qubes'
 * qfile-agent / qfile-unpacker format, and the result the receiver sends
 * back.  docs/filecopy.md describes it for people; this is the reference.
 *
 * Sender -> receiver:
 *
 *   struct qfc_stream_header                    once
 *   { struct qfc_entry_header, name[name_len],   per entry
 *     then by type:
 *       directory: nothing
 *       file:      `size` bytes of content
 *       symlink:   target[size] }
 *   struct qfc_entry_header, all zero            the end marker
 *
 * Names are paths relative to the receiving directory
 * (~/Incoming/SOURCE/), components separated by '/', with no NUL, no
 * terminating NUL and no '.', '..' or empty component.  Entries come in
 * pre-order, the entries of one directory in strictly increasing byte order
 * of their names, each directory before what it contains.  That order lets
 * the receiver check with a stack (no table of every name) that each entry
 * is inside a directory of the same stream that is still open, and that no
 * name comes twice.  A directory is finished when an entry outside it, or
 * the end marker, arrives.
 *
 * Receiver -> sender, once, when it is done or has given up:
 *
 *   struct qfc_result_header, name[name_len], message[message_len]
 *
 * All integers are little-endian.  Everything the receiver reads is
 * hostile (decode.c checks it); the result is hostile to the sender too.
 */
#pragma once

#include <stdint.h>

#define QFC_STREAM_MAGIC 0x43464d51u   /* "QMFC" */
#define QFC_RESULT_MAGIC 0x52464d51u   /* "QMFR" */

/* Versions of the stream and of the result (one number for both). */
enum qfc_version {
	/* 1: directories, regular files, symlinks; mtime in nanoseconds */
	QFC_VERSION_1 = 1,
	QFC_VERSION = QFC_VERSION_1,
};

struct qfc_stream_header {
	uint32_t magic;        /* QFC_STREAM_MAGIC */
	uint32_t version;      /* QFC_VERSION */
};
_Static_assert(sizeof(struct qfc_stream_header) == 8,
	       "stream header is 8 bytes");

/* The file type bits of `mode`: the Linux S_IF* values (as in tar and in
 * Qubes' format).  Every other type (devices, FIFOs, sockets) is refused. */
#define QFC_TYPE_MASK 0170000u
#define QFC_TYPE_DIR 0040000u
#define QFC_TYPE_FILE 0100000u
#define QFC_TYPE_SYMLINK 0120000u
/* Permission bits a sender may send: no setuid, setgid or sticky bit. */
#define QFC_PERM_MASK 0777u

struct qfc_entry_header {
	uint32_t mode;         /* QFC_TYPE_* | permissions; 0: end marker */
	uint32_t name_len;     /* bytes of name that follow */
	uint64_t size;         /* file: content bytes; symlink: target bytes;
				* directory: 0 */
	int64_t mtime_sec;     /* modification time, seconds since 1970 */
	uint32_t mtime_nsec;   /* < 1000000000 */
	uint32_t flags;        /* none defined: must be 0 */
};
_Static_assert(sizeof(struct qfc_entry_header) == 32,
	       "entry header is 32 bytes");

/* Name limits, as Linux has them: a component (NAME_MAX) and a whole path
 * or symlink target without its NUL (PATH_MAX - 1). */
#define QFC_COMPONENT_MAX 255u
#define QFC_PATH_MAX 4095u

/* Why the receiver stopped (qfc_result_header.code). */
enum qfc_result_code {
	QFC_RESULT_OK = 0,          /* everything received and synced */
	QFC_RESULT_BAD_STREAM = 1,  /* the stream broke a rule of this format */
	QFC_RESULT_TRUNCATED = 2,   /* the stream ended before its end marker */
	QFC_RESULT_LIMIT = 3,       /* too many entries, bytes or levels */
	QFC_RESULT_EXISTS = 4,      /* the name is already taken (never
				     * overwritten) */
	QFC_RESULT_NO_SPACE = 5,    /* the file would not fit */
	QFC_RESULT_IO = 6,          /* creating or writing failed (errno) */
	QFC_RESULT_SETUP = 7,       /* the receiver could not start: source
				     * name, ~/Incoming */
	QFC_RESULT_CODE_END,
};

#define QFC_MESSAGE_MAX 1024u

struct qfc_result_header {
	uint32_t magic;        /* QFC_RESULT_MAGIC */
	uint32_t version;      /* QFC_VERSION */
	uint32_t code;         /* enum qfc_result_code */
	int32_t error;         /* the receiver's errno for QFC_RESULT_IO (and
				* others when there is one), else 0 */
	uint64_t entries;      /* entries completely received */
	uint64_t bytes;        /* stream bytes consumed, headers included */
	uint32_t name_len;     /* bytes of the failing entry's name (<=
				* QFC_PATH_MAX; 0 when none) */
	uint32_t message_len;  /* bytes of the message, UTF-8 (<=
				* QFC_MESSAGE_MAX; 0 on success) */
};
_Static_assert(sizeof(struct qfc_result_header) == 40,
	       "result header is 40 bytes");
