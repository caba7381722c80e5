/* libFuzzer harness for mp-tree: any bytes as the message on stdin, then
 * an attachment, a text, an HTML with an inline image, written out. */
#include "mp-tree.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static MpLeaf *
text_leaf (const char *subtype, const char *text)
{
	g_autoptr (GBytes) bytes = g_bytes_new_static (text, strlen (text));
	g_autoptr (GMimePart) part =
		mp_part_new_text (subtype, bytes, NULL, FALSE, "fuzz", NULL);

	return mp_part_leaf_new_part (part);
}

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
	static gboolean init;
	g_autoptr (MpInput) in = NULL;
	g_autoptr (MpTree) tree = NULL;
	g_autoptr (MpOutput) out = NULL;
	g_autoptr (GError) error = NULL;
	guint8 ops = size ? data[0] : 0;
	int fd;

	if (!init) {
		int null = open ("/dev/null", O_WRONLY);

		g_mime_init ();
		dup2 (null, STDOUT_FILENO);
		close (null);
		init = TRUE;
	}
	fd = memfd_create ("fuzz-tree", 0);
	if (fd < 0 || (size > 1 &&
		       write (fd, data + 1, size - 1) != (ssize_t) (size - 1)))
		abort ();
	lseek (fd, 0, SEEK_SET);
	in = mp_input_open_fd (fd, "fuzz", NULL);
	if (in)
		tree = mp_tree_new (in, "seed", &error);
	if (tree) {
		gboolean ok = TRUE;

		if (ops & 1)
			mp_tree_add_attachment (tree,
						text_leaf ("csv", "a,b\n"));
		if (ok && (ops & 2))
			ok = mp_tree_set_text (tree, text_leaf ("plain", "t\n"),
					       NULL);
		if (ok && (ops & 4)) {
			const char *html = "<img src=\"cid:x@y\">";

			ok = mp_tree_set_html (tree, text_leaf ("html", html),
					       html, NULL);
		}
		if (ok && (ops & 8))
			g_free (mp_tree_get_html (tree, NULL));
		out = mp_output_open (NULL, (ops & 16) != 0, NULL);
		if (ok && out)
			mp_tree_write (tree, out, NULL);
		g_clear_pointer (&out, mp_output_free);
	}
	g_clear_pointer (&tree, mp_tree_free);
	g_clear_pointer (&in, mp_input_free);
	close (fd);
	return 0;
}
