#include "mp-smtp.h"
#include "mp-error.h"

#include <gsasl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

/* RFC 5321 4.5.3.1.5 says 512 octets per reply line; real servers send
 * longer text, so allow more but never an unbounded line. */
#define MAX_LINE 4096
#define MAX_LINES 200
#define BUFFER_SIZE 16384

typedef struct {
	guint code;
	char enhanced[16]; /* "5.1.1", or "" */
	GPtrArray *lines;  /* char *, the text after the code */
} Reply;

struct _MpSmtp {
	const MpSmtpConfig *cfg;
	GSocketClient *client;
	GSocketConnection *conn;
	GTlsConnection *tls;
	GBufferedInputStream *in;
	GOutputStream *out;
	GByteArray *wbuf;
	GHashTable *caps; /* upper-case keyword -> parameters */
	gboolean esmtp;
	gboolean usable;    /* connected, no 421, no broken stream */
	gboolean need_rset; /* a transaction was left half-way */
	GTlsCertificateFlags cert_errors;
	gboolean pin_failed;
	gboolean handshake_failed; /* not for the certificate or a pin */
	GPtrArray *results;
	/* RFC 2920 across messages: the end of data of a message goes out
	 * with the next message's commands */
	gboolean pending;    /* an end of data queued or sent, unread */
	gboolean prev_ready; /* the reply to an earlier one, read and kept
				  for mp_smtp_finish() */
	Reply prev_reply;
	GError *prev_error;
	gboolean lost;        /* the last send failed with the previous
				  message's reply */
	char *final_reply;    /* the end-of-data reply of the message last
			      concluded, for mp_smtp_get_final_reply() */
	gint64 deadline;      /* monotonic time by which the reply must be in */
	gint64 auth_deadline; /* ... and the whole AUTH exchange; 0: none */
};

static void
reply_clear (Reply *r)
{
	g_clear_pointer (&r->lines, g_ptr_array_unref);
	r->code = 0;
	r->enhanced[0] = '\0';
}

/* "550 5.1.1 no such user" from all lines, joined by spaces. */
static char *
reply_text (const Reply *r)
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

static void transcript (MpSmtp *smtp, MpSmtpLineKind kind, const char *fmt, ...)
	G_GNUC_PRINTF (3, 4);

static void
transcript (MpSmtp *smtp, MpSmtpLineKind kind, const char *fmt, ...)
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
static char *
sanitize (const char *s, gsize len)
{
	char *out = g_strndup (s, len);

	for (char *p = out; *p != '\0'; p++)
		if ((guchar) *p < 0x20 || *p == 0x7f)
			*p = '?';
	return out;
}

/* Wraps a GIO/TLS/resolver error in the MP_ERROR class it deserves. */
static void
net_error (MpSmtp *smtp, GError **error, GError *err, const char *what)
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
	g_set_error (error, MP_ERROR, code, "%s: %s%s%s", smtp->cfg->host,
		     what ? what : "", what ? ": " : "", err->message);
	g_error_free (err);
	smtp->usable = FALSE;
}

