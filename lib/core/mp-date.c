#include "mp-date.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const date_days[] = { "Mon", "Tue", "Wed", "Thu",
					 "Fri", "Sat", "Sun" };
static const char *const date_months[] = { "Jan", "Feb", "Mar", "Apr",
					   "May", "Jun", "Jul", "Aug",
					   "Sep", "Oct", "Nov", "Dec" };

/* RFC 5322 3.3, with English names whatever the locale; @padded: a
 * two-digit day and a four-digit year, as GMime writes them */
static char *
format_date (GDateTime *d, gboolean padded)
{
	gint64 off = g_date_time_get_utc_offset (d) / G_TIME_SPAN_MINUTE;
	char sign = off < 0 ? '-' : '+';

	if (off < 0)
		off = -off;
	return g_strdup_printf (
		padded ? "%s, %02d %s %04d %02d:%02d:%02d %c%02d%02d" :
			 "%s, %d %s %d %02d:%02d:%02d %c%02d%02d",
		date_days[g_date_time_get_day_of_week (d) - 1],
		g_date_time_get_day_of_month (d),
		date_months[g_date_time_get_month (d) - 1],
		g_date_time_get_year (d), g_date_time_get_hour (d),
		g_date_time_get_minute (d), g_date_time_get_second (d), sign,
		(int) (off / 60), (int) (off % 60));
}

char *
mp_date_format (GDateTime *d)
{
	return format_date (d, FALSE);
}

/* Now in local time as TZ says: the C library's reading of the zone
 * (localtime_r(3)), cheaper at every start than GLib's GTimeZone, which
 * reads and indexes the whole zone file (issue 21). */
static GDateTime *
now_local (void)
{
	struct tm tm;
	time_t now = time (NULL);
	GTimeZone *tz;
	GDateTime *d, *utc;

	if (localtime_r (&now, &tm) == NULL)
		return g_date_time_new_now_local ();
	tz = g_time_zone_new_offset ((gint32) tm.tm_gmtoff);
	utc = g_date_time_new_from_unix_utc ((gint64) now);
	d = g_date_time_to_timezone (utc, tz);
	g_date_time_unref (utc);
	g_time_zone_unref (tz);
	return d;
}

GDateTime *
mp_date_default (void)
{
	const char *epoch = g_getenv ("SOURCE_DATE_EPOCH");

	if (epoch && *epoch) {
		char *end;
		gint64 secs = g_ascii_strtoll (epoch, &end, 10);

		if (*end == '\0' && end != epoch)
			return g_date_time_new_from_unix_utc (secs);
	}
	return now_local ();
}

char *
mp_date_format_padded (GDateTime *d)
{
	return format_date (d, TRUE);
}

/* RFC 5322 4.3: the obsolete zone names, in hours east of UTC */
static gboolean
zone_name (const char *s, int *hhmm)
{
	static const struct {
		const char *name;
		int hhmm;
	} zones[] = {
		{ "UT", 0 },     { "UTC", 0 },    { "GMT", 0 },
		{ "Z", 0 },      { "EST", -500 }, { "EDT", -400 },
		{ "CST", -600 }, { "CDT", -500 }, { "MST", -700 },
		{ "MDT", -600 }, { "PST", -800 }, { "PDT", -700 },
	};

	for (guint i = 0; i < G_N_ELEMENTS (zones); i++) {
		if (g_ascii_strcasecmp (s, zones[i].name) == 0) {
			*hhmm = zones[i].hhmm;
			return TRUE;
		}
	}
	return FALSE;
}

static gboolean
all_digits (const char *s)
{
	if (*s == '\0')
		return FALSE;
	for (; *s; s++)
		if (!g_ascii_isdigit (*s))
			return FALSE;
	return TRUE;
}

/* The fields of a date as mp_date_parse reads them, token by token; -1
 * marks a field not seen yet */
typedef struct {
	int day, month, year, hour, min, sec;
	int zone;
	gboolean have_zone;
} DateFields;

/* Returns VALUE without its comments, with commas as blanks and the
 * dashes between a day, a month name and a year ("15-Jan-2024") as
 * blanks too */
static GString *
date_clean (const char *value)
{
	GString *clean = g_string_new (NULL);
	int depth = 0;

	for (const char *p = value; *p; p++) {
		if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		else if (depth == 0)
			g_string_append_c (
				clean, *p == ',' || (*p == '-' && p > value &&
						     (g_ascii_isalpha (p[-1]) ||
						      g_ascii_isalpha (p[1]))) ?
					       ' ' :
					       *p);
	}
	return clean;
}

