/* mp-dkim-tags: the tag=value lists of DKIM-Signature fields and key
 * records (RFC 6376 3.2).  Internal to mp-dkim. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
	char *name;
	char *value;        /* FWS at both ends removed */
	gsize eq;           /* just after its '=' in the parsed text */
	gsize vstart, vend; /* the value's bytes in the parsed text */
} MpDkimTag;

/* Parses "a=1; b=2;" (@len bytes of @text) into an array of MpDkimTag
 * (free with g_array_unref).  NULL, with *@why set to a static reason,
 * when it is not a tag list: a tag without '=', a bad name, a repeated
 * tag, an empty tag but after the last ';'. */
GArray *mp_dkim_tags_parse (const char *text, gsize len, const char **why);

/* The tag @name of @tags, or NULL (borrowed). */
const MpDkimTag *mp_dkim_tags_find (GArray *tags, const char *name);

/* The value of tag @name, or NULL (borrowed). */
const char *mp_dkim_tags_value (GArray *tags, const char *name);

/* Splits an h= value into lowercase field names (a NULL-terminated
 * vector, g_strfreev); NULL when a name is empty or holds blanks. */
char **mp_dkim_tags_split_names (const char *value);

G_END_DECLS
