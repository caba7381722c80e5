#include "mp-multipart.h"

#include <string.h>

/* The token of every boundary: 24 characters of [0-9a-z] hold 124 bits,
 * enough that a boundary never occurs by chance. */
#define TOKEN_CHARS 24

/* MP_MULTIPART_MARKED: a prefix holding "=_", which no base64 or
 * quoted-printable text holds (RFC 2045 6.7: "=" starts a hex pair or a
 * soft line break).  Most are "=_"; the others are for a message that
 * holds a short boundary every "=_..." starts with.  Each is "=_" or one
 * character then "=_" (mp_multipart_like_marked_delimiter()). */
static const char *const marked_prefixes[] = {
	"=_", "_=_", "-=_", ".=_", "+=_", "0=_", "1=_", "a=_", "b=_", "z=_",
};

char *
mp_multipart_boundary_new (MpRandom *random, MpMultipartStyle style,
			   guint variant)
{
	g_autofree char *token = mp_random_token (random, TOKEN_CHARS);

	if (style == MP_MULTIPART_PLAIN)
		return g_steal_pointer (&token);
	return g_strconcat (
		marked_prefixes[variant % G_N_ELEMENTS (marked_prefixes)],
		token, NULL);
}

gboolean
mp_multipart_like_marked_delimiter (const char *p, gsize avail)
{
	return avail >= 5 && p[0] == '-' && p[1] == '-' &&
	       ((p[2] == '=' && p[3] == '_') || (p[3] == '=' && p[4] == '_'));
}

void
mp_multipart_append_content_type (GString *out, const char *type,
				  const char *root_type, const char *boundary,
				  MpMultipartStyle style)
{
	gsize start = out->len;

	g_string_append_printf (out, "Content-Type: %s", type);
	if (root_type)
		g_string_append_printf (out, "; type=\"%s\"", root_type);
	if (style == MP_MULTIPART_PLAIN) {
		g_string_append_printf (out, "; boundary=%s\n", boundary);
		return;
	}
	/* 13: the length of '; boundary=""' */
	g_string_append_printf (
		out, ";%sboundary=\"%s\"\n",
		out->len - start + strlen (boundary) + 13 > 78 ? "\n " : " ",
		boundary);
}

char *
mp_multipart_delimiter (const char *boundary, gboolean after_part)
{
	return g_strdup_printf ("%s--%s\n", after_part ? "\n" : "", boundary);
}

char *
mp_multipart_close_delimiter (const char *boundary, gboolean line_end)
{
	return g_strdup_printf ("\n--%s--%s", boundary, line_end ? "\n" : "");
}
