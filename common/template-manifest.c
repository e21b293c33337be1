/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Decoders and writers of the signed template format's text files
 * (template-manifest.h).  Strict: one form is accepted for each file, the
 * one the writers produce, so a signed text has exactly one meaning.
 */
#include "template-manifest.h"

#include <string.h>
#include <sodium.h>

#define TPL_ERROR g_quark_from_static_string("qm-template-error")

static bool fail(GError **error, unsigned line, const char *what,
		 const char *fmt, ...) G_GNUC_PRINTF(4, 5);

static bool fail(GError **error, unsigned line, const char *what,
		 const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (line != 0)
		g_set_error(error, TPL_ERROR, 1, "%s, line %u: %s", what, line,
			    msg);
	else
		g_set_error(error, TPL_ERROR, 1, "%s: %s", what, msg);
	return false;
}

static bool charset_ok(const char *s, const char *extra)
{
	for (const char *p = s; *p; p++)
		if (!g_ascii_isalnum(*p) && strchr(extra, *p) == NULL)
			return false;
	return true;
}

bool qm_tpl_file_name_is_valid(const char *name)
{
	size_t n = strlen(name);
	return n >= 1 && n <= QM_TPL_MAX_NAME && name[0] != '.' &&
	       name[0] != '-' && charset_ok(name, "._-");
}

/* A template's name: as a qube's (letter first, at most 31). */
bool qm_tpl_template_name_is_valid(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n <= 31 && g_ascii_isalpha(s[0]) &&
	       charset_ok(s, "_.-");
}

static bool version_ok(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n <= QM_TPL_MAX_VERSION && g_ascii_isalnum(s[0]) &&
	       charset_ok(s, ".+~-");
}

/* A decimal number in its one form (no sign, no leading zero). */
static bool number_parse(const char *s, guint64 max, guint64 *out)
{
	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return false;
	for (const char *p = s; *p; p++)
		if (!g_ascii_isdigit(*p))
			return false;
	return g_ascii_string_to_unsigned(s, 10, 0, max, out, NULL);
}

/*
 * Splits `untrusted` into lines: every line ends with '\n' (the last
 * too), none is empty or holds a NUL or other control character.
 */
static char **split_lines(const char *untrusted, size_t len, size_t max,
			  const char *what, GError **error)
{
	if (len == 0)
		return fail(error, 0, what, "empty"), NULL;
	if (len > max)
		return fail(error, 0, what, "%zu bytes, more than %zu", len,
			    max), NULL;
	if (untrusted[len - 1] != '\n')
		return fail(error, 0, what, "does not end with a newline"),
		       NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)untrusted[i];
		if ((c < 0x20 && c != '\n') || c >= 0x7f)
			return fail(error, 0, what, "byte 0x%02x at offset "
				    "%zu: only printable ASCII", c, i), NULL;
	}
	/* sanitized: printable ASCII lines */
	g_autofree char *text = g_strndup(untrusted, len - 1);
	if (text[0] == '\0')       /* g_strsplit would give no line at all */
		return fail(error, 1, what, "empty line"), NULL;
	char **lines = g_strsplit(text, "\n", -1);
	for (unsigned i = 0; lines[i] != NULL; i++) {
		if (lines[i][0] == '\0') {
			fail(error, i + 1, what, "empty line");
			g_strfreev(lines);
			return NULL;
		}
	}
	return lines;
}

/* "KEY VALUE" with exactly one space; returns VALUE or NULL. */
static const char *keyword_value(const char *line, const char *key)
{
	size_t n = strlen(key);
	if (strncmp(line, key, n) != 0 || line[n] != ' ')
		return NULL;
	const char *v = line + n + 1;
	return *v != '\0' && strchr(v, ' ') == NULL ? v : NULL;
}

void qm_tpl_manifest_destroy(struct qm_tpl_manifest *m)
{
	if (m == NULL)
		return;
	g_free(m->name);
	g_free(m->version);
	if (m->files != NULL) {
		for (guint i = 0; i < m->files->len; i++)
			g_free(g_array_index(m->files, struct qm_tpl_file,
					     i).name);
		g_array_unref(m->files);
	}
	g_free(m);
}

