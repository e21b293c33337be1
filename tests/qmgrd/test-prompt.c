/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ask prompt (qmgrd/prompt.c) behind a real admin socket, in this
 * process: the test asks questions as qmgrd's RPC code does
 * (qm_prompt_ask) and answers them as prompt agents, first speaking the
 * wire protocol itself (to check what goes over it, and to misbehave),
 * then through qvm-prompt with its answers on standard input.
 *
 *   test-prompt BUILD_DIR
 */
#include "config.h"

#include <glib.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "admin.h"
#include "conn.h"
#include "prompt.h"

#ifdef NDEBUG
#error "tests need assertions"
#endif

#define NO_AGENT "no prompt agent is registered (run qvm-prompt in your " \
		 "session)"
#define BANNER "qvm-prompt: answering"

static const char *build;

/* Waits in the main loop until `cond`; a test stuck for 20 s fails. */
static gboolean on_stuck(gpointer what)
{
	g_error("stuck waiting for %s", (const char *)what);
	return G_SOURCE_REMOVE;
}

#define WAIT_UNTIL(cond)                                                   \
	do {                                                               \
		guint guard_ = g_timeout_add_seconds(20, on_stuck, #cond); \
		while (!(cond))                                            \
			g_main_context_iteration(NULL, TRUE);              \
		g_source_remove(guard_);                                   \
	} while (0)

/* Runs what is ready, without waiting. */
static void drain(void)
{
	while (g_main_context_iteration(NULL, FALSE))
		;
}

/* ---- a qmgrd: the admin socket and the prompt, nothing else ---- */

struct fixture {
	struct qmgrd d;
	char *tmp;
};

static void setup(struct fixture *f, gconstpointer unused)
{
	g_autoptr(GError) err = NULL;
	f->tmp = g_dir_make_tmp("qmgr-prompt-XXXXXX", &err);
	g_assert_no_error(err);
	g_autofree char *root = g_build_filename(f->tmp, "root", NULL);
	f->d.paths.run = g_build_filename(root, "run", "qmgr", NULL);
	f->d.paths.socket = g_build_filename(f->d.paths.run, "qmgrd.sock",
					     NULL);
	g_assert_cmpint(g_mkdir_with_parents(f->d.paths.run, 0755), ==, 0);
	f->d.prompt_timeout_s = 60;
	f->d.prompt = qm_prompt_create(&f->d);
	f->d.admin = qm_admin_create(&f->d, &err);
	g_assert_no_error(err);
	/* for qvm-prompt */
	g_setenv("QMGR_ROOT", root, TRUE);
}

static void teardown(struct fixture *f, gconstpointer unused)
{
	g_clear_pointer(&f->d.prompt, qm_prompt_destroy);
	qm_admin_destroy(f->d.admin);
	drain();
	g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", f->tmp);
	g_assert_cmpint(system(cmd), ==, 0);
	g_free(f->d.paths.run);
	g_free(f->d.paths.socket);
	g_free(f->tmp);
}

/* ---- what qm_prompt_ask's caller gets ---- */

struct outcome {
	int calls;
	char *answer;
	char *why;
};

static void on_done(const char *answer, const char *why, void *data)
{
	struct outcome *o = data;
	o->calls++;
	g_free(o->answer);
	g_free(o->why);
	o->answer = g_strdup(answer);
	o->why = g_strdup(why);
}

static void outcome_clear(struct outcome *o)
{
	g_free(o->answer);
	g_free(o->why);
}

static const char *const two_targets[] = { "personal", "@dispvm", NULL };

static void ask(struct fixture *f, const char *argument,
		const char *default_target, struct outcome *o)
{
	qm_prompt_ask(&f->d, "work", "qmgr.Filecopy", argument, two_targets,
		      default_target, on_done, o);
	/* never from within qm_prompt_ask */
	g_assert_cmpint(o->calls, ==, 0);
}

/* Waits for the answer and checks that it is the only one. */
static void wait_outcome(struct outcome *o, const char *answer,
			 const char *why)
{
	WAIT_UNTIL(o->calls > 0);
	drain();
	g_assert_cmpint(o->calls, ==, 1);
	g_assert_cmpstr(o->answer, ==, answer);
	g_assert_cmpstr(o->why, ==, why);
}

/* ---- an admin client speaking the protocol itself ---- */

struct client {
	struct qm_conn *conn;
	GQueue msgs;          /* struct qm_wire_msg *, as received */
	bool closed;
	guint32 next_id;
};

static void client_on_message(struct qm_conn *conn, struct qm_wire_msg *msg,
			      void *data)
{
	struct client *c = data;
	struct qm_wire_msg *copy = g_new0(struct qm_wire_msg, 1);
	*copy = *msg;
	msg->payload = NULL;
	g_queue_push_tail(&c->msgs, copy);
}

static void client_on_closed(struct qm_conn *conn, const GError *why,
			     void *data)
{
	((struct client *)data)->closed = true;
}

static void msg_free(struct qm_wire_msg *m)
{
	qm_wire_msg_clear(m);
	g_free(m);
}

/* The first received message that `match` accepts, taken from the queue. */
static struct qm_wire_msg *client_take(struct client *c,
				       bool (*match)(struct qm_wire_msg *,
						     const void *),
				       const void *key)
{
	for (GList *l = c->msgs.head; l != NULL; l = l->next) {
		if (match(l->data, key)) {
			struct qm_wire_msg *m = l->data;
			g_queue_delete_link(&c->msgs, l);
			return m;
		}
	}
	return NULL;
}

static bool is_reply_to(struct qm_wire_msg *m, const void *key)
{
	guint32 id;
	if (m->type != QM_MSG_REPLY)
		return false;
	g_variant_get_child(m->payload, 0, "u", &id);
	return id == GPOINTER_TO_UINT(key);
}

static bool is_event(struct qm_wire_msg *m, const void *key)
{
	const char *name;
	if (m->type != QM_MSG_EVENT)
		return false;
	g_variant_get_child(m->payload, 0, "&s", &name);
	return strcmp(name, key) == 0;
}

static struct client *client_connect(struct fixture *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	g_assert_cmpuint(strlen(f->d.paths.socket), <, sizeof(sa.sun_path));
	strcpy(sa.sun_path, f->d.paths.socket);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==,
			0);
	struct client *c = g_new0(struct client, 1);
	g_queue_init(&c->msgs);
	c->next_id = 1;
	c->conn = qm_conn_create(fd, "qmgrd", client_on_message,
				 client_on_closed, c, NULL);
	qm_conn_send(c->conn, QM_MSG_HELLO, 0,
		     g_variant_new("(us)", (guint32)QM_WIRE_VERSION,
				   "test-prompt"));
	WAIT_UNTIL(c->msgs.length > 0 || c->closed);
	g_assert_false(c->closed);
	struct qm_wire_msg *hello = g_queue_pop_head(&c->msgs);
	g_assert_cmpint(hello->type, ==, QM_MSG_HELLO);
	msg_free(hello);
	return c;
}

