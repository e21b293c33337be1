/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The signed template format's decoders (common/template-manifest.c):
 * what the writers produce parses back to the same thing, and each way a
 * hostile MANIFEST, MANIFEST.sig or key file can be wrong is refused with
 * a message naming it.
 */
#include "template-manifest.h"

#include <string.h>
#include <glib.h>

#ifdef NDEBUG
#error "tests need assertions"
#endif

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEAD "qmgr-template-manifest 1\nname minimal\nversion 0.1.0\n" \
	     "revision 3\n"

struct bad_case {
	const char *name;
	const char *text;
	const char *why;        /* a substring of the error */
};

static const struct bad_case bad_manifests[] = {
	{ "empty", "", "empty" },
	{ "just_newline", "\n", "empty line" },   /* found by the fuzzer */
	{ "no_final_newline", HEAD "file a 1 " H64, "newline" },
	{ "wrong_magic", "qmgr-template-manifest 2\nname m\nversion 1\n"
	  "revision 1\nfile a 1 " H64 "\n", "newer format" },
	{ "no_files", HEAD, "at least one file" },
	{ "nul_byte", "qmgr-template-manifest 1\nname m\0x\nversion 1\n"
	  "revision 1\nfile a 1 " H64 "\n", "byte 0x00" },
	{ "control_char", HEAD "file a\t1 " H64 "\n", "byte 0x09" },
	{ "high_byte", HEAD "file \xc3\xa9 1 " H64 "\n", "byte 0xc3" },
	{ "empty_line", HEAD "\nfile a 1 " H64 "\n", "empty line" },
	{ "bad_name", "qmgr-template-manifest 1\nname 1abc\nversion 1\n"
	  "revision 1\nfile a 1 " H64 "\n", "line 2" },
	{ "two_spaces", "qmgr-template-manifest 1\nname  m\nversion 1\n"
	  "revision 1\nfile a 1 " H64 "\n", "line 2" },
	{ "bad_version", "qmgr-template-manifest 1\nname m\nversion 1/2\n"
	  "revision 1\nfile a 1 " H64 "\n", "line 3" },
	{ "revision_zero", "qmgr-template-manifest 1\nname m\nversion 1\n"
	  "revision 0\nfile a 1 " H64 "\n", "line 4" },
	{ "revision_leading_zero", "qmgr-template-manifest 1\nname m\n"
	  "version 1\nrevision 03\nfile a 1 " H64 "\n", "line 4" },
	{ "revision_huge", "qmgr-template-manifest 1\nname m\nversion 1\n"
	  "revision 99999999999999999999\nfile a 1 " H64 "\n", "line 4" },
	{ "file_path", HEAD "file ../a 1 " H64 "\n", "bad file name" },
	{ "file_slash", HEAD "file a/b 1 " H64 "\n", "bad file name" },
	{ "file_dot", HEAD "file .hidden 1 " H64 "\n", "bad file name" },
	{ "file_manifest", HEAD "file MANIFEST 1 " H64 "\n", "bad file name" },
	{ "file_signature", HEAD "file MANIFEST.sig 1 " H64 "\n",
	  "bad file name" },
	{ "size_sign", HEAD "file a -1 " H64 "\n", "bad size" },
	{ "size_leading_zero", HEAD "file a 01 " H64 "\n", "bad size" },
	{ "size_huge", HEAD "file a 99999999999999999999 " H64 "\n",
	  "bad size" },
	{ "hash_short", HEAD "file a 1 0123\n", "bad hash" },
	{ "hash_not_hex", HEAD "file a 1 " "zz" H64 "\n", "bad hash" },
	{ "hash_upper", HEAD "file a 1 "
	  "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\n",
	  "lower case" },
	{ "files_unsorted", HEAD "file b 1 " H64 "\nfile a 1 " H64 "\n",
	  "not in order" },
	{ "file_twice", HEAD "file a 1 " H64 "\nfile a 2 " H64 "\n",
	  "twice" },
	{ "extra_field", HEAD "file a 1 " H64 " x\n", "expected \"file" },
	{ "unknown_line", HEAD "dir a\n", "expected \"file" },
};

static void test_manifest_refuses(gconstpointer data)
{
	const struct bad_case *c = data;
	size_t len = strlen(c->text);
	g_autoptr(GError) error = NULL;

	/* the NUL case is longer than strlen says */
	if (strcmp(c->name, "nul_byte") == 0)
		len = sizeof("qmgr-template-manifest 1\nname m\0x\nversion 1\n"
			     "revision 1\nfile a 1 " H64 "\n") - 1;
	g_autoptr(qm_tpl_manifest) m = qm_tpl_manifest_parse(c->text, len,
							     &error);
	g_assert_null(m);
	g_assert_nonnull(error);
	g_test_message("%s: %s", c->name, error->message);
	g_assert_nonnull(strstr(error->message, c->why));
}

