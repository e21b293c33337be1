/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gui.ClipboardPaste (qmgrd/clipboard.c), end to end: a real qmgrd
 * (libvirt's test driver, a small fake template) with a policy for
 * qmgr.ClipboardPaste, asked through the tools' client as gui-proxy asks
 * it.  Allow, deny, a redirecting rule, bad arguments, and `ask` with no
 * prompt agent, answered and refused by one; then the audit log holds
 * each decision in order.
 *
 *   test-clipboard-paste BUILD_DIR
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit.h"
#include "client.h"

#ifdef NDEBUG
#error "tests need assertions"
#endif

static const char *build;
static char *tmp;
static char *root;
static GPid qmgrd_pid;

static const char policy[] =
	"qmgr.ClipboardPaste * work     personal allow\n"
	"qmgr.ClipboardPaste * work     other    allow target=personal\n"
	"qmgr.ClipboardPaste * @anyvm   vault    ask\n"
	"qmgr.ClipboardPaste * @anyvm   @anyvm   deny\n";

static void write_file(const char *dir, const char *name, const char *text,
		       gssize len)
{
	g_autofree char *p = g_build_filename(dir, name, NULL);
	g_assert_true(g_file_set_contents(p, text, len, NULL));
}

static void start_qmgrd(void)
{
	tmp = g_dir_make_tmp("qmgr-clipboard-XXXXXX", NULL);
	g_autofree char *tdir = g_build_filename(tmp, "templates", "minimal",
						 NULL);
	g_assert_cmpint(g_mkdir_with_parents(tdir, 0755), ==, 0);
	char zeros[4096] = { 0 };
	write_file(tdir, "vmlinux", zeros, sizeof(zeros));
	write_file(tdir, "initramfs.cpio.gz", zeros, sizeof(zeros));
	g_autofree char *img = g_build_filename(tdir, "root.img", NULL);
	const char *mk[] = { "qemu-img", "create", "-q", "-f", "raw", img,
			     "1M", NULL };
	gint status = -1;
	g_assert_true(g_spawn_sync(NULL, (char **)mk, NULL, G_SPAWN_SEARCH_PATH,
				   NULL, NULL, NULL, NULL, &status, NULL));
	g_assert_cmpint(status, ==, 0);
	write_file(tdir, "template.conf",
		   "[Template]\nname=minimal\nkernel=vmlinux\n"
		   "initramfs=initramfs.cpio.gz\nroot=root.img\n"
		   "kernel_cmdline=console=ttyS0\nmemory=128\nvcpus=1\n", -1);

	root = g_build_filename(tmp, "root", NULL);
	g_autofree char *pdir = g_build_filename(root, "etc", "qmgr",
						 "policy.d", NULL);
	g_assert_cmpint(g_mkdir_with_parents(pdir, 0755), ==, 0);
	write_file(pdir, "30-test.policy", policy, -1);

	g_autofree char *templates = g_build_filename(tmp, "templates", NULL);
	g_autofree char *qmgrd = g_build_filename(build, "qmgrd", "qmgrd",
						  NULL);
	const char *argv[] = { qmgrd, "--root", root, "--libvirt-uri",
			       "test:///default", "--template-dir", templates,
			       "--prompt-timeout", "20", NULL };
	g_assert_true(g_spawn_async(NULL, (char **)argv, NULL,
				    G_SPAWN_DO_NOT_REAP_CHILD |
					    G_SPAWN_STDOUT_TO_DEV_NULL |
					    G_SPAWN_STDERR_TO_DEV_NULL,
				    NULL, NULL, &qmgrd_pid, NULL));
	g_setenv("QMGR_ROOT", root, TRUE);
}

static struct qm_client *connect_when_ready(void)
{
	for (int i = 0; i < 200; i++) {
		g_autoptr(GError) err = NULL;
		struct qm_client *c = qm_client_connect("test-clipboard",
							&err);
		if (c != NULL) {
			/* wait for the first-start import to finish */
			g_autoptr(GVariant) r = qm_client_call(c, "vm.List", "",
							       NULL, NULL);
			GVariant *vms = r ? g_variant_lookup_value(
				r, "vms", G_VARIANT_TYPE("aa{sv}")) : NULL;
			gsize n = vms ? g_variant_n_children(vms) : 0;
			if (vms)
				g_variant_unref(vms);
			if (n >= 2)
				return c;
			qm_client_destroy(c);
		}
		g_usleep(50000);
	}
	g_assert_not_reached();
}

static GVariant *paste_args(const char *source, const char *target)
{
	GVariantDict d;
	g_variant_dict_init(&d, NULL);
	if (source)
		g_variant_dict_insert(&d, "source", "s", source);
	if (target)
		g_variant_dict_insert(&d, "target", "s", target);
	return g_variant_dict_end(&d);
}

/* The decision ("allow"/"deny") and reason of an answered call. */
static char *decision_of(GVariant *r, char **reason)
{
	const char *dec = NULL, *why = NULL;
	g_assert_true(g_variant_lookup(r, "decision", "&s", &dec));
	g_assert_true(g_variant_lookup(r, "reason", "&s", &why));
	if (reason)
		*reason = g_strdup(why);
	return g_strdup(dec);
}

static struct qm_client *client;

static void setup_qubes(void)
{
	client = connect_when_ready();
	const char *names[] = { "work", "personal", "vault", "other" };
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autoptr(GError) err = NULL;
		g_autoptr(GVariant) r = qm_client_call(client, "vm.Create",
						       names[i], NULL, &err);
		g_assert_no_error(err);
		g_assert_nonnull(r);
	}
}

