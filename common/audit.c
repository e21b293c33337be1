/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hash-chained audit log; the format is described in audit.h. */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define N_FIELDS 10
#define HASH_BYTES 32
#define TIME_LEN 27     /* 2024-05-01T12:34:56.123456Z */

_Static_assert(HASH_BYTES * 2 == QM_AUDIT_HASH_HEX, "hex of BLAKE2b-256");
_Static_assert(HASH_BYTES >= crypto_generichash_BYTES_MIN &&
	       HASH_BYTES <= crypto_generichash_BYTES_MAX,
	       "BLAKE2b output size");

G_DEFINE_QUARK(qm-audit-error-quark, qm_audit_error)

struct qm_audit {
	int fd;
	char *path;
	uint64_t seq;                   /* of the last record */
	uint8_t prev[HASH_BYTES];       /* hash of the last record's line */
	off_t size;                     /* file size after the last record */
	bool broken;
};

struct qm_audit_reader {
	FILE *f;
	char *path;
	char *buf;
	size_t cap;
	size_t line_no;
	uint64_t seq;
	uint8_t prev[HASH_BYTES];
	bool done;
};

static const char *const action_names[] = {
	[QM_AUDIT_ALLOW] = "allow",
	[QM_AUDIT_DENY] = "deny",
	[QM_AUDIT_ASK] = "ask",
};

const char *qm_audit_action_name(enum qm_audit_action action)
{
	if ((size_t)action >= G_N_ELEMENTS(action_names))
		return "?";
	return action_names[action];
}

bool qm_audit_error_is_chain(const GError *error)
{
	return error != NULL && error->domain == QM_AUDIT_ERROR &&
	       error->code >= QM_AUDIT_ERROR_SYNTAX;
}

static void hash_bytes(const void *data, size_t len, uint8_t out[HASH_BYTES])
{
	crypto_generichash(out, HASH_BYTES, data, len, NULL, 0);
}

static void genesis(uint8_t out[HASH_BYTES])
{
	hash_bytes(QM_AUDIT_GENESIS, strlen(QM_AUDIT_GENESIS), out);
}

static void to_hex(const uint8_t h[HASH_BYTES],
		   char out[QM_AUDIT_HASH_HEX + 1])
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < HASH_BYTES; i++) {
		out[2 * i] = digits[h[i] >> 4];
		out[2 * i + 1] = digits[h[i] & 0xf];
	}
	out[QM_AUDIT_HASH_HEX] = '\0';
}

static bool init_sodium(GError **error)
{
	if (sodium_init() < 0) {
		g_set_error(error, QM_AUDIT_ERROR, QM_AUDIT_ERROR_IO,
			    "cannot initialise libsodium");
		return false;
	}
	return true;
}

/* --- escaping ----------------------------------------------------------- */

static void escape_into(GString *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\')
			g_string_append(out, "\\\\");
		else if (c < 0x20 || c > 0x7e)
			g_string_append_printf(out, "\\x%02x", c);
		else
			g_string_append_c(out, (char)c);
	}
}

char *qm_audit_escape(const char *s, size_t len)
{
	GString *out = g_string_sized_new(len + 1);
	escape_into(out, s, len);
	return g_string_free(out, FALSE);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;      /* upper case is not what the writer produces */
}

/* Decodes one stored field; NULL when it is not the writer's escaping
 * (a stray backslash, upper-case hex, an escaped NUL). */
static char *unescape(const char *untrusted, size_t len)
{
	GString *out = g_string_sized_new(len + 1);
	for (size_t i = 0; i < len; i++) {
		char c = untrusted[i];
		if (c != '\\') {
			g_string_append_c(out, c);
			continue;
		}
		if (i + 1 < len && untrusted[i + 1] == '\\') {
			g_string_append_c(out, '\\');
			i++;
			continue;
		}
		if (len - i < 4 || untrusted[i + 1] != 'x')
			goto bad;
		int hi = hex_digit(untrusted[i + 2]);
		int lo = hex_digit(untrusted[i + 3]);
		if (hi < 0 || lo < 0)
			goto bad;
		unsigned char b = (unsigned char)(hi << 4 | lo);
		/* the writer escapes exactly these and nothing else */
		if (b == 0 || (b >= 0x20 && b <= 0x7e))
			goto bad;
		g_string_append_c(out, (char)b);
		i += 3;
	}
	return g_string_free(out, FALSE);
bad:
	g_string_free(out, TRUE);
	return NULL;
}

