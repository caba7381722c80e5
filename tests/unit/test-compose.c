/* mp-compose: a message from options: the fields, the encodings, the
 * alternative, the Date and Message-ID rules. */
#include "mp-compose.h"
#include "mp-error.h"

#include <gmime/gmime.h>
#include <string.h>
#include <unistd.h>

typedef struct {
	const char *headers[8]; /* "Name: value" */
	const char *text, *html;
	const char *date, *seed;
	gboolean no_message_id, html_only, allow_8bit;
} Input;

static GMimeStream *
mem_stream (const char *s)
{
	return g_mime_stream_mem_new_with_buffer (s, strlen (s));
}

/* The message @in gives, as bytes (NULL and @error set on failure). */
static char *
compose (const Input *in, GError **error)
{
	g_autoptr (MpCompose) c = mp_compose_new ();
	g_autoptr (MpRandom) random = mp_random_new (in->seed ? in->seed : "s");
	g_autoptr (MpWriter) out = NULL;
	g_autoptr (GBytes) tb = NULL;
	g_autoptr (GBytes) hb = NULL;
	MpInput *text = NULL, *html = NULL;
	g_autofree char *dir = g_dir_make_tmp ("test-compose-XXXXXX", NULL);
	g_autofree char *path = g_build_filename (dir, "m.eml", NULL);
	char *bytes = NULL;

	for (guint i = 0; in->headers[i]; i++) {
		g_auto (GStrv) nv = g_strsplit (in->headers[i], ": ", 2);

		if (!mp_compose_add_header (c, nv[0], nv[1], error))
			goto out;
	}
	if (in->date && !mp_compose_set_date (c, in->date, error))
		goto out;
	mp_compose_set_message_id (c, !in->no_message_id);
	mp_compose_set_text_options (c, NULL, in->allow_8bit);
	mp_compose_set_html_only (c, in->html_only);
	if (in->text) {
		tb = g_bytes_new_static (in->text, strlen (in->text));
		text = mp_input_new_plain_bytes (tb, "body");
		mp_compose_set_text (c, text, "body");
	}
	if (in->html) {
		hb = g_bytes_new_static (in->html, strlen (in->html));
		html = mp_input_new_plain_bytes (hb, "page.html");
		mp_compose_set_html (c, html, "page.html");
	}
	out = mp_writer_open (path, FALSE, error);
	if (out && mp_compose_write (c, random, out, error) &&
	    mp_writer_close (out, error))
		g_assert_true (g_file_get_contents (path, &bytes, NULL, NULL));
out:
	mp_input_free_plain (text);
	mp_input_free_plain (html);
	unlink (path);
	rmdir (dir);
	return bytes;
}

static GMimeMessage *
parse (const char *bytes)
{
	g_autoptr (GMimeStream) s = mem_stream (bytes);
	g_autoptr (GMimeParser) p = g_mime_parser_new_with_stream (s);

	return g_mime_parser_construct_message (p, NULL);
}

/* The header block (up to the blank line), for exact comparisons. */
static char *
header_block (const char *bytes)
{
	const char *end = strstr (bytes, "\n\n");

	return g_strndup (bytes, end ? (gsize) (end - bytes + 1) : 0);
}

static void
test_fields_in_order_and_encoded (void)
{
	static const Input in = {
		.headers = { "From: Ann Müller <ann@example.org>",
			     "To: Zoë <zoe@bücher.example>, bob@example.com",
			     "Cc: c@example.org", "Subject: Report 季度报告",
			     "X-Custom: one", "In-Reply-To: <a@b>",
			     "References: <x@y>", NULL },
		.text = "Hello\n",
		.date = "@1700000000",
		.no_message_id = TRUE,
	};
	g_autoptr (GError) error = NULL;
	g_autofree char *m = compose (&in, &error);
	g_autofree char *h = NULL;

	g_assert_no_error (error);
	h = header_block (m);
	g_assert_cmpstr (
		h, ==,
		"Date: Tue, 14 Nov 2023 22:13:20 +0000\n"
		"From: =?UTF-8?Q?Ann_M=C3=BCller?= <ann@example.org>\n"
		"To: =?UTF-8?Q?Zo=C3=AB?= <zoe@xn--bcher-kva.example>, "
		"bob@example.com\n"
		"Cc: c@example.org\n"
		"Subject: Report =?UTF-8?B?5a2j5bqm5oql5ZGK?=\n"
		"X-Custom: one\n"
		"In-Reply-To: <a@b>\n"
		"References: <x@y>\n"
		"MIME-Version: 1.0\n"
		"Content-Type: text/plain; charset=utf-8\n"
		"Content-Transfer-Encoding: 7bit\n");
}