static void client_destroy(struct client *c)
{
	qm_conn_destroy(c->conn);
	g_queue_clear_full(&c->msgs, (GDestroyNotify)msg_free);
	g_free(c);
}

/* Makes a call and waits for its REPLY: (ubsa{sv}). */
static GVariant *client_call(struct client *c, const char *method,
			     GVariant *args)
{
	guint32 id = c->next_id++;
	if (args == NULL)
		args = g_variant_new_array(G_VARIANT_TYPE("{sv}"), NULL, 0);
	qm_conn_send(c->conn, QM_MSG_REQUEST, 0,
		     g_variant_new("(uss@a{sv})", id, method, "", args));
	struct qm_wire_msg *m = NULL;
	WAIT_UNTIL((m = client_take(c, is_reply_to, GUINT_TO_POINTER(id))) ||
		   c->closed);
	g_assert_nonnull(m);
	GVariant *reply = g_steal_pointer(&m->payload);
	msg_free(m);
	return reply;
}

static void call_ok(struct client *c, const char *method, GVariant *args)
{
	g_autoptr(GVariant) r = client_call(c, method, args);
	gboolean ok;
	const char *error;
	g_variant_get(r, "(ub&s@a{sv})", NULL, &ok, &error, NULL);
	if (!ok)
		g_error("%s failed: %s", method, error);
}