static void test_manifest_round_trip(void)
{
	const char *text = HEAD "file initramfs.cpio.gz 1774551 " H64 "\n"
			   "file root.img 268435456 " H64 "\n"
			   "file vmlinux 0 " H64 "\n";
	g_autoptr(GError) error = NULL;
	g_autoptr(qm_tpl_manifest) m = qm_tpl_manifest_parse(
		text, strlen(text), &error);
	g_assert_no_error(error);
	g_assert_cmpstr(m->name, ==, "minimal");
	g_assert_cmpstr(m->version, ==, "0.1.0");
	g_assert_cmpuint(m->revision, ==, 3);
	g_assert_cmpuint(m->files->len, ==, 3);
	g_assert_nonnull(qm_tpl_manifest_find(m, "root.img"));
	g_assert_cmpuint(qm_tpl_manifest_find(m, "root.img")->size, ==,
			 268435456);
	g_assert_null(qm_tpl_manifest_find(m, "nope"));
	g_autofree char *back = qm_tpl_manifest_format(m);
	g_assert_cmpstr(back, ==, text);
}

static void test_manifest_limits(void)
{
	GString *s = g_string_new(HEAD);
	for (unsigned i = 0; i <= QM_TPL_MAX_FILES; i++)
		g_string_append_printf(s, "file f%03u 1 " H64 "\n", i);
	g_autoptr(GError) error = NULL;
	g_autoptr(qm_tpl_manifest) m = qm_tpl_manifest_parse(s->str, s->len,
							     &error);
	g_assert_null(m);
	g_assert_nonnull(strstr(error->message, "files, more than"));
	g_string_free(s, TRUE);

	g_autofree char *big = g_malloc(QM_TPL_MAX_MANIFEST + 2);
	memset(big, 'a', QM_TPL_MAX_MANIFEST + 1);
	big[QM_TPL_MAX_MANIFEST + 1] = '\n';
	g_clear_error(&error);
	g_assert_null(qm_tpl_manifest_parse(big, QM_TPL_MAX_MANIFEST + 2,
					    &error));
	g_assert_nonnull(strstr(error->message, "more than"));
}

static void test_key_and_signature_lines(void)
{
	struct qm_tpl_key k = { .name = "release", .has_secret = false };
	memset(k.pk, 0x5a, sizeof(k.pk));
	g_autofree char *pub = qm_tpl_key_format(&k, false);
	struct qm_tpl_key back;
	g_autoptr(GError) error = NULL;
	g_assert_true(qm_tpl_key_parse(pub, strlen(pub), false, &back,
				       &error));
	g_assert_cmpstr(back.name, ==, "release");
	g_assert_cmpmem(back.pk, sizeof(back.pk), k.pk, sizeof(k.pk));

	struct qm_tpl_signature s = { .key_name = "release" };
	memset(s.sig, 0xa5, sizeof(s.sig));
	g_autofree char *sig = qm_tpl_signature_format(&s);
	struct qm_tpl_signature sb;
	g_assert_true(qm_tpl_signature_parse(sig, strlen(sig), &sb, &error));
	g_assert_cmpmem(sb.sig, sizeof(sb.sig), s.sig, sizeof(s.sig));

	static const struct bad_case bad[] = {
		{ "pub_as_secret", NULL, "qmgr-template-secret-key" },
		{ "wrong_length", "qmgr-template-key 1 k AAAA\n", "bad base64" },
		{ "path_name", "qmgr-template-key 1 ../k "
		  "WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo=\n",
		  "bad key name" },
		{ "two_lines", "qmgr-template-key 1 k "
		  "WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo=\nx\n",
		  "more than one line" },
		{ "base64_url", "qmgr-template-key 1 k "
		  "WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo\n",
		  "bad base64" },
		{ "version_2", "qmgr-template-key 2 k "
		  "WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo=\n",
		  "expected" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		const char *text = bad[i].text ? bad[i].text : pub;
		g_clear_error(&error);
		g_assert_false(qm_tpl_key_parse(text, strlen(text),
						bad[i].text == NULL, &back,
						&error));
		g_test_message("%s: %s", bad[i].name, error->message);
		g_assert_nonnull(strstr(error->message, bad[i].why));
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(bad_manifests); i++) {
		g_autofree char *path = g_strdup_printf(
			"/template/manifest/refuses/%s",
			bad_manifests[i].name);
		g_test_add_data_func(path, &bad_manifests[i],
				     test_manifest_refuses);
	}
	g_test_add_func("/template/manifest/round-trip",
			test_manifest_round_trip);
	g_test_add_func("/template/manifest/limits", test_manifest_limits);
	g_test_add_func("/template/key-and-signature-lines",
			test_key_and_signature_lines);
	return g_test_run();
}
