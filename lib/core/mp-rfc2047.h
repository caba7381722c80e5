/* mp-rfc2047: header values as they arrive, decoded for display as
 * Python's email decodes them: RFC 2047 encoded words, raw 8-bit text,
 * and nothing a terminal would obey.  (Encoding what we write is
 * mp-field's, as it folds the line.) */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Decodes a raw (unstructured) header value for display, as Python's email does with
 * policy=default: line breaks removed, leading blanks stripped, RFC 2047
 * encoded words decoded wherever they appear (also without surrounding
 * blanks and inside quoted strings), blanks between encoded words
 * dropped, adjacent encoded words of one charset joined before
 * conversion (a character split between them survives).  Unknown or
 * wrong charsets and invalid bytes give U+FFFD, never a failure; raw
 * 8-bit text is UTF-8 when the whole value is valid UTF-8, else Latin-1;
 * Latin-1 (labelled or raw) is read as its superset windows-1252.  The
 * result is valid UTF-8, one line, safe to print: CR and LF become
 * blanks, NUL and other control characters (but TAB) become U+FFFD.
 * @len -1: NUL-terminated.  Newly allocated. */
char *mp_rfc2047_decode_text (const char *raw, gssize len);

/* One value, one line, one C string, nothing a terminal would obey: CR
 * and LF become blanks; NUL, other control characters (C0 but TAB, DEL,
 * C1: escape sequences) and invalid UTF-8 become U+FFFD.  Frees @s;
 * returns a newly allocated string. */
char *mp_rfc2047_make_safe (GString *s);

G_END_DECLS
