#include "mp-cli.h"
#include "mp-error.h"

#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

void
mp_cli_init_plain (const char *prog)
{
	/* only what a command reads from the locale: the character set
	 * (LC_CTYPE) and the language of the messages of GLib and the C
	 * library (LC_MESSAGES).  Dates, numbers and sorting stay C: what
	 * we write follows the RFCs, not the user's conventions, and
	 * LC_ALL would open a file per category at every start (issue 21) */
	setlocale (LC_CTYPE, "");
	setlocale (LC_MESSAGES, "");
	/* arguments, file names and header values are UTF-8 whatever the
	 * locale (cron, systemd, env -i run in C): with a locale whose
	 * character set is not UTF-8, read and print text as C.UTF-8 does
	 * (GLib would otherwise convert to and from ASCII) */
	if (!g_get_charset (NULL))
		setlocale (LC_CTYPE, "C.UTF-8");
	g_set_prgname (prog);
	signal (SIGPIPE, SIG_IGN);
}

/* The entries of the current mp_cli_parse_operands(), as given: GOption
 * converts string values from the locale's character set, so
 * mp_cli_parse_operands() hands it a copy where they are raw bytes
 * (FILENAME kinds) and checks them itself; callbacks go through
 * check_callback(), which finds the original entry by the option's
 * name. */
static const GOptionEntry *parse_entries;

static const GOptionEntry *
find_entry (const char *option_name)
{
	const GOptionEntry *e;

	for (e = parse_entries; e && e->long_name; e++) {
		if (option_name[0] != '-') {
			/* G_OPTION_REMAINING: the operands */
			if (*e->long_name == '\0')
				return e;
		} else if (option_name[1] == '-') {
			if (strcmp (option_name + 2, e->long_name) == 0)
				return e;
		} else if (e->short_name != 0 &&
			   option_name[1] == e->short_name) {
			return e;
		}
	}
	return NULL;
}

/* @option is the option as given ("--name"), or its long name alone
 * when @dashes (the name is then formatted only for the error). */
static gboolean
check_utf8 (const char *option, gboolean dashes, const char *value,
	    GError **error)
{
	const char *end;

	if (value == NULL || g_utf8_validate (value, -1, &end))
		return TRUE;
	g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
		     "%s%s: the value is not valid UTF-8 (at byte %u)",
		     dashes ? "--" : "", option, (guint) (end - value));
	return FALSE;
}

static gboolean
check_callback (const char *option_name, const char *value, gpointer data,
		GError **error)
{
	const GOptionEntry *e = find_entry (option_name);
	GOptionArgFunc func;

	g_return_val_if_fail (e != NULL, FALSE);
	if (!(e->flags & G_OPTION_FLAG_FILENAME) &&
	    !check_utf8 (option_name, FALSE, value, error))
		return FALSE;
	func = (GOptionArgFunc) e->arg_data;
	return func (option_name, value, data, error);
}

/* A copy of @entries that GOption does not convert (see parse_entries). */
static GOptionEntry *
raw_entries (const GOptionEntry *entries)
{
	gsize n = 0, i;
	GOptionEntry *copy;

	while (entries[n].long_name)
		n++;
	copy = g_new0 (GOptionEntry, n + 1);
	for (i = 0; i < n; i++) {
		copy[i] = entries[i];
		switch (entries[i].arg) {
		case G_OPTION_ARG_STRING:
			copy[i].arg = G_OPTION_ARG_FILENAME;
			break;
		case G_OPTION_ARG_STRING_ARRAY:
			copy[i].arg = G_OPTION_ARG_FILENAME_ARRAY;
			break;
		case G_OPTION_ARG_CALLBACK:
			copy[i].flags |= G_OPTION_FLAG_FILENAME;
			copy[i].arg_data = (gpointer) check_callback;
			break;
		default:
			break;
		}
	}
	return copy;
}

/* Checks what GOption stored for the string options of @entries. */
static gboolean
check_string_values (const GOptionEntry *entries, GError **error)
{
	const GOptionEntry *e;

	for (e = entries; e->long_name; e++) {
		const char *option = e->long_name;

		if (e->arg == G_OPTION_ARG_STRING) {
			if (!check_utf8 (option, TRUE, *(char **) e->arg_data,
					 error))
				return FALSE;
		} else if (e->arg == G_OPTION_ARG_STRING_ARRAY) {
			char **v = *(char ***) e->arg_data;

			for (; v && *v; v++)
				if (!check_utf8 (option, TRUE, *v, error))
					return FALSE;
		}
	}
	return TRUE;
}