/* --- parsing one line --------------------------------------------------- */

static bool parse_seq(const char *s, size_t len, uint64_t *out)
{
	if (len == 0 || len > 20 || s[0] == '0')
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static void format_time(int64_t us, char out[TIME_LEN + 1])
{
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(
		us / G_USEC_PER_SEC);
	if (dt == NULL) {       /* out of GDateTime's range: clamp */
		us = 0;
		dt = g_date_time_new_from_unix_utc(0);
	}
	g_autofree char *s = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S");
	snprintf(out, TIME_LEN + 1, "%s.%06dZ", s,
		 (int)(((us % G_USEC_PER_SEC) + G_USEC_PER_SEC) %
		       G_USEC_PER_SEC));
}

/* Checks the exact shape the writer produces and converts it. */
static bool parse_time(const char *s, size_t len, int64_t *out)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
	_Static_assert(sizeof(shape) - 1 == TIME_LEN, "time shape");
	if (len != TIME_LEN)
		return false;
	for (size_t i = 0; i < TIME_LEN; i++) {
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9')
				    : s[i] != shape[i])
			return false;
	}
	int y, mo, d, h, mi, se, us;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%6dZ", &y, &mo, &d, &h, &mi,
		   &se, &us) != 7)
		return false;
	g_autoptr(GDateTime) dt = g_date_time_new_utc(y, mo, d, h, mi, se);
	if (dt == NULL || se > 59)
		return false;
	*out = g_date_time_to_unix(dt) * G_USEC_PER_SEC + us;
	return true;
}

