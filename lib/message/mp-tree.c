#include "mp-tree.h"
#include "mp-error.h"
#include "mp-html.h"

#include <string.h>

#define READ_CHUNK (64 * 1024)
#define LINE_HEAD 1024        /* bytes kept of a line longer than a chunk */
#define MAX_FIELD (64 * 1024) /* longest header field value we read */
#define SEED_HEADER_MAX (64 * 1024)

/* ---- reading lines at offsets of the input --------------------------- */

typedef struct {
	GMimeStream *stream;
	char *buf;
	gsize len, off; /* bytes in buf, read index */
	gint64 pos;     /* offset of buf[0] */
	gint64 limit;   /* end of the range read */
	char head[LINE_HEAD];
} Reader;

typedef struct {
	gint64 start;     /* offset of the line */
	gsize len;        /* its length without the line ending */
	guint eol;        /* length of the line ending: 0, 1 (LF) or 2 (CRLF) */
	const char *data; /* its first avail bytes */
	gsize avail;
} Line;

static void
reader_init (Reader *r, GMimeStream *stream, gint64 start, gint64 limit)
{
	memset (r, 0, sizeof *r);
	r->stream = stream;
	r->buf = g_malloc (READ_CHUNK);
	r->pos = start;
	r->limit = limit;
}

static void
reader_clear (Reader *r)
{
	g_clear_pointer (&r->buf, g_free);
}

/* Reads more into the buffer; returns the number of bytes read, 0 at the
 * end of the range, -1 on error. */
static gssize
reader_fill (Reader *r, GError **error)
{
	gint64 at;
	gsize want;
	ssize_t n;

	if (r->off > 0) {
		memmove (r->buf, r->buf + r->off, r->len - r->off);
		r->pos += (gint64) r->off;
		r->len -= r->off;
		r->off = 0;
	}
	at = r->pos + (gint64) r->len;
	if (at >= r->limit || r->len == READ_CHUNK)
		return 0;
	want = READ_CHUNK - r->len;
	if ((gint64) want > r->limit - at)
		want = (gsize) (r->limit - at);
	if (g_mime_stream_seek (r->stream, at, GMIME_STREAM_SEEK_SET) != at ||
	    (n = g_mime_stream_read (r->stream, r->buf + r->len, want)) < 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_IO, "stdin: read error");
		return -1;
	}
	r->len += (gsize) n;
	return n;
}

/* The next line; FALSE at the end of the range or on error (@error set). */
static gboolean
reader_next (Reader *r, Line *l, GError **error)
{
	for (;;) {
		char *p = memchr (r->buf + r->off, '\n', r->len - r->off);
		gssize n;

		if (p) {
			gsize end = (gsize) (p - r->buf);

			l->start = r->pos + (gint64) r->off;
			l->len = end - r->off;
			l->eol = 1;
			if (l->len > 0 && r->buf[end - 1] == '\r') {
				l->len--;
				l->eol = 2;
			}
			l->data = r->buf + r->off;
			l->avail = l->len;
			r->off = end + 1;
			return TRUE;
		}
		if (r->off > 0 || r->len < READ_CHUNK) {
			n = reader_fill (r, error);
			if (n < 0)
				return FALSE;
			if (n > 0)
				continue;
		}
		if (r->len == r->off)
			return FALSE;
		if (r->len < READ_CHUNK) {
			/* the last line, without a line ending */
			l->start = r->pos + (gint64) r->off;
			l->len = r->len - r->off;
			l->eol = 0;
			l->data = r->buf + r->off;
			l->avail = l->len;
			r->off = r->len;
			return TRUE;
		}
		/* a line longer than the buffer: keep its head, skip the rest */
		memcpy (r->head, r->buf, LINE_HEAD);
		l->start = r->pos;
		l->data = r->head;
		l->avail = LINE_HEAD;
		l->eol = 0;
		for (;;) {
			p = memchr (r->buf + r->off, '\n', r->len - r->off);
			if (p) {
				r->off = (gsize) (p - r->buf) + 1;
				l->eol = 1;
				l->len = (gsize) (r->pos +
						  (gint64) (p - r->buf) -
						  l->start);
				if (p > r->buf && p[-1] == '\r') {
					l->eol = 2;
					l->len--;
				}
				return TRUE;
			}
			r->off = r->len;
			n = reader_fill (r, error);
			if (n < 0)
				return FALSE;
			if (n == 0) {
				l->len = (gsize) (r->pos + (gint64) r->len -
						  l->start);
				return TRUE;
			}
		}
	}
}

/* ---- the tree --------------------------------------------------------- */

typedef enum {
	NODE_ORIG,  /* a part of the input */
	NODE_MULTI, /* a new multipart container */
	NODE_LEAF,  /* a new leaf part */
} NodeKind;

typedef struct {
	gint64 start, end; /* raw bytes, line ending included */
	gboolean content;  /* Content-* */
	gboolean mime_version;
} Field;

typedef struct _Node Node;
struct _Node {
	NodeKind kind;
	char *type;     /* "type/subtype", lower case */
	char *boundary; /* multipart boundary, NULL if none */
	char *cid;      /* Content-ID without <> */
	gboolean attachment;
	gboolean eight_bit;  /* Content-Transfer-Encoding: 8bit or binary */
	GPtrArray *children; /* Node * (not owned) */

	/* NODE_ORIG */
	gboolean top; /* the message itself */
	gint64 start, body, end;
	Node *parent; /* the container it was found in */
	gint64 lead;  /* its delimiter in the parent, eol before it incl. */
	gboolean lead_eol;
	gboolean scanned, closed, changed;
	gint64 preamble_end, close_lead;
	gboolean close_eol;

	/* NODE_LEAF */
	MpLeaf *leaf;
};

