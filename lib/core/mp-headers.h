/* mp-headers: the top-level header block of a message as raw fields:
 * read incrementally from a descriptor (the body is never parsed, only
 * copied), decoded for display, edited field by field, and written back
 * with every untouched byte as it came. */
#pragma once

#include "mp-io.h"

G_BEGIN_DECLS

/* A header block larger than this (a sign of something that is not a
 * message) is refused, so that memory stays bounded. */
#define MP_HEADERS_MAX_BLOCK (8 * 1024 * 1024)
#define MP_HEADERS_MAX_FIELDS 100000

typedef struct _MpHeaders MpHeaders;

/* Reads the header block of the message on @fd (a pipe or a file, read
 * sequentially from its current position) and stops there: what follows
 * is copied later by mp_headers_write_message().  @name is used in error
 * messages ("stdin").  An mbox "From " first line is kept as a line that
 * is not a field; the block ends at the first empty line, at the first
 * line that cannot start or continue a field (the body then starts
 * there, as Python's email reads it), or at the end of the input.
 * Errors: MP_ERROR_DATA for empty input, for input with neither header
 * fields nor an empty line, for a block over MP_HEADERS_MAX_BLOCK bytes
 * or MP_HEADERS_MAX_FIELDS fields, or for a CR not followed by LF in the
 * block (a line ending some readers see and others do not);
 * MP_ERROR_IO on a read error.  Free with mp_headers_free(). */
MpHeaders *mp_headers_read_fd (int fd, const char *name, GError **error);

/* Like mp_headers_read_fd() on a whole message held in memory (copied).
 * Errors: as mp_headers_read_fd(). */
MpHeaders *mp_headers_parse (const char *data, gsize len, GError **error);

/* Incremental form of mp_headers_parse(): feed the message in pieces of
 * any size, then call mp_headers_finish() at its end.  mp_headers_feed()
 * may be called after the block is complete (the bytes are kept as the
 * start of the body).  Errors: as mp_headers_read_fd(). */
MpHeaders *mp_headers_new (const char *name);
gboolean mp_headers_feed (MpHeaders *h, const char *data, gsize len,
			  GError **error);
gboolean mp_headers_finish (MpHeaders *h, GError **error);

/* TRUE once the end of the header block has been seen. */
gboolean mp_headers_is_complete (MpHeaders *h);

void mp_headers_free (MpHeaders *h);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MpHeaders, mp_headers_free)

/* The line ending new fields are written with: that of the first field
 * of the block, else of its first line, else "\n". */
const char *mp_headers_get_eol (MpHeaders *h);

/* The number of entries in the block: fields, and lines that are not
 * fields (an mbox "From " line, a stray continuation line, a line that
 * starts with a colon). */
guint mp_headers_get_n_entries (MpHeaders *h);

/* The field name of entry @i exactly as written (borrowed), or NULL when
 * the entry is not a field. */
const char *mp_headers_get_name (MpHeaders *h, guint i);

/* The value of entry @i as written: what follows the colon, with line
 * breaks removed (unfolded) and leading blanks stripped, undecoded.
 * Newly allocated; NULL when the entry is not a field. */
char *mp_headers_get_raw_value (MpHeaders *h, guint i);

/* The value of entry @i decoded to UTF-8: mp_address_decode_list()
 * for an address field (mp_field_is_address()), else
 * mp_rfc2047_decode_text().  Newly allocated; NULL when the entry is not
 * a field. */
char *mp_headers_get_value (MpHeaders *h, guint i);

/* The entry's bytes exactly as they will be written (borrowed,
 * @len receives the length). */
const char *mp_headers_get_bytes (MpHeaders *h, guint i, gsize *len);

/* Appends the field @name: @value (checked and encoded by
 * mp_field_format()) at the end of the block.
 * Errors: MP_ERROR_USAGE for a bad name, MP_ERROR_DATA for a bad value
 * or for a second field of a name that may occur once
 * (mp_field_is_single()). */
gboolean mp_headers_add (MpHeaders *h, const char *name, const char *value,
			 GError **error);

/* Replaces the first field named @name (case-insensitive) in place by
 * @name: @value and deletes the others; appends it when there is none.
 * A Content-Type replacing a multipart one keeps its boundary: added when
 * @value names none, refused when it names another or @value is not
 * multipart.
 * Errors: MP_ERROR_USAGE for a bad name, MP_ERROR_DATA for a bad value
 * or a Content-Type that would lose the boundary. */
gboolean mp_headers_set (MpHeaders *h, const char *name, const char *value,
			 GError **error);

/* Deletes every field named @name (case-insensitive).  Returns how many. */
guint mp_headers_delete (MpHeaders *h, const char *name);

/* Checks the rule of RFC 5322 3.6.2: From fields holding more than one
 * mailbox in all need a Sender field.  Errors: MP_ERROR_DATA. */
gboolean mp_headers_check_originator (MpHeaders *h, GError **error);

/* Writes the message: the header block (entries not changed as their
 * original bytes, new ones with mp_headers_get_eol()), then everything
 * after the block verbatim: what was already read, then the rest of the
 * descriptor given to mp_headers_read_fd() (with sendfile or splice when
 * the kernel can).  When the input ended inside the header block without
 * a final line ending, the output ends without one too.
 * Errors: MP_ERROR_IO naming the input or the output. */
gboolean mp_headers_write_message (MpHeaders *h, MpOutput *out, GError **error);

/* Reads and discards the rest of the input when it is a pipe or a socket,
 * so that the stage before in a pipeline ends normally instead of with a
 * write error (call it when only queries were asked).  Does nothing for
 * a file.  Errors: MP_ERROR_IO on a read error. */
gboolean mp_headers_drain (MpHeaders *h, GError **error);

G_END_DECLS