static guint
timeout_of (MpSmtp *smtp)
{
	return smtp->cfg->timeout ? smtp->cfg->timeout : 60;
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
				g_set_error (error, MP_ERROR, MP_ERROR_PROTOCOL,
					     "%s: reply line longer than %d "
					     "octets",
					     smtp->cfg->host, MAX_LINE);
				smtp->usable = FALSE;
				return FALSE;
			}
			if (len > 0 && buf[len - 1] == '\r')
				len--;
			if (memchr (buf, '\0', len) != NULL) {
				g_set_error (error, MP_ERROR, MP_ERROR_PROTOCOL,
					     "%s: NUL byte in a reply",
					     smtp->cfg->host);
				smtp->usable = FALSE;
				return FALSE;
			}
			*line = g_strndup (buf, len);
			g_input_stream_skip (G_INPUT_STREAM (smtp->in),
					     (gsize) (nl - buf) + 1, NULL,
					     NULL);
			return TRUE;
		}
		if (avail >= MAX_LINE) {
			g_set_error (error, MP_ERROR, MP_ERROR_PROTOCOL,
				     "%s: reply line longer than %d octets",
				     smtp->cfg->host, MAX_LINE);
			smtp->usable = FALSE;
			return FALSE;
		}
		/* the socket timeout bounds each read; this bounds a reply
		 * trickled a byte at a time */
		if (g_get_monotonic_time () > smtp->deadline) {
			g_set_error (error, MP_ERROR, MP_ERROR_TEMPFAIL,
				     "%s: timed out waiting for a reply",
				     smtp->cfg->host);
			smtp->usable = FALSE;
			return FALSE;
		}
		n = g_buffered_input_stream_fill (smtp->in, -1, NULL, &err);
		if (n < 0 && smtp->auth_deadline != 0 &&
		    g_error_matches (err, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)) {
			g_error_free (err);
			g_set_error (error, MP_ERROR, MP_ERROR_TEMPFAIL,
				     "%s: AUTH took longer than --timeout (%u "
				     "seconds)",
				     smtp->cfg->host, timeout_of (smtp));
			smtp->usable = FALSE;
			return FALSE;
		}
		if (n < 0) {
			net_error (smtp, error, err, "reading reply");
			return FALSE;
		}
		if (n == 0) {
			g_set_error (error, MP_ERROR, MP_ERROR_TEMPFAIL,
				     "%s: connection closed by the server%s",
				     smtp->cfg->host,
				     avail ? " in the middle of a reply" : "");
			smtp->usable = FALSE;
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
static gboolean
read_reply (MpSmtp *smtp, Reply *r, GError **error)
{
	reply_clear (r);
	r->lines = g_ptr_array_new_with_free_func (g_free);
	smtp->deadline = g_get_monotonic_time () +
			 (gint64) timeout_of (smtp) * G_USEC_PER_SEC;
	if (smtp->auth_deadline != 0 && smtp->auth_deadline < smtp->deadline) {
		gint64 left = smtp->auth_deadline - g_get_monotonic_time ();

		smtp->deadline = smtp->auth_deadline;
		/* each read may wait no longer than what is left */
		g_socket_set_timeout (
			g_socket_connection_get_socket (smtp->conn),
			(guint) CLAMP ((left + G_USEC_PER_SEC - 1) /
					       G_USEC_PER_SEC,
				       1, timeout_of (smtp)));
	}
	for (guint n = 0;; n++) {
		g_autofree char *line = NULL;
		gsize len;
		guint code;

		if (n >= MAX_LINES) {
			g_set_error (error, MP_ERROR, MP_ERROR_PROTOCOL,
				     "%s: reply longer than %d lines",
				     smtp->cfg->host, MAX_LINES);
			smtp->usable = FALSE;
			return FALSE;
		}
		if (!read_line (smtp, &line, error))
			return FALSE;
		transcript (smtp, MP_SMTP_LINE_SERVER, "%s", line);
		len = strlen (line);
		if (len < 3 || line[0] < '2' || line[0] > '5' ||
		    line[1] < '0' || line[1] > '5' ||
		    !g_ascii_isdigit (line[2]) ||
		    (len > 3 && line[3] != ' ' && line[3] != '-')) {
			g_autofree char *s = sanitize (line, MIN (len, 80));

			g_set_error (error, MP_ERROR, MP_ERROR_PROTOCOL,
				     "%s: garbage reply: \"%s\"",
				     smtp->cfg->host, s);
			smtp->usable = FALSE;
			return FALSE;
		}
		code = (guint) ((line[0] - '0') * 100 + (line[1] - '0') * 10 +
				(line[2] - '0'));
		if (n > 0 && code != r->code) {
			g_set_error (error, MP_ERROR, MP_ERROR_PROTOCOL,
				     "%s: reply lines with different codes "
				     "(%u, then %u)",
				     smtp->cfg->host, r->code, code);
			smtp->usable = FALSE;
			return FALSE;
		}
		r->code = code;
		g_ptr_array_add (r->lines, sanitize (len > 4 ? line + 4 : "",
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

typedef enum {
	STAGE_GREETING,
	STAGE_EHLO,
	STAGE_STARTTLS,
	STAGE_AUTH,
	STAGE_MAIL,
	STAGE_RCPT,
	STAGE_DATA,
	STAGE_END,
} Stage;

static const char *const stage_names[] = {
	"greeting",  "EHLO",    "STARTTLS", "AUTH",
	"MAIL FROM", "RCPT TO", "DATA",     "end of data",
};

static MpErrorCode
reply_class (const Reply *r, Stage stage)
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

static void
reply_error (MpSmtp *smtp, GError **error, const Reply *r, Stage stage,
	     const char *what)
{
	g_autofree char *text = reply_text (r);

	g_set_error (error, MP_ERROR, reply_class (r, stage), "%s: %s: %s",
		     smtp->cfg->host, what ? what : stage_names[stage], text);
}

/* Adds a command line to the output buffer; @shown is what the transcript
 * gets instead of @line (for credentials), NULL to show @line. */
static void
queue (MpSmtp *smtp, const char *line, const char *shown)
{
	g_byte_array_append (smtp->wbuf, (const guint8 *) line,
			     (guint) strlen (line));
	g_byte_array_append (smtp->wbuf, (const guint8 *) "\r\n", 2);
	transcript (smtp, MP_SMTP_LINE_CLIENT, "%s", shown ? shown : line);
}

static gboolean
flush (MpSmtp *smtp, GError **error)
{
	GError *err = NULL;

	if (smtp->wbuf->len == 0)
		return TRUE;
	/* RFC 5321 4.1.1: the server speaks only in reply.  Bytes already
	 * waiting before we send would be read as the answer to what we are
	 * about to send. */
	if (smtp->in != NULL &&
	    g_buffered_input_stream_get_available (smtp->in) > 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_PROTOCOL,
			     "%s: the server sent data nobody asked for",
			     smtp->cfg->host);
		g_byte_array_set_size (smtp->wbuf, 0);
		smtp->usable = FALSE;
		return FALSE;
	}
	if (!g_output_stream_write_all (smtp->out, smtp->wbuf->data,
					smtp->wbuf->len, NULL, NULL, &err) ||
	    !g_output_stream_flush (smtp->out, NULL, &err)) {
		g_byte_array_set_size (smtp->wbuf, 0);
		net_error (smtp, error, err, "sending");
		return FALSE;
	}
	g_byte_array_set_size (smtp->wbuf, 0);
	return TRUE;
}

static gboolean
command (MpSmtp *smtp, const char *line, const char *shown, Reply *r,
	 GError **error)
{
	queue (smtp, line, shown);
	return flush (smtp, error) && read_reply (smtp, r, error);
}

static void
recipient_free (gpointer p)
{
	MpSmtpRecipient *r = p;

	g_free (r->recipient);
	g_free (r->reply);
	g_free (r);
}

MpSmtp *
mp_smtp_new (const MpSmtpConfig *config)
{
	MpSmtp *smtp = g_new0 (MpSmtp, 1);

	smtp->cfg = config;
	smtp->wbuf = g_byte_array_new ();
	smtp->caps =
		g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
	smtp->results = g_ptr_array_new_with_free_func (recipient_free);
	return smtp;
}

static void
close_streams (MpSmtp *smtp)
{
	g_clear_object (&smtp->in);
	smtp->out = NULL;
	if (smtp->tls != NULL)
		g_io_stream_close (G_IO_STREAM (smtp->tls), NULL, NULL);
	g_clear_object (&smtp->tls);
	if (smtp->conn != NULL)
		g_io_stream_close (G_IO_STREAM (smtp->conn), NULL, NULL);
	g_clear_object (&smtp->conn);
	smtp->usable = FALSE;
}

void
mp_smtp_free (MpSmtp *smtp)
{
	if (smtp == NULL)
		return;
	close_streams (smtp);
	g_clear_object (&smtp->client);
	g_byte_array_unref (smtp->wbuf);
	g_hash_table_unref (smtp->caps);
	g_ptr_array_unref (smtp->results);
	reply_clear (&smtp->prev_reply);
	g_clear_error (&smtp->prev_error);
	g_free (smtp->final_reply);
	g_free (smtp);
}

GPtrArray *
mp_smtp_get_recipients (MpSmtp *smtp)
{
	return smtp->results;
}

static void
use_stream (MpSmtp *smtp, GIOStream *io)
{
	GInputStream *in = g_buffered_input_stream_new_sized (
		g_io_stream_get_input_stream (io), BUFFER_SIZE);

	/* DESIGN 10: the reader must not close the socket under the TLS
	 * connection that replaces it after STARTTLS. */
	g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (in),
						     FALSE);
	g_clear_object (&smtp->in);
	smtp->in = G_BUFFERED_INPUT_STREAM (in);
	smtp->out = g_io_stream_get_output_stream (io);
}

/* --- TLS ----------------------------------------------------------- */

static gboolean
der_next (const guint8 **p, const guint8 *end, guint8 *tag,
	  const guint8 **content, gsize *len)
{
	const guint8 *q = *p;
	gsize l;

	if (end - q < 2)
		return FALSE;
	*tag = *q++;
	l = *q++;
	if (l & 0x80) {
		guint n = l & 0x7f;

		if (n == 0 || n > 4 || (gsize) (end - q) < n)
			return FALSE;
		l = 0;
		while (n-- > 0)
			l = (l << 8) | *q++;
	}
	if ((gsize) (end - q) < l)
		return FALSE;
	*content = q;
	*len = l;
	*p = q + l;
	return TRUE;
}

/* base64 SHA-256 of the certificate's SubjectPublicKeyInfo (RFC 7469),
 * the form curl's --pinnedpubkey takes after "sha256//". */
static char *
spki_sha256 (GTlsCertificate *cert)
{
	g_autoptr (GByteArray) der = NULL;
	const guint8 *p, *end, *c;
	gsize len;
	guint8 tag;
	guint8 digest[32];
	gsize dlen = sizeof digest;
	g_autoptr (GChecksum) sum = NULL;

	g_object_get (cert, "certificate", &der, NULL);
	if (der == NULL)
		return NULL;
	p = der->data;
	end = p + der->len;
	/* Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { ... } } */
	if (!der_next (&p, end, &tag, &c, &len) || tag != 0x30)
		return NULL;
	p = c;
	end = c + len;
	if (!der_next (&p, end, &tag, &c, &len) || tag != 0x30)
		return NULL;
	p = c;
	end = c + len;
	/* [0] version (optional), serial, signature, issuer, validity,
	 * subject, then subjectPublicKeyInfo */
	for (int field = 0; field < 7; field++) {
		const guint8 *start = p;

		if (!der_next (&p, end, &tag, &c, &len))
			return NULL;
		if (field == 0 && tag != 0xa0)
			field++;
		if (field == 6) {
			sum = g_checksum_new (G_CHECKSUM_SHA256);
			g_checksum_update (sum, start, p - start);
			g_checksum_get_digest (sum, digest, &dlen);
			return g_base64_encode (digest, dlen);
		}
	}
	return NULL;
}

static gboolean
pin_matches (MpSmtp *smtp, GTlsCertificate *cert)
{
	g_autofree char *pin = cert ? spki_sha256 (cert) : NULL;

	if (pin == NULL)
		return FALSE;
	for (guint i = 0; smtp->cfg->pins[i] != NULL; i++) {
		const char *want = smtp->cfg->pins[i];

		if (g_str_has_prefix (want, "sha256//"))
			want += 8;
		if (strcmp (want, pin) == 0)
			return TRUE;
	}
	return FALSE;
}

static gboolean
accept_certificate (GTlsConnection *conn, GTlsCertificate *cert,
		    GTlsCertificateFlags errors, gpointer data)
{
	MpSmtp *smtp = data;

	smtp->cert_errors = errors;
	/* A pinned key is trusted on its own, as msmtp's fingerprint. */
	if (smtp->cfg->pins != NULL && smtp->cfg->pins[0] != NULL) {
		if (pin_matches (smtp, cert))
			return TRUE;
		smtp->pin_failed = TRUE;
	}
	return FALSE;
}

static char *
describe_cert_errors (GTlsCertificateFlags f)
{
	GString *s = g_string_new (NULL);
	static const struct {
		GTlsCertificateFlags flag;
		const char *text;
	} names[] = {
		{ G_TLS_CERTIFICATE_UNKNOWN_CA, "issuer not trusted" },
		{ G_TLS_CERTIFICATE_BAD_IDENTITY, "host name does not match" },
		{ G_TLS_CERTIFICATE_NOT_ACTIVATED, "not yet valid" },
		{ G_TLS_CERTIFICATE_EXPIRED, "expired" },
		{ G_TLS_CERTIFICATE_REVOKED, "revoked" },
		{ G_TLS_CERTIFICATE_INSECURE, "insecure algorithm" },
		{ G_TLS_CERTIFICATE_GENERIC_ERROR, "invalid" },
	};

	for (guint i = 0; i < G_N_ELEMENTS (names); i++)
		if (f & names[i].flag)
			g_string_append_printf (s, "%s%s", s->len ? ", " : "",
						names[i].text);
	if (s->len == 0)
		g_string_append (s, "not accepted");
	return g_string_free (s, FALSE);
}

static const char *
tls_version_name (GTlsProtocolVersion v)
{
	switch (v) {
	case G_TLS_PROTOCOL_VERSION_SSL_3_0:
		return "SSL 3.0";
	case G_TLS_PROTOCOL_VERSION_TLS_1_0:
		return "TLS 1.0";
	case G_TLS_PROTOCOL_VERSION_TLS_1_1:
		return "TLS 1.1";
	case G_TLS_PROTOCOL_VERSION_TLS_1_2:
		return "TLS 1.2";
	case G_TLS_PROTOCOL_VERSION_TLS_1_3:
		return "TLS 1.3";
	default:
		return "TLS (unknown version)";
	}
}

static gboolean
start_tls (MpSmtp *smtp, GError **error)
{
	const MpSmtpConfig *cfg = smtp->cfg;
	g_autoptr (GSocketConnectable) identity = NULL;
	g_autofree char *ciphers = NULL;
	GError *err = NULL;
	GIOStream *tls;

	identity = g_network_address_new (cfg->host, cfg->port);
	tls = g_tls_client_connection_new (G_IO_STREAM (smtp->conn), identity,
					   &err);
	if (tls == NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_UNAVAILABLE,
			     "TLS is not available: %s", err->message);
		g_error_free (err);
		return FALSE;
	}
	smtp->tls = G_TLS_CONNECTION (tls);
	if (cfg->ca_file != NULL) {
		/* GTlsFileDatabase wants an absolute path */
		g_autofree char *ca_file =
			g_canonicalize_filename (cfg->ca_file, NULL);
		g_autoptr (GTlsDatabase) db =
			g_tls_file_database_new (ca_file, &err);

		if (db == NULL) {
			g_set_error (error, MP_ERROR, MP_ERROR_CONFIG, "%s: %s",
				     cfg->ca_file, err->message);
			g_error_free (err);
			return FALSE;
		}
		g_tls_connection_set_database (smtp->tls, db);
	}
	if (cfg->client_cert != NULL) {
		g_autoptr (GTlsCertificate) cert =
			g_tls_certificate_new_from_files (
				cfg->client_cert,
				cfg->client_key ? cfg->client_key :
						  cfg->client_cert,
				&err);

		if (cert == NULL) {
			g_set_error (error, MP_ERROR, MP_ERROR_CONFIG, "%s: %s",
				     cfg->client_cert, err->message);
			g_error_free (err);
			return FALSE;
		}
		g_tls_connection_set_certificate (smtp->tls, cert);
	}
	g_signal_connect (tls, "accept-certificate",
			  G_CALLBACK (accept_certificate), smtp);
	smtp->cert_errors = 0;
	smtp->pin_failed = FALSE;
	if (!g_tls_connection_handshake (smtp->tls, NULL, &err)) {
		if (smtp->pin_failed) {
			g_set_error (error, MP_ERROR, MP_ERROR_PROTOCOL,
				     "%s: TLS certificate does not match "
				     "--pin-sha256",
				     cfg->host);
			g_error_free (err);
			smtp->usable = FALSE;
			return FALSE;
		}
		if (smtp->cert_errors != 0) {
			g_autofree char *why =
				describe_cert_errors (smtp->cert_errors);

			g_set_error (error, MP_ERROR, MP_ERROR_PROTOCOL,
				     "%s: TLS certificate not accepted: %s",
				     cfg->host, why);
			g_error_free (err);
			smtp->usable = FALSE;
			return FALSE;
		}
		smtp->handshake_failed = TRUE;
		net_error (smtp, error, err, "TLS handshake failed");
		return FALSE;
	}
	if (cfg->pins != NULL && cfg->pins[0] != NULL &&
	    !pin_matches (smtp,
			  g_tls_connection_get_peer_certificate (smtp->tls))) {
		g_set_error (error, MP_ERROR, MP_ERROR_PROTOCOL,
			     "%s: TLS certificate does not match --pin-sha256",
			     cfg->host);
		smtp->usable = FALSE;
		return FALSE;
	}
	if (cfg->tls_min != NULL) {
		GTlsProtocolVersion want =
			g_str_equal (cfg->tls_min, "1.3") ?
				G_TLS_PROTOCOL_VERSION_TLS_1_3 :
				G_TLS_PROTOCOL_VERSION_TLS_1_2;
		GTlsProtocolVersion got =
			g_tls_connection_get_protocol_version (smtp->tls);

		if (got < want || got > G_TLS_PROTOCOL_VERSION_TLS_1_3) {
			g_set_error (error, MP_ERROR, MP_ERROR_PROTOCOL,
				     "%s: server negotiated %s, below "
				     "--tls-min %s",
				     cfg->host, tls_version_name (got),
				     cfg->tls_min);
			smtp->usable = FALSE;
			return FALSE;
		}
	}
	ciphers = g_tls_connection_get_ciphersuite_name (smtp->tls);
	transcript (smtp, MP_SMTP_LINE_INFO, "TLS established: %s, %s",
		    tls_version_name (
			    g_tls_connection_get_protocol_version (smtp->tls)),
		    ciphers ? ciphers : "unknown cipher suite");
	use_stream (smtp, tls);
	return TRUE;
}

/* --- EHLO ---------------------------------------------------------- */

static void
parse_caps (MpSmtp *smtp, const Reply *r)
{
	g_hash_table_remove_all (smtp->caps);
	for (guint i = 1; i < r->lines->len; i++) {
		const char *l = g_ptr_array_index (r->lines, i);
		const char *sp = l;
		char *key;

		while (*sp != '\0' && *sp != ' ' && *sp != '=')
			sp++;
		key = g_ascii_strup (l, sp - l);
		if (*sp != '\0')
			sp++;
		/* "AUTH=PLAIN" is an old form of "AUTH PLAIN" */
		if (g_hash_table_contains (smtp->caps, key) &&
		    g_str_equal (key, "AUTH")) {
			char *both = g_strdup_printf (
				"%s %s",
				(char *) g_hash_table_lookup (smtp->caps, key),
				sp);

			g_hash_table_insert (smtp->caps, key, both);
		} else {
			g_hash_table_insert (smtp->caps, key, g_strdup (sp));
		}
	}
}

static gboolean
has_cap (MpSmtp *smtp, const char *cap)
{
	return g_hash_table_contains (smtp->caps, cap);
}

static gboolean
ehlo (MpSmtp *smtp, gboolean tls_required, GError **error)
{
	const char *name = smtp->cfg->helo ? smtp->cfg->helo : "localhost";
	g_autofree char *line = g_strdup_printf ("EHLO %s", name);
	Reply r = { 0 };
	gboolean ok = FALSE;

	g_hash_table_remove_all (smtp->caps);
	smtp->esmtp = FALSE;
	if (!command (smtp, line, NULL, &r, error))
		goto out;
	if (r.code == 250) {
		smtp->esmtp = TRUE;
		parse_caps (smtp, &r);
		ok = TRUE;
		goto out;
	}
	if (r.code >= 500 && r.code != 421 && !tls_required) {
		g_autofree char *helo = g_strdup_printf ("HELO %s", name);

		if (!command (smtp, helo, NULL, &r, error))
			goto out;
		if (r.code == 250) {
			ok = TRUE;
			goto out;
		}
	}
	if (r.code >= 500 && tls_required)
		reply_error (smtp, error, &r, STAGE_EHLO,
			     "EHLO refused, so no STARTTLS");
	else
		reply_error (smtp, error, &r, STAGE_EHLO, NULL);
out:
	reply_clear (&r);
	return ok;
}

/* --- AUTH ---------------------------------------------------------- */

static const char *const known_mechs[] = {
	"SCRAM-SHA-256", "PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER", NULL,
};

gboolean
mp_smtp_mechanism_supported (const char *mech)
{
	for (guint i = 0; known_mechs[i] != NULL; i++)
		if (g_ascii_strcasecmp (mech, known_mechs[i]) == 0)
			return TRUE;
	return FALSE;
}

static gboolean
offered (MpSmtp *smtp, const char *mech)
{
	const char *list = g_hash_table_lookup (smtp->caps, "AUTH");
	g_auto (GStrv) v = NULL;

	if (list == NULL)
		return FALSE;
	v = g_strsplit (list, " ", -1);
	for (guint i = 0; v[i] != NULL; i++)
		if (g_ascii_strcasecmp (v[i], mech) == 0)
			return TRUE;
	return FALSE;
}

static char *
b64 (const char *s, gsize len)
{
	return g_base64_encode ((const guchar *) s, len);
}

/* Ends an exchange: 235 is success, anything else an error. */
static gboolean
auth_result (MpSmtp *smtp, const Reply *r, const char *mech, GError **error)
{
	g_autofree char *what = NULL;

	if (r->code == 235)
		return TRUE;
	what = g_strdup_printf ("AUTH %s refused", mech);
	if (r->code == 334 || r->code < 400)
		g_set_error (error, MP_ERROR, MP_ERROR_PROTOCOL,
			     "%s: AUTH %s: unexpected reply %03u",
			     smtp->cfg->host, mech, r->code);
	else
		reply_error (smtp, error, r, STAGE_AUTH, what);
	return FALSE;
}

/* RFC 5801 4: in the GS2 header ',' and '=' are written =2C and =3D */
static char *
gs2_escape (const char *s)
{
	GString *out = g_string_new (NULL);

	for (; *s != '\0'; s++) {
		if (*s == ',')
			g_string_append (out, "=2C");
		else if (*s == '=')
			g_string_append (out, "=3D");
		else
			g_string_append_c (out, *s);
	}
	return g_string_free (out, FALSE);
}

static gboolean
auth_simple (MpSmtp *smtp, const char *mech, Reply *r, GError **error)
{
	const MpSmtpConfig *cfg = smtp->cfg;
	g_autofree char *resp = NULL;
	g_autofree char *line = NULL;
	g_autofree char *shown = g_strdup_printf ("AUTH %s [redacted]", mech);

	if (g_str_equal (mech, "PLAIN")) {
		/* RFC 4616: authzid NUL authcid NUL passwd */
		g_autofree char *raw = g_strdup_printf (
			"%c%s%c%s", 0, cfg->user, 0, cfg->password);

		resp = b64 (raw,
			    strlen (cfg->user) + strlen (cfg->password) + 2);
	} else if (g_str_equal (mech, "XOAUTH2")) {
		g_autofree char *raw =
			g_strdup_printf ("user=%s\001auth=Bearer %s\001\001",
					 cfg->user, cfg->password);

		resp = b64 (raw, strlen (raw));
	} else { /* OAUTHBEARER, RFC 7628 */
		g_autofree char *user = gs2_escape (cfg->user);
		g_autofree char *raw =
			g_strdup_printf ("n,a=%s,\001auth=Bearer %s\001\001",
					 user, cfg->password);

		resp = b64 (raw, strlen (raw));
	}
	line = g_strdup_printf ("AUTH %s %s", mech, resp);
	if (!command (smtp, line, shown, r, error))
		return FALSE;
	if (r->code == 334 && !g_str_equal (mech, "PLAIN")) {
		/* RFC 7628 3.2.3: the server sent an error; answer with a
		 * dummy so it can send its final failure */
		if (!command (smtp, g_str_equal (mech, "XOAUTH2") ? "" : "AQ==",
			      NULL, r, error))
			return FALSE;
	}
	return auth_result (smtp, r, mech, error);
}

static gboolean
auth_login (MpSmtp *smtp, Reply *r, GError **error)
{
	const MpSmtpConfig *cfg = smtp->cfg;
	g_autofree char *u = b64 (cfg->user, strlen (cfg->user));
	g_autofree char *p = b64 (cfg->password, strlen (cfg->password));

	if (!command (smtp, "AUTH LOGIN", NULL, r, error))
		return FALSE;
	if (r->code != 334)
		return auth_result (smtp, r, "LOGIN", error);
	if (!command (smtp, u, "[redacted]", r, error))
		return FALSE;
	if (r->code != 334)
		return auth_result (smtp, r, "LOGIN", error);
	if (!command (smtp, p, "[redacted]", r, error))
		return FALSE;
	return auth_result (smtp, r, "LOGIN", error);
}

/* RFC 7677 4 asks for at least 4096 iterations; a server asking for
 * hundreds of millions makes the client hash for many minutes (issue 14:
 * i=400000000 took about 1,000 s).  Above this the server is refused. */
#define SCRAM_MAX_ITERATIONS 1000000

/* The iteration count of a server-first message (base64), or 0. */
static guint64
scram_iterations (const char *challenge)
{
	gsize len = 0;
	g_autofree char *raw = (char *) g_base64_decode (challenge, &len);
	g_autofree char *text = g_strndup (raw, len);
	g_auto (GStrv) attrs = g_strsplit (text, ",", -1);

	for (guint i = 0; attrs[i] != NULL; i++) {
		if (g_str_has_prefix (attrs[i], "i=")) {
			const char *p = attrs[i] + 2;

			if (*p == '\0' ||
			    strspn (p, "0123456789") != strlen (p))
				return 0;
			/* a count too long to read is too many */
			if (strlen (p) > 12)
				return G_MAXUINT64;
			return g_ascii_strtoull (p, NULL, 10);
		}
	}
	return 0;
}

/* What -v shows of a client SCRAM message (base64 @b64): the message
 * itself (RFC 5802: the user name and nonces), with the proof that
 * could be attacked offline redacted. */
static char *
scram_shown (const char *prefix, const char *b64)
{
	gsize len = 0;
	g_autofree char *raw = (char *) g_base64_decode (b64, &len);
	g_autofree char *text = g_strndup (raw, len);
	char *p = strstr (text, ",p=");

	if (p != NULL)
		strcpy (p, ",p=[redacted]");
	for (char *c = text; *c != '\0'; c++)
		if ((guchar) *c < 0x20 || *c == 0x7f)
			*c = '?';
	return g_strconcat (prefix, text, NULL);
}

static gboolean
scram_late (MpSmtp *smtp, GError **error)
{
	if (g_get_monotonic_time () <= smtp->auth_deadline)
		return FALSE;
	g_set_error (error, MP_ERROR, MP_ERROR_TEMPFAIL,
		     "%s: AUTH SCRAM-SHA-256 took longer than --timeout (%u "
		     "seconds)",
		     smtp->cfg->host, timeout_of (smtp));
	smtp->usable = FALSE;
	return TRUE;
}

static gboolean
auth_scram (MpSmtp *smtp, Reply *r, GError **error)
{
	const MpSmtpConfig *cfg = smtp->cfg;
	const char *mech = "SCRAM-SHA-256";
	Gsasl *ctx = NULL;
	Gsasl_session *s = NULL;
	char *out = NULL;
	gboolean ok = FALSE;
	gboolean first = TRUE;
	int rc;
	g_autofree char *line = NULL;
	g_autofree char *shown = NULL;

	if (gsasl_init (&ctx) != GSASL_OK ||
	    gsasl_client_start (ctx, mech, &s) != GSASL_OK) {
		g_set_error (error, MP_ERROR, MP_ERROR_UNAVAILABLE,
			     "SCRAM-SHA-256 is not available in libgsasl");
		goto out;
	}
	gsasl_property_set (s, GSASL_AUTHID, cfg->user);
	gsasl_property_set (s, GSASL_PASSWORD, cfg->password);
	rc = gsasl_step64 (s, "", &out);
	if (rc != GSASL_NEEDS_MORE) {
		g_set_error (error, MP_ERROR, MP_ERROR_SOFTWARE,
			     "SCRAM-SHA-256: %s", gsasl_strerror (rc));
		goto out;
	}
	line = g_strdup_printf ("AUTH %s %s", mech, out);
	shown = scram_shown ("AUTH SCRAM-SHA-256 ", out);
	gsasl_free (out);
	out = NULL;
	if (!command (smtp, line, shown, r, error))
		goto out;
	while (r->code == 334) {
		const char *challenge = g_ptr_array_index (r->lines, 0);
		guint64 iterations;

		if (rc == GSASL_OK) {
			g_set_error (error, MP_ERROR, MP_ERROR_PROTOCOL,
				     "%s: AUTH %s: challenge after the end",
				     cfg->host, mech);
			goto out;
		}
		if (scram_late (smtp, error))
			goto out;
		if (first && (iterations = scram_iterations (challenge)) >
				     SCRAM_MAX_ITERATIONS) {
			/* RFC 4954 4: "*" cancels the exchange */
			command (smtp, "*", NULL, r, NULL);
			g_set_error (error, MP_ERROR, MP_ERROR_PROTOCOL,
				     "%s: AUTH %s: the server asks for more "
				     "than %d iterations (%s)",
				     cfg->host, mech, SCRAM_MAX_ITERATIONS,
				     iterations == G_MAXUINT64 ?
					     "a count too long to read" :
					     "refusing to spend minutes "
					     "hashing");
			goto out;
		}
		first = FALSE;
		rc = gsasl_step64 (s, challenge, &out);
		if (rc != GSASL_OK && rc != GSASL_NEEDS_MORE) {
			/* RFC 4954 4: "*" cancels the exchange */
			command (smtp, "*", NULL, r, NULL);
			g_set_error (error, MP_ERROR,
				     rc == GSASL_AUTHENTICATION_ERROR ?
					     MP_ERROR_PROTOCOL :
					     MP_ERROR_NO_PERM,
				     "%s: AUTH %s: %s", cfg->host, mech,
				     rc == GSASL_AUTHENTICATION_ERROR ?
					     "the server did not prove it "
					     "knows the password" :
					     gsasl_strerror (rc));
			goto out;
		}
		/* the hashing is part of the exchange --timeout bounds */
		if (scram_late (smtp, error))
			goto out;
		g_free (shown);
		shown = scram_shown ("", out);
		if (!command (smtp, out, shown, r, error))
			goto out;
		gsasl_free (out);
		out = NULL;
	}
	if (scram_late (smtp, error))
		goto out;
	if (r->code == 235 && rc != GSASL_OK) {
		/* RFC 5802 5: the server-final message proves the server
		 * holds the verifier; without it we may talk to an impostor */
		g_set_error (error, MP_ERROR, MP_ERROR_PROTOCOL,
			     "%s: AUTH %s: success without the server's proof",
			     cfg->host, mech);
		goto out;
	}
	ok = auth_result (smtp, r, mech, error);
out:
	gsasl_free (out);
	if (s != NULL)
		gsasl_finish (s);
	if (ctx != NULL)
		gsasl_done (ctx);
	return ok;
}

static gboolean
scram_available (void)
{
	Gsasl *ctx = NULL;
	gboolean ok;

	if (gsasl_init (&ctx) != GSASL_OK)
		return FALSE;
	ok = gsasl_client_support_p (ctx, "SCRAM-SHA-256");
	gsasl_done (ctx);
	return ok;
}

static gboolean
authenticate (MpSmtp *smtp, GError **error)
{
	const MpSmtpConfig *cfg = smtp->cfg;
	gboolean secure = smtp->tls != NULL;
	g_autofree char *mech = NULL;
	Reply r = { 0 };
	gboolean ok;

	if (cfg->user == NULL)
		return TRUE;
	if (cfg->password == NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_CONFIG,
			     "no password for %s: set MIMEPIPE_PASSWORD or "
			     "--password-command",
			     cfg->user);
		return FALSE;
	}
	if (!secure && !cfg->allow_plaintext_auth) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "%s: not sending credentials without TLS "
			     "(--allow-plaintext-auth allows it)",
			     cfg->host);
		return FALSE;
	}
	if (!has_cap (smtp, "AUTH")) {
		g_set_error (error, MP_ERROR, MP_ERROR_UNAVAILABLE,
			     "%s: the server offers no authentication",
			     cfg->host);
		return FALSE;
	}
	if (cfg->auth != NULL) {
		mech = g_ascii_strup (cfg->auth, -1);
		if (!mp_smtp_mechanism_supported (mech)) {
			g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
				     "--auth %s: unsupported mechanism",
				     cfg->auth);
			return FALSE;
		}
	} else if (offered (smtp, "SCRAM-SHA-256") && scram_available ()) {
		mech = g_strdup ("SCRAM-SHA-256");
	} else if (offered (smtp, "PLAIN")) {
		mech = g_strdup ("PLAIN");
	} else if (offered (smtp, "LOGIN") && secure) {
		mech = g_strdup ("LOGIN");
	} else {
		g_set_error (error, MP_ERROR, MP_ERROR_UNAVAILABLE,
			     "%s: no usable AUTH mechanism offered (%s)",
			     cfg->host,
			     (char *) g_hash_table_lookup (smtp->caps, "AUTH"));
		return FALSE;
	}
	/* LOGIN sends the password as it is; never in the clear */
	if (!secure && g_str_equal (mech, "LOGIN")) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "%s: AUTH LOGIN is never used without TLS",
			     cfg->host);
		return FALSE;
	}
	/* the whole exchange within --timeout, not each reply */
	smtp->auth_deadline = g_get_monotonic_time () +
			      (gint64) timeout_of (smtp) * G_USEC_PER_SEC;
	if (g_str_equal (mech, "SCRAM-SHA-256"))
		ok = auth_scram (smtp, &r, error);
	else if (g_str_equal (mech, "LOGIN"))
		ok = auth_login (smtp, &r, error);
	else
		ok = auth_simple (smtp, mech, &r, error);
	smtp->auth_deadline = 0;
	g_socket_set_timeout (g_socket_connection_get_socket (smtp->conn),
			      timeout_of (smtp));
	reply_clear (&r);
	return ok;
}