/* Reads a numeric token T into F: "hh:mm[:ss]", a numeric date
 * ("2024-01-15"), a "+hhmm" offset, a day or a year. Sets *TAKEN when T
 * was one of these; returns FALSE when T makes the date unreadable */
static gboolean
date_read_number (DateFields *f, const char *t, gboolean *taken)
{
	*taken = TRUE;
	/* an offset with a colon ("+01:00"): GMime skipped it */
	if ((*t == '+' || *t == '-') && strchr (t, ':'))
		return TRUE;
	if (strchr (t, ':'))
		return f->hour < 0 &&
		       sscanf (t, "%d:%d:%d", &f->hour, &f->min, &f->sec) >= 2;
	/* a numeric date, as broken mailers write it */
	if (g_ascii_isdigit (*t) && (strchr (t, '-') || strchr (t, '/'))) {
		char sep;
		int n;

		return !(f->year >= 0 || f->month >= 0 || f->day >= 0 ||
			 sscanf (t, "%4d%c%2d%*c%2d%n", &f->year, &sep,
				 &f->month, &f->day, &n) != 4 ||
			 t[n] != '\0' || t[4] != sep || f->month < 1 ||
			 f->month > 12 || f->day < 1 || f->day > 31);
	}
	if ((*t == '+' || *t == '-') && strlen (t) == 5 && all_digits (t + 1)) {
		/* the first offset given counts, as GMime read it */
		if (!f->have_zone)
			f->zone = atoi (t + 1) * (*t == '-' ? -1 : 1);
		f->have_zone = TRUE;
		return TRUE;
	}
	if (all_digits (t)) {
		int n = atoi (t);

		if (f->day < 0 && strlen (t) <= 2 && n >= 1 && n <= 31)
			f->day = n;
		else if (f->year < 0)
			f->year = strlen (t) <= 2 ? n + (n < 70 ? 2000 : 1900) :
				  strlen (t) == 3 ? n + 1900 :
						    n;
		else
			return FALSE;
		return TRUE;
	}
	*taken = FALSE;
	return TRUE;
}

/* Reads a word T into F: the first month name counts, day names are
 * skipped, the first RFC 5322 zone name counts. Anything else ("pm", a
 * zone name outside RFC 5322 such as CET) GMime skipped, and so the
 * date stays as it read it (UTC when no offset is given) */
static void
date_read_word (DateFields *f, const char *t)
{
	guint m;

	for (m = 0; m < 12; m++)
		if (g_ascii_strncasecmp (t, date_months[m], 3) == 0)
			break;
	if (m < 12 && f->month < 0) {
		f->month = (int) m + 1;
		return;
	}
	for (m = 0; m < 7; m++)
		if (g_ascii_strncasecmp (t, date_days[m], 3) == 0)
			break;
	if (m < 7)
		return;
	if (!f->have_zone && zone_name (t, &f->zone))
		f->have_zone = TRUE;
}

/* Returns the date F names, or NULL when a field is missing or out of
 * range; a date without a time is its midnight */
static GDateTime *
date_from_fields (DateFields *f)
{
	g_autoptr (GTimeZone) tz = NULL;
	char id[16];

	if (f->hour < 0)
		f->hour = 0;
	if (f->day < 0 || f->month < 0 || f->year < 0 || f->hour > 23 ||
	    f->min < 0 || f->min > 59 || f->sec < 0 || f->sec > 60)
		return NULL;
	g_snprintf (id, sizeof id, "%c%02d:%02d", f->zone < 0 ? '-' : '+',
		    ABS (f->zone) / 100, ABS (f->zone) % 100);
	tz = g_time_zone_new_identifier (id);
	if (tz == NULL)
		return NULL;
	return g_date_time_new (tz, f->year, f->month, f->day, f->hour, f->min,
				f->sec);
}

GDateTime *
mp_date_parse (const char *value)
{
	g_autoptr (GString) clean = date_clean (value);
	g_auto (GStrv) toks = g_strsplit_set (clean->str, " \t", -1);
	DateFields f = { .day = -1, .month = -1, .year = -1, .hour = -1 };

	for (guint i = 0; toks[i]; i++) {
		gboolean taken;

		if (*toks[i] == '\0')
			continue;
		if (!date_read_number (&f, toks[i], &taken))
			return NULL;
		if (!taken)
			date_read_word (&f, toks[i]);
	}
	return date_from_fields (&f);
}