static const struct {
	const char *source, *target;
	const char *decision;      /* NULL: the call fails with `code` */
	int code;
	const char *reason;        /* a part of it */
} cases[] = {
	{ "work", "personal", "allow", 0, "30-test.policy:1" },
	{ "personal", "work", "deny", 0, "30-test.policy:4" },
	/* a paste goes where the user pressed the keys, or nowhere */
	{ "work", "other", "deny", 0, "another qube" },
	{ "nobody", "work", NULL, QM_CLIENT_ERROR_NOT_FOUND, "nobody" },
	{ "work", "nobody", NULL, QM_CLIENT_ERROR_NOT_FOUND, "nobody" },
	{ "work", NULL, NULL, QM_CLIENT_ERROR_INVALID, "source and target" },
	{ "work", "vault", "deny", 0, "no prompt agent is registered" },
};

static void test_decisions(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) err = NULL;
		g_autoptr(GVariant) r = qm_client_call(
			client, "gui.ClipboardPaste", "",
			paste_args(cases[i].source, cases[i].target), &err);
		if (cases[i].decision == NULL) {
			g_assert_error(err, QM_CLIENT_ERROR, cases[i].code);
			g_assert_nonnull(strstr(err->message,
						cases[i].reason));
			continue;
		}
		g_assert_no_error(err);
		g_autofree char *why = NULL;
		g_autofree char *dec = decision_of(r, &why);
		g_test_message("%s -> %s: %s (%s)", cases[i].source,
			       cases[i].target, dec, why);
		g_assert_cmpstr(dec, ==, cases[i].decision);
		g_assert_nonnull(strstr(why, cases[i].reason));
	}
}

/* ---- ask, through a prompt agent speaking the client library ---- */

struct question {
	guint32 id;
	char *targets;          /* joined with ',' */
	char *default_target;
	char *source;
};

static struct question asked;

static bool on_prompt(const char *event, const char *vm, GVariant *props,
		      void *data)
{
	struct question *q = &asked;
	const char **targets = NULL;
	const char *def = NULL, *source = NULL;

	if (strcmp(event, "prompt-ask") != 0)
		return true;            /* vm-* events: keep waiting */
	g_assert_true(g_variant_lookup(props, "id", "u", &q->id));
	g_assert_true(g_variant_lookup(props, "targets", "^a&s", &targets));
	g_assert_true(g_variant_lookup(props, "default_target", "&s", &def));
	g_assert_true(g_variant_lookup(props, "source", "&s", &source));
	q->targets = g_strjoinv(",", (char **)targets);
	q->default_target = g_strdup(def);
	q->source = g_strdup(source);
	g_free(targets);
	return false;
}

