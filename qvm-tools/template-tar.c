/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Template tarballs (template-tar.h). */
#include "template-tar.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "template-manifest.h"

#define TAR_ERROR g_quark_from_static_string("qm-template-tar-error")
#define ZERO_RUN 4096

static bool fail(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static bool fail(GError **error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, TAR_ERROR, 1, "tarball: %s", msg);
	return false;
}

/* An octal field: spaces or NULs may pad it, nothing else may appear. */
static bool octal(const uint8_t *f, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	bool digits = false;

	while (i < len && f[i] == ' ')
		i++;
	for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v > (max >> 3))
			return false;
		v = v << 3 | (uint64_t)(f[i] - '0');
		digits = true;
	}
	for (; i < len; i++)
		if (f[i] != ' ' && f[i] != '\0')
			return false;
	if (!digits || v > max)
		return false;
	*out = v;
	return true;
}

/* A NUL-terminated (or full-length) field as a string. */
static bool field_string(const uint8_t *f, size_t len, char *out)
{
	size_t n = 0;
	while (n < len && f[n] != '\0')
		n++;
	for (size_t i = n; i < len; i++)
		if (f[i] != '\0')
			return false;   /* bytes after the NUL */
	memcpy(out, f, n);
	out[n] = '\0';
	return true;
}

bool qm_tar_header_parse(const uint8_t *untrusted, struct qm_tar_entry *out,
			 GError **error)
{
	memset(out, 0, sizeof(*out));
	bool zero = true;
	for (size_t i = 0; i < QM_TAR_BLOCK; i++)
		zero &= untrusted[i] == 0;
	if (zero) {
		out->kind = QM_TAR_END;
		return true;
	}
	bool ustar = memcmp(untrusted + 257, "ustar\0" "00", 8) == 0;
	bool gnu = memcmp(untrusted + 257, "ustar  \0", 8) == 0;
	if (!ustar && !gnu)
		return fail(error, "not a ustar or GNU tar header");
	uint64_t sum = 0, want = 0;
	for (size_t i = 0; i < QM_TAR_BLOCK; i++)
		sum += (i >= 148 && i < 156) ? ' ' : untrusted[i];
	if (!octal(untrusted + 148, 8, 07777777, &want) || sum != want)
		return fail(error, "header checksum does not match (damaged "
			    "or not a tarball)");
	char name[101], prefix[156];
	if (!field_string(untrusted, 100, name) ||
	    (ustar && !field_string(untrusted + 345, 155, prefix)))
		return fail(error, "a name field with bytes after its end");
	if (ustar && prefix[0] != '\0')
		return fail(error, "\"%s/%s\": nested paths are not part of a "
			    "template", prefix, name);
	/* `tar -C DIR .` names the top "./" and its files "./FILE" */
	if (name[0] == '.' && name[1] == '/')
		memmove(name, name + 2, strlen(name + 2) + 1);
	uint64_t size = 0;
	if (!octal(untrusted + 124, 12, QM_TAR_MAX_FILE_SIZE, &size))
		return fail(error, "\"%s\": bad or too large size", name);
	uint8_t type = untrusted[156];
	if (type == '5' && name[0] == '\0' && size == 0) {
		out->kind = QM_TAR_DIR;         /* "./": the top itself */
		return true;
	}
	if (type == '5') {
		size_t n = strlen(name);
		if (n < 2 || name[n - 1] != '/' || size != 0)
			return fail(error, "\"%s\": bad directory entry",
				    name);
		name[n - 1] = '\0';
		if (!qm_tpl_file_name_is_valid(name))
			return fail(error, "\"%s/\": not a plain directory "
				    "name", name);
		out->kind = QM_TAR_DIR;
		g_strlcpy(out->name, name, sizeof(out->name));
		return true;
	}
	if (type != '0' && type != '\0')
		return fail(error, "\"%s\": type '%c' (links, devices, long "
			    "names and extended headers are not part of a "
			    "template)", name, g_ascii_isprint(type) ? type
								     : '?');
	const char *slash = strchr(name, '/');
	const char *base = slash ? slash + 1 : name;
	if (slash != NULL) {
		char dir[101];
		memcpy(dir, name, (size_t)(slash - name));
		dir[slash - name] = '\0';
		if (!qm_tpl_file_name_is_valid(dir) || strchr(base, '/'))
			return fail(error, "\"%s\": not FILE or DIR/FILE with "
				    "plain names", name);
		g_strlcpy(out->dir, dir, sizeof(out->dir));
	}
	if (!qm_tpl_file_name_is_valid(base))
		return fail(error, "\"%s\": not a plain file name", name);
	out->kind = QM_TAR_FILE;
	g_strlcpy(out->name, base, sizeof(out->name));
	out->size = size;
	return true;
}