/* Makes a call that must fail with `code`; returns the message. */
static char *call_fails(struct client *c, const char *method, GVariant *args,
			const char *code)
{
	g_autoptr(GVariant) r = client_call(c, method, args);
	g_autoptr(GVariant) result = NULL;
	gboolean ok;
	const char *error, *got = "";
	g_variant_get(r, "(ub&s@a{sv})", NULL, &ok, &error, &result);
	g_assert_false(ok);
	g_variant_lookup(result, "code", "&s", &got);
	g_assert_cmpstr(got, ==, code);
	return g_strdup(error);
}

/* Waits for an EVENT; returns its properties (a{sv}). */
static GVariant *client_wait_event(struct client *c, const char *event)
{
	struct qm_wire_msg *m = NULL;
	WAIT_UNTIL((m = client_take(c, is_event, event)) || c->closed);
	g_assert_nonnull(m);
	GVariant *props = g_variant_get_child_value(m->payload, 2);
	msg_free(m);
	return props;
}

/* Everything qmgrd sent before this returns has arrived (one round trip:
 * replies and events share the connection, in order). */
static void client_sync(struct client *c)
{
	g_autofree char *e = call_fails(c, "test.Sync", NULL, "Invalid");
}

static bool client_has_event(struct client *c, const char *event)
{
	for (GList *l = c->msgs.head; l != NULL; l = l->next)
		if (is_event(l->data, event))
			return true;
	return false;
}

static struct client *agent_register(struct fixture *f)
{
	struct client *a = client_connect(f);
	call_ok(a, "prompt.Register", NULL);
	return a;
}

static GVariant *answer_args(guint32 id, const char *target)
{
	GVariantDict d;
	g_variant_dict_init(&d, NULL);
	g_variant_dict_insert(&d, "id", "u", id);
	if (target != NULL)
		g_variant_dict_insert(&d, "target", "s", target);
	return g_variant_dict_end(&d);
}

static guint32 prop_u(GVariant *props, const char *key)
{
	guint32 v = 0;
	g_assert_true(g_variant_lookup(props, key, "u", &v));
	return v;
}

static const char *prop_s(GVariant *props, const char *key)
{
	const char *v = NULL;
	g_assert_true(g_variant_lookup(props, key, "&s", &v));
	return v;
}

/* ---- the protocol ---- */

static void test_prompt_without_agent_refuses(struct fixture *f,
					      gconstpointer u)
{
	struct outcome o = { 0 };
	ask(f, "+", NULL, &o);
	wait_outcome(&o, NULL, NO_AGENT);
	outcome_clear(&o);
}

static void test_prompt_answer_picks_the_target(struct fixture *f,
						gconstpointer u)
{
	struct client *agent = agent_register(f);
	struct client *subscriber = client_connect(f);
	call_ok(subscriber, "events.Subscribe", NULL);
	struct outcome o = { 0 };

	ask(f, "+report.pdf", "personal", &o);
	g_autoptr(GVariant) q = client_wait_event(agent, "prompt-ask");
	guint32 id = prop_u(q, "id");
	g_assert_cmpuint(id, !=, 0);
	g_assert_cmpstr(prop_s(q, "source"), ==, "work");
	g_assert_cmpstr(prop_s(q, "service"), ==, "qmgr.Filecopy");
	g_assert_cmpstr(prop_s(q, "argument"), ==, "+report.pdf");
	g_assert_cmpstr(prop_s(q, "default_target"), ==, "personal");
	g_assert_cmpuint(prop_u(q, "timeout"), ==, 60);
	g_autofree const char **targets = NULL;
	g_assert_true(g_variant_lookup(q, "targets", "^a&s", &targets));
	g_assert_cmpstrv(targets, two_targets);

	call_ok(agent, "prompt.Answer", answer_args(id, "@dispvm"));
	wait_outcome(&o, "@dispvm", NULL);
	/* answered: a second answer finds nothing */
	g_autofree char *e = call_fails(agent, "prompt.Answer",
					answer_args(id, "personal"),
					"NotFound");
	g_assert_nonnull(strstr(e, "is not open"));
	/* the question went to the agent only */
	client_sync(subscriber);
	g_assert_false(client_has_event(subscriber, "prompt-ask"));

	client_destroy(subscriber);
	client_destroy(agent);
	outcome_clear(&o);
}

