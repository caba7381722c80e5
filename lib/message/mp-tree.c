#include "mp-tree.h"
#include "mp-error.h"
#include "mp-lines.h"
#include "mp-multipart.h"
#include "mp-html.h"

#include <string.h>

#define READ_CHUNK (64 * 1024)
#define MAX_FIELD (64 * 1024) /* longest header field value we read */
#define SEED_HEADER_MAX (64 * 1024)

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
	gboolean encoded;    /* base64 or quoted-printable */
	guint variant;       /* NODE_MULTI: the prefix of its boundary */
	GPtrArray *children; /* Node * (not owned) */

	/* NODE_ORIG */
	gboolean top; /* the message itself */
	gint64 start, body, end;
	Node *parent; /* the container it was found in */
	gint64 lead;  /* its delimiter in the parent, eol before it incl. */
	gboolean lead_eol;
	gboolean scanned, closed, changed;
	gboolean delimited;   /* its delimiters were found (scan_input()) */
	gboolean blank_ended; /* its header ends with a blank line */
	gboolean has_dash;    /* a line in it starts with "-" */
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
	gboolean wrap; /* the attachments go around the message, not in it */

	/* the message's header as we read it: its Content-Type fields (the
	 * last one's value), and whether it was read plainly (fields, then
	 * a blank line; no From_ line, nothing clipped) */
	guint ct_count;
	gint64 ct_start, ct_end;
	gboolean head_plain;

	/* the first bytes of every line of the input that starts like a
	 * delimiter of ours ("--=_", "--?=_"), found by scan_input(), when
	 * there are few enough to keep */
	GPtrArray *heads; /* GBytes */
	gboolean heads_ok;
	gint64 bare_cr;    /* the first CR without LF, or -1 */
	GError *top_error; /* scan_children() of the message, run early */

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

/* Reads the header block of @n: its fields, where its body starts. */
static gboolean
parse_headers (MpTree *t, Node *n, const char *default_type, GArray *fields,
	       GError **error)
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

/* A line of the input that may be a delimiter: one that starts with
 * "-".  mp-lines' reading of it: a line longer than MP_LINES_CHUNK is
 * never one. */
typedef struct {
	gint64 start;
	gsize len;
	guint eol;
	const char *data; /* len bytes, valid until the window moves */
	gboolean long_line;
} DashLine;

/* The line at @at (a line start) in [@at, @end), which starts with "-";
 * *@next is set to the start of the line after it. */
