#include "mp-envelope.h"
#include "mp-address.h"
#include "mp-data.h"

#include <string.h>

#define CHUNK (64 * 1024)
#define MAX_HEADER (16 * 1024 * 1024)

void
mp_envelope_free (MpEnvelope *env)
{
	if (env == NULL)
		return;
	g_free (env->sender);
	g_clear_pointer (&env->recipients, g_ptr_array_unref);
	g_clear_pointer (&env->from, g_ptr_array_unref);
	g_free (env->binary_part);
	g_clear_pointer (&env->binary, g_array_unref);
	g_clear_object (&env->data);
	g_free (env);
}

/* Reads the header section (up to and including the blank line, or the
 * whole input when there is none) of @stream.  Sets *@end to its length. */
static GByteArray *
read_header_block (GMimeStream *stream, gint64 *end, GError **error)
{
	g_autoptr (GByteArray) buf = g_byte_array_new ();
	gsize scanned = 0;
	gboolean bol = TRUE;
	char chunk[8192];

	g_mime_stream_seek (stream, 0, GMIME_STREAM_SEEK_SET);
	for (;;) {
		/* a message with no body from a file (found by hostile.t) */
		gssize n = mp_io_stream_read (stream, chunk, sizeof chunk);

		if (n < 0) {
			g_set_error (error, MP_ERROR, MP_ERROR_IO,
				     "error reading the message");
			return NULL;
		}
		if (n == 0)
			break;
		/* memory stays bounded: the header section is kept whole */
		if (buf->len + (gsize) n > MAX_HEADER) {
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "header section larger than %d MiB",
				     MAX_HEADER >> 20);
			return NULL;
		}
		g_byte_array_append (buf, (guint8 *) chunk, (guint) n);
		for (; scanned < buf->len; scanned++) {
			guint8 c = buf->data[scanned];

			if (bol && c == '\n') {
				*end = (gint64) scanned + 1;
				g_byte_array_set_size (buf, (guint) *end);
				return g_steal_pointer (&buf);
			}
			if (bol && c == '\r' && scanned + 1 < buf->len &&
			    buf->data[scanned + 1] == '\n') {
				*end = (gint64) scanned + 2;
				g_byte_array_set_size (buf, (guint) *end);
				return g_steal_pointer (&buf);
			}
			if (bol && c == '\r' && scanned + 1 == buf->len)
				break; /* need the next byte */
			bol = c == '\n';
		}
	}
	*end = buf->len;
	return g_steal_pointer (&buf);
}

static gboolean
is_field (const guint8 *line, gsize len, const char *name)
{
	gsize n = strlen (name);
	gsize i = n;

	if (len <= n || g_ascii_strncasecmp ((const char *) line, name, n) != 0)
		return FALSE;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	return i < len && line[i] == ':';
}

/* Copies the header block without its Bcc and Resent-Bcc fields (with
 * their continuation lines) and without a leading mbox "From " line (a
 * saved message, git format-patch: no header field, RFC 4155; sendmail
 * and Postfix drop it too).  Sets *@removed and *@eight_bit. */
static GByteArray *
strip_bcc (const GByteArray *block, gboolean *removed, gboolean *eight_bit)
{
	GByteArray *out = g_byte_array_sized_new (block->len);
	gsize i = 0;
	gboolean skipping = FALSE;

	*removed = FALSE;
	*eight_bit = FALSE;
	if (block->len >= 5 && memcmp (block->data, "From ", 5) == 0 &&
	    !is_field (block->data, block->len, "From")) {
		const guint8 *nl = memchr (block->data, '\n', block->len);

		i = nl ? (gsize) (nl - block->data) + 1 : block->len;
	}
	while (i < block->len) {
		const guint8 *line = block->data + i;
		const guint8 *nl = memchr (line, '\n', block->len - i);
		gsize len = nl ? (gsize) (nl - line) + 1 : block->len - i;
		gboolean cont = line[0] == ' ' || line[0] == '\t';

		if (!cont)
			skipping = is_field (line, len, "Bcc") ||
				   is_field (line, len, "Resent-Bcc");
		if (skipping) {
			*removed = TRUE;
		} else {
			for (gsize k = 0; k < len; k++)
				if (line[k] >= 0x80)
					*eight_bit = TRUE;
			g_byte_array_append (out, line, (guint) len);
		}
		i += len;
	}
	return out;
}

