/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Desktop notifications for what the user must see: a guest's GUI dropped
 * for breaking the protocol.  The client is common/notify-client.c (the
 * tray's too): asynchronous, so the Wayland loop never waits for the bus
 * or the notification server, and on a session bus that is connected
 * again when it goes away.  Without either the notice is logged (as it
 * always is) and the proxy goes on.
 *
 * One notice per qube per GP_NOTICE_INTERVAL_S (common/ratelimit.h, burst
 * 1): a guest that reconnects and misbehaves in a loop (its qube
 * restarted over and over) cannot flood the desktop.  The notices are
 * built from the proxy's own words; the reason (the decoder's text, with
 * numbers a guest chose) is sanitized as a title is; the client escapes
 * the body for servers that read it as markup.
 */
#include <string.h>
#include <gio/gio.h>

#include "notify-client.h"
#include "proxy.h"
#include "ratelimit.h"

struct gp_notify {
	struct qm_session_bus *bus;     /* NULL: no session bus, log only */
	struct qm_notify *client;
	GHashTable *last;               /* qube -> struct qm_ratelimit */
};

bool gp_notice_limit_pass(GHashTable *last, const char *key, gint64 now_us,
			  gint64 interval_us)
{
	struct qm_ratelimit *rl = g_hash_table_lookup(last, key);

	if (!rl) {
		rl = g_new(struct qm_ratelimit, 1);
		qm_ratelimit_init(rl, 1, interval_us);
		g_hash_table_insert(last, g_strdup(key), rl);
	}
	/* The held ones are logged one by one: no summary. */
	return qm_ratelimit_take(rl, now_us, NULL);
}

char *gp_notice_text(const char *untrusted, size_t len)
{
	return gp_sanitize_title((const uint8_t *)untrusted, len);
}

struct gp_notify *gp_notify_create(void)
{
	struct gp_notify *n = g_new0(struct gp_notify, 1);
	g_autoptr(GError) err = NULL;

	n->last = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					g_free);
	n->bus = qm_session_bus_create("gui-proxy", &err);
	if (!n->bus)
		g_message("%s: dropped guests are reported in this log only",
			  err->message);
	n->client = qm_notify_create(n->bus, "qmgr", NULL, NULL, NULL);
	return n;
}

void gp_notify_destroy(struct gp_notify *n)
{
	if (!n)
		return;
	qm_notify_destroy(n->client);
	qm_session_bus_destroy(n->bus);
	g_hash_table_destroy(n->last);
	g_free(n);
}

void gp_notify_guest_dropped(struct gp_notify *n, const char *qube,
			     const char *reason)
{
	if (!n)
		return;
	if (!gp_notice_limit_pass(n->last, qube, g_get_monotonic_time(),
				  (gint64)GP_NOTICE_INTERVAL_S * G_USEC_PER_SEC)) {
		g_message("guest '%s': no desktop notification (one was shown "
			  "less than %d s ago)", qube, GP_NOTICE_INTERVAL_S);
		return;
	}
	g_autofree char *why = gp_notice_text(reason, strlen(reason));
	/* The qube's name passed gp_guest_name_ok (letters, digits, '-',
	 * '_'): nothing to escape or strip. */
	g_autofree char *summary = g_strdup_printf(
		"qmgr: GUI of qube '%s' disconnected", qube);
	g_autofree char *body = g_strdup_printf(
		"The qube broke the GUI protocol (%s). Its windows were "
		"closed and are not shown again until it restarts.", why);
	const struct qm_notice notice = {
		.summary = summary,
		.body = body,
		.icon = "dialog-warning",
		.urgency = 2,   /* critical: it stays until the user saw it */
		.category = "device.error",
		.timeout_ms = -1,
	};
	qm_notify_send(n->client, &notice);
}