struct qm_tpl_manifest *qm_tpl_manifest_parse(const char *untrusted,
					      size_t len, GError **error)
{
	const char *what = QM_TPL_MANIFEST;
	g_auto(GStrv) lines = split_lines(untrusted, len,
					  QM_TPL_MAX_MANIFEST, what, error);
	if (lines == NULL)
		return NULL;
	g_autoptr(qm_tpl_manifest) m = g_new0(struct qm_tpl_manifest, 1);
	m->files = g_array_new(FALSE, TRUE, sizeof(struct qm_tpl_file));
	guint n_lines = g_strv_length(lines);
	const char *v;
	guint64 num;

	if (strcmp(lines[0], "qmgr-template-manifest 1") != 0)
		return fail(error, 1, what, "not \"qmgr-template-manifest 1\" "
			    "(not a qmgr template manifest, or a newer "
			    "format)"), NULL;
	if (n_lines < 5)
		return fail(error, 0, what, "%u lines: needs name, version, "
			    "revision and at least one file", n_lines), NULL;
	if ((v = keyword_value(lines[1], "name")) == NULL ||
	    !qm_tpl_template_name_is_valid(v))
		return fail(error, 2, what, "expected \"name NAME\" (a letter, "
			    "then letters, digits, '_', '.', '-'; at most "
			    "31)"), NULL;
	m->name = g_strdup(v);
	if ((v = keyword_value(lines[2], "version")) == NULL ||
	    !version_ok(v))
		return fail(error, 3, what, "expected \"version VERSION\" "
			    "(letters, digits, '.', '+', '~', '-'; at most "
			    "%u)", QM_TPL_MAX_VERSION), NULL;
	m->version = g_strdup(v);
	if ((v = keyword_value(lines[3], "revision")) == NULL ||
	    !number_parse(v, QM_TPL_MAX_REVISION, &num) || num == 0)
		return fail(error, 4, what, "expected \"revision N\" (1 to "
			    "%u)", QM_TPL_MAX_REVISION), NULL;
	m->revision = (guint32)num;

	if (n_lines - 4 > QM_TPL_MAX_FILES)
		return fail(error, 0, what, "%u files, more than %u",
			    n_lines - 4, QM_TPL_MAX_FILES), NULL;
	for (guint i = 4; i < n_lines; i++) {
		g_auto(GStrv) f = g_strsplit(lines[i], " ", -1);
		if (g_strv_length(f) != 4 || strcmp(f[0], "file") != 0)
			return fail(error, i + 1, what, "expected \"file NAME "
				    "SIZE HASH\""), NULL;
		if (!qm_tpl_file_name_is_valid(f[1]) ||
		    strcmp(f[1], QM_TPL_MANIFEST) == 0 ||
		    strcmp(f[1], QM_TPL_SIGNATURE) == 0)
			return fail(error, i + 1, what, "bad file name \"%s\" "
				    "(a plain name of letters, digits, '.', "
				    "'_', '-', not the manifest's own)", f[1]),
			       NULL;
		struct qm_tpl_file file = { 0 };
		if (!number_parse(f[2], G_MAXINT64, &file.size))
			return fail(error, i + 1, what, "bad size \"%s\"",
				    f[2]), NULL;
		size_t hex_len = 0;
		if (strlen(f[3]) != 2 * QM_TPL_HASH_SIZE ||
		    !charset_ok(f[3], "") ||
		    sodium_hex2bin(file.hash, sizeof(file.hash), f[3],
				   strlen(f[3]), NULL, &hex_len, NULL) != 0 ||
		    hex_len != QM_TPL_HASH_SIZE)
			return fail(error, i + 1, what, "bad hash (64 hex "
				    "digits)"), NULL;
		/* one form: lower-case hex */
		for (const char *p = f[3]; *p; p++)
			if (g_ascii_isupper(*p))
				return fail(error, i + 1, what, "hash not in "
					    "lower case"), NULL;
		if (m->files->len > 0) {
			const struct qm_tpl_file *prev = &g_array_index(
				m->files, struct qm_tpl_file,
				m->files->len - 1);
			if (strcmp(prev->name, f[1]) >= 0)
				return fail(error, i + 1, what, "files not in "
					    "order, or \"%s\" twice", f[1]),
				       NULL;
		}
		file.name = g_strdup(f[1]);
		g_array_append_val(m->files, file);
	}
	return g_steal_pointer(&m);
}

char *qm_tpl_manifest_format(const struct qm_tpl_manifest *m)
{
	GString *s = g_string_new("qmgr-template-manifest 1\n");
	g_string_append_printf(s, "name %s\nversion %s\nrevision %u\n",
			       m->name, m->version, m->revision);
	for (guint i = 0; i < m->files->len; i++) {
		const struct qm_tpl_file *f =
			&g_array_index(m->files, struct qm_tpl_file, i);
		char hex[2 * QM_TPL_HASH_SIZE + 1];
		sodium_bin2hex(hex, sizeof(hex), f->hash, sizeof(f->hash));
		g_string_append_printf(s, "file %s %" G_GUINT64_FORMAT " %s\n",
				       f->name, f->size, hex);
	}
	return g_string_free(s, FALSE);
}

