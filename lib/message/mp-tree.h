/* mp-tree: the canonical MIME tree (DESIGN 3).  A message is parsed to
 * learn its structure, then written by copying the original bytes of
 * everything a stage leaves alone and emitting new bytes only for new
 * parts and containers, so untouched parts come out byte-identical.
 *
 *   multipart/mixed
 *   ├─ multipart/related          (inline images)
 *   │  ├─ multipart/alternative   (text and HTML)
 *   │  │  ├─ text/plain
 *   │  │  └─ text/html
 *   │  └─ image/png  Content-ID
 *   └─ attachments, message/rfc822
 *
 * Containers exist only when needed; whatever order the stages run in,
 * the result has this shape.  A body this module does not recognise (a
 * multipart/signed or encrypted part, a report) is kept whole, byte for
 * byte, as the first part of a multipart/mixed. */
#pragma once

#include "mp-autoptr.h"
#include "mp-io.h"
#include "mp-part.h"
#include "mp-random.h"

G_BEGIN_DECLS

typedef struct _MpTree MpTree;

/* Parses the message of @in (which must outlive the tree) and finds its
 * body and containers.  Memory stays bounded: only offsets are kept.
 * Boundaries and Content-IDs come from a generator seeded by @seed (or
 * SOURCE_DATE_EPOCH, see mp-random.h) and fed with the message's header.
 * A structure readers disagree on is refused rather than edited (DESIGN
 * 2), outside attached messages: a Content-Type given twice, a multipart's
 * Content-Type with a comment, a quoted pair, a fold inside quotes, a
 * boundary in RFC 2231 form or a parameter given twice (any part's), a
 * CR without LF in the header or, when the message holds a multipart,
 * anywhere, a nested multipart that reuses a boundary around it.
 * Errors: MP_ERROR_DATA when the input is empty, not a message, holds
 * a multipart whose closing delimiter is missing, or one of the above;
 * the message names the part ("part 2.1") and why. */
MpTree *mp_tree_new (MpInput *in, const char *seed, GError **error);
void mp_tree_free (MpTree *tree);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MpTree, mp_tree_free)

/* The token generator for Content-IDs (borrowed). */
MpRandom *mp_tree_get_random (MpTree *tree);

/* A new Content-ID (without angle brackets), newly allocated. */
char *mp_tree_new_content_id (MpTree *tree);

/* TRUE when the message uses CRLF line endings (new bytes follow it). */
gboolean mp_tree_is_crlf (MpTree *tree);

/* Appends @leaf (ownership taken) as an attachment: to the top-level
 * multipart/mixed, or, when there is none, to a new one whose first part
 * is the message's body, kept as it is. */
void mp_tree_add_attachment (MpTree *tree, MpLeaf *leaf);

/* Sets the text/plain alternative of the body to @leaf (ownership taken),
 * replacing the one there.  Errors: MP_ERROR_DATA when the body's
 * containers cannot be parsed. */
gboolean mp_tree_set_text (MpTree *tree, MpLeaf *leaf, GError **error);

/* Sets the text/html alternative to @leaf (ownership taken) whose UTF-8
 * text is @html; inline images of the old HTML that @html does not link
 * to are dropped.  Errors: as mp_tree_set_text(). */
gboolean mp_tree_set_html (MpTree *tree, MpLeaf *leaf, const char *html,
			   GError **error);

/* Adds @leaf (ownership taken, it must have a Content-ID) as an inline
 * part of the multipart/related beside the HTML, replacing a part with
 * the same Content-ID.  Errors: as mp_tree_set_text(). */
gboolean mp_tree_add_related (MpTree *tree, MpLeaf *leaf, GError **error);

/* The HTML of the body as UTF-8 (newly allocated), or NULL without error
 * when there is none.  Errors: MP_ERROR_DATA when it cannot be decoded. */
char *mp_tree_get_html (MpTree *tree, GError **error);

/* Writes the message to @out.  Before writing anything it checks that
 * every cid: link of the HTML is answered by a part, and that every
 * inline part added is linked from the HTML.  No boundary occurs in what
 * it encloses (RFC 2046 5.1.1): a new container's boundary is neither a
 * prefix of a boundary of the message nor has one as prefix, and starts
 * no line of the input or of a new part; else it is drawn again, the
 * same way for the same input.  A new text part holding the delimiter of
 * a container of the message goes base64; a forwarded message holding
 * that of the top multipart/mixed goes with the other attachments into
 * a new multipart/mixed around the message.
 * Errors: MP_ERROR_DATA for a dangling cid: link or an unlinked image,
 * MP_ERROR_IO when reading the input or writing fails. */
gboolean mp_tree_write (MpTree *tree, MpOutput *out, GError **error);

G_END_DECLS
