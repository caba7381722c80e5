/* mime-compose: write a new message from options and a body. */
#include "mp-cli.h"
#include "mp-compose.h"
#include "mp-error.h"
#include "mp-field.h"
#include "mp-html.h"

#include <unistd.h>

/* an input without a GMime stream (mp_input_open_plain()) */
typedef MpInput MpInputPlain;

static char **from, **to, **cc, **bcc, **reply_to, **sender, **headers,
	**references;
static char *subject, *in_reply_to, *html_file, *charset, *date, *seed,
	*message_id;
static gboolean allow_8bit, no_message_id, draft, no_text, template_mode;

static const GOptionEntry entries[] = {
	{ "from", 0, 0, G_OPTION_ARG_STRING_ARRAY, &from,
	  "Author address(es) (repeatable, comma lists)", "ADDR" },
	{ "to", 0, 0, G_OPTION_ARG_STRING_ARRAY, &to, "Recipient(s)", "ADDR" },
	{ "cc", 'c', 0, G_OPTION_ARG_STRING_ARRAY, &cc, "Copy recipient(s)",
	  "ADDR" },
	{ "bcc", 'b', 0, G_OPTION_ARG_STRING_ARRAY, &bcc,
	  "Blind copy recipient(s)", "ADDR" },
	{ "reply-to", 0, 0, G_OPTION_ARG_STRING_ARRAY, &reply_to,
	  "Where replies go", "ADDR" },
	{ "sender", 0, 0, G_OPTION_ARG_STRING_ARRAY, &sender,
	  "The one mailbox that sends (required with several From)", "ADDR" },
	{ "subject", 's', 0, G_OPTION_ARG_STRING, &subject, "The subject",
	  "TEXT" },
	{ "header", 'H', 0, G_OPTION_ARG_STRING_ARRAY, &headers,
	  "Add a header field (repeatable)", "'NAME: VALUE'" },
	{ "in-reply-to", 0, 0, G_OPTION_ARG_STRING, &in_reply_to,
	  "Message-ID of the message answered", "ID" },
	{ "references", 0, 0, G_OPTION_ARG_STRING_ARRAY, &references,
	  "Message-IDs of the thread (repeatable)", "ID" },
	{ "html", 0, 0, G_OPTION_ARG_FILENAME, &html_file,
	  "HTML body; the text alternative is the text body, or rendered "
	  "from the HTML",
	  "FILE" },
	{ "no-text", 0, 0, G_OPTION_ARG_NONE, &no_text,
	  "With --html and no text body: HTML only, no rendered text", NULL },
	{ "charset", 0, 0, G_OPTION_ARG_STRING, &charset,
	  "Charset of the body files (default: UTF-8, validated)", "CHARSET" },
	{ "8bit", 0, 0, G_OPTION_ARG_NONE, &allow_8bit,
	  "Allow 8bit transfer encoding for text", NULL },
	{ "date", 0, 0, G_OPTION_ARG_STRING, &date,
	  "The date (RFC 5322, ISO 8601 or @SECONDS)", "DATE" },
	{ "seed", 0, 0, G_OPTION_ARG_STRING, &seed,
	  "Derive Message-ID and boundaries from SEED (reproducible)", "SEED" },
	{ "message-id", 0, 0, G_OPTION_ARG_STRING, &message_id,
	  "Use this Message-ID", "ID" },
	{ "no-message-id", 0, 0, G_OPTION_ARG_NONE, &no_message_id,
	  "Add no Message-ID", NULL },
	{ "template", 0, 0, G_OPTION_ARG_NONE, &template_mode,
	  "Make a template for mime-merge: {{column}} may stand for a "
	  "name or an address",
	  NULL },
	{ "draft", 0, 0, G_OPTION_ARG_NONE, &draft,
	  "The input is a draft: headers, a blank line, the body", NULL },
	{ NULL }
};

static gboolean
add_all (MpCompose *c, const char *name, char **values, GError **error)
{
	for (; values && *values; values++)
		if (!mp_compose_add_header (c, name, *values, error))
			return FALSE;
	return TRUE;
}

static gboolean
add_options (MpCompose *c, GError **error)
{
	char *single[] = { NULL, NULL };

	mp_compose_set_template (c, template_mode);
	if (!add_all (c, "From", from, error) ||
	    !add_all (c, "To", to, error) || !add_all (c, "Cc", cc, error) ||
	    !add_all (c, "Bcc", bcc, error) ||
	    !add_all (c, "Reply-To", reply_to, error) ||
	    !add_all (c, "Sender", sender, error) ||
	    !add_all (c, "References", references, error))
		return FALSE;
	single[0] = subject;
	if (!add_all (c, "Subject", single, error))
		return FALSE;
	single[0] = in_reply_to;
	if (!add_all (c, "In-Reply-To", single, error))
		return FALSE;
	single[0] = message_id;
	if (!add_all (c, "Message-ID", single, error))
		return FALSE;
	for (char **h = headers; h && *h; h++) {
		g_autofree char *name = NULL;
		g_autofree char *value = NULL;

		if (!mp_field_split (*h, &name, &value, error) ||
		    !mp_compose_add_header (c, name, value, error))
			return FALSE;
	}
	if (date && !mp_compose_set_date (c, date, error))
		return FALSE;
	if (no_message_id && message_id) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--message-id and --no-message-id conflict");
		return FALSE;
	}
	mp_compose_set_message_id (c, !no_message_id);
	mp_compose_set_text_options (c, charset, allow_8bit);
	return TRUE;
}