const struct qm_tpl_file *qm_tpl_manifest_find(const struct qm_tpl_manifest *m,
					       const char *name)
{
	for (guint i = 0; i < m->files->len; i++) {
		const struct qm_tpl_file *f =
			&g_array_index(m->files, struct qm_tpl_file, i);
		if (strcmp(f->name, name) == 0)
			return f;
	}
	return NULL;
}

/* "MAGIC 1 NAME BASE64" with the base64 decoding to exactly `size`
 * bytes; the name is copied to name_out. */
static bool parse_line(const char *untrusted, size_t len, const char *magic,
		       const char *what, char *name_out, uint8_t *bin,
		       size_t size, GError **error)
{
	g_auto(GStrv) lines = split_lines(untrusted, len, 1024, what, error);
	if (lines == NULL)
		return false;
	if (g_strv_length(lines) != 1)
		return fail(error, 0, what, "more than one line");
	g_auto(GStrv) f = g_strsplit(lines[0], " ", -1);
	if (g_strv_length(f) != 4 || strcmp(f[0], magic) != 0 ||
	    strcmp(f[1], "1") != 0)
		return fail(error, 1, what, "expected \"%s 1 NAME BASE64\"",
			    magic);
	if (!qm_tpl_file_name_is_valid(f[2]))
		return fail(error, 1, what, "bad key name \"%s\"", f[2]);
	size_t bin_len = 0;
	const char *end = NULL;
	if (sodium_base642bin(bin, size, f[3], strlen(f[3]), NULL, &bin_len,
			      &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bin_len != size || end != f[3] + strlen(f[3]))
		return fail(error, 1, what, "bad base64 (expected %zu bytes)",
			    size);
	/* one form: what sodium_bin2base64 writes back */
	char back[sodium_base64_ENCODED_LEN(QM_TPL_SK_SIZE,
					    sodium_base64_VARIANT_ORIGINAL)];
	sodium_bin2base64(back, sizeof(back), bin, size,
			  sodium_base64_VARIANT_ORIGINAL);
	if (strcmp(back, f[3]) != 0)
		return fail(error, 1, what, "base64 not in its usual form");
	g_strlcpy(name_out, f[2], QM_TPL_MAX_NAME + 1);
	return true;
}

static char *format_line(const char *magic, const char *name,
			 const uint8_t *bin, size_t size)
{
	char b64[sodium_base64_ENCODED_LEN(QM_TPL_SK_SIZE,
					   sodium_base64_VARIANT_ORIGINAL)];
	sodium_bin2base64(b64, sizeof(b64), bin, size,
			  sodium_base64_VARIANT_ORIGINAL);
	return g_strdup_printf("%s 1 %s %s\n", magic, name, b64);
}

bool qm_tpl_signature_parse(const char *untrusted, size_t len,
			    struct qm_tpl_signature *out, GError **error)
{
	memset(out, 0, sizeof(*out));
	return parse_line(untrusted, len, "qmgr-template-signature",
			  QM_TPL_SIGNATURE, out->key_name, out->sig,
			  sizeof(out->sig), error);
}

char *qm_tpl_signature_format(const struct qm_tpl_signature *s)
{
	return format_line("qmgr-template-signature", s->key_name, s->sig,
			   sizeof(s->sig));
}

bool qm_tpl_key_parse(const char *untrusted, size_t len, bool secret,
		      struct qm_tpl_key *out, GError **error)
{
	memset(out, 0, sizeof(*out));
	if (!secret)
		return parse_line(untrusted, len, "qmgr-template-key",
				  "public key", out->name, out->pk,
				  sizeof(out->pk), error);
	if (!parse_line(untrusted, len, "qmgr-template-secret-key",
			"secret key", out->name, out->sk, sizeof(out->sk),
			error))
		return false;
	/* libsodium's secret key carries its public half */
	crypto_sign_ed25519_sk_to_pk(out->pk, out->sk);
	out->has_secret = true;
	return true;
}

char *qm_tpl_key_format(const struct qm_tpl_key *k, bool secret)
{
	if (secret)
		return format_line("qmgr-template-secret-key", k->name, k->sk,
				   sizeof(k->sk));
	return format_line("qmgr-template-key", k->name, k->pk,
			   sizeof(k->pk));
}