struct _MpTree {
	MpInput *in;
	GMimeStream *stream;
	gint64 base, size;
	gboolean crlf;
	MpRandom *random;
	GPtrArray *nodes; /* owns every node */
	GArray *fields;   /* the message's header fields */
	GPtrArray *boundaries;
	Node *top, *root, *mixed;
	GPtrArray *attachments;

	/* body editing */
	gboolean body_edit;
	Node *body;                /* the original body, or NULL */
	Node *alt_node, *rel_node; /* its original containers */
	GPtrArray *alt, *res;
	char *html;         /* the new HTML text */
	GPtrArray *new_res; /* inline parts added */
};

static void
node_free (Node *n)
{
	g_free (n->type);
	g_free (n->boundary);
	g_free (n->cid);
	g_clear_pointer (&n->children, g_ptr_array_unref);
	g_clear_pointer (&n->leaf, mp_part_leaf_free);
	g_free (n);
}

static Node *
node_new (MpTree *t, NodeKind kind)
{
	Node *n = g_new0 (Node, 1);

	n->kind = kind;
	g_ptr_array_add (t->nodes, n);
	return n;
}

static gboolean
type_is (Node *n, const char *type)
{
	return g_strcmp0 (n->type, type) == 0;
}

static gboolean
is_multipart (Node *n)
{
	return n->type && g_str_has_prefix (n->type, "multipart/");
}

static char *
strip_cid (const char *value)
{
	g_autofree char *v = g_strstrip (g_strdup (value));
	gsize len = strlen (v);

	if (len >= 2 && v[0] == '<' && v[len - 1] == '>')
		return g_strndup (v + 1, len - 2);
	return g_steal_pointer (&v);
}

/* Takes what a header field says about the part. */
static void
node_take_field (Node *n, const char *name, gsize name_len, const char *value)
{
	if (name_len == 12 &&
	    g_ascii_strncasecmp (name, "Content-Type", 12) == 0 &&
	    n->type == NULL) {
		g_autoptr (GMimeContentType) ct =
			g_mime_content_type_parse (NULL, value);
		g_autofree char *mime = NULL;
		const char *b;

		if (ct == NULL || strchr (value, '/') == NULL)
			return;
		mime = g_mime_content_type_get_mime_type (ct);
		n->type = g_ascii_strdown (mime, -1);
		b = g_mime_content_type_get_parameter (ct, "boundary");
		if (b && *b)
			n->boundary = g_strdup (b);
	} else if (name_len == 19 &&
		   g_ascii_strncasecmp (name, "Content-Disposition", 19) == 0) {
		GMimeContentDisposition *cd =
			g_mime_content_disposition_parse (NULL, value);

		n->attachment =
			cd && g_mime_content_disposition_is_attachment (cd);
		g_clear_object (&cd);
	} else if (name_len == 25 &&
		   g_ascii_strncasecmp (name, "Content-Transfer-Encoding",
					25) == 0) {
		g_autofree char *v = g_strstrip (g_ascii_strdown (value, -1));

		n->eight_bit =
			strcmp (v, "8bit") == 0 || strcmp (v, "binary") == 0;
	} else if (name_len == 10 &&
		   g_ascii_strncasecmp (name, "Content-ID", 10) == 0 &&
		   n->cid == NULL) {
		n->cid = strip_cid (value);
	}
}

/* Python's email parser and GMime take a line as a header field when it
 * starts with printable characters up to a colon. */
static gboolean
is_field_line (const Line *l, gsize *name_len)
{
	gsize i;

	for (i = 0; i < l->avail; i++) {
		guchar c = (guchar) l->data[i];

		if (c == ':') {
			*name_len = i;
			/* no name, no field: GMime refuses a message that
			 * starts so (found by fuzzing) */
			return i > 0;
		}
		if (c < 0x21 || c > 0x7e)
			return FALSE;
	}
	return FALSE;
}

/* Fields of one kind that follow each other are kept as one range: a
 * header of a million fields costs no memory. */
static void
add_field (GArray *fields, const Field *f)
{
	Field *last = fields->len ?
			      &g_array_index (fields, Field, fields->len - 1) :
			      NULL;

	if (last && last->end == f->start && last->content == f->content) {
		last->end = f->end;
		last->mime_version = last->mime_version || f->mime_version;
		return;
	}
	g_array_append_val (fields, *f);
}

static void
finish_field (Node *n, GArray *fields, GString *field, gsize name_len,
	      gint64 start, gint64 end)
{
	if (field->len == 0)
		return;
	if (name_len > 0 && name_len < field->len)
		node_take_field (n, field->str, name_len,
				 field->str + name_len + 1);
	if (fields) {
		Field f = { start, end, FALSE, FALSE };

		f.content =
			name_len >= 8 &&
			g_ascii_strncasecmp (field->str, "Content-", 8) == 0;
		f.mime_version = name_len == 12 &&
				 g_ascii_strncasecmp (field->str,
						      "MIME-Version", 12) == 0;
		add_field (fields, &f);
	}
	g_string_truncate (field, 0);
}

/* A header block ended by a line that is no field, without the blank
 * line: Python's email and we start the body at that line (a defect),
 * GMime skips it and reads on for fields up to a blank line.  The two
 * agree on the structure only when the lines GMime skips hold neither a
 * field nor a delimiter; else the checks of mp_tree_new() (on GMime's
 * structure) passed a message that, edited, is read with ours (found by
 * fuzzing: a delimiter right after the header, the blank line later).
 * Reads on from @first to the first blank line; FALSE with @error set
 * when a line there could be a field or a delimiter. */
static gboolean
skipped_lines_agree (MpTree *t, Node *n, Reader *r, const Line *first,
		     GError **error)
{
	Line l = *first;

	do {
		if (l.len == 0 && l.eol > 0)
			return TRUE;
		if (l.avail < l.len ||
		    (l.avail >= 2 && l.data[0] == '-' && l.data[1] == '-') ||
		    memchr (l.data, ':', l.avail) != NULL) {
			g_autofree char *head = g_utf8_make_valid (
				first->data, (gssize) MIN (first->avail, 40));
			g_autofree char *shown = g_strescape (head, "");

			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s: %s: no blank line before the body "
				     "at \"%s\" (readers disagree where the "
				     "body starts)",
				     mp_input_get_name (t->in),
				     n->top ? "header" : "header of a part",
				     shown);
			return FALSE;
		}
	} while (reader_next (r, &l, error));
	return *error == NULL;
}

