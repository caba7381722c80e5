/* mp-address: one addr-spec checked, as a header field holds it (IDN
 * domains as A-labels) and as it goes in the envelope (RFC 5321 4.1.2). */
#include "mp-address.h"
#include "mp-charset.h"
#include "mp-error.h"

#include <string.h>

/* ---- addresses we write: checked, IDN domains as A-labels ------------ */

gboolean
mp_address_is_atext (guchar c)
{
	/* RFC 5322 3.2.3 */
	return g_ascii_isalnum (c) ||
	       (c != 0 && strchr ("!#$%&'*+-/=?^_`{|}~", c));
}

static gboolean
is_dot_atom (const char *s, gsize len)
{
	gsize i;

	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return FALSE;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return FALSE;
		} else if (!mp_address_is_atext ((guchar) s[i])) {
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean
valid_hostname (const char *d)
{
	const char *label = d;
	gsize total = strlen (d);

	if (total == 0 || total > 253)
		return FALSE;
	for (;;) {
		const char *dot = strchr (label, '.');
		gsize n = dot ? (gsize) (dot - label) : strlen (label);
		gsize i;

		if (n == 0 || n > 63 || label[0] == '-' || label[n - 1] == '-')
			return FALSE;
		for (i = 0; i < n; i++)
			if (!g_ascii_isalnum (label[i]) && label[i] != '-' &&
			    label[i] != '_')
				return FALSE;
		if (!dot)
			return TRUE;
		label = dot + 1;
	}
}

/* RFC 5891 4.2.3: every A-label (xn--, in any case) of @domain decodes to
 * a U-label that encodes back to it; else no one can deliver to it. */
static gboolean
valid_a_labels (const char *domain)
{
	g_auto (GStrv) labels = NULL;
	const char *p = domain;

	/* most domains have no A-label: nothing to split then */
	while (p != NULL && g_ascii_strncasecmp (p, "xn--", 4) != 0) {
		p = strchr (p, '.');
		p = p ? p + 1 : NULL;
	}
	if (p == NULL)
		return TRUE;
	labels = g_strsplit (domain, ".", -1);

	for (guint i = 0; labels[i]; i++) {
		g_autofree char *u = NULL;
		g_autofree char *back = NULL;
		g_autofree char *lower = NULL;

		if (g_ascii_strncasecmp (labels[i], "xn--", 4) != 0)
			continue;
		u = g_hostname_to_unicode (labels[i]);
		back = u && *u ? g_hostname_to_ascii (u) : NULL;
		lower = g_ascii_strdown (labels[i], -1);
		if (back == NULL || strcmp (back, lower) != 0)
			return FALSE;
	}
	return TRUE;
}

char *
mp_address_check_spec (const char *header, const char *addr, GError **error)
{
	const char *at = strrchr (addr, '@');
	g_autofree char *local = NULL;
	g_autofree char *domain = NULL;

	if (at == NULL || at == addr || at[1] == '\0') {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: \"%s\": not an address (expected "
			     "user@domain)",
			     header, addr);
		return NULL;
	}
	local = g_strndup (addr, (gsize) (at - addr));
	/* RFC 5321 4.5.3.1.1 */
	if (strlen (local) > 64) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: \"%s\": the part before @ is longer than 64 "
			     "octets",
			     header, addr);
		return NULL;
	}
	if (!mp_charset_is_printable_ascii (local)) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: \"%s\": the part before @ must be ASCII "
			     "(UTF-8 local parts need RFC 6532, not "
			     "supported)",
			     header, addr);
		return NULL;
	}
	if (!is_dot_atom (local, strlen (local)) &&
	    !(local[0] == '"' && strlen (local) >= 2 &&
	      local[strlen (local) - 1] == '"')) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: \"%s\": invalid local part", header, addr);
		return NULL;
	}
	if (at[1] == '[') {
		domain = g_strdup (at + 1);
		if (domain[strlen (domain) - 1] != ']' ||
		    !mp_charset_is_printable_ascii (domain)) {
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s: \"%s\": invalid domain literal",
				     header, addr);
			return NULL;
		}
	} else {
		/* RFC 5891: IDN domains travel as A-labels */
		domain = g_hostname_to_ascii (at + 1);
		if (domain == NULL || !valid_hostname (domain) ||
		    !valid_a_labels (domain)) {
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s: \"%s\": invalid domain", header,
				     addr);
			return NULL;
		}
	}
	return g_strconcat (local, "@", domain, NULL);
}

/* RFC 5321 4.1.2 Mailbox as it goes in MAIL FROM and RCPT TO: what
 * smtp-send writes on the wire, apart from what a header may hold. */
/* No option look-alike, no line break, control character or character
 * that would end the path or start a parameter; valid UTF-8.  *@utf8 is
 * set when there is a non-ASCII byte. */
