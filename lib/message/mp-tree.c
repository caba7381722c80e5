/* mp-tree: the canonical MIME tree (DESIGN 3): a message's structure by
 * offsets, new parts inserted, the rest copied byte for byte.  Here the
 * nodes, their header blocks and the lines that may be delimiters; what
 * every reader reads alike and the tree's construction in
 * mp-tree-agree.c, the body in mp-tree-body.c, writing in
 * mp-tree-write.c (mp-tree-private.h is what they share). */
#include "mp-tree.h"
#include "mp-tree-private.h"
#include "mp-error.h"
#include "mp-io.h"
#include "mp-lines.h"

#include <string.h>

/* ---- the tree --------------------------------------------------------- */

void
mp_tree_node_free (Node *n)
{
	g_free (n->type);
	g_free (n->boundary);
	g_free (n->cid);
	g_clear_pointer (&n->children, g_ptr_array_unref);
	g_clear_pointer (&n->leaf, mp_part_leaf_free);
	g_free (n);
}

Node *
mp_tree_node_new (MpTree *t, NodeKind kind)
{
	Node *n = g_new0 (Node, 1);

	n->kind = kind;
	g_ptr_array_add (t->nodes, n);
	return n;
}

gboolean
mp_tree_type_is (Node *n, const char *type)
{
	return g_strcmp0 (n->type, type) == 0;
}

gboolean
mp_tree_is_multipart (Node *n)
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
		n->encoded = strcmp (v, "base64") == 0 ||
			     strcmp (v, "quoted-printable") == 0;
	} else if (name_len == 10 &&
		   g_ascii_strncasecmp (name, "Content-ID", 10) == 0 &&
		   n->cid == NULL) {
		n->cid = strip_cid (value);
	}
}

/* Python's email parser and GMime take a line as a header field when it
 * starts with printable characters up to a colon. */
static gboolean
is_field_line (const MpLine *l, gsize *name_len)
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
finish_field (MpTree *t, Node *n, GArray *fields, GString *field,
	      gsize name_len, gint64 start, gint64 end)
{
	if (field->len == 0)
		return;
	if (fields && name_len == 12 &&
	    g_ascii_strncasecmp (field->str, "Content-Type", 12) == 0) {
		t->ct_count++;
		t->ct_start = start + (gint64) name_len + 1;
		t->ct_end = end;
	}
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
skipped_lines_agree (MpTree *t, Node *n, MpLines *r, const MpLine *first,
		     GError **error)
{
	MpLine l = *first;

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
	} while (mp_lines_next (r, &l, error));
	return *error == NULL;
}

