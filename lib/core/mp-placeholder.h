/* mp-placeholder: template placeholders, {{name}} and {{{name}}}, as a
 * mail merge fills them (mime-merge) and the building commands let them
 * stand where a checked value goes (--template). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
	gsize start, end; /* its bytes in the string: [start, end) */
	char *name;       /* between the braces, blanks trimmed */
	gboolean raw;     /* {{{name}}}: inserted without escaping */
} MpPlaceholder;

/* The placeholders of @s, in order (an empty array when there is none;
 * free with g_array_unref()).  @what names @s in errors.
 * Errors: MP_ERROR_DATA for "{{" without its closing braces or with an
 * empty name. */
GArray *mp_placeholder_scan (const char *s, const char *what, GError **error);

/* Formats the header field @name: @value as mp_field_format() does,
 * letting placeholders stand for a display name, an address or any
 * word: each is checked and encoded as a plain word would be, then put
 * back as written, for mime-merge to fill and check.  A value without
 * placeholders is formatted as by mp_field_format().
 * Errors: as mp_field_format(), and as mp_placeholder_scan(). */
char *mp_placeholder_format_header (const char *name, const char *value,
				    GError **error);

G_END_DECLS
