/* Unit tests for mp-headers: the header block read in any pieces, edits
 * that keep every other byte, decoding of real-world breakage, address
 * lists. */
#include "mp-error.h"
#include "mp-address.h"
#include "mp-headers.h"
#include "mp-rfc2047.h"

#include <gmime/gmime.h>
#include <string.h>
#include <unistd.h>

/* ---- decoding ------------------------------------------------------- */

typedef struct {
	const char *what;
	const char *raw;
	const char *decoded;
} DecodeCase;

static const DecodeCase decode_cases[] = {
	{ "plain ASCII, leading blanks go, trailing stay", "  Hello  world ",
	  "Hello  world " },
	{ "folding: the line break goes, the blank stays", " a\r\n\tb\n c",
	  "a\tb c" },
	{ "blanks after a fold at the start stay (as Python)", "\n\tvalue",
	  "\tvalue" },
	{ "Q encoding with underscores",
	  "=?utf-8?q?caf=C3=A9_au_lait?=", "café au lait" },
	{ "B encoding, upper-case markers", "=?UTF-8?B?w6k=?=", "é" },
	{ "B without padding", "=?utf-8?b?w6k?=", "é" },
	{ "B with a stray padding character", "=?utf-8?B?VEVTVA=?=", "TEST" },
	{ "a UTF-8 character split between two words",
	  "=?utf-8?q?caf=C3?= =?utf-8?q?=A9?=", "café" },
	{ "a character split between B words, folded",
	  "=?UTF-8?B?5pel5pys6Kqe4oCU5pel5g==?=\r\n =?UTF-8?B?nKzoqp4=?=",
	  "日本語—日本語" },
	{ "ISO-2022-JP split in the middle of a shift sequence",
	  "=?iso-2022-jp?B?GyRCRnw=?= =?iso-2022-jp?B?S1w4bBsoQg==?=",
	  "日本語" },
	{ "words of different charsets are not joined",
	  "=?iso-8859-1?q?caf=E9?= =?utf-8?q?_cr=C3=A8me?=", "café crème" },
	{ "charset names compared without case",
	  "=?UTF-8?q?=C3?= =?utf-8?q?=A9?=", "é" },
	{ "blanks between encoded words go",
	  "=?utf-8?q?a?=  \t =?utf-8?q?b?=", "ab" },
	{ "blanks between a word and text stay",
	  "=?utf-8?q?a?= b =?utf-8?q?c?=", "a b c" },
	{ "trailing blanks after a word stay", "=?utf-8?q?a?=  ", "a  " },
	{ "a word glued to text", "Re:=?utf-8?q?caf=C3=A9?=!", "Re:café!" },
	{ "adjacent words without a blank",
	  "=?utf-8?q?a?==?utf-8?q?b?=", "ab" },
	{ "a word inside a quoted string", "\"=?utf-8?q?J=C3=B6rg?=\" <j@x>",
	  "\"Jörg\" <j@x>" },
	{ "a word inside a comment", "j@x (=?utf-8?q?J=C3=B6rg?=)",
	  "j@x (Jörg)" },
	{ "an RFC 2231 language", "=?utf-8*de?q?Gr=C3=BC=C3=9Fe?=", "Grüße" },
	{ "Latin-1 charset", "=?iso-8859-1?q?Gr=FC=DFe?=", "Grüße" },
	{ "an alias GMime knows (ks_c_5601-1987)",
	  "=?ks_c_5601-1987?b?x9GxuQ==?=", "한국" },
	{ "gb2312", "=?gb2312?b?1tDOxA==?=", "中文" },
	{ "unknown charset, UTF-8 bytes", "=?x-unknown?q?caf=C3=A9?=", "café" },
	{ "unknown charset, other bytes",
	  "=?x-unknown?q?caf=E9?=", "caf\xef\xbf\xbd" },
	{ "us-ascii label on 8-bit bytes",
	  "=?us-ascii?q?caf=E9?=", "caf\xef\xbf\xbd" },
	{ "utf-8 label on Latin-1 bytes",
	  "=?utf-8?q?caf=E9?=", "caf\xef\xbf\xbd" },
	{ "bytes invalid in the charset", "=?windows-1252?q?a=81b?=",
	  "a\xef\xbf\xbd"
	  "b" },
	{ "an empty charset", "=?\?q?a?=", "a" },
	{ "unknown encoding letter: not a word",
	  "=?utf-8?x?abc?=", "=?utf-8?x?abc?=" },
	{ "no end: not a word", "=?utf-8?q?abc", "=?utf-8?q?abc" },
	{ "a '?' in the text: not a word",
	  "=?utf-8?q?a?b?=", "=?utf-8?q?a?b?=" },
	{ "blanks inside a word (as Python)", "=?utf-8?q?a b?=", "a b" },
	{ "an empty word", "x =?utf-8?q?\?= y", "x  y" },
	{ "raw UTF-8", "Grüße", "Grüße" },
	{ "raw Latin-1",
	  "Gr\xfc\xdf"
	  "e",
	  "Grüße" },
	{ "raw bytes and encoded words together",
	  "Gr\xfc\xdf"
	  "e =?utf-8?q?=C3=A9?=",
	  "Grüße é" },
	{ "decoded CR LF become blanks", "=?utf-8?q?a=0D=0Ab?=", "a  b" },
	{ "decoded NUL becomes U+FFFD", "=?utf-8?q?a=00b?=",
	  "a\xef\xbf\xbd"
	  "b" },
	{ "an escape sequence cannot reach the terminal",
	  "=?utf-8?q?a=1B]0;x=07b?=",
	  "a\xef\xbf\xbd]0;x\xef\xbf\xbd"
	  "b" },
	{ "C1 control characters neither", "=?utf-8?q?a=C2=9B2Jb?=",
	  "a\xef\xbf\xbd"
	  "2Jb" },
	{ "raw control bytes neither", "a\x1b[2Jb", "a\xef\xbf\xbd[2Jb" },
	{ "Latin-1 labels read as windows-1252 (smart quotes)",
	  "=?iso-8859-1?q?=93quoted=94_=96_x?=", "“quoted” – x" },
	{ "raw windows-1252", "\x93quoted\x94", "“quoted”" },
	{ "bytes windows-1252 leaves undefined", "=?iso-8859-1?q?a=81b?=",
	  "a\xef\xbf\xbd"
	  "b" },
	{ "an empty value", "", "" },
};

