/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * common/notify-client.c and common/session-bus.c against a real
 * dbus-daemon and a fake notification server (notify-bus.c): markup
 * escaped for servers that read it and not for those that do not, actions
 * only where the server shows them and back with their tag, a notice taken
 * back, and a session bus killed and started again at the same address:
 * the client connects again (logging once) and the next notice reaches
 * the server.
 */
#include <string.h>

#include "notify-bus.h"
#include "notify-client.h"
#include "session-bus.h"

#ifdef NDEBUG
#error "tests need assertions"
#endif

static const char *const caps_full[] = { "actions", "body-markup", "body",
					 NULL };
static const char *const caps_plain[] = { "body", NULL };
static const char *const acts[] = { "t:work", "Allow to work", "deny",
				    "Deny", NULL };

struct fixture {
	struct test_bus *tb;
	struct qm_session_bus *sb;
	struct qm_notify *n;
	uint32_t action_tag;
	char *action;
};

static void on_action(uint32_t tag, const char *action, void *data)
{
	struct fixture *f = data;

	f->action_tag = tag;
	g_free(f->action);
	f->action = g_strdup(action);
}

static bool ready(void *data)
{
	struct fixture *f = data;

	/* connected, and the capabilities asked: what the client sends now
	 * goes out at once */
	return qm_session_bus_get(f->sb) != NULL &&
	       (f->tb->caps != caps_full || qm_notify_has_actions(f->n));
}

static bool setup(struct fixture *f, const char *const *caps)
{
	g_autoptr(GError) err = NULL;

	f->tb = test_bus_start(caps);
	if (!f->tb)
		return false;
	f->sb = qm_session_bus_create("test", &err);
	g_assert_no_error(err);
	f->n = qm_notify_create(f->sb, "qmgr", "qmgr-test", on_action, f);
	return true;
}

static void teardown(struct fixture *f)
{
	qm_notify_destroy(f->n);
	qm_session_bus_destroy(f->sb);
	test_bus_stop(f->tb);
	g_free(f->action);
}

static void test_markup_escaped(void)
{
	struct fixture f = { 0 };

	if (!setup(&f, caps_full))
		return;
	/* sent before the bus is up: waits, then goes out */
	const struct qm_notice m = { .summary = "s<1>", .body = "<b>a & b</b>",
				     .icon = "dialog-warning", .urgency = 2,
				     .timeout_ms = -1, .actions = acts,
				     .tag = 7 };
	qm_notify_send(f.n, &m);
	const struct test_note *got = test_bus_wait_note(f.tb, 1);
	g_assert_cmpstr(got->summary, ==, "s<1>");
	g_assert_cmpstr(got->body, ==, "&lt;b&gt;a &amp; b&lt;/b&gt;");
	g_assert_cmpstr(got->icon, ==, "dialog-warning");
	g_assert_cmpuint(got->urgency, ==, 2);
	g_assert_cmpuint(g_strv_length(got->actions), ==, 4);
	g_assert_cmpstr(got->actions[0], ==, "t:work");
	teardown(&f);
}

static void test_plain_server_plain_text(void)
{
	struct fixture f = { 0 };

	if (!setup(&f, caps_plain))
		return;
	const struct qm_notice m = { .summary = "s", .body = "<b>a & b</b>",
				     .urgency = 1, .timeout_ms = -1,
				     .actions = acts, .tag = 7 };
	qm_notify_send(f.n, &m);
	const struct test_note *got = test_bus_wait_note(f.tb, 1);
	g_assert_cmpstr(got->body, ==, "<b>a & b</b>");
	g_assert_cmpuint(g_strv_length(got->actions), ==, 0);
	teardown(&f);
}

static bool got_action(void *data)
{
	return ((struct fixture *)data)->action != NULL;
}

static bool got_close(void *data)
{
	return ((struct fixture *)data)->tb->closed->len > 0;
}

/* An action comes back with the tag of its notice; a notice taken back
 * is closed on the server; untagged notices do not get actions back. */
static void test_actions_and_close(void)
{
	struct fixture f = { 0 };

	if (!setup(&f, caps_full))
		return;
	g_assert_true(test_wait(ready, &f, 20));
	const struct qm_notice tagged = { .summary = "q", .body = "b",
					  .timeout_ms = -1, .actions = acts,
					  .tag = 42 };
	const struct qm_notice plain = { .summary = "p", .body = "b",
					 .timeout_ms = -1 };
	qm_notify_send(f.n, &plain);
	qm_notify_send(f.n, &tagged);
	const struct test_note *q = test_bus_wait_note(f.tb, 2);
	const struct test_note *p = f.tb->notes->pdata[0];
	/* the client knows the id once Notify answered: one more round */
	qm_notify_send(f.n, &plain);
	test_bus_wait_note(f.tb, 3);
	test_bus_invoke(f.tb, p->id, "deny");
	test_bus_invoke(f.tb, q->id, "deny");
	g_assert_true(test_wait(got_action, &f, 10));
	g_assert_cmpuint(f.action_tag, ==, 42);
	g_assert_cmpstr(f.action, ==, "deny");
	qm_notify_close(f.n, 42);
	g_assert_true(test_wait(got_close, &f, 10));
	g_assert_cmpuint(g_array_index(f.tb->closed, guint32, 0), ==, q->id);
	teardown(&f);
}

