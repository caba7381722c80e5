/* mp-part-forward: a message forwarded as message/rfc822 (RFC 2046
 * 5.2.1): its bytes kept when they are valid 7bit or 8bit, else each leaf
 * whose body is not encoded again, the rest of the bytes as they were. */
#include "mp-part-private.h"
#include "mp-error.h"

#include <string.h>

/* ---- forwarding: a message/rfc822 part is 7bit or 8bit ---------------- */

/* A message saved from an mbox starts with a "From " line that is not a
 * header field: the forwarded message starts after it. */
static GMimeStream *
message_content (GMimeStream *stream)
{
	char head[1024];
	ssize_t n;
	const char *nl;

	g_mime_stream_reset (stream);
	n = mp_io_stream_read (stream, head, sizeof head);
	g_mime_stream_reset (stream);
	if (n < 5 || memcmp (head, "From ", 5) != 0 ||
	    (nl = memchr (head, '\n', (gsize) n)) == NULL)
		return g_object_ref (stream);
	return g_mime_stream_substream (stream,
					stream->bound_start + (nl + 1 - head),
					stream->bound_end);
}

/* A stream that reads its sources one after the other, the sources read
 * to their end (GMimeStreamCat seeks each source, which a filtered one
 * cannot, and takes the -1 GMimeStreamFs answers at its end for an
 * error). */
#define MP_TYPE_SEQ (mp_seq_get_type ())
G_DECLARE_FINAL_TYPE (MpSeq, mp_seq, MP, SEQ, GMimeStream)

struct _MpSeq {
	GMimeStream parent;
	GPtrArray *sources;
	guint cur;
};

G_DEFINE_TYPE (MpSeq, mp_seq, GMIME_TYPE_STREAM)

static ssize_t
seq_read (GMimeStream *stream, char *buf, size_t len)
{
	MpSeq *q = MP_SEQ (stream);

	while (q->cur < q->sources->len) {
		ssize_t n =
			mp_io_stream_read (q->sources->pdata[q->cur], buf, len);

		if (n != 0)
			return n;
		q->cur++;
	}
	return 0;
}

static gboolean
seq_eos (GMimeStream *stream)
{
	MpSeq *q = MP_SEQ (stream);

	return q->cur >= q->sources->len;
}

static int
seq_reset (GMimeStream *stream)
{
	MpSeq *q = MP_SEQ (stream);
	guint i;

	for (i = 0; i < q->sources->len; i++)
		if (g_mime_stream_reset (q->sources->pdata[i]) < 0)
			return -1;
	q->cur = 0;
	return 0;
}

static void
mp_seq_finalize (GObject *object)
{
	g_ptr_array_unref (MP_SEQ (object)->sources);
	G_OBJECT_CLASS (mp_seq_parent_class)->finalize (object);
}

static void
mp_seq_class_init (MpSeqClass *klass)
{
	GMimeStreamClass *sc = GMIME_STREAM_CLASS (klass);

	G_OBJECT_CLASS (klass)->finalize = mp_seq_finalize;
	sc->read = seq_read;
	sc->eos = seq_eos;
	sc->reset = seq_reset;
}

static void
mp_seq_init (MpSeq *q)
{
	q->sources = g_ptr_array_new_with_free_func (g_object_unref);
}

static GMimeStream *
seq_new (void)
{
	GMimeStream *s = g_object_new (MP_TYPE_SEQ, NULL);

	g_mime_stream_construct (s, 0, -1);
	return s;
}

/* Adds @source (a reference is taken). */
static void
seq_add (GMimeStream *seq, GMimeStream *source)
{
	g_ptr_array_add (MP_SEQ (seq)->sources, g_object_ref (source));
}

/* A change to the bytes of a forwarded message: [start, end) is replaced
 * by @with (NULL: removed). */
typedef struct {
	gint64 start, end;
	GMimeStream *with;
} Edit;

typedef struct {
	GMimeStream *stream; /* the forwarded message */
	const char *what;
	GArray *edits; /* Edit, in stream order */
	GPtrArray *notes;
} Repair;

static void
edit_clear (gpointer p)
{
	Edit *e = p;

	g_clear_object (&e->with);
}