static void
test_decode_table (void)
{
	guint i;

	for (i = 0; i < G_N_ELEMENTS (decode_cases); i++) {
		const DecodeCase *c = &decode_cases[i];
		g_autofree char *got = mp_rfc2047_decode_text (c->raw, -1);

		g_test_message ("%s", c->what);
		g_assert_cmpstr (got, ==, c->decoded);
		g_assert_true (g_utf8_validate (got, -1, NULL));
	}
}

/* ---- addresses ------------------------------------------------------ */

typedef struct {
	const char *what;
	const char *raw;
	const char *specs; /* joined with spaces */
} AddrCase;

static const AddrCase addr_cases[] = {
	{ "a bare address", "ann@example.org", "ann@example.org" },
	{ "name-addr with a comma in the quoted name",
	  "\"Doe, John\" <john@example.org>", "john@example.org" },
	{ "comments ignored, even nested with commas", "a@x (one, (two)), b@y",
	  "a@x b@y" },
	{ "a group and a mailbox after it", "Team: a@x, \"B\" <b@y>;, c@z",
	  "a@x b@y c@z" },
	{ "an empty group", "undisclosed-recipients:;", "" },
	{ "an encoded display name", "=?utf-8?q?Zo=C3=AB?= <zoe@example.net>",
	  "zoe@example.net" },
	{ "an obsolete route", "<@relay.example,@b.example:dave@example.com>",
	  "dave@example.com" },
	{ "the null address", "<>", "<>" },
	{ "a quoted local part that needs its quotes",
	  "\"john doe\"@example.com", "\"john doe\"@example.com" },
	{ "a quoted local part that does not", "\"john\"@example.com",
	  "john@example.com" },
	{ "a local part without a domain", "root", "root" },
	{ "bare words before an address (as Python)", "Big Bug bb@bug.com",
	  "\"Big Bug bb\"@bug.com" },
	{ "a forgotten comma between bare addresses", "a@x b@y", "a@x b@y" },
	{ "a forgotten comma between name-addrs", "A <a@x> B <b@y>",
	  "a@x b@y" },
	{ "a '<' inside a quoted name", "\"a <x@y>\" <real@z>", "real@z" },
	{ "an unterminated angle-addr", "A <a@x", "a@x" },
	{ "a domain literal", "u@[192.0.2.1]", "u@[192.0.2.1]" },
	{ "empty items between commas", " , a@x,, ", "a@x" },
	{ "a stray closing parenthesis (found by fuzzing)", "a@x ), b@y)",
	  "a@x b@y" },
	{ "an empty quoted string is no address (found by fuzzing)",
	  "\"\", <\"\">, a@x", "a@x" },
	{ "control bytes in an address",
	  "a\x1b"
	  "b@x",
	  "a\xef\xbf\xbd"
	  "b@x" },
	{ "invalid UTF-8 in an address", "a\xff@x", "a\xef\xbf\xbd@x" },
};

