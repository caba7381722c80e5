/* mp-rate: pacing a batch (smtp-send --rate): providers limit how fast an
 * account may send, and a batch must not get it blocked. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
	gint64 interval; /* microseconds between two messages */
	gint64 next;     /* monotonic time the next one may go, 0: now */
} MpRate;

/* Parses "N/s", "N/min" or "N/h" (N a positive number, decimals allowed:
 * "0.5/s" is one message every two seconds).
 * Errors: MP_ERROR_USAGE naming @spec. */
gboolean mp_rate_parse (const char *spec, MpRate *rate, GError **error);

/* Waits until the next message may go and books its slot.  Returns
 * early, FALSE, when *@stop becomes TRUE (a signal asked to stop). */
gboolean mp_rate_wait (MpRate *rate, volatile int *stop);

G_END_DECLS