static gboolean
dash_line_at (MpInputWindow *w, gint64 at, gint64 end, DashLine *dl,
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

/* The next line in [*@pos, @end) that starts with "-", where *@pos is the
 * start of a line; FALSE when there is none.  *@pos moves past it. */
static gboolean
next_dash_line (MpInputWindow *w, gint64 *pos, gint64 end, DashLine *dl,
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
	return dash_line_at (w, at, end, dl, pos, error);
}

/* Finding the delimiters of a multipart, one line starting with "-" at
 * a time. */
typedef struct {
	char *delim;
	gsize dlen;
	gint64 prev_after;
	Node *cur;
	gboolean done; /* the closing delimiter was found */
} Delims;

static void
delims_begin (MpTree *t, Node *n, Delims *d)
{
	g_ptr_array_add (t->boundaries, g_strdup (n->boundary));
	d->delim = g_strconcat ("--", n->boundary, NULL);
	d->dlen = strlen (d->delim);
	d->prev_after = n->body;
	d->cur = NULL;
	d->done = FALSE;
	n->preamble_end = n->body;
}

/* Takes @l, a line of [n->body, n->end) that starts with "-". */
static void
delims_take (MpTree *t, Node *n, Delims *d, MpInputWindow *w, const DashLine *l)
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
	cur = node_new (t, NODE_ORIG);
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

/* Finds the parts of the multipart @n (RFC 2046 5.1.1).  Returns FALSE
 * when it has no boundary or no closing delimiter: then it is only ever
 * copied whole.  Only the lines starting with "-" are looked at, found
 * sixteen bytes at a time (mp_lines_scan()); the message's own were
 * found by scan_input(). */
static gboolean
scan_children (MpTree *t, Node *n, GError **error)
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

		delims_begin (t, n, &d);
		mp_input_window_init (&w, t->in);
		while (!d.done && next_dash_line (&w, &pos, n->end, &l, &local))
			delims_take (t, n, &d, &w, &l);
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

/* ---- what every reader reads alike (DESIGN 2) ------------------------- */

/* RFC 2045 5.1: tspecials */
static gboolean
is_token_char (guchar c)
{
	return c > 0x20 && c < 0x7f && strchr ("()<>@,;:\\\"/[]?=", c) == NULL;
}

static const char *
skip_space (const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

/* What content_type_doubt() answers for a malformed value: a reason when
 * @strict, else NULL (newly allocated). */
static char *
doubt_malformed (gboolean strict)
{
	return strict ? g_strdup ("a malformed parameter list") : NULL;
}

/* What content_type_doubt() answers for a comment: a reason when
 * @strict, else NULL (newly allocated). */
static char *
doubt_comment (gboolean strict)
{
	return strict ? g_strdup ("a comment") : NULL;
}

/* Skips "type/subtype" (RFC 2045 5.1 tokens) at P; returns what follows,
 * or NULL when it is malformed. */
static const char *
doubt_skip_type (const char *p)
{
	const char *q = p;

	while (is_token_char ((guchar) *p))
		p++;
	if (p == q || *p != '/')
		return NULL;
	q = ++p;
	while (is_token_char ((guchar) *p))
		p++;
	return p == q ? NULL : p;
}

/* Reads the value of the parameter LNAME at *PP, quoted or not, and
 * leaves *PP after it; returns TRUE to go on, or FALSE with the answer
 * of content_type_doubt() in *VERDICT (NULL included) when the value
 * decides it. */
static gboolean
doubt_value (const char **pp, const char *lname, gboolean strict,
	     char **verdict)
{
	const char *p = *pp;

	if (*p == '"') {
		if (strict && p[1] == '"' && strcmp (lname, "boundary") == 0) {
			*verdict = g_strdup ("an empty boundary");
			return FALSE;
		}
		for (p++; *p && *p != '"'; p++) {
			if (!strict)
				continue;
			if (*p == '\\') {
				*verdict = g_strdup ("a quoted pair in a "
						     "parameter");
				return FALSE;
			}
			if (*p == '\r' || *p == '\n') {
				*verdict = g_strdup ("a line break inside "
						     "quotes");
				return FALSE;
			}
		}
		if (*p != '"') {
			*verdict = doubt_malformed (strict);
			return FALSE;
		}
		p++;
	} else if (*p == '(') {
		*verdict = doubt_comment (strict);
		return FALSE;
	} else {
		const char *v = p;

		/* "=" is a tspecial, yet unquoted boundaries like
		 * ----=_Part_1 are common and read alike */
		while (*p && *p != ';' && *p != ' ' && *p != '\t' &&
		       *p != '\r' && *p != '\n' && *p != '(' && *p != '"' &&
		       *p != '\\' && (guchar) *p > 0x20 && (guchar) *p < 0x7f)
			p++;
		if (p == v) {
			*verdict = doubt_malformed (strict);
			return FALSE;
		}
	}
	*pp = p;
	return TRUE;
}

/* Reads one "; name=value" at *PP (not at the end), adding the lowercase
 * name to NAMES, and leaves *PP after it; returns TRUE to go on, or FALSE
 * with the answer of content_type_doubt() in *VERDICT (NULL included):
 * a comment, a malformed parameter, a value in doubt, a name given twice,
 * a boundary in RFC 2231 form. */
static gboolean
doubt_parameter (const char **pp, GPtrArray *names, gboolean strict,
		 char **verdict)
{
	const char *p = *pp;
	const char *name;
	char *lname;

	if (*p == '(') {
		*verdict = doubt_comment (strict);
		return FALSE;
	}
	if (*p != ';')
		goto malformed;
	p = skip_space (p + 1);
	if (*p == '\0' || *p == ';') {
		*pp = p;
		return TRUE;
	}
	name = p;
	while (is_token_char ((guchar) *p))
		p++;
	if (p == name)
		goto malformed;
	lname = g_ascii_strdown (name, p - name);
	g_ptr_array_add (names, lname);
	p = skip_space (p);
	if (*p != '=')
		goto malformed;
	p = skip_space (p + 1);
	if (!doubt_value (&p, lname, strict, verdict))
		return FALSE;
	for (guint i = 0; i + 1 < names->len; i++) {
		if (strcmp (names->pdata[i], lname) == 0) {
			*verdict = g_strdup_printf ("the parameter %s "
						    "given twice",
						    lname);
			return FALSE;
		}
	}
	if (strict && g_str_has_prefix (lname, "boundary*")) {
		*verdict = g_strdup ("the boundary in RFC 2231 form");
		return FALSE;
	}
	*pp = p;
	return TRUE;

malformed:
	*verdict = doubt_malformed (strict);
	return FALSE;
}

/* Why readers may read the Content-Type field value @raw differently, or
 * NULL (newly allocated).  @strict for a multipart: then a comment, a
 * quoted pair, a fold inside quotes, a boundary in RFC 2231 form or any
 * other departure from RFC 2045 5.1 is reason enough, since readers then
 * disagree on the boundary (Python's email, GMime, Email::MIME, postal-mime
 * and mailparser each read `boundary=(c)b` their own way).  Else only
 * parameters given twice count. */
static char *
content_type_doubt (const char *raw, gboolean strict)
{
	g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
	const char *p = skip_space (raw);
	char *verdict = NULL;

	/* type "/" subtype */
	if (strict) {
		p = doubt_skip_type (p);
		if (p == NULL)
			return doubt_malformed (strict);
	} else {
		p += strcspn (p, ";\"(");
	}
	for (;;) {
		p = skip_space (p);
		if (*p == '\0')
			return NULL;
		if (!doubt_parameter (&p, names, strict, &verdict))
			return verdict;
	}
}

typedef struct {
	MpTree *t;
	GPtrArray *outer; /* boundaries of the multiparts around */
	guint in_message; /* inside an attached message */
	gboolean has_multipart;
} Walk;

/* Where a part is, for messages: "header" or "part 2.1". */
static char *
where (const char *section)
{
	return *section ? g_strdup_printf ("part %s", section) :
			  g_strdup ("header");
}

/* Sets @error to "INPUT: WHERE: WHY" (MP_ERROR_DATA), WHERE the part at
 * @section as where() says it; returns FALSE. */
G_GNUC_PRINTF (4, 5)
static gboolean
part_refused (MpTree *t, const char *section, GError **error,
	      const char *format, ...)
{
	g_autofree char *at = where (section);
	g_autofree char *why = NULL;
	va_list args;

	va_start (args, format);
	why = g_strdup_vprintf (format, args);
	va_end (args);
	g_set_error (error, MP_ERROR, MP_ERROR_DATA, "%s: %s: %s",
		     mp_input_get_name (t->in), at, why);
	return FALSE;
}

static gboolean walk_agrees (Walk *w, GMimeObject *obj, const char *section,
			     GError **error);

/* Checks the Content-Type fields of OBJ at @section (none counted inside
 * an attached message): at most one, and none that readers may read
 * differently; FALSE with @error otherwise. */
static gboolean
walk_content_type (Walk *w, GMimeObject *obj, const char *section,
		   GError **error)
{
	GMimeHeaderList *headers = g_mime_object_get_header_list (obj);
	const char *raw = NULL;
	int n = 0;

	for (int i = 0; headers && i < g_mime_header_list_get_count (headers);
	     i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at (headers, i);

		if (g_ascii_strcasecmp (g_mime_header_get_name (h),
					"Content-Type") != 0)
			continue;
		n++;
		raw = g_mime_header_get_raw_value (h);
	}
	/* an attached message is a unit to every reader of the one around
	 * it: only its boundaries matter here */
	if (w->in_message)
		n = 0, raw = NULL;
	/* RFC 2045 5: one Content-Type; GMime reads the last, Python's
	 * email and others the first */
	if (n > 1)
		return part_refused (w->t, section, error,
				     "%d Content-Type fields (readers "
				     "disagree on which counts)",
				     n);
	if (raw) {
		g_autofree char *low = g_ascii_strdown (raw, -1);
		g_autofree char *doubt = content_type_doubt (
			raw, GMIME_IS_MULTIPART (obj) ||
				     strstr (low, "multipart") != NULL);

		if (doubt)
			return part_refused (w->t, section, error,
					     "Content-Type with %s (readers "
					     "disagree on it)",
					     doubt);
	}
	return TRUE;
}

/* Walks the body of the attached message OBJ at @section, counted as
 * inside a message. */
static gboolean
walk_message (Walk *w, GMimeObject *obj, const char *section, GError **error)
{
	GMimeMessage *m =
		g_mime_message_part_get_message (GMIME_MESSAGE_PART (obj));
	GMimeObject *body = m ? g_mime_message_get_mime_part (m) : NULL;
	g_autofree char *s = NULL;
	gboolean ok;

	if (body == NULL)
		return TRUE;

	s = mp_part_section_message_body (section, GMIME_IS_MULTIPART (body));
	w->in_message++;
	ok = walk_agrees (w, body, s, error);
	w->in_message--;
	return ok;
}

/* Walks the parts of the multipart OBJ at @section, its boundary
 * gathered into t->boundaries; FALSE with @error when the boundary is
 * one of a multipart around it or a part is refused. */
static gboolean
walk_multipart (Walk *w, GMimeObject *obj, const char *section, GError **error)
{
	const char *b = g_mime_multipart_get_boundary (GMIME_MULTIPART (obj));
	int i, n;

	w->has_multipart = TRUE;
	for (i = 0; b && i < (int) w->outer->len; i++) {
		if (strcmp (w->outer->pdata[i], b) == 0) {
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s: a nested multipart reuses the "
				     "boundary \"%s\" of the part around it",
				     mp_input_get_name (w->t->in), b);
			return FALSE;
		}
	}
	if (b)
		g_ptr_array_add (w->t->boundaries, g_strdup (b));
	g_ptr_array_add (w->outer, (gpointer) (b ? b : ""));
	n = g_mime_multipart_get_count (GMIME_MULTIPART (obj));
	for (i = 0; i < n; i++) {
		g_autofree char *s = mp_part_section_child (section, i);

		if (!walk_agrees (w,
				  g_mime_multipart_get_part (
					  GMIME_MULTIPART (obj), i),
				  s, error))
			return FALSE;
	}
	g_ptr_array_set_size (w->outer, w->outer->len - 1);
	return TRUE;
}

/* Walks GMime's tree of the message: every Content-Type must be read
 * alike by every reader, and a nested multipart must not reuse the
 * boundary of one around it (RFC 2046 5.1.1; a nested multipart read
 * with the boundary of a container around it is split differently by
 * our scanner, found by fuzzing).  Gathers every boundary. */
static gboolean
walk_agrees (Walk *w, GMimeObject *obj, const char *section, GError **error)
{
	if (!walk_content_type (w, obj, section, error))
		return FALSE;
	if (GMIME_IS_MESSAGE_PART (obj))
		return walk_message (w, obj, section, error);
	if (!GMIME_IS_MULTIPART (obj))
		return TRUE;
	return walk_multipart (w, obj, section, error);
}

#define MAX_HEADS 1024
#define HEAD_BYTES 64

/* At the line starting with "-" at POS (before END): keeps its first
 * HEAD_BYTES in t->heads when it looks like a marked delimiter (up to
 * MAX_HEADS, else t->heads_ok is cleared), and, when FEED, gives it to the
 * top multipart's delimiters @d once past its header.  FALSE when the
 * line cannot be read. */
static gboolean
scan_dash_line (MpTree *t, gboolean feed, Delims *d, MpInputWindow *w,
		gint64 pos, gint64 end)
{
	Node *top = t->top;
	DashLine l;
	gint64 next;

	if (!dash_line_at (w, pos, end, &l, &next, NULL))
		return FALSE;
	if (mp_multipart_like_marked_delimiter (
		    l.data, (gsize) MIN (end - pos, HEAD_BYTES))) {
		if (t->heads->len < MAX_HEADS)
			g_ptr_array_add (
				t->heads,
				g_bytes_new (l.data, (gsize) MIN (end - pos,
								  HEAD_BYTES)));
		else
			t->heads_ok = FALSE;
	}
	if (feed && pos >= top->body)
		delims_take (t, top, d, w, &l);
	return TRUE;
}

/* After a read error in scan_input(): no heads to trust, and the top
 * multipart (when FEED) left unread.  Reading errors are reported where
 * they matter: by scan_children() and heads_feed_input(), which read
 * again. */
static void
scan_input_failed (MpTree *t, gboolean feed)
{
	t->heads_ok = FALSE;
	if (feed) {
		t->top->closed = FALSE;
		g_ptr_array_set_size (t->top->children, 0);
	}
}

/* The one pass over the input: a CR without LF anywhere (the first one
 * in *@cr, else -1); the delimiters of the message's own multipart, when
 * it is one (scan_children() then only reads its parts' headers); and
 * the lines that may hold the delimiter of a container we add, for
 * boundaries_resolve().  Only CRs and lines starting with "-" are looked
 * at, found sixteen bytes at a time. */
static void
scan_input (MpTree *t, gint64 *cr)
{
	Node *top = t->top;
	gboolean feed = top->kind == NODE_ORIG && !top->scanned &&
			is_multipart (top) && top->boundary != NULL;
	gint64 pos = t->base, end = top->end, line = t->base;
	MpInputWindow w;
	Delims d = { 0 };
	gboolean ok = TRUE;

	*cr = -1;
	t->heads =
		g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
	t->heads_ok = TRUE;
	if (feed) {
		top->children = g_ptr_array_new ();
		delims_begin (t, top, &d);
	}
	mp_input_window_init (&w, t->in);
	while (ok && pos < end) {
		gsize avail, i;
		const char *p = mp_input_window_at (&w, pos, 2, &avail, NULL);

		if (p != NULL && pos == line && p[0] == '-') {
			ok = scan_dash_line (t, feed, &d, &w, pos, end);
			/* its bytes are looked at for CRs like any */
			p = ok ? mp_input_window_at (&w, pos, 2, &avail, NULL) :
				 NULL;
		}
		if (p == NULL) {
			ok = FALSE;
			break;
		}
		avail = (gsize) MIN ((gint64) avail, end - pos);
		i = mp_lines_scan (p, avail, TRUE, TRUE);
		if (i + 1 < avail) {
			if (p[i] == '\r') {
				*cr = pos + (gint64) i;
				break;
			}
			line = pos = pos + (gint64) i + 1;
			continue;
		}
		if (pos + (gint64) avail == end) {
			if (p[avail - 1] == '\r')
				*cr = end - 1;
			break;
		}
		/* the last byte is looked at again with the next one */
		pos += (gint64) (avail > 1 ? avail - 1 : 1);
		if (avail > 1 && p[avail - 2] == '\n')
			line = pos;
	}
	mp_input_window_clear (&w);
	g_free (d.delim);
	if (!ok)
		scan_input_failed (t, feed);
	else if (feed)
		top->delimited = TRUE;
}

/* A CR without LF ends a line for Python's email and for smtp-send's
 * canonicaliser, not for GMime or us.  In the header, the fields we add
 * would land in what those readers call the body; inside a multipart,
 * "\r--boundary" is a delimiter to some readers only, so an attachment
 * would be hidden from them (found by tests/cli/hostile.t).  A body that
 * is no multipart becomes a part of one when we add to it (found by
 * fuzz-edit: the next stage refused what we wrote).  Refuse it anywhere;
 * @in_multipart says how to name it. */
static gboolean
no_bare_cr (MpTree *t, gboolean in_multipart, GError **error)
{
	gint64 cr = t->bare_cr;

	if (cr < 0)
		return TRUE;
	if (cr + 1 <= t->top->body) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: header: CR without LF "
			     "(ambiguous line ending)",
			     mp_input_get_name (t->in));
	} else {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: CR without LF %s at byte %" G_GINT64_FORMAT
			     " (readers disagree where its lines end)",
			     mp_input_get_name (t->in),
			     in_multipart ? "inside a multipart" :
					    "in the body",
			     cr - t->base);
	}
	return FALSE;
}

