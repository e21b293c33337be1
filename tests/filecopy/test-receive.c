/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qmgr-filecopy-receive (the real program, $QFC_RECEIVE) fed crafted
 * streams, with HOME in a temporary directory: where files land, their
 * content, modes and times; what it refuses (names already taken, even as
 * symlinks placed there to lure it out; a symlinked ~/Incoming; bad source
 * names; hostile names; a full disk; limits); that a failed file leaves no
 * temporary file and that entries completed before stay; and its answer.
 */
#ifdef NDEBUG
#error "the filecopy tests rely on assertions; do not build them with NDEBUG"
#endif
#ifdef G_DISABLE_ASSERT
#error "the filecopy tests rely on g_assert; do not define G_DISABLE_ASSERT"
#endif

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "decode.h"
#include "encode.h"
#include "stream.h"

struct env {
	char *dir;             /* the test's temporary directory */
	char *home;            /* dir/home */
	char *incoming;        /* dir/home/Incoming/work */
};

struct run {
	int status;            /* exit status */
	struct qfc_result res;
	char *err;             /* its stderr */
};

static void env_init(struct env *e)
{
	e->dir = g_dir_make_tmp("qfc-receive-XXXXXX", NULL);
	g_assert_nonnull(e->dir);
	e->home = g_build_filename(e->dir, "home", NULL);
	e->incoming = g_build_filename(e->home, "Incoming", "work", NULL);
	g_assert_cmpint(g_mkdir(e->home, 0700), ==, 0);
}

