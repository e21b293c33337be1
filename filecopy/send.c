/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qmgr-filecopy-send: the sending side of qmgr.Filecopy (Qubes'
 * qfile-agent), behind qvm-copy, qvm-move and qvm-copy-to-vm.  Writes the
 * named files and directory trees as one stream (format.h) on stdout,
 * then reads the receiver's result on stdin and reports it.  With --move
 * it removes what it sent, and only that, once the receiver has confirmed
 * that everything arrived.
 *
 *   qmgr-filecopy-send [--move] [--prog=NAME] [--] FILE...
 *
 * Everything is listed and checked before the first byte is sent (names,
 * types, symlink targets, limits), so a copy the receiver would refuse
 * for its form fails here with the local name, and nothing is sent.
 * Symlinks are copied as symlinks, never followed (those named on the
 * command line too).  The result comes from another qube: it is decoded
 * by decode.c and shown escaped.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib.h>

#include "decode.h"
#include "encode.h"

#define SYNOPSIS "qmgr-filecopy-send [--move] [--prog=NAME] [--] FILE..."
#define OUT_BUF (64u << 10)
#define RESULT_MAX (sizeof(struct qfc_result_header) + QFC_PATH_MAX + \
		    QFC_MESSAGE_MAX)

static const char help_text[] =
	"usage: " SYNOPSIS "\n"
	"Send FILEs and directory trees as a qmgr.Filecopy stream on stdout "
	"and read\n"
	"the receiver's result on stdin (qvm-copy, qvm-move and "
	"qvm-copy-to-vm run it\n"
	"connected to the qmgr.Filecopy service of the target).  Symlinks "
	"are copied as\n"
	"symlinks and must stay inside the copied files.\n"
	"\n"
	"  --move        remove the sent files once the receiver has them "
	"all\n"
	"  --prog=NAME   name to start messages with (default qvm-copy, or "
	"qvm-move)\n"
	"  -h, --help    show this help\n"
	"\n"
	"Exit status: 0 everything was copied (and with --move removed), 1 "
	"the copy\n"
	"failed or was refused (with --move nothing is removed), 2 usage "
	"error.\n";

static const char *prog = "qvm-copy";

struct entry {
	char *src;               /* where it is: the argument + the rest */
	char *name;              /* its name in the stream */
	uint32_t mode;           /* QFC_TYPE_* | permission bits */
	uint64_t size;           /* files: content bytes */
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	dev_t dev;
	ino_t ino;
	char *target;            /* symlinks */
	int parent;              /* index of its directory, or -1 */
};

struct sender {
	GArray *entries;         /* struct entry, in stream order */
	struct qfc_limits limits;
	uint64_t total_size;
	bool listing_failed;

	/* output */
	uint8_t *buf;
	size_t buf_len;
	uint64_t sent;           /* stream bytes written */
	bool peer_gone;          /* the receiver answered or went away */
};

static void entry_clear(struct entry *e)
{
	g_free(e->src);
	g_free(e->name);
	g_free(e->target);
}

static void complain(const char *src, const char *fmt, ...)
	G_GNUC_PRINTF(2, 3);
static void complain(const char *src, const char *fmt, ...)
{
	va_list ap;
	g_autofree char *shown = qfc_escape(src, strlen(src));

	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: cannot copy '%s': %s\n", prog, shown, msg);
}

/* ---- listing ---- */