/* A bare local name ("root", "ann": what cron and scripts give a local
 * sendmail) has no '@' and only the characters of a dot-atom. */
static gboolean
is_local_name (const char *value)
{
	if (value == NULL || *value == '\0' || *value == '-' || *value == '.')
		return FALSE;
	for (const char *p = value; *p != '\0'; p++)
		if (!g_ascii_isalnum (*p) &&
		    strchr ("!#$%&'*+-/=?^_`{|}~.", *p) == NULL)
			return FALSE;
	return TRUE;
}

static gboolean
add_address (GPtrArray *list, GHashTable *seen, const char *what,
	     const char *value, MpErrorCode code, const char *local_to,
	     gboolean *utf8, GError **error)
{
	char *addr;
	gboolean u = FALSE;

	if (local_to != NULL && is_local_name (value))
		value = local_to;
	if (!mp_address_check_envelope (what, value, FALSE, code, &addr, &u,
					error))
		return FALSE;
	*utf8 |= u;
	if (g_hash_table_contains (seen, addr)) {
		g_free (addr);
		return TRUE;
	}
	g_hash_table_add (seen, addr);
	g_ptr_array_add (list, g_strdup (addr));
	return TRUE;
}

/* Appends the mailboxes of @list (group members too). */
static gboolean
add_list (GPtrArray *out, GHashTable *seen, const char *what,
	  InternetAddressList *list, const char *local_to, gboolean *utf8,
	  GError **error)
{
	int n = list ? internet_address_list_length (list) : 0;

	for (int i = 0; i < n; i++) {
		InternetAddress *ia =
			internet_address_list_get_address (list, i);

		if (INTERNET_ADDRESS_IS_GROUP (ia)) {
			InternetAddressList *members =
				internet_address_group_get_members (
					INTERNET_ADDRESS_GROUP (ia));

			if (!add_list (out, seen, what, members, local_to, utf8,
				       error))
				return FALSE;
		} else if (INTERNET_ADDRESS_IS_MAILBOX (ia)) {
			const char *addr = internet_address_mailbox_get_addr (
				INTERNET_ADDRESS_MAILBOX (ia));

			if (!add_address (out, seen, what, addr, MP_ERROR_DATA,
					  local_to, utf8, error))
				return FALSE;
		}
	}
	return TRUE;
}

static const char *
first_mailbox (InternetAddressList *list)
{
	int n = list ? internet_address_list_length (list) : 0;

	for (int i = 0; i < n; i++) {
		InternetAddress *ia =
			internet_address_list_get_address (list, i);

		if (INTERNET_ADDRESS_IS_MAILBOX (ia))
			return internet_address_mailbox_get_addr (
				INTERNET_ADDRESS_MAILBOX (ia));
		if (INTERNET_ADDRESS_IS_GROUP (ia)) {
			const char *a = first_mailbox (
				internet_address_group_get_members (
					INTERNET_ADDRESS_GROUP (ia)));

			if (a != NULL)
				return a;
		}
	}
	return NULL;
}

/* Calls @fn for each piece of env->data in order, @raw for the content
 * of a binary part (which no canonicaliser may touch). */
typedef gboolean (*PieceFunc) (const char *buf, gsize len, gboolean raw,
			       gpointer data, GError **error);

