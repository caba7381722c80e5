/* libFuzzer harness fuzz-headers-pieces: mp-headers, the header block
 * mime-header streams.
 * The input is a message.  Its first byte picks the size of the pieces
 * it is fed in (1 to 64 bytes: byte-at-a-time included); the result must
 * be the same as parsing it whole.  Then every field is read, decoded and
 * its addresses parsed, the block is edited and written out. */
#include "mp-address.h"
#include "mp-headers.h"
#include "mp-rfc2047.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

/* decoded text is valid UTF-8 without CR, LF or NUL (mp-headers.h) */
static void
check_decoded (const char *s)
{
	if (s == NULL)
		return;
	if (!g_utf8_validate (s, -1, NULL) || strpbrk (s, "\r\n"))
		abort ();
}

static void
same_entries (MpHeaders *a, MpHeaders *b)
{
	guint i, n = mp_headers_get_n_entries (a);

	if (n != mp_headers_get_n_entries (b))
		abort ();
	if (strcmp (mp_headers_get_eol (a), mp_headers_get_eol (b)) != 0)
		abort ();
	for (i = 0; i < n; i++) {
		gsize la, lb;
		const char *ba = mp_headers_get_bytes (a, i, &la);
		const char *bb = mp_headers_get_bytes (b, i, &lb);

		if (la != lb || memcmp (ba, bb, la) != 0)
			abort ();
	}
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
	static gboolean initialised;
	g_autoptr (MpHeaders) whole = NULL;
	g_autoptr (MpHeaders) pieces = NULL;
	g_autoptr (MpOutput) out = NULL;
	g_autoptr (GError) e1 = NULL;
	g_autoptr (GError) e2 = NULL;
	const char *msg;
	gsize len, step, off, total = 0;
	guint i, n;

	if (!initialised) {
		int fd = open ("/dev/null", O_WRONLY);

		/* mp_headers_write_message() writes to stdout */
		if (fd < 0 || dup2 (fd, STDOUT_FILENO) < 0)
			abort ();
		close (fd);
		g_mime_init ();
		initialised = TRUE;
	}
	if (size < 1)
		return 0;
	step = (gsize) (data[0] % 64) + 1;
	msg = (const char *) data + 1;
	len = size - 1;

	{
		char *d = mp_rfc2047_decode_text (msg, (gssize) len);
		check_decoded (d);
		g_free (d);
	}

	whole = mp_headers_parse (msg, len, &e1);
	pieces = mp_headers_new ("fuzz");
	for (off = 0; off < len && e2 == NULL; off += step)
		mp_headers_feed (pieces, msg + off, MIN (step, len - off), &e2);
	if (e2 == NULL)
		mp_headers_finish (pieces, &e2);
	/* the pieces do not change the verdict, nor what is read */
	if ((whole == NULL) != (e2 != NULL))
		abort ();
	if (whole == NULL)
		return 0;
	same_entries (whole, pieces);

	n = mp_headers_get_n_entries (whole);
	for (i = 0; i < n; i++) {
		g_autoptr (GPtrArray) specs =
			g_ptr_array_new_with_free_func (g_free);
		g_autofree char *raw = mp_headers_get_raw_value (whole, i);
		g_autofree char *value = mp_headers_get_value (whole, i);
		gsize blen;
		const char *bytes = mp_headers_get_bytes (whole, i, &blen);

		/* the entries are the start of the input, byte for byte */
		if (total + blen > len || memcmp (msg + total, bytes, blen))
			abort ();
		total += blen;
		if ((raw == NULL) != (mp_headers_get_name (whole, i) == NULL))
			abort ();
		check_decoded (value);
		if (raw)
			mp_address_parse_specs (raw, specs);
	}

	mp_headers_set (whole, "Subject", "fuzzed \xc3\xa9", NULL);
	mp_headers_delete (whole, "Received");
	mp_headers_add (whole, "To", "Ann <ann@example.org>, b@example.com",
			NULL);
	out = mp_output_open (NULL, FALSE, NULL);
	if (out == NULL || !mp_headers_write_message (whole, out, &e1) ||
	    !mp_output_close (out, &e1))
		abort ();
	return 0;
}