static const char *type_word(mode_t mode)
{
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	return "of an unknown type";
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_tree(struct sender *s, const char *src, const char *name,
		      int parent, unsigned depth);

/* Lists the entries of directory `src` (entry `index`), sorted by name
 * bytes as the stream wants them. */
static void list_dir(struct sender *s, int index, unsigned depth)
{
	struct entry *e = &g_array_index(s->entries, struct entry, index);
	g_autofree char *src = g_strdup(e->src);
	g_autofree char *name = g_strdup(e->name);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);

	DIR *dir = opendir(src);
	if (dir == NULL) {
		complain(src, "cannot read the directory: %s",
			 g_strerror(errno));
		s->listing_failed = true;
		return;
	}
	struct dirent *de;
	errno = 0;
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		g_ptr_array_add(names, g_strdup(de->d_name));
		errno = 0;
	}
	if (errno != 0) {
		complain(src, "cannot read the directory: %s",
			 g_strerror(errno));
		s->listing_failed = true;
	}
	closedir(dir);
	if (names->len > 1)
		qsort(names->pdata, names->len, sizeof(char *), cmp_names);
	for (guint i = 0; i < names->len; i++) {
		const char *child = g_ptr_array_index(names, i);
		g_autofree char *child_src = g_build_filename(src, child, NULL);
		g_autofree char *child_name = g_strconcat(name, "/", child,
							  NULL);
		list_tree(s, child_src, child_name, index, depth + 1);
	}
}

static void list_tree(struct sender *s, const char *src, const char *name,
		      int parent, unsigned depth)
{
	struct stat st;

	if (lstat(src, &st) < 0) {
		complain(src, "%s", g_strerror(errno));
		s->listing_failed = true;
		return;
	}
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) &&
	    !S_ISLNK(st.st_mode)) {
		complain(src, "it is %s: only directories, regular files and "
			 "symlinks can be copied", type_word(st.st_mode));
		s->listing_failed = true;
		return;
	}
	/* The receiver would refuse these; say so with the local name. */
	const char *why = qfc_path_check(name, strlen(name));
	if (why != NULL) {
		complain(src, "%s: rename it", why);
		s->listing_failed = true;
		return;
	}
	struct entry e = {
		.src = g_strdup(src),
		.name = g_strdup(name),
		.mtime_sec = st.st_mtim.tv_sec,
		.mtime_nsec = (uint32_t)st.st_mtim.tv_nsec,
		.dev = st.st_dev,
		.ino = st.st_ino,
		.parent = parent,
	};
	if (S_ISDIR(st.st_mode)) {
		e.mode = QFC_TYPE_DIR | (st.st_mode & QFC_PERM_MASK);
		if (depth >= s->limits.max_depth) {
			complain(src, "it is nested more than %" PRIu32
				 " directories deep, which the receiver "
				 "refuses", s->limits.max_depth);
			s->listing_failed = true;
			entry_clear(&e);
			return;
		}
	} else if (S_ISREG(st.st_mode)) {
		e.mode = QFC_TYPE_FILE | (st.st_mode & QFC_PERM_MASK);
		e.size = (uint64_t)st.st_size;
		s->total_size += e.size;
	} else {
		e.mode = QFC_TYPE_SYMLINK;
		char target[QFC_PATH_MAX + 2];
		ssize_t n = readlink(src, target, sizeof(target));
		if (n < 0 || (size_t)n > QFC_PATH_MAX) {
			complain(src, "cannot read the symlink: %s",
				 n < 0 ? g_strerror(errno) : "target too long");
			s->listing_failed = true;
			entry_clear(&e);
			return;
		}
		e.target = g_strndup(target, (size_t)n);
		e.size = (uint64_t)n;
		why = qfc_symlink_target_check(name, e.target, (size_t)n);
		if (why != NULL) {
			g_autofree char *shown = qfc_escape(e.target,
							    (size_t)n);
			complain(src, "it is a symlink whose target '%s' %s",
				 shown, why);
			s->listing_failed = true;
			entry_clear(&e);
			return;
		}
	}
	g_array_append_val(s->entries, e);
	if (S_ISDIR(st.st_mode))
		list_dir(s, (int)s->entries->len - 1, depth);
}