typedef struct {
	GSocketConnection *conn;
	GError *error;
	gboolean done;
	gboolean timed_out;
	GCancellable *cancel;
} Connecting;

static void
connected (GObject *source, GAsyncResult *res, gpointer data)
{
	Connecting *c = data;

	c->conn = g_socket_client_connect_to_host_finish (
		G_SOCKET_CLIENT (source), res, &c->error);
	c->done = TRUE;
}

static gboolean
connect_timed_out (gpointer data)
{
	Connecting *c = data;

	c->timed_out = TRUE;
	g_cancellable_cancel (c->cancel);
	return G_SOURCE_REMOVE;
}

/* The socket timeout covers connect() but not the name lookup; run both
 * under one deadline. */
static GSocketConnection *
connect_with_timeout (MpSmtp *smtp, GError **error)
{
	g_autoptr (GMainContext) ctx = g_main_context_new ();
	g_autoptr (GCancellable) cancel = g_cancellable_new ();
	Connecting c = { NULL, NULL, FALSE, FALSE, cancel };
	GSource *timer = g_timeout_source_new_seconds (timeout_of (smtp));

	g_main_context_push_thread_default (ctx);
	g_source_set_callback (timer, connect_timed_out, &c, NULL);
	g_source_attach (timer, ctx);
	g_socket_client_connect_to_host_async (smtp->client, smtp->cfg->host,
					       smtp->cfg->port, cancel,
					       connected, &c);
	while (!c.done)
		g_main_context_iteration (ctx, TRUE);
	g_source_destroy (timer);
	g_source_unref (timer);
	g_main_context_pop_thread_default (ctx);
	if (c.conn == NULL && c.timed_out) {
		g_clear_error (&c.error);
		g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
			     "timed out connecting to port %u",
			     smtp->cfg->port);
		return NULL;
	}
	if (c.conn == NULL)
		g_propagate_error (error, c.error);
	return c.conn;
}

