/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Templates and the template store, as qmgrd reads them (template-store.h). */
#include "config.h"

#include <string.h>

#include "template-manifest.h"
#include "template-state.h"
#include "template-store.h"

static GQuark store_quark(void)
{
	return g_quark_from_static_string("qm-template-store");
}

static char *store_dir(struct qmgrd *d, const char *name)
{
	return g_build_filename(d->paths.lib, "template-store", name, NULL);
}

static bool store_has(struct qmgrd *d, const char *name)
{
	g_autofree char *dir = store_dir(d, name);
	g_autofree char *state = g_build_filename(dir, QM_TPL_STATE, NULL);
	return g_file_test(state, G_FILE_TEST_IS_REGULAR);
}

GKeyFile *qm_store_current(struct qmgrd *d, const char *name, char **dir,
			   GError **error)
{
	if (!store_has(d, name))
		return NULL;
	g_autofree char *tdir = store_dir(d, name);
	guint32 current = 0, previous = 0;
	if (!qm_tpl_state_read(tdir, &current, &previous, error))
		return NULL;
	g_autofree char *rev = g_strdup_printf("%s/%u", tdir, current);
	g_autofree char *conf = g_build_filename(rev, "template.conf", NULL);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	if (!g_key_file_load_from_file(kf, conf, G_KEY_FILE_NONE, error)) {
		g_prefix_error(error, "template store: %s: ", conf);
		return NULL;
	}
	*dir = g_steal_pointer(&rev);
	return g_steal_pointer(&kf);
}

bool qm_template_files(GKeyFile *kf, const char *dir, char *files[3],
		       GError **error)
{
	static const char *const keys[] = { "kernel", "initramfs", "root" };
	for (int i = 0; i < 3; i++) {
		g_autofree char *f = g_key_file_get_string(kf, "Template",
							   keys[i], NULL);
		if (f == NULL || !qm_tpl_file_name_is_valid(f)) {
			g_set_error(error, store_quark(), 1,
				    "%s/template.conf: %s missing or not a "
				    "plain file name", dir, keys[i]);
			for (int j = 0; j < i; j++)
				g_clear_pointer(&files[j], g_free);
			return false;
		}
		files[i] = g_build_filename(dir, f, NULL);
	}
	return true;
}

void qm_template_sizing_apply(struct qm_vm *vm, GKeyFile *kf)
{
	static const char *const keys[] = { "memory", "vcpus" };
	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
		if (g_hash_table_contains(vm->props, keys[i]))
			continue;
		g_autofree char *v = g_key_file_get_string(kf, "Template",
							   keys[i], NULL);
		const char *why;
		g_autofree char *n =
			v ? qm_prop_normalise(qm_prop_find(keys[i]), v, &why)
			  : NULL;
		if (n != NULL)
			qm_vm_prop_set(vm, keys[i], n);
	}
}
