#include "mp-cli.h"
#include "mp-error.h"

#include <errno.h>
#include <gmime/gmime.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
mp_cli_init (const char *prog)
{
	setlocale (LC_ALL, "");
	g_set_prgname (prog);
	signal (SIGPIPE, SIG_IGN);
	g_mime_init ();
}

gboolean
mp_cli_parse (const GOptionEntry *entries, const char *parameter_string,
	      const char *summary, gboolean with_crlf, MpCliCommon *common,
	      int *argc, char ***argv, GError **error)
{
	g_autoptr (GOptionContext) ctx =
		g_option_context_new (parameter_string);
	const GOptionEntry common_entries[] = {
		{ "output", 'o', 0, G_OPTION_ARG_FILENAME, &common->output,
		  "Write to FILE (atomically) instead of stdout", "FILE" },
		{ "crlf", 0, with_crlf ? 0 : G_OPTION_FLAG_HIDDEN,
		  G_OPTION_ARG_NONE, &common->crlf, "Write CRLF line endings",
		  NULL },
		{ "version", 'V', 0, G_OPTION_ARG_NONE, &common->version,
		  "Show the version and exit", NULL },
		{ NULL }
	};

	g_option_context_set_summary (ctx, summary);
	g_option_context_add_main_entries (ctx, entries, NULL);
	g_option_context_add_main_entries (ctx, common_entries, NULL);
	if (!g_option_context_parse (ctx, argc, argv, error)) {
		if (*error && (*error)->domain != MP_ERROR) {
			GError *e = *error;

			*error = g_error_new (MP_ERROR, MP_ERROR_USAGE,
					      "%s (see --help)", e->message);
			g_error_free (e);
		}
		return FALSE;
	}
	/* GOption keeps the "--" that an argument starting with '-' follows
	 * (for a second parser): the operands are what comes after it */
	for (int i = 1; i < *argc; i++) {
		if (strcmp ((*argv)[i], "--") == 0) {
			memmove (*argv + i, *argv + i + 1,
				 (gsize) (*argc - i) * sizeof (char *));
			(*argc)--;
			break;
		}
	}
	if (common->version) {
		printf ("%s (mimepipe) %s\n", g_get_prgname (), MP_VERSION);
		if (fflush (stdout) != 0 || ferror (stdout)) {
			if (errno != EPIPE)
				fprintf (stderr, "%s: stdout: %s\n",
					 g_get_prgname (), g_strerror (errno));
			exit (74);
		}
		exit (0);
	}
	if (!with_crlf && common->crlf) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--crlf is not supported by this command");
		return FALSE;
	}
	return TRUE;
}

/* DESIGN 7: a message quotes what came from outside (a file name, a
 * header, a recipient): its control characters (C0, DEL, C1) and bytes
 * that are not UTF-8 are escaped, so it stays one line and cannot drive
 * the terminal */
static void
print_escaped (FILE *f, const char *s)
{
	while (*s != '\0') {
		gunichar c = g_utf8_get_char_validated (s, -1);
		const char *next;

		if (c == (gunichar) -1 || c == (gunichar) -2) {
			fprintf (f, "\\x%02x", (guchar) *s++);
			continue;
		}
		next = g_utf8_next_char (s);
		if (c == '\n')
			fputs ("\\n", f);
		else if (c == '\r')
			fputs ("\\r", f);
		else if (c == '\t')
			fputs ("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf (f, "\\x%02x", (guint) c);
		else if (c >= 0x80 && c < 0xa0)
			fprintf (f, "\\u%04x", (guint) c);
		else
			fwrite (s, 1, (gsize) (next - s), f);
		s = next;
	}
}

int
mp_cli_fail (GError *error)
{
	int code = mp_error_exit_code (error);

	/* a reader that stopped reading (`| head -1`) needs no message */
	if (g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_PIPE)) {
		g_clear_error (&error);
		return code;
	}
	fprintf (stderr, "%s: ", g_get_prgname ());
	print_escaped (stderr, error ? error->message : "unknown error");
	fputc ('\n', stderr);
	g_clear_error (&error);
	return code;
}
