/* mime-extract: parts of a message, decoded, into a folder under safe
 * names that never overwrite, or one part to stdout (DESIGN 5). */
#include "mp-cli.h"
#include "mp-error.h"
#include "mp-extract.h"
#include "mp-io.h"

#include <stdio.h>
#include <string.h>

static MpExtractRequest req;
static char *dir;
static gboolean dry_run, verbose;

static const GOptionEntry entries[] = {
	{ "part", 0, 0, G_OPTION_ARG_STRING_ARRAY, &req.parts,
	  "The part with this IMAP section number (repeatable)", "N" },
	{ "filename", 0, 0, G_OPTION_ARG_STRING_ARRAY, &req.filenames,
	  "Parts whose file name matches GLOB (repeatable)", "GLOB" },
	{ "type", 0, 0, G_OPTION_ARG_STRING_ARRAY, &req.types,
	  "Parts whose content type matches GLOB (repeatable)", "GLOB" },
	{ "attachments", 0, 0, G_OPTION_ARG_NONE, &req.attachments,
	  "Only attachments", NULL },
	{ "directory", 'C', 0, G_OPTION_ARG_FILENAME, &dir,
	  "Write the files into DIR (default: the current directory)", "DIR" },
	{ "force", 0, 0, G_OPTION_ARG_NONE, &req.force,
	  "Replace existing files instead of choosing new names", NULL },
	{ "dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run,
	  "Print the parts and names that would be written; write nothing",
	  NULL },
	{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose,
	  "Print each part and file written on stderr", NULL },
	{ NULL }
};

static void
print_list (FILE *f, GPtrArray *done)
{
	guint i;

	for (i = 0; i < done->len; i++) {
		MpExtracted *e = done->pdata[i];

		fprintf (f, "%s\t%s\n", e->section, e->name);
	}
}

int
main (int argc, char **argv)
{
	static MpCliCommon common; /* static: its strings stay reachable */
	g_autoptr (GError) error = NULL;
	g_autoptr (MpInput) in = NULL;
	g_autoptr (MpShow) show = NULL;
	g_autoptr (GPtrArray) chosen = NULL;
	g_autoptr (GPtrArray) done = NULL;
	g_autofree char *missing = NULL;

	mp_cli_init ("mime-extract");
	if (!mp_cli_parse_operands (
		    entries, "[FILE]",
		    "Write parts of the message in FILE (or on stdin), "
		    "decoded, into a folder\nunder safe names that "
		    "never overwrite a file, or one part to -o FILE.",
		    FALSE, 1, &common, &argc, &argv, &error))
		return mp_cli_fail (g_steal_pointer (&error));
	if (common.output && dir) {
		g_set_error_literal (&error, MP_ERROR, MP_ERROR_USAGE,
				     "-o and -C exclude each other");
		return mp_cli_fail (g_steal_pointer (&error));
	}
	in = mp_input_open (argc == 2 ? argv[1] : NULL, &error);
	if (in == NULL)
		return mp_cli_fail (g_steal_pointer (&error));
	show = mp_show_new (in, FALSE, &error);
	if (show == NULL)
		return mp_cli_fail (g_steal_pointer (&error));
	chosen = mp_extract_select (show, &req, &missing, &error);
	if (chosen == NULL && missing) {
		fprintf (stderr, "mime-extract: part %s: no such part\n",
			 missing);
		return 1;
	}
	if (chosen == NULL)
		return mp_cli_fail (g_steal_pointer (&error));
	if (chosen->len == 0) {
		fprintf (stderr, "mime-extract: no part matches\n");
		return 1;
	}

	if (common.output) {
		MpShowPart *part = chosen->pdata[0];
		g_autoptr (MpOutput) out = NULL;

		if (chosen->len > 1) {
			g_set_error (&error, MP_ERROR, MP_ERROR_USAGE,
				     "%u parts match; -o writes one (choose "
				     "with --part, or use -C DIR)",
				     chosen->len);
			return mp_cli_fail (g_steal_pointer (&error));
		}
		if (dry_run) {
			printf ("%s\t%s\n", part->section, common.output);
			return 0;
		}
		out = mp_output_open (common.output, FALSE, &error);
		if (out == NULL || !mp_extract_to_output (part, out, &error) ||
		    !mp_output_close (out, &error))
			return mp_cli_fail (g_steal_pointer (&error));
		if (verbose)
			fprintf (stderr, "%s\t%s\n", part->section,
				 common.output);
		return 0;
	}

	done = mp_extract_to_dir (chosen, dir, &req, dry_run, &error);
	if (done == NULL)
		return mp_cli_fail (g_steal_pointer (&error));
	if (dry_run || verbose)
		print_list (dry_run ? stdout : stderr, done);
	if (fflush (stdout) != 0) {
		perror ("mime-extract: stdout");
		return 74;
	}
	return 0;
}
