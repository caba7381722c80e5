#include "mp-date.h"

/* RFC 5322 3.3, with English names whatever the locale */
char *
mp_date_format (GDateTime *d)
{
	static const char *const days[] = { "Mon", "Tue", "Wed", "Thu",
					    "Fri", "Sat", "Sun" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
					      "May", "Jun", "Jul", "Aug",
					      "Sep", "Oct", "Nov", "Dec" };
	gint64 off = g_date_time_get_utc_offset (d) / G_TIME_SPAN_MINUTE;
	char sign = off < 0 ? '-' : '+';

	if (off < 0)
		off = -off;
	return g_strdup_printf (
		"%s, %d %s %d %02d:%02d:%02d %c%02d%02d",
		days[g_date_time_get_day_of_week (d) - 1],
		g_date_time_get_day_of_month (d),
		months[g_date_time_get_month (d) - 1], g_date_time_get_year (d),
		g_date_time_get_hour (d), g_date_time_get_minute (d),
		g_date_time_get_second (d), sign, (int) (off / 60),
		(int) (off % 60));
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
	return g_date_time_new_now_local ();
}
