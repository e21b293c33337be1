/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Guest-controlled strings (a call's service and argument, a qube's state
 * detail) reach the user through notifications and menu labels, sanitized
 * by common/text-sanitize.c (qt_sanitize in tray.h) and escaped for where
 * they go: here for dbusmenu labels; notification bodies are escaped by
 * the notification client (common/notify-client.c).
 */
#include "tray.h"

#include <string.h>

char *qt_menu_escape(const char *text)
{
	GString *out = g_string_new(NULL);

	for (const char *p = text; *p; p++) {
		if (*p == '_')
			g_string_append_c(out, '_');
		g_string_append_c(out, *p);
	}
	return g_string_free(out, false);
}