static bool parse_hash(const char *s, size_t len)
{
	if (len != QM_AUDIT_HASH_HEX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (hex_digit(s[i]) < 0)
			return false;
	return true;
}

static bool parse_action(const char *s, size_t len,
			 enum qm_audit_action *out)
{
	for (size_t i = 0; i < G_N_ELEMENTS(action_names); i++) {
		if (strlen(action_names[i]) == len &&
		    memcmp(action_names[i], s, len) == 0) {
			*out = (enum qm_audit_action)i;
			return true;
		}
	}
	return false;
}

void qm_audit_entry_finish(struct qm_audit_entry *e)
{
	if (e == NULL)
		return;
	g_free(e->time);
	g_free(e->call);
	g_free(e->source);
	g_free(e->requested_target);
	g_free(e->resolved_target);
	g_free(e->rule);
	g_free(e->line);
	memset(e, 0, sizeof(*e));
}

static void set_chain_error(GError **error, int code, const char *path,
			    size_t line_no, const char *why)
{
	g_set_error(error, QM_AUDIT_ERROR, code, "%s:%zu: %s", path, line_no,
		    why);
}

/*
 * Parses one line (without '\n') into `e` and checks its own hash.  The
 * link to the previous record is checked by check_link().
 */
static bool parse_line(const char *untrusted, size_t len,
		       struct qm_audit_entry *e, const char *path,
		       size_t line_no, GError **error)
{
	const char *why = NULL;
	memset(e, 0, sizeof(*e));
	e->line_no = line_no;

	if (len > QM_AUDIT_MAX_LINE) {
		why = "bad syntax: line too long";
		goto bad;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)untrusted[i];
		if (c != '\t' && (c < 0x20 || c > 0x7e)) {
			why = "bad syntax: unescaped control or non-ASCII "
			      "byte";
			goto bad;
		}
	}

	const char *f[N_FIELDS];
	size_t fl[N_FIELDS];
	size_t n = 0;
	const char *p = untrusted, *end = untrusted + len;
	for (;;) {
		const char *tab = memchr(p, '\t', (size_t)(end - p));
		if (n == N_FIELDS) {
			why = "bad syntax: more than 10 fields";
			goto bad;
		}
		f[n] = p;
		fl[n] = tab ? (size_t)(tab - p) : (size_t)(end - p);
		n++;
		if (tab == NULL)
			break;
		p = tab + 1;
	}
	if (n != N_FIELDS) {
		why = "bad syntax: fewer than 10 fields";
		goto bad;
	}
	if (!parse_seq(f[0], fl[0], &e->seq)) {
		why = "bad syntax: seq is not a positive decimal number";
		goto bad;
	}
	if (!parse_time(f[1], fl[1], &e->time_us)) {
		why = "bad syntax: time is not YYYY-MM-DDThh:mm:ss.uuuuuuZ";
		goto bad;
	}
	e->time = g_strndup(f[1], fl[1]);
	char **texts[] = { &e->call, &e->source, &e->requested_target,
			   &e->resolved_target };
	for (size_t i = 0; i < G_N_ELEMENTS(texts); i++) {
		*texts[i] = unescape(f[2 + i], fl[2 + i]);
		if (*texts[i] == NULL) {
			why = "bad syntax: bad escape sequence";
			goto bad;
		}
	}
	if (!parse_action(f[6], fl[6], &e->action)) {
		why = "bad syntax: action is not allow, deny or ask";
		goto bad;
	}
	if (fl[7] == 4 && memcmp(f[7], "\\x2d", 4) == 0) {
		e->rule = g_strdup("-");        /* a rule named "-" */
	} else if (!(fl[7] == 1 && f[7][0] == '-')) {
		e->rule = unescape(f[7], fl[7]);
		if (e->rule == NULL) {
			why = "bad syntax: bad escape sequence";
			goto bad;
		}
	}
	if (!parse_hash(f[8], fl[8]) || !parse_hash(f[9], fl[9])) {
		why = "bad syntax: prev or hash is not 64 lowercase hex "
		      "digits";
		goto bad;
	}
	memcpy(e->prev, f[8], QM_AUDIT_HASH_HEX);
	memcpy(e->hash, f[9], QM_AUDIT_HASH_HEX);

	uint8_t h[HASH_BYTES];
	char hex[QM_AUDIT_HASH_HEX + 1];
	hash_bytes(untrusted, (size_t)(f[9] - untrusted), h);
	to_hex(h, hex);
	if (sodium_memcmp(hex, e->hash, QM_AUDIT_HASH_HEX) != 0) {
		set_chain_error(error, QM_AUDIT_ERROR_HASH, path, line_no,
				"hash mismatch: the record was edited");
		qm_audit_entry_finish(e);
		return false;
	}
	e->line = g_strndup(untrusted, len);
	return true;

bad:
	set_chain_error(error, QM_AUDIT_ERROR_SYNTAX, path, line_no, why);
	qm_audit_entry_finish(e);
	return false;
}

/* Does `e` follow the record whose seq is `seq` and line hash `prev`? */
static bool check_link(const struct qm_audit_entry *e, uint64_t seq,
		       const uint8_t prev[HASH_BYTES], const char *path,
		       GError **error)
{
	char hex[QM_AUDIT_HASH_HEX + 1];
	to_hex(prev, hex);
	if (strcmp(hex, e->prev) != 0) {
		set_chain_error(error, QM_AUDIT_ERROR_PREV, path, e->line_no,
				seq == 0 ?
				"prev mismatch: not the first record of a "
				"chain (records removed before it?)" :
				"prev mismatch: does not follow the record "
				"before it (removed, inserted or reordered "
				"records)");
		return false;
	}
	if (e->seq != seq + 1) {
		g_autofree char *why = g_strdup_printf(
			"seq gap: %" G_GUINT64_FORMAT " after %"
			G_GUINT64_FORMAT, e->seq, seq);
		set_chain_error(error, QM_AUDIT_ERROR_SEQ, path, e->line_no,
				why);
		return false;
	}
	return true;
}

/* --- reader ------------------------------------------------------------- */

struct qm_audit_reader *qm_audit_reader_create(const char *path,
					       GError **error)
{
	if (!init_sodium(error))
		return NULL;
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		int err = errno;
		g_set_error(error, QM_AUDIT_ERROR, QM_AUDIT_ERROR_IO,
			    "cannot open %s: %s", path, g_strerror(err));
		return NULL;
	}
	struct qm_audit_reader *r = g_new0(struct qm_audit_reader, 1);
	r->f = f;
	r->path = g_strdup(path);
	genesis(r->prev);
	return r;
}

