/* mp-merge-private: what the files of mp-merge share (mp-merge.c: the
 * template read and compiled, the Message-IDs; mp-merge-pattern.c: the
 * placeholders compiled and filled, a row's values and errors;
 * mp-merge-render.c: the message of a row, as chunks;
 * mp-merge-write.c: a run, written as mboxrd, .eml files or --dry-run
 * lines).  Not for other modules. */
#pragma once

#include "mp-merge.h"
#include "mp-headers.h"

G_BEGIN_DECLS

/* A template string compiled: literal text and placeholders. */
typedef enum {
	CTX_TEXT,
	CTX_HTML,
	CTX_HEADER,
	CTX_ADDRESS,
	CTX_URL
} Context;

typedef struct {
	char *text;        /* literal, or NULL for a placeholder */
	int column;        /* the placeholder's column */
	gboolean raw;      /* {{{column}}}: no escaping */
	gboolean in_angle; /* CTX_ADDRESS: between < and > */
} Piece;

typedef struct {
	GArray *pieces; /* Piece */
	Context ctx;
	char *where; /* "Subject", "the text/html part", for errors */
} Pattern;

/* A field of the template's header block. */
typedef struct {
	char *name;
	const char *bytes; /* as written, borrowed from the MpHeaders */
	gsize len;
	Pattern *value; /* NULL: copied as written */
	int column;     /* a To/Cc/Bcc column that replaces it, or -1 */
} Field;

/* A text part whose body holds placeholders, made anew per message. */
typedef struct {
	GMimePart *part;  /* in the template's tree */
	gsize start, end; /* its bytes: first header to end of content */
	Pattern *body;
	GPtrArray *boundaries; /* of every enclosing multipart (borrowed) */
} Leaf;

struct _MpMergeTemplate {
	char *name;
	GBytes *bytes;
	const char *data;
	gsize len;
	gboolean crlf;
	MpHeaders *headers;
	GArray *fields;    /* Field */
	gsize body_start;  /* the blank line after the header block */
	GPtrArray *leaves; /* Leaf *, in order of their position */
	gboolean single;   /* the message is one text part: its Content-*
			    * fields are made with the body */
	GMimeParser *parser;
	GMimeMessage *message;
	GMimeStream *stream;
	gboolean has_date, has_msgid, has_mime_version;
	int recipient_columns[3]; /* To, Cc, Bcc columns or -1 */
	gboolean recipient_seen[3];
	Pattern *unsubscribe;
	GArray *attach_columns; /* int */
	char *attach_dir;
	char *date; /* formatted, for messages without a Date */
	char *seed;
	char hash[65]; /* of the template's bytes */
	gboolean top_mixed;
	char *top_boundary;
	gsize close_at;        /* the top multipart's closing delimiter */
	GHashTable *from_free; /* MpMergeSlice -> 1 holds "From ", 2 not */
};

/* A slice of the template, by offset and length: the key of from_free. */
typedef struct {
	gsize offset, len;
} MpMergeSlice;

/* A message as a list of byte runs: new bytes, and slices of the
 * template (not copied: a 1 MB attachment costs nothing per message). */
typedef struct {
	GBytes *bytes;
	gboolean raw; /* a slice of the template */
} Chunk;

/* ---- mp-merge.c: the template */

/* "To", "Cc", "Bcc": the fields a column of the same name sets. */
extern const char *const mp_merge_recipient_names[3];

/* The SHA-256 of @len bytes at @data, in hex. */
void mp_merge_hash_hex (const void *data, gsize len, char out[65]);

/* ---- mp-merge-pattern.c: the placeholders */

/* Frees @p (NULL is fine). */
void mp_merge_pattern_free (Pattern *p);

/* @s compiled; NULL without error when it holds no placeholder. */
Pattern *mp_merge_pattern_compile (const char *s, Context ctx,
				   const char *where, const MpMergeData *data,
				   const char *tmpl, GError **error);

/* The row's value for @column, or NULL with @error naming them. */
const char *mp_merge_row_value (const MpMergeData *data, guint row, int column,
				GError **error);

/* Sets @error (@code) to "DATA: row N, column C: @what". */
void mp_merge_set_row_error (GError **error, int code, const MpMergeData *data,
			     guint row, int column, const char *what);

/* mp_merge_set_row_error() with MP_ERROR_DATA and a printf format. */
void mp_merge_row_error (GError **error, const MpMergeData *data, guint row,
			 int column, const char *fmt, ...) G_GNUC_PRINTF (5, 6);

/* @p filled with row @row's values, escaped for its context. */
char *mp_merge_pattern_fill (const Pattern *p, const MpMergeData *data,
			     guint row, int *last_column, GError **error);

/* ---- mp-merge-render.c: a row's message */

/* Where the closing delimiter of the top multipart starts. */
gsize mp_merge_closing_delimiter (const guint8 *data, gsize len,
				  const char *boundary, gsize from);

/* The message of @row as chunks (Chunk), or NULL with @error set. */
GArray *mp_merge_render_chunks (MpMergeTemplate *t, const MpMergeData *data,
				guint row, GError **error);

G_END_DECLS
