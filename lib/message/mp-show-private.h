/* mp-show-private: what the files of mp-show share (mp-show.c: the walk
 * that lists the parts, the headers, the readable part, the output;
 * mp-show-decode.c: decoding a part's content and finding the uuencoded
 * blocks of a text; mp-show-text.c: text for a terminal).  Not for other
 * modules. */
#pragma once

#include "mp-show.h"
#include "mp-io.h"

G_BEGIN_DECLS

#define CHUNK (256 * 1024)
#define UU_LINE_MAX 1024

/* A uuencoded block found while scanning a text part. */
typedef struct {
	char *name;
	guint mode;
	gint64 size;
	guint index; /* its number among the "begin" lines, complete or not */
} UuBlock;

/* A part's content being decoded: where its bytes go, how many there
 * were, and the uuencoded blocks found in a text/plain part. */
typedef struct {
	MpWriteFunc func; /* the part's decoded bytes, or NULL */
	gpointer user_data;
	gint64 size;
	/* uuencoded blocks of a text/plain part */
	gboolean scan;
	char line[UU_LINE_MAX];
	gsize line_len;
	gboolean line_long;
	gboolean in_block;
	guint block; /* the current block's number, from 1 */
	char *block_name;
	guint block_mode;
	gint64 block_size;
	guint uu_want; /* forward this block's bytes to uu_func */
	MpWriteFunc uu_func;
	gpointer uu_data;
	GPtrArray *found; /* UuBlock * of complete blocks, or NULL */
} Decoder;

/* ---- mp-show-decode.c: decoding */

/* Frees a UuBlock (a GDestroyNotify). */
void mp_show_uu_block_free (gpointer p);

/* TRUE for a multipart with parts (one without is shown as a leaf). */
gboolean mp_show_is_container (GMimeObject *obj);

/* Streams the decoded content of @obj through @d; @what names it in
 * errors. */
gboolean mp_show_decode_object (GMimeObject *obj, GMimeStream *source,
				Decoder *d, const char *what, GError **error);

G_END_DECLS