/* Our scanner must find the structure GMime found, at every depth: the
 * same multiparts with the same boundaries, each closed by its closing
 * delimiter (RFC 2046 5.1.1; a nested multipart left open is closed by
 * some readers at the delimiter of the one around it, and by others at
 * the end of the message, swallowing what follows).  @obj is GMime's
 * part for @n, or NULL where GMime counts the parts of a multipart
 * otherwise (it drops a part whose header is no field, which Python's
 * email keeps): the parts are then checked on our reading alone.  An
 * attached message (message/rfc822) is a unit whose end every reader
 * finds at the delimiter after it: it is not opened (the message a
 * bounce returns is often cut short). */
static gboolean
scan_agrees (MpTree *t, Node *n, GMimeObject *obj, const char *section,
	     GError **error)
{
	g_autoptr (GError) local = NULL;
	gboolean gmime_multi = obj && GMIME_IS_MULTIPART (obj);
	guint i, count;

	/* a multipart without a boundary is never opened, only copied
	 * whole: readers disagree on its inside, not on where it ends */
	if (is_multipart (n) && n->boundary == NULL)
		return TRUE;
	if (obj &&
	    (gmime_multi != is_multipart (n) ||
	     (gmime_multi &&
	      g_strcmp0 (n->boundary, g_mime_multipart_get_boundary (
					      GMIME_MULTIPART (obj))) != 0))) {
		return part_refused (t, section, error,
				     "readers disagree whether it is a "
				     "multipart");
	}
	if (!is_multipart (n))
		return TRUE;
	if (!scan_children (t, n, &local)) {
		if (local) {
			g_propagate_error (error, g_steal_pointer (&local));
			return FALSE;
		}
		return part_refused (t, section, error,
				     "a multipart lacks its closing "
				     "delimiter \"--%s--\" (did an earlier "
				     "stage fail?)",
				     n->boundary);
	}
	count = n->children->len;
	if (obj &&
	    (guint) g_mime_multipart_get_count (GMIME_MULTIPART (obj)) != count)
		obj = NULL;
	for (i = 0; i < count; i++) {
		g_autofree char *s = mp_part_section_child (section, (int) i);

		if (!scan_agrees (
			    t, n->children->pdata[i],
			    obj ? g_mime_multipart_get_part (
					  GMIME_MULTIPART (obj), (int) i) :
				  NULL,
			    s, error))
			return FALSE;
	}
	return TRUE;
}