/* --- the wrong kind of port ---------------------------------------- */

/* How long a server may stay silent before we look whether it waits for
 * a TLS ClientHello (issue 14: STARTTLS against port 465 hung for the
 * whole --timeout), and how long each look may take. */
#define GREETING_PATIENCE 5
#define PROBE_TIMEOUT 3

static gboolean
probe_certificate (GTlsConnection *conn, GTlsCertificate *cert,
		   GTlsCertificateFlags errors, gpointer data)
{
	*(gboolean *) data = TRUE;
	return FALSE;
}

/* On a second connection: does the server answer a TLS handshake?  A
 * certificate offered is enough; nothing is sent after it. */
static gboolean
port_speaks_tls (MpSmtp *smtp)
{
	const MpSmtpConfig *cfg = smtp->cfg;
	g_autoptr (GSocketClient) client = g_socket_client_new ();
	g_autoptr (GSocketConnection) conn = NULL;
	g_autoptr (GSocketConnectable) identity = NULL;
	g_autoptr (GIOStream) tls = NULL;
	gboolean saw_cert = FALSE;
	gboolean ok;

	g_socket_client_set_enable_proxy (client, FALSE);
	g_socket_client_set_timeout (client, PROBE_TIMEOUT);
	conn = g_socket_client_connect_to_host (client, cfg->host, cfg->port,
						NULL, NULL);
	if (conn == NULL)
		return FALSE;
	identity = g_network_address_new (cfg->host, cfg->port);
	tls = g_tls_client_connection_new (G_IO_STREAM (conn), identity, NULL);
	if (tls == NULL)
		return FALSE;
	g_signal_connect (tls, "accept-certificate",
			  G_CALLBACK (probe_certificate), &saw_cert);
	ok = g_tls_connection_handshake (G_TLS_CONNECTION (tls), NULL, NULL);
	g_io_stream_close (tls, NULL, NULL);
	return ok || saw_cert;
}