static gboolean
each_piece (MpEnvelope *env, PieceFunc fn, gpointer data, GError **error)
{
	g_autofree char *buf = g_malloc (CHUNK);
	guint64 pos = 0; /* in env->data */
	guint next = 0;  /* the next binary range */
	gssize n;

	g_mime_stream_seek (env->data, 0, GMIME_STREAM_SEEK_SET);
	while ((n = mp_io_stream_read (env->data, buf, CHUNK)) > 0) {
		gsize off = 0;

		while (off < (gsize) n) {
			guint64 here = pos + off;
			gsize len = (gsize) n - off;
			gboolean raw = FALSE;

			if (env->binary != NULL &&
			    next * 2 < env->binary->len) {
				guint64 s = env->head_len +
					    g_array_index (env->binary, guint64,
							   next * 2);
				guint64 e = env->head_len +
					    g_array_index (env->binary, guint64,
							   next * 2 + 1);

				if (here >= e) {
					next++;
					continue;
				}
				if (here >= s) {
					raw = TRUE;
					len = MIN (len, e - here);
				} else {
					len = MIN (len, s - here);
				}
			}
			if (!fn (buf + off, len, raw, data, error))
				return FALSE;
			off += len;
		}
		pos += (guint64) n;
	}
	if (n < 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_IO,
			     "error reading the message");
		return FALSE;
	}
	g_mime_stream_seek (env->data, 0, GMIME_STREAM_SEEK_SET);
	return TRUE;
}

typedef struct {
	MpDataEncoder data; /* for DATA */
	MpDataEncoder bdat; /* for BDAT */
	guint64 raw;        /* binary octets */
	gboolean raw_8bit;
	GByteArray *out; /* BDAT bytes, when writing */
	MpWriteFunc write;
	gpointer user_data;
} Scan;

static gboolean
scan_piece (const char *buf, gsize len, gboolean raw, gpointer data,
	    GError **error)
{
	Scan *sc = data;

	if (raw) {
		sc->raw += len;
		sc->raw_8bit = TRUE;
		/* a line break after the binary content is a new one */
		sc->bdat.after_cr = FALSE;
		sc->bdat.line_start = TRUE;
		return TRUE;
	}
	mp_data_encode (&sc->data, buf, len, NULL);
	mp_data_encode (&sc->bdat, buf, len, NULL);
	return TRUE;
}

static gboolean
scan_data (MpEnvelope *env, GError **error)
{
	Scan sc = { 0 };

	mp_data_encoder_init (&sc.data);
	mp_data_encoder_init (&sc.bdat);
	sc.bdat.no_dots = TRUE;
	if (!each_piece (env, scan_piece, &sc, error))
		return FALSE;
	mp_data_finish (&sc.data, NULL);
	/* RFC 5321 and 6152 allow no NUL; a NUL before a dot is also one of
	 * the SMTP smuggling end-of-data sequences.  Binary content may hold
	 * any byte: it goes with BDAT, which has no end-of-data sequence. */
	if (sc.data.nul) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "message contains a NUL byte; it cannot be sent "
			     "over SMTP");
		return FALSE;
	}
	env->eight_bit = sc.data.eight_bit || sc.raw_8bit;
	env->size = sc.data.out_bytes;
	env->bdat_size =
		sc.bdat.out_bytes + sc.raw + (sc.bdat.line_start ? 0 : 2);
	return TRUE;
}

static gboolean
bdat_piece (const char *buf, gsize len, gboolean raw, gpointer data,
	    GError **error)
{
	Scan *sc = data;

	if (raw) {
		g_byte_array_append (sc->out, (const guint8 *) buf,
				     (guint) len);
		sc->bdat.after_cr = FALSE;
		sc->bdat.line_start = TRUE;
	} else {
		mp_data_encode (&sc->bdat, buf, len, sc->out);
	}
	if (sc->out->len < CHUNK)
		return TRUE;
	if (!sc->write ((const char *) sc->out->data, sc->out->len,
			sc->user_data, error))
		return FALSE;
	g_byte_array_set_size (sc->out, 0);
	return TRUE;
}

gboolean
mp_envelope_write_bdat (MpEnvelope *env, MpWriteFunc write, gpointer user_data,
			GError **error)
{
	g_autoptr (GByteArray) out = g_byte_array_sized_new (CHUNK * 2 + 8);
	Scan sc = { 0 };

	mp_data_encoder_init (&sc.bdat);
	sc.bdat.no_dots = TRUE;
	sc.out = out;
	sc.write = write;
	sc.user_data = user_data;
	if (!each_piece (env, bdat_piece, &sc, error))
		return FALSE;
	if (!sc.bdat.line_start)
		g_byte_array_append (out, (const guint8 *) "\r\n", 2);
	return write ((const char *) out->data, out->len, user_data, error);
}

