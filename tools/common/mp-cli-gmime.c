/* mp_cli_init(): the start-up of a command that uses GMime, apart from
 * the rest of mp-cli so that a command that links no GObject (a static
 * mime-compose, issue 21) does not take GMime's objects, and GObject's
 * constructor, from the archives through this one call. */
#include "mp-cli.h"

#include <gmime/gmime.h>

void
mp_cli_init (const char *prog)
{
	mp_cli_init_plain (prog);
	g_mime_init ();
}
