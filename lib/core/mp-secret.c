#include "mp-secret.h"

#include <string.h>

/* explicit_bzero: a memset the compiler may not drop because the memory
 * is freed next */
void
mp_secret_wipe (char *s)
{
	if (s != NULL)
		explicit_bzero (s, strlen (s));
}

void
mp_secret_free (char *s)
{
	mp_secret_wipe (s);
	g_free (s);
}

void
mp_secret_free_len (void *data, gsize len)
{
	if (data != NULL)
		explicit_bzero (data, len);
	g_free (data);
}