typedef struct {
	MpEnvelope *env;
	gint64 body; /* absolute offset of the body in the input stream */
	guint n;     /* parts seen */
} BinaryWalk;

/* RFC 3030 3: a part in Content-Transfer-Encoding binary needs BDAT and
 * BINARYMIME; its content's place in the body, to leave it untouched. */
static void
find_binary (GMimeObject *parent, GMimeObject *part, gpointer data)
{
	BinaryWalk *w = data;
	GMimeDataWrapper *content;
	GMimeStream *cs;

	w->n++;
	if (!GMIME_IS_PART (part) ||
	    g_mime_part_get_content_encoding (GMIME_PART (part)) !=
		    GMIME_CONTENT_ENCODING_BINARY)
		return;
	if (w->env->binary_part == NULL) {
		const char *name = g_mime_part_get_filename (GMIME_PART (part));

		w->env->binary_part =
			name ? g_strdup_printf ("part %u (%s)", w->n, name) :
			       g_strdup_printf ("part %u", w->n);
	}
	content = g_mime_part_get_content (GMIME_PART (part));
	cs = content ? g_mime_data_wrapper_get_stream (content) : NULL;
	if (cs == NULL || cs->bound_start < w->body || cs->bound_end < 0 ||
	    cs->bound_end < cs->bound_start)
		return;
	if (w->env->binary == NULL)
		w->env->binary = g_array_new (FALSE, FALSE, sizeof (guint64));
	{
		guint64 s = (guint64) (cs->bound_start - w->body);
		guint64 e = (guint64) (cs->bound_end - w->body);

		g_array_append_val (w->env->binary, s);
		g_array_append_val (w->env->binary, e);
	}
}

static void submission_facts (MpEnvelope *env, GMimeMessage *msg);

MpEnvelope *
mp_envelope_new (MpInput *in, const char *from, const char *const *recipients,
		 gboolean add_header_recipients, GError **error)
{
	return mp_envelope_new_full (in, from, recipients,
				     add_header_recipients, NULL, error);
}

MpEnvelope *
mp_envelope_new_full (MpInput *in, const char *from,
		      const char *const *recipients,
		      gboolean add_header_recipients, const char *local_to,
		      GError **error)
{
	g_autoptr (GMimeMessage) msg = mp_input_parse_message (in, NULL, error);

	if (msg == NULL)
		return NULL;
	return mp_envelope_new_parsed (in, msg, from, recipients,
				       add_header_recipients, local_to, error);
}

const char *
mp_envelope_header_from (GMimeMessage *msg)
{
	return first_mailbox (g_mime_message_get_from (msg));
}

/* RFC 5322 3.6.2: sets env->sender from --from FROM, else the Sender
 * header, else the first From address, each checked, and *UTF8 when it
 * is UTF-8; FALSE with @error when there is none or it is bad */
static gboolean
envelope_sender (MpEnvelope *env, GMimeMessage *msg, const char *from,
		 gboolean *utf8, GError **error)
{
	const char *what = "Sender header";
	const char *addr;

	if (from != NULL)
		return mp_address_check_envelope ("--from", from, TRUE,
						  MP_ERROR_USAGE, &env->sender,
						  utf8, error);
	addr = first_mailbox (g_mime_message_get_sender (msg));
	if (addr == NULL) {
		what = "From header";
		addr = mp_envelope_header_from (msg);
	}
	if (addr == NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "no sender: give --from or a From header");
		return FALSE;
	}
	return mp_address_check_envelope (what, addr, FALSE, MP_ERROR_DATA,
					  &env->sender, utf8, error);
}

/* Sets env->recipients, checked and without duplicates: RECIPIENTS, and
 * To, Cc and Bcc of MSG when there are none or ADD_HEADER_RECIPIENTS;
 * sets *UTF8 when one is UTF-8. FALSE with @error for a bad one or
 * when there is none */
