/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The template store (template-store.h). */
#include "template-store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "atomic-file.h"
#include "remove-tree.h"
#include "template-sign.h"
#include "template-state.h"
#include "template-tar.h"

#define STORE_ERROR g_quark_from_static_string("qm-template-store-error")
#define STATE QM_TPL_STATE
#define INCOMING ".incoming-"

void qm_tpl_store_entry_free(struct qm_tpl_store_entry *e)
{
	if (e == NULL)
		return;
	g_free(e->name);
	g_free(e->current_version);
	g_free(e->previous_version);
	g_free(e->current_signer);
	g_free(e);
}

static bool set_errno_error(GError **error, const char *path, int err)
{
	g_set_error(error, STORE_ERROR, 1, "%s: %s", path, g_strerror(err));
	return false;
}

static bool fsync_path(const char *path, GError **error)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		return set_errno_error(error, path, err);
	}
	close(fd);
	return true;
}

/* Copies the regular file `from` to the new file `to`, keeping holes
 * (a root image is mostly holes), and fsyncs it. */
static bool copy_sparse(const char *from, const char *to, GError **error)
{
	int in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (in < 0 || fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
		int err = errno;
		if (in >= 0)
			close(in);
		g_set_error(error, STORE_ERROR, 1, "%s: %s", from,
			    in >= 0 || err == ELOOP
				    ? "not a regular file (a template "
				      "directory holds regular files only)"
				    : g_strerror(err));
		return false;
	}
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (out < 0) {
		close(in);
		return set_errno_error(error, to, errno);
	}
	g_autofree char *buf = g_malloc(1 << 20);
	off_t pos = 0;
	bool ok = true;
	while (ok && pos < st.st_size) {
		off_t data = lseek(in, pos, SEEK_DATA);
		if (data < 0) {
			if (errno == ENXIO)     /* only a hole is left */
				break;
			ok = set_errno_error(error, from, errno);
			break;
		}
		off_t hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0) {
			ok = set_errno_error(error, from, errno);
			break;
		}
		for (off_t at = data; ok && at < hole;) {
			size_t want = (size_t)MIN((off_t)(1 << 20), hole - at);
			ssize_t n = pread(in, buf, want, at);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				ok = n < 0 ? set_errno_error(error, from, errno)
					   : set_errno_error(error, from, EIO);
				break;
			}
			for (ssize_t w = 0; ok && w < n;) {
				ssize_t m = pwrite(out, buf + w, (size_t)(n - w),
						   at + w);
				if (m < 0 && errno == EINTR)
					continue;
				if (m < 0)
					ok = set_errno_error(error, to, errno);
				else
					w += m;
			}
			at += n;
		}
		pos = hole;
	}
	if (ok && (ftruncate(out, st.st_size) < 0 || fsync(out) < 0))
		ok = set_errno_error(error, to, errno);
	close(in);
	close(out);
	return ok;
}

/* ---- state ---- */

struct state {
	guint32 current, previous;
};

static bool state_read(const char *dir, struct state *st, GError **error)
{
	return qm_tpl_state_read(dir, &st->current, &st->previous, error);
}

static bool state_write(const char *dir, const struct state *st,
			GError **error)
{
	return qm_tpl_state_write(dir, st->current, st->previous, error);
}

/* Removes the revision directories of `dir` that `st` does not name. */
static bool prune(const char *dir, const struct state *st, GError **error)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, error);
	if (d == NULL)
		return false;
	const char *n;
	while ((n = g_dir_read_name(d)) != NULL) {
		if (strcmp(n, STATE) == 0)
			continue;
		guint64 r = 0;
		bool rev = g_ascii_string_to_unsigned(n, 10, 1,
						      QM_TPL_MAX_REVISION, &r,
						      NULL);
		if (rev && (r == st->current || r == st->previous))
			continue;
		g_autofree char *path = g_build_filename(dir, n, NULL);
		if (!qm_remove_tree(path, error))
			return false;
	}
	return true;
}

static char *conf_version(const char *rev_dir)
{
	g_autofree char *path = g_build_filename(rev_dir, QM_TPL_CONF, NULL);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, NULL))
		return g_strdup("?");
	char *v = g_key_file_get_string(kf, "Template", "version", NULL);
	return v ? v : g_strdup("?");
}

/* The signer named by a revision's MANIFEST.sig (verified at install). */
static char *signer_of(const char *rev_dir)
{
	g_autofree char *path = g_build_filename(rev_dir, QM_TPL_SIGNATURE,
						 NULL);
	g_autofree char *text = NULL;
	gsize len = 0;
	struct qm_tpl_signature sig;
	if (!g_file_get_contents(path, &text, &len, NULL) ||
	    !qm_tpl_signature_parse(text, len, &sig, NULL))
		return NULL;
	return g_strdup(sig.key_name);
}

