/* mp-data: the DATA canonicaliser, fed whole and one byte at a time;
 * envelope addresses (mp-envelope, mp-address). */
#include "mp-address.h"
#include "mp-data.h"
#include "mp-envelope.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
	const char *name;
	const char *in;
	gsize in_len; /* 0: strlen */
	const char *out;
} Case;

static const Case cases[] = {
	{ "lf_becomes_crlf", "a\nb\n", 0, "a\r\nb\r\n.\r\n" },
	{ "crlf_kept", "a\r\nb\r\n", 0, "a\r\nb\r\n.\r\n" },
	{ "bare_cr_becomes_crlf", "a\rb\r", 0, "a\r\nb\r\n.\r\n" },
	{ "cr_cr_lf_is_two_lines", "a\r\r\nb", 0, "a\r\n\r\nb\r\n.\r\n" },
	{ "final_crlf_added", "abc", 0, "abc\r\n.\r\n" },
	{ "leading_dot_stuffed", ".a\n", 0, "..a\r\n.\r\n" },
	{ "lone_dot_stuffed", "x\n.\ny\n", 0, "x\r\n..\r\ny\r\n.\r\n" },
	{ "dot_after_blank_line", "\n.\n", 0, "\r\n..\r\n.\r\n" },
	{ "dot_mid_line_untouched", "a.b\n", 0, "a.b\r\n.\r\n" },
	{ "smuggle_lf_dot_lf", "A\n.\nB", 0, "A\r\n..\r\nB\r\n.\r\n" },
	{ "smuggle_lf_dot_cr", "A\n.\rB", 0, "A\r\n..\r\nB\r\n.\r\n" },
	{ "smuggle_cr_dot_lf", "A\r.\nB", 0, "A\r\n..\r\nB\r\n.\r\n" },
	{ "smuggle_cr_dot_cr", "A\r.\rB", 0, "A\r\n..\r\nB\r\n.\r\n" },
	{ "smuggle_lf_dot_crlf", "A\n.\r\nB", 0, "A\r\n..\r\nB\r\n.\r\n" },
	{ "smuggle_cr_dot_crlf", "A\r.\r\nB", 0, "A\r\n..\r\nB\r\n.\r\n" },
	{ "smuggle_crlf_dot_crcrlf", "A\r\n.\r\r\nB", 0,
	  "A\r\n..\r\n\r\nB\r\n.\r\n" },
	{ "smuggle_crcrlf_dot_crcrlf", "A\r\r\n.\r\r\nB", 0,
	  "A\r\n\r\n..\r\n\r\nB\r\n.\r\n" },
	{ "empty_is_just_the_end", "", 0, ".\r\n" },
	{ "eight_bit_passes", "\303\274\n", 0, "\303\274\r\n.\r\n" },
};

static GByteArray *
encode (const Case *c, gsize step, MpDataEncoder *enc)
{
	GByteArray *out = g_byte_array_new ();
	gsize len = c->in_len ? c->in_len : strlen (c->in);

	mp_data_encoder_init (enc);
	for (gsize i = 0; i < len; i += step)
		mp_data_encode (enc, c->in + i, MIN (step, len - i), out);
	mp_data_finish (enc, out);
	return out;
}

static void
test_case (gconstpointer data)
{
	const Case *c = data;
	/* whole, one byte at a time, and in pairs: a CRLF split across
	 * reads must stay one line break */
	const gsize steps[] = { G_MAXSIZE / 2, 1, 2, 3 };

	for (guint s = 0; s < G_N_ELEMENTS (steps); s++) {
		MpDataEncoder enc;
		g_autoptr (GByteArray) out = encode (c, steps[s], &enc);

		g_assert_cmpmem (out->data, out->len, c->out, strlen (c->out));
		g_assert_cmpuint (enc.out_bytes, ==, out->len);
	}
}

static void
test_flags (void)
{
	static const struct {
		Case c;
		gboolean nul;
		gboolean eight_bit;
	} flags[] = {
		{ { "nul", "a\0b", 3, NULL }, TRUE, FALSE },
		{ { "8bit", "a\200", 0, NULL }, FALSE, TRUE },
		{ { "7bit", "a\tb~", 0, NULL }, FALSE, FALSE },
	};

	for (guint i = 0; i < G_N_ELEMENTS (flags); i++) {
		MpDataEncoder enc;
		g_autoptr (GByteArray) out = encode (&flags[i].c, 1, &enc);

		g_assert_cmpuint (out->len, >, 0);
		g_assert_cmpint (enc.nul, ==, flags[i].nul);
		g_assert_cmpint (enc.eight_bit, ==, flags[i].eight_bit);
	}
}

typedef struct {
	const char *in;
	gboolean ok;
	const char *out;
	gboolean utf8;
} AddrCase;