/* DESIGN 4: 7bit when it is; quoted-printable for mostly ASCII; base64
 * for mostly non-ASCII; 8bit only when allowed; long lines never raw */
static void
test_body_encodings (void)
{
	static const struct {
		const char *text;
		gboolean allow_8bit;
		GMimeContentEncoding want;
	} cases[] = {
		{ "plain ASCII\n", FALSE, GMIME_CONTENT_ENCODING_7BIT },
		{ "Grüße aus Köln, the rest in ASCII\n", FALSE,
		  GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE },
		{ "季度报告见附件。季度报告见附件。\n", FALSE,
		  GMIME_CONTENT_ENCODING_BASE64 },
		{ "Grüße aus Köln\n", TRUE, GMIME_CONTENT_ENCODING_8BIT },
		{ "plain ASCII\n", TRUE, GMIME_CONTENT_ENCODING_7BIT },
	};

	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		Input in = {
			.headers = { "From: a@example.org", NULL },
			.text = cases[i].text,
			.allow_8bit = cases[i].allow_8bit,
		};
		g_autoptr (GError) error = NULL;
		g_autofree char *m = compose (&in, &error);
		g_autoptr (GMimeMessage) msg = NULL;
		GMimeObject *body;

		g_assert_no_error (error);
		msg = parse (m);
		body = g_mime_message_get_mime_part (msg);
		g_assert_true (GMIME_IS_TEXT_PART (body));
		g_assert_cmpint (
			g_mime_part_get_content_encoding (GMIME_PART (body)),
			==, cases[i].want);
		g_assert_cmpstr (
			g_mime_text_part_get_charset (GMIME_TEXT_PART (body)),
			==, "utf-8");
	}
}

/* The body's shape: text alone, HTML with text (the richer last, RFC
 * 2046 5.1.4), HTML alone with a rendered text, HTML only */
static void
test_alternative (void)
{
	static const struct {
		const char *text, *html;
		gboolean html_only;
		const char *types[3]; /* top, then the parts */
		const char *format;   /* the text part's format= */
	} cases[] = {
		{ "t\n", NULL, FALSE, { "text/plain" }, NULL },
		{ "t\n",
		  "<p>h</p>",
		  FALSE,
		  { "multipart/alternative", "text/plain", "text/html" },
		  NULL },
		{ NULL,
		  "<p>rendered</p>",
		  FALSE,
		  { "multipart/alternative", "text/plain", "text/html" },
		  "flowed" },
		{ NULL, "<p>h</p>", TRUE, { "text/html" }, NULL },
	};

	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		Input in = {
			.headers = { "From: a@example.org", NULL },
			.text = cases[i].text,
			.html = cases[i].html,
			.html_only = cases[i].html_only,
		};
		g_autoptr (GError) error = NULL;
		g_autofree char *m = compose (&in, &error);
		g_autoptr (GMimeMessage) msg = NULL;
		GMimeObject *body, *text;
		g_autofree char *top = NULL;

		g_assert_no_error (error);
		msg = parse (m);
		body = g_mime_message_get_mime_part (msg);
		top = g_mime_content_type_get_mime_type (
			g_mime_object_get_content_type (body));
		g_assert_cmpstr (top, ==, cases[i].types[0]);
		if (cases[i].types[1] == NULL)
			continue;
		g_assert_cmpint (
			g_mime_multipart_get_count (GMIME_MULTIPART (body)), ==,
			2);
		for (int j = 0; j < 2; j++) {
			GMimeObject *p = g_mime_multipart_get_part (
				GMIME_MULTIPART (body), j);
			g_autofree char *type =
				g_mime_content_type_get_mime_type (
					g_mime_object_get_content_type (p));

			g_assert_cmpstr (type, ==, cases[i].types[j + 1]);
		}
		text = g_mime_multipart_get_part (GMIME_MULTIPART (body), 0);
		g_assert_cmpstr (g_mime_object_get_content_type_parameter (
					 text, "format"),
				 ==, cases[i].format);
		if (cases[i].format) {
			g_autofree char *t = g_mime_text_part_get_text (
				GMIME_TEXT_PART (text));

			g_assert_nonnull (strstr (t, "rendered"));
		}
	}
}

