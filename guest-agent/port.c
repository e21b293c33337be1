/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "port.h"

#include <stdbool.h>
#include <string.h>
#include <glib.h>

/* Device names come from the guest kernel, but keep them to what a
 * virtio port is called so the path built from one stays under /dev. */
static bool is_port_dirname(const char *s)
{
	if (!g_str_has_prefix(s, "vport"))
		return false;
	for (const char *p = s; *p; p++)
		if (!g_ascii_isalnum(*p))
			return false;
	return true;
}

char *agent_port_find(const char *sysfs_dir, const char *name)
{
	g_autoptr(GDir) dir = g_dir_open(sysfs_dir, 0, NULL);
	const char *ent;

	if (dir == NULL)
		return NULL;
	while ((ent = g_dir_read_name(dir)) != NULL) {
		if (!is_port_dirname(ent))
			continue;
		g_autofree char *name_file =
			g_build_filename(sysfs_dir, ent, "name", NULL);
		g_autofree char *contents = NULL;
		if (!g_file_get_contents(name_file, &contents, NULL, NULL))
			continue;
		g_strchomp(contents);
		if (strcmp(contents, name) == 0)
			return g_strconcat("/dev/", ent, NULL);
	}
	return NULL;
}
