/* mp-field and mp-address: encoding, folding, address parsing, IDN, injection. */
#include "mp-charset.h"
#include "mp-cli.h"
#include "mp-date.h"
#include "mp-error.h"
#include "mp-field.h"

#include <string.h>

/* Every line of @field within the fold width (unless it is one unbreakable
 * word), every encoded word at most 75 characters (RFC 2047 2). */
static void
assert_well_formed (const char *field)
{
	g_auto (GStrv) lines = g_strsplit (field, "\n", -1);
	const char *p;

	g_assert_true (g_str_has_suffix (field, "\n"));
	for (guint i = 0; lines[i] && lines[i][0]; i++) {
		g_assert_cmpuint (strlen (lines[i]), <=, MP_FIELD_FOLD_WIDTH);
		if (i > 0)
			g_assert_true (lines[i][0] == ' ' ||
				       lines[i][0] == '\t');
	}
	for (p = strstr (field, "=?"); p; p = strstr (p + 2, "=?")) {
		const char *end = strstr (p + 2, "?=");
		g_assert_nonnull (end);
		/* skip over the charset and encoding markers */
		end = strstr (strchr (strchr (p + 2, '?') + 1, '?') + 1, "?=");
		g_assert_cmpint (end + 2 - p, <=, 75);
		p = end;
	}
	for (p = field; *p; p++)
		g_assert_true ((guchar) *p < 0x80);
}

/* A strict RFC 2047 reader for UTF-8 words, independent of GMime (whose
 * 3.2 decoder loses text when adjacent B words carry padding): whitespace
 * between two encoded words is dropped, other text kept. */
static char *
decode_value (const char *field)
{
	const char *colon = strchr (field, ':');
	g_autofree char *v = g_mime_utils_header_unfold (colon + 1);
	GString *out = g_string_new (NULL);
	const char *p = g_strstrip (v);
	gboolean last_encoded = FALSE;

	while (*p) {
		const char *ws = p;

		while (*p == ' ' || *p == '\t')
			p++;
		if (g_str_has_prefix (p, "=?UTF-8?")) {
			char kind = p[8];
			const char *text = p + 10;
			const char *end = strstr (text, "?=");
			g_autofree char *enc =
				g_strndup (text, (gsize) (end - text));

			g_assert_true (kind == 'B' || kind == 'Q');
			if (!last_encoded)
				g_string_append_len (out, ws, p - ws);
			if (kind == 'B') {
				gsize n;
				g_autofree guchar *d =
					g_base64_decode (enc, &n);
				g_string_append_len (out, (char *) d,
						     (gssize) n);
			} else {
				for (const char *c = enc; *c; c++) {
					if (*c == '_')
						g_string_append_c (out, ' ');
					else if (*c == '=') {
						g_string_append_c (
							out,
							(char) (g_ascii_xdigit_value (
									c[1]) *
									16 +
								g_ascii_xdigit_value (
									c[2])));
						c += 2;
					} else
						g_string_append_c (out, *c);
				}
			}
			p = end + 2;
			last_encoded = TRUE;
		} else {
			g_string_append_len (out, ws, p - ws);
			while (*p && *p != ' ' && *p != '\t')
				g_string_append_c (out, *p++);
			last_encoded = FALSE;
		}
	}
	return g_string_free (out, FALSE);
}

static const struct {
	const char *value;
	const char *expected; /* NULL: only check form and round trip */
} text_cases[] = {
	{ "plain ascii", "Subject: plain ascii\n" },
	{ "  spaced   out  ", "Subject: spaced   out\n" },
	{ "Grüße", "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\n" },
	{ "Quarterly report 季度报告",
	  "Subject: Quarterly report =?UTF-8?B?5a2j5bqm5oql5ZGK?=\n" },
	{ "re: Zoë and Jürgen went", "Subject: re: =?UTF-8?Q?Zo=C3=AB?= and "
				     "=?UTF-8?Q?J=C3=BCrgen?= went\n" },
	/* text a reader would decode must be encoded itself */
	{ "looks =?utf-8?q?x?= encoded", NULL },
	{ "Grüße aus Köln und eine sehr lange Betreffzeile mit vielen Umlauten "
	  "äöü äöü äöü äöü äöü äöü äöü äöü äöü äöü äöü äöü",
	  NULL },
	{ "季度报告季度报告季度报告季度报告季度报告季度报告季度报告季度报告季"
	  "度报告季度报告季度报告季度报告",
	  NULL },
	{ "a very long subject line made of plain words that must be folded "
	  "somewhere near the seventy-eighth column for old readers",
	  NULL },
	{ "😀 emoji 😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀", NULL },
	{ "tab\tinside", "Subject: tab\tinside\n" },
};