static void test_prompt_user_refuses(struct fixture *f, gconstpointer u)
{
	struct client *agent = agent_register(f);
	struct outcome o = { 0 };

	ask(f, "", NULL, &o);
	g_autoptr(GVariant) q = client_wait_event(agent, "prompt-ask");
	g_assert_cmpstr(prop_s(q, "default_target"), ==, "");
	call_ok(agent, "prompt.Answer", answer_args(prop_u(q, "id"), ""));
	wait_outcome(&o, NULL, "the user refused");
	client_destroy(agent);
	outcome_clear(&o);
}

static void test_prompt_answer_not_offered_is_an_error(struct fixture *f,
						       gconstpointer u)
{
	struct client *agent = agent_register(f);
	struct client *other = client_connect(f);
	struct outcome o = { 0 };

	ask(f, "+", "personal", &o);
	g_autoptr(GVariant) q = client_wait_event(agent, "prompt-ask");
	guint32 id = prop_u(q, "id");

	g_autofree char *e1 = call_fails(agent, "prompt.Answer",
					 answer_args(id, "banking"),
					 "Invalid");
	g_assert_nonnull(strstr(e1, "'banking' is not one of the targets"));
	g_assert_nonnull(strstr(e1, "still open"));
	g_autofree char *e2 = call_fails(agent, "prompt.Answer",
					 answer_args(id, NULL), "Invalid");
	g_assert_nonnull(strstr(e2, "'target'"));
	/* only the agent asked may answer */
	g_autofree char *e3 = call_fails(other, "prompt.Answer",
					 answer_args(id, "personal"),
					 "NotFound");
	g_autofree char *e4 = call_fails(agent, "prompt.Answer",
					 answer_args(id + 1000, "personal"),
					 "NotFound");
	drain();
	g_assert_cmpint(o.calls, ==, 0);

	call_ok(agent, "prompt.Answer", answer_args(id, "personal"));
	wait_outcome(&o, "personal", NULL);
	client_destroy(other);
	client_destroy(agent);
	outcome_clear(&o);
}

struct internal_reply {
	int calls;
	bool ok;
	char *error;
};

static void on_internal_done(bool ok, const char *error, GVariant *result,
			     void *data)
{
	struct internal_reply *r = data;
	r->calls++;
	r->ok = ok;
	r->error = g_strdup(error);
}

/* A call a qube makes to the admin API through the policy has no client:
 * it must never register, nor answer the question about its own call. */
static void test_prompt_refuses_calls_from_qubes(struct fixture *f,
						 gconstpointer u)
{
	struct client *agent = agent_register(f);
	struct outcome o = { 0 };

	ask(f, "+", "personal", &o);
	g_autoptr(GVariant) q = client_wait_event(agent, "prompt-ask");
	const char *methods[] = { "prompt.Answer", "prompt.Register" };
	for (size_t i = 0; i < G_N_ELEMENTS(methods); i++) {
		struct internal_reply r = { 0 };
		qm_admin_dispatch(&f->d, qm_call_new_internal(
			methods[i], "", answer_args(prop_u(q, "id"),
						    "personal"),
			"qube work (admin.test)", on_internal_done, &r));
		WAIT_UNTIL(r.calls > 0);
		g_assert_false(r.ok);
		g_assert_nonnull(strstr(r.error, "only for prompt agents on "
						 "qmgrd's admin socket"));
		g_free(r.error);
	}
	drain();
	g_assert_cmpint(o.calls, ==, 0);
	call_ok(agent, "prompt.Answer", answer_args(prop_u(q, "id"), ""));
	wait_outcome(&o, NULL, "the user refused");
	client_destroy(agent);
	outcome_clear(&o);
}

