/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The template store's state file (template-state.h). */
#include "template-state.h"

#include <string.h>

#include "atomic-file.h"
#include "template-manifest.h"

#define STATE_ERROR g_quark_from_static_string("qm-template-state-error")

bool qm_tpl_state_read(const char *template_dir, guint32 *current,
		       guint32 *previous, GError **error)
{
	g_autofree char *path = g_build_filename(template_dir, QM_TPL_STATE,
						 NULL);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	*current = *previous = 0;
	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, error)) {
		g_prefix_error(error, "%s: ", path);
		return false;
	}
	g_autofree char *cur = g_key_file_get_string(kf, "Store", "current",
						     NULL);
	g_autofree char *prev = g_key_file_get_string(kf, "Store", "previous",
						      NULL);
	guint64 c = 0, p = 0;
	if (cur == NULL ||
	    !g_ascii_string_to_unsigned(cur, 10, 1, QM_TPL_MAX_REVISION, &c,
					NULL) ||
	    (prev != NULL &&
	     !g_ascii_string_to_unsigned(prev, 10, 1, QM_TPL_MAX_REVISION,
					 &p, NULL))) {
		g_set_error(error, STATE_ERROR, 1, "%s: bad current or "
			    "previous revision", path);
		return false;
	}
	*current = (guint32)c;
	*previous = (guint32)p;
	return true;
}

bool qm_tpl_state_write(const char *template_dir, guint32 current,
			guint32 previous, GError **error)
{
	g_autofree char *path = g_build_filename(template_dir, QM_TPL_STATE,
						 NULL);
	g_autofree char *text = previous
		? g_strdup_printf("[Store]\ncurrent=%u\nprevious=%u\n",
				  current, previous)
		: g_strdup_printf("[Store]\ncurrent=%u\n", current);
	return qm_atomic_write(path, text, strlen(text), 0644, error);
}