void qm_audit_reader_destroy(struct qm_audit_reader *r)
{
	if (r == NULL)
		return;
	fclose(r->f);
	free(r->buf);
	g_free(r->path);
	g_free(r);
}

int qm_audit_reader_next(struct qm_audit_reader *r,
			 struct qm_audit_entry *entry, GError **error)
{
	memset(entry, 0, sizeof(*entry));
	if (r->done)
		return 0;
	errno = 0;
	ssize_t n = getline(&r->buf, &r->cap, r->f);
	if (n < 0) {
		r->done = true;
		if (ferror(r->f)) {
			int err = errno;
			g_set_error(error, QM_AUDIT_ERROR, QM_AUDIT_ERROR_IO,
				    "cannot read %s: %s", r->path,
				    g_strerror(err));
			return -1;
		}
		return 0;
	}
	r->line_no++;
	size_t len = (size_t)n;
	if (r->buf[len - 1] != '\n') {
		r->done = true;
		set_chain_error(error, QM_AUDIT_ERROR_TRUNCATED, r->path,
				r->line_no,
				"truncated last record (no newline; a write "
				"was interrupted)");
		return -1;
	}
	len--;
	if (memchr(r->buf, '\0', len) != NULL) {
		r->done = true;
		set_chain_error(error, QM_AUDIT_ERROR_SYNTAX, r->path,
				r->line_no, "bad syntax: NUL byte");
		return -1;
	}
	if (!parse_line(r->buf, len, entry, r->path, r->line_no, error) ||
	    !check_link(entry, r->seq, r->prev, r->path, error)) {
		qm_audit_entry_finish(entry);
		r->done = true;
		return -1;
	}
	r->seq = entry->seq;
	hash_bytes(r->buf, len, r->prev);
	return 1;
}

bool qm_audit_verify(const char *path, size_t *n_records, GError **error)
{
	size_t n = 0;
	int rc;
	g_autoptr(qm_audit_reader) r = qm_audit_reader_create(path, error);
	if (r == NULL)
		rc = -1;
	else {
		struct qm_audit_entry e;
		while ((rc = qm_audit_reader_next(r, &e, error)) > 0) {
			qm_audit_entry_finish(&e);
			n++;
		}
	}
	if (n_records != NULL)
		*n_records = n;
	return rc == 0;
}

/* --- writer ------------------------------------------------------------- */

static bool io_error(GError **error, const char *what, const char *path,
		     int err)
{
	g_set_error(error, QM_AUDIT_ERROR, QM_AUDIT_ERROR_IO, "cannot %s %s: %s",
		    what, path, g_strerror(err));
	return false;
}

static bool pread_all(int fd, char *buf, size_t len, off_t off)
{
	while (len > 0) {
		ssize_t n = pread(fd, buf, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;    /* the file shrank */
			return false;
		}
		buf += n;
		len -= (size_t)n;
		off += n;
	}
	return true;
}