static void
test_format_text (void)
{
	for (guint i = 0; i < G_N_ELEMENTS (text_cases); i++) {
		g_autofree char *f =
			mp_field_format_text ("Subject", text_cases[i].value);
		g_autofree char *back = decode_value (f);
		g_autofree char *want =
			g_strstrip (g_strdup (text_cases[i].value));

		if (text_cases[i].expected)
			g_assert_cmpstr (f, ==, text_cases[i].expected);
		assert_well_formed (f);
		g_assert_cmpstr (back, ==, want);
	}
}

static void
test_encoded_looking_text_is_encoded (void)
{
	g_autofree char *f = mp_field_format_text ("Subject", "=?utf-8?q?x?=");

	g_assert_null (strstr (f, "=?utf-8?q?x?="));
}

static const struct {
	const char *value;
	const char *expected;
} addr_cases[] = {
	{ "bob@example.com", "To: bob@example.com\n" },
	{ "Bob <bob@example.com>", "To: Bob <bob@example.com>\n" },
	{ "\"Doe, John\" <j@example.com>",
	  "To: \"Doe, John\" <j@example.com>\n" },
	{ "John Q. Public <j@example.com>",
	  "To: \"John Q. Public\" <j@example.com>\n" },
	/* the display name is encoded, never the address (mmime's bug) */
	{ "Zoë <zoe@example.com>",
	  "To: =?UTF-8?Q?Zo=C3=AB?= <zoe@example.com>\n" },
	/* IDN domains as A-labels */
	{ "zoe@bücher.example", "To: zoe@xn--bcher-kva.example\n" },
	{ "a@example.com, b@example.com",
	  "To: a@example.com, b@example.com\n" },
	{ "Team: a@example.com, b@example.com;",
	  "To: Team: a@example.com, b@example.com;\n" },
	{ "undisclosed-recipients:;", "To: undisclosed-recipients:;\n" },
	{ "李小龙 <li@example.cn>",
	  "To: =?UTF-8?B?5p2O5bCP6b6Z?= <li@example.cn>\n" },
	{ "x@[192.0.2.1]", "To: x@[192.0.2.1]\n" },
	/* found by fuzz-header: GMime's own IDN conversion left this raw */
	{ "Zoë <zoe@b\xdb\xbc"
	  "cher.example>",
	  "To: =?UTF-8?Q?Zo=C3=AB?= <zoe@xn--bcher-vei.example>\n" },
};

static void
test_format_addresses (void)
{
	for (guint i = 0; i < G_N_ELEMENTS (addr_cases); i++) {
		const char *values[] = { addr_cases[i].value, NULL };
		g_autoptr (GError) error = NULL;
		g_autofree char *f =
			mp_field_format_addresses ("To", values, NULL, &error);

		g_assert_no_error (error);
		g_assert_cmpstr (f, ==, addr_cases[i].expected);
		assert_well_formed (f);
	}
}

static void
test_long_display_name_stays_within_998 (void)
{
	g_autofree char *name = g_strnfill (2000, 'x');
	g_autofree char *value =
		g_strdup_printf ("\"%s.\" <a@example.org>", name);
	const char *values[] = { value, NULL };
	g_autoptr (GError) error = NULL;
	g_autofree char *f =
		mp_field_format_addresses ("To", values, NULL, &error);

	g_assert_no_error (error);
	assert_well_formed (f);
}

static void
test_addresses_fold_and_count (void)
{
	const char *values[] = { "Ann Example <ann@example.org>, Bob Example "
				 "<bob@example.org>",
				 "Zoë Jürgens <zoe@example.org>, "
				 "carol@example.org, dave@example.org",
				 NULL };
	g_autoptr (GError) error = NULL;
	guint n = 0;
	g_autofree char *f =
		mp_field_format_addresses ("Cc", values, &n, &error);

	g_assert_no_error (error);
	g_assert_cmpuint (n, ==, 5);
	assert_well_formed (f);
	g_assert_nonnull (strstr (f, "\n "));
}