gboolean
mp_cli_parse_operands (const GOptionEntry *entries,
		       const char *parameter_string, const char *summary,
		       gboolean with_crlf, int max_operands,
		       MpCliCommon *common, int *argc, char ***argv,
		       GError **error)
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

	g_autofree GOptionEntry *raw = raw_entries (entries);
	gboolean parsed;

	g_option_context_set_summary (ctx, summary);
	g_option_context_add_main_entries (ctx, raw, NULL);
	g_option_context_add_main_entries (ctx, common_entries, NULL);
	parse_entries = entries;
	parsed = g_option_context_parse (ctx, argc, argv, error) &&
		 check_string_values (entries, error);
	parse_entries = NULL;
	if (!parsed) {
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
			exit (EX_IOERR);
		}
		exit (EX_OK);
	}
	if (!with_crlf && common->crlf) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--crlf is not supported by this command");
		return FALSE;
	}
	if (max_operands >= 0 && *argc - 1 > max_operands) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "%s: unexpected argument (at most %d operand%s, "
			     "see --help)",
			     (*argv)[max_operands + 1], max_operands,
			     max_operands == 1 ? "" : "s");
		return FALSE;
	}
	return TRUE;
}

static gboolean
must_escape (gunichar c)
{
	/* C0, DEL and C1 controls; line and paragraph separators; bidi
	 * overrides and isolates, which reorder what follows them */
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 ||
	       c == 0x2029 || (c >= 0x202a && c <= 0x202e) ||
	       (c >= 0x2066 && c <= 0x2069);
}

char *
mp_cli_escape (const char *text)
{
	GString *s = g_string_sized_new (strlen (text));
	const char *p = text;

	while (*p) {
		gunichar c = g_utf8_get_char_validated (p, -1);

		if (c == (gunichar) -1 || c == (gunichar) -2) {
			g_string_append_printf (s, "\\x%02x", (guchar) *p);
			p++;
			continue;
		}
		if (!must_escape (c))
			g_string_append_len (s, p, g_utf8_next_char (p) - p);
		else if (c == '\n')
			g_string_append (s, "\\n");
		else if (c == '\r')
			g_string_append (s, "\\r");
		else if (c == '\t')
			g_string_append (s, "\\t");
		else if (c < 0x80)
			g_string_append_printf (s, "\\x%02x", c);
		else
			g_string_append_printf (s, "\\u%04x", c);
		p = g_utf8_next_char (p);
	}
	return g_string_free (s, FALSE);
}

/* DESIGN 7: the one table from what went wrong to the exit code */
static int
class_exit_code (MpErrorCode class)
{
	switch (class) {
	case MP_ERROR_USAGE:
		return EX_USAGE;
	case MP_ERROR_DATA:
		return EX_DATAERR;
	case MP_ERROR_NO_INPUT:
		return EX_NOINPUT;
	case MP_ERROR_NO_USER:
		return EX_NOUSER;
	case MP_ERROR_NO_HOST:
		return EX_NOHOST;
	case MP_ERROR_UNAVAILABLE:
		return EX_UNAVAILABLE;
	case MP_ERROR_SOFTWARE:
		return EX_SOFTWARE;
	case MP_ERROR_OS:
		return EX_OSERR;
	case MP_ERROR_CANT_CREATE:
		return EX_CANTCREAT;
	case MP_ERROR_IO:
		return EX_IOERR;
	case MP_ERROR_TEMPFAIL:
		return EX_TEMPFAIL;
	case MP_ERROR_PROTOCOL:
		return EX_PROTOCOL;
	case MP_ERROR_NO_PERM:
		return EX_NOPERM;
	case MP_ERROR_CONFIG:
		return EX_CONFIG;
	}
	return EX_SOFTWARE;
}

int
mp_cli_exit_code (const GError *error)
{
	return error ? class_exit_code (mp_error_class (error)) : EX_OK;
}

int
mp_cli_fail (GError *error)
{
	int code = mp_cli_exit_code (error);
	g_autofree char *shown =
		mp_cli_escape (error ? error->message : "unknown error");

	/* a reader that stopped reading (`| head -1`) needs no message */
	if (g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_PIPE)) {
		g_clear_error (&error);
		return code;
	}
	/* DESIGN 7: what the message quotes came from outside (a file
	 * name, a header, a recipient): one line, and nothing a terminal
	 * would act on */
	fprintf (stderr, "%s: %s\n", g_get_prgname (), shown);
	g_clear_error (&error);
	return code;
}