/* Number of '\n' in the first `size` bytes of fd. */
static bool count_lines(int fd, off_t size, size_t *out)
{
	char buf[65536];
	size_t lines = 0;
	for (off_t off = 0; off < size;) {
		size_t want = (size_t)MIN((off_t)sizeof(buf), size - off);
		if (!pread_all(fd, buf, want, off))
			return false;
		for (const char *p = buf, *end = buf + want;
		     (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
			lines++;
		off += (off_t)want;
	}
	*out = lines;
	return true;
}

/* Start of the line that ends at `end`, not before `buf`. */
static const char *line_start(const char *buf, const char *end)
{
	const char *p = end;
	while (p > buf && p[-1] != '\n')
		p--;
	return p;
}

/*
 * Verifies the last record and its link to the one before it and loads
 * the chain state from it.  Reads the newlines of the whole file (to name
 * line numbers) but parses only the tail.
 */
static bool load_tail(struct qm_audit *a, GError **error)
{
	struct stat st;
	if (fstat(a->fd, &st) < 0)
		return io_error(error, "stat", a->path, errno);
	if (!S_ISREG(st.st_mode)) {
		g_set_error(error, QM_AUDIT_ERROR, QM_AUDIT_ERROR_IO,
			    "%s: not a regular file", a->path);
		return false;
	}
	a->size = st.st_size;
	a->seq = 0;
	genesis(a->prev);
	if (a->size == 0)
		return true;

	size_t lines;
	if (!count_lines(a->fd, a->size, &lines))
		return io_error(error, "read", a->path, errno);

	/* Two whole lines at most, plus the '\n' before them. */
	size_t want = (size_t)MIN((off_t)(2 * (QM_AUDIT_MAX_LINE + 1) + 1),
				  a->size);
	g_autofree char *tail = g_malloc(want);
	off_t tail_off = a->size - (off_t)want;
	if (!pread_all(a->fd, tail, want, tail_off))
		return io_error(error, "read", a->path, errno);
	if (tail[want - 1] != '\n') {
		set_chain_error(error, QM_AUDIT_ERROR_TRUNCATED, a->path,
				lines + 1,
				"truncated last record (no newline; a write "
				"was interrupted)");
		goto refuse;
	}

	const char *last_end = tail + want - 1;         /* its '\n' */
	const char *last = line_start(tail, last_end);
	if (last == tail && tail_off != 0) {
		set_chain_error(error, QM_AUDIT_ERROR_SYNTAX, a->path, lines,
				"bad syntax: line too long");
		goto refuse;
	}
	struct qm_audit_entry e;
	if (!parse_line(last, (size_t)(last_end - last), &e, a->path, lines,
			error))
		goto refuse;

	uint64_t want_seq = 0;
	uint8_t want_prev[HASH_BYTES];
	genesis(want_prev);
	if (lines > 1) {
		/* The last line is at most QM_AUDIT_MAX_LINE bytes, so a
		 * valid line before it is wholly in the tail. */
		const char *before_end = last - 1;
		const char *before = line_start(tail, before_end);
		size_t blen = (size_t)(before_end - before);
		struct qm_audit_entry b;
		if (before == tail && tail_off != 0) {
			set_chain_error(error, QM_AUDIT_ERROR_SYNTAX, a->path,
					lines - 1,
					"bad syntax: line too long");
			qm_audit_entry_finish(&e);
			goto refuse;
		}
		if (!parse_line(before, blen, &b, a->path, lines - 1,
				error)) {
			qm_audit_entry_finish(&e);
			goto refuse;
		}
		want_seq = b.seq;
		hash_bytes(before, blen, want_prev);
		qm_audit_entry_finish(&b);
	}
	if (!check_link(&e, want_seq, want_prev, a->path, error)) {
		qm_audit_entry_finish(&e);
		goto refuse;
	}
	a->seq = e.seq;
	hash_bytes(last, (size_t)(last_end - last), a->prev);
	qm_audit_entry_finish(&e);
	return true;

refuse:
	/* The message must still start with PATH:LINE. */
	if (error != NULL && *error != NULL) {
		char *m = g_strconcat((*error)->message, "; refusing to "
				      "continue this chain: check it with "
				      "qvm-audit verify and repair or move "
				      "the log aside", NULL);
		g_free((*error)->message);
		(*error)->message = m;
	}
	return false;
}

struct qm_audit *qm_audit_open(const char *path, GError **error)
{
	if (!init_sodium(error))
		return NULL;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
			    O_NOFOLLOW, 0600);
	if (fd < 0) {
		io_error(error, "open", path, errno);
		return NULL;
	}
	struct qm_audit *a = g_new0(struct qm_audit, 1);
	a->fd = fd;
	a->path = g_strdup(path);
	/* The chain state lives in this process: a second writer would
	 * fork the chain. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;
		if (err == EWOULDBLOCK)
			g_set_error(error, QM_AUDIT_ERROR,
				    QM_AUDIT_ERROR_LOCKED,
				    "%s: another process is writing this "
				    "audit log", path);
		else
			io_error(error, "lock", path, err);
		goto fail;
	}
	/* The write-only fd cannot be read: read the tail through a second
	 * one, safe from races now that we hold the lock. */
	int rfd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (rfd < 0) {
		io_error(error, "open", path, errno);
		goto fail;
	}
	int wfd = a->fd;
	a->fd = rfd;
	bool ok = load_tail(a, error);
	a->fd = wfd;
	close(rfd);
	if (!ok)
		goto fail;
	return a;
fail:
	qm_audit_close(a);
	return NULL;
}

uint64_t qm_audit_last_seq(const struct qm_audit *a)
{
	return a->seq;
}

void qm_audit_close(struct qm_audit *a)
{
	if (a == NULL)
		return;
	if (a->fd >= 0)
		close(a->fd);
	g_free(a->path);
	g_free(a);
}

static bool add_field(GString *line, const char *name, const char *value,
		      GError **error)
{
	size_t len = value ? strlen(value) : 0;
	if (len > QM_AUDIT_MAX_FIELD) {
		g_set_error(error, QM_AUDIT_ERROR, QM_AUDIT_ERROR_FIELD,
			    "audit record: %s is %zu bytes, at most %d "
			    "allowed", name, len, QM_AUDIT_MAX_FIELD);
		return false;
	}
	escape_into(line, value ? value : "", len);
	g_string_append_c(line, '\t');
	return true;
}

bool qm_audit_append(struct qm_audit *a, const struct qm_audit_record *rec,
		     GError **error)
{
	if (a->broken) {
		g_set_error(error, QM_AUDIT_ERROR, QM_AUDIT_ERROR_BROKEN,
			    "%s: an earlier write may not have reached the "
			    "disk; reopen the audit log", a->path);
		return false;
	}
	if ((size_t)rec->action >= G_N_ELEMENTS(action_names)) {
		g_set_error(error, QM_AUDIT_ERROR, QM_AUDIT_ERROR_FIELD,
			    "audit record: unknown action %d",
			    (int)rec->action);
		return false;
	}

	g_autoptr(GString) line = g_string_sized_new(512);
	char ts[TIME_LEN + 1];
	format_time(rec->time_us ? rec->time_us : g_get_real_time(), ts);
	g_string_append_printf(line, "%" G_GUINT64_FORMAT "\t%s\t",
			       a->seq + 1, ts);
	if (!add_field(line, "call", rec->call, error) ||
	    !add_field(line, "source", rec->source, error) ||
	    !add_field(line, "requested_target", rec->requested_target,
		       error) ||
	    !add_field(line, "resolved_target", rec->resolved_target, error))
		return false;
	g_string_append_printf(line, "%s\t", action_names[rec->action]);
	if (rec->rule == NULL) {
		g_string_append(line, "-\t");
	} else if (strcmp(rec->rule, "-") == 0) {
		g_string_append(line, "\\x2d\t");   /* not "no rule" */
	} else if (!add_field(line, "rule", rec->rule, error)) {
		return false;
	}
	char hex[QM_AUDIT_HASH_HEX + 1];
	to_hex(a->prev, hex);
	g_string_append_printf(line, "%s\t", hex);
	uint8_t h[HASH_BYTES];
	hash_bytes(line->str, line->len, h);
	to_hex(h, hex);
	g_string_append(line, hex);
	g_assert(line->len <= QM_AUDIT_MAX_LINE);

	uint8_t line_hash[HASH_BYTES];
	hash_bytes(line->str, line->len, line_hash);
	g_string_append_c(line, '\n');

	/* One write() for the whole line; if it comes up short (disk full)
	 * finishing it in more writes is still one record, but a failure
	 * leaves a torn line: cut it off again. */
	size_t done = 0;
	while (done < line->len) {
		ssize_t n = write(a->fd, line->str + done, line->len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? errno : EIO;
			if (done > 0 && ftruncate(a->fd, a->size) < 0)
				a->broken = true;
			return io_error(error, "write", a->path, err);
		}
		done += (size_t)n;
	}
	a->size += (off_t)line->len;
	a->seq++;
	memcpy(a->prev, line_hash, HASH_BYTES);
	if (fdatasync(a->fd) < 0) {
		a->broken = true;
		return io_error(error, "sync", a->path, errno);
	}
	return true;
}