/* The name an argument gets in the stream: its last component. */
static char *top_name(const char *arg)
{
	g_autofree char *trimmed = g_strdup(arg);
	size_t len = strlen(trimmed);
	while (len > 1 && trimmed[len - 1] == '/')
		trimmed[--len] = '\0';
	g_autofree char *base = g_path_get_basename(trimmed);
	if (strcmp(base, ".") != 0 && strcmp(base, "..") != 0)
		return g_steal_pointer(&base);
	/* "." or "..": the directory's own name */
	g_autofree char *real = realpath(trimmed, NULL);
	if (real == NULL)
		return NULL;
	return g_path_get_basename(real);
}

struct arg {
	const char *src;
	char *name;
};

static int cmp_args(const void *a, const void *b)
{
	return strcmp(((const struct arg *)a)->name,
		      ((const struct arg *)b)->name);
}

static bool list_all(struct sender *s, char **files)
{
	guint n = g_strv_length(files);
	g_autofree struct arg *args = g_new0(struct arg, n);
	bool ok = true;

	for (guint i = 0; i < n; i++) {
		args[i].src = files[i];
		args[i].name = top_name(files[i]);
		if (args[i].name == NULL) {
			complain(files[i], "%s", g_strerror(errno));
			ok = false;
		} else if (strcmp(args[i].name, "/") == 0) {
			complain(files[i], "the root directory cannot be "
				 "copied; name what is in it");
			ok = false;
		}
	}
	if (ok) {
		/* The stream wants its top-level names in order, once. */
		qsort(args, n, sizeof(*args), cmp_args);
		for (guint i = 1; i < n; i++) {
			if (strcmp(args[i - 1].name, args[i].name) != 0)
				continue;
			g_autofree char *other = qfc_escape(
				args[i - 1].src, strlen(args[i - 1].src));
			complain(args[i].src, "'%s' has the same name; copy "
				 "them one at a time", other);
			ok = false;
		}
	}
	for (guint i = 0; ok && i < n; i++)
		list_tree(s, args[i].src, args[i].name, -1, 0);
	for (guint i = 0; i < n; i++)
		g_free(args[i].name);
	if (!ok || s->listing_failed)
		return false;

	if (s->entries->len > s->limits.max_entries) {
		fprintf(stderr, "%s: cannot copy %u entries: the receiver "
			"takes at most %" PRIu64 " at a time\n", prog,
			s->entries->len, s->limits.max_entries);
		return false;
	}
	if (s->total_size > s->limits.max_bytes) {
		g_autofree char *size = g_format_size_full(
			s->total_size, G_FORMAT_SIZE_IEC_UNITS);
		g_autofree char *max = g_format_size_full(
			s->limits.max_bytes, G_FORMAT_SIZE_IEC_UNITS);
		fprintf(stderr, "%s: cannot copy %s: the receiver takes at "
			"most %s at a time\n", prog, size, max);
		return false;
	}
	return true;
}

/* ---- output ---- */

/*
 * Writes everything, unless the receiver answers first (it has stopped
 * reading: an error) or goes away; then false with s->peer_gone.  stdout
 * stays blocking: it may be shared with others, and a pipe that polls
 * writable takes a page without blocking.
 */
static bool write_out(struct sender *s, const uint8_t *p, size_t len)
{
	while (len > 0 && !s->peer_gone) {
		struct pollfd fds[2] = {
			{ .fd = STDOUT_FILENO, .events = POLLOUT },
			{ .fd = STDIN_FILENO, .events = POLLIN },
		};
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			s->peer_gone = true;
			break;
		}
		if (fds[1].revents) {
			s->peer_gone = true;
			break;
		}
		if (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
			s->peer_gone = true;
			break;
		}
		if (!(fds[0].revents & POLLOUT))
			continue;
		ssize_t n = write(STDOUT_FILENO, p, len);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			s->peer_gone = true;
			break;
		}
		p += n;
		len -= (size_t)n;
		s->sent += (uint64_t)n;
	}
	return len == 0;
}

static bool flush_out(struct sender *s)
{
	bool ok = write_out(s, s->buf, s->buf_len);
	s->buf_len = 0;
	return ok;
}

