/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "volumes.h"
#include "remove-tree.h"
#include "template-store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

char *qm_volume_path(struct qmgrd *d, const char *vm, const char *file)
{
	return g_build_filename(d->paths.vms, vm, file, NULL);
}

/* A queue of commands run one after the other; the first failure ends it. */
struct steps {
	GPtrArray *argvs;      /* GStrv */
	guint next;
	qm_done_fn done;
	void *data;
};

static void steps_finish(struct steps *s, GError *error)
{
	s->done(error, s->data);
	g_clear_error(&error);
	g_ptr_array_free(s->argvs, TRUE);
	g_free(s);
}

static void steps_run(struct steps *s);

static void on_step_done(GObject *src, GAsyncResult *res, gpointer data)
{
	struct steps *s = data;
	GError *err = NULL;
	g_autofree char *errout = NULL;

	if (!g_subprocess_communicate_utf8_finish(G_SUBPROCESS(src), res, NULL,
						  &errout, &err)) {
		steps_finish(s, err);
		return;
	}
	if (!g_subprocess_get_successful(G_SUBPROCESS(src))) {
		char **argv = g_ptr_array_index(s->argvs, s->next - 1);
		g_autofree char *cmd = g_strjoinv(" ", argv);
		g_set_error(&err, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", cmd,
			    errout && *errout ? g_strstrip(errout)
					      : "failed");
		g_object_unref(src);
		steps_finish(s, err);
		return;
	}
	g_object_unref(src);
	steps_run(s);
}

static void steps_run(struct steps *s)
{
	GError *err = NULL;

	if (s->next == s->argvs->len) {
		steps_finish(s, NULL);
		return;
	}
	char **argv = g_ptr_array_index(s->argvs, s->next++);
	GSubprocess *p = g_subprocess_newv(
		(const char *const *)argv,
		G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
			G_SUBPROCESS_FLAGS_STDERR_PIPE,
		&err);
	if (p == NULL) {
		steps_finish(s, err);
		return;
	}
	g_subprocess_communicate_utf8_async(p, NULL, NULL, on_step_done, s);
}

static struct steps *steps_new(qm_done_fn done, void *data)
{
	struct steps *s = g_new0(struct steps, 1);
	s->argvs = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
	s->done = done;
	s->data = data;
	return s;
}

static void steps_add(struct steps *s, ...) G_GNUC_NULL_TERMINATED;
static void steps_add(struct steps *s, ...)
{
	GPtrArray *argv = g_ptr_array_new();
	va_list ap;
	va_start(ap, s);
	for (const char *a = va_arg(ap, const char *); a;
	     a = va_arg(ap, const char *))
		g_ptr_array_add(argv, g_strdup(a));
	va_end(ap);
	g_ptr_array_add(argv, NULL);
	g_ptr_array_add(s->argvs, g_ptr_array_free(argv, FALSE));
}

/* The guest's QEMU runs as another user: directories on the way to the
 * images must be traversable, images readable (libvirt relabels them). */
static bool make_dir(const char *dir, GError **error)
{
	if (g_mkdir_with_parents(dir, 0755) < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "cannot create %s: %s", dir, g_strerror(errno));
		return false;
	}
	return true;
}

static void fail_now(qm_done_fn done, void *data, GError *err)
{
	done(err, data);
	g_error_free(err);
}

static void add_root_copy(struct steps *s, struct qmgrd *d, const char *dst,
			  const char *src)
{
	static const char *const boot_files[] = { "kernel", "initramfs",
						  "template.conf" };
	g_autofree char *sroot = qm_volume_path(d, src, "root.qcow2");
	g_autofree char *droot = qm_volume_path(d, dst, "root.qcow2");
	steps_add(s, "qemu-img", "convert", "-q", "-O", "qcow2", sroot, droot,
		  NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(boot_files); i++) {
		g_autofree char *sf = qm_volume_path(d, src, boot_files[i]);
		g_autofree char *df = qm_volume_path(d, dst, boot_files[i]);
		steps_add(s, "cp", "--reflink=auto", sf, df, NULL);
	}
}

/* The root image (converted to qcow2), kernel, initramfs and
 * template.conf of the template directory `dir`, whose template.conf is
 * `kf`, become `dst`'s own. */
static bool add_template_copy(struct steps *s, struct qmgrd *d,
			      const char *dst, const char *dir, GKeyFile *kf,
			      GError **error)
{
	char *files[3] = { NULL, NULL, NULL };
	if (!qm_template_files(kf, dir, files, error))
		return false;
	g_autofree char *conf = g_build_filename(dir, "template.conf", NULL);
	g_autofree char *root = qm_volume_path(d, dst, "root.qcow2");
	g_autofree char *k = qm_volume_path(d, dst, "kernel");
	g_autofree char *i = qm_volume_path(d, dst, "initramfs");
	g_autofree char *c = qm_volume_path(d, dst, "template.conf");
	steps_add(s, "qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2",
		  files[2], root, NULL);
	steps_add(s, "cp", "--sparse=always", files[0], k, NULL);
	steps_add(s, "cp", files[1], i, NULL);
	steps_add(s, "cp", conf, c, NULL);
	for (int j = 0; j < 3; j++)
		g_free(files[j]);
	return true;
}

