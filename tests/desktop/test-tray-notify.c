/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The tray's notifications (desktop/notify.c on common/notify-client.c)
 * against a real dbus-daemon and a fake notification server
 * (tests/common/notify-bus.c): a question with an action per target and
 * Deny, an action choosing a target, the question's notice closed when it
 * is answered, and notices reaching the server after the session bus was
 * killed and a new one started at the same address (issue #6).
 */
#include <string.h>

#include "notify-bus.h"
#include "session-bus.h"
#include "tray.h"

#ifdef NDEBUG
#error "tests need assertions"
#endif

static struct test_bus *bus;
static uint32_t chosen_question;
static char *chosen_target;
static void on_action(uint32_t question, const char *target, void *data)
{
	chosen_question = question;
	g_free(chosen_target);
	chosen_target = g_strdup(target);
}

static bool chosen(void *data)
{
	return chosen_target != NULL;
}

static bool closed(void *data)
{
	return bus->closed->len > 0;
}

static void test_question_and_bus_restart(void)
{
	static const char *const caps[] = { "actions", "body-markup", NULL };
	g_autoptr(GError) err = NULL;

	bus = test_bus_start(caps);
	if (!bus)
		return;
	struct qm_session_bus *sb = qm_session_bus_create("qmgr-tray", &err);
	g_assert_no_error(err);
	struct qt_notify *n = qt_notify_create(sb, on_action, NULL);
	char *targets[] = { "personal", "vault", NULL };
	struct qt_question q = {
		.id = 9, .source = "work", .service = "qmgr.Filecopy",
		.argument = "+", .targets = targets,
		.deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC,
	};

	qt_notify_question(n, &q);
	const struct test_note *got = test_bus_wait_note(bus, 1);
	g_assert_cmpstr(got->summary, ==, "work asks to call qmgr.Filecopy");
	g_assert_cmpuint(got->urgency, ==, 2);
	g_assert_cmpuint(g_strv_length(got->actions), ==, 6);
	g_assert_cmpstr(got->actions[0], ==, "t:personal");
	g_assert_cmpstr(got->actions[4], ==, "deny");
	/* a notice after it, so the question's id is known by then */
	qt_notify_event(n, "work started", "The qube is running.");
	test_bus_wait_note(bus, 2);
	test_bus_invoke(bus, got->id, "t:vault");
	g_assert_true(test_wait(chosen, NULL, 10));
	g_assert_cmpuint(chosen_question, ==, 9);
	g_assert_cmpstr(chosen_target, ==, "vault");
	qt_notify_question_done(n, 9);
	g_assert_true(test_wait(closed, NULL, 10));
	g_assert_cmpuint(g_array_index(bus->closed, guint32, 0), ==, got->id);

	test_bus_restart(bus);
	qt_notify_event(n, "personal stopped", "The qube is halted.");
	got = test_bus_wait_note(bus, 3);
	g_assert_cmpstr(got->summary, ==, "personal stopped");

	qt_notify_destroy(n);
	qm_session_bus_destroy(sb);
	test_bus_stop(bus);
	g_free(chosen_target);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/tray/notify/question-actions-and-bus-restart",
			test_question_and_bus_restart);
	return g_test_run();
}
