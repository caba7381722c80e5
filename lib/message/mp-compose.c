#include "mp-compose.h"
#include "mp-address.h"
#include "mp-charset.h"
#include "mp-date.h"
#include "mp-error.h"
#include "mp-field.h"
#include "mp-multipart.h"
#include "mp-placeholder.h"
#include "mp-text.h"
#include "mp-render.h"

#include <stdlib.h>
#include <string.h>

/* The address headers in the order they are written. */
enum {
	A_FROM,
	A_SENDER,
	A_REPLY_TO,
	A_TO,
	A_CC,
	A_BCC,
	N_ADDR
};
static const char *const addr_names[N_ADDR] = {
	"From", "Sender", "Reply-To", "To", "Cc", "Bcc",
};

struct _MpCompose {
	GPtrArray *addr[N_ADDR];  /* raw user values */
	GPtrArray *lists[N_ADDR]; /* each read once, NULL for a placeholder */
	gboolean template_mode;   /* {{name}} may stand for checked values */
	char *subject;
	char *message_id;
	char *in_reply_to;
	GPtrArray *references;
	GPtrArray *extra; /* formatted fields, in the order given */
	GDateTime *date;
	gboolean add_message_id;
	char *charset;
	gboolean allow_8bit;
	MpInput *text, *html; /* borrowed */
	char *text_name, *html_name;
	gboolean html_only; /* no text part rendered from the HTML */
};

static void
list_unref (gpointer l)
{
	if (l != NULL)
		g_ptr_array_unref (l);
}

MpCompose *
mp_compose_new (void)
{
	MpCompose *c = g_new0 (MpCompose, 1);
	int i;

	for (i = 0; i < N_ADDR; i++) {
		c->addr[i] = g_ptr_array_new_with_free_func (g_free);
		c->lists[i] = g_ptr_array_new_with_free_func (list_unref);
	}
	c->references = g_ptr_array_new_with_free_func (g_free);
	c->extra = g_ptr_array_new_with_free_func (g_free);
	c->add_message_id = TRUE;
	return c;
}

void
mp_compose_free (MpCompose *c)
{
	int i;

	if (c == NULL)
		return;
	for (i = 0; i < N_ADDR; i++) {
		g_ptr_array_unref (c->addr[i]);
		g_ptr_array_unref (c->lists[i]);
	}
	g_ptr_array_unref (c->references);
	g_ptr_array_unref (c->extra);
	g_free (c->subject);
	g_free (c->message_id);
	g_free (c->in_reply_to);
	g_clear_pointer (&c->date, g_date_time_unref);
	g_free (c->charset);
	g_free (c->text_name);
	g_free (c->html_name);
	g_free (c);
}

static char *
checked_msgid (const char *name, const char *value, GError **error)
{
	const char *values[] = { value, NULL };

	return mp_field_format_msgids (name, values, error);
}

/* Adds VALUE to the address list I (From, Sender, To...): kept as written
 * with its placeholders in template mode, read into a list otherwise;
 * FALSE with @error when it is refused. */
static gboolean
add_address_header (MpCompose *c, int i, const char *value, GError **error)
{
	g_autoptr (GPtrArray) l = NULL;
	g_autofree char *checked = NULL;

	/* a template's placeholders are checked by
	 * mime-merge once filled; the rest now */
	if (c->template_mode && strstr (value, "{{")) {
		checked = mp_placeholder_format_header (addr_names[i], value,
							error);
		if (checked == NULL)
			return FALSE;
		g_ptr_array_add (c->addr[i], g_strdup (value));
		g_ptr_array_add (c->lists[i], NULL);
		return TRUE;
	}
	l = mp_address_read_list (addr_names[i], value, error);
	if (l == NULL)
		return FALSE;
	g_ptr_array_add (c->addr[i], g_strdup (value));
	g_ptr_array_add (c->lists[i], g_steal_pointer (&l));
	return TRUE;
}