/* On a second connection: does the server greet in clear ("220")? */
static gboolean
port_greets_in_clear (MpSmtp *smtp)
{
	const MpSmtpConfig *cfg = smtp->cfg;
	g_autoptr (GSocketClient) client = g_socket_client_new ();
	g_autoptr (GSocketConnection) conn = NULL;
	char buf[4] = { 0 };
	gsize got = 0;

	g_socket_client_set_enable_proxy (client, FALSE);
	g_socket_client_set_timeout (client, PROBE_TIMEOUT);
	conn = g_socket_client_connect_to_host (client, cfg->host, cfg->port,
						NULL, NULL);
	if (conn == NULL)
		return FALSE;
	g_input_stream_read_all (
		g_io_stream_get_input_stream (G_IO_STREAM (conn)), buf, 4, &got,
		NULL, NULL);
	g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
	return got == 4 && memcmp (buf, "220", 3) == 0 &&
	       (buf[3] == ' ' || buf[3] == '-');
}

/* Waits for the greeting; a server silent for GREETING_PATIENCE seconds
 * that answers a TLS handshake on another connection waits for ours. */
static gboolean
wait_greeting (MpSmtp *smtp, GError **error)
{
	GSocket *sock = g_socket_connection_get_socket (smtp->conn);

	if (timeout_of (smtp) <= GREETING_PATIENCE ||
	    g_buffered_input_stream_get_available (smtp->in) > 0 ||
	    g_socket_condition_timed_wait (sock, G_IO_IN,
					   GREETING_PATIENCE * G_USEC_PER_SEC,
					   NULL, NULL))
		return TRUE;
	if (!port_speaks_tls (smtp))
		return TRUE; /* a slow server: wait on */
	g_set_error (error, MP_ERROR, MP_ERROR_PROTOCOL,
		     "%s: no greeting on port %u, but a TLS handshake: this "
		     "port expects TLS from the first byte: use smtps://%s:%u "
		     "(or --tls=implicit)",
		     smtp->cfg->host, smtp->cfg->port, smtp->cfg->host,
		     smtp->cfg->port);
	smtp->usable = FALSE;
	return FALSE;
}

/* --- connecting ---------------------------------------------------- */

