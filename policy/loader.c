/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Finding and reading policy files: the policy directories, their merge
 * order, and the !include family of directives.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct loader {
	struct parse_ctx ctx;
	const char *root;          /* directory relative includes resolve in */
	GPtrArray *stack;          /* char *: realpaths of files being read */
	/* pol_policy_load_dirs_replacing(): read this file's content from
	 * `replacement` instead */
	char *replaced;            /* canonical path */
	const char *replacement;
};

/* realpath() that also works for a file that does not exist yet. */
static char *canonical_path(const char *path)
{
	char *real = realpath(path, NULL);
	if (real != NULL)
		return real;
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *base = g_path_get_basename(path);
	g_autofree char *rdir = realpath(dir, NULL);
	if (rdir == NULL)
		return g_strdup(path);
	return g_build_filename(rdir, base, NULL);
}

/* Qubes' rule: only "*.policy" not starting with '.'; of those, a name with
 * characters outside [0-9a-z_.-] makes the policy invalid. */
static bool name_is_considered(const char *name)
{
	return name[0] != '.' && g_str_has_suffix(name, ".policy");
}

static bool name_is_allowed(const char *name)
{
	for (const char *p = name; *p != '\0'; p++)
		if (!g_ascii_isdigit(*p) && !(*p >= 'a' && *p <= 'z') &&
		    *p != '_' && *p != '.' && *p != '-')
			return false;
	return true;
}

static bool read_file(struct loader *ld, const char *path, const char *from,
		      unsigned from_line, char **data, size_t *len)
{
	struct pol_policy *pol = ld->ctx.policy;
	const char *file = from ? from : path;
	unsigned line = from ? from_line : 0;

	/* O_NOFOLLOW is not used: admins symlink policy files on purpose;
	 * but it must be a regular file, and bounded in size. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		policy_add_error(pol, file, line, "cannot open %s: %s", path,
				 g_strerror(errno));
		return false;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		policy_add_error(pol, file, line, "not a file: %s", path);
		close(fd);
		return false;
	}
	if ((unsigned long long)st.st_size > POL_FILE_MAX) {
		policy_add_error(pol, path, 0, "file is larger than %u bytes",
				 POL_FILE_MAX);
		close(fd);
		return false;
	}
	/* The size may change under us: read at most one byte past the limit
	 * to tell "at the limit" from "over it". */
	size_t cap = (size_t)st.st_size + 2, n = 0;
	char *buf = g_malloc(cap);
	for (;;) {
		if (n + 1 == cap) {
			if (cap > POL_FILE_MAX + 1) {
				policy_add_error(pol, path, 0,
						 "file is larger than %u bytes",
						 POL_FILE_MAX);
				g_free(buf);
				close(fd);
				return false;
			}
			cap = MIN(cap * 2, (size_t)POL_FILE_MAX + 2);
			buf = g_realloc(buf, cap);
		}
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			policy_add_error(pol, file, line, "cannot read %s: %s",
					 path, g_strerror(errno));
			g_free(buf);
			close(fd);
			return false;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > POL_FILE_MAX) {
		policy_add_error(pol, path, 0, "file is larger than %u bytes",
				 POL_FILE_MAX);
		g_free(buf);
		close(fd);
		return false;
	}
	close(fd);
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return true;
}

/* Reads and parses one file, guarding against include cycles. */
static void load_file(struct loader *ld, const char *path, const char *from,
		      unsigned from_line, const char *service,
		      const char *argument)
{
	struct pol_policy *pol = ld->ctx.policy;
	g_autofree char *real = canonical_path(path);
	g_autofree char *data = NULL;
	const char *source = path;
	size_t len = 0;

	if (ld->replaced != NULL && strcmp(real, ld->replaced) == 0)
		source = ld->replacement;
	{
		for (guint i = 0; i < ld->stack->len; i++) {
			if (strcmp(g_ptr_array_index(ld->stack, i), real) != 0)
				continue;
			policy_add_error(pol, from ? from : path, from_line,
					 "include cycle: %s is already being "
					 "read", path);
			return;
		}
	}
	if (ld->stack->len >= POL_INCLUDE_DEPTH_MAX) {
		policy_add_error(pol, from ? from : path, from_line,
				 "includes nested deeper than %d levels",
				 POL_INCLUDE_DEPTH_MAX);
		return;
	}
	if (!read_file(ld, source, from, from_line, &data, &len))
		return;
	policy_intern_file(pol, path);
	g_ptr_array_add(ld->stack, g_strdup(real));
	parse_text(&ld->ctx, path, data, len, service, argument);
	g_ptr_array_remove_index(ld->stack, ld->stack->len - 1);
}