static gboolean
envelope_chars (const char *what, const char *value, MpErrorCode code,
		gboolean *utf8, GError **error)
{
	/* lettre CVE-2020-28247: a value starting with '-' becomes an
	 * option of whatever the address is handed to next. */
	if (value[0] == '-') {
		g_set_error (error, MP_ERROR, code,
			     "%s: %s: an address may not start with '-'", what,
			     value);
		return FALSE;
	}
	for (const char *p = value; *p != '\0'; p++) {
		guchar c = (guchar) *p;

		/* msmtp, curl, swaks: CR LF in an address injected a
		 * second command into the session. */
		if (c == '\r' || c == '\n') {
			g_set_error (error, MP_ERROR, code,
				     "%s: address contains a line break", what);
			return FALSE;
		}
		if (c < 0x20 || c == 0x7f) {
			g_set_error (error, MP_ERROR, code,
				     "%s: address contains a control character",
				     what);
			return FALSE;
		}
		if (c == ' ' || c == '<' || c == '>' || c == '"' || c == ',' ||
		    c == '\\' || c == '(' || c == ')') {
			g_set_error (error, MP_ERROR, code,
				     "%s: %s: '%c' is not allowed in an "
				     "envelope address",
				     what, value, c);
			return FALSE;
		}
		if (c >= 0x80)
			*utf8 = TRUE;
	}
	if (*utf8 && !g_utf8_validate (value, -1, NULL)) {
		g_set_error (error, MP_ERROR, code,
			     "%s: address is not valid UTF-8", what);
		return FALSE;
	}
	return TRUE;
}

/* The domain after @at: an address literal, or a host name as A-labels
 * (at most 255 octets).  NULL with @error set. */
static char *
envelope_domain (const char *what, const char *value, const char *at,
		 MpErrorCode code, GError **error)
{
	g_autofree char *domain = NULL;

	if (at[1] == '[') {
		domain = g_strdup (at + 1);
		if (domain[strlen (domain) - 1] != ']' ||
		    strchr (domain + 1, '[') != NULL) {
			g_set_error (error, MP_ERROR, code,
				     "%s: %s: bad address literal", what,
				     value);
			return NULL;
		}
	} else {
		domain = g_hostname_to_ascii (at + 1);
		if (domain == NULL) {
			g_set_error (error, MP_ERROR, code,
				     "%s: %s: invalid domain", what, value);
			return NULL;
		}
		for (const char *p = domain; *p != '\0'; p++) {
			if (!g_ascii_isalnum (*p) && *p != '-' && *p != '.') {
				g_set_error (error, MP_ERROR, code,
					     "%s: %s: invalid domain", what,
					     value);
				return NULL;
			}
		}
		if (domain[0] == '.' || domain[0] == '-' ||
		    strstr (domain, "..") != NULL) {
			g_set_error (error, MP_ERROR, code,
				     "%s: %s: invalid domain", what, value);
			return NULL;
		}
	}
	if (strlen (domain) > 255) {
		g_set_error (error, MP_ERROR, code,
			     "%s: %s: domain longer than 255 octets", what,
			     value);
		return NULL;
	}
	return g_steal_pointer (&domain);
}

gboolean
mp_address_check_envelope (const char *what, const char *value,
			   gboolean allow_empty, MpErrorCode code, char **out,
			   gboolean *needs_utf8, GError **error)
{
	g_autofree char *domain = NULL;
	const char *at;
	gsize len;
	gboolean utf8 = FALSE;

	*out = NULL;
	if (needs_utf8 != NULL)
		*needs_utf8 = FALSE;
	if (value == NULL)
		value = "";
	len = strlen (value);
	if (len == 0) {
		if (allow_empty) {
			*out = g_strdup ("");
			return TRUE;
		}
		g_set_error (error, MP_ERROR, code, "%s: empty address", what);
		return FALSE;
	}
	if (!envelope_chars (what, value, code, &utf8, error))
		return FALSE;
	at = strrchr (value, '@');
	if (at == NULL || at == value || at[1] == '\0') {
		g_set_error (error, MP_ERROR, code,
			     "%s: %s: not an address (local@domain)", what,
			     value);
		return FALSE;
	}
	if (at - value > 64) {
		g_set_error (error, MP_ERROR, code,
			     "%s: %s: local part longer than 64 octets", what,
			     value);
		return FALSE;
	}
	domain = envelope_domain (what, value, at, code, error);
	if (domain == NULL)
		return FALSE;
	/* local part ASCII or UTF-8 (which needs SMTPUTF8), domain ASCII */
	utf8 = FALSE;
	for (const char *p = value; p < at; p++)
		if ((guchar) *p >= 0x80)
			utf8 = TRUE;
	*out = g_strdup_printf ("%.*s@%s", (int) (at - value), value, domain);
	if (strlen (*out) > 254) {
		g_set_error (error, MP_ERROR, code,
			     "%s: %s: address longer than 254 octets", what,
			     value);
		g_clear_pointer (out, g_free);
		return FALSE;
	}
	if (needs_utf8 != NULL)
		*needs_utf8 = utf8;
	return TRUE;
}
