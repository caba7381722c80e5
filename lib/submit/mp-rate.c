#include "mp-rate.h"

#include "mp-error.h"

#include <string.h>

gboolean
mp_rate_parse (const char *spec, MpRate *rate, GError **error)
{
	const char *slash = strchr (spec, '/');
	g_autofree char *num = NULL;
	char *end = NULL;
	double n, period;

	if (slash == NULL)
		goto bad;
	num = g_strndup (spec, (gsize) (slash - spec));
	n = g_ascii_strtod (num, &end);
	if (end == num || *end != '\0' || !(n > 0) || n > 1e6)
		goto bad;
	if (strcmp (slash + 1, "s") == 0)
		period = 1e6;
	else if (strcmp (slash + 1, "min") == 0)
		period = 60e6;
	else if (strcmp (slash + 1, "h") == 0)
		period = 3600e6;
	else
		goto bad;
	rate->interval = (gint64) (period / n);
	rate->next = 0;
	return TRUE;
bad:
	g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
		     "--rate %s: not a rate (write N/s, N/min or N/h)", spec);
	return FALSE;
}

gboolean
mp_rate_wait (MpRate *rate, volatile int *stop)
{
	gint64 now = g_get_monotonic_time ();

	/* sleep in short steps so a signal is answered at once */
	while (rate->next > now) {
		if (stop && *stop)
			return FALSE;
		g_usleep ((gulong) MIN (rate->next - now, 100000));
		now = g_get_monotonic_time ();
	}
	if (stop && *stop)
		return FALSE;
	rate->next = (rate->next ? rate->next : now) + rate->interval;
	/* a batch that fell behind does not burst to catch up */
	if (rate->next < now)
		rate->next = now + rate->interval;
	return TRUE;
}
