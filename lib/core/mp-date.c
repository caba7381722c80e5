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

GDateTime *
mp_date_parse (const char *value)
{
	g_autoptr (GString) clean = g_string_new (NULL);
	g_auto (GStrv) toks = NULL;
	g_autoptr (GTimeZone) tz = NULL;
	int day = -1, month = -1, year = -1, hour = -1, min = 0, sec = 0;
	int zone = 0, depth = 0;
	gboolean have_zone = FALSE;
	const char *p;

	/* comments out, commas as blanks, and dashes between a day, a
	 * month name and a year ("15-Jan-2024") */
	for (p = value; *p; p++) {
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
	toks = g_strsplit_set (clean->str, " \t", -1);
	for (guint i = 0; toks[i]; i++) {
		const char *t = toks[i];
		guint m;

		if (*t == '\0')
			continue;
		/* an offset with a colon ("+01:00"): GMime skipped it */
		if ((*t == '+' || *t == '-') && strchr (t, ':'))
			continue;
		if (strchr (t, ':')) {
			if (hour >= 0 ||
			    sscanf (t, "%d:%d:%d", &hour, &min, &sec) < 2)
				return NULL;
			continue;
		}
		/* a numeric date, as broken mailers write it */
		if (g_ascii_isdigit (*t) &&
		    (strchr (t, '-') || strchr (t, '/'))) {
			char sep;
			int n;

			if (year >= 0 || month >= 0 || day >= 0 ||
			    sscanf (t, "%4d%c%2d%*c%2d%n", &year, &sep, &month,
				    &day, &n) != 4 ||
			    t[n] != '\0' || t[4] != sep || month < 1 ||
			    month > 12 || day < 1 || day > 31)
				return NULL;
			continue;
		}
		if ((*t == '+' || *t == '-') && strlen (t) == 5 &&
		    all_digits (t + 1)) {
			/* the first offset given counts, as GMime read it */
			if (!have_zone)
				zone = atoi (t + 1) * (*t == '-' ? -1 : 1);
			have_zone = TRUE;
			continue;
		}
		if (all_digits (t)) {
			int n = atoi (t);

			if (day < 0 && strlen (t) <= 2 && n >= 1 && n <= 31)
				day = n;
			else if (year < 0)
				year = strlen (t) <= 2 ?
					       n + (n < 70 ? 2000 : 1900) :
				       strlen (t) == 3 ? n + 1900 :
							 n;
			else
				return NULL;
			continue;
		}
		for (m = 0; m < 12; m++)
			if (g_ascii_strncasecmp (t, date_months[m], 3) == 0)
				break;
		if (m < 12 && month < 0) {
			month = (int) m + 1;
			continue;
		}
		for (m = 0; m < 7; m++)
			if (g_ascii_strncasecmp (t, date_days[m], 3) == 0)
				break;
		if (m < 7)
			continue;
		if (!have_zone && zone_name (t, &zone)) {
			have_zone = TRUE;
			continue;
		}
		/* anything else ("pm", a zone name outside RFC 5322 such as
		 * CET): GMime skipped it, and so the date stays as it read
		 * it (UTC when no offset is given) */
	}
	/* a date without a time is its midnight */
	if (hour < 0)
		hour = 0;
	if (day < 0 || month < 0 || year < 0 || hour > 23 || min < 0 ||
	    min > 59 || sec < 0 || sec > 60)
		return NULL;
	{
		char id[16];

		g_snprintf (id, sizeof id, "%c%02d:%02d", zone < 0 ? '-' : '+',
			    ABS (zone) / 100, ABS (zone) % 100);
		tz = g_time_zone_new_identifier (id);
	}
	if (tz == NULL)
		return NULL;
	return g_date_time_new (tz, year, month, day, hour, min, sec);
}
