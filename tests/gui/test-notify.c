/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gui-proxy's desktop notifications: the text of a notice (sanitized),
 * the per-qube rate limit, and its notices reaching a notification server
 * on a real dbus-daemon also after the bus was killed and started again
 * (tests/common/notify-bus.c).  The notices' look is tested against mako
 * in test-gui-proxy.sh. */
#include <string.h>
#include <glib.h>

#include "notify-bus.h"
#include "proxy.h"

#ifdef NDEBUG
#error "tests need assertions"
#endif

struct text_case {
	const char *name;
	const char *in;
	const char *out;
};

static const struct text_case text_cases[] = {
	{ "plain", "DAMAGE (window 1): outside the buffer",
	  "DAMAGE (window 1): outside the buffer" },
	/* escaped by the notification client, for servers reading markup
	 * (tests/common/test-notify-client.c) */
	{ "markup-left-to-the-client", "<b>a & b</b>", "<b>a & b</b>" },
	{ "strips-controls", "a\x1b[31mb\x7f\nc", "a[31mbc" },
	{ "strips-bidi", "\xe2\x80\xae" "gnp.exe\xe2\x81\xa6", "gnp.exe" },
	{ "strips-zero-width", "a\xe2\x80\x8b" "b", "ab" },
	{ "drops-invalid-utf8", "a\xff\xc0\x80z", "az" },
};

static void test_text(gconstpointer data)
{
	const struct text_case *c = data;
	g_autofree char *got = gp_notice_text(c->in, strlen(c->in));

	g_assert_cmpstr(got, ==, c->out);
}

/* Cut at 128 characters: a long reason cannot make a notice of any
 * length. */
static void test_text_capped(void)
{
	g_autofree char *in = g_strnfill(5000, '<');
	g_autofree char *got = gp_notice_text(in, strlen(in));

	g_assert_cmpuint(strlen(got), ==, 128);
}

/* name, then the time (s) of each notice asked for, and whether each
 * passes, with an interval of 30 s */
struct limit_step {
	const char *qube;
	gint64 at_s;
	bool pass;
};

static const struct limit_step limit_steps[] = {
	{ "work", 100, true },
	{ "work", 100, false },         /* a reconnect-and-misbehave loop */
	{ "work", 110, false },
	{ "personal", 110, true },      /* per qube */
	{ "work", 129, false },
	{ "work", 130, true },          /* 30 s after the last one shown */
	{ "work", 131, false },
	{ "personal", 139, false },
	{ "personal", 140, true },
	{ "work", 1000, true },
};

static void test_limit(void)
{
	g_autoptr(GHashTable) last = g_hash_table_new_full(
		g_str_hash, g_str_equal, g_free, g_free);

	for (size_t i = 0; i < G_N_ELEMENTS(limit_steps); i++) {
		const struct limit_step *s = &limit_steps[i];
		bool pass = gp_notice_limit_pass(last, s->qube,
						 s->at_s * G_USEC_PER_SEC,
						 30 * G_USEC_PER_SEC);

		if (pass != s->pass)
			g_error("step %zu: %s at %" G_GINT64_FORMAT
				" s: %s, want %s", i, s->qube, s->at_s,
				pass ? "passed" : "held", s->pass ? "passed"
								 : "held");
	}
}

static struct test_bus *bus;
/* test_notify_survives_session_bus_restart, gui-proxy's side (issue #6):
 * a dropped guest's notice reaches the server, and so does one after the
 * session bus was killed and a new one started at the same address. */
static void test_notice_survives_bus_restart(void)
{
	static const char *const caps[] = { "body-markup", NULL };

	bus = test_bus_start(caps);
	if (!bus)
		return;
	struct gp_notify *n = gp_notify_create();

	gp_notify_guest_dropped(n, "work", "TITLE (window 1): <bad>");
	const struct test_note *got = test_bus_wait_note(bus, 1);
	g_assert_cmpstr(got->summary, ==,
			"qmgr: GUI of qube 'work' disconnected");
	g_assert_nonnull(strstr(got->body, "(TITLE (window 1): &lt;bad&gt;)"));
	g_assert_cmpuint(got->urgency, ==, 2);

	test_bus_restart(bus);
	gp_notify_guest_dropped(n, "personal", "bad magic");
	got = test_bus_wait_note(bus, 2);
	g_assert_cmpstr(got->summary, ==,
			"qmgr: GUI of qube 'personal' disconnected");
	gp_notify_destroy(n);
	test_bus_stop(bus);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(text_cases); i++) {
		g_autofree char *path = g_strdup_printf("/gui/notify/text/%s",
							text_cases[i].name);
		g_test_add_data_func(path, &text_cases[i], test_text);
	}
	g_test_add_func("/gui/notify/text/capped", test_text_capped);
	g_test_add_func("/gui/notify/limit/per-qube-interval", test_limit);
	g_test_add_func("/gui/notify/dbus/survives-session-bus-restart",
			test_notice_survives_bus_restart);
	return g_test_run();
}