static void rm_rf(const char *path)
{
	g_autoptr(GFile) f = g_file_new_for_path(path);
	g_autoptr(GFileEnumerator) en = g_file_enumerate_children(
		f,
		G_FILE_ATTRIBUTE_STANDARD_NAME "," G_FILE_ATTRIBUTE_STANDARD_TYPE,
		G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
	if (en != NULL) {
		GFileInfo *info;
		while ((info = g_file_enumerator_next_file(en, NULL, NULL))) {
			g_autofree char *child = g_build_filename(
				path, g_file_info_get_name(info), NULL);
			if (g_file_info_get_file_type(info) ==
			    G_FILE_TYPE_DIRECTORY) {
				g_chmod(child, 0700);
				rm_rf(child);
			} else {
				g_unlink(child);
			}
			g_object_unref(info);
		}
	}
	g_rmdir(path);
}

static void env_finish(struct env *e)
{
	rm_rf(e->dir);
	g_free(e->dir);
	g_free(e->home);
	g_free(e->incoming);
}

static void run_clear(struct run *r)
{
	qfc_result_clear(&r->res);
	g_free(r->err);
}

/*
 * Runs the receiver on `stream` as qube `source` (NULL: unset) with the
 * extra arguments; its stdout must be exactly one well-formed result.
 */
static void receive(const struct env *e, const char *source,
		    const GByteArray *stream, const char *const *args,
		    struct run *r)
{
	const char *prog = g_getenv("QFC_RECEIVE");
	g_autofree char *in = g_build_filename(e->dir, "stream", NULL);
	g_autoptr(GError) err = NULL;

	g_assert_nonnull(prog);
	memset(r, 0, sizeof(*r));
	g_assert_true(g_file_set_contents(in, (const char *)stream->data,
					  stream->len, NULL));
	g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(
		G_SUBPROCESS_FLAGS_STDOUT_PIPE |
		G_SUBPROCESS_FLAGS_STDERR_PIPE);
	g_subprocess_launcher_set_stdin_file_path(l, in);
	g_subprocess_launcher_setenv(l, "HOME", e->home, TRUE);
	if (source)
		g_subprocess_launcher_setenv(l, "QREXEC_REMOTE_DOMAIN", source,
					     TRUE);
	else
		g_subprocess_launcher_unsetenv(l, "QREXEC_REMOTE_DOMAIN");
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_ptr_array_add(argv, (char *)prog);
	for (size_t i = 0; args && args[i]; i++)
		g_ptr_array_add(argv, (char *)args[i]);
	g_ptr_array_add(argv, NULL);
	g_autoptr(GSubprocess) p = g_subprocess_launcher_spawnv(
		l, (const char *const *)argv->pdata, &err);
	g_assert_no_error(err);
	g_autoptr(GBytes) out = NULL, errout = NULL;
	g_assert_true(g_subprocess_communicate(p, NULL, NULL, &out, &errout,
					       &err));
	g_assert_no_error(err);
	g_assert_true(g_subprocess_get_if_exited(p));
	r->status = g_subprocess_get_exit_status(p);
	r->err = g_strndup(g_bytes_get_data(errout, NULL),
			   g_bytes_get_size(errout));
	g_test_message("receiver: exit %d, stderr: %s", r->status, r->err);

	gsize len;
	const uint8_t *data = g_bytes_get_data(out, &len);
	size_t used;
	g_assert_cmpint(qfc_result_decode(data, len, &used, &r->res, &err), ==,
			QFC_EVENT);
	g_assert_cmpuint(used, ==, len);
	g_assert_cmpint(r->status, ==, r->res.code == QFC_RESULT_OK ? 0 : 1);
}

static void assert_result(const struct run *r, enum qfc_result_code code,
			  const char *name, const char *message)
{
	if (r->res.code != code || strstr(r->res.message, message) == NULL)
		g_test_fail_printf("got code %d '%s', want %d with '%s'",
				   r->res.code, r->res.message, code, message);
	g_assert_cmpstr(r->res.name, ==, name);
	/* The receiver says the same in its own log. */
	if (code != QFC_RESULT_OK)
		g_assert_nonnull(strstr(r->err, message));
}

static char *path_in(const struct env *e, const char *rel)
{
	return g_build_filename(e->incoming, rel, NULL);
}

static void assert_content(const struct env *e, const char *rel,
			   const char *want)
{
	g_autofree char *p = path_in(e, rel);
	g_autofree char *got = NULL;
	gsize len;
	g_assert_true(g_file_get_contents(p, &got, &len, NULL));
	g_assert_cmpuint(len, ==, strlen(want));
	g_assert_cmpstr(got, ==, want);
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* No temporary file is left anywhere below `dir`. */
static void assert_no_temp_files(const char *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	if (d == NULL)
		return;
	const char *n;
	while ((n = g_dir_read_name(d))) {
		g_assert_false(g_str_has_prefix(n, ".qmgr-filecopy-"));
		g_autofree char *child = g_build_filename(dir, n, NULL);
		if (g_file_test(child, G_FILE_TEST_IS_DIR) &&
		    !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
			assert_no_temp_files(child);
	}
}

/* ---- a good transfer ---- */

static void assert_mode_time(const struct env *e, const char *rel,
			     mode_t mode)
{
	g_autofree char *p = path_in(e, rel);
	struct stat st;
	g_assert_cmpint(lstat(p, &st), ==, 0);
	if (!S_ISLNK(st.st_mode))
		g_assert_cmpint(st.st_mode & 07777, ==, mode);
	g_assert_cmpint(st.st_mtim.tv_sec, ==, T_MTIME);
	g_assert_cmpint(st.st_mtim.tv_nsec, ==, T_NSEC);
}

static void test_filecopy_receive_tree(void)
{
	struct env e;
	struct run r;
	g_autoptr(GByteArray) s = ts_new();

	env_init(&e);
	ts_dir(s, "a", 0750);
	ts_dir(s, "a/ro", 0500);
	ts_file(s, "a/ro/in-readonly-dir", 0644, "inside");
	ts_file(s, "a/run.sh", 0777, "#!/bin/sh\n");
	ts_file(s, "a/secret", 0600, "s");
	ts_file(s, "a/zero", 0000, "");
	ts_symlink(s, "a/zz-link", "run.sh");
	ts_symlink(s, "top-link", "a/ro");
	ts_end(s);
	receive(&e, "work", s, NULL, &r);
	assert_result(&r, QFC_RESULT_OK, "", "");
	g_assert_cmpuint(r.res.entries, ==, 8);
	g_assert_cmpuint(r.res.bytes, ==, s->len);

	assert_content(&e, "a/ro/in-readonly-dir", "inside");
	assert_content(&e, "a/run.sh", "#!/bin/sh\n");
	assert_content(&e, "a/zero", "");
	/* umask 022 (set in main); owner always rw(x), execute kept */
	assert_mode_time(&e, "a", 0750);
	assert_mode_time(&e, "a/ro", 0700);
	assert_mode_time(&e, "a/run.sh", 0755);
	assert_mode_time(&e, "a/secret", 0600);
	assert_mode_time(&e, "a/zero", 0600);
	assert_mode_time(&e, "a/zz-link", 0);
	assert_mode_time(&e, "top-link", 0);
	g_autofree char *link = path_in(&e, "a/zz-link");
	g_autofree char *target = g_file_read_link(link, NULL);
	g_assert_cmpstr(target, ==, "run.sh");
	assert_no_temp_files(e.incoming);
	/* ~/Incoming and ~/Incoming/work are private */
	g_autofree char *incoming = g_build_filename(e.home, "Incoming", NULL);
	struct stat st;
	g_assert_cmpint(stat(incoming, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0700);
	run_clear(&r);
	env_finish(&e);
}

/* A 1 MiB run of zeros becomes a hole; the content is still exact. */
static void test_filecopy_receive_sparse(void)
{
	struct env e;
	struct run r;
	g_autoptr(GByteArray) s = ts_new();
	size_t zeros = 1u << 20;

	env_init(&e);
	ts_header(s, QFC_TYPE_FILE | 0644, "sparse", 6, zeros + 3, T_MTIME,
		  T_NSEC, 0);
	g_autofree uint8_t *buf = g_malloc0(zeros);
	ts_raw(s, "abc", 3);
	ts_raw(s, buf, zeros);
	ts_header(s, QFC_TYPE_FILE | 0644, "tail-hole", 9, zeros, T_MTIME,
		  T_NSEC, 0);
	ts_raw(s, buf, zeros);
	ts_end(s);
	receive(&e, "work", s, NULL, &r);
	assert_result(&r, QFC_RESULT_OK, "", "");
	g_autofree char *p = path_in(&e, "sparse");
	struct stat st;
	g_assert_cmpint(stat(p, &st), ==, 0);
	g_assert_cmpint(st.st_size, ==, zeros + 3);
	g_assert_cmpint((int64_t)st.st_blocks * 512, <, 256 << 10);
	g_autofree char *got = NULL;
	gsize len;
	g_assert_true(g_file_get_contents(p, &got, &len, NULL));
	g_assert_cmpmem(got, 3, "abc", 3);
	g_assert_cmpmem(got + 3, len - 3, buf, zeros);
	g_autofree char *q = path_in(&e, "tail-hole");
	g_assert_cmpint(stat(q, &st), ==, 0);
	g_assert_cmpint(st.st_size, ==, zeros);
	run_clear(&r);
	env_finish(&e);
}

/* The receiver stops at the end marker and does not read on. */
static void test_filecopy_receive_stops_at_end(void)
{
	struct env e;
	struct run r;
	g_autoptr(GByteArray) s = ts_new();

	env_init(&e);
	ts_file(s, "x", 0644, "1");
	ts_end(s);
	size_t len = s->len;
	ts_file(s, "../after-end", 0644, "2");
	receive(&e, "work", s, NULL, &r);
	assert_result(&r, QFC_RESULT_OK, "", "");
	g_assert_cmpuint(r.res.bytes, ==, len);
	run_clear(&r);
	env_finish(&e);
}

/* ---- refusals ---- */

static void test_filecopy_receive_refuses_existing_file(void)
{
	struct env e;
	struct run r;
	g_autoptr(GByteArray) s = ts_new();

	env_init(&e);
	g_assert_cmpint(g_mkdir_with_parents(e.incoming, 0700), ==, 0);
	g_autofree char *x = path_in(&e, "x");
	g_assert_true(g_file_set_contents(x, "old", -1, NULL));
	ts_file(s, "a", 0644, "new a");
	ts_file(s, "x", 0644, "new x");
	ts_file(s, "y", 0644, "never");
	ts_end(s);
	receive(&e, "work", s, NULL, &r);
	assert_result(&r, QFC_RESULT_EXISTS, "x", "already exists");
	g_assert_cmpint(r.res.error, ==, EEXIST);
	g_assert_cmpuint(r.res.entries, ==, 1);
	assert_content(&e, "x", "old");
	assert_content(&e, "a", "new a");
	g_autofree char *y = path_in(&e, "y");
	g_assert_false(exists(y));
	assert_no_temp_files(e.incoming);
	run_clear(&r);
	env_finish(&e);
}

static void test_filecopy_receive_refuses_existing_dir(void)
{
	struct env e;
	struct run r;
	g_autoptr(GByteArray) s = ts_new();

	env_init(&e);
	g_autofree char *d = path_in(&e, "d");
	g_assert_cmpint(g_mkdir_with_parents(d, 0700), ==, 0);
	ts_dir(s, "d", 0755);
	ts_file(s, "d/new", 0644, "x");
	ts_end(s);
	receive(&e, "work", s, NULL, &r);
	assert_result(&r, QFC_RESULT_EXISTS, "d", "already exists");
	g_autofree char *n = path_in(&e, "d/new");
	g_assert_false(exists(n));
	run_clear(&r);
	env_finish(&e);
}

/*
 * Symlinks already in ~/Incoming/work (left by the user, or by an earlier
 * transfer) are names like any other: refused, never followed.
 */
static void test_filecopy_receive_does_not_follow_existing_symlinks(void)
{
	struct env e;
	struct run r;

	env_init(&e);
	g_autofree char *outside = g_build_filename(e.dir, "outside", NULL);
	g_assert_cmpint(g_mkdir(outside, 0700), ==, 0);
	g_assert_cmpint(g_mkdir_with_parents(e.incoming, 0700), ==, 0);
	g_autofree char *d = path_in(&e, "d");
	g_autofree char *f = path_in(&e, "f");
	g_autofree char *outside_f = g_build_filename(outside, "f", NULL);
	g_assert_cmpint(symlink(outside, d), ==, 0);
	g_assert_cmpint(symlink(outside_f, f), ==, 0);

	g_autoptr(GByteArray) s = ts_new();
	ts_dir(s, "d", 0755);
	ts_file(s, "d/x", 0644, "escaped");
	ts_end(s);
	receive(&e, "work", s, NULL, &r);
	assert_result(&r, QFC_RESULT_EXISTS, "d", "already exists");
	run_clear(&r);

	g_autoptr(GByteArray) t = ts_new();
	ts_file(t, "f", 0644, "escaped");
	ts_end(t);
	receive(&e, "work", t, NULL, &r);
	assert_result(&r, QFC_RESULT_EXISTS, "f", "already exists");
	run_clear(&r);

	g_autoptr(GDir) dir = g_dir_open(outside, 0, NULL);
	g_assert_null(g_dir_read_name(dir));
	env_finish(&e);
}

static void test_filecopy_receive_refuses_symlinked_incoming(void)
{
	struct env e;
	struct run r;
	g_autoptr(GByteArray) s = ts_new();

	env_init(&e);
	g_autofree char *outside = g_build_filename(e.dir, "outside", NULL);
	g_autofree char *incoming = g_build_filename(e.home, "Incoming", NULL);
	g_assert_cmpint(g_mkdir(outside, 0700), ==, 0);
	g_assert_cmpint(symlink(outside, incoming), ==, 0);
	ts_file(s, "x", 0644, "1");
	ts_end(s);
	receive(&e, "work", s, NULL, &r);
	assert_result(&r, QFC_RESULT_SETUP, "",
		      "~/Incoming is not a directory");
	g_autoptr(GDir) dir = g_dir_open(outside, 0, NULL);
	g_assert_null(g_dir_read_name(dir));
	run_clear(&r);
	env_finish(&e);
}

static void test_filecopy_receive_checks_source_name(void)
{
	static const struct {
		const char *name;
		bool ok;
	} cases[] = {
		{ "work", true },
		{ "dom0", true },
		{ "sys-net", true },
		{ "a.b_c-9", true },
		{ "n123456789012345678901234567890", true },
		{ NULL, false },
		{ "", false },
		{ "n1234567890123456789012345678901", false },
		{ "1work", false },
		{ "-work", false },
		{ ".hidden", false },
		{ "..", false },
		{ "../work", false },
		{ "a/b", false },
		{ "work\n", false },
		{ "w\xc3\xb6rk", false },
	};
	g_autoptr(GByteArray) s = ts_new();
	ts_end(s);

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct env e;
		struct run r;
		env_init(&e);
		receive(&e, cases[i].name, s, NULL, &r);
		if ((r.res.code == QFC_RESULT_OK) != cases[i].ok)
			g_test_fail_printf("source '%s': %s",
					   cases[i].name ? cases[i].name
							 : "(unset)",
					   r.res.message);
		if (!cases[i].ok) {
			g_assert_cmpint(r.res.code, ==, QFC_RESULT_SETUP);
			g_assert_nonnull(strstr(r.res.message,
						"QREXEC_REMOTE_DOMAIN"));
			/* nothing created, not even ~/Incoming */
			g_autofree char *in = g_build_filename(
				e.home, "Incoming", NULL);
			g_assert_false(exists(in));
		}
		run_clear(&r);
		env_finish(&e);
	}
}

/* A hostile entry stops the transfer; what came before stays, nothing of
 * it is created anywhere. */
static void test_filecopy_receive_refuses_hostile_names(void)
{
	static const char *const evil[] = {
		"../evil", "/tmp/evil", "a/../../evil", "a//evil",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(evil); i++) {
		struct env e;
		struct run r;
		g_autoptr(GByteArray) s = ts_new();
		env_init(&e);
		ts_dir(s, "a", 0755);
		ts_file(s, "a/ok", 0644, "fine");
		ts_file(s, evil[i], 0644, "evil");
		ts_end(s);
		receive(&e, "work", s, NULL, &r);
		assert_result(&r, QFC_RESULT_BAD_STREAM, evil[i], "");
		assert_content(&e, "a/ok", "fine");
		g_autofree char *e1 = g_build_filename(e.home, "Incoming",
						       "evil", NULL);
		g_autofree char *e2 = g_build_filename(e.home, "evil", NULL);
		g_autofree char *e3 = g_build_filename(e.incoming, "evil",
						       NULL);
		g_assert_false(exists(e1) || exists(e2) || exists(e3));
		g_assert_false(exists("/tmp/evil"));
		run_clear(&r);
		env_finish(&e);
	}

	/* A symlink out, then a file through it. */
	struct env e;
	struct run r;
	g_autoptr(GByteArray) s = ts_new();
	env_init(&e);
	ts_dir(s, "d", 0755);
	ts_symlink(s, "d/up", "..");
	ts_file(s, "d/up/x", 0644, "through");
	ts_end(s);
	receive(&e, "work", s, NULL, &r);
	assert_result(&r, QFC_RESULT_BAD_STREAM, "d/up/x", "not inside");
	g_autofree char *x = path_in(&e, "x");
	g_assert_false(exists(x));
	run_clear(&r);
	env_finish(&e);
}

/* The stream stops inside a file: its temporary file goes, earlier ones
 * stay. */
static void test_filecopy_receive_truncated_removes_partial_file(void)
{
	struct env e;
	struct run r;
	g_autoptr(GByteArray) s = ts_new();

	env_init(&e);
	ts_file(s, "done", 0644, "complete");
	ts_dir(s, "sub", 0755);
	ts_header(s, QFC_TYPE_FILE | 0644, "sub/partial", 11, 1000, T_MTIME, 0,
		  0);
	ts_raw(s, "only some bytes", 15);
	receive(&e, "work", s, NULL, &r);
	assert_result(&r, QFC_RESULT_TRUNCATED, "sub/partial",
		      "after 15 of its 1000 bytes");
	assert_content(&e, "done", "complete");
	g_autofree char *p = path_in(&e, "sub/partial");
	g_assert_false(exists(p));
	assert_no_temp_files(e.incoming);
	run_clear(&r);

	/* nothing at all */
	g_autoptr(GByteArray) empty = g_byte_array_new();
	receive(&e, "work", empty, NULL, &r);
	assert_result(&r, QFC_RESULT_TRUNCATED, "", "sent nothing");
	run_clear(&r);
	env_finish(&e);
}

static void test_filecopy_receive_refuses_when_no_space(void)
{
	struct env e;
	struct run r;
	g_autoptr(GByteArray) s = ts_new();
	/* more than any disk has free: every file is refused */
	static const char *const args[] = { "--reserve=4611686018427387904",
					    NULL };

	env_init(&e);
	ts_dir(s, "d", 0755);
	ts_file(s, "d/f", 0644, "x");
	ts_end(s);
	receive(&e, "work", s, args, &r);
	assert_result(&r, QFC_RESULT_NO_SPACE, "d/f", "does not fit");
	g_autofree char *f = path_in(&e, "d/f");
	g_assert_false(exists(f));
	assert_no_temp_files(e.incoming);
	run_clear(&r);
	env_finish(&e);
}

static void test_filecopy_receive_limits(void)
{
	struct env e;
	struct run r;
	g_autoptr(GByteArray) s = ts_new();
	static const char *const args[] = { "--max-entries=2", NULL };

	env_init(&e);
	ts_file(s, "1", 0644, "");
	ts_file(s, "2", 0644, "");
	ts_file(s, "3", 0644, "");
	ts_end(s);
	receive(&e, "work", s, args, &r);
	assert_result(&r, QFC_RESULT_LIMIT, "3", "limit of 2");
	g_assert_cmpuint(r.res.entries, ==, 2);
	run_clear(&r);
	env_finish(&e);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	umask(022);
	g_test_add_func("/filecopy/receive/tree", test_filecopy_receive_tree);
	g_test_add_func("/filecopy/receive/sparse",
			test_filecopy_receive_sparse);
	g_test_add_func("/filecopy/receive/stops-at-end",
			test_filecopy_receive_stops_at_end);
	g_test_add_func("/filecopy/receive/refuses-existing-file",
			test_filecopy_receive_refuses_existing_file);
	g_test_add_func("/filecopy/receive/refuses-existing-dir",
			test_filecopy_receive_refuses_existing_dir);
	g_test_add_func(
		"/filecopy/receive/does-not-follow-existing-symlinks",
		test_filecopy_receive_does_not_follow_existing_symlinks);
	g_test_add_func("/filecopy/receive/refuses-symlinked-incoming",
			test_filecopy_receive_refuses_symlinked_incoming);
	g_test_add_func("/filecopy/receive/source-name",
			test_filecopy_receive_checks_source_name);
	g_test_add_func("/filecopy/receive/refuses-hostile-names",
			test_filecopy_receive_refuses_hostile_names);
	g_test_add_func("/filecopy/receive/truncated",
			test_filecopy_receive_truncated_removes_partial_file);
	g_test_add_func("/filecopy/receive/no-space",
			test_filecopy_receive_refuses_when_no_space);
	g_test_add_func("/filecopy/receive/limits",
			test_filecopy_receive_limits);
	return g_test_run();
}