/* Sets Message-ID or In-Reply-To, or adds to References, the message IDs
 * of VALUE once checked; FALSE with @error when they are refused. */
static gboolean
add_msgid_header (MpCompose *c, const char *name, const char *value,
		  GError **error)
{
	char *f = checked_msgid (name, value, error);
	gboolean is_mid = g_ascii_strcasecmp (name, "Message-ID") == 0;
	char **slot;

	if (f == NULL)
		return FALSE;
	g_free (f);
	if (g_ascii_strcasecmp (name, "References") == 0) {
		g_ptr_array_add (c->references, g_strdup (value));
		return TRUE;
	}
	slot = is_mid ? &c->message_id : &c->in_reply_to;
	g_free (*slot);
	*slot = g_strdup (value);
	if (is_mid)
		c->add_message_id = TRUE;
	return TRUE;
}

/* Adds any other field, formatted (its placeholders kept in template
 * mode); FALSE with @error for the fields mime-compose sets from the body
 * (Content-*, MIME-Version) or a value that cannot be formatted. */
static gboolean
add_extra_header (MpCompose *c, const char *name, const char *value,
		  GError **error)
{
	char *line;

	if (g_ascii_strncasecmp (name, "Content-", 8) == 0 ||
	    g_ascii_strcasecmp (name, "MIME-Version") == 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "%s: set by mime-compose from the body (see "
			     "--charset, --html, --8bit)",
			     name);
		return FALSE;
	}
	line = c->template_mode ?
		       mp_placeholder_format_header (name, value, error) :
		       mp_field_format (name, value, error);
	if (line == NULL)
		return FALSE;
	g_ptr_array_add (c->extra, line);
	return TRUE;
}

gboolean
mp_compose_add_header (MpCompose *c, const char *name, const char *value,
		       GError **error)
{
	int i;

	if (!mp_field_check_name (name, error) ||
	    !mp_field_check_value (name, value, -1, error))
		return FALSE;
	for (i = 0; i < N_ADDR; i++)
		if (g_ascii_strcasecmp (name, addr_names[i]) == 0)
			return add_address_header (c, i, value, error);
	if (g_ascii_strcasecmp (name, "Subject") == 0) {
		g_free (c->subject);
		c->subject = g_strdup (value);
		return TRUE;
	}
	if (g_ascii_strcasecmp (name, "Date") == 0)
		return mp_compose_set_date (c, value, error);
	if (g_ascii_strcasecmp (name, "Message-ID") == 0 ||
	    g_ascii_strcasecmp (name, "In-Reply-To") == 0 ||
	    g_ascii_strcasecmp (name, "References") == 0)
		return add_msgid_header (c, name, value, error);
	return add_extra_header (c, name, value, error);
}

GBytes *
mp_compose_read_draft (MpCompose *c, GBytes *draft, GError **error)
{
	gsize len, pos = 0, lineno = 0;
	const char *s = g_bytes_get_data (draft, &len);
	g_autoptr (GString) field = NULL;
	gsize field_line = 0;

	for (;;) {
		const char *nl =
			pos < len ? memchr (s + pos, '\n', len - pos) : NULL;
		gsize end = nl ? (gsize) (nl - s) : len;
		gsize next = nl ? end + 1 : len;
		gsize vend = end;
		gboolean blank;

		if (vend > pos && s[vend - 1] == '\r')
			vend--;
		blank = pos >= len || vend == pos;
		lineno++;
		if (!blank && (s[pos] == ' ' || s[pos] == '\t')) {
			if (field == NULL) {
				g_set_error (error, MP_ERROR, MP_ERROR_DATA,
					     "draft line %" G_GSIZE_FORMAT
					     ": continuation line without a "
					     "header",
					     lineno);
				return NULL;
			}
			g_string_append_len (field, s + pos,
					     (gssize) (vend - pos));
			pos = next;
			continue;
		}
		if (field) {
			g_autofree char *name = NULL;
			g_autofree char *value = NULL;
			const char *colon = strchr (field->str, ':');

			if (colon == NULL) {
				g_set_error (error, MP_ERROR, MP_ERROR_DATA,
					     "draft line %" G_GSIZE_FORMAT
					     ": not a header (expected "
					     "\"Name: value\", then a blank "
					     "line before the body)",
					     field_line);
				return NULL;
			}
			name = g_strndup (field->str,
					  (gsize) (colon - field->str));
			g_strchomp (name);
			value = g_strdup (colon + 1);
			g_strstrip (value);
			if (*value &&
			    !mp_compose_add_header (c, name, value, error)) {
				g_prefix_error (error,
						"draft line %" G_GSIZE_FORMAT
						": ",
						field_line);
				return NULL;
			}
			g_string_free (g_steal_pointer (&field), TRUE);
		}
		if (blank)
			return g_bytes_new_from_bytes (draft, MIN (next, len),
						       len - MIN (next, len));
		field = g_string_new_len (s + pos, (gssize) (vend - pos));
		field_line = lineno;
		pos = next;
	}
}

