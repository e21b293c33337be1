/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reads VM descriptions from a GKeyFile (`qvm-policy --vms FILE`), one group
 * per VM.  The file is input from outside: unknown keys and bad values are
 * errors naming the file, the VM and the key.
 */
#include "internal.h"

#include <string.h>

#include "suggest.h"

#define KF_ERROR g_quark_from_static_string("pol-keyfile-error")

static const char *const known_keys[] = {
	"class", "tags", "default_dispvm", "template_for_dispvms", "state",
	"internal", "uuid", "template",
};

/*
 * GKeyFile has no end-of-line comments, but people write them ("class=AppVM
 * # comment"); no value here can contain '#', so cut there.
 */
static char *get_string(GKeyFile *kf, const char *group, const char *key)
{
	char *v = g_key_file_get_string(kf, group, key, NULL);
	if (v != NULL) {
		char *hash = strchr(v, '#');
		if (hash != NULL)
			*hash = '\0';
		g_strstrip(v);
	}
	return v;
}

static bool get_bool(GKeyFile *kf, const char *origin, const char *group,
		     const char *key, bool *out, GError **error)
{
	*out = false;
	g_autofree char *v = get_string(kf, group, key);
	if (v == NULL)
		return true;
	if (strcmp(v, "true") == 0 || strcmp(v, "True") == 0) {
		*out = true;
		return true;
	}
	if (strcmp(v, "false") == 0 || strcmp(v, "False") == 0) {
		*out = false;
		return true;
	}
	g_set_error(error, KF_ERROR, 1,
		    "%s: [%s] %s=%s: expected true or false", origin, group,
		    key, v);
	return false;
}

static bool check_keys(GKeyFile *kf, const char *origin, const char *group,
		       GError **error)
{
	g_auto(GStrv) keys = g_key_file_get_keys(kf, group, NULL, NULL);
	for (char **k = keys; k != NULL && *k != NULL; k++) {
		bool known = false;
		for (size_t i = 0; i < G_N_ELEMENTS(known_keys); i++)
			known = known || strcmp(*k, known_keys[i]) == 0;
		if (known)
			continue;
		const char *s = qm_suggest(*k, known_keys,
					   G_N_ELEMENTS(known_keys));
		g_set_error(error, KF_ERROR, 1,
			    "%s: [%s]: unknown key '%s'%s%s%s", origin, group,
			    *k, s ? " (did you mean " : "", s ? s : "",
			    s ? "?)" : "");
		return false;
	}
	return true;
}

static bool add_group(struct pol_system *sys, GKeyFile *kf, const char *origin,
		      const char *group, GError **error)
{
	struct pol_vm_info info = { .name = group, .cls = POL_CLASS_APPVM };
	GError *local = NULL;

	if (!check_keys(kf, origin, group, error))
		return false;

	g_autofree char *cls = get_string(kf, group, "class");
	if (cls != NULL && !pol_vm_class_from_name(cls, &info.cls)) {
		g_set_error(error, KF_ERROR, 1,
			    "%s: [%s] class=%s: unknown class (AdminVM, AppVM, "
			    "TemplateVM, StandaloneVM, DispVM)", origin, group,
			    cls);
		return false;
	}
	g_autoptr(GPtrArray) tags = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *tag_list = get_string(kf, group, "tags");
	if (tag_list != NULL) {
		g_auto(GStrv) parts = g_strsplit(tag_list, ";", -1);
		for (char **t = parts; *t != NULL; t++) {
			g_strstrip(*t);
			if (**t != '\0')
				g_ptr_array_add(tags, g_strdup(*t));
		}
	}
	g_ptr_array_add(tags, NULL);
	info.tags = (const char *const *)tags->pdata;

	g_autofree char *dvm = get_string(kf, group, "default_dispvm");
	info.default_dispvm = dvm;
	g_autofree char *tmpl = get_string(kf, group, "template");
	info.template_name = tmpl;
	g_autofree char *uuid = get_string(kf, group, "uuid");
	info.uuid = uuid;

	g_autofree char *state = get_string(kf, group, "state");
	if (state != NULL) {
		if (strcmp(state, "running") == 0)
			info.running = true;
		else if (strcmp(state, "halted") != 0) {
			g_set_error(error, KF_ERROR, 1,
				    "%s: [%s] state=%s: expected running or "
				    "halted", origin, group, state);
			return false;
		}
	}
	if (!get_bool(kf, origin, group, "template_for_dispvms",
		      &info.template_for_dispvms, error) ||
	    !get_bool(kf, origin, group, "internal", &info.internal, error))
		return false;

	if (!pol_system_add_vm(sys, &info, &local)) {
		g_set_error(error, KF_ERROR, 1, "%s: [%s]: %s", origin, group,
			    local->message);
		g_error_free(local);
		return false;
	}
	return true;
}

struct pol_system *pol_system_load_keyfile_data(const char *data, size_t len,
						const char *origin,
						GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	GError *local = NULL;

	if (memchr(data, '\0', len) != NULL || !g_utf8_validate(data, len,
								 NULL)) {
		g_set_error(error, KF_ERROR, 1,
			    "%s: not a text file (NUL byte or invalid UTF-8)",
			    origin);
		return NULL;
	}
	if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE,
				       &local)) {
		g_set_error(error, KF_ERROR, 1, "%s: %s", origin,
			    local->message);
		g_error_free(local);
		return NULL;
	}

	g_autoptr(pol_system) sys = pol_system_create();
	g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);
	for (char **g = groups; *g != NULL; g++) {
		if (!add_group(sys, kf, origin, *g, error))
			return NULL;
	}
	if (!pol_system_check(sys, &local)) {
		g_set_error(error, KF_ERROR, 1, "%s: %s", origin,
			    local->message);
		g_error_free(local);
		return NULL;
	}
	return g_steal_pointer(&sys);
}

struct pol_system *pol_system_load_keyfile(const char *path, GError **error)
{
	g_autofree char *data = NULL;
	gsize len = 0;

	GError *local = NULL;
	if (!g_file_get_contents(path, &data, &len, &local)) {
		g_set_error(error, KF_ERROR, 1, "%s: cannot read: %s", path,
			    local->message);
		g_error_free(local);
		return NULL;
	}
	return pol_system_load_keyfile_data(data, len, path, error);
}