/* The bytes [@start, @end) of the input, newly allocated and
 * NUL-terminated, their number in *@len; NULL on a read error. */
static char *
read_range (MpTree *t, gint64 start, gint64 end, gsize *len)
{
	gsize want = (gsize) (end - start), got = 0;
	g_autofree char *buf = g_malloc (want + 1);

	if (g_mime_stream_seek (t->stream, start, GMIME_STREAM_SEEK_SET) !=
	    start)
		return NULL;
	while (got < want) {
		gssize n =
			g_mime_stream_read (t->stream, buf + got, want - got);

		if (n <= 0)
			return NULL;
		got += (gsize) n;
	}
	buf[want] = '\0';
	*len = want;
	return g_steal_pointer (&buf);
}

#define ELIDE_MIN (64 * 1024)

/* TRUE when the bytes [@start, @end) name "multipart" or "message". */
static gboolean
names_a_container (MpTree *t, gint64 start, gint64 end)
{
	g_autofree char *raw = NULL;
	g_autofree char *low = NULL;
	gsize len;

	if (end - start > MAX_FIELD * 4)
		return TRUE;
	raw = read_range (t, start, end, &len);
	if (raw == NULL)
		return TRUE;
	low = g_ascii_strdown (raw, (gssize) len);
	return memchr (raw, 0, len) != NULL ||
	       strstr (low, "multipart") != NULL ||
	       strstr (low, "message") != NULL;
}

