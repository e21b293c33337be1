/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qvm-template: signed templates (docs/templates.md, "Signing").
 *
 *   qvm-template keygen NAME [--dir DIR]
 *   qvm-template sign TEMPLATE-DIR --key NAME.key
 *   qvm-template verify TEMPLATE-DIR [--keys-dir DIR]
 *   qvm-template install TEMPLATE-DIR [--keys-dir DIR] [--allow-unsigned]
 *   qvm-template list | rollback NAME | remove NAME      [--store DIR]
 *
 * install, list, rollback and remove work on the template store
 * (template-store.h), by default qmgrd's.  There, install also makes the
 * TemplateVM of a template new to qmgrd and remove removes it first, as
 * Qubes' qvm-template does; with --store they touch only that store.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <glib.h>
#include <sodium.h>

#include "atomic-file.h"
#include "client.h"
#include "template-sign.h"
#include "template-store.h"

#define DEFAULT_KEYS_DIR QMGR_SYSCONFDIR "/qmgr/template-keys"
#define DEFAULT_STORE QMGR_LOCALSTATEDIR "/lib/qmgr/template-store"
#define PROG "qvm-template"

/* qmgrd's store: under $QMGR_ROOT as qmgrd --root has it, else the
 * system's. */
static char *qmgrd_store(void)
{
	const char *root = g_getenv("QMGR_ROOT");
	if (root != NULL && *root != '\0')
		return g_build_filename(root, "var/lib/qmgr/template-store",
					NULL);
	return g_strdup(DEFAULT_STORE);
}

/* The class of qube NAME ("TemplateVM", ...), NULL when there is none;
 * false when qmgrd cannot be asked. */
static bool qube_class(struct qm_client *client, const char *name,
		       char **cls, GError **error)
{
	g_autoptr(GVariant) vms = qm_tool_list_vms(client, error);
	if (vms == NULL)
		return false;
	g_autoptr(GVariant) vm = qm_tool_find_vm(vms, name);
	*cls = NULL;
	if (vm != NULL)
		g_variant_lookup(vm, "class", "s", cls);
	return true;
}

static const char usage[] =
	"usage: qvm-template keygen NAME [--dir DIR]\n"
	"       qvm-template sign TEMPLATE-DIR --key NAME.key\n"
	"       qvm-template verify TEMPLATE-DIR [--keys-dir DIR]\n"
	"       qvm-template install TEMPLATE-DIR [--keys-dir DIR] "
	"[--allow-unsigned] [--store DIR]\n"
	"       qvm-template list [--store DIR]\n"
	"       qvm-template rollback|remove NAME [--store DIR]\n";

static int fail(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

static int fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("qvm-template: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 1;
}

static int cmd_keygen(const char *name, const char *dir)
{
	g_autoptr(GError) error = NULL;
	struct qm_tpl_key key;
	if (!qm_tpl_key_generate(name, &key, &error))
		return fail("%s", error->message);
	g_autofree char *kfile = g_strconcat(name, ".key", NULL);
	g_autofree char *pfile = g_strconcat(name, ".pub", NULL);
	g_autofree char *kpath = g_build_filename(dir, kfile, NULL);
	g_autofree char *ppath = g_build_filename(dir, pfile, NULL);
	if (g_file_test(kpath, G_FILE_TEST_EXISTS) ||
	    g_file_test(ppath, G_FILE_TEST_EXISTS)) {
		sodium_memzero(&key, sizeof(key));
		return fail("%s or %s exists: not overwriting a key (remove it "
			    "first, or choose another name)", kpath, ppath);
	}
	g_autofree char *secret = qm_tpl_key_format(&key, true);
	g_autofree char *public = qm_tpl_key_format(&key, false);
	sodium_memzero(&key, sizeof(key));
	bool ok = qm_atomic_write(kpath, secret, strlen(secret), 0600,
				  &error) &&
		  qm_atomic_write(ppath, public, strlen(public), 0644, &error);
	sodium_memzero(secret, strlen(secret));
	if (!ok)
		return fail("%s", error->message);
	printf("secret key: %s (keep it off the machines that install "
	       "templates)\npublic key: %s (copy it to %s/ to trust what it "
	       "signs)\n", kpath, ppath, DEFAULT_KEYS_DIR);
	return 0;
}

static int cmd_sign(const char *dir, const char *key_path)
{
	g_autoptr(GError) error = NULL;
	struct qm_tpl_key key;
	if (key_path == NULL)
		return fail("sign: --key NAME.key is needed");
	if (!qm_tpl_key_load(key_path, true, &key, &error))
		return fail("%s", error->message);
	bool ok = qm_tpl_dir_sign(dir, &key, &error);
	g_autofree char *name = g_strdup(key.name);
	sodium_memzero(&key, sizeof(key));
	if (!ok)
		return fail("cannot sign %s: %s", dir, error->message);
	printf("signed %s with key %s\n", dir, name);
	return 0;
}

static int cmd_verify(const char *dir, const char *keys_dir)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *key = NULL;
	g_autoptr(qm_tpl_manifest) m = qm_tpl_dir_verify(
		dir, keys_dir ? keys_dir : DEFAULT_KEYS_DIR, &key, &error);
	if (m == NULL)
		return fail("%s", error->message);
	printf("%s: template %s %s revision %u, %u files, signed by %s\n",
	       dir, m->name, m->version, m->revision, m->files->len, key);
	return 0;
}

