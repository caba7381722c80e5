/* mp-random: unique tokens for Message-ID, MIME boundaries and Content-IDs,
 * random by default, deterministic when the output must be reproducible. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _MpRandom MpRandom;

/* A token generator.  When @seed is NULL and SOURCE_DATE_EPOCH is not set
 * the tokens are random; otherwise they are derived from the seed (or
 * SOURCE_DATE_EPOCH) and whatever was fed with mp_random_feed(), so
 * identical inputs give identical tokens (DESIGN 2). */
MpRandom *mp_random_new (const char *seed);
void mp_random_free (MpRandom *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MpRandom, mp_random_free)

/* TRUE when tokens are deterministic. */
gboolean mp_random_is_reproducible (MpRandom *r);

/* Mixes @len bytes of input into a deterministic generator (no-op when
 * random). */
void mp_random_feed (MpRandom *r, const void *data, gsize len);

/* Returns a new token of @nchars characters from [0-9a-z] (newly
 * allocated). */
char *mp_random_token (MpRandom *r, guint nchars);

G_END_DECLS
