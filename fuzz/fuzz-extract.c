/* libFuzzer harness for the reading path (mp-show, mp-extract): any bytes
 * as a message; every part decoded, the text rendered, the tree and the
 * JSON written, then every part extracted into a folder, which must then
 * hold only regular files with safe names (and nothing is written
 * elsewhere: the folder's parent stays empty). */
#include "mp-extract.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static gboolean
count (const char *data, gsize len, gpointer user_data, GError **error)
{
	*(gsize *) user_data += len;
	return TRUE;
}

static gboolean
utf8_clean (const char *data, gsize len, gpointer user_data, GError **error)
{
	gsize i;

	/* pieces may end inside a character: only controls are checked */
	for (i = 0; i < len; i++)
		if ((guchar) data[i] < 0x20 && data[i] != '\t' &&
		    data[i] != '\n')
			abort ();
	return TRUE;
}

/* Checks that @dir holds only regular files with safe names and empties
 * it. */
static void
check_and_empty (const char *dir)
{
	DIR *d = opendir (dir);
	struct dirent *e;

	if (d == NULL)
		abort ();
	while ((e = readdir (d)) != NULL) {
		g_autofree char *path = NULL;
		g_autofree char *safe = NULL;
		struct stat st;

		if (strcmp (e->d_name, ".") == 0 ||
		    strcmp (e->d_name, "..") == 0)
			continue;
		path = g_build_filename (dir, e->d_name, NULL);
		if (lstat (path, &st) != 0 || !S_ISREG (st.st_mode))
			abort ();
		/* a name mp_extract_safe_name() would keep as it is, or a
		 * numbered one */
		if (e->d_name[0] == '.' || e->d_name[0] == '-' ||
		    strlen (e->d_name) > MP_EXTRACT_NAME_MAX + 8)
			abort ();
		safe = mp_extract_safe_name (e->d_name);
		if (safe == NULL || strcmp (safe, e->d_name) != 0)
			abort ();
		unlink (path);
	}
	closedir (d);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
	static char *top, *dir;
	g_autoptr (MpInput) in = NULL;
	g_autoptr (MpShow) show = NULL;
	g_autoptr (MpOutput) out = NULL;
	g_autoptr (GPtrArray) chosen = NULL;
	g_autoptr (GPtrArray) done = NULL;
	MpExtractRequest req = { 0 };
	GPtrArray *parts;
	guint i;
	int fd;

	if (top == NULL) {
		int null = open ("/dev/null", O_WRONLY);

		g_mime_init ();
		dup2 (null, STDOUT_FILENO);
		close (null);
		top = g_dir_make_tmp ("fuzz-extract-XXXXXX", NULL);
		dir = g_build_filename (top, "out", NULL);
		if (top == NULL || mkdir (dir, 0700) != 0)
			abort ();
	}
	fd = memfd_create ("fuzz-extract", 0);
	if (fd < 0 || (size > 0 && write (fd, data, size) != (ssize_t) size))
		abort ();
	lseek (fd, 0, SEEK_SET);
	in = mp_input_open_fd (fd, "fuzz", NULL);
	if (in)
		show = mp_show_new (in, TRUE, NULL);
	if (show) {
		MpShowPart *text = mp_show_get_text_part (show);

		parts = mp_show_get_parts (show);
		for (i = 0; i < parts->len; i++) {
			MpShowPart *p = parts->pdata[i];
			gsize n = 0;

			if (p->kind != MP_SHOW_MULTIPART &&
			    mp_show_decode (p, count, &n, NULL) &&
			    p->kind != MP_SHOW_MESSAGE && (gint64) n != p->size)
				abort (); /* the size shown is the size written */
		}
		if (text)
			mp_show_decode_text (text, utf8_clean, NULL, NULL);
		out = mp_output_open (NULL, FALSE, NULL);
		if (out) {
			mp_show_write_tree (show, out, NULL);
			mp_show_write_json (show, out, NULL);
			g_ptr_array_unref (mp_show_get_headers (show, NULL));
		}
		chosen = mp_extract_select (show, &req, NULL, NULL);
		if (chosen)
			done = mp_extract_to_dir (chosen, dir, &req, FALSE,
						  NULL);
		check_and_empty (dir);
		/* nothing beside the folder */
		{
			g_autoptr (GDir) d = g_dir_open (top, 0, NULL);
			const char *name;

			while ((name = g_dir_read_name (d)) != NULL)
				if (strcmp (name, "out") != 0)
					abort ();
		}
	}
	g_clear_pointer (&show, mp_show_free);
	g_clear_pointer (&in, mp_input_free);
	close (fd);
	return 0;
}
