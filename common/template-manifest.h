/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The signed template format (docs/templates.md, "Signing"): the text
 * files that make a template directory verifiable, and their decoders.
 * Everything here comes from outside (a downloaded template, a key file)
 * and is checked before use; this file does nothing else, so it is unit
 * tested and fuzzed alone (tests/fuzz/fuzz-template-manifest.c).
 *
 *   MANIFEST      what is signed: the template's name, version and
 *                 revision and, for every other file of the directory, its
 *                 name, size and BLAKE2b-256 hash:
 *
 *                   qmgr-template-manifest 1
 *                   name minimal
 *                   version 0.1.0
 *                   revision 3
 *                   file initramfs.cpio.gz 1774551 <64 hex digits>
 *                   ...
 *
 *   MANIFEST.sig  one line: "qmgr-template-signature 1 KEYNAME BASE64",
 *                 the Ed25519 signature (libsodium, detached) of MANIFEST's
 *                 bytes by the key KEYNAME.
 *
 *   KEYNAME.pub   one line: "qmgr-template-key 1 KEYNAME BASE64", a public
 *                 key (in /etc/qmgr/template-keys/ to be trusted);
 *   KEYNAME.key   "qmgr-template-secret-key 1 KEYNAME BASE64", the 64-byte
 *                 secret key (mode 0600; never on the machines that
 *                 install templates).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#define QM_TPL_MANIFEST "MANIFEST"
#define QM_TPL_SIGNATURE "MANIFEST.sig"
#define QM_TPL_HASH_SIZE 32             /* BLAKE2b-256 */
#define QM_TPL_PK_SIZE 32               /* crypto_sign_PUBLICKEYBYTES */
#define QM_TPL_SK_SIZE 64               /* crypto_sign_SECRETKEYBYTES */
#define QM_TPL_SIG_SIZE 64              /* crypto_sign_BYTES */
/* Limits on what a manifest may say (a template has a handful of files). */
#define QM_TPL_MAX_MANIFEST (64u * 1024)
#define QM_TPL_MAX_FILES 64u
#define QM_TPL_MAX_NAME 64u             /* file, key and template names */
#define QM_TPL_MAX_VERSION 32u
#define QM_TPL_MAX_REVISION 1000000000u

struct qm_tpl_file {
	char *name;             /* a plain file name: [A-Za-z0-9._-], no dot first */
	guint64 size;
	uint8_t hash[QM_TPL_HASH_SIZE];
};

struct qm_tpl_manifest {
	char *name;             /* the template's name, as a qube name */
	char *version;          /* [A-Za-z0-9.+~-], 1..QM_TPL_MAX_VERSION */
	guint32 revision;       /* 1..QM_TPL_MAX_REVISION */
	GArray *files;          /* struct qm_tpl_file, sorted by name, unique */
};

struct qm_tpl_signature {
	char key_name[QM_TPL_MAX_NAME + 1];
	uint8_t sig[QM_TPL_SIG_SIZE];
};

struct qm_tpl_key {
	char name[QM_TPL_MAX_NAME + 1];
	uint8_t pk[QM_TPL_PK_SIZE];
	bool has_secret;
	uint8_t sk[QM_TPL_SK_SIZE];     /* when has_secret */
};

/* Names: a template file or key; a template (as a qube's name). */
bool qm_tpl_file_name_is_valid(const char *name);
bool qm_tpl_template_name_is_valid(const char *name);

/* Parses a MANIFEST's bytes (not NUL-terminated); NULL with an error
 * naming the line and what is wrong. */
struct qm_tpl_manifest *qm_tpl_manifest_parse(const char *untrusted,
					      size_t len, GError **error);
void qm_tpl_manifest_destroy(struct qm_tpl_manifest *m);
typedef struct qm_tpl_manifest qm_tpl_manifest;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(qm_tpl_manifest, qm_tpl_manifest_destroy)
/* The manifest's text; parsing it gives `m` back. */
char *qm_tpl_manifest_format(const struct qm_tpl_manifest *m);
const struct qm_tpl_file *qm_tpl_manifest_find(const struct qm_tpl_manifest *m,
					       const char *name);

bool qm_tpl_signature_parse(const char *untrusted, size_t len,
			    struct qm_tpl_signature *out, GError **error);
char *qm_tpl_signature_format(const struct qm_tpl_signature *s);

/* A .pub (secret false) or .key (secret true) file's bytes. */
bool qm_tpl_key_parse(const char *untrusted, size_t len, bool secret,
		      struct qm_tpl_key *out, GError **error);
char *qm_tpl_key_format(const struct qm_tpl_key *k, bool secret);