gboolean
mp_smtp_connect (MpSmtp *smtp, GError **error)
{
	const MpSmtpConfig *cfg = smtp->cfg;
	GError *err = NULL;
	Reply r = { 0 };
	gboolean ok = FALSE;

	if (cfg->tls != MP_SMTP_TLS_OFF &&
	    !g_tls_backend_supports_tls (g_tls_backend_get_default ())) {
		g_set_error (error, MP_ERROR, MP_ERROR_UNAVAILABLE,
			     "TLS is not available: GIO has no TLS backend "
			     "(install glib-networking)");
		return FALSE;
	}
	smtp->client = g_socket_client_new ();
	/* a submission goes straight to the server named: GIO's proxy
	 * resolver (http_proxy, GSettings) costs ~12 ms a message and would
	 * send mail through a web proxy nobody asked for */
	g_socket_client_set_enable_proxy (smtp->client, FALSE);
	g_socket_client_set_timeout (smtp->client, timeout_of (smtp));
	smtp->conn = connect_with_timeout (smtp, &err);
	if (smtp->conn == NULL) {
		net_error (smtp, error, err, NULL);
		return FALSE;
	}
	smtp->usable = TRUE;
	/* every write is a whole command group or the data: no Nagle delay */
	g_socket_set_option (g_socket_connection_get_socket (smtp->conn),
			     IPPROTO_TCP, TCP_NODELAY, 1, NULL);
	transcript (smtp, MP_SMTP_LINE_INFO, "connected to %s port %u",
		    cfg->host, cfg->port);
	if (cfg->tls == MP_SMTP_TLS_IMPLICIT) {
		if (!start_tls (smtp, error)) {
			if (smtp->handshake_failed &&
			    port_greets_in_clear (smtp)) {
				g_clear_error (error);
				g_set_error (error, MP_ERROR, MP_ERROR_PROTOCOL,
					     "%s: TLS handshake failed: this "
					     "port greets in clear: use "
					     "smtp://%s:%u (STARTTLS)",
					     cfg->host, cfg->host, cfg->port);
			}
			goto out;
		}
	} else {
		use_stream (smtp, G_IO_STREAM (smtp->conn));
		if (!wait_greeting (smtp, error))
			goto out;
	}
	if (!read_reply (smtp, &r, error))
		goto out;
	if (r.code != 220) {
		reply_error (smtp, error, &r, STAGE_GREETING, NULL);
		goto out;
	}
	if (!ehlo (smtp, cfg->tls == MP_SMTP_TLS_STARTTLS, error))
		goto out;
	if (cfg->tls == MP_SMTP_TLS_STARTTLS) {
		gsize left;

		if (!has_cap (smtp, "STARTTLS")) {
			g_set_error (error, MP_ERROR, MP_ERROR_UNAVAILABLE,
				     "%s: the server does not offer STARTTLS; "
				     "not continuing without TLS",
				     cfg->host);
			goto out;
		}
		if (!command (smtp, "STARTTLS", NULL, &r, error))
			goto out;
		if (r.code != 220) {
			reply_error (smtp, error, &r, STAGE_STARTTLS,
				     "STARTTLS refused");
			goto out;
		}
		/* RFC 3207 5, CVE-2021-22947 and kin: whatever arrived
		 * with the 220 was sent before TLS and may be injected. */
		left = g_buffered_input_stream_get_available (smtp->in);
		if (left > 0) {
			g_set_error (error, MP_ERROR, MP_ERROR_PROTOCOL,
				     "%s: %" G_GSIZE_FORMAT " bytes arrived "
				     "after the STARTTLS reply, before TLS "
				     "(response injection)",
				     cfg->host, left);
			smtp->usable = FALSE;
			goto out;
		}
		if (!start_tls (smtp, error))
			goto out;
		/* RFC 3207 4.2: forget everything learnt before TLS */
		if (!ehlo (smtp, FALSE, error))
			goto out;
	}
	if (!authenticate (smtp, error))
		goto out;
	ok = TRUE;
out:
	reply_clear (&r);
	if (!ok && smtp->usable) {
		/* polite end; the error stays the one that stopped us */
		if (command (smtp, "QUIT", NULL, &r, NULL))
			reply_clear (&r);
		smtp->usable = FALSE;
	}
	return ok;
}

gboolean
mp_smtp_parse_server (const char *spec, MpSmtpTls tls, char **host,
		      guint16 *port, MpSmtpTls *tls_out, GError **error)
{
	const char *p = spec;
	const char *host_end;
	const char *port_str = NULL;
	gboolean smtps = FALSE;
	guint64 n = 0;

	if (g_ascii_strncasecmp (p, "smtps://", 8) == 0) {
		smtps = TRUE;
		p += 8;
	} else if (g_ascii_strncasecmp (p, "smtp://", 7) == 0) {
		p += 7;
	} else if (strstr (p, "://") != NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--server %s: the scheme must be smtp:// or "
			     "smtps://",
			     spec);
		return FALSE;
	}
	/* user:password@ in the URL: refuse it without repeating it, so a
	 * password never reaches a log through our message */
	if (memchr (p, '@', strcspn (p, "/")) != NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--server: a user or password does not belong in "
			     "the server URL; use --user with "
			     "--password-command, ~/.netrc or "
			     "MIMEPIPE_PASSWORD");
		return FALSE;
	}
	if (*p == '[') {
		host_end = strchr (p, ']');
		if (host_end == NULL)
			goto bad;
		*host = g_strndup (p + 1, host_end - p - 1);
		host_end++;
	} else {
		host_end = p + strcspn (p, ":/");
		*host = g_strndup (p, host_end - p);
	}
	if (*host_end == ':')
		port_str = host_end + 1;
	else if (*host_end == '/' && host_end[1] == '\0')
		;
	else if (*host_end != '\0')
		goto bad;
	if (**host == '\0')
		goto bad;
	for (const char *c = *host; *c != '\0'; c++)
		if (!g_ascii_isalnum (*c) && *c != '.' && *c != '-' &&
		    *c != ':' && *c != '_')
			goto bad;
	if (port_str != NULL) {
		char *end = NULL;

		n = g_ascii_strtoull (port_str, &end, 10);
		if (end == port_str ||
		    (*end != '\0' && !(end[0] == '/' && end[1] == '\0')) ||
		    n == 0 || n > 65535)
			goto bad;
	}
	if (smtps && tls != MP_SMTP_TLS_DEFAULT &&
	    tls != MP_SMTP_TLS_IMPLICIT) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--server %s: smtps:// means --tls=implicit",
			     spec);
		g_clear_pointer (host, g_free);
		return FALSE;
	}
	if (tls == MP_SMTP_TLS_DEFAULT)
		tls = smtps || n == 465 ? MP_SMTP_TLS_IMPLICIT :
					  MP_SMTP_TLS_STARTTLS;
	*tls_out = tls;
	*port = n ? (guint16) n : tls == MP_SMTP_TLS_IMPLICIT ? 465 : 587;
	return TRUE;
bad:
	g_clear_pointer (host, g_free);
	g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
		     "--server %s: want [smtp://|smtps://]HOST[:PORT]", spec);
	return FALSE;
}

/* --- sending ------------------------------------------------------- */

/* RFC 3461 4: xtext */
static char *
xtext (const char *s)
{
	GString *out = g_string_new (NULL);

	for (const guchar *p = (const guchar *) s; *p != '\0'; p++) {
		if (*p >= '!' && *p <= '~' && *p != '+' && *p != '=')
			g_string_append_c (out, (char) *p);
		else
			g_string_append_printf (out, "+%02X", *p);
	}
	return g_string_free (out, FALSE);
}

gboolean
mp_smtp_check_config (const MpSmtpConfig *cfg, GError **error)
{
	if (cfg->tls_min != NULL && !g_str_equal (cfg->tls_min, "1.2") &&
	    !g_str_equal (cfg->tls_min, "1.3")) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--tls-min %s: want 1.2 or 1.3", cfg->tls_min);
		return FALSE;
	}
	if (cfg->auth != NULL && !mp_smtp_mechanism_supported (cfg->auth)) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--auth %s: want SCRAM-SHA-256, PLAIN, LOGIN, "
			     "XOAUTH2 or OAUTHBEARER",
			     cfg->auth);
		return FALSE;
	}
	for (guint i = 0; cfg->pins != NULL && cfg->pins[i] != NULL; i++) {
		const char *b64 = cfg->pins[i];
		g_autofree guchar *raw = NULL;
		gsize len = 0;

		if (g_str_has_prefix (b64, "sha256//"))
			b64 += 8;
		if (strlen (b64) == 44)
			raw = g_base64_decode (b64, &len);
		if (len != 32) {
			g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
				     "--pin-sha256 %s: want the base64 of a "
				     "SHA-256 hash (44 characters)",
				     cfg->pins[i]);
			return FALSE;
		}
	}
	for (const char *p = cfg->user; p != NULL && *p != '\0'; p++) {
		if ((guchar) *p < 0x20 || *p == 0x7f) {
			g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
				     "--user: control characters are not "
				     "allowed");
			return FALSE;
		}
	}
	for (const char *p = cfg->helo; p != NULL && *p != '\0'; p++) {
		if (!g_ascii_isalnum (*p) && strchr (".-:[]", *p) == NULL) {
			g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
				     "--helo %s: not a host name", cfg->helo);
			return FALSE;
		}
	}
	return TRUE;
}

gboolean
mp_smtp_check_dsn (const MpSmtpDsn *dsn, GError **error)
{
	if (dsn == NULL)
		return TRUE;
	if (dsn->notify != NULL) {
		g_auto (GStrv) v = g_strsplit (dsn->notify, ",", -1);
		gboolean never = FALSE;
		guint n = 0;

		for (; v[n] != NULL; n++) {
			if (g_ascii_strcasecmp (v[n], "NEVER") == 0)
				never = TRUE;
			else if (g_ascii_strcasecmp (v[n], "SUCCESS") != 0 &&
				 g_ascii_strcasecmp (v[n], "FAILURE") != 0 &&
				 g_ascii_strcasecmp (v[n], "DELAY") != 0)
				break;
		}
		if (v[n] != NULL || n == 0 || (never && n > 1)) {
			g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
				     "--dsn-notify: want NEVER or a list of "
				     "SUCCESS, FAILURE, DELAY");
			return FALSE;
		}
	}
	if (dsn->ret != NULL && g_ascii_strcasecmp (dsn->ret, "FULL") != 0 &&
	    g_ascii_strcasecmp (dsn->ret, "HDRS") != 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--dsn-return: want FULL or HDRS");
		return FALSE;
	}
	if (dsn->envid != NULL) {
		gsize len = strlen (dsn->envid);

		/* RFC 3461 4.4: printable ASCII, at most 100 characters */
		for (const char *p = dsn->envid; *p != '\0'; p++) {
			if (*p < ' ' || *p > '~') {
				g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
					     "--envid: only printable ASCII "
					     "is allowed");
				return FALSE;
			}
		}
		if (len == 0 || len > 100) {
			g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
				     "--envid: 1 to 100 characters");
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean
dsn_wanted (const MpSmtpDsn *dsn)
{
	return dsn != NULL &&
	       (dsn->notify != NULL || dsn->ret != NULL || dsn->envid != NULL);
}

