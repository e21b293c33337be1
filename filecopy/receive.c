/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qmgr-filecopy-receive: the qmgr.Filecopy service (Qubes'
 * qfile-unpacker).  Run by the guest agent as the receiving user, with the
 * stream from another qube on stdin; writes what it describes into
 * ~/Incoming/SOURCE/ and answers on stdout with a result (format.h).
 *
 * The stream is hostile.  decode.c checks names and structure; this file
 * makes sure the checked names are created where they say and nowhere
 * else: every entry is created relative to a descriptor of its directory,
 * which this program created itself in this transfer and opened with
 * O_NOFOLLOW, and only single components are ever looked up (no '/', '.'
 * or '..': the decoder refused those), so no symlink on the disk, old or
 * new, is followed.  (openat2's RESOLVE_BENEATH would add nothing on
 * single components relative to such a descriptor.)  Nothing that exists
 * is overwritten or merged into: an entry whose name is taken is refused.
 *
 *   qmgr-filecopy-receive [--max-entries N] [--max-bytes N] [--max-depth N]
 *                         [--reserve BYTES]
 *
 * Environment: QREXEC_REMOTE_DOMAIN (the sending qube, set by the agent),
 * HOME.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <glib.h>

#include "decode.h"
#include "encode.h"

#define PROG "qmgr-filecopy-receive"
/* Bytes kept free on the receiving file system, so a copy cannot fill the
 * qube's private volume to the last block. */
#define DEFAULT_RESERVE (UINT64_C(64) << 20)
/* Zero blocks of this size (aligned in the file) are left as holes. */
#define SPARSE_BLOCK 4096u
#define READ_SIZE (128u << 10)
/* Qubes' rule for qube names, as qmgrd checks them (qmgrd/vm.c). */
#define SOURCE_NAME_MAX 31

static const char help_text[] =
	"usage: " PROG " [OPTIONS]\n"
	"Receive files sent by qmgr-filecopy-send (the qmgr.Filecopy "
	"service) on stdin\n"
	"into ~/Incoming/$QREXEC_REMOTE_DOMAIN/ and write the result to "
	"stdout.\n"
	"Nothing there is overwritten: an entry whose name exists is "
	"refused.\n"
	"\n"
	"  --max-entries=N   refuse more than N entries (default 1000000)\n"
	"  --max-bytes=N     refuse more than N bytes of file contents "
	"(default 1 TiB)\n"
	"  --max-depth=N     refuse directories nested deeper than N "
	"(default 256)\n"
	"  --reserve=BYTES   refuse a file that would leave less than BYTES "
	"free\n"
	"                    (default 64 MiB)\n"
	"  -h, --help        show this help\n"
	"\n"
	"Exit status: 0 everything was received, 1 the transfer failed (the "
	"result says\n"
	"why; entries completed before stay), 2 usage error.\n";

/* An open directory of the transfer: its mode and time are set once its
 * entries are complete (they change its time, and its mode could keep
 * this program out). */
struct level {
	int fd;
	uint32_t perm;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
};

struct receiver {
	const char *source;
	mode_t umask;
	uint64_t reserve;
	GArray *levels;           /* struct level; [0]: ~/Incoming/SOURCE */
	uint64_t entries;         /* completed */

	/* the file being received, under a temporary name */
	int file_fd;              /* -1: none */
	char tmp_name[32];
	uint64_t file_off;

	enum qfc_result_code code;
	int error;
	char *name;               /* raw, of the failing entry */
	size_t name_len;
	char *message;
};

/* ---- errors ---- */

static bool fail(struct receiver *r, enum qfc_result_code code, int err,
		 const char *name, size_t name_len, const char *fmt, ...)
	G_GNUC_PRINTF(6, 7);
static bool fail(struct receiver *r, enum qfc_result_code code, int err,
		 const char *name, size_t name_len, const char *fmt, ...)
{
	va_list ap;

	if (r->code != QFC_RESULT_OK)
		return false;   /* the first error is the one reported */
	va_start(ap, fmt);
	r->message = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	r->code = code;
	r->error = err;
	r->name = g_strndup(name ? name : "", name ? name_len : 0);
	r->name_len = name ? name_len : 0;
	return false;
}