/* Statistics of [start, end) of @stream. */
static gboolean
range_stats (GMimeStream *stream, gint64 start, gint64 end, MpPartStats *stats,
	     const char *what, GError **error)
{
	g_autofree guchar *buf = g_malloc (CHUNK_SIZE);
	gsize line = 0;
	gboolean cr = FALSE;

	memset (stats, 0, sizeof *stats);
	while (start < end) {
		gsize want = (gsize) MIN ((gint64) CHUNK_SIZE, end - start);
		ssize_t n;

		if (g_mime_stream_seek (stream, start, GMIME_STREAM_SEEK_SET) !=
			    start ||
		    (n = g_mime_stream_read (stream, (char *) buf, want)) <=
			    0) {
			g_set_error (error, MP_ERROR, MP_ERROR_IO,
				     "%s: read error", what);
			return FALSE;
		}
		mp_part_stats_update (stats, &line, &cr, buf, (gsize) n);
		start += n;
	}
	if (cr)
		stats->bare_cr++;
	return TRUE;
}

/* Where the header field at @off ends: after its line ending and any
 * continuation lines, at most @limit. */
static gint64
field_end (GMimeStream *stream, gint64 off, gint64 limit)
{
	char c;
	gboolean eol = FALSE;

	if (g_mime_stream_seek (stream, off, GMIME_STREAM_SEEK_SET) != off)
		return -1;
	for (; off < limit; off++) {
		if (g_mime_stream_read (stream, &c, 1) != 1)
			return -1;
		if (eol && c != ' ' && c != '\t')
			return off;
		eol = c == '\n';
	}
	return limit;
}

/* The line ending of the blank line that ends a header block at @body:
 * "\n" or "\r\n", or NULL when the block does not end so. */
static const char *
blank_line_before (GMimeStream *stream, gint64 body, gint64 floor)
{
	char b[3] = { 0 };
	gint64 at = MAX (body - 3, floor);
	gssize n = (gssize) (body - at);

	if (n < 2 ||
	    g_mime_stream_seek (stream, at, GMIME_STREAM_SEEK_SET) != at ||
	    g_mime_stream_read (stream, b, (gsize) n) != n)
		return NULL;
	if (n == 3 && memcmp (b, "\n\r\n", 3) == 0)
		return "\r\n";
	if (memcmp (b + n - 2, "\n\n", 2) == 0)
		return "\n";
	return NULL;
}

static void
add_edit (Repair *r, gint64 start, gint64 end, GMimeStream *with)
{
	Edit e = { start, end, with };

	g_array_append_val (r->edits, e);
}

/* RFC 2045 6: the encoding a body with STATS gets again, quoted-printable
 * for text of TYPE without NUL or lone CR, base64 else; sets *WHY to
 * what was wrong with it */
static GMimeContentEncoding
repair_encoding (const char *type, const MpPartStats *stats, const char **why)
{
	*why = stats->nul     ? "it holds NUL bytes" :
	       stats->bare_cr ? "it holds a CR without LF" :
				"a line is over 998 octets";
	return g_ascii_strncasecmp (type, "text/", 5) == 0 && stats->nul == 0 &&
			       stats->bare_cr == 0 ?
		       GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE :
		       GMIME_CONTENT_ENCODING_BASE64;
}

/* Edits that remove every Content-Transfer-Encoding field of HEADERS
 * (a header block ending before BODY_START); FALSE with @error when a
 * field cannot be found in the stream */
static gboolean
repair_drop_encoding_fields (Repair *r, GMimeHeaderList *headers,
			     gint64 body_start, const char *section,
			     GError **error)
{
	for (int i = 0; i < g_mime_header_list_get_count (headers); i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at (headers, i);
		gint64 off = g_mime_header_get_offset (h), end;

		if (g_ascii_strcasecmp (g_mime_header_get_name (h),
					"Content-Transfer-Encoding") != 0)
			continue;
		end = off < 0 ? -1 : field_end (r->stream, off, body_start);
		if (end < 0) {
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s: part %s: cannot find its "
				     "Content-Transfer-Encoding (cannot "
				     "forward it)",
				     r->what, section);
			return FALSE;
		}
		add_edit (r, off, end, NULL);
	}
	return TRUE;
}

/* Returns the BODY stream decoded from FROM and encoded as TO, line
 * breaks kept as line breaks when TO is quoted-printable (text) */