static const char *const bad_addresses[] = {
	"bob",
	"bob@",
	"@example.com",
	"Bob <bob@example.com",
	"bob@exa mple..com",
	"bob@-example.com",
	"zoë@example.com", /* needs RFC 6532 */
	"\"unterminated <a@b.c>",
	"",
	/* RFC 5321 4.5.3.1.1: found by fuzz-header as a 1000-octet line */
	"\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"@x.org",
	/* an A-label that does not decode: GMime dropped the mailbox */
	"c@x.example, x@XN--ABC.example",
	"x@xn--zz.example",
	"a@x.example; b@y.example",
	"g: h: a@b.example;;",
	"(((((((((((((((((((a)))))))))))))))))) a@b.example",
};

static void
test_bad_addresses_refused (void)
{
	for (guint i = 0; i < G_N_ELEMENTS (bad_addresses); i++) {
		const char *values[] = { bad_addresses[i], NULL };
		g_autoptr (GError) error = NULL;
		g_autofree char *f =
			mp_field_format_addresses ("To", values, NULL, &error);

		if (f)
			g_test_message ("accepted: %s -> %s", bad_addresses[i],
					f);
		g_assert_null (f);
		g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
		g_assert_true (g_str_has_prefix (error->message, "To: "));
	}
}

static const struct {
	const char *value;
	gssize len;
} injections[] = {
	{ "ok\r\nBcc: victim@example.com", -1 },
	{ "ok\nX-Evil: 1", -1 },
	{ "ok\rX", -1 },
	{ "nul\0byte", 8 },
	{ "bell\a", -1 },
	{ "bad \xff utf-8", -1 },
};

static void
test_injection_refused (void)
{
	for (guint i = 0; i < G_N_ELEMENTS (injections); i++) {
		g_autoptr (GError) error = NULL;

		g_assert_false (
			mp_field_check_value ("Subject", injections[i].value,
					      injections[i].len, &error));
		g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
		g_assert_true (g_str_has_prefix (error->message, "Subject: "));
	}
}

static void
test_split_and_names (void)
{
	g_autoptr (GError) error = NULL;
	g_autofree char *name = NULL;
	g_autofree char *value = NULL;

	g_assert_true (
		mp_field_split ("X-Priority:  1 ", &name, &value, &error));
	g_assert_cmpstr (name, ==, "X-Priority");
	g_assert_cmpstr (value, ==, "1");
	g_assert_false (mp_field_split ("no colon", &name, &value, &error));
	g_assert_error (error, MP_ERROR, MP_ERROR_USAGE);
	g_clear_error (&error);
	g_assert_false (mp_field_check_name ("Bad Name", &error));
	g_assert_error (error, MP_ERROR, MP_ERROR_USAGE);
	g_clear_error (&error);
	g_assert_false (mp_field_check_name ("Bäd", &error));
	g_clear_error (&error);
	g_assert_true (mp_field_check_name ("X-Ok", &error));
}

static void
test_msgids (void)
{
	const char *good[] = { "a@b", "<c@d> e@f", NULL };
	const char *bad[] = { "no-at-sign", NULL };
	g_autoptr (GError) error = NULL;
	g_autofree char *f =
		mp_field_format_msgids ("References", good, &error);

	g_assert_no_error (error);
	g_assert_cmpstr (f, ==, "References: <a@b> <c@d> <e@f>\n");
	g_assert_null (mp_field_format_msgids ("In-Reply-To", bad, &error));
	g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
}

static void
test_format_dispatch (void)
{
	g_autoptr (GError) error = NULL;
	g_autofree char *a =
		mp_field_format ("reply-to", "Zoë <z@bücher.example>", &error);
	g_autofree char *t = mp_field_format ("X-Note", "naïve", &error);

	g_assert_cmpstr (
		a, ==,
		"reply-to: =?UTF-8?Q?Zo=C3=AB?= <z@xn--bcher-kva.example>\n");
	g_assert_cmpstr (t, ==, "X-Note: =?UTF-8?Q?na=C3=AFve?=\n");
}

/* Each mailbox given is written with its addr-spec as written (A-labels
 * lower case), never dropped */