#define fail_path(r, code, err, path, ...) \
	fail((r), (code), (err), (path), strlen(path), __VA_ARGS__)

/* An errno from creating or writing: out of space, or another I/O error. */
static bool fail_errno(struct receiver *r, int err, const char *path,
		       const char *what)
{
	if (err == ENOSPC || err == EDQUOT)
		return fail_path(r, QFC_RESULT_NO_SPACE, err, path,
				 "%s: %s (the receiving qube's disk is full)",
				 what, g_strerror(err));
	return fail_path(r, QFC_RESULT_IO, err, path, "%s: %s", what,
			 g_strerror(err));
}

static bool fail_exists(struct receiver *r, const char *path)
{
	return fail_path(r, QFC_RESULT_EXISTS, EEXIST, path,
			 "it already exists in ~/Incoming/%s of the receiving "
			 "qube; nothing is overwritten: rename or remove it "
			 "there, or copy under another name",
			 r->source);
}

/* ---- helpers ---- */

static bool write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	return n > 0 && p[0] == 0 && memcmp(p, p + 1, n - 1) == 0;
}

static int top_fd(const struct receiver *r)
{
	return g_array_index(r->levels, struct level, r->levels->len - 1).fd;
}

/* Owner: read and write (and search, for directories) always, execute as
 * the sender had it; group and others: the sender's bits the user's umask
 * lets through.  No setuid, setgid or sticky bit (the decoder refused
 * them). */
static mode_t file_mode(const struct receiver *r, uint32_t perm)
{
	return (perm & 077 & ~r->umask) | 0600 | (perm & 0100);
}

static mode_t dir_mode(const struct receiver *r, uint32_t perm)
{
	return (perm & 077 & ~r->umask) | 0700;
}

static struct timespec mtime_of(int64_t sec, uint32_t nsec)
{
	return (struct timespec){ .tv_sec = (time_t)sec, .tv_nsec = nsec };
}

/* ---- entries ---- */