static void test_prompt_timeout_cancels(struct fixture *f, gconstpointer u)
{
	struct client *agent = agent_register(f);
	struct outcome o = { 0 };

	f->d.prompt_timeout_s = 1;
	gint64 start = g_get_monotonic_time();
	ask(f, "+", NULL, &o);
	g_autoptr(GVariant) q = client_wait_event(agent, "prompt-ask");
	g_assert_cmpuint(prop_u(q, "timeout"), ==, 1);
	wait_outcome(&o, NULL, "no answer within 1 s");
	g_assert_cmpint(g_get_monotonic_time() - start, >=, 900000);
	g_autoptr(GVariant) c = client_wait_event(agent, "prompt-cancel");
	g_assert_cmpuint(prop_u(c, "id"), ==, prop_u(q, "id"));
	g_autofree char *e = call_fails(agent, "prompt.Answer",
					answer_args(prop_u(q, "id"),
						    "personal"),
					"NotFound");
	client_destroy(agent);
	outcome_clear(&o);
}

static void test_prompt_question_moves_to_next_agent(struct fixture *f,
						     gconstpointer u)
{
	struct client *older = agent_register(f);
	struct client *newer = agent_register(f);
	struct outcome o = { 0 };

	ask(f, "+", NULL, &o);
	g_autoptr(GVariant) q = client_wait_event(newer, "prompt-ask");
	client_sync(older);
	g_assert_false(client_has_event(older, "prompt-ask"));

	/* the agent asked goes away: the older one gets the question */
	client_destroy(newer);
	g_autoptr(GVariant) q2 = client_wait_event(older, "prompt-ask");
	g_assert_cmpuint(prop_u(q2, "id"), ==, prop_u(q, "id"));
	g_assert_cmpuint(prop_u(q2, "timeout"), <=, 60);
	g_assert_cmpint(o.calls, ==, 0);
	call_ok(older, "prompt.Answer", answer_args(prop_u(q2, "id"),
						    "personal"));
	wait_outcome(&o, "personal", NULL);
	client_destroy(older);
	outcome_clear(&o);
}

static void test_prompt_last_agent_gone_refuses(struct fixture *f,
						gconstpointer u)
{
	struct client *agent = agent_register(f);
	struct outcome o = { 0 };

	ask(f, "+", NULL, &o);
	g_autoptr(GVariant) q = client_wait_event(agent, "prompt-ask");
	client_destroy(agent);
	WAIT_UNTIL(o.calls > 0);
	g_assert_null(o.answer);
	g_assert_true(g_str_has_prefix(o.why, "the prompt agent went away "
					      "before answering"));
	outcome_clear(&o);

	/* and it is no longer registered */
	struct outcome o2 = { 0 };
	ask(f, "+", NULL, &o2);
	wait_outcome(&o2, NULL, NO_AGENT);
	outcome_clear(&o2);
}

static void test_prompt_too_many_questions_are_refused(struct fixture *f,
						       gconstpointer u)
{
	struct client *agent = agent_register(f);
	struct outcome o[QM_PROMPT_OPEN_MAX + 1] = { 0 };

	for (int i = 0; i <= QM_PROMPT_OPEN_MAX; i++)
		ask(f, "+", NULL, &o[i]);
	WAIT_UNTIL(o[QM_PROMPT_OPEN_MAX].calls > 0);
	g_assert_nonnull(strstr(o[QM_PROMPT_OPEN_MAX].why, "too many"));
	for (int i = 0; i < QM_PROMPT_OPEN_MAX; i++) {
		g_autoptr(GVariant) q = client_wait_event(agent, "prompt-ask");
		call_ok(agent, "prompt.Answer",
			answer_args(prop_u(q, "id"), ""));
		g_assert_cmpint(o[i].calls, ==, 1);
	}
	for (int i = 0; i <= QM_PROMPT_OPEN_MAX; i++)
		outcome_clear(&o[i]);
	client_destroy(agent);
}

static void test_prompt_stop_refuses_open_questions(struct fixture *f,
						    gconstpointer u)
{
	struct client *agent = agent_register(f);
	struct outcome o = { 0 };

	ask(f, "+", NULL, &o);
	g_autoptr(GVariant) q = client_wait_event(agent, "prompt-ask");
	g_clear_pointer(&f->d.prompt, qm_prompt_destroy);
	g_assert_cmpint(o.calls, ==, 1);
	g_assert_null(o.answer);
	g_assert_cmpstr(o.why, ==, "qmgrd is stopping");
	g_autoptr(GVariant) c = client_wait_event(agent, "prompt-cancel");
	g_assert_cmpuint(prop_u(c, "id"), ==, prop_u(q, "id"));
	client_destroy(agent);
	outcome_clear(&o);
}

