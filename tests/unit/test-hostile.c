/* Regression tests for what fuzzing and hostile input found (issue 9):
 * each case is an input that once looped, crashed or was read two ways,
 * and what must happen to it now. */
#include "mp-error.h"
#include "mp-address.h"
#include "mp-headers.h"

#include <gmime/gmime.h>
#include <string.h>

/* ---- address lists: every input ends, and gives these addr-specs ---- */

typedef struct {
	const char *what;
	const char *raw;
	const char *specs; /* joined by spaces */
} AddrCase;

static const AddrCase addr_cases[] = {
	/* fuzz-headers: a stray ')' was an empty atom, pushed forever */
	{ "a stray comment end after an address is ignored (as Python)",
	  "b@example.org), c@example.org", "b@example.org c@example.org" },
	{ "a stray comment end alone", ")", "" },
	{ "stray comment ends everywhere", ")a@example.org)) ,)",
	  "a@example.org" },
	{ "a stray comment end inside angle brackets", "Ann <ann@example.org)>",
	  "ann@example.org" },
	{ "an unterminated comment runs to the end", "a@example.org (x",
	  "a@example.org" },
	/* fuzz-address: an empty quoted string gave an empty addr-spec */
	{ "a lone quote is no address", "\"", "" },
	{ "an empty angle-addr is the null path", "<>", "<>" },
};

static void
test_addr_specs (gconstpointer data)
{
	const AddrCase *c = data;
	g_autoptr (GPtrArray) specs = g_ptr_array_new_with_free_func (g_free);
	g_autofree char *joined = NULL;

	mp_address_parse_specs (c->raw, specs);
	g_ptr_array_add (specs, NULL);
	joined = g_strjoinv (" ", (char **) specs->pdata);
	g_assert_cmpstr (joined, ==, c->specs);
}

/* ---- a CR without LF in the header block is refused ------------------ */

typedef struct {
	const char *what;
	const char *message;
	gboolean refused;
} CrCase;

static const CrCase cr_cases[] = {
	{ "a field hidden behind a bare CR (Bcc smuggling)",
	  "Subject: x\rBcc: secret@example.org\nTo: b@example.org\n\nbody\n",
	  TRUE },
	{ "CR-only line endings",
	  "From: a@example.org\rTo: b@example.org\r\rbody\r", TRUE },
	{ "a bare CR at the end of an unterminated block", "Subject: x\r",
	  TRUE },
	{ "a bare CR in a continuation line", "Subject: x\n y\rz\n\nbody\n",
	  TRUE },
	{ "CRLF line endings are fine",
	  "Subject: x\r\nTo: b@example.org\r\n\r\nbody\r\n", FALSE },
	{ "a bare CR in the body is not the header's business",
	  "Subject: x\n\nbody\rmore\n", FALSE },
	{ "a CRLF split from its LF at the end of the block",
	  "Subject: x\r\n\r\n", FALSE },
};

static void
test_bare_cr (gconstpointer data)
{
	const CrCase *c = data;
	g_autoptr (GError) error = NULL;
	g_autoptr (MpHeaders) h = NULL;
	g_autoptr (MpHeaders) pieces = mp_headers_new ("pieces");
	gboolean ok = TRUE;
	gsize i, len = strlen (c->message);

	h = mp_headers_parse (c->message, len, &error);
	if (c->refused) {
		g_assert_null (h);
		g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
		g_assert_nonnull (strstr (error->message, "CR without LF"));
	} else {
		g_assert_no_error (error);
		g_assert_nonnull (h);
	}
	/* the same verdict a byte at a time: a CR at the end of one piece
	 * may be followed by the LF in the next */
	for (i = 0; i < len && ok; i++)
		ok = mp_headers_feed (pieces, c->message + i, 1, NULL);
	if (ok)
		ok = mp_headers_finish (pieces, NULL);
	g_assert_cmpint (ok, ==, !c->refused);
}

int
main (int argc, char **argv)
{
	gsize i;

	g_test_init (&argc, &argv, NULL);
	g_mime_init ();
	for (i = 0; i < G_N_ELEMENTS (addr_cases); i++) {
		g_autofree char *path = g_strdup_printf (
			"/hostile/addr-specs/%s", addr_cases[i].what);
		g_test_add_data_func (path, &addr_cases[i], test_addr_specs);
	}
	for (i = 0; i < G_N_ELEMENTS (cr_cases); i++) {
		g_autofree char *path = g_strdup_printf ("/hostile/bare-cr/%s",
							 cr_cases[i].what);
		g_test_add_data_func (path, &cr_cases[i], test_bare_cr);
	}
	return g_test_run ();
}