/* Date: --date as given (in its zone), else SOURCE_DATE_EPOCH in UTC */
static void
test_date_rules (void)
{
	static const struct {
		const char *date, *epoch, *want;
	} cases[] = {
		{ "@1700000000", NULL,
		  "Date: Tue, 14 Nov 2023 22:13:20 +0000\n" },
		{ "Tue, 14 Nov 2023 23:13:20 +0100", "1",
		  "Date: Tue, 14 Nov 2023 23:13:20 +0100\n" },
		{ NULL, "86400", "Date: Fri, 2 Jan 1970 00:00:00 +0000\n" },
	};

	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		Input in = {
			.headers = { "From: a@example.org", NULL },
			.text = "t\n",
			.date = cases[i].date,
		};
		g_autoptr (GError) error = NULL;
		g_autofree char *m = NULL;

		g_setenv ("SOURCE_DATE_EPOCH",
			  cases[i].epoch ? cases[i].epoch : "", TRUE);
		m = compose (&in, &error);
		g_assert_no_error (error);
		g_assert_true (g_str_has_prefix (m, cases[i].want));
	}
	g_unsetenv ("SOURCE_DATE_EPOCH");
}

/* Message-ID: at the domain of the first From mailbox (as an A-label),
 * the one given, or none; the same inputs and seed give the same one,
 * another body another */
static void
test_message_id_rules (void)
{
	static const struct {
		const char *from, *mid, *text;
		gboolean none;
		const char *want_suffix; /* NULL: no Message-ID */
	} cases[] = {
		{ "Ann <ann@example.org>", NULL, "t\n", FALSE,
		  "@example.org>" },
		{ "zoe@bücher.example", NULL, "t\n", FALSE,
		  "@xn--bcher-kva.example>" },
		{ "list: ann@example.net;", NULL, "t\n", FALSE,
		  "@example.net>" },
		{ "a@example.org", "<given@here>", "t\n", FALSE,
		  "<given@here>" },
		{ "a@example.org", NULL, "t\n", TRUE, NULL },
	};

	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autofree char *from =
			g_strconcat ("From: ", cases[i].from, NULL);
		g_autofree char *mid =
			cases[i].mid ?
				g_strconcat ("Message-ID: ", cases[i].mid,
					     NULL) :
				NULL;
		Input in = {
			.headers = { from, mid, NULL },
			.text = cases[i].text,
			.date = "@0",
			.no_message_id = cases[i].none,
		};
		g_autoptr (GError) error = NULL;
		g_autofree char *m = compose (&in, &error);
		g_autoptr (GMimeMessage) msg = NULL;
		const char *got;

		g_assert_no_error (error);
		msg = parse (m);
		got = g_mime_object_get_header (GMIME_OBJECT (msg),
						"Message-ID");
		if (cases[i].want_suffix == NULL) {
			g_assert_null (got);
			continue;
		}
		g_assert_nonnull (got);
		g_assert_true (g_str_has_suffix (got, cases[i].want_suffix));
	}
}

static void
test_reproducible (void)
{
	Input a = { .headers = { "From: a@example.org", NULL },
		    .text = "one\n",
		    .html = "<p>x</p>",
		    .date = "@0",
		    .seed = "seed" };
	Input b = a;
	g_autoptr (GError) error = NULL;
	g_autofree char *m1 = compose (&a, &error);
	g_autofree char *m2 = compose (&a, &error);
	g_autofree char *m3 = NULL;

	g_assert_no_error (error);
	g_assert_cmpstr (m1, ==, m2);
	b.text = "two\n";
	m3 = compose (&b, &error);
	g_assert_no_error (error);
	/* another body: another Message-ID and boundary */
	g_assert_cmpstr (m1, !=, m3);
	g_assert_null (strstr (m3, strstr (m1, "Message-ID: ")));
}

static void
test_sender_rules (void)
{
	static const struct {
		const char *headers[4];
		gboolean sender_written;
	} cases[] = {
		/* the one author: no Sender */
		{ { "From: a@example.org", "Sender: a@EXAMPLE.org", NULL },
		  FALSE },
		{ { "From: a@example.org", "Sender: s@example.org", NULL },
		  TRUE },
		{ { "From: a@example.org, b@example.org",
		    "Sender: a@example.org", NULL },
		  TRUE },
	};

	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		Input in = { .text = "t\n", .no_message_id = TRUE };
		g_autoptr (GError) error = NULL;
		g_autofree char *m = NULL;
		g_autofree char *h = NULL;

		memcpy (in.headers, cases[i].headers, sizeof cases[i].headers);
		m = compose (&in, &error);
		g_assert_no_error (error);
		h = header_block (m);
		g_assert_true ((strstr (h, "\nSender: ") != NULL) ==
			       cases[i].sender_written);
	}
}

