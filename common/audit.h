/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The audit log: one line per policy decision, hash-chained so that an
 * edited, removed, inserted or reordered record is detected.
 *
 * Format (version 1).  One record per line, ending in '\n'; ten fields
 * separated by a single tab:
 *
 *   seq  time  call  source  requested_target  resolved_target  action
 *   rule  prev  hash
 *
 *   seq     decimal, no leading zero; 1 for the first record, then +1.
 *   time    RFC 3339 UTC with microseconds: 2024-05-01T12:34:56.123456Z.
 *   call    SERVICE+ARGUMENT as the caller sent it.
 *   source, requested_target, resolved_target
 *           VM names (resolved_target may be empty, e.g. for a denial).
 *   action  allow | deny | ask.
 *   rule    the deciding rule as FILE:LINE, or "-" when no rule decided
 *           (a rule text that is itself "-" is written "\x2d").
 *   prev    lowercase hex BLAKE2b-256 of the previous record's line (its
 *           bytes without the '\n'); for the first record, of the genesis
 *           string QM_AUDIT_GENESIS.
 *   hash    lowercase hex BLAKE2b-256 of the line's bytes before this field,
 *           up to and including the tab that precedes it.
 *
 * call, source, the targets and rule are escaped: a backslash becomes "\\",
 * and every byte outside printable ASCII (0x20-0x7e), tab and newline
 * included, becomes "\xNN" (lowercase hex).  A line therefore holds only
 * printable ASCII and tabs, and no field content can forge a field or a line.
 *
 * What the chain proves: every record after the first intact one is
 * unchanged and in place.  It cannot detect records cut off at the end on a
 * record boundary, or well-formed records appended by someone who can write
 * the file (BLAKE2b is unkeyed); compare the last hash with a copy kept
 * elsewhere for that.
 *
 * Crash behaviour: a record is written with one write() and fdatasync()ed.
 * A crash in the middle can leave a last line without its '\n'; verify then
 * reports "truncated last record" and qm_audit_open() refuses the log until
 * an administrator has looked at it (and cut the torn line off).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#define QM_AUDIT_GENESIS "qmgr audit log v1"
/* Longest accepted value of a text field, in bytes before escaping. */
#define QM_AUDIT_MAX_FIELD 1024
/* Longest possible line, without its '\n': five text fields escaped to at
 * most 4 bytes per byte, plus seq, time, action, two hashes and tabs. */
#define QM_AUDIT_MAX_LINE (5 * 4 * QM_AUDIT_MAX_FIELD + 512)
#define QM_AUDIT_HASH_HEX 64    /* hex digits of a BLAKE2b-256 hash */

#define QM_AUDIT_ERROR (qm_audit_error_quark())
GQuark qm_audit_error_quark(void);

enum qm_audit_error {
	QM_AUDIT_ERROR_IO,          /* open/read/write failed; see message */
	QM_AUDIT_ERROR_LOCKED,      /* another writer has the log open */
	QM_AUDIT_ERROR_FIELD,       /* append: a field is too long */
	QM_AUDIT_ERROR_BROKEN,      /* append after a failed fdatasync */
	/* The chain is broken; the message is "PATH:LINE: why". */
	QM_AUDIT_ERROR_SYNTAX,      /* not a well-formed record */
	QM_AUDIT_ERROR_HASH,        /* hash field does not match: edited */
	QM_AUDIT_ERROR_PREV,        /* prev does not match the record before:
				     * removed, inserted or reordered */
	QM_AUDIT_ERROR_SEQ,         /* seq is not the previous one plus 1 */
	QM_AUDIT_ERROR_TRUNCATED,   /* last line has no '\n' */
};

/* True when `error` says the chain is broken (not an I/O problem). */
bool qm_audit_error_is_chain(const GError *error);

enum qm_audit_action {
	QM_AUDIT_ALLOW,
	QM_AUDIT_DENY,
	QM_AUDIT_ASK,
};