/* Reads the header block of @n: its fields, where its body starts. */
static gboolean
parse_headers (MpTree *t, Node *n, const char *default_type, GArray *fields,
	       GError **error)
{
	g_autoptr (GString) field = g_string_new (NULL);
	g_autoptr (GError) local = NULL;
	gboolean first = TRUE;
	gsize name_len = 0;
	gint64 fstart = n->start, fend = n->start;
	Reader r;
	Line l;

	n->body = n->end;
	reader_init (&r, t->stream, n->start, n->end);
	while (reader_next (&r, &l, &local)) {
		gsize nl = 0;

		if (first && n->top)
			t->crlf = l.eol == 2;
		if (l.len == 0 && l.eol > 0) {
			n->body = l.start + l.eol;
			break;
		}
		if (!first && (l.data[0] == ' ' || l.data[0] == '\t')) {
			if (field->len + l.avail < MAX_FIELD)
				g_string_append_len (field, l.data,
						     (gssize) l.avail);
			fend = l.start + (gint64) l.len + l.eol;
			continue;
		}
		if (first && n->top && l.avail >= 5 &&
		    memcmp (l.data, "From ", 5) == 0) {
			/* an mbox From_ line: kept, not a field */
			Field f = { l.start, l.start + (gint64) l.len + l.eol,
				    FALSE, FALSE };

			if (fields)
				add_field (fields, &f);
			/* a continuation line after it starts a range of its
			 * own: it must not copy the From_ line again (found
			 * by fuzzing) */
			fstart = fend = f.end;
			first = FALSE;
			continue;
		}
		if (!is_field_line (&l, &nl)) {
			/* no blank line: the body starts here (a defect) */
			n->body = l.start;
			skipped_lines_agree (t, n, &r, &l, &local);
			break;
		}
		finish_field (n, fields, field, name_len, fstart, fend);
		first = FALSE;
		name_len = nl;
		fstart = l.start;
		fend = l.start + (gint64) l.len + l.eol;
		g_string_append_len (field, l.data,
				     (gssize) MIN (l.avail, MAX_FIELD));
	}
	finish_field (n, fields, field, name_len, fstart, fend);
	reader_clear (&r);
	if (local) {
		g_propagate_error (error, g_steal_pointer (&local));
		return FALSE;
	}
	if (n->type == NULL)
		n->type = g_strdup (default_type);
	if (!is_multipart (n))
		g_clear_pointer (&n->boundary, g_free);
	return TRUE;
}

static gboolean
all_lwsp (const char *s, gsize len)
{
	gsize i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return FALSE;
	return TRUE;
}

/* Finds the parts of the multipart @n (RFC 2046 5.1.1).  Returns FALSE
 * when it has no boundary or no closing delimiter: then it is only ever
 * copied whole. */
static gboolean
scan_children (MpTree *t, Node *n, GError **error)
{
	g_autofree char *delim = NULL;
	g_autoptr (GError) local = NULL;
	const char *child_type;
	gint64 prev_after;
	guint prev_eol = 0;
	gsize dlen;
	Node *cur = NULL;
	Reader r;
	Line l;
	guint i;

	if (n->scanned)
		return n->closed;
	n->scanned = TRUE;
	n->children = g_ptr_array_new ();
	if (n->kind != NODE_ORIG || n->boundary == NULL)
		return FALSE;
	g_ptr_array_add (t->boundaries, g_strdup (n->boundary));
	delim = g_strconcat ("--", n->boundary, NULL);
	dlen = strlen (delim);
	prev_after = n->body;
	n->preamble_end = n->body;
	reader_init (&r, t->stream, n->body, n->end);
	while (reader_next (&r, &l, &local)) {
		gboolean close = FALSE;
		gint64 lead;

		if (l.avail < dlen || l.avail < l.len ||
		    memcmp (l.data, delim, dlen) != 0)
			goto next;
		if (l.len >= dlen + 2 && l.data[dlen] == '-' &&
		    l.data[dlen + 1] == '-' &&
		    all_lwsp (l.data + dlen + 2, l.len - dlen - 2))
			close = TRUE;
		else if (!all_lwsp (l.data + dlen, l.len - dlen))
			goto next;
		/* RFC 2046 5.1.1: the line ending before a delimiter
		 * belongs to the delimiter */
		lead = MAX (l.start - (gint64) prev_eol, prev_after);
		if (cur)
			cur->end = lead;
		else
			n->preamble_end = lead;
		if (close) {
			n->close_lead = lead;
			n->close_eol = lead < l.start;
			n->closed = TRUE;
			break;
		}
		cur = node_new (t, NODE_ORIG);
		cur->parent = n;
		cur->lead = lead;
		cur->lead_eol = lead < l.start;
		cur->start = l.start + (gint64) l.len + l.eol;
		cur->end = n->end;
		prev_after = cur->start;
		g_ptr_array_add (n->children, cur);
next:
		prev_eol = l.eol;
	}
	reader_clear (&r);
	if (local) {
		g_propagate_error (error, g_steal_pointer (&local));
		return FALSE;
	}
	if (!n->closed) {
		g_ptr_array_set_size (n->children, 0);
		return FALSE;
	}
	/* RFC 2046 5.1.5: parts of a digest are messages by default */
	child_type = type_is (n, "multipart/digest") ? "message/rfc822" :
						       "text/plain";
	for (i = 0; i < n->children->len; i++) {
		if (!parse_headers (t, n->children->pdata[i], child_type, NULL,
				    error)) {
			/* copied whole, never opened */
			n->closed = FALSE;
			g_ptr_array_set_size (n->children, 0);
			return FALSE;
		}
	}
	return TRUE;
}