static void
test_addr_table (void)
{
	guint i;

	for (i = 0; i < G_N_ELEMENTS (addr_cases); i++) {
		const AddrCase *c = &addr_cases[i];
		g_autoptr (GPtrArray) out =
			g_ptr_array_new_with_free_func (g_free);
		g_autofree char *joined = NULL;
		guint n;

		g_test_message ("%s", c->what);
		n = mp_address_parse_specs (c->raw, out);
		g_assert_cmpuint (n, ==, out->len);
		g_ptr_array_add (out, NULL);
		joined = g_strjoinv (" ", (char **) out->pdata);
		g_assert_cmpstr (joined, ==, c->specs);
	}
}

/* How --get shows an address field: as Python's email renders it. */
static const DecodeCase render_cases[] = {
	{ "blanks collapsed", "John   Doe <j@x>", "John Doe <j@x>" },
	{ "comments dropped", "Pete(A nice \\) chap) <pete(his)@silly.test>",
	  "Pete <pete@silly.test>" },
	{ "a bare address in angle brackets", " <j@x> ", "j@x" },
	{ "needless quotes dropped", "\"MAILER-DAEMON\" <x@y>",
	  "MAILER-DAEMON <x@y>" },
	{ "a name with specials quoted", "Joe Q. Public <jqp@x>",
	  "\"Joe Q. Public\" <jqp@x>" },
	{ "an encoded name with a comma, quoted",
	  "=?utf-8?q?M=C3=BCller=2C_Hans?= <h@x>", "\"Müller, Hans\" <h@x>" },
	{ "an encoded word inside quotes", "\"=?utf-8?q?J=C3=B6rg?=\" <j@x>",
	  "Jörg <j@x>" },
	{ "a quote inside a name escaped", "\"a\\\"b\" <a@x>",
	  "\"a\\\"b\" <a@x>" },
	{ "groups", "A Group:Ed Jones <c@a.test>,joe@where.test;, x@y",
	  "A Group: Ed Jones <c@a.test>, joe@where.test;, x@y" },
	{ "an empty group", "Undisclosed recipients: ;",
	  "Undisclosed recipients:;" },
	{ "the null address", "<>", "<>" },
	{ "a name and the null address", "Foo <>", "Foo <>" },
	{ "an empty quoted name", "\"\" <a@x>", "a@x" },
	{ "trailing commas", "x@y, ", "x@y" },
	{ "raw UTF-8 name", "Jörg <j@x>", "Jörg <j@x>" },
	{ "an empty value", "", "" },
};

static void
test_render_table (void)
{
	guint i;

	for (i = 0; i < G_N_ELEMENTS (render_cases); i++) {
		const DecodeCase *c = &render_cases[i];
		g_autofree char *got = mp_address_decode_list (c->raw, -1);

		g_test_message ("%s", c->what);
		g_assert_cmpstr (got, ==, c->decoded);
	}
}

/* ---- reading and writing -------------------------------------------- */

/* Writes @h through an -o file and returns what was written. */
static char *
write_to_string (MpHeaders *h, gsize *len)
{
	g_autoptr (GError) error = NULL;
	g_autofree char *dir = g_dir_make_tmp ("test-headers-XXXXXX", &error);
	g_autofree char *path = g_build_filename (dir, "out.eml", NULL);
	g_autoptr (MpOutput) out = NULL;
	char *data = NULL;

	g_assert_no_error (error);
	out = mp_output_open (path, FALSE, &error);
	g_assert_no_error (error);
	g_assert_true (mp_headers_write_message (h, out, &error));
	g_assert_true (mp_output_close (out, &error));
	g_assert_no_error (error);
	g_assert_true (g_file_get_contents (path, &data, len, &error));
	unlink (path);
	rmdir (dir);
	return data;
}