gboolean
mp_compose_set_date (MpCompose *c, const char *value, GError **error)
{
	GDateTime *d = mp_field_parse_date (value);

	if (d == NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "Date: \"%s\": not a date (RFC 5322, ISO 8601 or "
			     "@SECONDS)",
			     value);
		return FALSE;
	}
	g_clear_pointer (&c->date, g_date_time_unref);
	c->date = d;
	return TRUE;
}

void
mp_compose_set_message_id (MpCompose *c, gboolean add)
{
	c->add_message_id = add;
}

void
mp_compose_set_text_options (MpCompose *c, const char *charset,
			     gboolean allow_8bit)
{
	g_free (c->charset);
	c->charset = g_strdup (charset);
	c->allow_8bit = allow_8bit;
}

static void
set_body (MpInput **slot, char **name_slot, MpInput *in, const char *name)
{
	*slot = in;
	g_free (*name_slot);
	*name_slot = g_strdup (name);
}

void
mp_compose_set_text (MpCompose *c, MpInput *text, const char *text_name)
{
	set_body (&c->text, &c->text_name, text, text_name);
}

void
mp_compose_set_html (MpCompose *c, MpInput *html, const char *html_name)
{
	set_body (&c->html, &c->html_name, html, html_name);
}

/* The first mailbox of @list (groups looked into), or NULL. */
static const MpAddress *
first_mailbox (GPtrArray *list)
{
	for (guint i = 0; list && i < list->len; i++) {
		const MpAddress *a = list->pdata[i];

		if (a->members == NULL)
			return a;
		/* as GMime's list: a group's first member, or nothing */
		return first_mailbox (a->members);
	}
	return NULL;
}

/* The domain of the first mailbox of @from, for the Message-ID (the
 * addr-spec as checked: an IDN domain as its A-labels). */
static char *
msgid_domain (const char *from)
{
	g_autoptr (GPtrArray) l = mp_address_read_list ("From", from, NULL);
	const MpAddress *a = first_mailbox (l);

	return mp_address_msgid_domain (a ? a->spec : NULL, "localhost");
}

static gboolean
append_addr (GString *h, MpCompose *c, int which, guint *count, GError **error)
{
	g_autofree char *line = NULL;

	if (c->addr[which]->len == 0) {
		*count = 0;
		return TRUE;
	}
	if (c->template_mode) {
		g_autofree char *joined = NULL;

		g_ptr_array_add (c->addr[which], NULL);
		joined = g_strjoinv (", ", (char **) c->addr[which]->pdata);
		g_ptr_array_remove_index (c->addr[which],
					  c->addr[which]->len - 1);
		line = mp_placeholder_format_header (addr_names[which], joined,
						     error);
		if (line == NULL)
			return FALSE;
		/* mime-merge checks the filled field; one mailbox is
		 * what a template's field stands for */
		*count = 1;
		g_string_append (h, line);
		return TRUE;
	}
	/* outside template mode every value was read when it was added */
	line = mp_field_format_address_lists (
		addr_names[which], (GPtrArray *const *) c->lists[which]->pdata,
		c->lists[which]->len, count);
	g_string_append (h, line);
	return TRUE;
}

