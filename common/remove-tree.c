/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "remove-tree.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gio/gio.h>

static bool failed(GError **error, const char *path, int err)
{
	if (error != NULL && *error == NULL)
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err),
			    "%s: %s", path, g_strerror(err));
	return false;
}

bool qm_remove_tree(const char *path, GError **error)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT || failed(error, path, errno);
	if (!S_ISDIR(st.st_mode))
		return unlink(path) == 0 || errno == ENOENT ||
		       failed(error, path, errno);
	GError *derr = NULL;
	g_autoptr(GDir) d = g_dir_open(path, 0, &derr);
	if (d == NULL) {
		if (error != NULL && *error == NULL)
			g_propagate_error(error, derr);
		else
			g_error_free(derr);
		return false;
	}
	bool ok = true;
	const char *n;
	while ((n = g_dir_read_name(d)) != NULL) {
		g_autofree char *sub = g_build_filename(path, n, NULL);
		ok = qm_remove_tree(sub, error) && ok;
	}
	if (rmdir(path) < 0 && errno != ENOENT)
		ok = failed(error, path, errno);
	return ok;
}
