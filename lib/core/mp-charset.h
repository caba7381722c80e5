/* mp-charset: charset labels and conversion.  One table of the charsets
 * mimepipe writes, each under its IANA preferred MIME name (RFC 2978, in
 * lower case as mail writes it), which Python's email, iconv and mail
 * clients all read; conversion to UTF-8 through iconv, whatever the
 * locale. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The IANA preferred MIME name of the charset @label (case, '-', '_' and
 * ' ' ignored; common aliases such as latin1, cp1252, sjis, euc-cn
 * understood): "windows-1252", "shift_jis", "gb2312"...  Static; NULL
 * when @label is not in the table. */
const char *mp_charset_mime_name (const char *label);

/* The name iconv knows @label by: from the table when it is there, else
 * @label itself.  Static or @label. */
const char *mp_charset_iconv_name (const char *label);

/* Checks a charset given by the user for text we write (an option or a
 * parameter): returns its MIME name (static).  Errors: MP_ERROR_USAGE
 * naming @label when it is not in the table. */
const char *mp_charset_lookup (const char *label, GError **error);

/* Appends @len bytes in charset @label to @out as UTF-8, each byte that
 * cannot be converted as U+FFFD (never a failure).  Returns FALSE, and
 * appends nothing, when iconv knows no such charset. */
gboolean mp_charset_append_utf8 (GString *out, const char *label,
				 const char *data, gsize len);

/* TRUE when @s holds printable US-ASCII only (0x20 to 0x7e). */
gboolean mp_charset_is_printable_ascii (const char *s);

G_END_DECLS
