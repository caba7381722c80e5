/* mime-merge: one message per row of a table, from a template message
 * (DESIGN 5). */
#include "mp-cli.h"
#include "mp-error.h"
#include "mp-merge.h"

#include <string.h>

int
main (int argc, char **argv)
{
	static MpCliCommon common; /* static: its strings stay reachable */
	MpMergeRequest req = { 0 };
	GError *error = NULL;
	char *encoding = NULL, *dir = NULL, *seed = NULL, *unsubscribe = NULL;
	char **attach = NULL;
	gboolean json = FALSE, dry_run = FALSE;
	int limit = 0;
	const GOptionEntry entries[] = {
		{ "encoding", 0, 0, G_OPTION_ARG_STRING, &encoding,
		  "DATA is CSV in ENCODING (e.g. windows-1252), not UTF-8",
		  "ENCODING" },
		{ "json", 0, 0, G_OPTION_ARG_NONE, &json,
		  "DATA is JSON lines (the default for .jsonl and .ndjson)",
		  NULL },
		{ "attach-column", 0, 0, G_OPTION_ARG_STRING_ARRAY, &attach,
		  "Attach the file the row names in COLUMN (repeatable)",
		  "COLUMN" },
		{ "unsubscribe", 0, 0, G_OPTION_ARG_STRING, &unsubscribe,
		  "Add one-click List-Unsubscribe (RFC 8058) with this "
		  "https URL, placeholders allowed",
		  "URL" },
		{ "seed", 0, 0, G_OPTION_ARG_STRING, &seed,
		  "Derive Message-IDs from SEED and the row number", "SEED" },
		{ "directory", 'C', 0, G_OPTION_ARG_FILENAME, &dir,
		  "Write one .eml file per row into DIR instead of an mbox",
		  "DIR" },
		{ "limit", 0, 0, G_OPTION_ARG_INT, &limit,
		  "Make only the first N messages", "N" },
		{ "dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run,
		  "Print a line per message that would be made", NULL },
		{ NULL }
	};
	int rc = 0;

	mp_cli_init ("mime-merge");
	if (!mp_cli_parse_operands (
		    entries, "TEMPLATE DATA",
		    "Make one message per row of DATA (CSV or JSON "
		    "lines) from the TEMPLATE message,\nfilling its "
		    "{{column}} placeholders; write an mboxrd stream "
		    "for smtp-send --mbox.",
		    FALSE, 2, &common, &argc, &argv, &error))
		return mp_cli_fail (error);
	if (argc < 3)
		return mp_cli_fail (g_error_new (MP_ERROR, MP_ERROR_USAGE,
						 "need TEMPLATE and DATA "
						 "(see --help)"));
	if (strcmp (argv[1], "-") == 0 && strcmp (argv[2], "-") == 0)
		return mp_cli_fail (g_error_new (MP_ERROR, MP_ERROR_USAGE,
						 "TEMPLATE and DATA cannot "
						 "both be stdin (-)"));
	if (limit < 0)
		return mp_cli_fail (g_error_new (MP_ERROR, MP_ERROR_USAGE,
						 "--limit: not a count: %d",
						 limit));
	req.template_path = argv[1];
	req.data_path = argv[2];
	req.encoding = encoding;
	req.json = json;
	req.output = common.output;
	req.dir = dir;
	req.limit = (guint) limit;
	req.dry_run = dry_run;
	req.options.seed = seed;
	req.options.unsubscribe = unsubscribe;
	req.options.attach_columns = (const char *const *) attach;
	if (!mp_merge_run (&req, &error))
		rc = mp_cli_fail (error);
	g_free (encoding);
	g_free (dir);
	g_free (seed);
	g_free (unsubscribe);
	g_strfreev (attach);
	g_free (common.output);
	return rc;
}
