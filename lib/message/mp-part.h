/* mp-part: MIME parts built from data: text parts that always carry their
 * charset, and the transfer encoding each part's bytes need. */
#pragma once

#include "mp-autoptr.h"
#include "mp-io.h"

G_BEGIN_DECLS

/* Statistics of a run of bytes, to choose a transfer encoding. */
typedef struct {
	gsize length;
	gsize non_ascii; /* bytes >= 0x80 */
	gsize nul;       /* NUL bytes */
	gsize bare_cr;   /* CR not followed by LF */
	gsize max_line;  /* longest line in bytes, without its ending */
} MpPartStats;

/* Adds @len bytes of @data to @stats (call repeatedly for streamed data;
 * start from a zeroed struct).  @line_state carries the current line's
 * length between calls (start at 0). */
void mp_part_stats_update (MpPartStats *stats, gsize *line_state,
			   gboolean *cr_pending, const guchar *data, gsize len);

/* The transfer encoding for data with @stats (DESIGN 4): 7bit when it is
 * (and, for text, no line is over 78), 8bit for non-ASCII text when
 * @allow_8bit and lines fit, quoted-printable for mostly-ASCII text,
 * base64 otherwise.  @is_text: the data is text (QP is allowed). */
GMimeContentEncoding mp_part_best_encoding (const MpPartStats *stats,
					    gboolean is_text,
					    gboolean allow_8bit);

/* Creates a text/@subtype part holding @data.  With @charset NULL, @data
 * must be valid UTF-8 and the part is labelled charset=utf-8; otherwise
 * @data must be valid in @charset and is labelled so.  CRLF line endings
 * become LF (the output's line endings are chosen when writing).
 * @what names the data in errors ("body", a file name).
 * Errors: MP_ERROR_DATA for invalid text, MP_ERROR_USAGE for an unknown
 * charset. */
GMimePart *mp_part_new_text (const char *subtype, GBytes *data,
			     const char *charset, gboolean allow_8bit,
			     const char *what, GError **error);

/* Like mp_part_new_text() on the text in @content, a seekable stream read
 * in chunks (bounded memory) and referenced by the part: it must stay
 * valid until the part is written. */
GMimePart *mp_part_new_text_from_stream (const char *subtype,
					 GMimeStream *content,
					 const char *charset,
					 gboolean allow_8bit, const char *what,
					 GError **error);

/* Writes @object (a part from mp_part_new_text*(), or a multipart of
 * such parts) to @out.  A text part writes its content from its source
 * with our encoders, in one pass; text that needs no encoding is copied
 * by the kernel where it can.  The bytes are those of
 * g_mime_object_write_to_stream().  Errors: MP_ERROR_IO. */
gboolean mp_part_write (GMimeObject *object, MpOutput *out, GError **error);

/* For tests: with TRUE, scan text without the SIMD path even where the
 * CPU has it (the results are the same either way). */
void mp_part_force_scalar (gboolean scalar);

/* Guesses the media type of data named @name (a file name, may be NULL)
 * whose first bytes are @data: GIO's content types (shared-mime-info),
 * by name when the name is telling, by sniffing the data otherwise.
 * Never fails: application/octet-stream when nothing is known.
 * Newly allocated "type/subtype". */
char *mp_part_guess_type (const char *name, const guchar *data, gsize len);

/* A new leaf part ready to be written: its header fields (a GMimeObject
 * whose content is not used) and its content, read from a stream and
 * encoded while writing, so a part of any size takes bounded memory. */
typedef struct _MpLeaf MpLeaf;

/* How to make a part from a file (mime-attach, mime-inline). */
typedef struct {
	const char *type; /* "type/subtype[; params]", NULL: detect */
	const char *name; /* file name shown, NULL: the input's base name */
	const char *description; /* Content-Description (UTF-8), NULL: none */
	gboolean inline_disposition; /* inline instead of attachment */
	const char *content_id;      /* Content-ID without <>, NULL: none */
	gboolean message;            /* forward as message/rfc822 (7bit/8bit) */
} MpPartFileOptions;