/* RFC 2046 5.1.1: a boundary must not occur inside the parts it
 * encloses.  A nested multipart that GMime reads with the boundary of a
 * container around it is split differently by our scanner, and an edit
 * of the container then writes a message the next stage calls truncated
 * (found by fuzzing).  Returns the reused boundary, or NULL. */
static const char *
reused_boundary (GMimeObject *obj, GPtrArray *outer)
{
	const char *b, *found = NULL;
	int i, n;

	if (GMIME_IS_MESSAGE_PART (obj)) {
		GMimeMessage *m = g_mime_message_part_get_message (
			GMIME_MESSAGE_PART (obj));

		obj = m ? g_mime_message_get_mime_part (m) : NULL;
	}
	if (obj == NULL || !GMIME_IS_MULTIPART (obj))
		return NULL;
	b = g_mime_multipart_get_boundary (GMIME_MULTIPART (obj));
	for (i = 0; b && i < (int) outer->len; i++)
		if (strcmp (outer->pdata[i], b) == 0)
			return b;
	g_ptr_array_add (outer, (gpointer) (b ? b : ""));
	n = g_mime_multipart_get_count (GMIME_MULTIPART (obj));
	for (i = 0; i < n && !found; i++)
		found = reused_boundary (
			g_mime_multipart_get_part (GMIME_MULTIPART (obj), i),
			outer);
	g_ptr_array_set_size (outer, outer->len - 1);
	return found;
}

/* A CR without LF in the header ends a line for Python's email and for
 * smtp-send's canonicaliser, not for GMime or us: the fields we add would
 * land in what those readers call the body, and an attachment would be
 * hidden from them (found by tests/cli/hostile.t).  Refuse it, as
 * mp-headers does. */
static gboolean
header_without_bare_cr (MpTree *t, GError **error)
{
	char buf[64 * 1024 + 1];
	gint64 pos = t->base, end = t->top->body;

	if (g_mime_stream_seek (t->stream, pos, GMIME_STREAM_SEEK_SET) != pos)
		return TRUE; /* reading errors are reported where they matter */
	while (pos < end) {
		gsize want = (gsize) MIN ((gint64) sizeof buf - 1, end - pos);
		gssize n = g_mime_stream_read (t->stream, buf, want + 1);
		gsize i;

		if (n <= 0)
			break;
		/* one byte past the chunk tells whether a CR ending it has
		 * its LF */
		for (i = 0; i < MIN ((gsize) n, want); i++) {
			if (buf[i] == '\r' &&
			    (i + 1 >= (gsize) n || buf[i + 1] != '\n')) {
				g_set_error (error, MP_ERROR, MP_ERROR_DATA,
					     "%s: header: CR without LF "
					     "(ambiguous line ending)",
					     mp_input_get_name (t->in));
				return FALSE;
			}
		}
		pos += (gint64) want;
		if (g_mime_stream_seek (t->stream, pos,
					GMIME_STREAM_SEEK_SET) != pos)
			break;
	}
	return TRUE;
}

MpTree *
mp_tree_new (MpInput *in, const char *seed, GError **error)
{
	g_autoptr (MpTree) t = g_new0 (MpTree, 1);
	g_autoptr (GMimeMessage) msg = NULL;
	g_autoptr (GError) local = NULL;
	gint64 hlen;

	/* refuses empty input and a truncated multipart anywhere */
	msg = mp_input_parse_message (in, NULL, error);
	if (msg == NULL)
		return NULL;
	{
		g_autoptr (GPtrArray) outer = g_ptr_array_new ();
		const char *b = reused_boundary (
			g_mime_message_get_mime_part (msg), outer);

		if (b) {
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s: a nested multipart reuses the "
				     "boundary \"%s\" of the part around it",
				     mp_input_get_name (in), b);
			return NULL;
		}
	}
	g_clear_object (&msg);

	t->in = in;
	t->stream = mp_input_get_stream (in);
	t->base = t->stream->bound_start;
	t->size = mp_input_get_size (in);
	t->nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) node_free);
	t->fields = g_array_new (FALSE, FALSE, sizeof (Field));
	t->boundaries = g_ptr_array_new_with_free_func (g_free);
	t->attachments = g_ptr_array_new ();
	t->random = mp_random_new (seed);

	t->top = node_new (t, NODE_ORIG);
	t->top->top = TRUE;
	t->top->start = t->base;
	t->top->end = t->base + t->size;
	if (!parse_headers (t, t->top, "text/plain", t->fields, error) ||
	    !header_without_bare_cr (t, error))
		return NULL;
	t->root = t->top;

	/* identical inputs give identical boundaries (DESIGN 2) */
	mp_random_feed (t->random, &t->size, sizeof t->size);
	hlen = MIN (t->top->body - t->base, SEED_HEADER_MAX);
	if (hlen > 0) {
		g_autofree char *h = g_malloc ((gsize) hlen);

		if (g_mime_stream_seek (t->stream, t->base,
					GMIME_STREAM_SEEK_SET) == t->base &&
		    g_mime_stream_read (t->stream, h, (gsize) hlen) == hlen)
			mp_random_feed (t->random, h, (gsize) hlen);
	}

	/* a boundary holding white space was mostly folded by its writer;
	 * readers disagree on it (Python's compat32 keeps the fold), so the
	 * message is wrapped whole instead of opened */
	if (type_is (t->top, "multipart/mixed") &&
	    strpbrk (t->top->boundary ? t->top->boundary : " ", " \t") ==
		    NULL) {
		if (scan_children (t, t->top, &local))
			t->mixed = t->top;
		else if (local) {
			g_propagate_error (error, g_steal_pointer (&local));
			return NULL;
		}
	}
	return g_steal_pointer (&t);
}