static void
test_addresses_keep_mailboxes (void)
{
	static const struct {
		const char *in, *out;
		guint n;
	} cases[] = {
		{ "carol@x.example, Dave <dave@XN--BCHER-KVA.EXAMPLE>",
		  "To: carol@x.example, Dave <dave@xn--bcher-kva.example>\n",
		  2 },
		{ "(c) bob@y.example (Bob)", "To: Bob <bob@y.example>\n", 1 },
		{ "\"a,b\"@example.org, g: \"q\\\"x\"@example.org;",
		  "To: \"a,b\"@example.org, g: \"q\\\"x\"@example.org;\n", 2 },
		{ "Zo\xc3\xab: ;", "To: =?UTF-8?Q?Zo=C3=AB?= :;\n", 0 },
		{ "((a (b) c)) x@y.example", "To: x@y.example\n", 1 },
	};

	for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
		const char *values[] = { cases[i].in, NULL };
		g_autoptr (GError) error = NULL;
		guint n = 99;
		g_autofree char *f =
			mp_field_format_addresses ("To", values, &n, &error);

		g_test_message ("%s", cases[i].in);
		g_assert_no_error (error);
		g_assert_cmpstr (f, ==, cases[i].out);
		g_assert_cmpuint (n, ==, cases[i].n);
	}
}

/* what the refusals say */
static void
test_address_errors (void)
{
	static const struct {
		const char *in, *says;
	} cases[] = {
		{ "a@x.example; b@y.example",
		  "separate addresses with commas" },
		{ "g: h: a@b.example;;", "a group inside a group" },
		{ "((((((((((((((((((a)))))))))))))))))) a@b.example",
		  "comments nested deeper than 16" },
		{ "x@XN--ABC.example",
		  "\"x@XN--ABC.example\": invalid domain" },
	};

	for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autoptr (GError) error = NULL;
		g_autoptr (GPtrArray) l =
			mp_field_parse_addresses ("To", cases[i].in, &error);

		g_test_message ("%s", cases[i].in);
		g_assert_null (l);
		g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
		g_assert_nonnull (strstr (error->message, cases[i].says));
	}
}

/* 50,000 nested groups or comments: refused without recursion */
static void
test_deep_nesting_refused (void)
{
	for (int kind = 0; kind < 2; kind++) {
		g_autoptr (GString) s = g_string_new (NULL);
		g_autoptr (GError) error = NULL;
		g_autoptr (GPtrArray) l = NULL;

		for (int i = 0; i < 50000; i++)
			g_string_append (s, kind ? "(" : "g:");
		g_string_append (s, "a@b.example");
		for (int i = 0; i < 50000; i++)
			g_string_append (s, kind ? ")" : ";");
		l = mp_field_parse_addresses ("To", s->str, &error);
		g_assert_null (l);
		g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
	}
}

/* mp_cli_escape: control characters, bidi controls and bytes that are
 * not UTF-8 escaped, the rest untouched */
static void
test_cli_escape (void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "Zo\xc3\xab \"q\" \\", "Zo\xc3\xab \"q\" \\" },
		{ "a\nb\rc\td", "a\\nb\\rc\\td" },
		{ "\x1b]0;x\x07", "\\x1b]0;x\\x07" },
		{ "\x7f\xc2\x85", "\\x7f\\u0085" },
		{ "x\xe2\x80\xaey", "x\\u202ey" },
		{ "\xff\xc3", "\\xff\\xc3" },
	};

	for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autofree char *got = mp_cli_escape (cases[i].in);

		g_assert_cmpstr (got, ==, cases[i].out);
	}
}

/* mp-charset: labels map to IANA preferred MIME names, aliases too, and
 * unknown labels are refused for writing */
static void
test_charset_names (void)
{
	static const struct {
		const char *label, *mime;
	} cases[] = {
		{ "UTF-8", "utf-8" },
		{ "utf8", "utf-8" },
		{ "latin1", "iso-8859-1" },
		{ "ISO_8859-15", "iso-8859-15" },
		{ "cp1252", "windows-1252" },
		{ "Windows-1252", "windows-1252" },
		{ "SJIS", "shift_jis" },
		{ "Shift_JIS", "shift_jis" },
		{ "gb2312", "gb2312" },
		{ "EUC-CN", "gb2312" },
		{ "GBK", "gbk" },
		{ "ks_c_5601-1987", "euc-kr" },
		{ "iso-8859-12", NULL },
		{ "x-unknown", NULL },
		{ "utf-16", NULL },
	};

	for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autoptr (GError) error = NULL;
		const char *got = mp_charset_lookup (cases[i].label, &error);

		g_test_message ("%s", cases[i].label);
		g_assert_cmpstr (got, ==, cases[i].mime);
		g_assert_cmpstr (mp_charset_mime_name (cases[i].label), ==,
				 cases[i].mime);
		if (cases[i].mime == NULL)
			g_assert_error (error, MP_ERROR, MP_ERROR_USAGE);
	}
}

