#include "mp-charset.h"
#include "mp-error.h"

#include <errno.h>
#include <gmime/gmime.h>
#include <string.h>

typedef struct {
	const char *mime;  /* IANA preferred MIME name, lower case */
	const char *iconv; /* as glibc's iconv names it */
	const char *aliases;
} Charset;

/* RFC 2978 and the IANA character sets registry; aliases are compared
 * with case, '-', '_' and ' ' ignored.  GMime's own table would write
 * windows-cp1252 for windows-1252 and GBK for gb2312, which Python's
 * email does not read, hence ours. */
static const Charset charsets[] = {
	{ "utf-8", "UTF-8", "utf8" },
	{ "us-ascii", "US-ASCII", "ascii ansix3.41968 iso646us" },
	{ "iso-8859-1", "ISO-8859-1", "iso88591 latin1 l1" },
	{ "iso-8859-2", "ISO-8859-2", "iso88592 latin2 l2" },
	{ "iso-8859-3", "ISO-8859-3", "iso88593 latin3 l3" },
	{ "iso-8859-4", "ISO-8859-4", "iso88594 latin4 l4" },
	{ "iso-8859-5", "ISO-8859-5", "iso88595 cyrillic" },
	{ "iso-8859-6", "ISO-8859-6", "iso88596 arabic" },
	{ "iso-8859-7", "ISO-8859-7", "iso88597 greek" },
	{ "iso-8859-8", "ISO-8859-8", "iso88598 hebrew" },
	{ "iso-8859-9", "ISO-8859-9", "iso88599 latin5 l5" },
	{ "iso-8859-10", "ISO-8859-10", "iso885910 latin6 l6" },
	{ "iso-8859-11", "ISO-8859-11", "iso885911 tis620" },
	{ "iso-8859-13", "ISO-8859-13", "iso885913 latin7 l7" },
	{ "iso-8859-14", "ISO-8859-14", "iso885914 latin8 l8" },
	{ "iso-8859-15", "ISO-8859-15", "iso885915 latin9 l9" },
	{ "iso-8859-16", "ISO-8859-16", "iso885916 latin10 l10" },
	{ "windows-1250", "WINDOWS-1250", "windows1250 cp1250" },
	{ "windows-1251", "WINDOWS-1251", "windows1251 cp1251" },
	{ "windows-1252", "WINDOWS-1252", "windows1252 cp1252" },
	{ "windows-1253", "WINDOWS-1253", "windows1253 cp1253" },
	{ "windows-1254", "WINDOWS-1254", "windows1254 cp1254" },
	{ "windows-1255", "WINDOWS-1255", "windows1255 cp1255" },
	{ "windows-1256", "WINDOWS-1256", "windows1256 cp1256" },
	{ "windows-1257", "WINDOWS-1257", "windows1257 cp1257" },
	{ "windows-1258", "WINDOWS-1258", "windows1258 cp1258" },
	{ "koi8-r", "KOI8-R", "koi8r" },
	{ "koi8-u", "KOI8-U", "koi8u" },
	{ "shift_jis", "SHIFT_JIS", "shiftjis sjis mskanji xsjis" },
	{ "euc-jp", "EUC-JP", "eucjp xeucjp" },
	{ "iso-2022-jp", "ISO-2022-JP", "iso2022jp" },
	{ "gb2312", "GB2312", "gb2312 euccn xeuccn" },
	{ "gbk", "GBK", "gbk cp936" },
	{ "gb18030", "GB18030", "gb18030" },
	{ "big5", "BIG5", "big5 cnbig5 xxbig5" },
	{ "euc-kr", "EUC-KR", "euckr ksc56011987 ksc5601 xeuckr" },
};

/* @label lower case without '-', '_' and ' ' */
static char *
squeeze (const char *label)
{
	GString *s = g_string_new (NULL);

	for (; *label; label++)
		if (*label != '-' && *label != '_' && *label != ' ')
			g_string_append_c (s, g_ascii_tolower (*label));
	return g_string_free (s, FALSE);
}

static const Charset *
find (const char *label)
{
	g_autofree char *key = NULL;
	gsize i;

	if (label == NULL)
		return NULL;
	key = squeeze (label);
	for (i = 0; i < G_N_ELEMENTS (charsets); i++) {
		g_autofree char *mime = squeeze (charsets[i].mime);
		g_auto (GStrv) aliases =
			g_strsplit (charsets[i].aliases, " ", -1);

		if (strcmp (key, mime) == 0 ||
		    g_strv_contains ((const char *const *) aliases, key))
			return &charsets[i];
	}
	return NULL;
}