void
mp_tree_free (MpTree *t)
{
	if (t == NULL)
		return;
	g_clear_pointer (&t->nodes, g_ptr_array_unref);
	g_clear_pointer (&t->fields, g_array_unref);
	g_clear_pointer (&t->boundaries, g_ptr_array_unref);
	g_clear_pointer (&t->attachments, g_ptr_array_unref);
	g_clear_pointer (&t->alt, g_ptr_array_unref);
	g_clear_pointer (&t->res, g_ptr_array_unref);
	g_clear_pointer (&t->new_res, g_ptr_array_unref);
	g_clear_pointer (&t->random, mp_random_free);
	g_free (t->html);
	g_free (t);
}

MpRandom *
mp_tree_get_random (MpTree *t)
{
	return t->random;
}

char *
mp_tree_new_content_id (MpTree *t)
{
	g_autofree char *token = mp_random_token (t->random, 16);

	return g_strdup_printf ("%s@mimepipe", token);
}

gboolean
mp_tree_is_crlf (MpTree *t)
{
	return t->crlf;
}

static Node *
leaf_node (MpTree *t, MpLeaf *leaf)
{
	Node *n = node_new (t, NODE_LEAF);
	const char *cid = mp_part_leaf_get_content_id (leaf);

	n->leaf = leaf;
	n->type = g_strdup (mp_part_leaf_get_mime_type (leaf));
	n->cid = cid ? g_strdup (cid) : NULL;
	return n;
}

/* A boundary no container of the message uses (newly allocated), added
 * to those known. */
static char *
new_boundary (MpTree *t)
{
	for (;;) {
		g_autofree char *token = mp_random_token (t->random, 24);
		g_autofree char *b = g_strconcat ("=_", token, NULL);
		gboolean seen = FALSE;
		guint i;

		/* "=_" occurs in no base64 or quoted-printable text */
		for (i = 0; i < t->boundaries->len; i++)
			seen = seen || strcmp (t->boundaries->pdata[i], b) == 0;
		if (!seen) {
			g_ptr_array_add (t->boundaries, g_strdup (b));
			return g_steal_pointer (&b);
		}
	}
}

static Node *
multi_node (MpTree *t, const char *type, GPtrArray *children)
{
	Node *n = node_new (t, NODE_MULTI);

	n->type = g_strdup (type);
	n->boundary = new_boundary (t);
	n->children = g_ptr_array_copy (children, NULL, NULL);
	return n;
}

void
mp_tree_add_attachment (MpTree *t, MpLeaf *leaf)
{
	g_ptr_array_add (t->attachments, leaf_node (t, leaf));
}

/* ---- the body: text, HTML, inline parts ------------------------------ */

static gboolean
is_body_like (Node *n)
{
	return !n->attachment &&
	       (type_is (n, "text/plain") || type_is (n, "text/html") ||
		type_is (n, "multipart/alternative") ||
		type_is (n, "multipart/related"));
}

/* Finds the parts of a body container; *@ok is FALSE when it cannot be
 * parsed (then the body is kept whole, as a foreign one). */
static gboolean
scan_body (MpTree *t, Node *n, gboolean *ok, GError **error)
{
	g_autoptr (GError) local = NULL;

	*ok = scan_children (t, n, &local) && n->children->len > 0;
	if (local) {
		g_propagate_error (error, g_steal_pointer (&local));
		return FALSE;
	}
	return TRUE;
}

/* Splits the body into its alternatives and its inline parts. */
static gboolean
body_begin (MpTree *t, GError **error)
{
	gboolean ok;
	Node *root;
	guint i;

	if (t->body_edit)
		return TRUE;
	t->body_edit = TRUE;
	t->alt = g_ptr_array_new ();
	t->res = g_ptr_array_new ();
	t->new_res = g_ptr_array_new ();
	if (t->mixed) {
		if (t->mixed->children->len > 0 &&
		    is_body_like (t->mixed->children->pdata[0]))
			t->body = t->mixed->children->pdata[0];
	} else if (is_body_like (t->top)) {
		t->body = t->top;
	}
	root = t->body;
	if (root == NULL)
		return TRUE;
	if (type_is (root, "multipart/related")) {
		if (!scan_body (t, root, &ok, error))
			return FALSE;
		if (!ok)
			goto foreign;
		t->rel_node = root;
		for (i = 1; i < root->children->len; i++)
			g_ptr_array_add (t->res, root->children->pdata[i]);
		root = root->children->pdata[0];
	}
	if (type_is (root, "multipart/alternative")) {
		if (!scan_body (t, root, &ok, error))
			return FALSE;
		if (!ok)
			goto foreign;
		t->alt_node = root;
		for (i = 0; i < root->children->len; i++) {
			Node *c = root->children->pdata[i];
			guint j;

			/* alternative[text, related[html, images]] as some
			 * clients write it: the images move out, DESIGN 3 */
			if (type_is (c, "multipart/related") &&
			    t->rel_node == NULL && scan_children (t, c, NULL) &&
			    c->children->len > 0) {
				g_ptr_array_add (t->alt, c->children->pdata[0]);
				for (j = 1; j < c->children->len; j++)
					g_ptr_array_add (t->res,
							 c->children->pdata[j]);
				continue;
			}
			g_ptr_array_add (t->alt, c);
		}
	} else {
		g_ptr_array_add (t->alt, root);
	}
	return TRUE;

foreign:
	/* a body whose parts cannot be found is kept whole, after the new
	 * one, like another client's signed body */
	t->body = NULL;
	t->rel_node = t->alt_node = NULL;
	g_ptr_array_set_size (t->alt, 0);
	g_ptr_array_set_size (t->res, 0);
	return TRUE;
}

static int
find_type (GPtrArray *nodes, const char *type)
{
	guint i;

	for (i = 0; i < nodes->len; i++)
		if (type_is (nodes->pdata[i], type))
			return (int) i;
	return -1;
}

