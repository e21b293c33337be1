/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The --guest NAME:COLOR:SOCKET argument (colours: common/label.c). */
#include <string.h>

#include "proxy.h"

/* The name goes into app_ids (qmgr.NAME.APP) and titles: qube names are
 * already restricted by qmgrd, this keeps the proxy safe on its own. */
bool gp_guest_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 31 || !g_ascii_isalpha(name[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_isalnum(name[i]) && name[i] != '-' &&
		    name[i] != '_')
			return false;
	return true;
}

bool gp_guest_config_parse(const char *arg, struct gp_guest_config *cfg,
			   GError **error)
{
	g_auto(GStrv) parts = g_strsplit(arg, ":", 3);

	if (g_strv_length(parts) != 3 || parts[2][0] == '\0') {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--guest '%s': expected NAME:COLOR:SOCKET", arg);
		return false;
	}
	if (!gp_guest_name_ok(parts[0])) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--guest '%s': bad name '%s' (a letter, then up "
			    "to 30 letters, digits, '-' or '_')", arg,
			    parts[0]);
		return false;
	}
	if (!qm_label_rgb(parts[1], &cfg->color)) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--guest '%s': unknown colour '%s' (use #rrggbb "
			    "or red, orange, yellow, green, gray, blue, "
			    "purple, black)", arg, parts[1]);
		return false;
	}
	cfg->name = g_strdup(parts[0]);
	cfg->socket_path = g_strdup(parts[2]);
	return true;
}

void gp_guest_config_finish(struct gp_guest_config *cfg)
{
	g_clear_pointer(&cfg->name, g_free);
	g_clear_pointer(&cfg->socket_path, g_free);
	g_clear_pointer(&cfg->shm_path, g_free);
}