static bool emit(struct sender *s, const void *p, size_t len)
{
	if (len >= OUT_BUF / 2)
		return flush_out(s) && write_out(s, p, len);
	if (s->buf_len + len > OUT_BUF && !flush_out(s))
		return false;
	memcpy(s->buf + s->buf_len, p, len);
	s->buf_len += len;
	return true;
}

static bool emit_header(struct sender *s, const struct entry *e,
			uint64_t size, int64_t mtime_sec, uint32_t mtime_nsec)
{
	uint8_t h[QFC_ENTRY_HEADER_SIZE];
	size_t name_len = strlen(e->name);

	qfc_entry_header_encode(h, e->mode, (uint32_t)name_len, size,
				mtime_sec, mtime_nsec);
	return emit(s, h, sizeof(h)) && emit(s, e->name, name_len);
}

/*
 * Sends a file's header and exactly the size it had when it was listed.
 * False with *failed set when the file itself failed (reported here);
 * false alone when the receiver went away.
 */
static bool send_file(struct sender *s, const struct entry *e, bool *failed)
{
	struct stat st;

	/* O_NONBLOCK: if the name has become a FIFO, do not hang on it. */
	int fd = open(e->src, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
			      O_CLOEXEC);
	if (fd < 0) {
		complain(e->src, "%s", g_strerror(errno));
		*failed = true;
		return false;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_dev != e->dev || st.st_ino != e->ino ||
	    (uint64_t)st.st_size != e->size) {
		complain(e->src, "it changed while the copy was being "
			 "prepared; try again");
		close(fd);
		*failed = true;
		return false;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (!emit_header(s, e, e->size, st.st_mtim.tv_sec,
			 (uint32_t)st.st_mtim.tv_nsec)) {
		close(fd);
		return false;
	}
	g_autofree uint8_t *buf = g_malloc(OUT_BUF);
	uint64_t left = e->size;
	while (left > 0) {
		ssize_t n = read(fd, buf, (size_t)MIN(left, OUT_BUF));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			complain(e->src, "%s", n < 0 ? g_strerror(errno)
				 : "it shrank while it was being copied");
			close(fd);
			*failed = true;
			return false;
		}
		if (!emit(s, buf, (size_t)n)) {
			close(fd);
			return false;
		}
		left -= (uint64_t)n;
	}
	struct stat after;
	bool changed = fstat(fd, &after) < 0 || after.st_size != st.st_size ||
		       after.st_mtim.tv_sec != st.st_mtim.tv_sec ||
		       after.st_mtim.tv_nsec != st.st_mtim.tv_nsec;
	close(fd);
	if (changed) {
		complain(e->src, "it changed while it was being copied");
		*failed = true;
		return false;
	}
	return true;
}

/* Sends the stream; false if it could not be sent whole (*failed: for a
 * reason reported here). */
static bool send_stream(struct sender *s, bool *failed)
{
	uint8_t h[QFC_ENTRY_HEADER_SIZE];

	qfc_stream_header_encode(h);
	if (!emit(s, h, QFC_STREAM_HEADER_SIZE))
		return false;
	for (guint i = 0; i < s->entries->len; i++) {
		const struct entry *e = &g_array_index(s->entries, struct entry,
						       i);
		bool ok;
		switch (e->mode & QFC_TYPE_MASK) {
		case QFC_TYPE_FILE:
			ok = send_file(s, e, failed);
			break;
		case QFC_TYPE_SYMLINK:
			ok = emit_header(s, e, e->size, e->mtime_sec,
					 e->mtime_nsec) &&
			     emit(s, e->target, e->size);
			break;
		default:
			ok = emit_header(s, e, 0, e->mtime_sec, e->mtime_nsec);
			break;
		}
		if (!ok) {
			/* What came before is complete: let it land. */
			if (*failed)
				flush_out(s);
			return false;
		}
	}
	qfc_end_marker_encode(h);
	return emit(s, h, sizeof(h)) && flush_out(s);
}

