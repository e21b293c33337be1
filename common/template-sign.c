/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Signing and verifying template directories (template-sign.h). */
#include "template-sign.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "atomic-file.h"

#define TPL_ERROR g_quark_from_static_string("qm-template-error")
#define READ_CHUNK (1u << 20)

static bool sodium_ready(GError **error)
{
	if (sodium_init() < 0) {
		g_set_error(error, TPL_ERROR, 1, "libsodium cannot start");
		return false;
	}
	return true;
}

bool qm_tpl_key_generate(const char *name, struct qm_tpl_key *out,
			 GError **error)
{
	memset(out, 0, sizeof(*out));
	if (!qm_tpl_file_name_is_valid(name)) {
		g_set_error(error, TPL_ERROR, 1, "bad key name \"%s\": letters, "
			    "digits, '.', '_', '-', at most %u", name,
			    QM_TPL_MAX_NAME);
		return false;
	}
	if (!sodium_ready(error))
		return false;
	g_strlcpy(out->name, name, sizeof(out->name));
	crypto_sign_keypair(out->pk, out->sk);
	out->has_secret = true;
	return true;
}

/* Reads a small file whole, refusing more than `max` bytes. */
static char *read_small(const char *path, size_t max, size_t *len,
			GError **error)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		g_set_error(error, TPL_ERROR, 1, "%s: %s", path,
			    g_strerror(errno));
		return NULL;
	}
	GString *s = g_string_new(NULL);
	char buf[4096];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0 ||
	       (n < 0 && errno == EINTR)) {
		if (n < 0)
			continue;
		if (s->len + (size_t)n > max) {
			close(fd);
			g_string_free(s, TRUE);
			g_set_error(error, TPL_ERROR, 1, "%s: more than %zu "
				    "bytes", path, max);
			return NULL;
		}
		g_string_append_len(s, buf, n);
	}
	int err = errno;
	close(fd);
	if (n < 0) {
		g_string_free(s, TRUE);
		g_set_error(error, TPL_ERROR, 1, "%s: %s", path,
			    g_strerror(err));
		return NULL;
	}
	*len = s->len;
	return g_string_free(s, FALSE);
}

bool qm_tpl_key_load(const char *path, bool secret, struct qm_tpl_key *out,
		     GError **error)
{
	size_t len = 0;
	g_autofree char *text = read_small(path, 1024, &len, error);
	if (text == NULL)
		return false;
	if (!qm_tpl_key_parse(text, len, secret, out, error)) {
		g_prefix_error(error, "%s: ", path);
		return false;
	}
	return true;
}

/* The size and BLAKE2b-256 of the regular file `name` in `dir`. */
static bool hash_file(int dirfd, const char *dir, const char *name,
		      guint64 *size, uint8_t *hash, GError **error)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		g_set_error(error, TPL_ERROR, 1, "%s/%s: %s", dir, name,
			    fd < 0 ? g_strerror(err)
				   : "not a regular file");
		return false;
	}
	crypto_generichash_state h;
	crypto_generichash_init(&h, NULL, 0, QM_TPL_HASH_SIZE);
	g_autofree uint8_t *buf = g_malloc(READ_CHUNK);
	guint64 total = 0;
	for (;;) {
		ssize_t n = read(fd, buf, READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			close(fd);
			g_set_error(error, TPL_ERROR, 1, "%s/%s: %s", dir,
				    name, g_strerror(err));
			return false;
		}
		if (n == 0)
			break;
		crypto_generichash_update(&h, buf, (size_t)n);
		total += (guint64)n;
	}
	close(fd);
	crypto_generichash_final(&h, hash, QM_TPL_HASH_SIZE);
	*size = total;
	return true;
}

static int file_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(((const struct qm_tpl_file *)a)->name,
		      ((const struct qm_tpl_file *)b)->name);
}

/* The names in `dir` but MANIFEST and MANIFEST.sig, each checked to be a
 * plain name of a regular file (no link, directory or device). */
static GPtrArray *list_dir(const char *dir, GError **error)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, error);
	if (d == NULL)
		return NULL;
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	const char *n;
	while ((n = g_dir_read_name(d)) != NULL) {
		if (strcmp(n, QM_TPL_MANIFEST) == 0 ||
		    strcmp(n, QM_TPL_SIGNATURE) == 0)
			continue;
		g_autofree char *path = g_build_filename(dir, n, NULL);
		struct stat st;
		if (!qm_tpl_file_name_is_valid(n) || lstat(path, &st) < 0 ||
		    !S_ISREG(st.st_mode)) {
			g_set_error(error, TPL_ERROR, 1, "%s: not a regular "
				    "file with a plain name (a template "
				    "directory holds nothing else)", path);
			return NULL;
		}
		g_ptr_array_add(names, g_strdup(n));
	}
	return g_steal_pointer(&names);
}

