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
