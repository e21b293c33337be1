/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "atomic-file.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool set_errno_error(GError **error, int err, const char *what,
			    const char *path)
{
	g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err),
		    "%s %s: %s", what, path, g_strerror(err));
	return false;
}

bool qm_fsync_parent(const char *path, GError **error)
{
	g_autofree char *dir = g_path_get_dirname(path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return set_errno_error(error, errno, "cannot open directory",
				       dir);
	int rc = fsync(fd);
	int err = errno;
	close(fd);
	if (rc < 0)
		return set_errno_error(error, err, "cannot sync directory", dir);
	return true;
}

static bool write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		data += n;
		len -= (size_t)n;
	}
	return true;
}

bool qm_atomic_write(const char *path, const void *data, size_t len,
		     mode_t mode, GError **error)
{
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *base = g_path_get_basename(path);
	/* Hidden name: directory scanners (the policy loader) skip it. */
	g_autofree char *tmp = g_strdup_printf("%s/.%s.XXXXXX", dir, base);
	int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, mode);
	if (fd < 0)
		return set_errno_error(error, errno, "cannot create", tmp);
	if (fchmod(fd, mode) < 0 || !write_all(fd, data, len) ||
	    fsync(fd) < 0) {
		int err = errno;
		close(fd);
		unlink(tmp);
		return set_errno_error(error, err, "cannot write", tmp);
	}
	if (close(fd) < 0) {
		int err = errno;
		unlink(tmp);
		return set_errno_error(error, err, "cannot write", tmp);
	}
	if (rename(tmp, path) < 0) {
		int err = errno;
		unlink(tmp);
		return set_errno_error(error, err, "cannot replace", path);
	}
	return qm_fsync_parent(path, error);
}

bool qm_atomic_install(const char *tmp, const char *path, GError **error)
{
	int fd = open(tmp, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return set_errno_error(error, errno, "cannot open", tmp);
	int rc = fsync(fd);
	int err = errno;
	close(fd);
	if (rc < 0)
		return set_errno_error(error, err, "cannot sync", tmp);
	if (rename(tmp, path) < 0)
		return set_errno_error(error, errno, "cannot replace", path);
	return qm_fsync_parent(path, error);
}