static gboolean
envelope_recipients (MpEnvelope *env, GMimeMessage *msg,
		     const char *const *recipients,
		     gboolean add_header_recipients, const char *local_to,
		     gboolean *utf8, GError **error)
{
	g_autoptr (GHashTable) seen =
		g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
	gboolean have_args = recipients != NULL && recipients[0] != NULL;

	env->recipients = g_ptr_array_new_with_free_func (g_free);
	for (guint i = 0; have_args && recipients[i] != NULL; i++)
		if (!add_address (env->recipients, seen, "recipient",
				  recipients[i], MP_ERROR_USAGE, local_to, utf8,
				  error))
			return FALSE;
	if (!have_args || add_header_recipients) {
		if (!add_list (env->recipients, seen, "To header",
			       g_mime_message_get_to (msg), local_to, utf8,
			       error) ||
		    !add_list (env->recipients, seen, "Cc header",
			       g_mime_message_get_cc (msg), local_to, utf8,
			       error) ||
		    !add_list (env->recipients, seen, "Bcc header",
			       g_mime_message_get_bcc (msg), local_to, utf8,
			       error))
			return FALSE;
	}
	if (env->recipients->len == 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "no recipients: give them as arguments or in "
			     "To, Cc or Bcc");
		return FALSE;
	}
	return TRUE;
}

/* Returns the header block of IN's STREAM, setting *END to where it
 * ends; NULL with @error when it cannot be read or has a CR without LF */
static GByteArray *
envelope_header_block (MpInput *in, GMimeStream *stream, gint64 *end,
		       GError **error)
{
	g_autoptr (GByteArray) block = read_header_block (stream, end, error);

	if (block == NULL)
		return NULL;
	/* A CR without LF ends a line for the canonicaliser but not for
	 * strip_bcc(): "Subject: x\rBcc: y" would show the Bcc field to
	 * every recipient (found by tests/cli/hostile.t).  Refuse it. */
	for (gsize i = 0; i < block->len; i++) {
		if (block->data[i] == '\r' &&
		    (i + 1 == block->len || block->data[i + 1] != '\n')) {
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s: header: CR without LF (ambiguous "
				     "line ending)",
				     mp_input_get_name (in));
			return NULL;
		}
	}
	return g_steal_pointer (&block);
}

/* Sets env->data: HEADERS (the header block without Bcc), then STREAM
 * from END to SIZE, the body read where it lies in the input */
static void
envelope_data (MpEnvelope *env, const GByteArray *headers, GMimeStream *stream,
	       gint64 end, gint64 size)
{
	GMimeStream *cat = g_mime_stream_cat_new ();
	GMimeStream *part;

	g_mime_stream_cat_add_source (
		GMIME_STREAM_CAT (cat),
		part = g_mime_stream_mem_new_with_buffer (
			(const char *) headers->data, headers->len));
	g_object_unref (part);
	if (end < size) {
		/* substream bounds are absolute: the input may start
		 * inside its file (stdin already partly read) */
		part = g_mime_stream_substream (stream,
						stream->bound_start + end,
						stream->bound_start + size);
		g_mime_stream_cat_add_source (GMIME_STREAM_CAT (cat), part);
		g_object_unref (part);
	}
	env->data = cat;
}

MpEnvelope *
mp_envelope_new_parsed (MpInput *in, GMimeMessage *msg, const char *from,
			const char *const *recipients,
			gboolean add_header_recipients, const char *local_to,
			GError **error)
{
	g_autoptr (MpEnvelope) env = g_new0 (MpEnvelope, 1);
	g_autoptr (GByteArray) block = NULL;
	g_autoptr (GByteArray) headers = NULL;
	GMimeStream *stream = mp_input_get_stream (in);
	gint64 size = mp_input_get_size (in);
	gint64 end = 0;
	gboolean header_8bit = FALSE;
	gboolean utf8 = FALSE;

	if (!envelope_sender (env, msg, from, &utf8, error) ||
	    !envelope_recipients (env, msg, recipients, add_header_recipients,
				  local_to, &utf8, error))
		return NULL;
	block = envelope_header_block (in, stream, &end, error);
	if (block == NULL)
		return NULL;
	headers = strip_bcc (block, &env->bcc_removed, &header_8bit);
	env->head_len = headers->len;
	/* RFC 6531 3.3: UTF-8 header fields need SMTPUTF8 */
	env->smtputf8 = utf8 || header_8bit;
	envelope_data (env, headers, stream, end, size);
	{
		BinaryWalk w = { env, stream->bound_start + end, 0 };

		g_mime_message_foreach (msg, find_binary, &w);
	}
	if (!scan_data (env, error))
		return NULL;
	env->crlf = g_strstr_len ((const char *) headers->data,
				  (gssize) headers->len, "\r\n") != NULL;
	submission_facts (env, msg);
	return g_steal_pointer (&env);
}

