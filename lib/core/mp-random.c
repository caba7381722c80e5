#include "mp-random.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct _MpRandom {
	GChecksum *state; /* NULL when random */
	guint counter;
};

MpRandom *
mp_random_new (const char *seed)
{
	MpRandom *r = g_new0 (MpRandom, 1);
	const char *epoch = g_getenv ("SOURCE_DATE_EPOCH");

	if (seed == NULL && epoch != NULL && *epoch != '\0')
		seed = epoch;
	if (seed != NULL) {
		r->state = g_checksum_new (G_CHECKSUM_SHA256);
		g_checksum_update (r->state, (const guchar *) seed,
				   (gssize) strlen (seed) + 1);
	}
	return r;
}

void
mp_random_free (MpRandom *r)
{
	if (r == NULL)
		return;
	if (r->state)
		g_checksum_free (r->state);
	g_free (r);
}

gboolean
mp_random_is_reproducible (MpRandom *r)
{
	return r->state != NULL;
}

void
mp_random_feed (MpRandom *r, const void *data, gsize len)
{
	if (r->state)
		g_checksum_update (r->state, data, (gssize) len);
}

/* @n random numbers from the kernel in one call (getrandom(2): no file
 * to open, no generator to seed at every start, issue 21); GLib's when
 * it fails. */
static void
random_uints (guint *v, guint n)
{
	if (getrandom (v, n * sizeof *v, 0) == (ssize_t) (n * sizeof *v))
		return;
	for (guint i = 0; i < n; i++)
		v[i] = g_random_int ();
}

char *
mp_random_token (MpRandom *r, guint nchars)
{
	static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	char *s = g_malloc (nchars + 1);
	guint8 digest[32];
	gsize dlen = sizeof digest;
	g_autofree guint *rnd = NULL;
	guint i;

	if (r->state == NULL) {
		rnd = g_new (guint, nchars ? nchars : 1);
		random_uints (rnd, nchars);
	}

	for (i = 0; i < nchars; i++) {
		guint v;

		if (r->state) {
			if (i % 16 == 0) {
				g_autoptr (GChecksum) c =
					g_checksum_copy (r->state);
				guint n = r->counter++;

				g_checksum_update (c, (const guchar *) &n,
						   sizeof n);
				dlen = sizeof digest;
				g_checksum_get_digest (c, digest, &dlen);
			}
			v = digest[i % 16] | (guint) digest[16 + i % 16] << 8;
		} else {
			v = rnd[i];
		}
		s[i] = alphabet[v % 36];
	}
	s[nchars] = '\0';
	return s;
}