/* ---- qvm-prompt ---- */

struct tool {
	GPid pid;
	int in;             /* its stdin; -1 once closed */
	GString *out;       /* its stdout so far */
	bool out_done;
	bool exited;
	int status;
};

static gboolean on_tool_out(int fd, GIOCondition cond, gpointer data)
{
	struct tool *t = data;
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n > 0) {
		g_string_append_len(t->out, buf, n);
		return G_SOURCE_CONTINUE;
	}
	close(fd);
	t->out_done = true;
	return G_SOURCE_REMOVE;
}

static void on_tool_exit(GPid pid, gint status, gpointer data)
{
	struct tool *t = data;
	t->exited = true;
	t->status = status;
	g_spawn_close_pid(pid);
}

/* No controlling terminal, so that it writes to stdout, not /dev/tty. */
static void detach(gpointer unused)
{
	setsid();
}

static unsigned count(const char *s, const char *what)
{
	unsigned n = 0;
	for (const char *p = s; (p = strstr(p, what)) != NULL; p++)
		n++;
	return n;
}

static void tool_start(struct tool *t, const char *option)
{
	g_autofree char *path = g_build_filename(build, "qvm-tools",
						 "qvm-prompt", NULL);
	const char *argv[] = { path, option, NULL };
	int out;
	g_autoptr(GError) err = NULL;
	g_assert_true(g_spawn_async_with_pipes(
		NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, detach,
		NULL, &t->pid, &t->in, &out, NULL, &err));
	g_assert_no_error(err);
	t->out = g_string_new(NULL);
	g_unix_set_fd_nonblocking(out, TRUE, NULL);
	g_unix_fd_add(out, G_IO_IN | G_IO_HUP | G_IO_ERR, on_tool_out, t);
	g_child_watch_add(t->pid, on_tool_exit, t);
	WAIT_UNTIL(strstr(t->out->str, BANNER) != NULL || t->out_done);
	g_assert_nonnull(strstr(t->out->str, BANNER));
}

static void tool_type(struct tool *t, const char *text)
{
	g_assert_cmpint(write(t->in, text, strlen(text)), ==,
			(ssize_t)strlen(text));
}

static void tool_close_input(struct tool *t)
{
	close(t->in);
	t->in = -1;
}

/* Waits for it to exit; returns its exit status. */
static int tool_wait(struct tool *t)
{
	WAIT_UNTIL(t->exited && t->out_done);
	if (t->in >= 0)
		tool_close_input(t);
	g_test_message("qvm-prompt wrote:\n%s", t->out->str);
	g_assert_true(WIFEXITED(t->status));
	return WEXITSTATUS(t->status);
}

static void tool_clear(struct tool *t)
{
	g_string_free(t->out, TRUE);
}

static void test_qvm_prompt_answers_by_number(struct fixture *f,
					      gconstpointer u)
{
	struct tool t = { 0 };
	struct outcome o = { 0 };

	tool_start(&t, "--once");
	tool_type(&t, "2\n");
	ask(f, "+report.pdf", NULL, &o);
	wait_outcome(&o, "@dispvm", NULL);
	g_assert_cmpint(tool_wait(&t), ==, 0);
	g_assert_nonnull(strstr(t.out->str,
				"work wants to call qmgr.Filecopy+report.pdf; "
				"targets: 1) personal 2) @dispvm\n"));
	g_assert_nonnull(strstr(t.out->str, "Allowed: @dispvm"));
	tool_clear(&t);
	outcome_clear(&o);
}

static void test_qvm_prompt_queues_questions(struct fixture *f,
					     gconstpointer u)
{
	struct tool t = { 0 };
	struct outcome o1 = { 0 }, o2 = { 0 }, o3 = { 0 };

	tool_start(&t, NULL);
	/* two at once: asked one after the other, in order */
	ask(f, "+", "personal", &o1);
	ask(f, "+", "personal", &o2);
	tool_type(&t, "\n");
	wait_outcome(&o1, "personal", NULL);
	g_assert_cmpint(o2.calls, ==, 0);
	tool_type(&t, "deny\n");
	wait_outcome(&o2, NULL, "the user refused");
	/* no more input: the next question is refused and it stops */
	tool_close_input(&t);
	ask(f, "+", NULL, &o3);
	wait_outcome(&o3, NULL, "the user refused");
	g_assert_cmpint(tool_wait(&t), ==, 0);
	g_assert_nonnull(strstr(t.out->str, "End of input"));
	tool_clear(&t);
	outcome_clear(&o1);
	outcome_clear(&o2);
	outcome_clear(&o3);
}