static struct qm_tpl_store_entry *entry_load(const char *store,
					     const char *name, GError **error)
{
	g_autofree char *dir = g_build_filename(store, name, NULL);
	struct state st;
	if (!state_read(dir, &st, error))
		return NULL;
	struct qm_tpl_store_entry *e = g_new0(struct qm_tpl_store_entry, 1);
	e->name = g_strdup(name);
	e->current = st.current;
	e->previous = st.previous;
	g_autofree char *cur = g_strdup_printf("%s/%u", dir, st.current);
	e->current_version = conf_version(cur);
	e->current_signer = signer_of(cur);
	if (st.previous) {
		g_autofree char *prev = g_strdup_printf("%s/%u", dir,
							st.previous);
		e->previous_version = conf_version(prev);
	}
	return e;
}

/* ---- operations ---- */

bool qm_tpl_store_recover(const char *store, GError **error)
{
	if (!g_file_test(store, G_FILE_TEST_IS_DIR))
		return true;
	g_autoptr(GDir) d = g_dir_open(store, 0, error);
	if (d == NULL)
		return false;
	const char *n;
	while ((n = g_dir_read_name(d)) != NULL) {
		g_autofree char *path = g_build_filename(store, n, NULL);
		if (g_str_has_prefix(n, INCOMING) ||
		    g_str_has_prefix(n, ".removing-")) {
			if (!qm_remove_tree(path, error))
				return false;
			continue;
		}
		struct state st;
		g_autoptr(GError) e = NULL;
		if (!qm_tpl_template_name_is_valid(n) ||
		    !state_read(path, &st, &e))
			continue;       /* not ours, or never completed */
		if (!prune(path, &st, error))
			return false;
	}
	return true;
}

/* Copies the files of the template directory `src` into `dst`. */
static bool copy_dir(const char *src, const char *dst, GError **error)
{
	g_autoptr(GDir) d = g_dir_open(src, 0, error);
	if (d == NULL)
		return false;
	const char *n;
	while ((n = g_dir_read_name(d)) != NULL) {
		if (!qm_tpl_file_name_is_valid(n)) {
			g_set_error(error, STORE_ERROR, 1, "%s/%s: not a plain "
				    "file name: not a template directory", src,
				    n);
			return false;
		}
		g_autofree char *from = g_build_filename(src, n, NULL);
		g_autofree char *to = g_build_filename(dst, n, NULL);
		if (!copy_sparse(from, to, error))
			return false;
	}
	return true;
}

/* Copies `src` (a directory or a tarball) into the new directory `tmpl`, verifies the copy and
 * makes it the current revision; *name gets the template's name. */
static bool install_copy(const char *store, const char *tmpl, const char *src,
			 const char *keys_dir, bool allow_unsigned,
			 char **name, GError **error)
{
	guint32 rev = 0;

	/* The copy is what gets verified and installed: the source may
	 * change under us, the copy does not. */
	if (g_file_test(src, G_FILE_TEST_IS_REGULAR)) {
		g_autoptr(GFile) f = g_file_new_for_path(src);
		g_autoptr(GFileInputStream) in = g_file_read(f, NULL, error);
		if (in == NULL ||
		    !qm_tar_extract(G_INPUT_STREAM(in), tmpl, error)) {
			g_prefix_error(error, "%s: ", src);
			return false;
		}
	} else if (!copy_dir(src, tmpl, error)) {
		return false;
	}
	g_autofree char *sig = g_build_filename(tmpl, QM_TPL_SIGNATURE, NULL);
	if (allow_unsigned && !g_file_test(sig, G_FILE_TEST_EXISTS)) {
		g_printerr("qvm-template: warning: %s is not signed: "
			   "installing it unverified (--allow-unsigned)\n",
			   src);
		if (!qm_tpl_conf_identity(tmpl, name, NULL, &rev, error))
			return false;
	} else {
		g_autoptr(qm_tpl_manifest) m = qm_tpl_dir_verify(
			tmpl, keys_dir, NULL, error);
		if (m == NULL) {
			g_prefix_error(error, "refused %s: ", src);
			return false;
		}
		*name = g_strdup(m->name);
		rev = m->revision;
	}

	g_autofree char *dir = g_build_filename(store, *name, NULL);
	struct state st = { 0 };
	if (g_file_test(dir, G_FILE_TEST_IS_DIR)) {
		g_autoptr(GError) e = NULL;
		if (state_read(dir, &st, &e) && rev <= st.current) {
			g_set_error(error, STORE_ERROR, 1, "template %s: "
				    "revision %u is not newer than the "
				    "installed revision %u (qvm-template "
				    "rollback returns to the previous one)",
				    *name, rev, st.current);
			return false;
		}
	} else if (mkdir(dir, 0755) < 0) {
		return set_errno_error(error, dir, errno);
	}
	g_autofree char *rev_dir = g_strdup_printf("%s/%u", dir, rev);
	/* a leftover of a crashed install of the same revision */
	if (!qm_remove_tree(rev_dir, error) || !fsync_path(tmpl, error))
		return false;
	if (rename(tmpl, rev_dir) < 0)
		return set_errno_error(error, rev_dir, errno);
	struct state next = { rev, st.current };
	/* The one step that switches: before it the old state holds. */
	return fsync_path(dir, error) && state_write(dir, &next, error) &&
	       prune(dir, &next, error);
}