bool qm_tpl_conf_identity(const char *dir, char **name, char **version,
			  guint32 *revision, GError **error)
{
	g_autofree char *path = g_build_filename(dir, QM_TPL_CONF, NULL);
	size_t len = 0;
	g_autofree char *text = read_small(path, 64 * 1024, &len, error);
	if (text == NULL)
		return false;
	g_autoptr(GKeyFile) kf = g_key_file_new();
	if (!g_key_file_load_from_data(kf, text, len, G_KEY_FILE_NONE,
				       error)) {
		g_prefix_error(error, "%s: ", path);
		return false;
	}
	g_autofree char *n = g_key_file_get_string(kf, "Template", "name",
						   NULL);
	g_autofree char *v = g_key_file_get_string(kf, "Template", "version",
						   NULL);
	g_autofree char *rev = g_key_file_get_string(kf, "Template",
						     "revision", NULL);
	guint64 r = 0;
	if (n == NULL || !qm_tpl_template_name_is_valid(n) || v == NULL ||
	    rev == NULL ||
	    !g_ascii_string_to_unsigned(rev, 10, 1, QM_TPL_MAX_REVISION, &r,
					NULL)) {
		g_set_error(error, TPL_ERROR, 1, "%s: [Template] needs name, "
			    "version and revision (1 to %u)", path,
			    QM_TPL_MAX_REVISION);
		return false;
	}
	*name = g_steal_pointer(&n);
	if (version != NULL)
		*version = g_steal_pointer(&v);
	*revision = (guint32)r;
	return true;
}

struct qm_tpl_manifest *qm_tpl_dir_manifest(const char *dir, GError **error)
{
	if (!sodium_ready(error))
		return NULL;
	g_autoptr(qm_tpl_manifest) m = g_new0(struct qm_tpl_manifest, 1);
	m->files = g_array_new(FALSE, TRUE, sizeof(struct qm_tpl_file));
	if (!qm_tpl_conf_identity(dir, &m->name, &m->version, &m->revision,
				  error))
		return NULL;
	g_autoptr(GPtrArray) names = list_dir(dir, error);
	if (names == NULL)
		return NULL;
	if (names->len > QM_TPL_MAX_FILES) {
		g_set_error(error, TPL_ERROR, 1, "%s: %u files, more than %u",
			    dir, names->len, QM_TPL_MAX_FILES);
		return NULL;
	}
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		g_set_error(error, TPL_ERROR, 1, "%s: %s", dir,
			    g_strerror(errno));
		return NULL;
	}
	for (guint i = 0; i < names->len; i++) {
		struct qm_tpl_file f = { 0 };
		const char *n = g_ptr_array_index(names, i);
		if (!hash_file(dirfd, dir, n, &f.size, f.hash, error)) {
			close(dirfd);
			return NULL;
		}
		f.name = g_strdup(n);
		g_array_append_val(m->files, f);
	}
	close(dirfd);
	g_array_sort(m->files, file_cmp);
	/* what the parser will accept back */
	g_autofree char *text = qm_tpl_manifest_format(m);
	g_autoptr(qm_tpl_manifest) back = qm_tpl_manifest_parse(
		text, strlen(text), error);
	if (back == NULL)
		return NULL;
	return g_steal_pointer(&m);
}

bool qm_tpl_dir_sign(const char *dir, const struct qm_tpl_key *key,
		     GError **error)
{
	if (!key->has_secret) {
		g_set_error(error, TPL_ERROR, 1, "key %s: no secret key to "
			    "sign with", key->name);
		return false;
	}
	g_autoptr(qm_tpl_manifest) m = qm_tpl_dir_manifest(dir, error);
	if (m == NULL)
		return false;
	g_autofree char *text = qm_tpl_manifest_format(m);
	struct qm_tpl_signature s = { 0 };
	g_strlcpy(s.key_name, key->name, sizeof(s.key_name));
	crypto_sign_detached(s.sig, NULL, (const uint8_t *)text,
			     strlen(text), key->sk);
	g_autofree char *sig = qm_tpl_signature_format(&s);
	g_autofree char *mpath = g_build_filename(dir, QM_TPL_MANIFEST, NULL);
	g_autofree char *spath = g_build_filename(dir, QM_TPL_SIGNATURE,
						  NULL);
	/* The signature last: a crash in between leaves a signature that
	 * does not match, never a new manifest passing as signed. */
	unlink(spath);
	return qm_atomic_write(mpath, text, strlen(text), 0644, error) &&
	       qm_atomic_write(spath, sig, strlen(sig), 0644, error);
}