const char *
mp_charset_mime_name (const char *label)
{
	const Charset *c = find (label);

	return c ? c->mime : NULL;
}

const char *
mp_charset_iconv_name (const char *label)
{
	const Charset *c = find (label);

	return c ? c->iconv : label;
}

const char *
mp_charset_lookup (const char *label, GError **error)
{
	const Charset *c = find (label);

	if (c == NULL) {
		const char *shown =
			label ? label : ""; /* mp_cli_fail() escapes */

		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "\"%s\": unknown charset (give an IANA name such "
			     "as utf-8, iso-8859-15, windows-1252, koi8-r, "
			     "shift_jis, euc-kr, gb18030 or big5)",
			     shown);
		return NULL;
	}
	return c->mime;
}

struct _MpCharsetDecoder {
	GIConv cd;
	char carry[16]; /* an incomplete character between two pieces */
	gsize ncarry;
};

MpCharsetDecoder *
mp_charset_decoder_new (const char *iconv_name)
{
	GIConv cd = g_iconv_open ("UTF-8", iconv_name);
	MpCharsetDecoder *d;

	if (cd == (GIConv) -1)
		return NULL;
	d = g_new0 (MpCharsetDecoder, 1);
	d->cd = cd;
	return d;
}

void
mp_charset_decoder_free (MpCharsetDecoder *d)
{
	if (d == NULL)
		return;
	g_iconv_close (d->cd);
	g_free (d);
}

void
mp_charset_decoder_feed (MpCharsetDecoder *d, const char *data, gsize len,
			 gboolean last, MpCharsetSink sink, gpointer user_data)
{
	g_autofree char *joined = NULL;
	char *in = (char *) data;
	gsize inleft = len;
	char outbuf[4096];

	if (d->ncarry) {
		joined = g_malloc (d->ncarry + len);
		memcpy (joined, d->carry, d->ncarry);
		memcpy (joined + d->ncarry, data, len);
		in = joined;
		inleft = d->ncarry + len;
		d->ncarry = 0;
	}
	while (inleft > 0) {
		char *out = outbuf;
		gsize outleft = sizeof outbuf;
		gsize rv = g_iconv (d->cd, &in, &inleft, &out, &outleft);
		int errsv = errno;

		sink (outbuf, (gsize) (out - outbuf), user_data);
		if (rv != (gsize) -1 || errsv == E2BIG)
			continue;
		if (errsv == EINVAL && !last && inleft < sizeof d->carry) {
			memcpy (d->carry, in, inleft);
			d->ncarry = inleft;
			break;
		}
		/* EILSEQ, or an incomplete character at the end */
		sink ("\xef\xbf\xbd", 3, user_data);
		in++;
		inleft--;
		g_iconv (d->cd, NULL, NULL, NULL, NULL);
	}
	if (last) {
		char *out = outbuf;
		gsize outleft = sizeof outbuf;

		g_iconv (d->cd, NULL, NULL, &out, &outleft);
		sink (outbuf, (gsize) (out - outbuf), user_data);
	}
}

/* a NUL byte as U+FFFD too: header text holds none */
static void
append_valid (const char *utf8, gsize len, gpointer user_data)
{
	g_autofree char *valid = g_utf8_make_valid (utf8, (gssize) len);

	g_string_append (user_data, valid);
}

gboolean
mp_charset_append_utf8 (GString *out, const char *label, const char *data,
			gsize len)
{
	g_autoptr (MpCharsetDecoder) d =
		mp_charset_decoder_new (mp_charset_iconv_name (label));

	/* a label outside our table: GMime knows more aliases, but reads
	 * x-unknown as the locale's charset, which would make the result
	 * depend on LANG */
	if (d == NULL && find (label) == NULL &&
	    g_ascii_strncasecmp (label, "x-", 2) != 0 &&
	    g_ascii_strncasecmp (label, "unknown", 7) != 0)
		d = mp_charset_decoder_new (g_mime_charset_iconv_name (label));
	if (d == NULL)
		return FALSE;
	mp_charset_decoder_feed (d, data, len, TRUE, append_valid, out);
	return TRUE;
}

gboolean
mp_charset_is_printable_ascii (const char *s)
{
	for (; *s; s++)
		if ((guchar) *s < 0x20 || (guchar) *s >= 0x7f)
			return FALSE;
	return TRUE;
}