/* "allow", "deny", "ask". */
const char *qm_audit_action_name(enum qm_audit_action action);

/* What the caller gives qm_audit_append().  String fields may be NULL
 * (written as empty; rule as "-"); each at most QM_AUDIT_MAX_FIELD bytes. */
struct qm_audit_record {
	int64_t time_us;        /* µs since the epoch; 0: now */
	const char *call;       /* SERVICE+ARGUMENT */
	const char *source;
	const char *requested_target;
	const char *resolved_target;
	enum qm_audit_action action;
	const char *rule;       /* FILE:LINE, NULL: none */
};

/* --- writer (qmgrd) ---------------------------------------------------- */

struct qm_audit;
typedef struct qm_audit qm_audit;   /* for g_autoptr only */

/*
 * Opens the log at `path` for appending, creating it with mode 0600 when
 * missing, and takes an exclusive lock on it (a second writer is refused).
 * The last record (and its link to the one before) is verified so the
 * chain continues from it; a corrupt or torn tail is refused with an error
 * naming the line, never answered by starting a new chain.
 */
struct qm_audit *qm_audit_open(const char *path, GError **error);

/*
 * Appends one record with the next seq, in one write() of the whole line,
 * then fdatasync()s.  A failed write is cut off again, so no half record
 * stays behind.  After a failed fdatasync the record may or may not be on
 * disk; the writer then refuses further appends (QM_AUDIT_ERROR_BROKEN)
 * until it is reopened.  Callers deny a call they could not log.
 */
bool qm_audit_append(struct qm_audit *audit,
		     const struct qm_audit_record *record, GError **error);

/* seq of the last record in the log, 0 when it is empty. */
uint64_t qm_audit_last_seq(const struct qm_audit *audit);

void qm_audit_close(struct qm_audit *audit);   /* accepts NULL */

G_DEFINE_AUTOPTR_CLEANUP_FUNC(qm_audit, qm_audit_close)

/* --- reader (qvm-audit) ------------------------------------------------ */

/* One record as read back, fields unescaped. */
struct qm_audit_entry {
	size_t line_no;
	uint64_t seq;
	int64_t time_us;
	char *time;             /* as written */
	char *call;
	char *source;
	char *requested_target;
	char *resolved_target;
	enum qm_audit_action action;
	char *rule;             /* NULL when "-" */
	char prev[QM_AUDIT_HASH_HEX + 1];
	char hash[QM_AUDIT_HASH_HEX + 1];
	char *line;             /* the line as stored, without '\n' */
};

void qm_audit_entry_finish(struct qm_audit_entry *entry);

struct qm_audit_reader;
typedef struct qm_audit_reader qm_audit_reader;   /* for g_autoptr only */

struct qm_audit_reader *qm_audit_reader_create(const char *path,
					       GError **error);

/*
 * Reads and checks the next record.  Returns 1 with `entry` filled (finish
 * it), 0 at the end of an intact log, -1 with `error` set on an I/O error or
 * at the first record that breaks the chain (then the reader is done).
 */
int qm_audit_reader_next(struct qm_audit_reader *reader,
			 struct qm_audit_entry *entry, GError **error);

void qm_audit_reader_destroy(struct qm_audit_reader *reader); /* NULL ok */

G_DEFINE_AUTOPTR_CLEANUP_FUNC(qm_audit_reader, qm_audit_reader_destroy)

/*
 * Checks the whole log.  On success *n_records is the number of records.
 * On failure the error is "PATH:LINE: why" and *n_records counts the intact
 * records before the bad one, so the bad line is *n_records + 1.
 * `n_records` may be NULL.
 */
bool qm_audit_verify(const char *path, size_t *n_records, GError **error);

/* The escaped form of `len` bytes of `s`, as stored in a field. */
char *qm_audit_escape(const char *s, size_t len);
