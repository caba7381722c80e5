/* mp-tree-private: what the files of mp-tree share (mp-tree.c: the tree,
 * its nodes and header blocks, the lines that may be delimiters;
 * mp-tree-agree.c: what every reader reads alike, and building the tree;
 * mp-tree-body.c: the body's text, HTML and inline parts;
 * mp-tree-write.c: writing).  Not for other modules. */
#pragma once

#include "mp-tree.h"
#include "mp-lines.h"
#include "mp-part.h"
#include "mp-random.h"

G_BEGIN_DECLS

#define READ_CHUNK (64 * 1024)
#define MAX_FIELD (64 * 1024) /* longest header field value we read */
#define SEED_HEADER_MAX (64 * 1024)
#define HEAD_BYTES 64

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
	GError *top_error; /* mp_tree_scan_children() of the message, run early */

	/* body editing */
	gboolean body_edit;
	Node *body;                /* the original body, or NULL */
	Node *alt_node, *rel_node; /* its original containers */
	GPtrArray *alt, *res;
	char *html;         /* the new HTML text */
	GPtrArray *new_res; /* inline parts added */
};

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

/* Finding the delimiters of a multipart, one line starting with "-" at
 * a time. */
typedef struct {
	char *delim;
	gsize dlen;
	gint64 prev_after;
	Node *cur;
	gboolean done; /* the closing delimiter was found */
} Delims;

/* ---- mp-tree.c: the tree */

/* Frees a node (the tree owns them all: t->nodes). */
void mp_tree_node_free (Node *n);

/* A new node of @kind, owned by @t. */
Node *mp_tree_node_new (MpTree *t, NodeKind kind);

/* TRUE when @n's media type (lower case) is @type. */
gboolean mp_tree_type_is (Node *n, const char *type);

/* TRUE when @n is a multipart/... */
gboolean mp_tree_is_multipart (Node *n);

/* Reads the header block of @n: its fields, where its body starts. */
gboolean mp_tree_parse_headers (MpTree *t, Node *n, const char *default_type,
				GArray *fields, GError **error);

/* The line at @at (a line start) in [@at, @end), which starts with "-";
 * *@next is set to the start of the line after it. */
gboolean mp_tree_dash_line_at (MpInputWindow *w, gint64 at, gint64 end,
			       DashLine *dl, gint64 *next, GError **error);

/* The next line in [*@pos, @end) that starts with "-", where *@pos is the
 * start of a line; FALSE when there is none.  *@pos moves past it. */
gboolean mp_tree_next_dash_line (MpInputWindow *w, gint64 *pos, gint64 end,
				 DashLine *dl, GError **error);

/* Starts finding the delimiters of the multipart @n with @d. */
void mp_tree_delims_begin (MpTree *t, Node *n, Delims *d);

/* Takes @l, a line of [n->body, n->end) that starts with "-". */
void mp_tree_delims_take (MpTree *t, Node *n, Delims *d, MpInputWindow *w,
			  const DashLine *l);

/* Finds the parts of the multipart @n (RFC 2046 5.1.1).  Returns FALSE
 * when it has no boundary or no closing delimiter: then it is only ever
 * copied whole.  Only the lines starting with "-" are looked at, found
 * sixteen bytes at a time (mp_lines_scan()); the message's own were
 * found by scan_input() (mp-tree-agree.c). */
gboolean mp_tree_scan_children (MpTree *t, Node *n, GError **error);

/* ---- mp-tree-agree.c: what every reader reads alike */

/* A new node for the part @leaf (taken). */
Node *mp_tree_leaf_node (MpTree *t, MpLeaf *leaf);

/* A boundary (newly allocated); boundaries_resolve() in mp-tree-write.c
 * checks it. */
char *mp_tree_draw_boundary (MpTree *t, guint variant);

/* A new multipart of @type around @children, with a boundary of ours. */
Node *mp_tree_multi_node (MpTree *t, const char *type, GPtrArray *children);

/* ---- mp-tree-body.c: the body */

/* Before writing an edited body: every inline part added has a cid: link
 * in the HTML, and every cid: link of the HTML a part (RFC 2392);
 * MP_ERROR_DATA naming the first that fails. */
gboolean mp_tree_check_links (MpTree *t, GError **error);

/* Puts the edited body (its alternatives and inline parts) in place of
 * the original one, before writing. */
void mp_tree_finish (MpTree *t);

G_END_DECLS