static unsigned int closed_logs, again_logs;

static void count_log(const char *domain, GLogLevelFlags level,
		      const char *msg, gpointer data)
{
	if (strstr(msg, "closed") && strstr(msg, "connecting again"))
		closed_logs++;
	if (strstr(msg, "connected to the session bus at") &&
	    strstr(msg, "again"))
		again_logs++;
	if (strstr(msg, "cannot connect to the session bus"))
		closed_logs += 100;     /* must not be logged after a loss */
	g_log_default_handler(domain, level, msg, data);
}

static bool bus_gone(void *data)
{
	return qm_session_bus_get(data) == NULL;
}

/* test_notify_survives_session_bus_restart (issue #6): the dbus-daemon is
 * killed and a new one started at the same address; the client connects
 * again by itself (the loss and the return logged once each, not every
 * attempt) and the next notice reaches the server on the new bus. */
static void test_survives_bus_restart(void)
{
	struct fixture f = { 0 };

	if (!setup(&f, caps_full))
		return;
	g_log_set_default_handler(count_log, NULL);
	g_assert_true(test_wait(ready, &f, 20));
	const struct qm_notice before = { .summary = "before", .body = "b",
					  .timeout_ms = -1 };
	qm_notify_send(f.n, &before);
	test_bus_wait_note(f.tb, 1);

	test_bus_kill(f.tb);
	g_assert_true(test_wait(bus_gone, f.sb, 10));
	/* a notice while there is no bus waits for the next one */
	const struct qm_notice during = { .summary = "during", .body = "b",
					  .timeout_ms = -1 };
	qm_notify_send(f.n, &during);
	g_usleep(2 * G_USEC_PER_SEC);   /* some attempts fail meanwhile */
	g_main_context_iteration(NULL, FALSE);
	test_bus_restart(f.tb);
	g_ptr_array_set_size(f.tb->notes, 0);

	const struct test_note *got = test_bus_wait_note(f.tb, 1);
	g_assert_cmpstr(got->summary, ==, "during");
	const struct qm_notice after = { .summary = "after", .body = "b",
					 .timeout_ms = -1 };
	qm_notify_send(f.n, &after);
	got = test_bus_wait_note(f.tb, 2);
	g_assert_cmpstr(got->summary, ==, "after");
	g_assert_cmpuint(closed_logs, ==, 1);
	g_assert_cmpuint(again_logs, ==, 1);
	g_log_set_default_handler(g_log_default_handler, NULL);
	teardown(&f);
}

/* No session bus at all: create says why; a client without one only
 * logs. */
static void test_no_session_bus(void)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *old = g_strdup(g_getenv("DBUS_SESSION_BUS_ADDRESS"));
	g_autofree char *old_rt = g_strdup(g_getenv("XDG_RUNTIME_DIR"));

	g_unsetenv("DBUS_SESSION_BUS_ADDRESS");
	g_setenv("XDG_RUNTIME_DIR", "/nonexistent", TRUE);
	/* g_get_user_runtime_dir() is cached: only a new process sees the
	 * change, so look at the message's start only */
	struct qm_session_bus *sb = qm_session_bus_create("test", &err);
	if (sb) {
		/* a runtime dir with a bus exists here: nothing to test */
		qm_session_bus_destroy(sb);
		g_test_skip("$XDG_RUNTIME_DIR/bus exists");
	} else {
		g_assert_error(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
		g_assert_nonnull(strstr(err->message,
					"DBUS_SESSION_BUS_ADDRESS is not "
					"set"));
		struct qm_notify *n = qm_notify_create(NULL, "qmgr", NULL,
						       NULL, NULL);
		const struct qm_notice m = { .summary = "s", .body = "b" };
		qm_notify_send(n, &m);
		g_assert_false(qm_notify_has_actions(n));
		qm_notify_destroy(n);
	}
	if (old)
		g_setenv("DBUS_SESSION_BUS_ADDRESS", old, TRUE);
	if (old_rt)
		g_setenv("XDG_RUNTIME_DIR", old_rt, TRUE);
	else
		g_unsetenv("XDG_RUNTIME_DIR");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/notify-client/markup-escaped-for-markup-servers",
			test_markup_escaped);
	g_test_add_func("/notify-client/plain-text-for-plain-servers",
			test_plain_server_plain_text);
	g_test_add_func("/notify-client/actions-back-with-tag-and-close",
			test_actions_and_close);
	g_test_add_func("/notify-client/survives-session-bus-restart",
			test_survives_bus_restart);
	g_test_add_func("/notify-client/no-session-bus", test_no_session_bus);
	return g_test_run();
}
