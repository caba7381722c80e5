/* mp-merge: a mail merge.  A template message (built by the usual
 * pipeline, with placeholders {{column}} in its header fields and in its
 * text and HTML bodies) and a table (mp-merge-data) make one message per
 * row.  Values are encoded for where they land: RFC 2047 in header fields
 * (a display name with a comma quoted), HTML-escaped in HTML ({{{column}}}
 * inserts raw HTML), as they are in text; each body's transfer encoding is
 * chosen again per message.  Everything the placeholders do not touch
 * (attachments, inline images, other fields) is copied byte for byte from
 * the template, encoded once. */
#pragma once

#include "mp-autoptr.h"
#include "mp-merge-data.h"

G_BEGIN_DECLS

typedef struct {
	const char *seed;        /* for Message-IDs; NULL: from the data */
	const char *unsubscribe; /* URL template for List-Unsubscribe */
	const char *const
		*attach_columns; /* columns naming files, NULL-ended */
	const char *attach_dir;  /* relative paths are under it; NULL: "." */
	GDateTime *date;         /* Date for messages without one; NULL:
				  * SOURCE_DATE_EPOCH or now */
} MpMergeOptions;

typedef struct _MpMergeTemplate MpMergeTemplate;

/* Reads the template message @bytes (named @name in errors) and compiles
 * its placeholders against the columns of @data.  A To, Cc or Bcc column
 * of @data (any case) sets that field in every message.
 * Errors: MP_ERROR_DATA naming the template and the field or part when
 * it is not a message, or when a placeholder names no column of @data
 * (CSV; a JSON row lacking a key fails in mp_merge_render()). */
MpMergeTemplate *mp_merge_template_new (GBytes *bytes, const char *name,
					const MpMergeData *data,
					const MpMergeOptions *opts,
					GError **error);
void mp_merge_template_free (MpMergeTemplate *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MpMergeTemplate, mp_merge_template_free)

/* Makes the message of row @row (0-based index into @data->rows) with LF
 * line endings (CRLF when the template has them).  Its Message-ID is
 * derived from the template, the row's values and its number (or the
 * seed), so the same input always gives the same IDs; a template's own
 * Message-ID is replaced.  Errors: MP_ERROR_DATA naming the data file,
 * the row and the column: a value with a line break bound for a header,
 * an invalid address, a JSON row without a key a placeholder needs;
 * MP_ERROR_NO_INPUT for an attachment that cannot be read. */
GByteArray *mp_merge_render (MpMergeTemplate *t, const MpMergeData *data,
			     guint row, GError **error);

/* The Message-ID (without <>) that mp_merge_render() gives row @row. */
char *mp_merge_message_id (MpMergeTemplate *t, const MpMergeData *data,
			   guint row);

/* Appends @msg to @out as one mboxrd message: a "From " line, every line
 * matching ^>*From  quoted with one more '>', and a blank line after. */
void mp_merge_append_mboxrd (GByteArray *out, const GByteArray *msg);


/* One run of mime-merge. */
typedef struct {
	const char *template_path; /* "-" is not allowed: DATA may be stdin */
	const char *data_path;     /* "-": stdin */
	const char *encoding;      /* of a CSV file, NULL: UTF-8 */
	gboolean json;             /* DATA is JSON lines (else by name) */
	const char *output;        /* -o FILE, NULL: stdout */
	const char *dir;           /* -C DIR: one .eml per row, else mboxrd */
	guint limit;               /* 0: every row */
	gboolean dry_run;          /* a line per message instead */
	MpMergeOptions options;
} MpMergeRequest;

/* Reads the data and the template, makes every message once to check it
 * (nothing is written when one fails), then writes them: an mboxrd stream
 * to the output, or DIR/0001.eml... (never over an existing file).
 * Errors: as mp_merge_template_new() and mp_merge_render();
 * MP_ERROR_NO_INPUT for an unreadable TEMPLATE or DATA, MP_ERROR_CANT_CREATE
 * for DIR or a file in it, MP_ERROR_IO. */
gboolean mp_merge_run (const MpMergeRequest *req, GError **error);

G_END_DECLS
