/* unit-tree: what the unit tests that make files share: removing the
 * temporary folder they worked in, whatever it holds (links are removed,
 * never followed). */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>

static inline void
remove_tree (const char *path)
{
	GDir *dir = g_dir_open (path, 0, NULL);
	const char *name;

	while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
		g_autofree char *child = g_build_filename (path, name, NULL);

		if (g_file_test (child, G_FILE_TEST_IS_DIR) &&
		    !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
			remove_tree (child);
		else
			g_unlink (child);
	}
	if (dir != NULL)
		g_dir_close (dir);
	g_rmdir (path);
}