/* work asks to paste into vault; the agent answers `answer`. */
static char *ask_and_answer(struct qm_client *agent, const char *answer)
{
	g_autoptr(GError) err = NULL;
	guint32 id = qm_client_send(client, "gui.ClipboardPaste", "",
				    paste_args("work", "vault"), &err);
	g_assert_no_error(err);
	g_assert_cmpuint(id, !=, 0);

	struct question q = { 0 };
	asked = q;
	g_assert_true(qm_client_dispatch(agent, 20000, &err));
	q = asked;
	g_assert_no_error(err);
	/* the only choice is the qube the keys were pressed in */
	g_assert_cmpstr(q.targets, ==, "vault");
	g_assert_cmpstr(q.default_target, ==, "vault");
	g_assert_cmpstr(q.source, ==, "work");

	GVariantDict d;
	g_variant_dict_init(&d, NULL);
	g_variant_dict_insert(&d, "id", "u", q.id);
	g_variant_dict_insert(&d, "target", "s", answer);
	g_autoptr(GVariant) a = qm_client_call(agent, "prompt.Answer", "",
					       g_variant_dict_end(&d), &err);
	g_assert_no_error(err);
	g_assert_nonnull(a);

	g_autoptr(GVariant) r = qm_client_wait(client, id, 20000, &err);
	g_assert_no_error(err);
	g_free(q.targets);
	g_free(q.default_target);
	g_free(q.source);
	return decision_of(r, NULL);
}

static void test_ask(void)
{
	g_autoptr(qm_client) agent = connect_when_ready();
	g_autoptr(GError) err = NULL;

	/* The client library wants events.Subscribe before any event. */
	g_assert_true(qm_client_subscribe(agent, on_prompt, NULL, NULL, &err));
	g_autoptr(GVariant) r = qm_client_call(agent, "prompt.Register", "",
					       NULL, &err);
	g_assert_no_error(err);
	g_assert_nonnull(r);

	g_autofree char *yes = ask_and_answer(agent, "vault");
	g_assert_cmpstr(yes, ==, "allow");
	g_autofree char *no = ask_and_answer(agent, "");
	g_assert_cmpstr(no, ==, "deny");
}

/* Every decision above, in order, with its action. */
static void test_audit(void)
{
	static const char *const want[] = {
		"work personal allow",
		"personal work deny",
		"work other deny",
		"work vault ask", "work vault deny",     /* no agent */
		"work vault ask", "work vault allow",    /* answered */
		"work vault ask", "work vault deny",     /* refused */
	};
	g_autofree char *path = g_build_filename(root, "var", "log", "qmgr",
						 "audit.log", NULL);
	g_autoptr(GError) err = NULL;
	g_autoptr(qm_audit_reader) rd = qm_audit_reader_create(path, &err);
	g_assert_no_error(err);
	size_t n = 0;
	struct qm_audit_entry e;
	int st;
	while ((st = qm_audit_reader_next(rd, &e, &err)) == 1) {
		g_autofree char *got = g_strdup_printf(
			"%s %s %s", e.source, e.requested_target,
			qm_audit_action_name(e.action));
		g_assert_cmpstr(e.call, ==, "qmgr.ClipboardPaste");
		g_assert_cmpuint(n, <, G_N_ELEMENTS(want));
		g_assert_cmpstr(got, ==, want[n]);
		if (e.action == QM_AUDIT_ALLOW)
			g_assert_cmpstr(e.resolved_target, ==,
					e.requested_target);
		n++;
		qm_audit_entry_finish(&e);
	}
	g_assert_no_error(err);
	g_assert_cmpint(st, ==, 0);
	g_assert_cmpuint(n, ==, G_N_ELEMENTS(want));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	build = argc > 1 ? argv[1] : ".";
	start_qmgrd();
	setup_qubes();
	g_test_add_func("/clipboard-paste/decisions", test_decisions);
	g_test_add_func("/clipboard-paste/ask", test_ask);
	g_test_add_func("/clipboard-paste/audit", test_audit);
	int rc = g_test_run();
	qm_client_destroy(client);
	kill(qmgrd_pid, SIGTERM);
	waitpid(qmgrd_pid, NULL, 0);
	g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmp);
	(void)!system(cmd);
	g_free(root);
	return rc;
}