bool qm_tpl_store_install(const char *store, const char *src,
			  const char *keys_dir, bool allow_unsigned,
			  struct qm_tpl_store_entry **installed,
			  GError **error)
{
	if (g_mkdir_with_parents(store, 0755) < 0)
		return set_errno_error(error, store, errno);
	if (!qm_tpl_store_recover(store, error))
		return false;
	g_autofree char *tmpl = g_build_filename(store, INCOMING "XXXXXX",
						 NULL);
	if (g_mkdtemp_full(tmpl, 0755) == NULL)
		return set_errno_error(error, tmpl, errno);
	g_autofree char *name = NULL;
	bool ok = install_copy(store, tmpl, src, keys_dir, allow_unsigned,
			       &name, error);
	/* gone after a successful rename; a failed copy is removed */
	g_autoptr(GError) e = NULL;
	qm_remove_tree(tmpl, &e);
	if (ok && installed != NULL)
		ok = (*installed = entry_load(store, name, error)) != NULL;
	return ok;
}

bool qm_tpl_store_rollback(const char *store, const char *name,
			   struct qm_tpl_store_entry **now, GError **error)
{
	if (!qm_tpl_template_name_is_valid(name)) {
		g_set_error(error, STORE_ERROR, 1, "bad template name \"%s\"",
			    name);
		return false;
	}
	g_autofree char *dir = g_build_filename(store, name, NULL);
	struct state st;
	if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
		g_set_error(error, STORE_ERROR, 1, "template %s is not "
			    "installed (qvm-template list)", name);
		return false;
	}
	if (!state_read(dir, &st, error))
		return false;
	if (st.previous == 0) {
		g_set_error(error, STORE_ERROR, 1, "template %s has no "
			    "previous revision to return to (only %u is "
			    "installed)", name, st.current);
		return false;
	}
	struct state next = { st.previous, st.current };
	if (!state_write(dir, &next, error))
		return false;
	if (now != NULL && (*now = entry_load(store, name, error)) == NULL)
		return false;
	return true;
}

bool qm_tpl_store_remove(const char *store, const char *name,
			 GError **error)
{
	if (!qm_tpl_template_name_is_valid(name)) {
		g_set_error(error, STORE_ERROR, 1, "bad template name \"%s\"",
			    name);
		return false;
	}
	g_autofree char *dir = g_build_filename(store, name, NULL);
	if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
		g_set_error(error, STORE_ERROR, 1, "template %s is not "
			    "installed (qvm-template list)", name);
		return false;
	}
	/* Gone in one rename; the rest is cleaning up. */
	g_autofree char *gone = g_build_filename(store, ".removing-XXXXXX",
						 NULL);
	if (g_mkdtemp_full(gone, 0700) == NULL)
		return set_errno_error(error, gone, errno);
	g_autofree char *target = g_build_filename(gone, name, NULL);
	if (rename(dir, target) < 0)
		return set_errno_error(error, dir, errno);
	return fsync_path(store, error) && qm_remove_tree(gone, error);
}

static int entry_cmp(gconstpointer a, gconstpointer b)
{
	const struct qm_tpl_store_entry *x =
		*(struct qm_tpl_store_entry *const *)a;
	const struct qm_tpl_store_entry *y =
		*(struct qm_tpl_store_entry *const *)b;
	return strcmp(x->name, y->name);
}

GPtrArray *qm_tpl_store_list(const char *store, GError **error)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(
		(GDestroyNotify)qm_tpl_store_entry_free);
	if (!g_file_test(store, G_FILE_TEST_IS_DIR))
		return out;
	g_autoptr(GDir) d = g_dir_open(store, 0, error);
	if (d == NULL) {
		g_ptr_array_unref(out);
		return NULL;
	}
	const char *n;
	while ((n = g_dir_read_name(d)) != NULL) {
		if (!qm_tpl_template_name_is_valid(n))
			continue;
		g_autoptr(GError) e = NULL;
		struct qm_tpl_store_entry *entry = entry_load(store, n, &e);
		if (entry != NULL)
			g_ptr_array_add(out, entry);
	}
	g_ptr_array_sort(out, entry_cmp);
	return out;
}