struct qm_tpl_manifest *qm_tpl_dir_verify(const char *dir,
					  const char *keys_dir,
					  char **key_name, GError **error)
{
	if (!sodium_ready(error))
		return NULL;
	g_autofree char *spath = g_build_filename(dir, QM_TPL_SIGNATURE, NULL);
	g_autofree char *mpath = g_build_filename(dir, QM_TPL_MANIFEST, NULL);
	if (!g_file_test(spath, G_FILE_TEST_EXISTS)) {
		g_set_error(error, TPL_ERROR, 1, "%s: not signed (no %s)", dir,
			    QM_TPL_SIGNATURE);
		return NULL;
	}
	size_t len = 0;
	g_autofree char *sig_text = read_small(spath, 1024, &len, error);
	struct qm_tpl_signature sig;
	if (sig_text == NULL ||
	    !qm_tpl_signature_parse(sig_text, len, &sig, error))
		return NULL;
	g_autofree char *kfile = g_strconcat(sig.key_name, ".pub", NULL);
	g_autofree char *kpath = g_build_filename(keys_dir, kfile, NULL);
	struct qm_tpl_key key;
	if (!g_file_test(kpath, G_FILE_TEST_EXISTS)) {
		g_set_error(error, TPL_ERROR, 1, "%s: signed by key \"%s\", "
			    "which is not trusted here (no %s)", dir,
			    sig.key_name, kpath);
		return NULL;
	}
	if (!qm_tpl_key_load(kpath, false, &key, error))
		return NULL;
	g_autofree char *mtext = read_small(mpath, QM_TPL_MAX_MANIFEST, &len,
					    error);
	if (mtext == NULL)
		return NULL;
	if (crypto_sign_verify_detached(sig.sig, (const uint8_t *)mtext, len,
					key.pk) != 0) {
		g_set_error(error, TPL_ERROR, 1, "%s: the signature of %s does "
			    "not match key \"%s\" (tampered with, or signed "
			    "by another key of that name)", dir,
			    QM_TPL_MANIFEST, key.name);
		return NULL;
	}
	/* signed: still parsed strictly */
	g_autoptr(qm_tpl_manifest) m = qm_tpl_manifest_parse(mtext, len,
							     error);
	if (m == NULL)
		return NULL;
	g_autoptr(GPtrArray) names = list_dir(dir, error);
	if (names == NULL)
		return NULL;
	for (guint i = 0; i < names->len; i++) {
		const char *n = g_ptr_array_index(names, i);
		if (qm_tpl_manifest_find(m, n) == NULL) {
			g_set_error(error, TPL_ERROR, 1, "%s/%s: not in the "
				    "signed manifest", dir, n);
			return NULL;
		}
	}
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		g_set_error(error, TPL_ERROR, 1, "%s: %s", dir,
			    g_strerror(errno));
		return NULL;
	}
	for (guint i = 0; i < m->files->len; i++) {
		const struct qm_tpl_file *f =
			&g_array_index(m->files, struct qm_tpl_file, i);
		guint64 size = 0;
		uint8_t hash[QM_TPL_HASH_SIZE];
		if (!hash_file(dirfd, dir, f->name, &size, hash, error)) {
			close(dirfd);
			return NULL;
		}
		if (size != f->size ||
		    sodium_memcmp(hash, f->hash, sizeof(hash)) != 0) {
			close(dirfd);
			g_set_error(error, TPL_ERROR, 1, "%s/%s: does not match "
				    "the signed manifest (%s)", dir, f->name,
				    size != f->size ? "size" : "content");
			return NULL;
		}
	}
	close(dirfd);
	g_autofree char *name = NULL, *version = NULL;
	guint32 revision = 0;
	if (!qm_tpl_conf_identity(dir, &name, &version, &revision, error))
		return NULL;
	if (strcmp(name, m->name) != 0 || strcmp(version, m->version) != 0 ||
	    revision != m->revision) {
		g_set_error(error, TPL_ERROR, 1, "%s: %s says %s %s revision "
			    "%u, the manifest %s %s revision %u", dir,
			    QM_TPL_CONF, name, version, revision, m->name,
			    m->version, m->revision);
		return NULL;
	}
	if (key_name != NULL)
		*key_name = g_strdup(key.name);
	return g_steal_pointer(&m);
}