static char *
mail_line (MpEnvelope *env, gboolean size, gboolean body8, gboolean binary,
	   gboolean utf8, const MpSmtpDsn *dsn)
{
	GString *s = g_string_new (NULL);

	g_string_append_printf (s, "MAIL FROM:<%s>", env->sender);
	if (size)
		g_string_append_printf (s, " SIZE=%" G_GUINT64_FORMAT,
					binary ? env->bdat_size : env->size);
	if (binary)
		g_string_append (s, " BODY=BINARYMIME");
	else if (body8)
		g_string_append (s, " BODY=8BITMIME");
	if (utf8)
		g_string_append (s, " SMTPUTF8");
	if (dsn != NULL && dsn->ret != NULL) {
		g_autofree char *up = g_ascii_strup (dsn->ret, -1);

		g_string_append_printf (s, " RET=%s", up);
	}
	if (dsn != NULL && dsn->envid != NULL) {
		g_autofree char *x = xtext (dsn->envid);

		g_string_append_printf (s, " ENVID=%s", x);
	}
	return g_string_free (s, FALSE);
}

static char *
rcpt_line (const char *rcpt, const MpSmtpDsn *dsn)
{
	GString *s = g_string_new (NULL);

	g_string_append_printf (s, "RCPT TO:<%s>", rcpt);
	if (dsn != NULL && dsn->notify != NULL) {
		g_autofree char *up = g_ascii_strup (dsn->notify, -1);

		g_string_append_printf (s, " NOTIFY=%s", up);
	}
	return g_string_free (s, FALSE);
}

/* Message data goes through the output buffer, written out in large
 * pieces, so that the tail with the end of data can wait there for the
 * next message's commands. */
static gboolean
write_out (MpSmtp *smtp, GError **error)
{
	GError *err = NULL;

	if (!g_output_stream_write_all (smtp->out, smtp->wbuf->data,
					smtp->wbuf->len, NULL, NULL, &err)) {
		g_byte_array_set_size (smtp->wbuf, 0);
		net_error (smtp, error, err, "sending the message");
		return FALSE;
	}
	g_byte_array_set_size (smtp->wbuf, 0);
	return TRUE;
}

static gboolean
write_data (const void *data, gsize len, gpointer user_data, GError **error)
{
	MpSmtp *smtp = user_data;

	g_byte_array_append (smtp->wbuf, data, (guint) len);
	return smtp->wbuf->len < BUFFER_SIZE * 4 || write_out (smtp, error);
}

/* Sends what waits (the end of data of the message in flight) and reads
 * its reply, kept for mp_smtp_finish(): no other reply may be read
 * before it. */
static void
settle (MpSmtp *smtp)
{
	if (!smtp->pending)
		return;
	/* one kept at a time: mp_smtp_finish() comes before the next */
	g_warn_if_fail (!smtp->prev_ready);
	reply_clear (&smtp->prev_reply);
	g_clear_error (&smtp->prev_error);
	smtp->pending = FALSE;
	smtp->prev_ready = TRUE;
	if (!smtp->usable)
		g_set_error (&smtp->prev_error, MP_ERROR, MP_ERROR_TEMPFAIL,
			     "%s: not connected", smtp->cfg->host);
	else if (flush (smtp, &smtp->prev_error))
		read_reply (smtp, &smtp->prev_reply, &smtp->prev_error);
}

static gboolean
end_reply (MpSmtp *smtp, const Reply *r, GError **error)
{
	g_free (smtp->final_reply);
	smtp->final_reply = r->lines != NULL ? reply_text (r) : NULL;
	if (r->code == 250)
		return TRUE;
	reply_error (smtp, error, r, STAGE_END, "message refused after DATA");
	return FALSE;
}

gboolean
mp_smtp_finish (MpSmtp *smtp, GError **error)
{
	gboolean ok;

	g_clear_pointer (&smtp->final_reply, g_free);
	if (!smtp->prev_ready && !smtp->pending)
		return TRUE;
	if (!smtp->prev_ready)
		settle (smtp);
	smtp->prev_ready = FALSE;
	if (smtp->prev_error != NULL) {
		g_propagate_error (error, smtp->prev_error);
		smtp->prev_error = NULL;
		return FALSE;
	}
	ok = end_reply (smtp, &smtp->prev_reply, error);
	reply_clear (&smtp->prev_reply);
	return ok;
}

const char *
mp_smtp_get_final_reply (MpSmtp *smtp)
{
	return smtp->final_reply;
}

gboolean
mp_smtp_lost (MpSmtp *smtp)
{
	return smtp->lost;
}

static void
rset (MpSmtp *smtp)
{
	Reply r = { 0 };

	settle (smtp);
	if (smtp->usable && command (smtp, "RSET", NULL, &r, NULL) &&
	    r.code == 250)
		smtp->need_rset = FALSE;
	else
		smtp->usable = FALSE;
	reply_clear (&r);
}

typedef struct {
	guint n;
	Reply perm; /* the first permanent refusal */
	Reply temp; /* the first other one */
} Refusals;

/* Records the reply @r to one RCPT in @res; a 421 ends the session. */
static gboolean
rcpt_reply (MpSmtp *smtp, MpSmtpRecipient *res, Reply *r, Refusals *ref,
	    GError **error)
{
	res->code = r->code;
	res->reply = reply_text (r);
	res->accepted = r->code == 250 || r->code == 251;
	if (r->code == 421) {
		reply_error (smtp, error, r, STAGE_RCPT, NULL);
		return FALSE;
	}
	if (!res->accepted) {
		Reply *keep = r->code >= 500 ? &ref->perm : &ref->temp;

		ref->n++;
		if (keep->lines == NULL) {
			*keep = *r;
			*r = (Reply){ 0 };
		}
	}
	return TRUE;
}

/* The error for refused recipients: temporary when every refusal was
 * temporary, else the class of the first permanent one. */
static void
recipients_error (MpSmtp *smtp, GError **error, const Refusals *ref,
		  guint total)
{
	const Reply *r = ref->perm.lines ? &ref->perm : &ref->temp;
	g_autofree char *text = reply_text (r);

	if (total == 1)
		g_set_error (error, MP_ERROR, reply_class (r, STAGE_RCPT),
			     "%s: the recipient was refused: %s",
			     smtp->cfg->host, text);
	else if (ref->n == total)
		g_set_error (error, MP_ERROR, reply_class (r, STAGE_RCPT),
			     "%s: all %u recipients refused (first: %s)",
			     smtp->cfg->host, total, text);
	else
		g_set_error (error, MP_ERROR, reply_class (r, STAGE_RCPT),
			     "%s: %u of %u recipients refused; nothing sent "
			     "(--allow-partial sends to the others)",
			     smtp->cfg->host, ref->n, total);
}

/* RFC 3030: the whole message as one chunk, "BDAT n LAST", its octets
 * counted beforehand (env->bdat_size); the reply ends the transaction. */
static gboolean
send_bdat (MpSmtp *smtp, MpEnvelope *env, Reply *r, GError **error)
{
	g_autofree char *line = g_strdup_printf (
		"BDAT %" G_GUINT64_FORMAT " LAST", env->bdat_size);

	queue (smtp, line, NULL);
	transcript (smtp, MP_SMTP_LINE_CLIENT,
		    "[%" G_GUINT64_FORMAT " octets of message data]",
		    env->bdat_size);
	if (!mp_envelope_write_bdat (env, write_data, smtp, error)) {
		g_byte_array_set_size (smtp->wbuf, 0);
		smtp->usable = FALSE;
		return FALSE;
	}
	if (!write_out (smtp, error) ||
	    !g_output_stream_flush (smtp->out, NULL, NULL) ||
	    !read_reply (smtp, r, error)) {
		if (error != NULL && *error == NULL)
			g_set_error (error, MP_ERROR, MP_ERROR_TEMPFAIL,
				     "%s: sending the message failed",
				     smtp->cfg->host);
		return FALSE;
	}
	smtp->need_rset = FALSE;
	return end_reply (smtp, r, error);
}

gboolean
mp_smtp_send (MpSmtp *smtp, MpEnvelope *env, const MpSmtpDsn *dsn,
	      gboolean allow_partial, GError **error)
{
	return mp_smtp_send_pipelined (smtp, env, dsn, allow_partial, NULL,
				       error);
}