static const AddrCase addr_cases[] = {
	{ "bob@example.com", TRUE, "bob@example.com", FALSE },
	{ "bob@b\303\274cher.example", TRUE, "bob@xn--bcher-kva.example",
	  FALSE },
	{ "j\303\266rg@example.org", TRUE, "j\303\266rg@example.org", TRUE },
	{ "bob@[192.0.2.1]", TRUE, "bob@[192.0.2.1]", FALSE },
	{ "bob@example.com\r\nRSET", FALSE, NULL, FALSE },
	{ "bob@example.com\n", FALSE, NULL, FALSE },
	{ "bob@exa\tmple.com", FALSE, NULL, FALSE },
	{ "bob@example.com\177", FALSE, NULL, FALSE },
	{ "-oQ/tmp/@example.com", FALSE, NULL, FALSE },
	{ "bob@example.com> NOTIFY=NEVER", FALSE, NULL, FALSE },
	{ "bob@example.com SIZE=1", FALSE, NULL, FALSE },
	{ "<bob@example.com>", FALSE, NULL, FALSE },
	{ "bob", FALSE, NULL, FALSE },
	{ "@example.com", FALSE, NULL, FALSE },
	{ "bob@", FALSE, NULL, FALSE },
	{ "bob@-example.com", FALSE, NULL, FALSE },
	{ "bob@exa..mple.com", FALSE, NULL, FALSE },
	{ "bob@exa_mple.com", FALSE, NULL, FALSE },
	{ "\377@example.com", FALSE, NULL, FALSE },
	{ "", FALSE, NULL, FALSE },
};

typedef gboolean (*CheckFunc) (const char *what, const char *value,
			       gboolean allow_empty, MpErrorCode code,
			       char **out, gboolean *needs_utf8,
			       GError **error);

/* the envelope address check (core's mp_address_check_envelope, which
 * smtp-send uses): every case, through @data */
static void
test_addresses (gconstpointer data)
{
	CheckFunc check = (CheckFunc) data;

	for (guint i = 0; i < G_N_ELEMENTS (addr_cases); i++) {
		const AddrCase *c = &addr_cases[i];
		g_autofree char *out = NULL;
		g_autoptr (GError) error = NULL;
		gboolean utf8 = FALSE;
		gboolean ok = check ("recipient", c->in, FALSE, MP_ERROR_USAGE,
				     &out, &utf8, &error);

		g_test_message ("address %u", i);
		g_assert_cmpint (ok, ==, c->ok);
		if (ok) {
			g_assert_no_error (error);
			g_assert_cmpstr (out, ==, c->out);
			g_assert_cmpint (utf8, ==, c->utf8);
		} else {
			g_assert_error (error, MP_ERROR, MP_ERROR_USAGE);
			g_assert_null (out);
		}
	}
}

static void
test_null_sender (void)
{
	g_autofree char *out = NULL;

	g_assert_true (mp_address_check_envelope (
		"--from", "", TRUE, MP_ERROR_USAGE, &out, NULL, NULL));
	g_assert_cmpstr (out, ==, "");
}

/* the one "first From" rule: the account is chosen by it, and without
 * Sender the envelope sender is it, inside a group too */
static void
test_header_from (void)
{
	static const struct {
		const char *from, *first;
	} from_cases[] = {
		{ "Ann <ann@example.org>, bob@example.com", "ann@example.org" },
		{ "Team: ann@example.org, bob@example.com;, carol@example.net",
		  "ann@example.org" },
		{ "Empty:;, carol@example.net", "carol@example.net" },
	};

	for (guint i = 0; i < G_N_ELEMENTS (from_cases); i++) {
		g_autofree char *path = NULL;
		g_autofree char *text = g_strdup_printf (
			"From: %s\nTo: dan@example.org\n\nHello.\n",
			from_cases[i].from);
		g_autoptr (GError) error = NULL;
		g_autoptr (GMimeMessage) msg = NULL;
		g_autoptr (MpEnvelope) env = NULL;
		int fd = g_file_open_tmp ("mp-from-XXXXXX.eml", &path, &error);
		MpInput *in;

		g_assert_no_error (error);
		g_assert_true (g_file_set_contents (path, text, -1, NULL));
		close (fd);
		in = mp_input_open (path, &error);
		g_assert_no_error (error);
		msg = mp_input_parse_message (in, NULL, &error);
		g_assert_no_error (error);
		g_assert_cmpstr (mp_envelope_header_from (msg), ==,
				 from_cases[i].first);
		env = mp_envelope_new_parsed (in, msg, NULL, NULL, FALSE, NULL,
					      &error);
		g_assert_no_error (error);
		g_assert_cmpstr (env->sender, ==, from_cases[i].first);
		g_clear_pointer (&env, mp_envelope_free);
		mp_input_free (in);
		g_unlink (path);
	}
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_mime_init ();
	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autofree char *path =
			g_strdup_printf ("/data/%s", cases[i].name);

		g_test_add_data_func (path, &cases[i], test_case);
	}
	g_test_add_func ("/data/nul_and_8bit_flags", test_flags);
	g_test_add_data_func ("/address/envelope_addresses_checked",
			      (gconstpointer) mp_address_check_envelope,
			      test_addresses);
	g_test_add_func ("/envelope/null_sender", test_null_sender);
	g_test_add_func ("/envelope/header_from", test_header_from);
	return g_test_run ();
}