/* Images the HTML shows from local files are not in the message: only
 * mime-inline embeds them.  Say so rather than send broken images. */
static void
warn_local_images (MpInput *html_in)
{
	g_autoptr (GBytes) bytes = mp_input_read_plain (html_in, NULL);
	g_autoptr (GPtrArray) found = NULL;
	g_autofree char *html = NULL;
	g_autofree char *list = NULL;
	g_autofree char *name = NULL;
	g_autofree char *safe = NULL;
	char keep[0x83] = { 0 };

	if (bytes == NULL)
		return;
	/* an empty file's bytes may have no data at all */
	html = g_bytes_get_size (bytes) ?
		       g_strndup (g_bytes_get_data (bytes, NULL),
				  g_bytes_get_size (bytes)) :
		       g_strdup ("");
	found = mp_html_local_images (html);
	if (found->len == 0)
		return;
	g_ptr_array_add (found, NULL);
	list = g_strjoinv (", ", (char **) found->pdata);
	/* one line whatever the names hold: control characters escaped */
	for (guint i = 0x80; i <= 0xff; i++)
		keep[i - 0x80] = (char) i;
	keep[0x80] = '"';
	keep[0x81] = '\\';
	name = g_strescape (html_file, keep);
	safe = g_strescape (list, keep);
	g_printerr ("mime-compose: %s: warning: local images will not travel "
		    "with the message (%s); embed them with mime-inline "
		    "--html\n",
		    name, safe);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MpInputPlain, mp_input_free_plain)

static gboolean
compose (int argc, char **argv, MpCliCommon *common, GError **error)
{
	g_autoptr (MpCompose) c = mp_compose_new ();
	g_autoptr (MpRandom) random = NULL;
	g_autoptr (MpWriter) out = NULL;
	g_autoptr (MpInputPlain) body_in = NULL;
	g_autoptr (MpInputPlain) html_in = NULL;
	g_autoptr (MpInputPlain) draft_body = NULL;
	MpInput *body = NULL;
	const char *body_file = argc > 1 ? argv[1] : NULL;
	const char *body_name = body_file ? body_file : "stdin";

	/* every input is opened and checked before any output; bodies are
	 * read in windows when written, so memory stays bounded */
	if (html_file &&
	    (html_in = mp_input_open_plain (html_file, error)) == NULL)
		return FALSE;
	/* with --html and no body file, a terminal on stdin means HTML only */
	if (body_file || html_in == NULL || draft || !isatty (STDIN_FILENO)) {
		body_in = mp_input_open_plain (body_file, error);
		if (body_in == NULL)
			return FALSE;
		body = body_in;
	}
	if (draft) {
		g_autoptr (GBytes) all = mp_input_read_plain (body_in, error);
		g_autoptr (GBytes) rest = NULL;

		if (all == NULL)
			return FALSE;
		rest = mp_compose_read_draft (c, all, error);
		if (rest == NULL) {
			g_prefix_error (error, "%s: ", body_name);
			return FALSE;
		}
		draft_body = mp_input_new_plain_bytes (rest, body_name);
		body = draft_body;
	}
	if (!add_options (c, error))
		return FALSE;
	if (body && (html_in == NULL || mp_input_get_size (body) > 0))
		mp_compose_set_text (c, body, body_name);
	if (html_in) {
		mp_compose_set_html (c, html_in, html_file);
		mp_compose_set_html_only (c, no_text);
	}

	random = mp_random_new (seed);
	out = mp_writer_open (common->output, common->crlf, error);
	if (out == NULL)
		return FALSE;
	if (html_in)
		warn_local_images (html_in);
	return mp_compose_write (c, random, out, error) &&
	       mp_writer_close (out, error);
}

int
main (int argc, char **argv)
{
	static MpCliCommon common; /* static: its strings stay reachable */
	GError *error = NULL;

	mp_cli_init_plain ("mime-compose");
	if (!mp_cli_parse_operands (
		    entries, "[BODY-FILE]",
		    "Write a new message: headers from the options, "
		    "the body from BODY-FILE or stdin.",
		    TRUE, 1, &common, &argc, &argv, &error) ||
	    !compose (argc, argv, &common, &error))
		return mp_cli_fail (error);
	return 0;
}
