/* libFuzzer harness: reading a header block, decoding values and address
 * lists, editing.  The whole input is the message (and, for the decoders,
 * the value). */
#include "mp-address.h"
#include "mp-headers.h"
#include "mp-rfc2047.h"

#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

/* Decoded text is valid UTF-8 on one line, without control characters
 * but TAB. */
static void
check_decoded (char *s)
{
	const char *p;

	if (!g_utf8_validate (s, -1, NULL))
		abort ();
	for (p = s; *p; p = g_utf8_next_char (p)) {
		gunichar c = g_utf8_get_char (p);

		if ((c < 0x20 && c != '\t') || (c >= 0x7f && c < 0xa0))
			abort ();
	}
	g_free (s);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
	static gboolean initialised;
	const char *text = (const char *) data;
	g_autoptr (GError) error = NULL;
	g_autoptr (MpHeaders) h = NULL;
	g_autoptr (GPtrArray) specs = g_ptr_array_new_with_free_func (g_free);
	g_autofree char *z = g_strndup (text, size);
	gsize at = 0;
	guint i, n, deleted;

	if (!initialised) {
		g_mime_init ();
		initialised = TRUE;
	}
	check_decoded (mp_rfc2047_decode_text (text, (gssize) size));
	check_decoded (mp_address_decode_list (z, -1));
	mp_address_parse_specs (z, specs);
	for (i = 0; i < specs->len; i++)
		if (*(char *) specs->pdata[i] == '\0')
			abort ();

	h = mp_headers_parse (text, size, &error);
	if (h == NULL)
		return 0;
	/* the entries are the input's first bytes, exactly */
	n = mp_headers_get_n_entries (h);
	for (i = 0; i < n; i++) {
		gsize len;
		const char *b = mp_headers_get_bytes (h, i, &len);

		if (at + len > size || memcmp (b, text + at, len) != 0)
			abort ();
		at += len;
		if (mp_headers_get_name (h, i)) {
			check_decoded (mp_headers_get_value (h, i));
			g_free (mp_headers_get_raw_value (h, i));
		}
	}
	/* edits keep the other entries and their order */
	if (!mp_headers_add (h, "X-Fuzz", "é", &error))
		abort ();
	if (mp_headers_get_n_entries (h) != n + 1)
		abort ();
	deleted = mp_headers_delete (h, "X-Fuzz");
	if (deleted == 0 || mp_headers_get_n_entries (h) + deleted != n + 1)
		abort ();
	if (!mp_headers_set (h, "Subject", "x", &error))
		abort ();
	return 0;
}