/* ---- the result ---- */

/* Reads the receiver's result; false (reported) if there is none. */
static bool read_result(struct qfc_result *res)
{
	g_autofree uint8_t *buf = g_malloc(RESULT_MAX);
	size_t have = 0;

	for (;;) {
		size_t used;
		g_autoptr(GError) err = NULL;
		enum qfc_status st = qfc_result_decode(buf, have, &used, res,
						       &err);
		if (st == QFC_EVENT)
			return true;
		if (st == QFC_ERROR) {
			g_autofree char *shown = qfc_escape_message(
				err->message);
			fprintf(stderr, "%s: the receiving qube broke the "
				"protocol: %s\n", prog, shown);
			return false;
		}
		if (have == RESULT_MAX)
			break;
		ssize_t n = read(STDIN_FILENO, buf + have, RESULT_MAX - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "%s: cannot read the receiving qube's "
				"answer: %s\n", prog, g_strerror(errno));
			return false;
		}
		if (n == 0)
			break;
		have += (size_t)n;
	}
	fprintf(stderr, "%s: the receiving qube did not answer (is "
		"qmgr.Filecopy allowed for it, and its receiver installed?); "
		"the copy may be incomplete\n", prog);
	return false;
}

static const struct entry *find_entry(const struct sender *s,
				      const char *name)
{
	for (guint i = 0; i < s->entries->len; i++) {
		const struct entry *e = &g_array_index(s->entries,
						       struct entry, i);
		if (strcmp(e->name, name) == 0)
			return e;
	}
	return NULL;
}

static void report_failure(const struct sender *s,
			   const struct qfc_result *res)
{
	g_autofree char *message = qfc_escape_message(res->message);
	if (res->name_len == 0) {
		fprintf(stderr, "%s: the receiving qube refused the copy: %s\n",
			prog, message);
		return;
	}
	/* Its name there, turned back into the one given here. */
	const struct entry *e = find_entry(s, res->name);
	if (e != NULL)
		complain(e->src, "%s", message);
	else
		complain(res->name, "%s", message);
}

/* ---- --move ---- */

/* Whether what is at e->src now is what was sent. */
static bool unchanged(const struct entry *e, const struct stat *st)
{
	if (st->st_dev != e->dev || st->st_ino != e->ino ||
	    (st->st_mode & S_IFMT) != (e->mode & QFC_TYPE_MASK))
		return false;
	if ((e->mode & QFC_TYPE_MASK) == QFC_TYPE_DIR)
		return true;   /* its time changes as its entries go */
	return (uint64_t)st->st_size == e->size &&
	       st->st_mtim.tv_sec == e->mtime_sec &&
	       (uint32_t)st->st_mtim.tv_nsec == e->mtime_nsec;
}

/* Removes what was sent, entries before their directories.  What changed
 * since is kept, and so are the directories around it. */
static bool remove_sent(struct sender *s)
{
	guint n = s->entries->len;
	g_autofree bool *keep = g_new0(bool, n);
	bool ok = true;

	for (guint i = n; i-- > 0;) {
		const struct entry *e = &g_array_index(s->entries, struct entry,
						       i);
		struct stat st;
		if (keep[i]) {
			/* an entry inside was kept and reported */
		} else if (lstat(e->src, &st) < 0 || !unchanged(e, &st)) {
			g_autofree char *shown = qfc_escape(e->src,
							    strlen(e->src));
			fprintf(stderr, "%s: not removing '%s': it changed "
				"after it was copied\n", prog, shown);
			keep[i] = true;
		} else if ((S_ISDIR(st.st_mode) ? rmdir(e->src)
						: unlink(e->src)) < 0) {
			g_autofree char *shown = qfc_escape(e->src,
							    strlen(e->src));
			fprintf(stderr, "%s: cannot remove '%s': %s%s\n", prog,
				shown, g_strerror(errno),
				errno == ENOTEMPTY ? " (entries were added "
				"after it was copied)" : "");
			keep[i] = true;
		}
		if (keep[i]) {
			ok = false;
			if (e->parent >= 0)
				keep[e->parent] = true;
		}
	}
	return ok;
}