static bool on_dir(struct receiver *r, const struct qfc_event *ev)
{
	int parent = top_fd(r);

	if (mkdirat(parent, ev->name, 0700) < 0) {
		if (errno == EEXIST)
			return fail_exists(r, ev->path);
		return fail_errno(r, errno, ev->path, "cannot create the "
				  "directory");
	}
	int fd = openat(parent, ev->name,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return fail_errno(r, errno, ev->path, "cannot open the "
				  "directory just created");
	/* The umask may have taken bits this program needs meanwhile. */
	if (fchmod(fd, 0700) < 0) {
		int err = errno;
		close(fd);
		return fail_errno(r, err, ev->path, "cannot set its mode");
	}
	struct level l = {
		.fd = fd,
		.perm = ev->perm,
		.mtime_sec = ev->mtime_sec,
		.mtime_nsec = ev->mtime_nsec,
	};
	g_array_append_val(r->levels, l);
	r->entries++;
	return true;
}

static bool on_dir_end(struct receiver *r, const struct qfc_event *ev)
{
	g_assert(r->levels->len > 1);
	struct level l = g_array_index(r->levels, struct level,
				       r->levels->len - 1);
	g_array_set_size(r->levels, r->levels->len - 1);
	struct timespec times[2] = {
		{ .tv_nsec = UTIME_OMIT },
		mtime_of(l.mtime_sec, l.mtime_nsec),
	};
	bool ok = true;
	if (fchmod(l.fd, dir_mode(r, l.perm)) < 0)
		ok = fail_errno(r, errno, ev->path, "cannot set its mode");
	else if (futimens(l.fd, times) < 0)
		ok = fail_errno(r, errno, ev->path, "cannot set its time");
	close(l.fd);
	return ok;
}

static bool check_space(struct receiver *r, const struct qfc_event *ev)
{
	struct statvfs vfs;

	if (fstatvfs(top_fd(r), &vfs) < 0)
		return fail_errno(r, errno, ev->path, "cannot find out the "
				  "free space");
	uint64_t avail;
	if (__builtin_mul_overflow((uint64_t)vfs.f_bavail,
				   (uint64_t)vfs.f_frsize, &avail))
		avail = UINT64_MAX;
	if (ev->size <= avail && avail - ev->size >= r->reserve)
		return true;
	g_autofree char *size = g_format_size_full(ev->size,
						   G_FORMAT_SIZE_IEC_UNITS);
	g_autofree char *free_space = g_format_size_full(
		avail, G_FORMAT_SIZE_IEC_UNITS);
	g_autofree char *reserve = g_format_size_full(r->reserve,
						      G_FORMAT_SIZE_IEC_UNITS);
	return fail_path(r, QFC_RESULT_NO_SPACE, ENOSPC, ev->path,
			 "it does not fit: %s, and the receiving qube has %s "
			 "free, of which %s are kept free",
			 size, free_space, reserve);
}

static bool on_file(struct receiver *r, const struct qfc_event *ev)
{
	int parent = top_fd(r);
	struct stat st;

	/* Refused before its bytes arrive; the rename below decides. */
	if (fstatat(parent, ev->name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return fail_exists(r, ev->path);
	if (!check_space(r, ev))
		return false;
	/* A hidden temporary name: the file appears under its own name only
	 * once complete.  Random, since the stream may use any name. */
	for (int tries = 0; r->file_fd < 0; tries++) {
		snprintf(r->tmp_name, sizeof(r->tmp_name),
			 ".qmgr-filecopy-%08" PRIx32, g_random_int());
		r->file_fd = openat(parent, r->tmp_name,
				    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				    O_CLOEXEC | O_NOCTTY, 0600);
		if (r->file_fd < 0 && (errno != EEXIST || tries > 100))
			return fail_errno(r, errno, ev->path, "cannot create "
					  "a temporary file for it");
	}
	r->file_off = 0;
	return true;
}

/* Writes content, leaving aligned blocks of zeros as holes (a sparse disk
 * image stays sparse). */
static bool on_data(struct receiver *r, const struct qfc_event *ev)
{
	const uint8_t *p = ev->data;
	size_t len = ev->len;

	while (len > 0) {
		size_t first = MIN(len, SPARSE_BLOCK -
					(size_t)(r->file_off % SPARSE_BLOCK));
		size_t run = first;
		if (first == SPARSE_BLOCK && all_zero(p, first)) {
			while (len - run >= SPARSE_BLOCK &&
			       all_zero(p + run, SPARSE_BLOCK))
				run += SPARSE_BLOCK;
			if (lseek(r->file_fd, (off_t)run, SEEK_CUR) < 0)
				return fail_errno(r, errno, ev->path,
						  "cannot write it");
		} else {
			while (len - run >= SPARSE_BLOCK &&
			       !all_zero(p + run, SPARSE_BLOCK))
				run += SPARSE_BLOCK;
			if (!write_all(r->file_fd, p, run))
				return fail_errno(r, errno, ev->path,
						  "cannot write it");
		}
		r->file_off += run;
		p += run;
		len -= run;
	}
	return true;
}

/* Puts the temporary file in place unless the name is taken. */
static int rename_noreplace(int dir, const char *from, const char *to)
{
	if (renameat2(dir, from, dir, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	/* File systems without RENAME_NOREPLACE: a hard link fails on an
	 * existing name just the same. */
	if (linkat(dir, from, dir, to, 0) < 0)
		return -errno;
	unlinkat(dir, from, 0);
	return 0;
}

static void drop_temp_file(struct receiver *r)
{
	if (r->file_fd < 0)
		return;
	close(r->file_fd);
	r->file_fd = -1;
	unlinkat(top_fd(r), r->tmp_name, 0);
}

static bool on_file_end(struct receiver *r, const struct qfc_event *ev,
			uint64_t size, int64_t mtime_sec, uint32_t mtime_nsec,
			uint32_t perm)
{
	struct timespec times[2] = {
		{ .tv_nsec = UTIME_OMIT },
		mtime_of(mtime_sec, mtime_nsec),
	};

	/* The length, in case it ends in a hole. */
	if (ftruncate(r->file_fd, (off_t)size) < 0)
		return fail_errno(r, errno, ev->path, "cannot write it");
	if (fchmod(r->file_fd, file_mode(r, perm)) < 0)
		return fail_errno(r, errno, ev->path, "cannot set its mode");
	if (futimens(r->file_fd, times) < 0)
		return fail_errno(r, errno, ev->path, "cannot set its time");
	int fd = r->file_fd;
	r->file_fd = -1;
	if (close(fd) < 0) {
		int err = errno;
		unlinkat(top_fd(r), r->tmp_name, 0);
		return fail_errno(r, err, ev->path, "cannot write it");
	}
	int rc = rename_noreplace(top_fd(r), r->tmp_name, ev->name);
	if (rc < 0) {
		unlinkat(top_fd(r), r->tmp_name, 0);
		if (rc == -EEXIST)
			return fail_exists(r, ev->path);
		return fail_errno(r, -rc, ev->path, "cannot put it in place");
	}
	r->entries++;
	return true;
}

static bool on_symlink(struct receiver *r, const struct qfc_event *ev)
{
	int parent = top_fd(r);
	struct timespec times[2] = {
		{ .tv_nsec = UTIME_OMIT },
		mtime_of(ev->mtime_sec, ev->mtime_nsec),
	};

	if (symlinkat(ev->target, parent, ev->name) < 0) {
		if (errno == EEXIST)
			return fail_exists(r, ev->path);
		return fail_errno(r, errno, ev->path, "cannot create the "
				  "symlink");
	}
	if (utimensat(parent, ev->name, times, AT_SYMLINK_NOFOLLOW) < 0)
		return fail_errno(r, errno, ev->path, "cannot set its time");
	r->entries++;
	return true;
}

/* ---- the transfer ---- */

/* The file's header fields, kept for FILE_END (events point into the
 * decoder, which has moved on by then). */
struct file_meta {
	uint64_t size;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	uint32_t perm;
};

static bool on_event(struct receiver *r, const struct qfc_event *ev,
		     struct file_meta *file)
{
	switch (ev->type) {
	case QFC_EVENT_DIR:
		return on_dir(r, ev);
	case QFC_EVENT_DIR_END:
		return on_dir_end(r, ev);
	case QFC_EVENT_FILE:
		*file = (struct file_meta){ ev->size, ev->mtime_sec,
					    ev->mtime_nsec, ev->perm };
		return on_file(r, ev);
	case QFC_EVENT_DATA:
		return on_data(r, ev);
	case QFC_EVENT_FILE_END:
		return on_file_end(r, ev, file->size, file->mtime_sec,
				   file->mtime_nsec, file->perm);
	case QFC_EVENT_SYMLINK:
		return on_symlink(r, ev);
	case QFC_EVENT_END:
		return true;
	}
	g_assert_not_reached();
}

static bool decoder_failed(struct receiver *r, struct qfc_decoder *d)
{
	size_t len;
	const char *name = qfc_decoder_error_name(d, &len);
	return fail(r, qfc_decoder_error_code(d), 0, name, len, "%s",
		    qfc_decoder_error(d));
}

/* Reads and applies the stream until its end marker or an error. */
static bool receive(struct receiver *r, struct qfc_decoder *d)
{
	g_autofree uint8_t *buf = g_malloc(READ_SIZE);
	struct file_meta file = { 0 };

	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, READ_SIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(r, QFC_RESULT_IO, errno, NULL, 0,
				    "cannot read the stream: %s",
				    g_strerror(errno));
		if (n == 0) {
			if (!qfc_decoder_finish(d))
				return decoder_failed(r, d);
			return true;
		}
		size_t off = 0;
		for (;;) {
			struct qfc_event ev;
			size_t used;
			enum qfc_status st = qfc_decoder_feed(
				d, buf + off, (size_t)n - off, &used, &ev);
			off += used;
			if (st == QFC_NEED_MORE)
				break;
			if (st == QFC_ERROR)
				return decoder_failed(r, d);
			if (!on_event(r, &ev, &file))
				return false;
			/* Done: what may follow is not read. */
			if (ev.type == QFC_EVENT_END)
				return true;
		}
	}
}

static const char *source_check(const char *s)
{
	size_t len = strlen(s);

	if (len == 0)
		return "is empty";
	if (len > SOURCE_NAME_MAX)
		return "is longer than 31 characters";
	if (!g_ascii_isalpha(s[0]))
		return "does not start with a letter";
	for (size_t i = 0; i < len; i++)
		if (!g_ascii_isalnum(s[i]) && s[i] != '_' && s[i] != '.' &&
		    s[i] != '-')
			return "has characters other than letters, digits, "
			       "'_', '.' and '-'";
	return NULL;
}

/* Opens (creating it 0700 if missing) directory `name` in `dir`, never
 * through a symlink. */
static int open_subdir(int dir, const char *name, const char *shown,
		       struct receiver *r)
{
	if (mkdirat(dir, name, 0700) < 0 && errno != EEXIST) {
		fail(r, QFC_RESULT_SETUP, errno, NULL, 0,
		     "cannot create %s: %s", shown, g_strerror(errno));
		return -1;
	}
	int fd = openat(dir, name,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		if (err == ELOOP || err == ENOTDIR)
			fail(r, QFC_RESULT_SETUP, err, NULL, 0,
			     "%s is not a directory (symlinks are not "
			     "followed there): move it away in the receiving "
			     "qube",
			     shown);
		else
			fail(r, QFC_RESULT_SETUP, err, NULL, 0,
			     "cannot open %s: %s", shown, g_strerror(err));
	}
	return fd;
}

/* ~/Incoming/SOURCE, the transfer's root. */
static int open_root(struct receiver *r)
{
	const char *home = g_getenv("HOME");

	if (home == NULL || home[0] != '/') {
		fail(r, QFC_RESULT_SETUP, 0, NULL, 0,
		     "HOME is not set to an absolute path in the receiving "
		     "qube");
		return -1;
	}
	/* HOME itself is the user's to place (a symlink to /rw/home, say);
	 * only what is below it is created by this program. */
	int home_fd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (home_fd < 0) {
		fail(r, QFC_RESULT_SETUP, errno, NULL, 0,
		     "cannot open the home directory %s: %s", home,
		     g_strerror(errno));
		return -1;
	}
	int incoming = open_subdir(home_fd, "Incoming", "~/Incoming", r);
	close(home_fd);
	if (incoming < 0)
		return -1;
	g_autofree char *shown = g_strdup_printf("~/Incoming/%s", r->source);
	int root = open_subdir(incoming, r->source, shown, r);
	close(incoming);
	return root;
}

static void send_result(struct receiver *r, struct qfc_decoder *d)
{
	g_autoptr(GBytes) res = qfc_result_encode(
		r->code, r->error, r->entries, d ? qfc_decoder_bytes(d) : 0,
		r->name, r->name_len, r->message);
	gsize len;
	const void *p = g_bytes_get_data(res, &len);
	/* EPIPE: the sender has gone (it stops before sending when it finds
	 * a problem itself, and says so). */
	if (!write_all(STDOUT_FILENO, p, len) && errno != EPIPE)
		fprintf(stderr, "%s: cannot send the result to the sender: "
			"%s\n", PROG, g_strerror(errno));
}

static void log_failure(const struct receiver *r)
{
	g_autofree char *source = qfc_escape(r->source ? r->source : "",
					     r->source ? strlen(r->source) : 0);
	g_autofree char *message = qfc_escape_message(r->message);
	if (r->name_len > 0) {
		g_autofree char *name = qfc_escape(r->name, r->name_len);
		fprintf(stderr, "%s: from '%s': '%s': %s\n", PROG, source,
			name, message);
	} else {
		fprintf(stderr, "%s: from '%s': %s\n", PROG, source, message);
	}
}

int main(int argc, char **argv)
{
	struct receiver r = { .file_fd = -1, .reserve = DEFAULT_RESERVE };
	struct qfc_limits limits;
	gboolean help = FALSE;
	gint64 max_entries = -1, max_bytes = -1, max_depth = -1, reserve = -1;
	GOptionEntry entries[] = {
		{ "max-entries", 0, 0, G_OPTION_ARG_INT64, &max_entries, NULL,
		  NULL },
		{ "max-bytes", 0, 0, G_OPTION_ARG_INT64, &max_bytes, NULL,
		  NULL },
		{ "max-depth", 0, 0, G_OPTION_ARG_INT64, &max_depth, NULL,
		  NULL },
		{ "reserve", 0, 0, G_OPTION_ARG_INT64, &reserve, NULL, NULL },
		{ "help", 'h', 0, G_OPTION_ARG_NONE, &help, NULL, NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
	g_autoptr(GError) err = NULL;
	struct qfc_decoder *d = NULL;
	int status = EXIT_FAILURE;

	/* A sender that went away must not kill the answer's writer. */
	signal(SIGPIPE, SIG_IGN);
	mode_t mask = umask(0);
	umask(mask);
	r.umask = mask;
	r.levels = g_array_new(FALSE, FALSE, sizeof(struct level));

	g_option_context_set_help_enabled(ctx, FALSE);
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &err) || argc > 1 ||
	    (max_depth > (gint64)UINT32_MAX)) {
		fprintf(stderr, "%s: %s\nTry '%s --help' for more.\n", PROG,
			err ? err->message : "unexpected arguments (or "
			"--max-depth too large)", PROG);
		status = 2;
		goto out;
	}
	if (help) {
		fputs(help_text, stdout);
		status = EXIT_SUCCESS;
		goto out;
	}
	qfc_limits_init(&limits);
	if (max_entries >= 0)
		limits.max_entries = (uint64_t)max_entries;
	if (max_bytes >= 0)
		limits.max_bytes = (uint64_t)max_bytes;
	if (max_depth >= 0)
		limits.max_depth = (uint32_t)max_depth;
	if (reserve >= 0)
		r.reserve = (uint64_t)reserve;

	r.source = g_getenv("QREXEC_REMOTE_DOMAIN");
	const char *why = r.source ? source_check(r.source)
				   : "is not set: " PROG " is the "
				     "qmgr.Filecopy service, started by the "
				     "qube's agent";
	if (why != NULL) {
		g_autofree char *shown = qfc_escape(
			r.source ? r.source : "", r.source ? strlen(r.source)
							   : 0);
		fail(&r, QFC_RESULT_SETUP, 0, NULL, 0,
		     "the sending qube's name (QREXEC_REMOTE_DOMAIN='%s') %s",
		     shown, why);
		goto answer;
	}
	int root = open_root(&r);
	if (root < 0)
		goto answer;
	struct level top = { .fd = root };
	g_array_append_val(r.levels, top);

	d = qfc_decoder_create(&limits);
	if (receive(&r, d) && syncfs(root) < 0)
		fail(&r, QFC_RESULT_IO, errno, NULL, 0,
		     "cannot sync the received files to disk: %s",
		     g_strerror(errno));
	drop_temp_file(&r);

answer:
	send_result(&r, d);
	if (r.code == QFC_RESULT_OK)
		status = EXIT_SUCCESS;
	else
		log_failure(&r);
out:
	for (guint i = 0; i < r.levels->len; i++)
		close(g_array_index(r.levels, struct level, i).fd);
	g_array_free(r.levels, TRUE);
	qfc_decoder_destroy(d);
	g_free(r.name);
	g_free(r.message);
	return status;
}
