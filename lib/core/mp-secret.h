/* mp-secret: passwords and keys in memory, wiped before they are freed
 * so that a core dump or a reused heap block does not show them. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Overwrites the bytes of the string @s with zeros (its length, as
 * strlen() counts it, stays in the memory: the string becomes "").
 * @s may be NULL. */
void mp_secret_wipe (char *s);

/* Wipes the string @s (mp_secret_wipe()), then frees it with g_free().
 * @s may be NULL. */
void mp_secret_free (char *s);

/* Wipes @len bytes at @data, then frees it with g_free().  @data may be
 * NULL. */
void mp_secret_free_len (void *data, gsize len);

G_END_DECLS