/* Reads exactly `len` bytes; a short read is a truncated tarball. */
static bool read_exact(GInputStream *in, void *buf, size_t len,
		       GError **error)
{
	gsize got = 0;
	g_autoptr(GError) e = NULL;
	if (!g_input_stream_read_all(in, buf, len, &got, NULL, &e)) {
		/* zlib's way of saying the gzip stream stops short */
		if (g_error_matches(e, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT))
			return fail(error, "ends in the middle (truncated?)");
		return fail(error, "%s", e->message);
	}
	if (got != len)
		return fail(error, "ends in the middle (truncated?)");
	return true;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

/* Writes the next `size` bytes of `in` to the new file `path`, runs of
 * zeros as holes, then skips the padding to the next block. */
static bool extract_file(GInputStream *in, const char *path, uint64_t size,
			 GError **error)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
				    O_NOFOLLOW, 0644);
	if (fd < 0)
		return fail(error, "%s: %s", path, g_strerror(errno));
	g_autofree uint8_t *buf = g_malloc(1 << 20);
	uint64_t done = 0;
	bool ok = true;
	while (ok && done < size) {
		size_t n = (size_t)MIN((uint64_t)(1 << 20), size - done);
		if (!read_exact(in, buf, n, error)) {
			ok = false;
			break;
		}
		for (size_t at = 0; ok && at < n; at += ZERO_RUN) {
			size_t m = MIN((size_t)ZERO_RUN, n - at);
			if (all_zero(buf + at, m))
				continue;
			if (pwrite(fd, buf + at, m, (off_t)(done + at)) !=
			    (ssize_t)m)
				ok = fail(error, "%s: %s", path,
					  g_strerror(errno));
		}
		done += n;
	}
	if (ok && (ftruncate(fd, (off_t)size) < 0 || fsync(fd) < 0))
		ok = fail(error, "%s: %s", path, g_strerror(errno));
	close(fd);
	size_t pad = (size_t)((QM_TAR_BLOCK - size % QM_TAR_BLOCK) %
			      QM_TAR_BLOCK);
	uint8_t skip[QM_TAR_BLOCK];
	return ok && read_exact(in, skip, pad, error);
}

bool qm_tar_extract(GInputStream *raw, const char *dir, GError **error)
{
	/* gzip or not, by its magic */
	g_autoptr(GBufferedInputStream) buffered = G_BUFFERED_INPUT_STREAM(
		g_buffered_input_stream_new(raw));
	if (g_buffered_input_stream_fill(buffered, 2, NULL, error) < 0)
		return false;
	gsize avail = 0;
	const uint8_t *peek = g_buffered_input_stream_peek_buffer(buffered,
								  &avail);
	g_autoptr(GInputStream) in = NULL;
	if (avail >= 2 && peek[0] == 0x1f && peek[1] == 0x8b) {
		g_autoptr(GZlibDecompressor) z = g_zlib_decompressor_new(
			G_ZLIB_COMPRESSOR_FORMAT_GZIP);
		in = g_converter_input_stream_new(G_INPUT_STREAM(buffered),
						  G_CONVERTER(z));
	} else {
		in = g_object_ref(G_INPUT_STREAM(buffered));
	}

	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash,
							   g_str_equal,
							   g_free, NULL);
	g_autofree char *top = NULL;        /* the one directory, if any */
	bool any_top_file = false;
	uint8_t block[QM_TAR_BLOCK];
	for (;;) {
		if (!read_exact(in, block, sizeof(block), error))
			return false;
		struct qm_tar_entry e;
		if (!qm_tar_header_parse(block, &e, error))
			return false;
		if (e.kind == QM_TAR_END)
			break;
		if (e.kind == QM_TAR_DIR && e.name[0] == '\0')
			continue;
		if (e.kind == QM_TAR_DIR) {
			if (top != NULL || any_top_file)
				return fail(error, "\"%s/\": a template "
					    "tarball holds one directory at "
					    "most, and no file beside it",
					    e.name);
			top = g_strdup(e.name);
			continue;
		}
		if (e.dir[0] != '\0') {
			if (any_top_file ||
			    (top != NULL && strcmp(top, e.dir) != 0))
				return fail(error, "\"%s/%s\": files of more "
					    "than one directory", e.dir,
					    e.name);
			if (top == NULL)
				top = g_strdup(e.dir);
		} else {
			if (top != NULL)
				return fail(error, "\"%s\": a file beside the "
					    "directory %s", e.name, top);
			any_top_file = true;
		}
		if (!g_hash_table_add(seen, g_strdup(e.name)))
			return fail(error, "\"%s\" twice", e.name);
		if (g_hash_table_size(seen) > QM_TPL_MAX_FILES)
			return fail(error, "more than %u files",
				    QM_TPL_MAX_FILES);
		g_autofree char *path = g_build_filename(dir, e.name, NULL);
		if (!extract_file(in, path, e.size, error))
			return false;
	}
	/* GNU tar writes two zero blocks; one is the end we need. */
	if (g_hash_table_size(seen) == 0)
		return fail(error, "holds no file");
	return true;
}

bool qm_tar_file_is_tarball(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	uint8_t head[QM_TAR_BLOCK];
	ssize_t n = read(fd, head, sizeof(head));
	close(fd);
	if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b)
		return true;
	return n == QM_TAR_BLOCK && (memcmp(head + 257, "ustar", 5) == 0);
}
