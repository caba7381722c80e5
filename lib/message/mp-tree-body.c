/* mp-tree-body: the body of a message as mime-inline edits it: the text,
 * the HTML and its inline parts. */
#include "mp-tree-private.h"
#include "mp-error.h"
#include "mp-html.h"
#include "mp-io.h"

#include <string.h>

/* ---- the body: text, HTML, inline parts ------------------------------ */

static gboolean
is_body_like (Node *n)
{
	return !n->attachment &&
	       (mp_tree_type_is (n, "text/plain") ||
		mp_tree_type_is (n, "text/html") ||
		mp_tree_type_is (n, "multipart/alternative") ||
		mp_tree_type_is (n, "multipart/related"));
}

/* Finds the parts of a body container; *@ok is FALSE when it cannot be
 * parsed (then the body is kept whole, as a foreign one). */
static gboolean
scan_body (MpTree *t, Node *n, gboolean *ok, GError **error)
{
	g_autoptr (GError) local = NULL;

	*ok = mp_tree_scan_children (t, n, &local) && n->children->len > 0;
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
	if (mp_tree_type_is (root, "multipart/related")) {
		if (!scan_body (t, root, &ok, error))
			return FALSE;
		if (!ok)
			goto foreign;
		t->rel_node = root;
		for (i = 1; i < root->children->len; i++)
			g_ptr_array_add (t->res, root->children->pdata[i]);
		root = root->children->pdata[0];
	}
	if (mp_tree_type_is (root, "multipart/alternative")) {
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
			if (mp_tree_type_is (c, "multipart/related") &&
			    t->rel_node == NULL &&
			    mp_tree_scan_children (t, c, NULL) &&
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
		if (mp_tree_type_is (nodes->pdata[i], type))
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
	return mp_tree_leaf_node (t, leaf);
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

gboolean
mp_tree_check_links (MpTree *t, GError **error)
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
			root = mp_tree_multi_node (t, "multipart/alternative",
						   t->alt);
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
	return mp_tree_multi_node (t, "multipart/related", kids);
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

void
mp_tree_finish (MpTree *t)
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
				mp_tree_multi_node (t, "multipart/mixed", kids);
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
				mp_tree_multi_node (t, "multipart/mixed", kids);
	}
}
