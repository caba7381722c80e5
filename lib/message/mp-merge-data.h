/* mp-merge-data: the table a mail merge reads, one message per row: CSV
 * (RFC 4180, through libcsv) or JSON lines (json-glib).  Values are UTF-8;
 * every row has a slot for every column. */
#pragma once

#include "mp-autoptr.h"

G_BEGIN_DECLS

typedef struct {
	char *name;          /* the file name, for messages */
	GPtrArray *columns;  /* char *, the column names in order */
	GPtrArray *rows;     /* GPtrArray of char * (n columns each), the
			       * values; NULL where a JSON object lacks
			       * the key */
	GArray *row_numbers; /* guint: the row's number as its reader
			       * shows it (CSV: the header is row 1;
			       * JSON lines: the line number) */
	gboolean json;       /* read as JSON lines */
} MpMergeData;

/* Reads CSV: the first row names the columns (not empty, not repeated);
 * a UTF-8 byte order mark is skipped; with @encoding (an iconv name such
 * as "windows-1252") the bytes are converted to UTF-8 first, otherwise
 * they must be UTF-8.  Quoted fields may hold commas, quotes and line
 * breaks; empty lines are skipped.
 * Errors: MP_ERROR_DATA naming @name and the row (invalid UTF-8, a row
 * with another number of fields, a malformed quote); MP_ERROR_USAGE for
 * an unknown @encoding. */
MpMergeData *mp_merge_data_read_csv (GBytes *bytes, const char *name,
				     const char *encoding, GError **error);

/* Reads JSON lines: one object per line whose values are strings, numbers,
 * booleans or null (empty); blank lines are skipped.  The columns are the
 * keys in the order first seen.
 * Errors: MP_ERROR_DATA naming @name and the line. */
MpMergeData *mp_merge_data_read_jsonl (GBytes *bytes, const char *name,
				       GError **error);

/* The index of column @name, or -1. */
int mp_merge_data_find_column (const MpMergeData *data, const char *name);

void mp_merge_data_free (MpMergeData *data);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MpMergeData, mp_merge_data_free)

G_END_DECLS