static void
test_refused (void)
{
	static const struct {
		const char *headers[4];
		const char *date;
		int code;
		const char *says;
	} cases[] = {
		{ { "To: b@example.org", NULL },
		  NULL,
		  MP_ERROR_USAGE,
		  "give --from" },
		{ { "From: a@example.org, b@example.org", NULL },
		  NULL,
		  MP_ERROR_DATA,
		  "need a Sender" },
		{ { "From: a@example.org",
		    "Sender: a@example.org, "
		    "b@example.org",
		    NULL },
		  NULL,
		  MP_ERROR_DATA,
		  "exactly one mailbox" },
		{ { "Content-Type: text/html", NULL },
		  NULL,
		  MP_ERROR_USAGE,
		  "Content-Type" },
		{ { "MIME-Version: 1.0", NULL },
		  NULL,
		  MP_ERROR_USAGE,
		  "MIME-Version" },
		{ { "From: a@example.org", NULL },
		  "yesterday",
		  MP_ERROR_USAGE,
		  "not a date" },
		{ { "To: not an address <", NULL }, NULL, MP_ERROR_DATA, "To" },
		{ { "Message-ID: no brackets", NULL },
		  NULL,
		  MP_ERROR_DATA,
		  "Message-ID" },
		/* the steps of mp_compose_add_header and mp_compose_write:
		 * a From or Sender of an empty group, a bad In-Reply-To or
		 * References, a bad Cc after a good From, a field of the body
		 * in any case */
		{ { "From: undisclosed:;", NULL },
		  NULL,
		  MP_ERROR_DATA,
		  "From: no mailbox given" },
		{ { "From: a@example.org", "Sender: nobody:;", NULL },
		  NULL,
		  MP_ERROR_DATA,
		  "Sender: must be exactly one mailbox" },
		{ { "From: a@example.org", "In-Reply-To: x", NULL },
		  NULL,
		  MP_ERROR_DATA,
		  "In-Reply-To" },
		{ { "From: a@example.org", "References: <a@b> y", NULL },
		  NULL,
		  MP_ERROR_DATA,
		  "References" },
		{ { "From: a@example.org", "Cc: c@d, <", NULL },
		  NULL,
		  MP_ERROR_DATA,
		  "Cc" },
		{ { "From: a@example.org", "content-transfer-encoding: 8bit",
		    NULL },
		  NULL,
		  MP_ERROR_USAGE,
		  "content-transfer-encoding: set by mime-compose from the "
		  "body (see --charset, --html, --8bit)" },
	};

	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		Input in = { .text = "t\n", .date = cases[i].date };
		g_autoptr (GError) error = NULL;
		g_autofree char *m = NULL;

		memcpy (in.headers, cases[i].headers, sizeof cases[i].headers);
		m = compose (&in, &error);
		g_test_message ("case %u: %s", i,
				error ? error->message : "(none)");
		g_assert_null (m);
		g_assert_error (error, MP_ERROR, cases[i].code);
		g_assert_nonnull (strstr (error->message, cases[i].says));
	}
}

/* A draft: its headers go through the same checks, the body follows */
static void
test_draft (void)
{
	static const char draft[] = "To: Zoë <zoe@example.org>\n"
				    "Subject: Draft\n"
				    " continued\n"
				    "X-Empty:\n"
				    "\n"
				    "Body\n";
	g_autoptr (MpCompose) c = mp_compose_new ();
	g_autoptr (GBytes) in = g_bytes_new_static (draft, strlen (draft));
	g_autoptr (GBytes) bad = g_bytes_new_static ("no colon\n\nb", 11);
	g_autoptr (GError) error = NULL;
	g_autoptr (GBytes) body = mp_compose_read_draft (c, in, &error);
	g_autoptr (GBytes) none = NULL;

	g_assert_no_error (error);
	g_assert_cmpmem (g_bytes_get_data (body, NULL), g_bytes_get_size (body),
			 "Body\n", 5);
	none = mp_compose_read_draft (c, bad, &error);
	g_assert_null (none);
	g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
	g_assert_nonnull (strstr (error->message, "draft line 1"));
}


int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_mime_init ();
	g_setenv ("TZ", "UTC", TRUE);
	g_test_add_func ("/compose/fields-in-order-and-encoded",
			 test_fields_in_order_and_encoded);
	g_test_add_func ("/compose/body-encodings", test_body_encodings);
	g_test_add_func ("/compose/alternative", test_alternative);
	g_test_add_func ("/compose/date-rules", test_date_rules);
	g_test_add_func ("/compose/message-id-rules", test_message_id_rules);
	g_test_add_func ("/compose/reproducible", test_reproducible);
	g_test_add_func ("/compose/sender-rules", test_sender_rules);
	g_test_add_func ("/compose/refused", test_refused);
	g_test_add_func ("/compose/draft", test_draft);
	return g_test_run ();
}
