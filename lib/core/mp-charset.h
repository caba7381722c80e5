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

/* The one conversion to UTF-8 of text read from elsewhere, which never
 * fails on the data: each byte that cannot be converted becomes U+FFFD
 * (after it the converter starts afresh), and a character cut by the edge
 * between two pieces is carried over to the next.  Used whole by
 * mp_charset_append_utf8(), piece by piece by mp-show. */
typedef struct _MpCharsetDecoder MpCharsetDecoder;

/* Where a decoder puts its output: @len bytes of UTF-8, whole
 * characters. */
typedef void (*MpCharsetSink) (const char *utf8, gsize len, gpointer user_data);

/* A decoder from the charset iconv knows as @iconv_name (see
 * mp_charset_iconv_name()).  NULL, with errno set, when iconv knows no
 * such charset. */
MpCharsetDecoder *mp_charset_decoder_new (const char *iconv_name);
void mp_charset_decoder_free (MpCharsetDecoder *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MpCharsetDecoder, mp_charset_decoder_free)

/* Converts @len bytes of @data, the next piece of the text, to @sink.
 * Unless @last, an incomplete character at the end (up to 15 bytes) is
 * kept for the next piece; with @last it becomes U+FFFD, and what the
 * converter held back (windows-1255 and -1258 wait for a combining mark
 * after a letter) is written. */
void mp_charset_decoder_feed (MpCharsetDecoder *d, const char *data, gsize len,
			      gboolean last, MpCharsetSink sink,
			      gpointer user_data);

/* Appends @len bytes in charset @label to @out as UTF-8 (an
 * MpCharsetDecoder over the whole; a NUL byte becomes U+FFFD too): never
 * a failure on the data.  Returns FALSE, and appends nothing, when iconv
 * knows no such charset. */
gboolean mp_charset_append_utf8 (GString *out, const char *label,
				 const char *data, gsize len);

/* TRUE when @s holds printable US-ASCII only (0x20 to 0x7e). */
gboolean mp_charset_is_printable_ascii (const char *s);

G_END_DECLS