static void test_qvm_prompt_asks_again_after_a_wrong_choice(
	struct fixture *f, gconstpointer u)
{
	struct tool t = { 0 };
	struct outcome o = { 0 };

	tool_start(&t, "--once");
	/* no default: an empty line is not a choice either */
	tool_type(&t, "7\nbanking\n\npersonal\n");
	ask(f, "+", NULL, &o);
	wait_outcome(&o, "personal", NULL);
	g_assert_cmpint(tool_wait(&t), ==, 0);
	g_assert_nonnull(strstr(t.out->str, "s left): 7\nNot a choice. "));
	g_assert_nonnull(strstr(t.out->str, "s left): banking\nNot a "
					    "choice. "));
	g_assert_nonnull(strstr(t.out->str, "s left): \nThere is no "
					    "default. "));
	g_assert_nonnull(strstr(t.out->str, "s left): personal\nAllowed: "
					    "personal\n"));
	tool_clear(&t);
	outcome_clear(&o);
}

static void test_qvm_prompt_shows_the_timeout(struct fixture *f,
					      gconstpointer u)
{
	struct tool t = { 0 };
	struct outcome o = { 0 };

	f->d.prompt_timeout_s = 1;
	tool_start(&t, "--once");
	ask(f, "+", NULL, &o);
	wait_outcome(&o, NULL, "no answer within 1 s");
	g_assert_cmpint(tool_wait(&t), ==, 1);
	g_assert_nonnull(strstr(t.out->str, "Timed out"));
	tool_clear(&t);
	outcome_clear(&o);
}

static void test_qvm_prompt_leaves_when_qmgrd_does(struct fixture *f,
						   gconstpointer u)
{
	struct tool t = { 0 };
	struct outcome o1 = { 0 }, o2 = { 0 };

	f->d.prompt_timeout_s = 1;
	tool_start(&t, NULL);
	/* the second one times out before (or as) it is shown */
	ask(f, "+", NULL, &o1);
	ask(f, "+", NULL, &o2);
	wait_outcome(&o1, NULL, "no answer within 1 s");
	wait_outcome(&o2, NULL, "no answer within 1 s");
	WAIT_UNTIL(count(t.out->str, "Timed out") == 2);

	g_clear_pointer(&f->d.prompt, qm_prompt_destroy);
	g_clear_pointer(&f->d.admin, qm_admin_destroy);
	g_assert_cmpint(tool_wait(&t), ==, 1);
	tool_clear(&t);
	outcome_clear(&o1);
	outcome_clear(&o2);
}

static void test_qvm_prompt_makes_control_characters_harmless(
	struct fixture *f, gconstpointer u)
{
	struct tool t = { 0 };
	struct outcome o = { 0 };

	tool_start(&t, "--once");
	tool_type(&t, "n\n");
	ask(f, "+a\033]0;owned\007\r", NULL, &o);
	wait_outcome(&o, NULL, "the user refused");
	g_assert_cmpint(tool_wait(&t), ==, 0);
	g_assert_nonnull(strstr(t.out->str, "qmgr.Filecopy+a?]0;owned??;"));
	g_assert_null(strchr(t.out->str, '\033'));
	g_assert_null(strchr(t.out->str, '\r'));
	tool_clear(&t);
	outcome_clear(&o);
}