/* What GMime needs to read of a multipart message to find its structure:
 * the message less the bodies of its leaves in which no line starts with
 * "-" (GMime takes only a line starting with "--" for a delimiter, as we
 * do: it can find nothing there), when they are big.  A leaf is a part
 * of the message's own multipart whose header ends with a blank line and
 * names no multipart and no message (GMime would read inside those).
 * NULL when nothing is left out: GMime reads the message whole.  Scans
 * the message's parts (scan_children()); its error is kept for later. */
static GMimeStream *
skeleton (MpTree *t)
{
	g_autoptr (GMimeStream) cat = NULL;
	Node *top = t->top;
	gint64 from = t->base;
	guint i;

	if (!is_multipart (top) || top->boundary == NULL ||
	    !scan_children (t, top, &t->top_error))
		return NULL;
	for (i = 0; i < top->children->len; i++) {
		Node *c = top->children->pdata[i];
		g_autoptr (GMimeStream) piece = NULL;

		if (!c->blank_ended || c->has_dash ||
		    c->end - c->body < ELIDE_MIN ||
		    names_a_container (t, c->start, c->body))
			continue;
		if (cat == NULL)
			cat = g_mime_stream_cat_new ();
		piece = g_mime_stream_substream (t->stream, from, c->body);
		g_mime_stream_cat_add_source (GMIME_STREAM_CAT (cat), piece);
		from = c->end;
	}
	if (cat) {
		g_autoptr (GMimeStream) piece = g_mime_stream_substream (
			t->stream, from, t->base + t->size);

		g_mime_stream_cat_add_source (GMIME_STREAM_CAT (cat), piece);
	}
	return g_steal_pointer (&cat);
}

/* Whether GMime's reading of the message can differ from ours at all.
 * When the header, read plainly, gives the message a type that is no
 * multipart and no message (and no Content-Type value even names
 * either), GMime reads the body as one leaf: it can find no part, no
 * boundary and no truncation to disagree on, and its header checks are
 * made on our reading below.  Then the second reading is skipped: it is
 * most of the cost of a stage on a big message. */
static gboolean
needs_second_reader (MpTree *t)
{
	g_autofree char *raw = NULL;
	g_autofree char *low = NULL;
	gsize avail;

	if (!t->head_plain || is_multipart (t->top) ||
	    g_str_has_prefix (t->top->type, "message/"))
		return TRUE;
	if (t->ct_count == 0)
		return FALSE;
	raw = read_range (t, t->ct_start, t->ct_end, &avail);
	if (raw == NULL)
		return TRUE;
	low = g_ascii_strdown (raw, (gssize) avail);
	return strstr (low, "multipart") != NULL ||
	       strstr (low, "message") != NULL || memchr (raw, 0, avail);
}

/* What walk_agrees() checks of a message GMime reads as one leaf, on our
 * reading of its header. */
static gboolean
leaf_head_agrees (MpTree *t, GError **error)
{
	g_autofree char *raw = NULL;
	g_autofree char *doubt = NULL;
	gsize avail;

	if (t->ct_count > 1) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: header: %u Content-Type fields (readers "
			     "disagree on which counts)",
			     mp_input_get_name (t->in), t->ct_count);
		return FALSE;
	}
	if (t->ct_count == 0)
		return TRUE;
	raw = read_range (t, t->ct_start, t->ct_end, &avail);
	doubt = raw ? content_type_doubt (raw, FALSE) : NULL;
	if (doubt) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: header: Content-Type with %s (readers "
			     "disagree on it)",
			     mp_input_get_name (t->in), doubt);
		return FALSE;
	}
	return TRUE;
}

/* A new tree over @in (not empty) with its top node spanning the input;
 * nothing read yet. */
static MpTree *
tree_alloc (MpInput *in, const char *seed)
{
	MpTree *t = g_new0 (MpTree, 1);

	t->in = in;
	t->stream = mp_input_get_window_stream (in);
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
	return t;
}

/* Checks that every reader reads the message as our scanner did (DESIGN
 * 2): GMime's reading when a header failed (*HEAD_ERROR, then reported)
 * or the structure needs a second reader, else the top header alone; no
 * bare CR; the same parts.  FALSE with @error when they disagree. */
static gboolean
tree_agrees (MpTree *t, GError **head_error, GError **error)
{
	g_autoptr (GMimeMessage) msg = NULL;
	gboolean has_multipart = FALSE;

	if (*head_error || needs_second_reader (t)) {
		g_autoptr (GPtrArray) outer = g_ptr_array_new ();
		g_autoptr (GMimeStream) skel = NULL;
		Walk w = { t, outer, 0, FALSE };

		if (!*head_error && t->bare_cr < 0)
			skel = skeleton (t);
		/* refuses a truncated multipart anywhere */
		msg = mp_input_parse_stream (
			t->in, skel ? skel : mp_input_get_window_stream (t->in),
			error);
		if (msg == NULL)
			return FALSE;
		if (*head_error) {
			g_propagate_error (error, g_steal_pointer (head_error));
			return FALSE;
		}
		/* DESIGN 2: a structure readers disagree on is refused,
		 * not edited: a part we add must be seen by every reader */
		if (!walk_agrees (&w, g_mime_message_get_mime_part (msg), "",
				  error))
			return FALSE;
		has_multipart = w.has_multipart;
	} else if (!leaf_head_agrees (t, error)) {
		return FALSE;
	}
	return no_bare_cr (t, has_multipart, error) &&
	       scan_agrees (t, t->top,
			    msg ? g_mime_message_get_mime_part (msg) : NULL, "",
			    error);
}

