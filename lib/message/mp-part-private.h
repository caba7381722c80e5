/* mp-part-private: what the files of mp-part share (mp-part.c: text
 * parts, and leaves made from a part and written; mp-part-file.c: parts
 * from files: type detection, file name parameters, a file's leaf;
 * mp-part-forward.c: a message forwarded as message/rfc822, 7bit or
 * 8bit).  Not for other modules. */
#pragma once

#include "mp-part.h"
#include "mp-io.h"

G_BEGIN_DECLS

#define CHUNK_SIZE (64 * 1024)

struct _MpLeaf {
	char *headers; /* the header block, LF line endings */
	char *content_id;
	GMimeStream *content; /* the decoded bytes */
	MpInput *input;       /* owns content when made from a file */
	GMimeContentEncoding encoding;
	gboolean message; /* message/rfc822: line endings normalised */
	char *mime_type;
	GPtrArray *notes; /* char *: what was changed in a forwarded message */
};

/* Statistics of a whole stream, and whether it is valid UTF-8. */
typedef struct {
	MpPartStats stats;
	gboolean utf8;
	gboolean has_cr;
} Scan;

/* ---- mp-part.c: leaves */

/* A new empty leaf (its notes array made). */
MpLeaf *mp_part_leaf_new (void);

/* ---- mp-part-file.c: parts from files */

/* Scans the whole of @stream (left at its start) into @scan;
 * MP_ERROR_IO naming @what on a read error. */
gboolean mp_part_scan_stream (GMimeStream *stream, Scan *scan, const char *what,
			      GError **error);

/* ---- mp-part-forward.c: forwarding */

/* Makes @leaf the message @in (@stream, scanned into @scan) forwarded
 * as message/rfc822, 7bit or 8bit. */
gboolean mp_part_leaf_file_message (MpLeaf *leaf, MpInput *in,
				    GMimeStream *stream, Scan *scan,
				    GError **error);

G_END_DECLS
