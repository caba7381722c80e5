/* mp-tree-write: writing the tree: new parts, the rest copied byte for
 * byte, boundaries that clash with nothing in the input. */
#include "mp-tree-private.h"
#include "mp-error.h"
#include "mp-io.h"
#include "mp-multipart.h"

#include <string.h>

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
		mp_tree_type_is (n, "multipart/related") && root ? root->type :
								   NULL,
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
	while (mp_tree_next_dash_line (&w, &pos, end, &l, &local)) {
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
				n->boundary =
					mp_tree_draw_boundary (t, ++n->variant);
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
			n->boundary = mp_tree_draw_boundary (t, n->variant);
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

	if (t->body_edit && !mp_tree_check_links (t, error))
		return FALSE;
	if (!new_leaves_fit (t, error))
		return FALSE;
	mp_tree_finish (t);
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