/* Feeds t->random with the input's size and the start of its header:
 * identical inputs give identical boundaries (DESIGN 2). */
static void
tree_seed_random (MpTree *t)
{
	gint64 hlen;

	mp_random_feed (t->random, &t->size, sizeof t->size);
	hlen = MIN (t->top->body - t->base, SEED_HEADER_MAX);
	if (hlen > 0) {
		g_autofree char *h = g_malloc ((gsize) hlen);

		if (g_mime_stream_seek (t->stream, t->base,
					GMIME_STREAM_SEEK_SET) == t->base &&
		    g_mime_stream_read (t->stream, h, (gsize) hlen) == hlen)
			mp_random_feed (t->random, h, (gsize) hlen);
	}
}

/* Opens a top multipart/mixed whose boundary holds no white space, so
 * that parts are added inside it (t->mixed); FALSE with @error when
 * reading its children fails with an error. */
static gboolean
tree_open_mixed (MpTree *t, GError **error)
{
	g_autoptr (GError) local = NULL;

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
			return FALSE;
		}
	}
	return TRUE;
}

MpTree *
mp_tree_new (MpInput *in, const char *seed, GError **error)
{
	g_autoptr (MpTree) t = NULL;
	g_autoptr (GError) head_error = NULL;

	if (mp_input_get_size (in) == 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: empty input (did an earlier stage fail?)",
			     mp_input_get_name (in));
		return NULL;
	}
	t = tree_alloc (in, seed);
	parse_headers (t, t->top, "text/plain", t->fields, &head_error);
	t->bare_cr = -1;
	if (!head_error)
		scan_input (t, &t->bare_cr);
	if (!tree_agrees (t, &head_error, error))
		return NULL;
	t->root = t->top;
	tree_seed_random (t);
	if (!tree_open_mixed (t, error))
		return NULL;
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
	g_clear_pointer (&t->heads, g_ptr_array_unref);
	g_clear_error (&t->top_error);
	g_clear_pointer (&t->alt, g_ptr_array_unref);
	g_clear_pointer (&t->res, g_ptr_array_unref);
	g_clear_pointer (&t->new_res, g_ptr_array_unref);
	g_clear_pointer (&t->random, mp_random_free);
	g_free (t->html);
	g_free (t);
}