gboolean
mp_tree_set_text (MpTree *t, MpLeaf *leaf, GError **error)
{
	Node *n;
	int i;

	if (!body_begin (t, error)) {
		mp_part_leaf_free (leaf);
		return FALSE;
	}
	n = leaf_node (t, leaf);
	i = find_type (t->alt, "text/plain");
	if (i >= 0)
		t->alt->pdata[i] = n;
	else
		g_ptr_array_insert (t->alt, 0, n);
	return TRUE;
}

static gboolean
str_in (GPtrArray *list, const char *s)
{
	guint i;

	for (i = 0; s && i < list->len; i++)
		if (strcmp (list->pdata[i], s) == 0)
			return TRUE;
	return FALSE;
}

gboolean
mp_tree_set_html (MpTree *t, MpLeaf *leaf, const char *html, GError **error)
{
	g_autoptr (GPtrArray) links = NULL;
	Node *n;
	guint j;
	int i;

	if (!body_begin (t, error)) {
		mp_part_leaf_free (leaf);
		return FALSE;
	}
	n = leaf_node (t, leaf);
	i = find_type (t->alt, "text/html");
	if (i >= 0)
		t->alt->pdata[i] = n;
	else
		g_ptr_array_add (t->alt, n);
	g_free (t->html);
	t->html = g_strdup (html);

	/* the old HTML's images that the new one does not show go */
	links = mp_html_cid_links (html);
	for (j = t->res->len; j-- > 0;) {
		Node *r = t->res->pdata[j];

		if (!str_in (links, r->cid))
			g_ptr_array_remove_index (t->res, j);
	}
	return TRUE;
}

gboolean
mp_tree_add_related (MpTree *t, MpLeaf *leaf, GError **error)
{
	Node *n;
	guint j;

	if (!body_begin (t, error)) {
		mp_part_leaf_free (leaf);
		return FALSE;
	}
	n = leaf_node (t, leaf);
	g_ptr_array_add (t->new_res, n);
	for (j = 0; j < t->res->len; j++) {
		Node *r = t->res->pdata[j];

		if (g_strcmp0 (r->cid, n->cid) == 0) {
			t->res->pdata[j] = n;
			return TRUE;
		}
	}
	g_ptr_array_add (t->res, n);
	return TRUE;
}

static char *
orig_text (MpTree *t, Node *n, GError **error)
{
	g_autoptr (GMimeStream) sub = NULL;
	g_autoptr (GMimeParser) parser = NULL;
	g_autoptr (GMimeObject) obj = NULL;
	char *text;

	sub = g_mime_stream_substream (t->stream, n->start, n->end);
	parser = g_mime_parser_new_with_stream (sub);
	obj = g_mime_parser_construct_part (parser, NULL);
	text = obj && GMIME_IS_TEXT_PART (obj) ?
		       g_mime_text_part_get_text (GMIME_TEXT_PART (obj)) :
		       NULL;
	if (text == NULL)
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: the HTML part cannot be decoded",
			     mp_input_get_name (t->in));
	return text;
}

char *
mp_tree_get_html (MpTree *t, GError **error)
{
	Node *n;
	int i;

	if (t->html)
		return g_strdup (t->html);
	if (!body_begin (t, error))
		return NULL;
	i = find_type (t->alt, "text/html");
	if (i < 0)
		return NULL;
	n = t->alt->pdata[i];
	if (n->kind != NODE_ORIG)
		return NULL;
	return orig_text (t, n, error);
}

static gboolean
check_links (MpTree *t, GError **error)
{
	g_autoptr (GPtrArray) links = NULL;
	g_autoptr (GPtrArray) cids = g_ptr_array_new ();
	g_autoptr (GError) local = NULL;
	g_autofree char *html = NULL;
	guint i;

	html = mp_tree_get_html (t, &local);
	if (local) {
		g_propagate_error (error, g_steal_pointer (&local));
		return FALSE;
	}
	if (html == NULL) {
		if (t->new_res->len == 0)
			return TRUE;
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: no HTML part to show the image in",
			     mp_input_get_name (t->in));
		return FALSE;
	}
	links = mp_html_cid_links (html);
	for (i = 0; i < t->res->len; i++) {
		Node *r = t->res->pdata[i];

		if (r->cid)
			g_ptr_array_add (cids, r->cid);
	}
	for (i = 0; i < t->new_res->len; i++) {
		Node *r = t->new_res->pdata[i];

		if (!str_in (links, r->cid)) {
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "cid:%s: the HTML has no such link",
				     r->cid);
			return FALSE;
		}
	}
	/* RFC 2392: a cid: link no part answers shows a broken image */
	for (i = 0; i < links->len; i++) {
		if (!str_in (cids, links->pdata[i])) {
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "cid:%s: no part has this Content-ID",
				     (char *) links->pdata[i]);
			return FALSE;
		}
	}
	return TRUE;
}

static void
set_children (Node *n, GPtrArray *kids)
{
	guint i;
	gboolean same = n->children->len == kids->len;

	for (i = 0; same && i < kids->len; i++)
		same = n->children->pdata[i] == kids->pdata[i];
	if (same)
		return;
	g_ptr_array_unref (n->children);
	n->children = g_ptr_array_copy (kids, NULL, NULL);
	n->changed = TRUE;
}

/* Builds the body back in the canonical shape, reusing its containers. */
static Node *
body_build (MpTree *t)
{
	g_autoptr (GPtrArray) kids = g_ptr_array_new ();
	Node *root = NULL;
	guint i;

	if (t->alt->len == 1) {
		root = t->alt->pdata[0];
	} else if (t->alt->len > 1) {
		if (t->alt_node) {
			set_children (t->alt_node, t->alt);
			root = t->alt_node;
		} else {
			root = multi_node (t, "multipart/alternative", t->alt);
		}
	}
	if (root == NULL || t->res->len == 0)
		return root;
	g_ptr_array_add (kids, root);
	for (i = 0; i < t->res->len; i++)
		g_ptr_array_add (kids, t->res->pdata[i]);
	/* RFC 2387 3.1, 3.2: the related's type= (and start=) name its
	 * root; when the root is another part, so is the container */
	if (t->rel_node && t->rel_node->children->pdata[0] == root) {
		set_children (t->rel_node, kids);
		return t->rel_node;
	}
	return multi_node (t, "multipart/related", kids);
}