static void print_entry(const struct qm_tpl_store_entry *e)
{
	printf("%-20s %-12s %-9u %s", e->name, e->current_version,
	       e->current, e->current_signer ? e->current_signer
					      : "UNSIGNED");
	if (e->previous)
		printf("  (previous: %s revision %u)", e->previous_version,
		       e->previous);
	putchar('\n');
}

/*
 * After an install into qmgrd's store: a template new to qmgrd becomes a
 * TemplateVM of its name, which boots the store's current revision.  Not
 * reaching qmgrd is a warning (the template is installed; the TemplateVM
 * can be made later), a refusal an error.
 */
static int make_template_vm(const struct qm_tpl_store_entry *e)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(qm_client) client = qm_client_connect(PROG, &err);
	if (client == NULL) {
		fprintf(stderr, PROG ": warning: no TemplateVM made: %s; once "
			"qmgrd runs: qvm-create --class TemplateVM %s\n",
			err->message, e->name);
		return 0;
	}
	g_autofree char *cls = NULL;
	if (!qube_class(client, e->name, &cls, &err)) {
		qm_tool_print_error(PROG, err);
		return 1;
	}
	if (cls != NULL && strcmp(cls, "TemplateVM") == 0) {
		printf("TemplateVM %s boots revision %u from its next start\n",
		       e->name, e->current);
		return 0;
	}
	if (cls != NULL) {
		fprintf(stderr, PROG ": warning: qube %s is a%s %s, not a "
			"TemplateVM: it does not boot from the template store "
			"(rename the template, or remove that qube and run "
			"qvm-create --class TemplateVM %s)\n", e->name,
			strchr("AEIOU", cls[0]) ? "n" : "", cls, e->name);
		return 1;
	}
	GVariantDict args;
	g_variant_dict_init(&args, NULL);
	g_variant_dict_insert(&args, "class", "s", "TemplateVM");
	g_autoptr(GVariant) r = qm_client_call(client, "vm.Create", e->name,
					       g_variant_dict_end(&args),
					       &err);
	if (r == NULL) {
		fprintf(stderr, PROG ": template %s is installed, but its "
			"TemplateVM was not made: ", e->name);
		qm_tool_fputs_safe(err->message, stderr);
		fputc('\n', stderr);
		return 1;
	}
	printf("created TemplateVM %s (qvm-create --template %s NAME makes "
	       "qubes on it)\n", e->name, e->name);
	return 0;
}

static int cmd_install(const char *src, const char *store,
		       const char *keys_dir, bool allow_unsigned,
		       bool make_qubes)
{
	g_autoptr(GError) error = NULL;
	struct qm_tpl_store_entry *e = NULL;
	if (!qm_tpl_store_install(store, src, keys_dir, allow_unsigned, &e,
				  &error))
		return fail("%s", error->message);
	printf("installed %s %s revision %u%s%s", e->name, e->current_version,
	       e->current, e->current_signer ? ", signed by " : " UNSIGNED",
	       e->current_signer ? e->current_signer : "");
	if (e->previous)
		printf("; revision %u kept for rollback", e->previous);
	putchar('\n');
	int rc = make_qubes ? make_template_vm(e) : 0;
	qm_tpl_store_entry_free(e);
	return rc;
}

static int cmd_list(const char *store)
{
	g_autoptr(GError) error = NULL;
	if (!qm_tpl_store_recover(store, &error))
		return fail("%s", error->message);
	g_autoptr(GPtrArray) all = qm_tpl_store_list(store, &error);
	if (all == NULL)
		return fail("%s", error->message);
	printf("%-20s %-12s %-9s %s\n", "NAME", "VERSION", "REVISION",
	       "SIGNED BY");
	for (guint i = 0; i < all->len; i++)
		print_entry(g_ptr_array_index(all, i));
	return 0;
}