int main(int argc, char **argv)
{
	gboolean help = FALSE, move = FALSE;
	char *prog_opt = NULL;
	char **files = NULL;
	GOptionEntry options[] = {
		{ "move", 0, 0, G_OPTION_ARG_NONE, &move, NULL, NULL },
		{ "prog", 0, 0, G_OPTION_ARG_STRING, &prog_opt, NULL, NULL },
		{ "help", 'h', 0, G_OPTION_ARG_NONE, &help, NULL, NULL },
		{ G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files,
		  NULL, NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
	g_autoptr(GError) err = NULL;
	struct sender s = { 0 };
	struct qfc_result res = { 0 };
	int status = 2;

	s.entries = g_array_new(FALSE, FALSE, sizeof(struct entry));
	g_array_set_clear_func(s.entries, (GDestroyNotify)entry_clear);
	qfc_limits_init(&s.limits);

	g_option_context_set_help_enabled(ctx, FALSE);
	g_option_context_add_main_entries(ctx, options, NULL);
	bool parsed = g_option_context_parse(ctx, &argc, &argv, &err);
	prog = prog_opt ? prog_opt : move ? "qvm-move" : "qvm-copy";
	if (!parsed) {
		fprintf(stderr, "%s: %s\nusage: %s\n", prog, err->message,
			SYNOPSIS);
		goto out;
	}
	if (help) {
		fputs(help_text, stdout);
		status = 0;
		goto out;
	}
	if (files == NULL || files[0] == NULL) {
		fprintf(stderr, "%s: name the files to copy\nusage: %s\n",
			prog, SYNOPSIS);
		goto out;
	}
	if (isatty(STDOUT_FILENO)) {
		fprintf(stderr, "%s: stdout is a terminal: this program writes "
			"a binary stream for the qmgr.Filecopy service (use "
			"qvm-copy or qvm-copy-to-vm)\n", prog);
		goto out;
	}

	status = 1;
	/* The receiver closing its end must not kill this program before it
	 * has read the reason. */
	signal(SIGPIPE, SIG_IGN);
	if (!list_all(&s, files)) {
		/* Nothing is sent; the receiver sees an empty stream. */
		if (move)
			fprintf(stderr, "%s: nothing was copied or removed\n",
				prog);
		goto out;
	}

	s.buf = g_malloc(OUT_BUF);
	bool failed = false;
	bool complete = send_stream(&s, &failed);
	/* The end of the stream, also when it stopped short. */
	close(STDOUT_FILENO);
	bool answered = read_result(&res);
	if (failed) {
		/* Reported already; the receiver's answer only says the
		 * stream stopped. */
	} else if (!answered) {
	} else if (res.code != QFC_RESULT_OK) {
		report_failure(&s, &res);
	} else if (!complete || res.entries != s.entries->len ||
		   res.bytes != s.sent) {
		fprintf(stderr, "%s: the receiving qube reports success with "
			"%" PRIu64 " entries and %" PRIu64 " bytes, but %u "
			"entries and %" PRIu64 " bytes were sent\n", prog,
			res.entries, res.bytes, s.entries->len, s.sent);
	} else {
		status = 0;
		if (move && !remove_sent(&s))
			status = 1;
		goto out;
	}
	if (move)
		fprintf(stderr, "%s: nothing was removed: the copy did not "
			"complete\n", prog);
out:
	qfc_result_clear(&res);
	g_array_free(s.entries, TRUE);
	g_free(s.buf);
	g_strfreev(files);
	g_free(prog_opt);
	return status;
}