static void
mixed_set (Node *mixed, GPtrArray *kids)
{
	if (mixed->kind == NODE_ORIG) {
		set_children (mixed, kids);
	} else {
		g_ptr_array_unref (mixed->children);
		mixed->children = g_ptr_array_copy (kids, NULL, NULL);
	}
}

static void
finish (MpTree *t)
{
	if (t->body_edit) {
		Node *body = body_build (t);

		if (t->mixed) {
			g_autoptr (GPtrArray) kids = g_ptr_array_copy (
				t->mixed->children, NULL, NULL);

			if (t->body)
				g_ptr_array_remove_index (kids, 0);
			if (body)
				g_ptr_array_insert (kids, 0, body);
			mixed_set (t->mixed, kids);
		} else if (t->body) {
			t->root = body;
		} else if (body) {
			g_autoptr (GPtrArray) kids = g_ptr_array_new ();

			/* a body we cannot open (multipart/signed, a
			 * report) stays whole, after the new text */
			g_ptr_array_add (kids, body);
			g_ptr_array_add (kids, t->top);
			t->mixed = t->root =
				multi_node (t, "multipart/mixed", kids);
		}
		t->body_edit = FALSE;
	}
	if (t->attachments->len > 0) {
		g_autoptr (GPtrArray) kids = NULL;
		guint i;

		if (t->mixed) {
			kids = g_ptr_array_copy (t->mixed->children, NULL,
						 NULL);
		} else {
			kids = g_ptr_array_new ();
			if (t->root)
				g_ptr_array_add (kids, t->root);
		}
		for (i = 0; i < t->attachments->len; i++)
			g_ptr_array_add (kids, t->attachments->pdata[i]);
		g_ptr_array_set_size (t->attachments, 0);
		if (t->mixed)
			mixed_set (t->mixed, kids);
		else
			t->mixed = t->root =
				multi_node (t, "multipart/mixed", kids);
	}
}

/* ---- writing ------------------------------------------------------------ */

typedef struct {
	MpTree *t;
	MpOutput *out;
} Writer;

static gboolean
emit_new (Writer *w, const char *s, GError **error)
{
	if (!w->t->crlf)
		return mp_output_write (w->out, s, strlen (s), error);
	while (*s) {
		const char *nl = strchr (s, '\n');
		gsize len = nl ? (gsize) (nl - s) : strlen (s);

		if (!mp_output_write (w->out, s, len, error))
			return FALSE;
		if (nl && !mp_output_write (w->out, "\r\n", 2, error))
			return FALSE;
		s += len + (nl ? 1 : 0);
	}
	return TRUE;
}

static gboolean
emit_raw (Writer *w, gint64 start, gint64 end, GError **error)
{
	if (end <= start)
		return TRUE;
	return mp_output_copy_stream (w->out, w->t->stream, start, end, error);
}

/* The message's own header fields: the Content-* ones or the others. */
static gboolean
emit_fields (Writer *w, gboolean content, GError **error)
{
	guint i;

	for (i = 0; i < w->t->fields->len; i++) {
		Field *f = &g_array_index (w->t->fields, Field, i);
		char last = 0;

		if (f->content != content)
			continue;
		if (!emit_raw (w, f->start, f->end, error))
			return FALSE;
		if (g_mime_stream_seek (w->t->stream, f->end - 1,
					GMIME_STREAM_SEEK_SET) == f->end - 1 &&
		    g_mime_stream_read (w->t->stream, &last, 1) == 1 &&
		    last != '\n' && !emit_new (w, "\n", error))
			return FALSE;
	}
	return TRUE;
}

static gboolean emit_entity (Writer *w, Node *n, GError **error);

/* TRUE when an original part must be written piece by piece: its list of
 * parts, or a part inside it, changed. */
static gboolean
node_dirty (Node *n)
{
	guint i;

	if (n->kind != NODE_ORIG || n->changed)
		return TRUE;
	for (i = 0; n->children && i < n->children->len; i++) {
		Node *c = n->children->pdata[i];

		if (c->parent != n || node_dirty (c))
			return TRUE;
	}
	return FALSE;
}

static gboolean
emit_delimiter (Writer *w, const char *boundary, gboolean eol_before,
		GError **error)
{
	g_autofree char *d =
		g_strdup_printf ("%s--%s\n", eol_before ? "\n" : "", boundary);

	return emit_new (w, d, error);
}

/* An original multipart whose parts changed: its header, preamble, the
 * delimiters of the parts it keeps, its closing delimiter and epilogue
 * are copied; new parts get a delimiter of its boundary. */
static gboolean
emit_orig_multi (Writer *w, Node *n, gboolean as_top, GError **error)
{
	gboolean at_start, prev_new = FALSE;
	guint i;

	if (n->top && !as_top) {
		if (!emit_fields (w, TRUE, error) ||
		    !emit_new (w, "\n", error) ||
		    !emit_raw (w, n->body, n->preamble_end, error))
			return FALSE;
	} else if (!emit_raw (w, n->start, n->preamble_end, error)) {
		return FALSE;
	}
	at_start = n->preamble_end == n->body;
	for (i = 0; i < n->children->len; i++) {
		Node *c = n->children->pdata[i];

		if (c->kind == NODE_ORIG && c->parent == n) {
			if (prev_new && !c->lead_eol &&
			    !emit_new (w, "\n", error))
				return FALSE;
			if (!emit_raw (w, c->lead, c->start, error))
				return FALSE;
			prev_new = FALSE;
		} else {
			if (!emit_delimiter (w, n->boundary, !at_start, error))
				return FALSE;
			prev_new = TRUE;
		}
		if (!emit_entity (w, c, error))
			return FALSE;
		at_start = FALSE;
	}
	if (prev_new && !n->close_eol && !emit_new (w, "\n", error))
		return FALSE;
	return emit_raw (w, n->close_lead, n->end, error);
}