struct entry {
	char *name;
	char *path;
	const char *root;
};

static void entry_free(gpointer p)
{
	struct entry *e = p;
	g_free(e->name);
	g_free(e->path);
	g_free(e);
}

static int entry_cmp(gconstpointer a, gconstpointer b)
{
	const struct entry *ea = *(struct entry *const *)a;
	const struct entry *eb = *(struct entry *const *)b;
	return strcmp(ea->name, eb->name);
}

/*
 * Lists the considered files of `dir` into `by_name` (a later call replaces
 * same-named entries: that is how /run shadows /etc).  Returns false and
 * records an error when the directory cannot be read; a missing directory
 * is empty.
 */
static void scan_dir(struct pol_policy *pol, const char *dir, const char *from,
		     unsigned from_line, bool missing_ok, GHashTable *by_name)
{
	GError *err = NULL;
	GDir *d = g_dir_open(dir, 0, &err);
	if (d == NULL) {
		if (missing_ok && g_error_matches(err, G_FILE_ERROR,
						  G_FILE_ERROR_NOENT)) {
			g_error_free(err);
			return;
		}
		policy_add_error(pol, from ? from : dir, from_line,
				 "cannot read directory %s: %s", dir,
				 err->message);
		g_error_free(err);
		return;
	}
	const char *name;
	while ((name = g_dir_read_name(d)) != NULL) {
		if (!name_is_considered(name))
			continue;
		g_autofree char *path = g_build_filename(dir, name, NULL);
		if (!name_is_allowed(name)) {
			g_autofree char *q = g_strescape(path, NULL);
			policy_add_error(pol, q, 0,
					 "invalid policy file name (only "
					 "lowercase letters, digits, '_', '.' "
					 "and '-' are allowed; rename it)");
			continue;
		}
		/* Symlinks to files are fine; directories named x.policy and
		 * other non-files are not policy files. */
		if (!g_file_test(path, G_FILE_TEST_IS_REGULAR))
			continue;
		struct entry *e = g_new0(struct entry, 1);
		e->name = g_strdup(name);
		e->path = g_steal_pointer(&path);
		e->root = dir;
		g_hash_table_replace(by_name, e->name, e);
	}
	g_dir_close(d);
}

static void load_entries(struct loader *ld, GHashTable *by_name)
{
	g_autoptr(GPtrArray) list = g_ptr_array_new();
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, by_name);
	while (g_hash_table_iter_next(&it, NULL, &value))
		g_ptr_array_add(list, value);
	g_ptr_array_sort(list, entry_cmp);
	for (guint i = 0; i < list->len; i++) {
		const struct entry *e = g_ptr_array_index(list, i);
		const char *saved = ld->root;
		ld->root = e->root;
		load_file(ld, e->path, NULL, 0, NULL, NULL);
		ld->root = saved;
	}
}