gboolean
mp_smtp_send_pipelined (MpSmtp *smtp, MpEnvelope *env, const MpSmtpDsn *dsn,
			gboolean allow_partial, gboolean *deferred,
			GError **error)
{
	const MpSmtpConfig *cfg = smtp->cfg;
	gboolean pipelining = has_cap (smtp, "PIPELINING");
	gboolean size_cap = has_cap (smtp, "SIZE");
	gboolean bdat = env->binary_part != NULL;
	gboolean body8 = env->eight_bit && !bdat && has_cap (smtp, "8BITMIME");
	gboolean with_data; /* DATA in the same group as MAIL and RCPT */
	gboolean had_pending = smtp->pending;
	g_autofree char *mail = NULL;
	Reply mail_reply = { 0 };
	Reply r = { 0 };
	Refusals refusals = { 0 };
	gboolean ok = FALSE;

	if (deferred != NULL)
		*deferred = FALSE;
	smtp->lost = FALSE;
	g_clear_pointer (&smtp->final_reply, g_free);
	/* a new array: a caller may keep (ref) the previous one */
	g_ptr_array_unref (smtp->results);
	smtp->results = g_ptr_array_new_with_free_func (recipient_free);
	if (!smtp->usable) {
		g_set_error (error, MP_ERROR, MP_ERROR_TEMPFAIL,
			     "%s: not connected", cfg->host);
		return FALSE;
	}
	if (env->smtputf8 && !has_cap (smtp, "SMTPUTF8")) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: the message has UTF-8 addresses or header "
			     "fields and the server does not offer SMTPUTF8",
			     cfg->host);
		return FALSE;
	}
	/* RFC 3030 3: binary content goes with BDAT and BINARYMIME, or not
	 * at all: refused before MAIL, never a 500 in the middle of DATA */
	if (bdat &&
	    (!has_cap (smtp, "CHUNKING") || !has_cap (smtp, "BINARYMIME"))) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: %s has Content-Transfer-Encoding binary and "
			     "the server does not offer BINARYMIME with "
			     "CHUNKING (RFC 3030); encode it as base64",
			     cfg->host, env->binary_part);
		return FALSE;
	}
	if (env->eight_bit && !bdat && !has_cap (smtp, "8BITMIME") &&
	    !(env->smtputf8 && has_cap (smtp, "SMTPUTF8"))) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: the message has 8-bit data and the server "
			     "does not offer 8BITMIME (encode it as 7-bit: "
			     "quoted-printable or base64)",
			     cfg->host);
		return FALSE;
	}
	if (size_cap) {
		guint64 limit = g_ascii_strtoull (
			g_hash_table_lookup (smtp->caps, "SIZE"), NULL, 10);

		/* RFC 1870: SIZE 0 means no fixed limit */
		if (limit > 0 && (bdat ? env->bdat_size : env->size) > limit) {
			g_set_error (
				error, MP_ERROR, MP_ERROR_DATA,
				"%s: the message is %" G_GUINT64_FORMAT
				" octets; the server takes at most %" G_GUINT64_FORMAT,
				cfg->host, bdat ? env->bdat_size : env->size,
				limit);
			return FALSE;
		}
	}
	if (dsn_wanted (dsn) && !has_cap (smtp, "DSN")) {
		g_set_error (error, MP_ERROR, MP_ERROR_UNAVAILABLE,
			     "%s: the server does not offer DSN "
			     "(--dsn-notify, --dsn-return, --envid)",
			     cfg->host);
		return FALSE;
	}
	if (smtp->need_rset) {
		rset (smtp);
		if (!smtp->usable) {
			g_set_error (error, MP_ERROR, MP_ERROR_TEMPFAIL,
				     "%s: RSET failed", cfg->host);
			return FALSE;
		}
	}

	for (guint i = 0; i < env->recipients->len; i++) {
		MpSmtpRecipient *res = g_new0 (MpSmtpRecipient, 1);

		res->recipient =
			g_strdup (g_ptr_array_index (env->recipients, i));
		g_ptr_array_add (smtp->results, res);
	}

	mail = mail_line (env, size_cap, body8, bdat,
			  env->smtputf8 && has_cap (smtp, "SMTPUTF8"),
			  dsn_wanted (dsn) ? dsn : NULL);
	if (!pipelining)
		settle (smtp); /* nothing waits without PIPELINING */
	smtp->need_rset = TRUE;
	queue (smtp, mail, NULL);
	if (!pipelining) {
		if (!flush (smtp, error) ||
		    !read_reply (smtp, &mail_reply, error))
			goto out;
		if (mail_reply.code != 250) {
			reply_error (smtp, error, &mail_reply, STAGE_MAIL,
				     NULL);
			goto out;
		}
	}
	/* RFC 2920: MAIL and every RCPT in one write (behind the end of
	 * data of the message before), then the replies in order. */
	for (guint i = 0; i < smtp->results->len; i++) {
		MpSmtpRecipient *res = g_ptr_array_index (smtp->results, i);
		g_autofree char *line = rcpt_line (
			res->recipient, dsn_wanted (dsn) ? dsn : NULL);

		queue (smtp, line, NULL);
		if (!pipelining) {
			if (!flush (smtp, error) ||
			    !read_reply (smtp, &r, error))
				goto out;
			if (!rcpt_reply (smtp, res, &r, &refusals, error))
				goto out;
		}
	}
	/* RFC 2920 3.1: DATA may end the group, but only where no refusal
	 * can leave a DATA open that we do not want: with one recipient (a
	 * refusal leaves none, and the server must then refuse DATA with
	 * 503 or 554) or when a partial delivery is wanted anyway. */
	with_data = pipelining && deferred != NULL && !bdat &&
		    (allow_partial || smtp->results->len == 1);
	if (with_data)
		queue (smtp, "DATA", NULL);
	if (pipelining) {
		GError *err = NULL;
		gboolean sent = flush (smtp, &err);

		if (had_pending) {
			if (!sent) {
				/* the end of data did not go either */
				g_warn_if_fail (!smtp->prev_ready);
				g_clear_error (&smtp->prev_error);
				smtp->pending = FALSE;
				smtp->prev_ready = TRUE;
				smtp->prev_error = g_error_copy (err);
			}
			settle (smtp);
			if (!smtp->usable) {
				/* the previous message ended the session
				 * (421, closed, timed out): nothing of this
				 * one was taken */
				smtp->lost = TRUE;
				if (sent)
					g_set_error (&err, MP_ERROR,
						     MP_ERROR_TEMPFAIL,
						     "%s: connection lost "
						     "with the message before",
						     cfg->host);
				g_propagate_error (error, err);
				goto out;
			}
		}
		if (!sent) {
			g_propagate_error (error, err);
			goto out;
		}
		if (!read_reply (smtp, &mail_reply, error))
			goto out;
		if (mail_reply.code == 421) {
			reply_error (smtp, error, &mail_reply, STAGE_MAIL,
				     NULL);
			goto out;
		}
		for (guint i = 0; i < smtp->results->len; i++) {
			MpSmtpRecipient *res =
				g_ptr_array_index (smtp->results, i);

			if (!read_reply (smtp, &r, error))
				goto out;
			if (!rcpt_reply (smtp, res, &r, &refusals, error))
				goto out;
		}
		if (with_data && !read_reply (smtp, &r, error))
			goto out;
		if (mail_reply.code != 250) {
			reply_error (smtp, error, &mail_reply, STAGE_MAIL,
				     NULL);
			goto data_open;
		}
	}
	if (refusals.n > 0 &&
	    (refusals.n == smtp->results->len || !allow_partial)) {
		recipients_error (smtp, error, &refusals, smtp->results->len);
		goto data_open;
	}
	if (bdat) {
		ok = send_bdat (smtp, env, &r, error);
		goto out;
	}
	if (!with_data && !command (smtp, "DATA", NULL, &r, error))
		goto out;
	if (r.code != 354) {
		reply_error (smtp, error, &r, STAGE_DATA, NULL);
		goto out;
	}
	transcript (smtp, MP_SMTP_LINE_CLIENT,
		    "[%" G_GUINT64_FORMAT " octets of message data]",
		    env->size);
	if (!mp_envelope_write_data (env, write_data, smtp, error)) {
		g_byte_array_set_size (smtp->wbuf, 0);
		smtp->usable = FALSE;
		goto out;
	}
	if (pipelining && deferred != NULL) {
		/* the end of data waits in the buffer for the next message's
		 * commands; mp_smtp_finish() reads its reply */
		smtp->pending = TRUE;
		smtp->need_rset = FALSE;
		*deferred = TRUE;
		ok = TRUE;
		goto out;
	}
	if (!write_out (smtp, error) ||
	    !g_output_stream_flush (smtp->out, NULL, NULL) ||
	    !read_reply (smtp, &r, error)) {
		if (error != NULL && *error == NULL)
			g_set_error (error, MP_ERROR, MP_ERROR_TEMPFAIL,
				     "%s: sending the message failed",
				     cfg->host);
		goto out;
	}
	smtp->need_rset = FALSE;
	ok = end_reply (smtp, &r, error);
	goto out;
data_open:
	/* a server that opened DATA all the same (RFC 2920 says it must
	 * not): the only way out without sending anything is to drop the
	 * connection */
	if (with_data && r.code == 354)
		smtp->usable = FALSE;
out:
	reply_clear (&r);
	reply_clear (&mail_reply);
	reply_clear (&refusals.perm);
	reply_clear (&refusals.temp);
	if (!ok && smtp->need_rset)
		rset (smtp);
	return ok;
}

gboolean
mp_smtp_is_usable (MpSmtp *smtp)
{
	return smtp->usable;
}

void
mp_smtp_quit (MpSmtp *smtp)
{
	Reply r = { 0 };

	settle (smtp);
	if (smtp->usable && command (smtp, "QUIT", NULL, &r, NULL))
		reply_clear (&r);
	close_streams (smtp);
}

gboolean
mp_smtp_dry_run (MpEnvelope *env, MpEnvelopeWriteFunc write, gpointer user_data,
		 GError **error)
{
	g_autofree char *mail =
		g_strdup_printf ("MAIL FROM:<%s>\r\n", env->sender);

	if (!write (mail, strlen (mail), user_data, error))
		return FALSE;
	for (guint i = 0; i < env->recipients->len; i++) {
		g_autofree char *rcpt = g_strdup_printf (
			"RCPT TO:<%s>\r\n",
			(char *) g_ptr_array_index (env->recipients, i));

		if (!write (rcpt, strlen (rcpt), user_data, error))
			return FALSE;
	}
	if (!write ("DATA\r\n", 6, user_data, error))
		return FALSE;
	return mp_envelope_write_data (env, write, user_data, error);
}