static GMimeStream *
repair_body (Repair *r, GMimeStream *body, GMimeContentEncoding from,
	     GMimeContentEncoding to)
{
	g_autoptr (GMimeStream) sub = g_mime_stream_substream (
		r->stream, body->bound_start, body->bound_end);
	GMimeStream *filtered = g_mime_stream_filter_new (sub);
	g_autoptr (GMimeFilter) enc = g_mime_filter_basic_new (to, TRUE);

	if (from == GMIME_CONTENT_ENCODING_BASE64 ||
	    from == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
	    from == GMIME_CONTENT_ENCODING_UUENCODE) {
		g_autoptr (GMimeFilter) dec =
			g_mime_filter_basic_new (from, FALSE);

		g_mime_stream_filter_add (GMIME_STREAM_FILTER (filtered), dec);
	}
	if (to == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE) {
		/* text: its line breaks stay line breaks */
		g_autoptr (GMimeFilter) d2u =
			g_mime_filter_dos2unix_new (FALSE);

		g_mime_stream_filter_add (GMIME_STREAM_FILTER (filtered), d2u);
	}
	g_mime_stream_filter_add (GMIME_STREAM_FILTER (filtered), enc);
	return filtered;
}

/* A leaf of the forwarded message whose body is no valid 7bit or 8bit
 * (RFC 5322 2.1.1: lines of at most 998 octets; RFC 2045 2.7, 2.8: no NUL,
 * CR only before LF) gets its body encoded again, quoted-printable for
 * text, base64 else, and its Content-Transfer-Encoding changed to say so.
 * Every other byte stays. */
static gboolean
repair_leaf (Repair *r, GMimePart *part, const char *section, GError **error)
{
	GMimeObject *obj = GMIME_OBJECT (part);
	GMimeDataWrapper *w = g_mime_part_get_content (part);
	GMimeStream *body = w ? g_mime_data_wrapper_get_stream (w) : NULL;
	GMimeContentEncoding to;
	g_autofree char *type = NULL;
	g_autofree char *field = NULL;
	MpPartStats stats;
	const char *eol, *why;
	gint64 at;

	if (body == NULL || body->bound_end < body->bound_start)
		return TRUE;
	if (!range_stats (r->stream, body->bound_start, body->bound_end, &stats,
			  r->what, error))
		return FALSE;
	if (stats.max_line <= 998 && stats.nul == 0 && stats.bare_cr == 0)
		return TRUE;
	eol = blank_line_before (r->stream, body->bound_start,
				 r->stream->bound_start);
	if (eol == NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: part %s: no blank line before its body "
			     "(cannot forward it)",
			     r->what, section);
		return FALSE;
	}
	type = g_mime_content_type_get_mime_type (
		g_mime_object_get_content_type (obj));
	to = repair_encoding (type, &stats, &why);
	/* the old Content-Transfer-Encoding fields go, the new one comes
	 * last in the header block */
	if (!repair_drop_encoding_fields (r,
					  g_mime_object_get_header_list (obj),
					  body->bound_start, section, error))
		return FALSE;
	field = g_strdup_printf ("Content-Transfer-Encoding: %s%s",
				 g_mime_content_encoding_to_string (to), eol);
	at = body->bound_start - (gint64) strlen (eol);
	add_edit (r, at, at,
		  g_mime_stream_mem_new_with_buffer (field, strlen (field)));
	add_edit (r, body->bound_start, body->bound_end,
		  repair_body (r, body, g_mime_part_get_content_encoding (part),
			       to));
	g_ptr_array_add (
		r->notes,
		g_strdup_printf ("%s: part %s (%s) encoded as %s: %s", r->what,
				 section, type,
				 g_mime_content_encoding_to_string (to), why));
	return TRUE;
}

char *
mp_part_section_child (const char *section, int i)
{
	return *section ? g_strdup_printf ("%s.%d", section, i + 1) :
			  g_strdup_printf ("%d", i + 1);
}

char *
mp_part_section_message_body (const char *section, gboolean multipart)
{
	return multipart ? g_strdup (section) :
			   mp_part_section_child (section, 0);
}

/* Walks the forwarded message's parts; @section is the IMAP section
 * number of @obj (RFC 3501 6.4.5). */