static int cmd_rollback(const char *name, const char *store)
{
	g_autoptr(GError) error = NULL;
	struct qm_tpl_store_entry *e = NULL;
	if (!qm_tpl_store_rollback(store, name, &e, &error))
		return fail("%s", error->message);
	printf("%s: revision %u (%s) is current again; revision %u is "
	       "previous\n", e->name, e->current, e->current_version,
	       e->previous);
	qm_tpl_store_entry_free(e);
	return 0;
}

/*
 * Before removing a template from qmgrd's store: its TemplateVM goes
 * first (qmgrd refuses while it runs or other qubes use it, naming them),
 * so that no TemplateVM is left without a root to boot.
 */
static bool remove_template_vm(const char *name)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(qm_client) client = qm_client_connect(PROG, &err);
	if (client == NULL) {
		fprintf(stderr, PROG ": template %s not removed: %s; its "
			"TemplateVM must go first (or give --store to remove "
			"only the store's copy)\n", name, err->message);
		return false;
	}
	g_autofree char *cls = NULL;
	if (!qube_class(client, name, &cls, &err)) {
		qm_tool_print_error(PROG, err);
		return false;
	}
	if (cls == NULL || strcmp(cls, "TemplateVM") != 0)
		return true;
	g_autoptr(GVariant) r = qm_client_call(client, "vm.Remove", name,
					       NULL, &err);
	if (r == NULL) {
		fprintf(stderr, PROG ": template %s not removed: its "
			"TemplateVM cannot be removed: ", name);
		qm_tool_fputs_safe(err->message, stderr);
		fputc('\n', stderr);
		return false;
	}
	printf("removed TemplateVM %s\n", name);
	return true;
}

static int cmd_remove(const char *name, const char *store, bool qubes)
{
	g_autoptr(GError) error = NULL;
	if (qubes && !remove_template_vm(name))
		return 1;
	if (!qm_tpl_store_remove(store, name, &error))
		return fail("%s", error->message);
	printf("removed template %s\n", name);
	return 0;
}

int main(int argc, char **argv)
{
	g_autofree char *dir = NULL, *key = NULL, *keys_dir = NULL;
	g_autofree char *store = NULL;
	gboolean allow_unsigned = FALSE;
	GOptionEntry entries[] = {
		{ "dir", 0, 0, G_OPTION_ARG_FILENAME, &dir,
		  "keygen: where to write NAME.key and NAME.pub (.)", "DIR" },
		{ "key", 0, 0, G_OPTION_ARG_FILENAME, &key,
		  "sign: the secret key file", "NAME.key" },
		{ "keys-dir", 0, 0, G_OPTION_ARG_FILENAME, &keys_dir,
		  "verify: the trusted public keys (" DEFAULT_KEYS_DIR ")",
		  "DIR" },
		{ "store", 0, 0, G_OPTION_ARG_FILENAME, &store,
		  "install, list, rollback, remove: this template store only, "
		  "no qubes (qmgrd's: " DEFAULT_STORE ", under $QMGR_ROOT "
		  "when set)", "DIR" },
		{ "allow-unsigned", 0, 0, G_OPTION_ARG_NONE, &allow_unsigned,
		  "install: accept a template without a signature (warns)",
		  NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new(
		"keygen|sign|verify|install|list|rollback|remove [ARG] - signed templates");
	g_autoptr(GError) error = NULL;
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		fprintf(stderr, "qvm-template: %s\n%s", error->message, usage);
		return 2;
	}
	/* Without --store: qmgrd's store, whose templates are qubes too. */
	g_autofree char *own = qmgrd_store();
	const char *st = store ? store : own;
	bool qubes = store == NULL;
	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return cmd_list(st);
	if (argc != 3) {
		fputs(usage, stderr);
		return 2;
	}
	const char *cmd = argv[1], *arg = argv[2];
	if (strcmp(cmd, "keygen") == 0)
		return cmd_keygen(arg, dir ? dir : ".");
	if (strcmp(cmd, "sign") == 0)
		return cmd_sign(arg, key);
	if (strcmp(cmd, "verify") == 0)
		return cmd_verify(arg, keys_dir);
	if (strcmp(cmd, "install") == 0)
		return cmd_install(arg, st, keys_dir ? keys_dir
						      : DEFAULT_KEYS_DIR,
				   allow_unsigned, qubes);
	if (strcmp(cmd, "rollback") == 0)
		return cmd_rollback(arg, st);
	if (strcmp(cmd, "remove") == 0)
		return cmd_remove(arg, st, qubes);
	fprintf(stderr, "qvm-template: unknown command \"%s\"\n%s", cmd,
		usage);
	return 2;
}
