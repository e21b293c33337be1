/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* qm_remove_tree: removes a tree, never what a link inside points to. */
#include "remove-tree.h"

#include <errno.h>
#include <unistd.h>
#include <glib.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#ifdef NDEBUG
#error "tests need assertions"
#endif

static char *make_file(const char *dir, const char *name)
{
	char *p = g_build_filename(dir, name, NULL);
	g_assert_true(g_file_set_contents(p, "x", 1, NULL));
	return p;
}

static void test_remove_tree_nested_and_links(void)
{
	g_autofree char *base = g_dir_make_tmp("qm-remove-tree-XXXXXX", NULL);
	g_assert_nonnull(base);
	g_autofree char *tree = g_build_filename(base, "tree", NULL);
	g_autofree char *deep = g_build_filename(tree, "a", "b", "c", NULL);
	g_autofree char *outside = g_build_filename(base, "outside", NULL);
	g_assert_cmpint(g_mkdir_with_parents(deep, 0755), ==, 0);
	g_assert_cmpint(g_mkdir(outside, 0755), ==, 0);
	g_autofree char *kept = make_file(outside, "kept");
	g_autofree char *f1 = make_file(tree, "f1");
	g_autofree char *f2 = make_file(deep, "f2");
	/* links to a directory and to a file outside the tree */
	g_autofree char *ld = g_build_filename(tree, "a", "to-outside", NULL);
	g_autofree char *lf = g_build_filename(deep, "to-kept", NULL);
	g_assert_cmpint(symlink(outside, ld), ==, 0);
	g_assert_cmpint(symlink(kept, lf), ==, 0);

	g_autoptr(GError) err = NULL;
	g_assert_true(qm_remove_tree(tree, &err));
	g_assert_no_error(err);
	g_assert_false(g_file_test(tree, G_FILE_TEST_EXISTS));
	g_assert_true(g_file_test(kept, G_FILE_TEST_IS_REGULAR));

	/* a tree that is not there, and a single file */
	g_assert_true(qm_remove_tree(tree, &err));
	g_assert_true(qm_remove_tree(kept, &err));
	g_assert_false(g_file_test(kept, G_FILE_TEST_EXISTS));
	g_assert_true(qm_remove_tree(base, &err));
	g_assert_false(g_file_test(base, G_FILE_TEST_EXISTS));
}

static void test_remove_tree_reports_first_failure(void)
{
	/* a path below a file cannot be looked at: ENOTDIR, reported */
	g_autofree char *base = g_dir_make_tmp("qm-remove-tree-XXXXXX", NULL);
	g_autofree char *f = make_file(base, "file");
	g_autofree char *below = g_build_filename(f, "x", NULL);
	g_autoptr(GError) err = NULL;
	g_assert_false(qm_remove_tree(below, &err));
	g_assert_error(err, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY);
	g_assert_nonnull(strstr(err->message, below));
	g_assert_true(qm_remove_tree(base, NULL));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/remove-tree/nested-and-links",
			test_remove_tree_nested_and_links);
	g_test_add_func("/remove-tree/reports-first-failure",
			test_remove_tree_reports_first_failure);
	return g_test_run();
}
