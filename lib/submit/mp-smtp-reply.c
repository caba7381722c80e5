/* mp-smtp-reply: reading the server's replies (bounded, RFC 5321 4.2)
 * and writing commands, for the rest of the SMTP client. */
#include "mp-secret.h"
#include "mp-smtp-private.h"

#include <stdarg.h>
#include <string.h>

void
mp_smtp_reply_clear (Reply *r)
{
	g_clear_pointer (&r->lines, g_ptr_array_unref);
	r->code = 0;
	r->enhanced[0] = '\0';
}

/* "550 5.1.1 no such user" from all lines, joined by spaces. */
char *
mp_smtp_reply_text (const Reply *r)
{
	GString *s = g_string_new (NULL);

	g_string_append_printf (s, "%03u", r->code);
	for (guint i = 0; r->lines != NULL && i < r->lines->len; i++) {
		const char *l = g_ptr_array_index (r->lines, i);

		if (*l != '\0')
			g_string_append_printf (s, " %s", l);
	}
	return g_string_free (s, FALSE);
}

void
mp_smtp_transcript (MpSmtp *smtp, MpSmtpLineKind kind, const char *fmt, ...)
{
	g_autofree char *line = NULL;
	va_list ap;

	if (smtp->cfg->transcript == NULL)
		return;
	va_start (ap, fmt);
	line = g_strdup_vprintf (fmt, ap);
	va_end (ap);
	smtp->cfg->transcript (kind, line, smtp->cfg->transcript_data);
}

/* Printable version of server text for messages: controls become '?'. */
char *
mp_smtp_sanitize (const char *s, gsize len)
{
	char *out = g_strndup (s, len);

	for (char *p = out; *p != '\0'; p++)
		if ((guchar) *p < 0x20 || *p == 0x7f)
			*p = '?';
	return out;
}

/* The session is over: @error says why, after the server's name, and the
 * connection carries no further command. */
void
mp_smtp_fail (MpSmtp *smtp, GError **error, MpErrorCode code, const char *fmt,
	      ...)
{
	g_autofree char *why = NULL;
	va_list ap;

	va_start (ap, fmt);
	why = g_strdup_vprintf (fmt, ap);
	va_end (ap);
	g_set_error (error, MP_ERROR, code, "%s: %s", smtp->cfg->host, why);
	smtp->usable = FALSE;
}

/* Wraps a GIO/TLS/resolver error in the MP_ERROR class it deserves. */
void
mp_smtp_net_error (MpSmtp *smtp, GError **error, GError *err, const char *what)
{
	MpErrorCode code = MP_ERROR_TEMPFAIL;

	if (g_error_matches (err, G_TLS_ERROR, G_TLS_ERROR_EOF))
		code = MP_ERROR_TEMPFAIL; /* closed without close_notify */
	else if (err->domain == G_TLS_ERROR)
		code = MP_ERROR_PROTOCOL;
	else if (err->domain == G_RESOLVER_ERROR)
		code = err->code == G_RESOLVER_ERROR_NOT_FOUND ?
			       MP_ERROR_NO_HOST :
			       MP_ERROR_TEMPFAIL;
	else if (g_error_matches (err, G_IO_ERROR, G_IO_ERROR_HOST_NOT_FOUND))
		code = MP_ERROR_NO_HOST;
	mp_smtp_fail (smtp, error, code, "%s%s%s", what ? what : "",
		      what ? ": " : "", err->message);
	g_error_free (err);
}

guint
mp_smtp_timeout (MpSmtp *smtp)
{
	return smtp->cfg->timeout > 0 ? (guint) smtp->cfg->timeout : 60;
}