void qm_volumes_create(struct qmgrd *d, struct qm_vm *vm,
		       struct qm_vm *root_src, struct qm_vm *private_src,
		       qm_done_fn done, void *data)
{
	GError *err = NULL;
	g_autofree char *dir = g_build_filename(d->paths.vms, vm->name, NULL);
	g_autofree char *priv = qm_volume_path(d, vm->name, "private.qcow2");

	/* A directory left by a crash during an earlier create is junk. */
	qm_volumes_remove(d, vm->name);
	if (!make_dir(dir, &err)) {
		fail_now(done, data, err);
		return;
	}
	struct steps *s = steps_new(done, data);
	if (private_src != NULL) {
		g_autofree char *sp = qm_volume_path(d, private_src->name,
						     "private.qcow2");
		steps_add(s, "qemu-img", "convert", "-q", "-O", "qcow2", sp,
			  priv, NULL);
	} else {
		steps_add(s, "qemu-img", "create", "-q", "-f", "qcow2", priv,
			  QM_PRIVATE_SIZE, NULL);
	}
	if (root_src != NULL && root_src->cls == POL_CLASS_TEMPLATEVM) {
		/* A TemplateVM boots its template's current revision when the
		 * store has one (lifecycle.c): that is what is copied. */
		g_autofree char *rev = NULL;
		g_autoptr(GKeyFile) kf = qm_store_current(d, root_src->name,
							  &rev, &err);
		if (err != NULL ||
		    (kf != NULL &&
		     !add_template_copy(s, d, vm->name, rev, kf, &err))) {
			steps_finish(s, err);
			return;
		}
		if (kf != NULL)
			root_src = NULL;
	}
	if (root_src != NULL)
		add_root_copy(s, d, vm->name, root_src->name);
	steps_run(s);
}

void qm_volumes_create_disposable(struct qmgrd *d, struct qm_vm *vm,
				  struct qm_vm *dvm, qm_done_fn done,
				  void *data)
{
	GError *err = NULL;
	g_autofree char *dir = g_build_filename(d->paths.vms, vm->name, NULL);
	g_autofree char *priv = qm_volume_path(d, vm->name, "private.qcow2");
	g_autofree char *base = qm_volume_path(d, dvm->name, "private.qcow2");

	qm_volumes_remove(d, vm->name);
	if (!make_dir(dir, &err)) {
		fail_now(done, data, err);
		return;
	}
	struct steps *s = steps_new(done, data);
	steps_add(s, "qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2",
		  "-b", base, priv, NULL);
	steps_run(s);
}

void qm_volumes_import_template(struct qmgrd *d, struct qm_vm *vm,
				const char *template_dir, qm_done_fn done,
				void *data)
{
	GError *err = NULL;
	g_autofree char *dir = g_build_filename(d->paths.vms, vm->name, NULL);
	g_autofree char *conf = g_build_filename(template_dir, "template.conf",
						 NULL);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	if (!g_key_file_load_from_file(kf, conf, G_KEY_FILE_NONE, &err)) {
		g_prefix_error(&err, "template %s: ", conf);
		fail_now(done, data, err);
		return;
	}
	if (!make_dir(dir, &err)) {
		fail_now(done, data, err);
		return;
	}
	g_autofree char *priv = qm_volume_path(d, vm->name, "private.qcow2");
	struct steps *s = steps_new(done, data);
	if (!add_template_copy(s, d, vm->name, template_dir, kf, &err)) {
		steps_finish(s, err);
		return;
	}
	steps_add(s, "qemu-img", "create", "-q", "-f", "qcow2", priv,
		  QM_PRIVATE_SIZE, NULL);
	steps_run(s);
}

/* "qcow2" for a qcow2 image (its magic), "raw" for anything else (a
 * template store revision's root.img). */
static const char *image_format(const char *path)
{
	uint8_t magic[4] = { 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, magic, sizeof(magic)) : -1;
	if (fd >= 0)
		close(fd);
	return n == 4 && memcmp(magic, "QFI\xfb", 4) == 0 ? "qcow2" : "raw";
}

void qm_volumes_make_volatile(struct qmgrd *d, struct qm_vm *vm,
			      const char *base, qm_done_fn done, void *data)
{
	g_autofree char *vol = qm_volume_path(d, vm->name, "volatile.qcow2");
	g_unlink(vol);
	struct steps *s = steps_new(done, data);
	steps_add(s, "qemu-img", "create", "-q", "-f", "qcow2", "-F",
		  image_format(base), "-b", base, vol, NULL);
	steps_run(s);
}

void qm_volumes_drop_volatile(struct qmgrd *d, const char *vm)
{
	g_autofree char *vol = qm_volume_path(d, vm, "volatile.qcow2");
	if (g_unlink(vol) < 0 && errno != ENOENT)
		g_warning("cannot remove %s: %s", vol, g_strerror(errno));
}

void qm_volumes_remove(struct qmgrd *d, const char *vm)
{
	g_autofree char *dir = g_build_filename(d->paths.vms, vm, NULL);
	g_autoptr(GError) err = NULL;
	if (!qm_remove_tree(dir, &err))
		g_warning("cannot remove all of %s: %s", dir, err->message);
}