/* The addr-spec of the only mailbox of the address header @which
 * (newly allocated), or NULL. */
static char *
only_mailbox (MpCompose *c, int which)
{
	char *found = NULL;

	for (guint i = 0; i < c->lists[which]->len; i++) {
		const GPtrArray *l = c->lists[which]->pdata[i];

		for (guint j = 0; l && j < l->len; j++) {
			const MpAddress *a = l->pdata[j];

			if (a->members || found) {
				g_free (found);
				return NULL;
			}
			found = g_strdup (a->spec);
		}
	}
	return found;
}

/* Whether Sender names the From mailbox: the local part as written, the
 * domain in any case (RFC 5321 2.4). */
static gboolean
same_mailbox (MpCompose *c)
{
	g_autofree char *from = only_mailbox (c, A_FROM);
	g_autofree char *sender = only_mailbox (c, A_SENDER);
	const char *fa, *sa;

	if (from == NULL || sender == NULL)
		return FALSE;
	fa = strrchr (from, '@');
	sa = strrchr (sender, '@');
	return fa && sa && fa - from == sa - sender &&
	       strncmp (from, sender, (gsize) (fa - from)) == 0 &&
	       g_ascii_strcasecmp (fa, sa) == 0;
}

void
mp_compose_set_template (MpCompose *c, gboolean template_mode)
{
	c->template_mode = template_mode;
}

void
mp_compose_set_html_only (MpCompose *c, gboolean html_only)
{
	c->html_only = html_only;
}

/* The text alternative of an HTML body without one (mp-render):
 * format=flowed UTF-8, RFC 3676.  *@in receives the rendered text. */
static MpText *
rendered_text (MpCompose *c, MpInput **in, GError **error)
{
	g_autoptr (GBytes) html = mp_input_read_plain (c->html, error);
	g_autoptr (GBytes) bytes = NULL;
	const char *what = c->html_name ? c->html_name : "html";
	MpText *part;
	char *text;

	if (html == NULL)
		return NULL;
	/* the HTML part is labelled with this charset, which a reader
	 * prefers to a <meta> of the document */
	text = mp_render_html (g_bytes_get_data (html, NULL),
			       g_bytes_get_size (html),
			       c->charset ? c->charset : "utf-8", NULL, error);
	if (text == NULL)
		return NULL;
	bytes = g_bytes_new_take (text, strlen (text));
	*in = mp_input_new_plain_bytes (bytes, what);
	part = mp_text_new ("plain", *in, 0, (gint64) g_bytes_get_size (bytes),
			    NULL, NULL, c->allow_8bit, what, error);
	if (part)
		mp_text_add_param (part, "format", "flowed");
	return part;
}

/* The whole of @in as a text part. */
static MpText *
text_part (MpInput *in, const char *subtype, const char *iconv_cs,
	   const char *label, gboolean allow_8bit, const char *what,
	   GError **error)
{
	gint64 start = mp_input_get_start (in);

	return mp_text_new (subtype, in, start, start + mp_input_get_size (in),
			    iconv_cs, label, allow_8bit, what, error);
}

/* The body: a text part, an HTML part, or both in a
 * multipart/alternative (RFC 2046 5.1.4: the preferred, richer form
 * last), written as GMime wrote them. */
typedef struct {
	MpText *text, *html;
	char *boundary;
	MpInput *rendered, *empty; /* owned inputs of the text */
	GBytes *none;
} Body;

static void
body_clear (Body *b)
{
	mp_text_free (b->text);
	mp_text_free (b->html);
	g_free (b->boundary);
	mp_input_free_plain (b->rendered);
	mp_input_free_plain (b->empty);
	if (b->none)
		g_bytes_unref (b->none);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Body, body_clear)

/* Reads the bodies (checked, their encodings chosen) and draws the
 * boundary, as build_body() did before the Message-ID was drawn. */