/* Runs qvm-prompt ARG to its end with no qmgrd (QMGR_ROOT empty). */
static int run_alone(const char *arg, char **out, char **err)
{
	g_autofree char *path = g_build_filename(build, "qvm-tools",
						 "qvm-prompt", NULL);
	g_autofree char *nowhere = g_dir_make_tmp("qmgr-prompt-XXXXXX", NULL);
	const char *argv[] = { path, arg, NULL };
	g_auto(GStrv) env = g_environ_setenv(g_get_environ(), "QMGR_ROOT",
					     nowhere, TRUE);
	gint status = -1;
	g_assert_true(g_spawn_sync(NULL, (char **)argv, env, 0, detach, NULL,
				   out, err, &status, NULL));
	g_rmdir(nowhere);
	g_assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_qvm_prompt_help_and_usage(void)
{
	g_autofree char *out = NULL, *err = NULL;
	g_assert_cmpint(run_alone("--help", &out, &err), ==, 0);
	g_assert_true(g_str_has_prefix(out, "usage: qvm-prompt [--once]\n"));
	g_assert_nonnull(strstr(out, "See qvm-prompt(1)."));
	g_assert_cmpstr(err, ==, "");
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);

	g_assert_cmpint(run_alone("work", &out, &err), ==, 2);
	g_assert_true(g_str_has_prefix(err, "qvm-prompt: unexpected argument "
					    "'work'\nusage: qvm-prompt"));
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);

	g_assert_cmpint(run_alone("--frobnicate", &out, &err), ==, 2);
	g_assert_nonnull(strstr(err, "Unknown option --frobnicate"));
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);

	g_assert_cmpint(run_alone("--once", &out, &err), ==, 1);
	g_assert_nonnull(strstr(err, "qvm-prompt: cannot reach qmgrd at "));
	g_assert_nonnull(strstr(err, "is qmgrd running?"));
}

/* ---- qmgrd's option ---- */

static void test_qmgrd_checks_prompt_timeout(void)
{
	g_autofree char *qmgrd = g_build_filename(build, "qmgrd", "qmgrd",
						  NULL);
	const char *argv[] = { qmgrd, "--prompt-timeout", "0", NULL };
	g_autofree char *err = NULL;
	gint status = -1;
	g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL,
				   G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
				   NULL, &err, &status, NULL));
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 2);
	g_assert_nonnull(strstr(err, "--prompt-timeout: 1 to 3600 seconds"));
}

#define ADD(path, fn)                                                      \
	g_test_add(path, struct fixture, NULL, setup, fn, teardown)

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	/* qm_admin_create warns when it cannot give the socket to group
	 * qmgr (not root): not what is tested here. */
	g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
	build = argc > 1 ? argv[1] : ".";

	ADD("/prompt/without-agent-refuses", test_prompt_without_agent_refuses);
	ADD("/prompt/answer-picks-the-target",
	    test_prompt_answer_picks_the_target);
	ADD("/prompt/user-refuses", test_prompt_user_refuses);
	ADD("/prompt/answer-not-offered-is-an-error",
	    test_prompt_answer_not_offered_is_an_error);
	ADD("/prompt/refuses-calls-from-qubes",
	    test_prompt_refuses_calls_from_qubes);
	ADD("/prompt/timeout-cancels", test_prompt_timeout_cancels);
	ADD("/prompt/question-moves-to-next-agent",
	    test_prompt_question_moves_to_next_agent);
	ADD("/prompt/last-agent-gone-refuses",
	    test_prompt_last_agent_gone_refuses);
	ADD("/prompt/too-many-questions-are-refused",
	    test_prompt_too_many_questions_are_refused);
	ADD("/prompt/stop-refuses-open-questions",
	    test_prompt_stop_refuses_open_questions);
	ADD("/qvm-prompt/answers-by-number", test_qvm_prompt_answers_by_number);
	ADD("/qvm-prompt/queues-questions", test_qvm_prompt_queues_questions);
	ADD("/qvm-prompt/asks-again-after-a-wrong-choice",
	    test_qvm_prompt_asks_again_after_a_wrong_choice);
	ADD("/qvm-prompt/shows-the-timeout", test_qvm_prompt_shows_the_timeout);
	ADD("/qvm-prompt/leaves-when-qmgrd-does",
	    test_qvm_prompt_leaves_when_qmgrd_does);
	ADD("/qvm-prompt/makes-control-characters-harmless",
	    test_qvm_prompt_makes_control_characters_harmless);
	g_test_add_func("/qvm-prompt/help-and-usage",
			test_qvm_prompt_help_and_usage);
	g_test_add_func("/qmgrd/checks-prompt-timeout",
			test_qmgrd_checks_prompt_timeout);
	return g_test_run();
}