/* Date, Message-ID, a signature and the From addresses, for the checks
 * and additions of submission (RFC 6409 8). */
static void
submission_facts (MpEnvelope *env, GMimeMessage *msg)
{
	GMimeObject *obj = GMIME_OBJECT (msg);
	GDateTime *date = g_mime_message_get_date (msg);
	InternetAddressList *from = g_mime_message_get_from (msg);
	int n = from ? internet_address_list_length (from) : 0;

	env->has_date = g_mime_object_get_header (obj, "Date") != NULL;
	env->date = date ? g_date_time_to_unix (date) : 0;
	env->has_message_id =
		g_mime_object_get_header (obj, "Message-ID") != NULL;
	env->dkim_signed =
		g_mime_object_get_header (obj, "DKIM-Signature") != NULL;
	env->from = g_ptr_array_new_with_free_func (g_free);
	for (int i = 0; i < n; i++) {
		InternetAddress *ia =
			internet_address_list_get_address (from, i);

		if (INTERNET_ADDRESS_IS_MAILBOX (ia))
			g_ptr_array_add (
				env->from,
				g_strdup (internet_address_mailbox_get_addr (
					INTERNET_ADDRESS_MAILBOX (ia))));
	}
}

void
mp_envelope_add_field (MpEnvelope *env, const char *name, const char *value)
{
	g_autofree char *line = g_strdup_printf ("%s: %s%s", name, value,
						 env->crlf ? "\r\n" : "\n");
	GMimeStream *cat = g_mime_stream_cat_new ();
	GMimeStream *part =
		g_mime_stream_mem_new_with_buffer (line, strlen (line));

	g_mime_stream_cat_add_source (GMIME_STREAM_CAT (cat), part);
	g_object_unref (part);
	g_mime_stream_seek (env->data, 0, GMIME_STREAM_SEEK_SET);
	g_mime_stream_cat_add_source (GMIME_STREAM_CAT (cat), env->data);
	g_object_unref (env->data);
	env->data = cat;
	/* canonical CRLF; a field starts no line with a dot; BDAT counts
	 * the same octets (RFC 3030 2: its size is what follows) */
	env->size += strlen (name) + 2 + strlen (value) + 2;
	env->bdat_size += strlen (name) + 2 + strlen (value) + 2;
	env->head_len += strlen (line);
}

gboolean
mp_envelope_write_data (MpEnvelope *env, MpWriteFunc write, gpointer user_data,
			GError **error)
{
	g_autoptr (GByteArray) out = g_byte_array_sized_new (CHUNK * 2 + 8);
	MpDataEncoder enc;
	char buf[CHUNK];
	gssize n;

	mp_data_encoder_init (&enc);
	g_mime_stream_seek (env->data, 0, GMIME_STREAM_SEEK_SET);
	while ((n = mp_io_stream_read (env->data, buf, sizeof buf)) > 0) {
		mp_data_encode (&enc, buf, (gsize) n, out);
		/* keep the tail, so the end of data goes in the same write
		 * as the last bytes (no Nagle wait on a small last packet) */
		if (out->len >= CHUNK) {
			if (!write ((const char *) out->data, out->len,
				    user_data, error))
				return FALSE;
			g_byte_array_set_size (out, 0);
		}
	}
	if (n < 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_IO,
			     "error reading the message");
		return FALSE;
	}
	mp_data_finish (&enc, out);
	return write ((const char *) out->data, out->len, user_data, error);
}