/* Makes an attachment part from @in (ownership taken, also on failure):
 * the type from @opts or detected; text types must be valid UTF-8 and are
 * labelled charset=utf-8 (a detected text type whose data is not UTF-8
 * becomes application/octet-stream); the content is base64 whatever its
 * type, so every reader returns the file's exact bytes (DESIGN 4).
 * A forwarded message (@opts->message or a detected message/rfc822) is
 * never base64 (RFC 2046 5.2.1): its bytes are kept when they are valid
 * 7bit or 8bit, else each leaf whose body is not is encoded again
 * (quoted-printable for text, base64 else; mp_part_leaf_get_notes()).
 * The file name goes in Content-Disposition's filename= and, for old
 * clients, Content-Type's name=: a quoted string when it is short ASCII,
 * else RFC 2231 (utf-8'', with continuations cut between characters).
 * Not RFC 2047 in name="...": RFC 2047 5 forbids encoded words in a
 * quoted string, and Python's email reports them as defects.
 * Errors: MP_ERROR_DATA naming the input when a forwarded message is not
 * a message, or holds a line over 998 octets, a NUL or a bare CR outside
 * a leaf's body, or an explicit --type is malformed; MP_ERROR_IO on a
 * read error.  Free with mp_part_leaf_free(). */
MpLeaf *mp_part_leaf_new_file (MpInput *in, const MpPartFileOptions *opts,
			       GError **error);

/* Wraps @part (a reference is taken), e.g. from mp_part_new_text(): its
 * headers are written as they are and its content encoded with its
 * Content-Transfer-Encoding. */
MpLeaf *mp_part_leaf_new_part (GMimePart *part);

void mp_part_leaf_free (MpLeaf *leaf);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MpLeaf, mp_part_leaf_free)

/* The leaf's media type, "type/subtype" in lower case (borrowed). */
const char *mp_part_leaf_get_mime_type (MpLeaf *leaf);

/* The Content-ID without angle brackets, or NULL (borrowed). */
const char *mp_part_leaf_get_content_id (MpLeaf *leaf);

/* The Content-Transfer-Encoding the leaf is written with. */
GMimeContentEncoding mp_part_leaf_get_encoding (MpLeaf *leaf);

/* TRUE for a forwarded message (message/rfc822, never base64). */
gboolean mp_part_leaf_is_message (MpLeaf *leaf);

/* What was changed in a forwarded message to make it valid 7bit or 8bit,
 * one line each ("earlier.eml: part 2 (text/plain) encoded as
 * quoted-printable: a line is over 998 octets"); borrowed, never NULL. */
GPtrArray *mp_part_leaf_get_notes (MpLeaf *leaf);

/* A new stream of the leaf's content as it is written, transfer-encoded,
 * with the line endings of its source (to look for delimiters in it).
 * It reads the leaf's content: use it before mp_part_leaf_write(). */
GMimeStream *mp_part_leaf_open_content (MpLeaf *leaf);

/* Makes the leaf (not a forwarded message) base64, its
 * Content-Transfer-Encoding field changed to say so. */
void mp_part_leaf_set_base64 (MpLeaf *leaf);

/* Writes the leaf (header fields, blank line, encoded content) to @out,
 * with CRLF line endings when @crlf, else LF.  A forwarded message keeps
 * its bytes but for line endings.  Errors: MP_ERROR_IO. */
gboolean mp_part_leaf_write (MpLeaf *leaf, MpOutput *out, gboolean crlf,
			     GError **error);

/* IMAP section numbers (RFC 3501 6.4.5), "" for the message itself: of
 * child @i (from 0) of the multipart numbered @section ("1", "2.1"), and
 * of the body of the message/rfc822 part numbered @section (a multipart
 * keeps the number, its parts are @section.1...; a leaf is @section.1,
 * "1" at the top).  Newly allocated. */
char *mp_part_section_child (const char *section, int i);
char *mp_part_section_message_body (const char *section, gboolean multipart);

G_END_DECLS
