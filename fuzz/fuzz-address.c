/* libFuzzer harness: address lists.  The input is a raw header value as
 * it comes in a message: mp_address_parse_specs() reads its
 * addr-specs (what mime-header --addresses prints and smtp-send -t takes
 * as recipients).  When the same text is also a valid address list for
 * mp_field_format_addresses() (a command-line value), the field it
 * formats must be read back to the same number of addresses, each with no
 * line break, control character or blank in it. */
#include "mp-field.h"
#include "mp-address.h"
#include "mp-headers.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

/* An addr-spec read from a raw header is printed one per line by
 * mime-header --addresses: it may carry whatever the header carried, but
 * never a line break.  One we formatted ourselves holds no control. */
static void
check_spec (const char *s, gboolean ours)
{
	const char *p;

	if (*s == '\0')
		abort ();
	for (p = s; *p; p++)
		if (*p == '\r' || *p == '\n' ||
		    (ours && ((guchar) *p < 0x20 || *p == 0x7f)))
			abort ();
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
	static gboolean initialised;
	g_autofree char *raw = NULL;
	g_autofree char *field = NULL;
	g_autoptr (GPtrArray) specs = g_ptr_array_new_with_free_func (g_free);
	g_autoptr (GPtrArray) again = g_ptr_array_new_with_free_func (g_free);
	g_autoptr (GError) error = NULL;
	const char *values[2] = { NULL, NULL };
	guint i, n, mailboxes = 0;

	if (!initialised) {
		g_mime_init ();
		initialised = TRUE;
	}
	raw = g_strndup ((const char *) data, size);
	n = mp_address_parse_specs (raw, specs);
	if (n != specs->len)
		abort ();
	for (i = 0; i < specs->len; i++)
		check_spec (specs->pdata[i], FALSE);

	if (!mp_field_check_value ("To", raw, -1, NULL) ||
	    !g_utf8_validate (raw, -1, NULL))
		return 0;
	values[0] = raw;
	field = mp_field_format_addresses ("To", values, &mailboxes, &error);
	if (field == NULL)
		return 0;
	if (strncmp (field, "To: ", 4) != 0)
		abort ();
	/* unfold, then read the addresses back from what we would write */
	{
		g_autofree char *value = g_strdup (field + 4);
		char *p, *q;

		for (p = q = value; *p; p++)
			if (*p != '\n')
				*q++ = *p;
		*q = '\0';
		mp_address_parse_specs (value, again);
	}
	if (again->len != mailboxes)
		abort ();
	for (i = 0; i < again->len; i++) {
		const char *s = again->pdata[i];

		check_spec (s, TRUE);
		if (strchr (s, ' ') && s[0] != '"')
			abort ();
	}
	return 0;
}