static gboolean
read_line (MpSmtp *smtp, char **line, GError **error)
{
	for (;;) {
		gsize avail = 0;
		const char *buf =
			g_buffered_input_stream_peek_buffer (smtp->in, &avail);
		const char *nl = memchr (buf, '\n', avail);
		GError *err = NULL;
		gssize n;

		if (nl != NULL) {
			gsize len = (gsize) (nl - buf);

			if (len > MAX_LINE) {
				mp_smtp_fail (
					smtp, error, MP_ERROR_PROTOCOL,
					"reply line longer than %d octets",
					MAX_LINE);
				return FALSE;
			}
			if (len > 0 && buf[len - 1] == '\r')
				len--;
			if (memchr (buf, '\0', len) != NULL) {
				mp_smtp_fail (smtp, error, MP_ERROR_PROTOCOL,
					      "NUL byte in a reply");
				return FALSE;
			}
			*line = g_strndup (buf, len);
			g_input_stream_skip (G_INPUT_STREAM (smtp->in),
					     (gsize) (nl - buf) + 1, NULL,
					     NULL);
			return TRUE;
		}
		if (avail >= MAX_LINE) {
			mp_smtp_fail (smtp, error, MP_ERROR_PROTOCOL,
				      "reply line longer than %d octets",
				      MAX_LINE);
			return FALSE;
		}
		/* the socket timeout bounds each read; this bounds a reply
		 * trickled a byte at a time */
		if (g_get_monotonic_time () > smtp->deadline) {
			mp_smtp_fail (smtp, error, MP_ERROR_TEMPFAIL,
				      "timed out waiting for a reply");
			return FALSE;
		}
		n = g_buffered_input_stream_fill (smtp->in, -1, NULL, &err);
		if (n < 0 && smtp->auth_deadline != 0 &&
		    g_error_matches (err, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)) {
			g_error_free (err);
			mp_smtp_fail (
				smtp, error, MP_ERROR_TEMPFAIL,
				"AUTH took longer than --timeout (%u seconds)",
				mp_smtp_timeout (smtp));
			return FALSE;
		}
		if (n < 0) {
			mp_smtp_net_error (smtp, error, err, "reading reply");
			return FALSE;
		}
		if (n == 0) {
			mp_smtp_fail (smtp, error, MP_ERROR_TEMPFAIL,
				      "connection closed by the server%s",
				      avail ? " in the middle of a reply" : "");
			return FALSE;
		}
	}
}

static void
parse_enhanced (Reply *r, const char *text)
{
	/* RFC 3463: class.subject.detail, class matching the reply */
	const char *p = text;
	int parts = 0;

	if (*p != '0' + (int) (r->code / 100))
		return;
	while (parts < 3) {
		int digits = 0;

		while (g_ascii_isdigit (*p) && digits < 3) {
			p++;
			digits++;
		}
		if (digits == 0)
			return;
		parts++;
		if (parts < 3) {
			if (*p != '.')
				return;
			p++;
		}
	}
	if (*p != '\0' && *p != ' ')
		return;
	if ((gsize) (p - text) < sizeof r->enhanced) {
		memcpy (r->enhanced, text, (gsize) (p - text));
		r->enhanced[p - text] = '\0';
	}
}

/* Reads one reply, all its lines.  Garbage (no three-digit code, codes
 * that change between lines, a code outside 2xx-5xx), a reply of more than
 * MAX_LINES lines or an over-long line is a protocol error (OpenSMTPD 2020:
 * short multi-line replies read out of bounds). */
gboolean
mp_smtp_read_reply (MpSmtp *smtp, Reply *r, GError **error)
{
	mp_smtp_reply_clear (r);
	r->lines = g_ptr_array_new_with_free_func (g_free);
	smtp->deadline = g_get_monotonic_time () +
			 (gint64) mp_smtp_timeout (smtp) * G_USEC_PER_SEC;
	if (smtp->auth_deadline != 0 && smtp->auth_deadline < smtp->deadline) {
		gint64 left = smtp->auth_deadline - g_get_monotonic_time ();

		smtp->deadline = smtp->auth_deadline;
		/* each read may wait no longer than what is left */
		g_socket_set_timeout (
			g_socket_connection_get_socket (smtp->conn),
			(guint) CLAMP ((left + G_USEC_PER_SEC - 1) /
					       G_USEC_PER_SEC,
				       1, mp_smtp_timeout (smtp)));
	}
	for (guint n = 0;; n++) {
		g_autofree char *line = NULL;
		gsize len;
		guint code;

		if (n >= MAX_LINES) {
			mp_smtp_fail (smtp, error, MP_ERROR_PROTOCOL,
				      "reply longer than %d lines", MAX_LINES);
			return FALSE;
		}
		if (!read_line (smtp, &line, error))
			return FALSE;
		mp_smtp_transcript (smtp, MP_SMTP_LINE_SERVER, "%s", line);
		len = strlen (line);
		if (len < 3 || line[0] < '2' || line[0] > '5' ||
		    line[1] < '0' || line[1] > '5' ||
		    !g_ascii_isdigit (line[2]) ||
		    (len > 3 && line[3] != ' ' && line[3] != '-')) {
			g_autofree char *s =
				mp_smtp_sanitize (line, MIN (len, 80));

			mp_smtp_fail (smtp, error, MP_ERROR_PROTOCOL,
				      "garbage reply: \"%s\"", s);
			return FALSE;
		}
		code = (guint) ((line[0] - '0') * 100 + (line[1] - '0') * 10 +
				(line[2] - '0'));
		if (n > 0 && code != r->code) {
			mp_smtp_fail (
				smtp, error, MP_ERROR_PROTOCOL,
				"reply lines with different codes (%u, then %u)",
				r->code, code);
			return FALSE;
		}
		r->code = code;
		g_ptr_array_add (r->lines,
				 mp_smtp_sanitize (len > 4 ? line + 4 : "",
						   len > 4 ? len - 4 : 0));
		if (n == 0)
			parse_enhanced (r, g_ptr_array_index (r->lines, 0));
		if (len == 3 || line[3] == ' ')
			break;
	}
	if (r->code == 421)
		smtp->usable = FALSE; /* RFC 5321 3.8: the server closes */
	return TRUE;
}

