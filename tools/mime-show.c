/* mime-show: what a message holds: its main headers decoded, its parts
 * numbered as IMAP numbers them, and its readable text (DESIGN 5). */
#include "mp-cli.h"
#include "mp-error.h"
#include "mp-io.h"
#include "mp-show.h"

#include <string.h>

static char **header_lists;
static gboolean only_tree, only_text, json;

static const GOptionEntry entries[] = {
	{ "headers", 0, 0, G_OPTION_ARG_STRING_ARRAY, &header_lists,
	  "The header fields to show: a comma-separated list, 'all' or "
	  "'none' (default: From, To, Cc, Date, Subject)",
	  "LIST" },
	{ "tree", 0, 0, G_OPTION_ARG_NONE, &only_tree,
	  "Show only the tree of parts", NULL },
	{ "text", 0, 0, G_OPTION_ARG_NONE, &only_text,
	  "Show only the readable text", NULL },
	{ "json", 0, 0, G_OPTION_ARG_NONE, &json,
	  "Show the headers and the tree as JSON (schema in mime-show(1))",
	  NULL },
	{ NULL }
};

static const char *const main_headers[] = { "From", "To",      "Cc",
					    "Date", "Subject", NULL };

static gboolean
write_out (const char *data, gsize len, gpointer user_data, GError **error)
{
	return mp_output_write (user_data, data, len, error);
}

/* The field names --headers asks for; NULL for all. */
static char **
wanted_headers (gboolean *all)
{
	GPtrArray *names = g_ptr_array_new ();
	guint i, j;

	*all = FALSE;
	if (header_lists == NULL) {
		for (i = 0; main_headers[i]; i++)
			g_ptr_array_add (names, g_strdup (main_headers[i]));
	}
	for (i = 0; header_lists && header_lists[i]; i++) {
		g_auto (GStrv) split = g_strsplit (header_lists[i], ",", -1);

		for (j = 0; split[j]; j++) {
			char *n = g_strstrip (split[j]);

			if (g_ascii_strcasecmp (n, "all") == 0)
				*all = TRUE;
			else if (*n && g_ascii_strcasecmp (n, "none") != 0)
				g_ptr_array_add (names, g_strdup (n));
		}
	}
	g_ptr_array_add (names, NULL);
	return (char **) g_ptr_array_free (names, FALSE);
}

static gboolean
show_headers (MpShow *show, MpOutput *out, GError **error)
{
	gboolean all;
	g_auto (GStrv) names = wanted_headers (&all);
	g_autoptr (GPtrArray) h = mp_show_get_headers (
		show, all ? NULL : (const char *const *) names);
	g_autoptr (GString) s = g_string_new (NULL);
	guint i;

	if (!all && names[0] == NULL)
		return TRUE;
	for (i = 0; i + 1 < h->len; i += 2)
		g_string_append_printf (s, "%s: %s\n", (char *) h->pdata[i],
					(char *) h->pdata[i + 1]);
	g_string_append_c (s, '\n');
	return mp_output_write (out, s->str, s->len, error);
}

static gboolean
show_text (MpShow *show, MpOutput *out, GError **error)
{
	MpShowPart *text = mp_show_get_text_part (show);

	if (text == NULL)
		return TRUE;
	return mp_show_decode_text (text, write_out, out, error);
}

int
main (int argc, char **argv)
{
	static MpCliCommon common; /* static: its strings stay reachable */
	g_autoptr (GError) error = NULL;
	g_autoptr (MpInput) in = NULL;
	g_autoptr (MpShow) show = NULL;
	g_autoptr (MpOutput) out = NULL;
	gboolean ok;

	mp_cli_init ("mime-show");
	if (!mp_cli_parse_operands (
		    entries, "[FILE]",
		    "Show the message in FILE (or on stdin): its main "
		    "headers, its parts\nnumbered as IMAP numbers them, "
		    "and its text.",
		    FALSE, 1, &common, &argc, &argv, &error))
		return mp_cli_fail (g_steal_pointer (&error));
	if (only_tree + only_text + json > 1) {
		g_set_error_literal (&error, MP_ERROR, MP_ERROR_USAGE,
				     "--tree, --text and --json exclude each "
				     "other");
		return mp_cli_fail (g_steal_pointer (&error));
	}
	in = mp_input_open (argc == 2 ? argv[1] : NULL, &error);
	if (in == NULL)
		return mp_cli_fail (g_steal_pointer (&error));
	show = mp_show_new (in, TRUE, &error);
	if (show == NULL)
		return mp_cli_fail (g_steal_pointer (&error));
	out = mp_output_open (common.output, FALSE, &error);
	if (out == NULL)
		return mp_cli_fail (g_steal_pointer (&error));

	if (json)
		ok = mp_show_write_json (show, out, &error);
	else if (only_tree)
		ok = mp_show_write_tree (show, out, &error);
	else if (only_text)
		ok = show_text (show, out, &error);
	else
		ok = show_headers (show, out, &error) &&
		     mp_show_write_tree (show, out, &error) &&
		     mp_output_write (out, "\n", 1, &error) &&
		     show_text (show, out, &error);
	if (!ok || !mp_output_close (out, &error))
		return mp_cli_fail (g_steal_pointer (&error));
	g_strfreev (header_lists);
	return 0;
}
