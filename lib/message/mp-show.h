/* mp-show: reading a message that arrived: its parts numbered as IMAP
 * numbers them (RFC 3501 6.4.5), each described (type, charset, transfer
 * encoding, disposition, decoded file name, Content-ID, decoded size), its
 * headers decoded, its readable text, and every part's decoded bytes,
 * streamed in bounded memory.  Uuencoded blocks ("begin 644 name" ...
 * "end") inside text/plain parts are listed as parts of their own. */
#pragma once

#include "mp-autoptr.h"
#include "mp-io.h"

G_BEGIN_DECLS

/* A message nested deeper than this (multipart in multipart, message in
 * message) is refused: no reader needs it and it smells of an attack. */
#define MP_SHOW_MAX_DEPTH 200

typedef enum {
	MP_SHOW_LEAF,      /* a part with content */
	MP_SHOW_MULTIPART, /* a container: its parts follow it */
	MP_SHOW_MESSAGE,   /* message/rfc822 (or global): its body follows */
	MP_SHOW_UUENCODED, /* a uuencoded block inside a text/plain leaf */
} MpShowKind;

typedef struct _MpShowPart MpShowPart;

struct _MpShowPart {
	/* The IMAP section number ("1", "2.1.3").  A multipart has none of
	 * its own in IMAP: it is shown as the TEXT of the message holding
	 * it ("TEXT", "2.TEXT"), or with its number when it sits inside
	 * another multipart.  A uuencoded block is its text part's number
	 * followed by ".uuN" (N from 1), which IMAP never uses. */
	char *section;
	guint depth; /* 0 for the message's body */
	MpShowKind kind;
	char *type;         /* "text/plain", lower case */
	char *charset;      /* the charset parameter, NULL when absent */
	char *encoding;     /* Content-Transfer-Encoding, lower case, or NULL */
	char *disposition;  /* "attachment", "inline" (lower case) or NULL */
	char *filename;     /* decoded (RFC 2231, 2047) UTF-8, or NULL */
	char *content_id;   /* without angle brackets, or NULL */
	gint64 size;        /* decoded size in bytes, -1 for containers */
	MpShowPart *parent; /* NULL for the body */
	GMimeObject *object; /* the GMime object (NULL for a uuencoded block) */
	guint uu_index;      /* for a uuencoded block: its "begin" line's
				number in the text (blocks left unfinished
				count too) */
	guint uu_mode;       /* for a uuencoded block: its file mode */
	GMimeStream *source; /* the whole input (borrowed) */
	/* the message is truncated (a multipart lacks its closing
	 * delimiter) and this part runs to its end: it may be cut short */
	gboolean truncated;
};

typedef struct _MpShow MpShow;

/* Parses the message of @in (which must outlive the result) and lists its
 * parts, decoding each text/plain leaf once to find the uuencoded blocks
 * it holds and, with @sizes, every part to learn its decoded size (else
 * the size of parts other than those is -1).  Memory stays bounded (mp_input_parse_message()).
 * A truncated message (a multipart without its closing delimiter, as
 * bounces often are) is read as far as it goes: the parts that run to its
 * end are marked truncated.
 * Errors: MP_ERROR_DATA naming the input when it is empty, not a message,
 * or nested deeper than MP_SHOW_MAX_DEPTH; MP_ERROR_IO on a read error. */
MpShow *mp_show_new (MpInput *in, gboolean sizes, GError **error);

void mp_show_free (MpShow *show);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MpShow, mp_show_free)

/* The parts in document order (depth first), the body first (borrowed:
 * MpShowPart *, owned by @show). */
GPtrArray *mp_show_get_parts (MpShow *show);

/* The part with the section number @section, or NULL. */
MpShowPart *mp_show_find (MpShow *show, const char *section);

/* The top-level header fields as pairs of name and decoded UTF-8 value
 * (mp_headers_get_value(): RFC 2047 words decoded, addresses rendered as
 * Python's email renders them), in order; with @names (NULL-terminated,
 * case-insensitive) only those fields.  Newly allocated array of newly
 * allocated strings: name, value, name, value... */
GPtrArray *mp_show_get_headers (MpShow *show, const char *const *names);

/* The decoded header fields of @part's object (a part's own MIME fields,
 * or the fields of an embedded message for MP_SHOW_MESSAGE), as
 * mp_show_get_headers().  Newly allocated. */
GPtrArray *mp_show_get_part_headers (MpShowPart *part);

/* The part a person reads: the text/plain of the body (the first of a
 * multipart/alternative, else the first inline text/plain leaf outside
 * attachments), else such an HTML part.  NULL when there is none. */
MpShowPart *mp_show_get_text_part (MpShow *show);

/* Streams the decoded content of @part to @func: a leaf's bytes with its
 * transfer encoding (base64, quoted-printable, x-uuencode) undone, a
 * uuencoded block's file, an embedded message as a message (its bytes
 * written back by GMime).  Errors: MP_ERROR_USAGE for a multipart,
 * MP_ERROR_IO on a read error, or what @func set. */
gboolean mp_show_decode (MpShowPart *part, MpWriteFunc func, gpointer user_data,
			 GError **error);

/* Streams the content of the text part @part converted to UTF-8 from its
 * charset (US-ASCII when none; bytes invalid in it become U+FFFD), CRLF
 * turned into LF and control characters other than TAB and LF into
 * U+FFFD, so that the result is safe to print on a terminal.  An HTML
 * part is rendered as text by mp-render (mp_render_html(), unwrapped by
 * format=flowed) when it is under 16 MiB, else with its tags stripped
 * (entities decoded, blocks on lines of their own).
 * Errors: as mp_show_decode(). */
gboolean mp_show_decode_text (MpShowPart *part, MpWriteFunc func,
			      gpointer user_data, GError **error);

/* Writes the tree, one line a part ("SECTION  TYPE  [charset=...] ...")
 * to @out.  Errors: MP_ERROR_IO. */
gboolean mp_show_write_tree (MpShow *show, MpOutput *out, GError **error);

/* Writes the message as JSON (the schema is in mime-show(1)): its
 * headers (all, decoded), its parts with their headers, and the section
 * of its text part.  Errors: MP_ERROR_IO. */
gboolean mp_show_write_json (MpShow *show, MpOutput *out, GError **error);

G_END_DECLS
