/* libFuzzer harness: header encoding, folding and address parsing.
 * The first byte picks the entry point; the rest is the value. */
#include "mp-field.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static void
check_field (const char *f)
{
	const char *p;
	gsize col = 0;

	if (f == NULL)
		return;
	/* a formatted field is 7-bit, ends with a newline, and every line
	 * after the first is a continuation */
	if (f[0] == '\0' || f[strlen (f) - 1] != '\n')
		abort ();
	for (p = f; *p; p++) {
		if ((guchar) *p >= 0x80 || *p == '\r' || *p == '\0')
			abort ();
		if (*p == '\n') {
			if (p[1] && p[1] != ' ' && p[1] != '\t')
				abort ();
			if (col > 998)
				abort ();
			col = 0;
		} else {
			col++;
		}
	}
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
	static gboolean initialised;
	g_autofree char *value = NULL;
	GError *error = NULL;
	char *f = NULL;

	if (!initialised) {
		g_mime_init ();
		initialised = TRUE;
	}
	if (size < 1)
		return 0;
	value = g_strndup ((const char *) data + 1, size - 1);
	if (!mp_field_check_value ("X", value, (gssize) (size - 1), &error)) {
		g_clear_error (&error);
		return 0;
	}
	switch (data[0] % 4) {
	case 0:
		f = mp_field_format_text ("Subject", value);
		break;
	case 1: {
		const char *values[] = { value, NULL };
		f = mp_field_format_addresses ("To", values, NULL, &error);
		break;
	}
	case 2: {
		const char *values[] = { value, NULL };
		f = mp_field_format_msgids ("References", values, &error);
		break;
	}
	default: {
		char *phrase = mp_field_encode_phrase (value);
		for (const char *p = phrase; *p; p++)
			if ((guchar) *p >= 0x80 || *p == '\n')
				abort ();
		g_free (phrase);
		break;
	}
	}
	check_field (f);
	g_free (f);
	g_clear_error (&error);
	return 0;
}