/* RFC 2045 6.4: a multipart holding 8bit data is labelled 8bit */
static gboolean
holds_8bit (Node *n)
{
	guint i;

	if (n->kind == NODE_LEAF) {
		GMimeContentEncoding e = mp_part_leaf_get_encoding (n->leaf);

		return e == GMIME_CONTENT_ENCODING_8BIT ||
		       e == GMIME_CONTENT_ENCODING_BINARY;
	}
	if (n->eight_bit)
		return TRUE;
	for (i = 0; n->children && i < n->children->len; i++)
		if (holds_8bit (n->children->pdata[i]))
			return TRUE;
	return FALSE;
}

static gboolean
emit_multi (Writer *w, Node *n, GError **error)
{
	g_autoptr (GString) head = g_string_new ("Content-Type: ");
	Node *root = n->children->len ? n->children->pdata[0] : NULL;
	g_autofree char *close = g_strdup_printf ("\n--%s--", n->boundary);
	guint i;

	g_string_append (head, n->type);
	/* RFC 2387 3.1: type= is the root's media type */
	if (type_is (n, "multipart/related") && root && root->type)
		g_string_append_printf (head, "; type=\"%s\"", root->type);
	g_string_append_printf (
		head, ";%sboundary=\"%s\"\n\n",
		head->len + strlen (n->boundary) + 13 > 78 ? "\n " : " ",
		n->boundary);
	if (holds_8bit (n))
		g_string_insert (head, head->len - 1,
				 "Content-Transfer-Encoding: 8bit\n");
	if (!emit_new (w, head->str, error))
		return FALSE;
	for (i = 0; i < n->children->len; i++) {
		if (!emit_delimiter (w, n->boundary, i > 0, error) ||
		    !emit_entity (w, n->children->pdata[i], error))
			return FALSE;
	}
	return emit_new (w, close, error);
}

/* @n as a part inside a multipart. */
static gboolean
emit_entity (Writer *w, Node *n, GError **error)
{
	switch (n->kind) {
	case NODE_LEAF:
		return mp_part_leaf_write (n->leaf, w->out, w->t->crlf, error);
	case NODE_MULTI:
		return emit_multi (w, n, error);
	case NODE_ORIG:
		if (node_dirty (n))
			return emit_orig_multi (w, n, FALSE, error);
		if (n->top)
			return emit_fields (w, TRUE, error) &&
			       emit_new (w, "\n", error) &&
			       emit_raw (w, n->body, n->end, error);
		return emit_raw (w, n->start, n->end, error);
	}
	return FALSE;
}

/* RFC 2046 5.1.1: a boundary must not occur in the parts it encloses.
 * A new boundary comes from a generator the message's header seeds, and
 * is deterministic under SOURCE_DATE_EPOCH: a message can hold a line
 * that starts with its delimiter, which would split a part we copy
 * (found by fuzzing).  Reads the message once and draws again for each
 * new container whose delimiter starts a line of it.  Errors:
 * MP_ERROR_IO when reading fails. */
static gboolean
new_boundaries_unused (MpTree *t, GError **error)
{
	g_autoptr (GPtrArray) multis = g_ptr_array_new ();
	gboolean clash;
	guint i;

	for (i = 0; i < t->nodes->len; i++) {
		Node *n = t->nodes->pdata[i];

		if (n->kind == NODE_MULTI)
			g_ptr_array_add (multis, n);
	}
	if (multis->len == 0)
		return TRUE;
	do {
		g_autoptr (GError) local = NULL;
		Reader r;
		Line l;

		clash = FALSE;
		reader_init (&r, t->stream, t->base, t->base + t->size);
		while (!clash && reader_next (&r, &l, &local)) {
			if (l.avail < 4 || memcmp (l.data, "--=_", 4) != 0)
				continue;
			for (i = 0; i < multis->len && !clash; i++) {
				Node *n = multis->pdata[i];
				gsize blen = strlen (n->boundary);

				if (l.avail >= blen + 2 &&
				    memcmp (l.data + 2, n->boundary, blen) ==
					    0) {
					g_free (n->boundary);
					n->boundary = new_boundary (t);
					clash = TRUE;
				}
			}
		}
		reader_clear (&r);
		if (local) {
			g_propagate_error (error, g_steal_pointer (&local));
			return FALSE;
		}
	} while (clash);
	return TRUE;
}

gboolean
mp_tree_write (MpTree *t, MpOutput *out, GError **error)
{
	Writer w = { t, out };
	Node *root;
	guint i;
	gboolean has_version = FALSE;

	if (t->body_edit && !check_links (t, error))
		return FALSE;
	finish (t);
	if (!new_boundaries_unused (t, error))
		return FALSE;
	root = t->root;
	if (root == NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: the message would have no body",
			     mp_input_get_name (t->in));
		return FALSE;
	}
	if (root == t->top && !node_dirty (t->top))
		return emit_raw (&w, t->base, t->base + t->size, error);
	if (root == t->top)
		return emit_orig_multi (&w, t->top, TRUE, error);

	/* a new top: the message's fields but Content-*, then the part */
	if (!emit_fields (&w, FALSE, error))
		return FALSE;
	for (i = 0; i < t->fields->len; i++)
		has_version = has_version ||
			      g_array_index (t->fields, Field, i).mime_version;
	if (!has_version && !emit_new (&w, "MIME-Version: 1.0\n", error))
		return FALSE;
	if (!emit_entity (&w, root, error))
		return FALSE;
	return root->kind != NODE_MULTI || emit_new (&w, "\n", error);
}