static gboolean
body_prepare (Body *b, MpCompose *c, MpRandom *random, GError **error)
{
	const char *mime_cs = NULL, *iconv_cs = NULL;

	if (c->charset) {
		mime_cs = mp_charset_lookup (c->charset, error);
		if (mime_cs == NULL) {
			g_prefix_error (error, "--charset: ");
			return FALSE;
		}
		iconv_cs = mp_charset_iconv_name (mime_cs);
	}
	/* label the parts read in @charset with the IANA name every reader
	 * knows; a text rendered from the HTML is UTF-8 */
	if (c->text || c->html == NULL) {
		MpInput *in = c->text;

		if (in == NULL) {
			b->none = g_bytes_new_static ("", 0);
			in = b->empty =
				mp_input_new_plain_bytes (b->none, "body");
		}
		b->text = text_part (
			in, "plain", iconv_cs, mime_cs, c->allow_8bit,
			c->text_name ? c->text_name : "body", error);
		if (b->text == NULL)
			return FALSE;
	} else if (!c->html_only) {
		b->text = rendered_text (c, &b->rendered, error);
		if (b->text == NULL)
			return FALSE;
	}
	if (c->html) {
		b->html = text_part (
			c->html, "html", iconv_cs, mime_cs, c->allow_8bit,
			c->html_name ? c->html_name : "html", error);
		if (b->html == NULL)
			return FALSE;
	}
	if (b->text && b->html)
		b->boundary = mp_multipart_boundary_new (random,
							 MP_MULTIPART_PLAIN, 0);
	return TRUE;
}

/* Writes the header block @h, then the body. */
static gboolean
body_write (Body *b, GString *h, MpWriter *out, GError **error)
{
	g_autofree char *sep = NULL;
	g_autofree char *end = NULL;

	if (b->boundary) {
		g_autofree char *first =
			mp_multipart_delimiter (b->boundary, FALSE);

		mp_multipart_append_content_type (h, "multipart/alternative",
						  NULL, b->boundary,
						  MP_MULTIPART_PLAIN);
		g_string_append_printf (h, "\n%s", first);
		sep = mp_multipart_delimiter (b->boundary, TRUE);
		end = mp_multipart_close_delimiter (b->boundary, TRUE);
	}
	return mp_writer_write (out, h->str, h->len, error) &&
	       (b->text == NULL || mp_text_write (b->text, out, error)) &&
	       (sep == NULL ||
		mp_writer_write (out, sep, strlen (sep), error)) &&
	       (b->html == NULL || mp_text_write (b->html, out, error)) &&
	       (end == NULL || mp_writer_write (out, end, strlen (end), error));
}

static gboolean
feed_piece (const char *data, gsize len, gpointer user_data, GError **error)
{
	mp_random_feed (user_data, data, len);
	return TRUE;
}

/* Mixes a body into a reproducible generator: identical bodies give
 * identical tokens, different ones different tokens. */
static gboolean
feed_input (MpRandom *random, MpInput *in, GError **error)
{
	gint64 start;

	if (in == NULL || !mp_random_is_reproducible (random))
		return TRUE;
	start = mp_input_get_start (in);
	if (!mp_input_for_each (in, start, start + mp_input_get_size (in),
				feed_piece, random, error))
		return FALSE;
	mp_random_feed (random, "\0", 1);
	return TRUE;
}

/* Appends to H the From field and, unless it names the one author, the
 * Sender field; FALSE with @error when either cannot be formatted, From
 * has no mailbox, several need a Sender, or Sender is not exactly one
 * mailbox (RFC 5322 3.6.2). */