static const char *const messages[] = {
	"From: a@x\nSubject: s\n\nbody\n",
	"From: a@x\r\nSubject: folded\r\n\tline\r\n\r\nbody\r\n",
	"From ann Mon Jan  1 00:00:00 2024\nFrom: a@x\n\nbody\n",
	"Subject: no body\n",
	"Subject: no newline",
	"\nbody only\n",
	"Subject: s\nnot a header line\nbody\n",
	" stray continuation\nSubject: s\n\n",
	"X:\n\n",
	":empty name\n\n",
	"Subject: s\r\n\r\n",
	"Subject: s\n\n\n\n",
};

/* Feeding a message one byte at a time gives what feeding it whole
 * gives: no bug at a buffer boundary. */
static void
test_feed_any_pieces (void)
{
	guint m;

	for (m = 0; m < G_N_ELEMENTS (messages); m++) {
		const char *msg = messages[m];
		gsize len = strlen (msg), i, n1, n2;
		g_autoptr (GError) error = NULL;
		g_autoptr (MpHeaders) whole =
			mp_headers_parse (msg, len, &error);
		g_autoptr (MpHeaders) bytes = mp_headers_new (NULL);
		g_autofree char *w1 = NULL, *w2 = NULL;

		g_assert_no_error (error);
		for (i = 0; i < len; i++)
			g_assert_true (
				mp_headers_feed (bytes, msg + i, 1, &error));
		g_assert_true (mp_headers_finish (bytes, &error));
		g_assert_cmpuint (mp_headers_get_n_entries (whole), ==,
				  mp_headers_get_n_entries (bytes));
		w1 = write_to_string (whole, &n1);
		w2 = write_to_string (bytes, &n2);
		/* nothing changed: the message comes out as it came in */
		g_assert_cmpmem (w1, n1, msg, len);
		g_assert_cmpmem (w2, n2, msg, len);
	}
}

