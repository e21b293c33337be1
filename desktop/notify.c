/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The tray's notifications, through common/notify-client.c (gui-proxy's
 * client too: asynchronous, on a session bus connected again when it goes
 * away).  Notices (a qube started, stopped or crashed; a call denied) are
 * rate limited (common/ratelimit.h: BURST per WINDOW_US, then a summary);
 * questions carry one action per target and Deny when the server has the
 * "actions" capability.  Strings are sanitized by the caller; the client
 * escapes bodies for servers that read markup.  A missing server is not an
 * error: notices are then only logged, and the tray's menu still has
 * everything.
 */
#include "tray.h"

#include <string.h>

#include "notify-client.h"
#include "ratelimit.h"

#define BURST 5
#define WINDOW_US (10 * G_USEC_PER_SEC)

struct qt_notify {
	struct qm_notify *client;
	struct qm_ratelimit rl;
	guint flush_id;
	qt_notify_action_fn fn;
	void *data;
};

/* A question's notice is sent with the question's id (never 0) as its
 * tag; its actions are "t:TARGET" and "deny". */
static void on_action(uint32_t question, const char *key, void *data)
{
	struct qt_notify *n = data;

	if (strcmp(key, "deny") == 0)
		n->fn(question, "", n->data);
	else if (g_str_has_prefix(key, "t:"))
		n->fn(question, key + 2, n->data);
	/* "default" (a click on the body) chooses nothing */
}

struct qt_notify *qt_notify_create(struct qm_session_bus *bus,
				   qt_notify_action_fn fn, void *user_data)
{
	struct qt_notify *n = g_new0(struct qt_notify, 1);

	n->fn = fn;
	n->data = user_data;
	qm_ratelimit_init(&n->rl, BURST, WINDOW_US);
	n->client = qm_notify_create(bus, "qmgr", "qmgr-tray", on_action, n);
	return n;
}

void qt_notify_destroy(struct qt_notify *n)
{
	if (!n)
		return;
	if (n->flush_id)
		g_source_remove(n->flush_id);
	qm_notify_destroy(n->client);
	g_free(n);
}

static void send(struct qt_notify *n, const char *summary, const char *body,
		 const char *const *actions, uint8_t urgency, int timeout_ms,
		 uint32_t question)
{
	const struct qm_notice notice = {
		.summary = summary,
		.body = body,
		.urgency = urgency,
		.timeout_ms = timeout_ms,
		.actions = actions,
		.tag = question,
	};

	g_message("notification: %s: %s", summary, body);
	qm_notify_send(n->client, &notice);
}

static void summary_notice(struct qt_notify *n, unsigned int k)
{
	g_autofree char *body = g_strdup_printf(
		"%u more event%s in the last %d s (see qvm-ls and the tray "
		"menu)", k, k == 1 ? "" : "s",
		(int)(WINDOW_US / G_USEC_PER_SEC));
	send(n, "qmgr: more events", body, NULL, 1, -1, 0);
}

static gboolean flush_cb(gpointer data)
{
	struct qt_notify *n = data;
	unsigned int k = qm_ratelimit_flush(&n->rl, g_get_monotonic_time());

	n->flush_id = 0;
	if (k)
		summary_notice(n, k);
	return G_SOURCE_REMOVE;
}

void qt_notify_event(struct qt_notify *n, const char *summary,
		     const char *body)
{
	unsigned int k;
	bool pass = qm_ratelimit_take(&n->rl, g_get_monotonic_time(), &k);

	if (k)
		summary_notice(n, k);
	if (pass) {
		send(n, summary, body, NULL, 1, -1, 0);
		return;
	}
	g_message("notification suppressed (rate limit): %s: %s", summary,
		  body);
	if (!n->flush_id)
		n->flush_id = g_timeout_add(WINDOW_US / 1000 + 100, flush_cb,
					    n);
}

void qt_notify_question(struct qt_notify *n, const struct qt_question *q)
{
	g_autofree char *src = qt_sanitize(q->source, 32);
	g_autofree char *svc = qt_sanitize(q->service, QT_TEXT_MAX);
	g_autofree char *arg = qt_sanitize(q->argument, QT_TEXT_MAX);
	int64_t left = (q->deadline - g_get_monotonic_time()) / 1000;
	g_autoptr(GPtrArray) acts = g_ptr_array_new_with_free_func(g_free);
	GString *targets = g_string_new(NULL);

	for (char **t = q->targets; t && *t; t++) {
		g_autofree char *tn = qt_sanitize(*t, 64);

		g_ptr_array_add(acts, g_strconcat("t:", *t, NULL));
		g_ptr_array_add(acts, g_strdup_printf("Allow to %s", tn));
		g_string_append_printf(targets, "%s%s",
				       targets->len ? ", " : "", tn);
	}
	g_ptr_array_add(acts, g_strdup("deny"));
	g_ptr_array_add(acts, g_strdup("Deny"));
	g_ptr_array_add(acts, NULL);
	g_autofree char *tl = g_string_free(targets, false);
	g_autofree char *body = g_strdup_printf(
		"qube: %s\nservice: %s\nargument: %s\ntargets: %s\n"
		"Choose in the tray's Requests menu%s; no answer denies.",
		src, svc, strcmp(arg, "+") == 0 || !*arg ? "(none)" : arg, tl,
		qm_notify_has_actions(n->client) ? " or here" : "");
	g_autofree char *summary = g_strdup_printf("%s asks to call %s", src,
						   svc);
	/* Questions are capped by qmgrd (32 open); not rate limited, as an
	 * unseen question is a denied call. */
	send(n, summary, body, (const char *const *)acts->pdata, 2,
	     (int)CLAMP(left, 1000, 3600 * 1000), q->id);
}

void qt_notify_question_done(struct qt_notify *n, uint32_t question)
{
	qm_notify_close(n->client, question);
}