static gboolean
write_originator (MpCompose *c, GString *h, GError **error)
{
	g_autoptr (GString) sender = g_string_new (NULL);
	guint n_from = 0, n_sender = 0;

	if (!append_addr (h, c, A_FROM, &n_from, error) ||
	    !append_addr (sender, c, A_SENDER, &n_sender, error))
		return FALSE;
	/* RFC 5322 3.6.2 */
	if (n_from == 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "From: no mailbox given");
		return FALSE;
	}
	if (n_from > 1 && n_sender == 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "From: %u addresses need a Sender naming the "
			     "one who sends (RFC 5322 3.6.2; give --sender)",
			     n_from);
		return FALSE;
	}
	if (n_sender > 1 || (c->addr[A_SENDER]->len && n_sender == 0)) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "Sender: must be exactly one mailbox");
		return FALSE;
	}
	/* RFC 5322 3.6.2: no Sender when it is the one author */
	if (!(n_from == 1 && n_sender == 1 && same_mailbox (c)))
		g_string_append (h, sender->str);
	return TRUE;
}

/* Appends to H the fields after the originator: the other address
 * lists, Subject, the extra fields, In-Reply-To and References; FALSE
 * with @error when an address list or a message ID is refused. */
static gboolean
write_other_fields (MpCompose *c, GString *h, GError **error)
{
	guint n;

	for (gsize i = A_REPLY_TO; i < N_ADDR; i++)
		if (!append_addr (h, c, (int) i, &n, error))
			return FALSE;
	if (c->subject) {
		g_autofree char *line =
			mp_field_format_text ("Subject", c->subject);
		g_string_append (h, line);
	}
	for (gsize i = 0; i < c->extra->len; i++)
		g_string_append (h, c->extra->pdata[i]);
	if (c->in_reply_to) {
		g_autofree char *line =
			checked_msgid ("In-Reply-To", c->in_reply_to, error);
		if (line == NULL)
			return FALSE;
		g_string_append (h, line);
	}
	if (c->references->len) {
		g_autofree char *line = NULL;

		g_ptr_array_add (c->references, NULL);
		line = mp_field_format_msgids (
			"References",
			(const char *const *) c->references->pdata, error);
		g_ptr_array_remove_index (c->references,
					  c->references->len - 1);
		if (line == NULL)
			return FALSE;
		g_string_append (h, line);
	}
	return TRUE;
}

/* Appends to H the Message-ID field when one is wanted: the one given,
 * checked, or a new one from RANDOM at the domain of the first From;
 * FALSE with @error when the given one is refused. */
static gboolean
write_message_id (MpCompose *c, MpRandom *random, GString *h, GError **error)
{
	g_autofree char *line = NULL;

	if (!c->add_message_id)
		return TRUE;
	if (c->message_id) {
		line = checked_msgid ("Message-ID", c->message_id, error);
		if (line == NULL)
			return FALSE;
	} else {
		g_autofree char *domain =
			msgid_domain (c->addr[A_FROM]->pdata[0]);
		g_autofree char *tok = mp_random_token (random, 26);

		line = g_strdup_printf ("Message-ID: <%s@%s>\n", tok, domain);
	}
	g_string_append (h, line);
	return TRUE;
}

gboolean
mp_compose_write (MpCompose *c, MpRandom *random, MpWriter *out, GError **error)
{
	g_autoptr (GString) h = g_string_new (NULL);
	g_auto (Body) body = { NULL };
	g_autoptr (GDateTime) now = NULL;
	g_autofree char *date = NULL;

	if (c->addr[A_FROM]->len == 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "From: no sender address (give --from)");
		return FALSE;
	}
	date = mp_date_format (c->date ? c->date : (now = mp_date_default ()));
	g_string_append_printf (h, "Date: %s\n", date);
	if (!write_originator (c, h, error) ||
	    !write_other_fields (c, h, error))
		return FALSE;

	/* identical inputs give identical tokens when reproducible */
	mp_random_feed (random, h->str, h->len + 1);
	if (!feed_input (random, c->text, error) ||
	    !feed_input (random, c->html, error) ||
	    !body_prepare (&body, c, random, error) ||
	    !write_message_id (c, random, h, error))
		return FALSE;
	g_string_append (h, "MIME-Version: 1.0\n");
	return body_write (&body, h, out, error);
}
