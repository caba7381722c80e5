/* render-html: mp_render_html() on a file, for the tests under
 * tests/render and bench/run.
 *   render-html [--width N] [--plain] [--charset CS] FILE */
#include "mp-render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main (int argc, char **argv)
{
	MpRenderOptions opts = { 72, TRUE };
	const char *charset = NULL;
	g_autofree char *data = NULL;
	g_autofree char *text = NULL;
	g_autoptr (GError) error = NULL;
	gsize len;
	int i;

	for (i = 1; i < argc - 1; i++) {
		if (strcmp (argv[i], "--width") == 0 && i + 2 < argc)
			opts.width = (guint) atoi (argv[++i]);
		else if (strcmp (argv[i], "--plain") == 0)
			opts.flowed = FALSE;
		else if (strcmp (argv[i], "--charset") == 0 && i + 2 < argc)
			charset = argv[++i];
		else
			break;
	}
	if (i != argc - 1) {
		fprintf (stderr, "usage: render-html [--width N] [--plain] "
				 "[--charset CS] FILE\n");
		return 64;
	}
	if (!g_file_get_contents (argv[i], &data, &len, &error)) {
		fprintf (stderr, "render-html: %s\n", error->message);
		return 66;
	}
	text = mp_render_html (data, len, charset, &opts, &error);
	if (text == NULL) {
		fprintf (stderr, "render-html: %s\n", error->message);
		return 65;
	}
	fputs (text, stdout);
	return ferror (stdout) || fflush (stdout) ? 74 : 0;
}
