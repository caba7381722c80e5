/* mp-date: the Date field (RFC 5322 3.3) and the date a new message gets. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Formats @d as RFC 5322 3.3 wants it ("Thu, 3 Dec 2026 05:30:00 +0000"),
 * with English names whatever the locale.  Newly allocated. */
char *mp_date_format (GDateTime *d);

/* The date of a new message: SOURCE_DATE_EPOCH (UTC) when it is set to a
 * number of seconds, else now in local time.  Newly allocated. */
GDateTime *mp_date_default (void);

G_END_DECLS

/* Reads an RFC 5322 date ("Thu, 3 Dec 2026 05:30:00 +0000"; the day of
 * the week, the time, the seconds and comments optional, obsolete zone
 * names, two-digit years and numeric dates understood, the tokens in any
 * order as broken mailers write them, other words skipped: as GMime's
 * g_mime_utils_header_decode_date() read them).  A date without a zone
 * is UTC.  NULL when @value is not a date.  Newly allocated. */
GDateTime *mp_date_parse (const char *value);

/* Formats @d as mp_date_format() does, but with a two-digit day and a
 * four-digit year ("Thu, 03 Dec 2026 05:30:00 +0000"), as GMime writes
 * it.  Newly allocated. */
char *mp_date_format_padded (GDateTime *d);
