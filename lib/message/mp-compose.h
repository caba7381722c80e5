/* mp-compose: a new message from header values and text: the fields
 * checked, encoded and ordered, Date and Message-ID added, the body as a
 * text part, an HTML part, or both as alternatives.  Written directly,
 * without GMime or GObject (issue 21: a static mime-compose links
 * neither), byte for byte as GMime wrote it. */
#pragma once

#include "mp-io.h"
#include "mp-random.h"

G_BEGIN_DECLS

typedef struct _MpCompose MpCompose;

MpCompose *mp_compose_new (void);
void mp_compose_free (MpCompose *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MpCompose, mp_compose_free)

/* Adds header @name with the UTF-8 @value as given by a user (an option or
 * a draft).  Address headers and References accumulate; Subject, Date,
 * Message-ID and In-Reply-To are replaced by a later value; other names
 * are added as they come.  Content-* and MIME-Version are refused (the
 * body decides them).  The value is checked and formatted at once.
 * Errors: MP_ERROR_USAGE (bad name, reserved header), MP_ERROR_DATA (bad
 * value, invalid address). */
gboolean mp_compose_add_header (MpCompose *c, const char *name,
				const char *value, GError **error);

/* Reads a draft: header lines (continuation lines start with a space or
 * tab), a blank line, then the body.  Each header goes through
 * mp_compose_add_header(); an empty value is skipped.  Returns the body
 * (a new reference to a slice of @draft).
 * Errors: MP_ERROR_DATA naming the line at fault. */
GBytes *mp_compose_read_draft (MpCompose *c, GBytes *draft, GError **error);

/* The date: "now" when never set.  @value is an RFC 5322 date, ISO 8601, or
 * "@SECONDS" since the epoch.  Errors: MP_ERROR_USAGE. */
gboolean mp_compose_set_date (MpCompose *c, const char *value, GError **error);

/* Whether to add a Message-ID (default TRUE). */
void mp_compose_set_message_id (MpCompose *c, gboolean add);

/* Text options: @charset of the body (NULL: UTF-8, validated) and whether
 * 8bit transfer encoding is allowed. */
void mp_compose_set_text_options (MpCompose *c, const char *charset,
				  gboolean allow_8bit);

/* The plain-text body and the HTML body (either may be NULL; both give
 * multipart/alternative): inputs opened with mp_input_open_plain() or
 * mp_input_new_plain_bytes(), read in windows when the message is
 * written (bounded memory); borrowed, they must outlive @c.
 * @text_name / @html_name name them in errors. */
void mp_compose_set_text (MpCompose *c, MpInput *text, const char *text_name);
void mp_compose_set_html (MpCompose *c, MpInput *html, const char *html_name);

/* An HTML body without a text body gets a text alternative rendered
 * from it (mp_render_html(), format=flowed) unless @html_only. */
void mp_compose_set_html_only (MpCompose *c, gboolean html_only);

/* Template mode (mime-merge): a placeholder {{name}} may stand where a
 * checked value goes (a display name, an address, a word); what is not a
 * placeholder is still checked.  Call before adding header fields. */
void mp_compose_set_template (MpCompose *c, gboolean template_mode);

/* Checks the whole message (From present, Sender when From has several
 * mailboxes, valid bodies) and writes it to @out.  Tokens come from
 * @random (fed with everything first, so a reproducible generator gives
 * identical bytes for identical inputs).
 * Errors: MP_ERROR_USAGE (no From), MP_ERROR_DATA (bad text, missing
 * Sender), MP_ERROR_IO (from @out). */
gboolean mp_compose_write (MpCompose *c, MpRandom *random, MpWriter *out,
			   GError **error);

G_END_DECLS
