/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ~/.config/qmgr/tray.conf, a key file:
 *
 *   [tray]
 *   terminal=foot            # what "Open terminal" runs in a qube
 *   [menu]                   # entries of every qube: NAME=COMMAND
 *   Firefox=firefox-esr
 *   Files=nautilus
 *   [vm:work]                # entries of one qube; NAME= removes one
 *   Mail=thunderbird
 *
 * Without a file: [menu] Terminal=foot.  The commands run in the qube as
 * vm.Run's `command` (/bin/sh -c), as the qube's user.
 */
#include "tray.h"

#include <string.h>

struct qt_config {
	char *terminal;
	GPtrArray *menu;          /* struct qt_menu_entry *: [menu] */
	GHashTable *per_vm;       /* name -> GPtrArray of entries */
};

static void entry_free(gpointer p)
{
	struct qt_menu_entry *e = p;

	g_free(e->name);
	g_free(e->command);
	g_free(e);
}

static GPtrArray *entries_new(void)
{
	return g_ptr_array_new_with_free_func(entry_free);
}

static void add_entry(GPtrArray *list, const char *name, const char *cmd)
{
	struct qt_menu_entry *e = g_new0(struct qt_menu_entry, 1);

	e->name = g_strdup(name);
	e->command = g_strdup(cmd);
	g_ptr_array_add(list, e);
}

struct qt_config *qt_config_new_default(void)
{
	struct qt_config *cfg = g_new0(struct qt_config, 1);

	cfg->terminal = g_strdup("foot");
	cfg->menu = entries_new();
	add_entry(cfg->menu, "Terminal", "foot");
	cfg->per_vm = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					    (GDestroyNotify)g_ptr_array_unref);
	return cfg;
}

void qt_config_destroy(struct qt_config *cfg)
{
	if (!cfg)
		return;
	g_free(cfg->terminal);
	g_ptr_array_unref(cfg->menu);
	g_hash_table_destroy(cfg->per_vm);
	g_free(cfg);
}

static bool read_group(GKeyFile *kf, const char *path, const char *group,
		       GPtrArray *into, GError **error)
{
	g_auto(GStrv) keys = g_key_file_get_keys(kf, group, NULL, NULL);

	for (char **k = keys; k && *k; k++) {
		g_autofree char *cmd = g_key_file_get_string(kf, group, *k,
							     error);
		if (!cmd)
			return false;
		if (strlen(cmd) > 65536) {
			g_set_error(error, G_KEY_FILE_ERROR,
				    G_KEY_FILE_ERROR_INVALID_VALUE,
				    "%s: [%s] %s: the command is longer than "
				    "65536 bytes", path, group, *k);
			return false;
		}
		add_entry(into, *k, cmd);
	}
	return true;
}

struct qt_config *qt_config_load(const char *path, GError **error)
{
	g_autofree char *def = NULL;

	if (path == NULL)
		path = def = g_build_filename(g_get_user_config_dir(), "qmgr",
					      "tray.conf", NULL);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) err = NULL;
	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &err)) {
		if (g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return qt_config_new_default();
		g_set_error(error, err->domain, err->code, "%s: %s", path,
			    err->message);
		return NULL;
	}
	struct qt_config *cfg = qt_config_new_default();
	g_autofree char *term = g_key_file_get_string(kf, "tray", "terminal",
						      NULL);
	if (term && *term) {
		g_free(cfg->terminal);
		cfg->terminal = g_steal_pointer(&term);
	}
	g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);
	for (char **g = groups; *g; g++) {
		if (strcmp(*g, "menu") == 0) {
			g_ptr_array_set_size(cfg->menu, 0);
			if (!read_group(kf, path, *g, cfg->menu, error))
				goto fail;
		} else if (g_str_has_prefix(*g, "vm:") && (*g)[3]) {
			GPtrArray *list = entries_new();
			g_hash_table_replace(cfg->per_vm, g_strdup(*g + 3),
					     list);
			if (!read_group(kf, path, *g, list, error))
				goto fail;
		} else if (strcmp(*g, "tray") != 0) {
			g_set_error(error, G_KEY_FILE_ERROR,
				    G_KEY_FILE_ERROR_GROUP_NOT_FOUND,
				    "%s: unknown group [%s] (use [tray], "
				    "[menu] or [vm:NAME])", path, *g);
			goto fail;
		}
	}
	return cfg;
fail:
	qt_config_destroy(cfg);
	return NULL;
}

const char *qt_config_terminal(const struct qt_config *cfg)
{
	return cfg->terminal;
}

GPtrArray *qt_config_entries(const struct qt_config *cfg, const char *vm)
{
	GPtrArray *out = g_ptr_array_new();
	GPtrArray *own = g_hash_table_lookup(cfg->per_vm, vm);

	for (guint i = 0; i < cfg->menu->len; i++) {
		const struct qt_menu_entry *e = cfg->menu->pdata[i];
		bool overridden = false;

		for (guint j = 0; own && j < own->len; j++)
			if (strcmp(((struct qt_menu_entry *)own->pdata[j])->name,
				   e->name) == 0)
				overridden = true;
		if (!overridden && *e->command)
			g_ptr_array_add(out, (gpointer)e);
	}
	for (guint j = 0; own && j < own->len; j++) {
		const struct qt_menu_entry *e = own->pdata[j];
		if (*e->command)
			g_ptr_array_add(out, (gpointer)e);
	}
	return out;
}