char *
mp_tree_new_content_id (MpTree *t)
{
	g_autofree char *token = mp_random_token (t->random, 16);

	return g_strdup_printf ("%s@mimepipe", token);
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

/* A boundary (newly allocated); boundaries_resolve() checks it. */
static char *
draw_boundary (MpTree *t, guint variant)
{
	return mp_multipart_boundary_new (t->random, MP_MULTIPART_MARKED,
					  variant);
}

static Node *
multi_node (MpTree *t, const char *type, GPtrArray *children)
{
	Node *n = node_new (t, NODE_MULTI);

	n->type = g_strdup (type);
	n->boundary = draw_boundary (t, 0);
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

/* The node of @leaf, a new part of the body; NULL (and @leaf freed) when
 * the body's parts cannot be found. */
static Node *
body_leaf_node (MpTree *t, MpLeaf *leaf, GError **error)
{
	if (!body_begin (t, error)) {
		mp_part_leaf_free (leaf);
		return NULL;
	}
	return leaf_node (t, leaf);
}

/* @n in place of the body's alternative of @type, else the first of them
 * (@first) or the last (text/plain comes first, RFC 2046 5.1.4: the
 * richest last). */
static void
put_alternative (MpTree *t, Node *n, const char *type, gboolean first)
{
	int i = find_type (t->alt, type);

	if (i >= 0)
		t->alt->pdata[i] = n;
	else if (first)
		g_ptr_array_insert (t->alt, 0, n);
	else
		g_ptr_array_add (t->alt, n);
}

gboolean
mp_tree_set_text (MpTree *t, MpLeaf *leaf, GError **error)
{
	Node *n = body_leaf_node (t, leaf, error);

	if (n == NULL)
		return FALSE;
	put_alternative (t, n, "text/plain", TRUE);
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
	Node *n = body_leaf_node (t, leaf, error);
	guint j;

	if (n == NULL)
		return FALSE;
	put_alternative (t, n, "text/html", FALSE);
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
	Node *n = body_leaf_node (t, leaf, error);
	guint j;

	if (n == NULL)
		return FALSE;
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

		if (t->mixed && !t->wrap) {
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
		if (t->mixed && !t->wrap)
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
	g_autofree char *d = mp_multipart_delimiter (boundary, eol_before);

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
	g_autoptr (GString) head = g_string_new (NULL);
	Node *root = n->children->len ? n->children->pdata[0] : NULL;
	g_autofree char *close =
		mp_multipart_close_delimiter (n->boundary, FALSE);
	guint i;

	/* RFC 2387 3.1: type= is the root's media type */
	mp_multipart_append_content_type (
		head, n->type,
		type_is (n, "multipart/related") && root ? root->type : NULL,
		n->boundary, MP_MULTIPART_MARKED);
	if (holds_8bit (n))
		g_string_append (head, "Content-Transfer-Encoding: 8bit\n");
	g_string_append (head, "\n");
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

/* RFC 2046 5.1.1: a boundary must not occur in the parts it encloses, at
 * any depth, nor be a prefix of a boundary around it (many readers take
 * any line that starts with a delimiter for one).  New boundaries are
 * drawn from a generator the message's header seeds, deterministic under
 * SOURCE_DATE_EPOCH or --seed: forwarding a message built with the same
 * seed, or attaching a text holding its delimiter, would give the same
 * boundary again.  So each is checked against the boundaries of the
 * message and against every line of what is written (the input and the
 * new parts not in base64), and drawn again, deterministically, until
 * none clashes. */

/* Looks for lines that start with one of some delimiters.  A line ends
 * at LF or at CR: Python's email splits lines at a bare CR too. */
typedef struct {
	GPtrArray *pats; /* char *: "--boundary" */
	gboolean *hit;
	gsize max;
	char *head; /* the first bytes of the current line */
	gsize hlen;
	gboolean collecting;
} Heads;

static void
heads_init (Heads *h, GPtrArray *pats)
{
	guint i;

	memset (h, 0, sizeof *h);
	h->pats = pats;
	h->hit = g_new0 (gboolean, pats->len ? pats->len : 1);
	for (i = 0; i < pats->len; i++)
		h->max = MAX (h->max, strlen (pats->pdata[i]));
	h->head = g_malloc (h->max + 1);
}

static void
heads_clear (Heads *h)
{
	g_free (h->hit);
	g_free (h->head);
}

static void
heads_check (Heads *h)
{
	guint i;

	for (i = 0; i < h->pats->len; i++) {
		const char *p = h->pats->pdata[i];
		gsize len = strlen (p);

		if (h->hlen >= len && memcmp (h->head, p, len) == 0)
			h->hit[i] = TRUE;
	}
	h->collecting = FALSE;
}

/* A new source starts at the start of a line. */
static void
heads_begin (Heads *h)
{
	h->collecting = TRUE;
	h->hlen = 0;
}

static void
heads_feed (Heads *h, const char *buf, gsize len)
{
	/* most input has no CR at all: one look per chunk */
	gboolean any_cr = memchr (buf, '\r', len) != NULL;
	gsize i = 0;

	while (i < len) {
		const char *nl, *cr;
		gsize lim;

		if (h->collecting && h->hlen == 0 && buf[i] != '-') {
			/* every delimiter starts with "--": most lines are
			 * passed over at their first byte */
			h->collecting = FALSE;
			continue;
		}
		if (h->collecting) {
			while (i < len && h->hlen < h->max && buf[i] != '\n' &&
			       buf[i] != '\r')
				h->head[h->hlen++] = buf[i++];
			if (i < len || h->hlen == h->max)
				heads_check (h);
			continue;
		}
		nl = memchr (buf + i, '\n', len - i);
		lim = nl ? (gsize) (nl - buf) : len;
		cr = any_cr ? memchr (buf + i, '\r', lim - i) : NULL;
		/* a CR ends a line too, but for the one of a CRLF */
		if (cr && !(nl && cr + 1 == nl))
			nl = cr;
		if (nl == NULL)
			return;
		i = (gsize) (nl - buf) + 1;
		heads_begin (h);
	}
}

static void
heads_end (Heads *h)
{
	if (h->collecting)
		heads_check (h);
}

/* Feeds the input: only its lines that start with "-" can start with a
 * delimiter, and the message holds no CR without LF (mp_tree_new()
 * refused it), so a line starts at its start or after an LF.  Those
 * lines are found sixteen bytes at a time and compared in place. */
static gboolean
heads_feed_input (MpTree *t, Heads *h, GError **error)
{
	g_autoptr (GError) local = NULL;
	MpInputWindow w;
	gint64 pos = t->base, end = t->base + t->size;
	DashLine l;

	gboolean recorded = t->heads && t->heads_ok;
	guint i, j;

	/* the lines scan_input() kept hold every match when each pattern
	 * is a delimiter of ours no longer than what it kept */
	for (i = 0; recorded && i < h->pats->len; i++) {
		const char *pat = h->pats->pdata[i];

		recorded =
			strlen (pat) <= HEAD_BYTES &&
			mp_multipart_like_marked_delimiter (pat, strlen (pat));
	}
	if (recorded) {
		for (j = 0; j < t->heads->len; j++) {
			gsize hlen;
			const char *head =
				g_bytes_get_data (t->heads->pdata[j], &hlen);

			for (i = 0; i < h->pats->len; i++) {
				const char *pat = h->pats->pdata[i];
				gsize len = strlen (pat);

				if (hlen >= len && memcmp (head, pat, len) == 0)
					h->hit[i] = TRUE;
			}
		}
		return TRUE;
	}
	mp_input_window_init (&w, t->in);
	while (next_dash_line (&w, &pos, end, &l, &local)) {
		gsize avail;
		const char *p =
			mp_input_window_at (&w, l.start, h->max, &avail, NULL);

		if (p == NULL)
			break;
		avail = (gsize) MIN ((gint64) avail, end - l.start);
		for (i = 0; i < h->pats->len; i++) {
			const char *pat = h->pats->pdata[i];
			gsize len = strlen (pat);

			if (avail >= len && memcmp (p, pat, len) == 0)
				h->hit[i] = TRUE;
		}
	}
	mp_input_window_clear (&w);
	if (local) {
		g_set_error (error, MP_ERROR, MP_ERROR_IO, "%s: read error",
			     mp_input_get_name (t->in));
		return FALSE;
	}
	return TRUE;
}

/* Feeds the content of a new part as it will be written. */
static gboolean
heads_feed_leaf (Heads *h, MpLeaf *leaf, GError **error)
{
	g_autoptr (GMimeStream) s = mp_part_leaf_open_content (leaf);
	g_autofree char *buf = g_malloc (READ_CHUNK);

	heads_begin (h);
	for (;;) {
		gssize n = mp_io_stream_read (s, buf, READ_CHUNK);

		if (n == 0)
			break;
		if (n < 0) {
			g_set_error (error, MP_ERROR, MP_ERROR_IO,
				     "%s: read error",
				     mp_part_leaf_get_mime_type (leaf));
			return FALSE;
		}
		heads_feed (h, buf, (gsize) n);
	}
	heads_end (h);
	return TRUE;
}

/* base64 has no "-": no line of it starts with a delimiter */
static gboolean
leaf_may_hold_delimiters (Node *n)
{
	return n->kind == NODE_LEAF && mp_part_leaf_get_encoding (n->leaf) !=
					       GMIME_CONTENT_ENCODING_BASE64;
}

static GPtrArray *
delimiters_of (GPtrArray *boundaries)
{
	GPtrArray *pats = g_ptr_array_new_with_free_func (g_free);
	guint i;

	for (i = 0; i < boundaries->len; i++)
		g_ptr_array_add (
			pats, g_strconcat ("--", boundaries->pdata[i], NULL));
	return pats;
}

/* The new parts go into containers of the message whose boundaries we
 * cannot change.  A text part that holds a line starting with the
 * delimiter of any of them goes base64.  A forwarded message, never
 * base64 (RFC 2046 5.2.1), that holds the delimiter of the top
 * multipart/mixed it would join goes, with the other attachments, into a
 * new multipart/mixed around the message instead. */
static gboolean
new_leaves_fit (MpTree *t, GError **error)
{
	g_autoptr (GPtrArray) pats = NULL;
	int mixed_at = -1;
	guint i, j;

	if (t->boundaries->len == 0)
		return TRUE;
	pats = delimiters_of (t->boundaries);
	for (i = 0;
	     t->mixed && t->mixed->kind == NODE_ORIG && i < t->boundaries->len;
	     i++)
		if (strcmp (t->boundaries->pdata[i], t->mixed->boundary) == 0)
			mixed_at = (int) i;
	for (i = 0; i < t->nodes->len; i++) {
		Node *n = t->nodes->pdata[i];
		gboolean any = FALSE;
		Heads h;

		if (!leaf_may_hold_delimiters (n))
			continue;
		heads_init (&h, pats);
		if (!heads_feed_leaf (&h, n->leaf, error)) {
			heads_clear (&h);
			return FALSE;
		}
		for (j = 0; j < pats->len; j++)
			any = any || h.hit[j];
		if (!mp_part_leaf_is_message (n->leaf)) {
			if (any)
				mp_part_leaf_set_base64 (n->leaf);
		} else if (mixed_at >= 0 && h.hit[mixed_at] &&
			   g_ptr_array_find (t->attachments, n, NULL)) {
			t->wrap = TRUE;
		}
		heads_clear (&h);
	}
	return TRUE;
}

/* TRUE when one of @a and @b starts with the other. */
static gboolean
prefix_related (const char *a, const char *b)
{
	return strncmp (a, b, MIN (strlen (a), strlen (b))) == 0;
}

/* TRUE when the boundary of @n, a new container, is or starts with a
 * boundary of the message or of another new container, or the reverse. */
static gboolean
boundary_name_clashes (MpTree *t, GPtrArray *multis, Node *n)
{
	guint i;

	for (i = 0; i < t->boundaries->len; i++)
		if (prefix_related (t->boundaries->pdata[i], n->boundary))
			return TRUE;
	for (i = 0; i < multis->len; i++)
		if (multis->pdata[i] != n &&
		    prefix_related (((Node *) multis->pdata[i])->boundary,
				    n->boundary))
			return TRUE;
	return FALSE;
}

#define MAX_DRAWS 1000

static gboolean
boundaries_resolve (MpTree *t, GError **error)
{
	g_autoptr (GPtrArray) multis = g_ptr_array_new ();
	guint i, draws = 0;

	for (i = 0; i < t->nodes->len; i++) {
		Node *n = t->nodes->pdata[i];

		if (n->kind == NODE_MULTI)
			g_ptr_array_add (multis, n);
	}
	if (multis->len == 0)
		return TRUE;
	for (;;) {
		g_autoptr (GPtrArray) names = g_ptr_array_new ();
		g_autoptr (GPtrArray) pats = NULL;
		gboolean clash = FALSE;
		Heads h;

		for (i = 0; i < multis->len; i++) {
			Node *n = multis->pdata[i];

			/* a short boundary of the message (say "=") that is
			 * a prefix of every token: another prefix */
			while (boundary_name_clashes (t, multis, n)) {
				if (++draws > MAX_DRAWS)
					goto fail;
				g_free (n->boundary);
				n->boundary = draw_boundary (t, ++n->variant);
			}
			g_ptr_array_add (names, n->boundary);
		}
		pats = delimiters_of (names);
		heads_init (&h, pats);
		if (!heads_feed_input (t, &h, error)) {
			heads_clear (&h);
			return FALSE;
		}
		for (i = 0; i < t->nodes->len; i++) {
			Node *n = t->nodes->pdata[i];

			if (leaf_may_hold_delimiters (n) &&
			    !heads_feed_leaf (&h, n->leaf, error)) {
				heads_clear (&h);
				return FALSE;
			}
		}
		for (i = 0; i < multis->len; i++) {
			Node *n = multis->pdata[i];

			if (!h.hit[i])
				continue;
			clash = TRUE;
			if (++draws > MAX_DRAWS) {
				heads_clear (&h);
				goto fail;
			}
			g_free (n->boundary);
			n->boundary = draw_boundary (t, n->variant);
		}
		heads_clear (&h);
		if (!clash)
			return TRUE;
	}
fail:
	g_set_error (error, MP_ERROR, MP_ERROR_DATA,
		     "%s: no boundary found that the message does not hold",
		     mp_input_get_name (t->in));
	return FALSE;
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
	if (!new_leaves_fit (t, error))
		return FALSE;
	finish (t);
	if (!boundaries_resolve (t, error))
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
