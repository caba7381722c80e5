/* libFuzzer harness fuzz-edit: mp-tree reading an arbitrary message and
 * inserting a part into it, as mime-attach and mime-inline do.  The first
 * byte picks the edit (an attachment, a text alternative, an HTML
 * alternative with an inline image); the rest is the message.  When the
 * tree accepts the message, the edited output must itself be a message
 * the tree accepts: never a truncated multipart, never nothing. */
#include "mp-error.h"
#include "mp-part.h"
#include "mp-tree.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static int out_fd = -1;

/* An MpInput over @len bytes of @data, held in a memory file (seekable,
 * read in place like a file given on stdin).  Opened by its /proc path,
 * so that the input owns (and closes) its descriptor. */
static MpInput *
input_new (const char *name, const void *data, gsize len)
{
	int fd = memfd_create (name, MFD_CLOEXEC);
	g_autofree char *path = NULL;
	MpInput *in;

	if (fd < 0 || (len && write (fd, data, len) != (ssize_t) len))
		abort ();
	path = g_strdup_printf ("/proc/self/fd/%d", fd);
	in = mp_input_open (path, NULL);
	close (fd);
	if (in == NULL)
		abort ();
	return in;
}

static MpLeaf *
leaf_new (const char *name, const char *text, const char *cid,
	  gboolean inline_disposition)
{
	MpPartFileOptions opts = { 0 };

	opts.name = name;
	opts.content_id = cid;
	opts.inline_disposition = inline_disposition;
	return mp_part_leaf_new_file (input_new (name, text, strlen (text)),
				      &opts, NULL);
}

static gboolean
edit (MpTree *tree, guint8 how, GError **error)
{
	switch (how % 3) {
	case 0:
		mp_tree_add_attachment (
			tree, leaf_new ("note.txt", "a note\n", NULL, FALSE));
		return TRUE;
	case 1:
		return mp_tree_set_text (
			tree, leaf_new ("text.txt", "plain text\n", NULL, TRUE),
			error);
	default: {
		const char *html = "<p><img src=\"cid:img1@fuzz\"></p>\n";

		if (!mp_tree_set_html (tree,
				       leaf_new ("page.html", html, NULL, TRUE),
				       html, error))
			return FALSE;
		return mp_tree_add_related (
			tree,
			leaf_new ("img.png", "\x89PNG\r\n", "img1@fuzz", TRUE),
			error);
	}
	}
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
	static gboolean initialised;
	g_autoptr (MpInput) in = NULL;
	g_autoptr (MpTree) tree = NULL;
	g_autoptr (GError) error = NULL;
	off_t written;

	if (!initialised) {
		/* the tree writes to stdout: make it a memory file we read */
		out_fd = memfd_create ("out", MFD_CLOEXEC);
		if (out_fd < 0 || dup2 (out_fd, STDOUT_FILENO) < 0)
			abort ();
		g_mime_init ();
		initialised = TRUE;
	}
	if (size < 1)
		return 0;
	in = input_new ("message", data + 1, size - 1);
	tree = mp_tree_new (in, "fuzz", &error);
	if (tree == NULL)
		return 0;
	if (!edit (tree, data[0], &error)) {
		if (error == NULL)
			abort ();
		return 0;
	}

	if (ftruncate (STDOUT_FILENO, 0) < 0 ||
	    lseek (STDOUT_FILENO, 0, SEEK_SET) != 0)
		abort ();
	{
		g_autoptr (MpOutput) out = mp_output_open (NULL, FALSE, NULL);

		if (!mp_tree_write (tree, out, &error) ||
		    !mp_output_close (out, &error)) {
			/* a dangling or unlinked cid: may stop the write */
			if (error == NULL || error->domain != MP_ERROR ||
			    error->code != MP_ERROR_DATA)
				abort ();
			return 0;
		}
	}
	written = lseek (STDOUT_FILENO, 0, SEEK_CUR);
	if (written <= 0)
		abort ();

	/* what we wrote reads back as a whole message */
	{
		g_autofree char *buf = g_malloc ((gsize) written);
		g_autoptr (MpInput) again = NULL;
		g_autoptr (MpTree) t2 = NULL;
		g_autoptr (GError) e2 = NULL;

		if (pread (STDOUT_FILENO, buf, (gsize) written, 0) != written)
			abort ();
		again = input_new ("output", buf, (gsize) written);
		t2 = mp_tree_new (again, "fuzz", &e2);
		if (t2 == NULL) {
			fprintf (stderr, "output not readable: %s\n",
				 e2->message);
			abort ();
		}
	}
	return 0;
}