static gboolean
repair_walk (Repair *r, GMimeObject *obj, const char *section, GError **error)
{
	if (GMIME_IS_MULTIPART (obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART (obj);
		int i, n = g_mime_multipart_get_count (mp);

		for (i = 0; i < n; i++) {
			g_autofree char *s = mp_part_section_child (section, i);

			if (!repair_walk (r, g_mime_multipart_get_part (mp, i),
					  s, error))
				return FALSE;
		}
		return TRUE;
	}
	if (GMIME_IS_MESSAGE_PART (obj)) {
		GMimeMessage *m = g_mime_message_part_get_message (
			GMIME_MESSAGE_PART (obj));
		GMimeObject *body = m ? g_mime_message_get_mime_part (m) : NULL;
		g_autofree char *s = NULL;

		if (body == NULL)
			return TRUE;
		s = mp_part_section_message_body (section,
						  GMIME_IS_MULTIPART (body));
		return repair_walk (r, body, s, error);
	}
	if (GMIME_IS_PART (obj))
		return repair_leaf (r, GMIME_PART (obj),
				    *section ? section : "1", error);
	return TRUE;
}

static int
edit_cmp (gconstpointer a, gconstpointer b)
{
	const Edit *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	/* an insertion before the removal or body starting there */
	return (x->end > x->start) - (y->end > y->start);
}

/* The forwarded message @msg read from @stream from @start on, with every
 * leaf whose body is not valid 7bit or 8bit encoded again (a new stream
 * reading @stream), or its bytes as they are when every body is valid.
 * Each leaf encoded again adds a line to @notes.  @scan holds the
 * statistics of @stream and, on return, of the result.  Errors:
 * MP_ERROR_DATA when a line outside the leaves' bodies is not valid (a
 * header line over 998 octets, a NUL in a preamble), MP_ERROR_IO. */
static GMimeStream *
forwarded_content (GMimeStream *stream, gint64 start, GMimeMessage *msg,
		   const char *what, GPtrArray *notes, Scan *scan,
		   GError **error)
{
	g_autoptr (GArray) edits = g_array_new (FALSE, FALSE, sizeof (Edit));
	g_autoptr (GMimeStream) cat = NULL;
	Repair r = { stream, what, edits, notes };
	GMimeObject *body = g_mime_message_get_mime_part (msg);
	const MpPartStats *st = &scan->stats;
	gint64 at = start;
	guint i;

	g_array_set_clear_func (edits, edit_clear);
	if (st->max_line > 998 || st->nul > 0 || st->bare_cr > 0) {
		if (body && !repair_walk (&r, body, "", error))
			return NULL;
	}
	if (edits->len == 0) {
		cat = g_mime_stream_substream (stream, start,
					       stream->bound_end);
	} else {
		g_array_sort (edits, edit_cmp);
		cat = seq_new ();
		for (i = 0; i < edits->len; i++) {
			Edit *e = &g_array_index (edits, Edit, i);

			if (e->start > at) {
				g_autoptr (GMimeStream) sub =
					g_mime_stream_substream (stream, at,
								 e->start);

				seq_add (cat, sub);
			}
			if (e->with)
				seq_add (cat, e->with);
			at = MAX (at, e->end);
		}
		if (at < stream->bound_end) {
			g_autoptr (GMimeStream) sub = g_mime_stream_substream (
				stream, at, stream->bound_end);

			seq_add (cat, sub);
		}
		if (!mp_part_scan_stream (cat, scan, what, error))
			return NULL;
	}
	/* what is left (header fields, preambles) must be valid as it is */
	if (st->max_line > 998 || st->nul > 0 || st->bare_cr > 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: %s outside the body of a part (cannot "
			     "forward it)",
			     what,
			     st->nul     ? "a NUL byte" :
			     st->bare_cr ? "a CR without LF" :
					   "a line over 998 octets");
		return NULL;
	}
	g_mime_stream_reset (cat);
	return g_steal_pointer (&cat);
}

/* RFC 2046 5.2.1: message/rfc822 is 7bit, 8bit or binary, and binary is
 * what no server takes without BINARYMIME (RFC 3030): of the message IN
 * (STREAM, its bytes scanned into SCAN) the leaves that are not 7bit or
 * 8bit are encoded again, the rest is kept.  Sets LEAF's content and
 * encoding; FALSE with @error for what is not a message or what cannot
 * be forwarded */
gboolean
mp_part_leaf_file_message (MpLeaf *leaf, MpInput *in, GMimeStream *stream,
			   Scan *scan, GError **error)
{
	g_autoptr (GMimeMessage) msg = NULL;
	g_autoptr (GError) local = NULL;
	g_autoptr (GMimeStream) from = NULL;

	/* refuse what is not a message rather than forward junk */
	msg = mp_input_parse_message (in, NULL, &local);
	if (msg == NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s (cannot forward it)", local->message);
		return FALSE;
	}
	from = message_content (stream);
	leaf->content = forwarded_content (stream, from->bound_start, msg,
					   mp_input_get_name (in), leaf->notes,
					   scan, error);
	if (leaf->content == NULL)
		return FALSE;
	leaf->encoding = scan->stats.non_ascii == 0 ?
				 GMIME_CONTENT_ENCODING_7BIT :
				 GMIME_CONTENT_ENCODING_8BIT;
	leaf->message = TRUE;
	return TRUE;
}