static void on_include(struct parse_ctx *ctx, const char *file, unsigned line,
		       const char *kind, const char *service,
		       const char *argument, const char *path)
{
	struct loader *ld = ctx->include_data;
	g_autofree char *full = g_path_is_absolute(path)
					? g_strdup(path)
					: g_build_filename(ld->root, path, NULL);

	if (strcmp(kind, "include-dir") == 0) {
		if (!g_file_test(full, G_FILE_TEST_EXISTS)) {
			policy_add_error(ctx->policy, file, line,
					 "included directory %s does not exist",
					 full);
			return;
		}
		if (!g_file_test(full, G_FILE_TEST_IS_DIR)) {
			policy_add_error(ctx->policy, file, line,
					 "not a directory: %s", full);
			return;
		}
		g_autoptr(GHashTable) by_name = g_hash_table_new_full(
			g_str_hash, g_str_equal, NULL, entry_free);
		scan_dir(ctx->policy, full, file, line, false, by_name);
		/* Includes inside those files still resolve against the
		 * policy directory, not the included one (as in Qubes). */
		GHashTableIter it;
		gpointer value;
		g_hash_table_iter_init(&it, by_name);
		while (g_hash_table_iter_next(&it, NULL, &value))
			((struct entry *)value)->root = ld->root;
		load_entries(ld, by_name);
		return;
	}
	g_autofree char *canon = canonical_path(full);
	bool replaced = ld->replaced && strcmp(canon, ld->replaced) == 0;
	if (!replaced && !g_file_test(full, G_FILE_TEST_EXISTS)) {
		policy_add_error(ctx->policy, file, line,
				 "included file %s does not exist", full);
		return;
	}
	if (strcmp(kind, "include-service") == 0)
		load_file(ld, full, file, line, service, argument);
	else
		load_file(ld, full, file, line, NULL, NULL);
}

static void loader_init(struct loader *ld, const char *root)
{
	memset(ld, 0, sizeof(*ld));
	ld->ctx.policy = policy_new();
	ld->ctx.include = root ? on_include : NULL;
	ld->ctx.include_data = ld;
	ld->root = root;
	ld->stack = g_ptr_array_new_with_free_func(g_free);
}

static struct pol_policy *loader_finish(struct loader *ld)
{
	g_ptr_array_free(ld->stack, TRUE);
	g_free(ld->replaced);
	policy_build_index(ld->ctx.policy);
	return ld->ctx.policy;
}

struct pol_policy *pol_policy_load_dirs(const char *const *dirs, size_t n_dirs)
{
	struct loader ld;
	g_autoptr(GHashTable) by_name = g_hash_table_new_full(
		g_str_hash, g_str_equal, NULL, entry_free);

	loader_init(&ld, NULL);
	ld.ctx.include = on_include;
	for (size_t i = 0; i < n_dirs; i++)
		scan_dir(ld.ctx.policy, dirs[i], NULL, 0, true, by_name);
	load_entries(&ld, by_name);
	return loader_finish(&ld);
}

struct pol_policy *pol_policy_load_dirs_replacing(const char *const *dirs,
						 size_t n_dirs,
						 const char *path,
						 const char *replacement)
{
	struct loader ld;
	g_autoptr(GHashTable) by_name = g_hash_table_new_full(
		g_str_hash, g_str_equal, NULL, entry_free);
	g_autofree char *base = g_path_get_basename(path);
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *rdir = canonical_path(dir);

	loader_init(&ld, NULL);
	ld.ctx.include = on_include;
	ld.replaced = canonical_path(path);
	ld.replacement = replacement;
	for (size_t i = 0; i < n_dirs; i++) {
		scan_dir(ld.ctx.policy, dirs[i], NULL, 0, true, by_name);
		/* The edited file may be new: it joins the directory it will
		 * be installed in, shadowing and shadowed as it will be. */
		g_autofree char *rd = canonical_path(dirs[i]);
		if (strcmp(rd, rdir) != 0 || !name_is_considered(base))
			continue;
		if (!name_is_allowed(base)) {
			policy_add_error(ld.ctx.policy, path, 0,
					 "invalid policy file name (only "
					 "lowercase letters, digits, '_', '.' "
					 "and '-' are allowed; rename it)");
			continue;
		}
		struct entry *e = g_new0(struct entry, 1);
		e->name = g_strdup(base);
		e->path = g_build_filename(dirs[i], base, NULL);
		e->root = dirs[i];
		g_hash_table_replace(by_name, e->name, e);
	}
	load_entries(&ld, by_name);
	return loader_finish(&ld);
}

struct pol_policy *pol_policy_load_string(const char *name, const char *text,
					  size_t len, const char *include_root)
{
	struct loader ld;

	loader_init(&ld, include_root);
	policy_intern_file(ld.ctx.policy, name);
	parse_text(&ld.ctx, name, text, len, NULL, NULL);
	return loader_finish(&ld);
}