/* conversion never fails: what cannot be converted is U+FFFD */
static void
test_charset_convert (void)
{
	g_autoptr (GString) s = g_string_new (NULL);

	g_assert_true (
		mp_charset_append_utf8 (s, "windows-1252", "caf\xe9 \x80", 6));
	g_assert_cmpstr (s->str, ==, "caf\xc3\xa9 \xe2\x82\xac");
	g_string_truncate (s, 0);
	g_assert_true (mp_charset_append_utf8 (s, "utf-8", "a\xff", 2));
	g_assert_cmpstr (s->str, ==, "a\xef\xbf\xbd");
	g_string_truncate (s, 0);
	g_assert_false (mp_charset_append_utf8 (s, "x-unknown", "a", 1));
	g_assert_cmpstr (s->str, ==, "");
}

/* RFC 5322 dates read as GMime read them: obsolete zones, two-digit
 * years, numeric dates, comments, and its leniency (words it does not
 * know skipped, so "pm" and "CET" change nothing; the first offset
 * counts); written with a padded day */
static void
test_parse_date (void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "Wed, 31 Jan 2024 10:00:00 +0100",
		  "Wed, 31 Jan 2024 10:00:00 +0100" },
		{ "15 Jan 24 09:30 EST", "Mon, 15 Jan 2024 09:30:00 -0500" },
		{ "Tue, 3 Dec 2026 5:30 +0000 (UTC)",
		  "Thu, 03 Dec 2026 05:30:00 +0000" },
		{ "2024-01-15 09:30 -0800", "Mon, 15 Jan 2024 09:30:00 -0800" },
		{ "1 Feb 1999 23:59:59 GMT",
		  "Mon, 01 Feb 1999 23:59:59 +0000" },
		{ "garbage", NULL },
		{ "2024-13-01 10:00", NULL },
		{ "31 Jan 2024", "Wed, 31 Jan 2024 00:00:00 +0000" },
		{ "15-Jan-2024 9:30 pm CET",
		  "Mon, 15 Jan 2024 09:30:00 +0000" },
		{ "15 Jan 2024 10:00 +0100 +0200",
		  "Mon, 15 Jan 2024 10:00:00 +0100" },
		{ "15 Jan 2024 10:00 #", "Mon, 15 Jan 2024 10:00:00 +0000" },
		{ "15 Jan 2024 10:61", NULL },
	};

	for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autoptr (GDateTime) d = mp_date_parse (cases[i].in);
		g_autofree char *s = d ? mp_date_format_padded (d) : NULL;

		g_test_message ("%s", cases[i].in);
		g_assert_cmpstr (s, ==, cases[i].out);
	}
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_mime_init ();
	g_test_add_func ("/header/format-text", test_format_text);
	g_test_add_func ("/header/encoded-looking-text-is-encoded",
			 test_encoded_looking_text_is_encoded);
	g_test_add_func ("/header/format-addresses", test_format_addresses);
	g_test_add_func ("/header/long-display-name-stays-within-998",
			 test_long_display_name_stays_within_998);
	g_test_add_func ("/header/addresses-fold-and-count",
			 test_addresses_fold_and_count);
	g_test_add_func ("/header/bad-addresses-refused",
			 test_bad_addresses_refused);
	g_test_add_func ("/header/injection-refused", test_injection_refused);
	g_test_add_func ("/header/split-and-names", test_split_and_names);
	g_test_add_func ("/header/msgids", test_msgids);
	g_test_add_func ("/header/format-dispatch", test_format_dispatch);
	g_test_add_func ("/header/addresses-keep-mailboxes",
			 test_addresses_keep_mailboxes);
	g_test_add_func ("/header/address-errors", test_address_errors);
	g_test_add_func ("/header/deep-nesting-refused",
			 test_deep_nesting_refused);
	g_test_add_func ("/date/parse", test_parse_date);
	g_test_add_func ("/cli/escape", test_cli_escape);
	g_test_add_func ("/charset/names", test_charset_names);
	g_test_add_func ("/charset/convert", test_charset_convert);
	return g_test_run ();
}