static void
test_entries (void)
{
	const char *msg = "From x Mon Jan  1 00:00:00 2024\n"
			  "Subject:  Hi\n"
			  "\tthere\n"
			  "X-A: 1\n"
			  "\n"
			  "X-B: in the body\n";
	g_autoptr (GError) error = NULL;
	g_autoptr (MpHeaders) h = mp_headers_parse (msg, strlen (msg), &error);
	g_autofree char *raw = NULL, *value = NULL;
	gsize len;

	g_assert_no_error (error);
	g_assert_cmpuint (mp_headers_get_n_entries (h), ==, 3);
	g_assert_null (mp_headers_get_name (h, 0));
	g_assert_null (mp_headers_get_value (h, 0));
	g_assert_cmpstr (mp_headers_get_name (h, 1), ==, "Subject");
	raw = mp_headers_get_raw_value (h, 1);
	g_assert_cmpstr (raw, ==, "Hi\tthere");
	value = mp_headers_get_value (h, 1);
	g_assert_cmpstr (value, ==, "Hi\tthere");
	g_assert_cmpmem (mp_headers_get_bytes (h, 1, &len), len,
			 "Subject:  Hi\n\tthere\n", 20);
	g_assert_cmpstr (mp_headers_get_eol (h), ==, "\n");
	g_clear_pointer (&h, mp_headers_free);

	/* a line that starts with a colon is kept but is no field */
	h = mp_headers_parse (":x\nA: 1\n\n", 9, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (mp_headers_get_n_entries (h), ==, 2);
	g_assert_null (mp_headers_get_name (h, 0));
	g_assert_cmpstr (mp_headers_get_name (h, 1), ==, "A");
	g_clear_pointer (&h, mp_headers_free);

	/* RFC 5322 4.5.8: blanks before the colon, even in a first line
	 * that starts "From " (then no mbox envelope line) */
	h = mp_headers_parse ("From  : a@x\nSubject\t: s\n\n", 25, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (mp_headers_get_n_entries (h), ==, 2);
	g_assert_cmpstr (mp_headers_get_name (h, 0), ==, "From");
	g_assert_cmpstr (mp_headers_get_name (h, 1), ==, "Subject");
	g_clear_pointer (&raw, g_free);
	raw = mp_headers_get_raw_value (h, 1);
	g_assert_cmpstr (raw, ==, "s");
}

typedef struct {
	const char *what;
	const char *in;
	const char *op; /* "+N: v" add, "=N: v" set, "-N" delete */
	const char *out;
} EditCase;

static const EditCase edit_cases[] = {
	{ "add at the end of the block", "A: 1\nB: 2\n\nbody\n", "+C: 3",
	  "A: 1\nB: 2\nC: 3\n\nbody\n" },
	{ "add with CRLF", "A: 1\r\n\r\nbody\r\n", "+C: 3",
	  "A: 1\r\nC: 3\r\n\r\nbody\r\n" },
	{ "add before a body that lacks its blank line", "A: 1\nbody\n",
	  "+C: 3", "A: 1\nC: 3\nbody\n" },
	{ "add to an input without a final newline", "A: 1", "+C: 3",
	  "A: 1\nC: 3" },
	{ "the line ending of the first field, not of an mbox line",
	  "From x\nA: 1\r\n\r\n", "+C: 3", "From x\nA: 1\r\nC: 3\r\n\r\n" },
	{ "add to an empty header", "\nbody\n", "+C: 3", "C: 3\n\nbody\n" },
	{ "set in place, others deleted", "A: 1\nB: 2\nA: 3\n\n", "=a: x",
	  "a: x\nB: 2\n\n" },
	{ "set appends when absent", "A: 1\n\n", "=B: 2", "A: 1\nB: 2\n\n" },
	{ "set the unterminated last field", "A: 1\nB: 2", "=B: x",
	  "A: 1\nB: x" },
	{ "delete with continuations", "A: 1\n 1b\nB: 2\nA: 3\n\n", "-A",
	  "B: 2\n\n" },
	{ "delete the unterminated last field", "A: 1\nB: 2", "-B", "A: 1" },
	{ "delete everything", "A: 1\n\nbody\n", "-A", "\nbody\n" },
	{ "mbox line untouched by set From", "From x\nFrom: a@x\n\n",
	  "=From: b@y", "From x\nFrom: b@y\n\n" },
	{ "a non-ASCII value is encoded", "A: 1\n\n", "+Subject: é",
	  "A: 1\nSubject: =?UTF-8?Q?=C3=A9?=\n\n" },
	{ "a multipart Content-Type keeps its boundary",
	  "Content-Type: multipart/mixed; boundary=\"b0\"\n\n",
	  "=Content-Type: multipart/alternative",
	  "Content-Type: multipart/alternative; boundary=\"b0\"\n\n" },
	{ "a field that may repeat is added again", "Received: a\n\n",
	  "+Received: b", "Received: a\nReceived: b\n\n" },
	{ "a folded new value gets CRLF throughout", "A: 1\r\n\r\n",
	  "+X: aaaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee "
	  "ffffffffff gggggggggg",
	  "A: 1\r\nX: aaaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee "
	  "ffffffffff\r\n gggggggggg\r\n\r\n" },
};

static void
test_edit_table (void)
{
	guint i;

	for (i = 0; i < G_N_ELEMENTS (edit_cases); i++) {
		const EditCase *c = &edit_cases[i];
		g_autoptr (GError) error = NULL;
		g_autoptr (MpHeaders) h =
			mp_headers_parse (c->in, strlen (c->in), &error);
		g_autofree char *got = NULL;
		gsize len;

		g_test_message ("%s", c->what);
		g_assert_no_error (error);
		if (c->op[0] == '-') {
			g_assert_cmpuint (mp_headers_delete (h, c->op + 1), >,
					  0);
		} else {
			const char *colon = strchr (c->op, ':');
			g_autofree char *name = g_strndup (
				c->op + 1, (gsize) (colon - c->op - 1));

			if (c->op[0] == '+')
				g_assert_true (mp_headers_add (
					h, name, colon + 2, &error));
			else
				g_assert_true (mp_headers_set (
					h, name, colon + 2, &error));
			g_assert_no_error (error);
		}
		got = write_to_string (h, &len);
		g_assert_cmpmem (got, len, c->out, strlen (c->out));
	}
}

static void
test_refused (void)
{
	static const char *const bad[] = {
		"",                    /* empty: an earlier stage failed */
		"just text\n",         /* no header field */
		"From x\nbody text\n", /* only an envelope line */
	};
	g_autoptr (GError) error = NULL;
	g_autoptr (MpHeaders) h = NULL;
	guint i;

	for (i = 0; i < G_N_ELEMENTS (bad); i++) {
		MpHeaders *r =
			mp_headers_parse (bad[i], strlen (bad[i]), &error);

		g_assert_null (r);
		g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
		g_clear_error (&error);
	}

	h = mp_headers_parse ("A: 1\n\n", 6, &error);
	g_assert_no_error (error);
	g_assert_false (mp_headers_add (h, "Bad Name", "x", &error));
	g_assert_error (error, MP_ERROR, MP_ERROR_USAGE);
	g_clear_error (&error);
	g_assert_false (mp_headers_set (h, "X", "a\nBcc: evil@x", &error));
	g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
	g_clear_error (&error);
	g_assert_false (mp_headers_add (h, "X", "a\rb", &error));
	g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
	g_clear_error (&error);
	g_assert_cmpuint (mp_headers_get_n_entries (h), ==, 1);
}

/* RFC 5322 3.6 and 3.6.2, and the boundary of a multipart */
static void
test_header_rules (void)
{
	static const char msg[] =
		"From: a@x.example, b@x.example\nSubject: s\n"
		"Content-Type: multipart/mixed; boundary=b0\n\n";
	g_autoptr (GError) error = NULL;
	g_autoptr (MpHeaders) h = mp_headers_parse (msg, strlen (msg), &error);

	g_assert_no_error (error);
	/* several From, no Sender */
	g_assert_false (mp_headers_check_originator (h, &error));
	g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
	g_clear_error (&error);
	g_assert_true (mp_headers_add (h, "Sender", "a@x.example", &error));
	g_assert_true (mp_headers_check_originator (h, &error));
	g_assert_false (mp_headers_add (h, "subject", "again", &error));
	g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
	g_clear_error (&error);
	g_assert_false (mp_headers_add (h, "Sender", "b@x.example", &error));
	g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
	g_clear_error (&error);
	g_assert_false (
		mp_headers_set (h, "Content-Type", "text/plain", &error));
	g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
	g_clear_error (&error);
	g_assert_false (mp_headers_set (
		h, "Content-Type", "multipart/mixed; boundary=zz", &error));
	g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
	g_clear_error (&error);
	g_assert_true (mp_headers_set (
		h, "Content-Type", "multipart/mixed; boundary=\"b0\"", &error));
	g_assert_no_error (error);
}

/* A header block that never ends is refused once it passes the limit,
 * instead of growing without bound. */
static void
test_block_limit (void)
{
	g_autoptr (MpHeaders) h = mp_headers_new (NULL);
	g_autoptr (GError) error = NULL;
	g_autofree char *line = g_strnfill (64 * 1024, 'x');
	gsize fed = 0;

	g_assert_true (mp_headers_feed (h, "X: ", 3, &error));
	while (fed <= MP_HEADERS_MAX_BLOCK) {
		if (!mp_headers_feed (h, line, 64 * 1024, &error))
			break;
		fed += 64 * 1024;
	}
	g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
	g_assert_false (mp_headers_is_complete (h));
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_mime_init ();
	g_test_add_func ("/headers/decode/table", test_decode_table);
	g_test_add_func ("/headers/addresses/table", test_addr_table);
	g_test_add_func ("/headers/addresses/render-as-python",
			 test_render_table);
	g_test_add_func ("/headers/read/any-pieces-same-result",
			 test_feed_any_pieces);
	g_test_add_func ("/headers/read/entries", test_entries);
	g_test_add_func ("/headers/edit/table-keeps-other-bytes",
			 test_edit_table);
	g_test_add_func ("/headers/edit/refused", test_refused);
	g_test_add_func ("/headers/edit/rules", test_header_rules);
	g_test_add_func ("/headers/read/block-limit", test_block_limit);
	return g_test_run ();
}