gboolean
mp_tree_parse_headers (MpTree *t, Node *n, const char *default_type,
		       GArray *fields, GError **error)
{
	g_autoptr (GString) field = g_string_new (NULL);
	g_autoptr (GError) local = NULL;
	gboolean first = TRUE, clipped = FALSE;
	gsize name_len = 0;
	gint64 fstart = n->start, fend = n->start;
	MpLines r;
	MpLine l;

	n->body = n->end;
	if (n->top)
		t->head_plain = FALSE;
	mp_lines_init (&r, t->stream, n->start, n->end);
	while (mp_lines_next (&r, &l, &local)) {
		gsize nl = 0;

		if (first && n->top)
			t->crlf = l.eol == 2;
		if (l.len == 0 && l.eol > 0) {
			n->body = l.start + l.eol;
			n->blank_ended = TRUE;
			if (n->top)
				t->head_plain = !clipped && !first;
			break;
		}
		if (l.avail < l.len)
			clipped = TRUE;
		if (!first && (l.data[0] == ' ' || l.data[0] == '\t')) {
			if (field->len + l.avail < MAX_FIELD)
				g_string_append_len (field, l.data,
						     (gssize) l.avail);
			else
				clipped = TRUE;
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
			clipped = TRUE; /* read by GMime its own way */
			continue;
		}
		if (!is_field_line (&l, &nl)) {
			/* no blank line: the body starts here (a defect) */
			n->body = l.start;
			skipped_lines_agree (t, n, &r, &l, &local);
			break;
		}
		finish_field (t, n, fields, field, name_len, fstart, fend);
		first = FALSE;
		name_len = nl;
		fstart = l.start;
		fend = l.start + (gint64) l.len + l.eol;
		g_string_append_len (field, l.data,
				     (gssize) MIN (l.avail, MAX_FIELD));
	}
	finish_field (t, n, fields, field, name_len, fstart, fend);
	mp_lines_clear (&r);
	if (local) {
		g_propagate_error (error, g_steal_pointer (&local));
		return FALSE;
	}
	if (n->type == NULL)
		n->type = g_strdup (default_type);
	if (!mp_tree_is_multipart (n))
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

/* The byte at @pos (the window may move). */
static gboolean
peek_byte (MpInputWindow *w, gint64 pos, char *c)
{
	gsize avail;
	const char *p = mp_input_window_at (w, pos, 1, &avail, NULL);

	if (p == NULL)
		return FALSE;
	*c = p[0];
	return TRUE;
}

/* Moves *@pos to the start of the next line (past the next LF), or to
 * @end. */
static gboolean
next_line_start (MpInputWindow *w, gint64 *pos, gint64 end, GError **error)
{
	while (*pos < end) {
		gsize avail;
		const char *p = mp_input_window_at (w, *pos, 1, &avail, error);
		const char *nl;

		if (p == NULL)
			return FALSE;
		avail = (gsize) MIN ((gint64) avail, end - *pos);
		nl = memchr (p, '\n', avail);
		if (nl) {
			*pos += (gint64) (nl - p) + 1;
			return TRUE;
		}
		*pos += (gint64) avail;
	}
	return TRUE;
}

gboolean
mp_tree_dash_line_at (MpInputWindow *w, gint64 at, gint64 end, DashLine *dl,
		      gint64 *next, GError **error)
{
	gsize avail;
	const char *p =
		mp_input_window_at (w, at, MP_LINES_CHUNK + 1, &avail, error);
	const char *nl;

	if (p == NULL)
		return FALSE;
	avail = (gsize) MIN ((gint64) avail, end - at);
	nl = memchr (p, '\n', MIN (avail, (gsize) MP_LINES_CHUNK));
	dl->start = at;
	dl->data = p;
	dl->long_line = FALSE;
	if (nl) {
		dl->len = (gsize) (nl - p);
		dl->eol = 1;
		if (dl->len > 0 && p[dl->len - 1] == '\r') {
			dl->len--;
			dl->eol = 2;
		}
		*next = at + (gint64) (nl - p) + 1;
	} else if (avail < (gsize) MP_LINES_CHUNK) {
		/* the last line, without a line ending */
		dl->len = avail;
		dl->eol = 0;
		*next = end;
	} else {
		dl->len = 0;
		dl->eol = 0;
		dl->long_line = TRUE;
		*next = at + 1; /* its end is found as any line's */
		if (!next_line_start (w, next, end, error))
			return FALSE;
	}
	return TRUE;
}

gboolean
mp_tree_next_dash_line (MpInputWindow *w, gint64 *pos, gint64 end, DashLine *dl,
			GError **error)
{
	gint64 at = *pos;
	const char *p;
	gsize avail, i;

	for (;;) {
		if (at >= end)
			return FALSE;
		p = mp_input_window_at (w, at, 2, &avail, error);
		if (p == NULL)
			return FALSE;
		avail = (gsize) MIN ((gint64) avail, end - at);
		if (p[0] == '-')
			break;
		i = mp_lines_scan (p, avail, TRUE, FALSE);
		if (i + 1 < avail) {
			at += (gint64) i + 1;
			break;
		}
		at += (gint64) avail;
		/* an LF ending the window starts a line after it; else the
		 * line goes on into the next one */
		if (p[avail - 1] != '\n' &&
		    !next_line_start (w, &at, end, error))
			return FALSE;
	}
	/* at is the start of a line holding "-" first */
	return mp_tree_dash_line_at (w, at, end, dl, pos, error);
}

void
mp_tree_delims_begin (MpTree *t, Node *n, Delims *d)
{
	g_ptr_array_add (t->boundaries, g_strdup (n->boundary));
	d->delim = g_strconcat ("--", n->boundary, NULL);
	d->dlen = strlen (d->delim);
	d->prev_after = n->body;
	d->cur = NULL;
	d->done = FALSE;
	n->preamble_end = n->body;
}

void
mp_tree_delims_take (MpTree *t, Node *n, Delims *d, MpInputWindow *w,
		     const DashLine *l)
{
	gboolean close = FALSE;
	guint prev_eol = 0;
	gint64 lead;
	Node *cur;

	if (d->done)
		return;
	if (l->long_line || l->len < d->dlen ||
	    memcmp (l->data, d->delim, d->dlen) != 0)
		goto not_one;
	if (l->len >= d->dlen + 2 && l->data[d->dlen] == '-' &&
	    l->data[d->dlen + 1] == '-' &&
	    all_lwsp (l->data + d->dlen + 2, l->len - d->dlen - 2))
		close = TRUE;
	else if (!all_lwsp (l->data + d->dlen, l->len - d->dlen))
		goto not_one;
	/* the line before ends with LF or CRLF (none when it is the first
	 * of the range) */
	if (l->start > n->body) {
		char c = 0;

		prev_eol = 1;
		if (l->start - 2 >= n->body &&
		    peek_byte (w, l->start - 2, &c) && c == '\r')
			prev_eol = 2;
	}
	/* RFC 2046 5.1.1: the line ending before a delimiter belongs to
	 * the delimiter */
	lead = MAX (l->start - (gint64) prev_eol, d->prev_after);
	if (d->cur)
		d->cur->end = lead;
	else
		n->preamble_end = lead;
	if (close) {
		n->close_lead = lead;
		n->close_eol = lead < l->start;
		n->closed = TRUE;
		d->done = TRUE;
		return;
	}
	cur = mp_tree_node_new (t, NODE_ORIG);
	cur->parent = n;
	cur->lead = lead;
	cur->lead_eol = lead < l->start;
	cur->start = l->start + (gint64) l->len + l->eol;
	cur->end = n->end;
	d->prev_after = cur->start;
	d->cur = cur;
	g_ptr_array_add (n->children, cur);
	return;

not_one:
	/* what GMime may look at as a delimiter too (skeleton()) */
	if (d->cur)
		d->cur->has_dash = TRUE;
}

gboolean
mp_tree_scan_children (MpTree *t, Node *n, GError **error)
{
	g_autoptr (GError) local = NULL;
	const char *child_type;
	guint i;

	if (n->scanned) {
		/* the message's own, scanned by skeleton(): its error is
		 * told where it was before */
		if (n->top && t->top_error) {
			g_propagate_error (error,
					   g_steal_pointer (&t->top_error));
			return FALSE;
		}
		return n->closed;
	}
	n->scanned = TRUE;
	if (n->children == NULL)
		n->children = g_ptr_array_new ();
	if (n->kind != NODE_ORIG || n->boundary == NULL)
		return FALSE;
	if (!n->delimited) {
		gint64 pos = n->body;
		MpInputWindow w;
		Delims d;
		DashLine l;

		mp_tree_delims_begin (t, n, &d);
		mp_input_window_init (&w, t->in);
		while (!d.done &&
		       mp_tree_next_dash_line (&w, &pos, n->end, &l, &local))
			mp_tree_delims_take (t, n, &d, &w, &l);
		mp_input_window_clear (&w);
		g_free (d.delim);
		if (local) {
			g_propagate_error (error, g_steal_pointer (&local));
			return FALSE;
		}
	}
	if (!n->closed) {
		g_ptr_array_set_size (n->children, 0);
		return FALSE;
	}
	/* RFC 2046 5.1.5: parts of a digest are messages by default */
	child_type = mp_tree_type_is (n, "multipart/digest") ?
			     "message/rfc822" :
			     "text/plain";
	for (i = 0; i < n->children->len; i++) {
		if (!mp_tree_parse_headers (t, n->children->pdata[i],
					    child_type, NULL, error)) {
			/* copied whole, never opened */
			n->closed = FALSE;
			g_ptr_array_set_size (n->children, 0);
			return FALSE;
		}
	}
	return TRUE;
}
