/* mp-tree-agree: what every reader reads alike (DESIGN 2): a message is
 * edited only where GMime, Python and the rest would find the same parts;
 * and the tree built from the input. */
#include "mp-tree-private.h"
#include "mp-error.h"
#include "mp-io.h"
#include "mp-lines.h"
#include "mp-multipart.h"

#include <string.h>

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

	if (!mp_tree_dash_line_at (w, pos, end, &l, &next, NULL))
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
		mp_tree_delims_take (t, top, d, w, &l);
	return TRUE;
}

/* After a read error in scan_input(): no heads to trust, and the top
 * multipart (when FEED) left unread.  Reading errors are reported where
 * they matter: by mp_tree_scan_children() and heads_feed_input(), which read
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
 * it is one (mp_tree_scan_children() then only reads its parts' headers); and
 * the lines that may hold the delimiter of a container we add, for
 * boundaries_resolve().  Only CRs and lines starting with "-" are looked
 * at, found sixteen bytes at a time. */
static void
scan_input (MpTree *t, gint64 *cr)
{
	Node *top = t->top;
	gboolean feed = top->kind == NODE_ORIG && !top->scanned &&
			mp_tree_is_multipart (top) && top->boundary != NULL;
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
		mp_tree_delims_begin (t, top, &d);
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
	if (mp_tree_is_multipart (n) && n->boundary == NULL)
		return TRUE;
	if (obj &&
	    (gmime_multi != mp_tree_is_multipart (n) ||
	     (gmime_multi &&
	      g_strcmp0 (n->boundary, g_mime_multipart_get_boundary (
					      GMIME_MULTIPART (obj))) != 0))) {
		return part_refused (t, section, error,
				     "readers disagree whether it is a "
				     "multipart");
	}
	if (!mp_tree_is_multipart (n))
		return TRUE;
	if (!mp_tree_scan_children (t, n, &local)) {
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
 * the message's parts (mp_tree_scan_children()); its error is kept for later. */
static GMimeStream *
skeleton (MpTree *t)
{
	g_autoptr (GMimeStream) cat = NULL;
	Node *top = t->top;
	gint64 from = t->base;
	guint i;

	if (!mp_tree_is_multipart (top) || top->boundary == NULL ||
	    !mp_tree_scan_children (t, top, &t->top_error))
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

	if (!t->head_plain || mp_tree_is_multipart (t->top) ||
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
	t->nodes = g_ptr_array_new_with_free_func (
		(GDestroyNotify) mp_tree_node_free);
	t->fields = g_array_new (FALSE, FALSE, sizeof (Field));
	t->boundaries = g_ptr_array_new_with_free_func (g_free);
	t->attachments = g_ptr_array_new ();
	t->random = mp_random_new (seed);

	t->top = mp_tree_node_new (t, NODE_ORIG);
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
	if (mp_tree_type_is (t->top, "multipart/mixed") &&
	    strpbrk (t->top->boundary ? t->top->boundary : " ", " \t") ==
		    NULL) {
		if (mp_tree_scan_children (t, t->top, &local))
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
	mp_tree_parse_headers (t, t->top, "text/plain", t->fields, &head_error);
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

Node *
mp_tree_leaf_node (MpTree *t, MpLeaf *leaf)
{
	Node *n = mp_tree_node_new (t, NODE_LEAF);
	const char *cid = mp_part_leaf_get_content_id (leaf);

	n->leaf = leaf;
	n->type = g_strdup (mp_part_leaf_get_mime_type (leaf));
	n->cid = cid ? g_strdup (cid) : NULL;
	return n;
}

char *
mp_tree_draw_boundary (MpTree *t, guint variant)
{
	return mp_multipart_boundary_new (t->random, MP_MULTIPART_MARKED,
					  variant);
}

Node *
mp_tree_multi_node (MpTree *t, const char *type, GPtrArray *children)
{
	Node *n = mp_tree_node_new (t, NODE_MULTI);

	n->type = g_strdup (type);
	n->boundary = mp_tree_draw_boundary (t, 0);
	n->children = g_ptr_array_copy (children, NULL, NULL);
	return n;
}

void
mp_tree_add_attachment (MpTree *t, MpLeaf *leaf)
{
	g_ptr_array_add (t->attachments, mp_tree_leaf_node (t, leaf));
}