static const char *const stage_names[] = {
	"greeting",  "EHLO",    "STARTTLS", "AUTH",
	"MAIL FROM", "RCPT TO", "DATA",     "end of data",
};

MpErrorCode
mp_smtp_reply_class (const Reply *r, Stage stage)
{
	if (r->code >= 400 && r->code < 500)
		return MP_ERROR_TEMPFAIL;
	if (r->code < 500)
		return MP_ERROR_PROTOCOL; /* a success where none belongs */
	if (stage == STAGE_AUTH)
		return MP_ERROR_NO_PERM;
	if (g_str_has_prefix (r->enhanced, "5.1.") && stage == STAGE_RCPT)
		return MP_ERROR_NO_USER;
	if (g_str_has_prefix (r->enhanced, "5.6.") ||
	    g_str_equal (r->enhanced, "5.3.4"))
		return MP_ERROR_DATA;
	return MP_ERROR_UNAVAILABLE;
}

void
mp_smtp_reply_error (MpSmtp *smtp, GError **error, const Reply *r, Stage stage,
		     const char *what)
{
	g_autofree char *text = mp_smtp_reply_text (r);

	g_set_error (error, MP_ERROR, mp_smtp_reply_class (r, stage),
		     "%s: %s: %s", smtp->cfg->host,
		     what ? what : stage_names[stage], text);
}

/* Adds a command line to the output buffer; @shown is what the transcript
 * gets instead of @line (for credentials), NULL to show @line. */
void
mp_smtp_queue (MpSmtp *smtp, const char *line, const char *shown)
{
	g_byte_array_append (smtp->wbuf, (const guint8 *) line,
			     (guint) strlen (line));
	g_byte_array_append (smtp->wbuf, (const guint8 *) "\r\n", 2);
	/* what the transcript must not show the heap must not keep */
	if (shown != NULL)
		smtp->wbuf_secret = TRUE;
	mp_smtp_transcript (smtp, MP_SMTP_LINE_CLIENT, "%s",
			    shown ? shown : line);
}

/* Empties the command buffer, wiping it first if it held a credential. */
static void
wbuf_clear (MpSmtp *smtp)
{
	if (smtp->wbuf_secret)
		mp_secret_wipe_len (smtp->wbuf->data, smtp->wbuf->len);
	smtp->wbuf_secret = FALSE;
	g_byte_array_set_size (smtp->wbuf, 0);
}

gboolean
mp_smtp_flush (MpSmtp *smtp, GError **error)
{
	GError *err = NULL;

	if (smtp->wbuf->len == 0)
		return TRUE;
	/* RFC 5321 4.1.1: the server speaks only in reply.  Bytes already
	 * waiting before we send would be read as the answer to what we are
	 * about to send. */
	if (smtp->in != NULL &&
	    g_buffered_input_stream_get_available (smtp->in) > 0) {
		mp_smtp_fail (smtp, error, MP_ERROR_PROTOCOL,
			      "the server sent data nobody asked for");
		wbuf_clear (smtp);
		return FALSE;
	}
	if (!g_output_stream_write_all (smtp->out, smtp->wbuf->data,
					smtp->wbuf->len, NULL, NULL, &err) ||
	    !g_output_stream_flush (smtp->out, NULL, &err)) {
		wbuf_clear (smtp);
		mp_smtp_net_error (smtp, error, err, "sending");
		return FALSE;
	}
	wbuf_clear (smtp);
	return TRUE;
}

gboolean
mp_smtp_command (MpSmtp *smtp, const char *line, const char *shown, Reply *r,
		 GError **error)
{
	mp_smtp_queue (smtp, line, shown);
	return mp_smtp_flush (smtp, error) &&
	       mp_smtp_read_reply (smtp, r, error);
}
