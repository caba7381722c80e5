/* mp-smtp: the SMTP client's session: connecting, EHLO, the mail
 * transaction (MAIL, RCPT, DATA or BDAT, with PIPELINING across messages)
 * and QUIT; replies, TLS and AUTH are in mp-smtp-reply.c, mp-smtp-tls.c
 * and mp-smtp-auth.c. */
#include "mp-smtp-private.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

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
	mp_smtp_reply_clear (&smtp->prev_reply);
	g_clear_error (&smtp->prev_error);
	g_free (smtp->final_reply);
	g_free (smtp);
}

GPtrArray *
mp_smtp_get_recipients (MpSmtp *smtp)
{
	return smtp->results;
}

void
mp_smtp_use_stream (MpSmtp *smtp, GIOStream *io)
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

gboolean
mp_smtp_has_cap (MpSmtp *smtp, const char *cap)
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
	if (!mp_smtp_command (smtp, line, NULL, &r, error))
		goto out;
	if (r.code == 250) {
		smtp->esmtp = TRUE;
		parse_caps (smtp, &r);
		ok = TRUE;
		goto out;
	}
	if (r.code >= 500 && r.code != 421 && !tls_required) {
		g_autofree char *helo = g_strdup_printf ("HELO %s", name);

		if (!mp_smtp_command (smtp, helo, NULL, &r, error))
			goto out;
		if (r.code == 250) {
			ok = TRUE;
			goto out;
		}
	}
	if (r.code >= 500 && tls_required)
		mp_smtp_reply_error (smtp, error, &r, STAGE_EHLO,
				     "EHLO refused, so no STARTTLS");
	else
		mp_smtp_reply_error (smtp, error, &r, STAGE_EHLO, NULL);
out:
	mp_smtp_reply_clear (&r);
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

/* An address needs no lookup: one socket, connected under the socket
 * timeout, which then bounds each read and write as GSocketClient's does
 * (no resolver, no main loop, and no GTask, whose first use starts
 * GLib's worker thread: issue 21). */
static GSocketConnection *
connect_address (MpSmtp *smtp, GError **error)
{
	g_autoptr (GSocketAddress) addr =
		g_inet_socket_address_new_from_string (smtp->cfg->host,
						       smtp->cfg->port);
	g_autoptr (GSocket) sock = NULL;

	if (addr == NULL) {
		g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			     "%s: not an address", smtp->cfg->host);
		return NULL;
	}
	sock = g_socket_new (g_socket_address_get_family (addr),
			     G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
			     error);
	if (sock == NULL)
		return NULL;
	g_socket_set_timeout (sock, mp_smtp_timeout (smtp));
	if (!g_socket_connect (sock, addr, NULL, error))
		return NULL;
	return g_socket_connection_factory_create_connection (sock);
}

/* The socket timeout covers connect() but not the name lookup; run both
 * under one deadline.  An address needs no lookup (connect_address()). */
static GSocketConnection *
connect_with_timeout (MpSmtp *smtp, GError **error)
{
	g_autoptr (GMainContext) ctx = NULL;
	g_autoptr (GCancellable) cancel = NULL;
	Connecting c = { NULL, NULL, FALSE, FALSE, NULL };
	GSource *timer;

	if (g_hostname_is_ip_address (smtp->cfg->host)) {
		c.conn = connect_address (smtp, &c.error);
		c.timed_out = g_error_matches (c.error, G_IO_ERROR,
					       G_IO_ERROR_TIMED_OUT);
		goto out;
	}
	smtp->client = g_socket_client_new ();
	/* a submission goes straight to the server named: GIO's proxy
	 * resolver (http_proxy, GSettings) costs ~12 ms a message and would
	 * send mail through a web proxy nobody asked for */
	g_socket_client_set_enable_proxy (smtp->client, FALSE);
	g_socket_client_set_timeout (smtp->client, mp_smtp_timeout (smtp));
	ctx = g_main_context_new ();
	c.cancel = cancel = g_cancellable_new ();
	timer = g_timeout_source_new_seconds (mp_smtp_timeout (smtp));
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
out:
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

/* --- connecting ---------------------------------------------------- */

/* Checks that GIO can do the TLS the configuration asks for, holding the
 * TLS backend loaded when TLS is wanted; FALSE with @error when GIO has
 * no TLS backend */
static gboolean
connect_tls_available (const MpSmtpConfig *cfg, GError **error)
{
	if (cfg->tls != MP_SMTP_TLS_OFF)
		mp_smtp_tls_hold_backend ();
	if (cfg->tls != MP_SMTP_TLS_OFF &&
	    !g_tls_backend_supports_tls (g_tls_backend_get_default ())) {
		g_set_error (error, MP_ERROR, MP_ERROR_UNAVAILABLE,
			     "TLS is not available: GIO has no TLS backend "
			     "(install glib-networking)");
		return FALSE;
	}
	return TRUE;
}

/* Opens the TCP connection to the server and marks the session usable;
 * FALSE with @error when the connection could not be made */
static gboolean
connect_socket (MpSmtp *smtp, GError **error)
{
	GError *err = NULL;

	smtp->conn = connect_with_timeout (smtp, &err);
	if (smtp->conn == NULL) {
		mp_smtp_net_error (smtp, error, err, NULL);
		return FALSE;
	}
	smtp->usable = TRUE;
	/* every write is a whole command group or the data: no Nagle delay */
	g_socket_set_option (g_socket_connection_get_socket (smtp->conn),
			     IPPROTO_TCP, TCP_NODELAY, 1, NULL);
	mp_smtp_transcript (smtp, MP_SMTP_LINE_INFO, "connected to %s port %u",
			    smtp->cfg->host, smtp->cfg->port);
	return TRUE;
}

/* Reads the server's 220 greeting: after the TLS handshake on a port of
 * implicit TLS (saying so when the port greets in clear instead), else
 * in clear; FALSE with @error when it does not come or is not 220 */
static gboolean
connect_greeting (MpSmtp *smtp, GError **error)
{
	const MpSmtpConfig *cfg = smtp->cfg;
	Reply r = { 0 };
	gboolean ok;

	if (cfg->tls == MP_SMTP_TLS_IMPLICIT) {
		if (!mp_smtp_start_tls (smtp, error)) {
			if (smtp->handshake_failed &&
			    mp_smtp_port_greets_in_clear (smtp)) {
				g_clear_error (error);
				g_set_error (error, MP_ERROR, MP_ERROR_PROTOCOL,
					     "%s: TLS handshake failed: this "
					     "port greets in clear: use "
					     "smtp://%s:%u (STARTTLS)",
					     cfg->host, cfg->host, cfg->port);
			}
			return FALSE;
		}
	} else {
		mp_smtp_use_stream (smtp, G_IO_STREAM (smtp->conn));
		if (!mp_smtp_wait_greeting (smtp, error))
			return FALSE;
	}
	ok = mp_smtp_read_reply (smtp, &r, error);
	if (ok && r.code != 220) {
		mp_smtp_reply_error (smtp, error, &r, STAGE_GREETING, NULL);
		ok = FALSE;
	}
	mp_smtp_reply_clear (&r);
	return ok;
}

/* RFC 3207: STARTTLS, the handshake, and EHLO again; FALSE with @error
 * when the server does not offer or refuses STARTTLS, sent anything
 * after its 220 before TLS, or the handshake or EHLO fails */
static gboolean
connect_starttls (MpSmtp *smtp, GError **error)
{
	Reply r = { 0 };
	gsize left;
	gboolean ok;

	if (!mp_smtp_has_cap (smtp, "STARTTLS")) {
		g_set_error (error, MP_ERROR, MP_ERROR_UNAVAILABLE,
			     "%s: the server does not offer STARTTLS; "
			     "not continuing without TLS",
			     smtp->cfg->host);
		return FALSE;
	}
	ok = mp_smtp_command (smtp, "STARTTLS", NULL, &r, error);
	if (ok && r.code != 220) {
		mp_smtp_reply_error (smtp, error, &r, STAGE_STARTTLS,
				     "STARTTLS refused");
		ok = FALSE;
	}
	mp_smtp_reply_clear (&r);
	if (!ok)
		return FALSE;
	/* RFC 3207 5, CVE-2021-22947 and kin: whatever arrived with the
	 * 220 was sent before TLS and may be injected. */
	left = g_buffered_input_stream_get_available (smtp->in);
	if (left > 0) {
		mp_smtp_fail (smtp, error, MP_ERROR_PROTOCOL,
			      "%" G_GSIZE_FORMAT " bytes arrived "
			      "after the STARTTLS reply, before TLS "
			      "(response injection)",
			      left);
		return FALSE;
	}
	/* RFC 3207 4.2: forget everything learnt before TLS */
	return mp_smtp_start_tls (smtp, error) && ehlo (smtp, FALSE, error);
}

/* After a failed connect, a polite QUIT when the session still stands;
 * the error stays the one that stopped us */
static void
connect_give_up (MpSmtp *smtp)
{
	Reply r = { 0 };

	if (!smtp->usable)
		return;
	mp_smtp_command (smtp, "QUIT", NULL, &r, NULL);
	mp_smtp_reply_clear (&r);
	smtp->usable = FALSE;
}

gboolean
mp_smtp_connect (MpSmtp *smtp, GError **error)
{
	const MpSmtpConfig *cfg = smtp->cfg;

	if (!connect_tls_available (cfg, error) ||
	    !connect_socket (smtp, error))
		return FALSE;
	if (connect_greeting (smtp, error) &&
	    ehlo (smtp, cfg->tls == MP_SMTP_TLS_STARTTLS, error) &&
	    (cfg->tls != MP_SMTP_TLS_STARTTLS ||
	     connect_starttls (smtp, error)) &&
	    mp_smtp_authenticate (smtp, error))
		return TRUE;
	connect_give_up (smtp);
	return FALSE;
}

/* Skips the scheme of the --server URL SPEC, setting *SMTPS for smtps://;
 * returns where the host begins, or NULL with @error for another scheme
 * or a user or password in the URL */
static const char *
server_skip_scheme (const char *spec, gboolean *smtps, GError **error)
{
	const char *p = spec;

	if (g_ascii_strncasecmp (p, "smtps://", 8) == 0) {
		*smtps = TRUE;
		p += 8;
	} else if (g_ascii_strncasecmp (p, "smtp://", 7) == 0) {
		p += 7;
	} else if (strstr (p, "://") != NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--server %s: the scheme must be smtp:// or "
			     "smtps://",
			     spec);
		return NULL;
	}
	/* user:password@ in the URL: refuse it without repeating it, so a
	 * password never reaches a log through our message */
	if (memchr (p, '@', strcspn (p, "/")) != NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--server: a user or password does not belong in "
			     "the server URL; use --user with "
			     "--password-command, ~/.netrc or "
			     "MIMEPIPE_PASSWORD");
		return NULL;
	}
	return p;
}

/* Reads "HOST[:PORT][/]" or "[HOST][:PORT][/]" at P into *HOST (newly
 * allocated, also when FALSE is returned after it was read) and
 * *PORT_STR (left alone without a port); returns FALSE when the form is
 * wrong or the host empty or with a character no host name has */
static gboolean
server_split_host (const char *p, char **host, const char **port_str)
{
	const char *host_end;

	if (*p == '[') {
		host_end = strchr (p, ']');
		if (host_end == NULL)
			return FALSE;
		*host = g_strndup (p + 1, host_end - p - 1);
		host_end++;
	} else {
		host_end = p + strcspn (p, ":/");
		*host = g_strndup (p, host_end - p);
	}
	if (*host_end == ':')
		*port_str = host_end + 1;
	else if (*host_end == '/' && host_end[1] == '\0')
		;
	else if (*host_end != '\0')
		return FALSE;
	if (**host == '\0')
		return FALSE;
	for (const char *c = *host; *c != '\0'; c++)
		if (!g_ascii_isalnum (*c) && *c != '.' && *c != '-' &&
		    *c != ':' && *c != '_')
			return FALSE;
	return TRUE;
}

/* Returns the port PORT_STR names ("587", or "587/" at the end of a
 * URL), or 0 when it is not a number from 1 to 65535 */
static guint64
server_port (const char *port_str)
{
	char *end = NULL;
	guint64 n = g_ascii_strtoull (port_str, &end, 10);

	if (end == port_str ||
	    (*end != '\0' && !(end[0] == '/' && end[1] == '\0')) || n == 0 ||
	    n > 65535)
		return 0;
	return n;
}

gboolean
mp_smtp_parse_server (const char *spec, MpSmtpTls tls, char **host,
		      guint16 *port, MpSmtpTls *tls_out, GError **error)
{
	gboolean smtps = FALSE;
	const char *p = server_skip_scheme (spec, &smtps, error);
	const char *port_str = NULL;
	guint64 n = 0;

	if (p == NULL)
		return FALSE;
	if (!server_split_host (p, host, &port_str) ||
	    (port_str != NULL && (n = server_port (port_str)) == 0)) {
		g_clear_pointer (host, g_free);
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--server %s: want [smtp://|smtps://]HOST[:PORT]",
			     spec);
		return FALSE;
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
		mp_smtp_net_error (smtp, error, err, "sending the message");
		return FALSE;
	}
	g_byte_array_set_size (smtp->wbuf, 0);
	return TRUE;
}

static gboolean
write_data (const char *data, gsize len, gpointer user_data, GError **error)
{
	MpSmtp *smtp = user_data;

	g_byte_array_append (smtp->wbuf, (const guint8 *) data, (guint) len);
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
	mp_smtp_reply_clear (&smtp->prev_reply);
	g_clear_error (&smtp->prev_error);
	smtp->pending = FALSE;
	smtp->prev_ready = TRUE;
	if (!smtp->usable)
		g_set_error (&smtp->prev_error, MP_ERROR, MP_ERROR_TEMPFAIL,
			     "%s: not connected", smtp->cfg->host);
	else if (mp_smtp_flush (smtp, &smtp->prev_error))
		mp_smtp_read_reply (smtp, &smtp->prev_reply, &smtp->prev_error);
}

static gboolean
end_reply (MpSmtp *smtp, const Reply *r, GError **error)
{
	g_free (smtp->final_reply);
	smtp->final_reply = r->lines != NULL ? mp_smtp_reply_text (r) : NULL;
	if (r->code == 250)
		return TRUE;
	mp_smtp_reply_error (smtp, error, r, STAGE_END,
			     "message refused after DATA");
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
	mp_smtp_reply_clear (&smtp->prev_reply);
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
	if (smtp->usable && mp_smtp_command (smtp, "RSET", NULL, &r, NULL) &&
	    r.code == 250)
		smtp->need_rset = FALSE;
	else
		smtp->usable = FALSE;
	mp_smtp_reply_clear (&r);
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
	res->reply = mp_smtp_reply_text (r);
	res->accepted = r->code == 250 || r->code == 251;
	if (r->code == 421) {
		mp_smtp_reply_error (smtp, error, r, STAGE_RCPT, NULL);
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
	g_autofree char *text = mp_smtp_reply_text (r);

	if (total == 1)
		g_set_error (error, MP_ERROR,
			     mp_smtp_reply_class (r, STAGE_RCPT),
			     "%s: the recipient was refused: %s",
			     smtp->cfg->host, text);
	else if (ref->n == total)
		g_set_error (error, MP_ERROR,
			     mp_smtp_reply_class (r, STAGE_RCPT),
			     "%s: all %u recipients refused (first: %s)",
			     smtp->cfg->host, total, text);
	else
		g_set_error (error, MP_ERROR,
			     mp_smtp_reply_class (r, STAGE_RCPT),
			     "%s: %u of %u recipients refused; nothing sent "
			     "(--allow-partial sends to the others)",
			     smtp->cfg->host, ref->n, total);
}

/* The message's octets went into the buffer (DATA or BDAT): out with
 * them, and the reply that ends the transaction. */
static gboolean
finish_data (MpSmtp *smtp, Reply *r, GError **error)
{
	if (!write_out (smtp, error) ||
	    !g_output_stream_flush (smtp->out, NULL, NULL) ||
	    !mp_smtp_read_reply (smtp, r, error)) {
		if (error != NULL && *error == NULL)
			g_set_error (error, MP_ERROR, MP_ERROR_TEMPFAIL,
				     "%s: sending the message failed",
				     smtp->cfg->host);
		return FALSE;
	}
	smtp->need_rset = FALSE;
	return end_reply (smtp, r, error);
}

/* RFC 3030: the whole message as one chunk, "BDAT n LAST", its octets
 * counted beforehand (env->bdat_size); the reply ends the transaction. */
static gboolean
send_bdat (MpSmtp *smtp, MpEnvelope *env, Reply *r, GError **error)
{
	g_autofree char *line = g_strdup_printf (
		"BDAT %" G_GUINT64_FORMAT " LAST", env->bdat_size);

	mp_smtp_queue (smtp, line, NULL);
	mp_smtp_transcript (smtp, MP_SMTP_LINE_CLIENT,
			    "[%" G_GUINT64_FORMAT " octets of message data]",
			    env->bdat_size);
	if (!mp_envelope_write_bdat (env, write_data, smtp, error)) {
		g_byte_array_set_size (smtp->wbuf, 0);
		smtp->usable = FALSE;
		return FALSE;
	}
	return finish_data (smtp, r, error);
}

gboolean
mp_smtp_send (MpSmtp *smtp, MpEnvelope *env, const MpSmtpDsn *dsn,
	      gboolean allow_partial, GError **error)
{
	return mp_smtp_send_pipelined (smtp, env, dsn, allow_partial, NULL,
				       error);
}

/* The mail transaction (RFC 5321 3.3, RFC 2920, RFC 3030) as a state
 * machine: each state does its part and names the next. */
typedef enum {
	TX_MAIL,      /* MAIL, and its reply without PIPELINING */
	TX_RCPT,      /* each RCPT (and its reply without PIPELINING) */
	TX_GROUP,     /* PIPELINING: the group goes out, behind the end of
			 data of the message before; then the replies */
	TX_DECIDE,    /* refused recipients: stop, or go on without them */
	TX_DATA,      /* DATA and its 354 */
	TX_BODY,      /* the data and its end (or the end left in flight) */
	TX_BDAT,      /* BDAT n LAST with the data, and its reply */
	TX_DATA_OPEN, /* stopped where a 354 may have opened DATA */
	TX_DONE,
	TX_FAILED,
} TxState;

typedef struct {
	MpEnvelope *env;
	const MpSmtpDsn *dsn; /* NULL when none is wanted */
	const char *mail;
	gboolean allow_partial;
	gboolean *deferred;
	gboolean pipelining;
	gboolean bdat;
	gboolean had_pending; /* a message's end of data was in flight */
	gboolean with_data;   /* DATA in the same group as MAIL and RCPT */
	Reply mail_reply;
	Reply r;
	Refusals refusals;
} Tx;

/* The reply to MAIL: TRUE when it is 250, else @error says why. */
static gboolean
mail_accepted (MpSmtp *smtp, Tx *tx, GError **error)
{
	if (tx->mail_reply.code == 250)
		return TRUE;
	mp_smtp_reply_error (smtp, error, &tx->mail_reply, STAGE_MAIL, NULL);
	return FALSE;
}

static TxState
tx_mail (MpSmtp *smtp, Tx *tx, GError **error)
{
	if (!tx->pipelining)
		settle (smtp); /* nothing waits without PIPELINING */
	smtp->need_rset = TRUE;
	mp_smtp_queue (smtp, tx->mail, NULL);
	if (tx->pipelining)
		return TX_RCPT;
	if (!mp_smtp_flush (smtp, error) ||
	    !mp_smtp_read_reply (smtp, &tx->mail_reply, error) ||
	    !mail_accepted (smtp, tx, error))
		return TX_FAILED;
	return TX_RCPT;
}

static TxState
tx_rcpt (MpSmtp *smtp, Tx *tx, GError **error)
{
	/* RFC 2920: MAIL and every RCPT in one write (behind the end of
	 * data of the message before), then the replies in order. */
	for (guint i = 0; i < smtp->results->len; i++) {
		MpSmtpRecipient *res = g_ptr_array_index (smtp->results, i);
		g_autofree char *line = rcpt_line (res->recipient, tx->dsn);

		mp_smtp_queue (smtp, line, NULL);
		if (tx->pipelining)
			continue;
		if (!mp_smtp_flush (smtp, error) ||
		    !mp_smtp_read_reply (smtp, &tx->r, error) ||
		    !rcpt_reply (smtp, res, &tx->r, &tx->refusals, error))
			return TX_FAILED;
	}
	/* RFC 2920 3.1: DATA may end the group, but only where no refusal
	 * can leave a DATA open that we do not want: with one recipient (a
	 * refusal leaves none, and the server must then refuse DATA with
	 * 503 or 554) or when a partial delivery is wanted anyway. */
	tx->with_data = tx->pipelining && tx->deferred != NULL && !tx->bdat &&
			(tx->allow_partial || smtp->results->len == 1);
	if (tx->with_data)
		mp_smtp_queue (smtp, "DATA", NULL);
	return tx->pipelining ? TX_GROUP : TX_DECIDE;
}

static TxState
tx_group (MpSmtp *smtp, Tx *tx, GError **error)
{
	GError *err = NULL;
	gboolean sent = mp_smtp_flush (smtp, &err);

	if (tx->had_pending) {
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
			/* the previous message ended the session (421,
			 * closed, timed out): nothing of this one was taken */
			smtp->lost = TRUE;
			if (sent)
				g_set_error (&err, MP_ERROR, MP_ERROR_TEMPFAIL,
					     "%s: connection lost with the "
					     "message before",
					     smtp->cfg->host);
			g_propagate_error (error, err);
			return TX_FAILED;
		}
	}
	if (!sent) {
		g_propagate_error (error, err);
		return TX_FAILED;
	}
	if (!mp_smtp_read_reply (smtp, &tx->mail_reply, error))
		return TX_FAILED;
	if (tx->mail_reply.code == 421) {
		mp_smtp_reply_error (smtp, error, &tx->mail_reply, STAGE_MAIL,
				     NULL);
		return TX_FAILED;
	}
	for (guint i = 0; i < smtp->results->len; i++) {
		MpSmtpRecipient *res = g_ptr_array_index (smtp->results, i);

		if (!mp_smtp_read_reply (smtp, &tx->r, error) ||
		    !rcpt_reply (smtp, res, &tx->r, &tx->refusals, error))
			return TX_FAILED;
	}
	if (tx->with_data && !mp_smtp_read_reply (smtp, &tx->r, error))
		return TX_FAILED;
	if (!mail_accepted (smtp, tx, error))
		return TX_DATA_OPEN;
	return TX_DECIDE;
}

static TxState
tx_decide (MpSmtp *smtp, Tx *tx, GError **error)
{
	const Refusals *ref = &tx->refusals;

	if (ref->n > 0 &&
	    (ref->n == smtp->results->len || !tx->allow_partial)) {
		recipients_error (smtp, error, ref, smtp->results->len);
		return TX_DATA_OPEN;
	}
	return tx->bdat ? TX_BDAT : TX_DATA;
}

static TxState
tx_data (MpSmtp *smtp, Tx *tx, GError **error)
{
	if (!tx->with_data &&
	    !mp_smtp_command (smtp, "DATA", NULL, &tx->r, error))
		return TX_FAILED;
	if (tx->r.code != 354) {
		mp_smtp_reply_error (smtp, error, &tx->r, STAGE_DATA, NULL);
		return TX_FAILED;
	}
	return TX_BODY;
}

static TxState
tx_body (MpSmtp *smtp, Tx *tx, GError **error)
{
	mp_smtp_transcript (smtp, MP_SMTP_LINE_CLIENT,
			    "[%" G_GUINT64_FORMAT " octets of message data]",
			    tx->env->size);
	if (!mp_envelope_write_data (tx->env, write_data, smtp, error)) {
		g_byte_array_set_size (smtp->wbuf, 0);
		smtp->usable = FALSE;
		return TX_FAILED;
	}
	if (tx->pipelining && tx->deferred != NULL) {
		/* the end of data waits in the buffer for the next message's
		 * commands; mp_smtp_finish() reads its reply */
		smtp->pending = TRUE;
		smtp->need_rset = FALSE;
		*tx->deferred = TRUE;
		return TX_DONE;
	}
	return finish_data (smtp, &tx->r, error) ? TX_DONE : TX_FAILED;
}

static TxState
tx_bdat (MpSmtp *smtp, Tx *tx, GError **error)
{
	return send_bdat (smtp, tx->env, &tx->r, error) ? TX_DONE : TX_FAILED;
}

static TxState
tx_data_open (MpSmtp *smtp, Tx *tx, GError **error)
{
	/* a server that opened DATA all the same (RFC 2920 says it must
	 * not): the only way out without sending anything is to drop the
	 * connection */
	if (tx->with_data && tx->r.code == 354)
		smtp->usable = FALSE;
	return TX_FAILED;
}

/* What each state does; TX_DONE and TX_FAILED end the transaction. */
typedef TxState (*TxStep) (MpSmtp *smtp, Tx *tx, GError **error);
static const TxStep tx_steps[] = {
	[TX_MAIL] = tx_mail,   [TX_RCPT] = tx_rcpt,
	[TX_GROUP] = tx_group, [TX_DECIDE] = tx_decide,
	[TX_DATA] = tx_data,   [TX_BODY] = tx_body,
	[TX_BDAT] = tx_bdat,   [TX_DATA_OPEN] = tx_data_open,
};

/* Starts the send of a message afresh: nothing deferred or lost yet, no
 * final reply, and a new array of results (a caller may keep (ref) the
 * previous one) */
static void
send_reset (MpSmtp *smtp, gboolean *deferred)
{
	if (deferred != NULL)
		*deferred = FALSE;
	smtp->lost = FALSE;
	g_clear_pointer (&smtp->final_reply, g_free);
	g_ptr_array_unref (smtp->results);
	smtp->results = g_ptr_array_new_with_free_func (recipient_free);
}

/* RFC 1870: FALSE with @error when the server's SIZE limit is smaller
 * than the message (SIZE 0 means no fixed limit) */
static gboolean
send_check_size (MpSmtp *smtp, MpEnvelope *env, gboolean bdat, GError **error)
{
	guint64 limit = g_ascii_strtoull (
		g_hash_table_lookup (smtp->caps, "SIZE"), NULL, 10);

	if (limit > 0 && (bdat ? env->bdat_size : env->size) > limit) {
		g_set_error (
			error, MP_ERROR, MP_ERROR_DATA,
			"%s: the message is %" G_GUINT64_FORMAT
			" octets; the server takes at most %" G_GUINT64_FORMAT,
			smtp->cfg->host, bdat ? env->bdat_size : env->size,
			limit);
		return FALSE;
	}
	return TRUE;
}

/* Checks before MAIL that the session can take ENV as it is: connected,
 * and the server offering what the message needs (SMTPUTF8, BINARYMIME
 * with CHUNKING, 8BITMIME, room for its SIZE, DSN); FALSE with @error
 * naming the first thing missing */
static gboolean
send_check (MpSmtp *smtp, MpEnvelope *env, const MpSmtpDsn *dsn, GError **error)
{
	const char *host = smtp->cfg->host;
	gboolean bdat = env->binary_part != NULL;

	if (!smtp->usable) {
		g_set_error (error, MP_ERROR, MP_ERROR_TEMPFAIL,
			     "%s: not connected", host);
		return FALSE;
	}
	if (env->smtputf8 && !mp_smtp_has_cap (smtp, "SMTPUTF8")) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: the message has UTF-8 addresses or header "
			     "fields and the server does not offer SMTPUTF8",
			     host);
		return FALSE;
	}
	/* RFC 3030 3: binary content goes with BDAT and BINARYMIME, or not
	 * at all: refused before MAIL, never a 500 in the middle of DATA */
	if (bdat && (!mp_smtp_has_cap (smtp, "CHUNKING") ||
		     !mp_smtp_has_cap (smtp, "BINARYMIME"))) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: %s has Content-Transfer-Encoding binary and "
			     "the server does not offer BINARYMIME with "
			     "CHUNKING (RFC 3030); encode it as base64",
			     host, env->binary_part);
		return FALSE;
	}
	if (env->eight_bit && !bdat && !mp_smtp_has_cap (smtp, "8BITMIME") &&
	    !(env->smtputf8 && mp_smtp_has_cap (smtp, "SMTPUTF8"))) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: the message has 8-bit data and the server "
			     "does not offer 8BITMIME (encode it as 7-bit: "
			     "quoted-printable or base64)",
			     host);
		return FALSE;
	}
	if (mp_smtp_has_cap (smtp, "SIZE") &&
	    !send_check_size (smtp, env, bdat, error))
		return FALSE;
	if (dsn_wanted (dsn) && !mp_smtp_has_cap (smtp, "DSN")) {
		g_set_error (error, MP_ERROR, MP_ERROR_UNAVAILABLE,
			     "%s: the server does not offer DSN "
			     "(--dsn-notify, --dsn-return, --envid)",
			     host);
		return FALSE;
	}
	return TRUE;
}

/* Resets a transaction an earlier send left half-way; FALSE with @error
 * when the RSET failed */
static gboolean
send_rset_if_needed (MpSmtp *smtp, GError **error)
{
	if (!smtp->need_rset)
		return TRUE;
	rset (smtp);
	if (!smtp->usable) {
		g_set_error (error, MP_ERROR, MP_ERROR_TEMPFAIL,
			     "%s: RSET failed", smtp->cfg->host);
		return FALSE;
	}
	return TRUE;
}

/* One result per recipient of ENV, in order, for the RCPT replies */
static void
send_add_recipients (MpSmtp *smtp, MpEnvelope *env)
{
	for (guint i = 0; i < env->recipients->len; i++) {
		MpSmtpRecipient *res = g_new0 (MpSmtpRecipient, 1);

		res->recipient =
			g_strdup (g_ptr_array_index (env->recipients, i));
		g_ptr_array_add (smtp->results, res);
	}
}

/* Runs TX's states from MAIL until TX_DONE or TX_FAILED, frees its
 * replies, and resets a transaction that failed half-way; returns TRUE
 * when it is done */
static gboolean
tx_run (MpSmtp *smtp, Tx *tx, GError **error)
{
	TxState state = TX_MAIL;

	while (state != TX_DONE && state != TX_FAILED)
		state = tx_steps[state](smtp, tx, error);
	mp_smtp_reply_clear (&tx->r);
	mp_smtp_reply_clear (&tx->mail_reply);
	mp_smtp_reply_clear (&tx->refusals.perm);
	mp_smtp_reply_clear (&tx->refusals.temp);
	if (state != TX_DONE && smtp->need_rset)
		rset (smtp);
	return state == TX_DONE;
}

gboolean
mp_smtp_send_pipelined (MpSmtp *smtp, MpEnvelope *env, const MpSmtpDsn *dsn,
			gboolean allow_partial, gboolean *deferred,
			GError **error)
{
	gboolean bdat = env->binary_part != NULL;
	g_autofree char *mail = NULL;
	Tx tx = {
		.env = env,
		.dsn = dsn_wanted (dsn) ? dsn : NULL,
		.allow_partial = allow_partial,
		.deferred = deferred,
		.pipelining = mp_smtp_has_cap (smtp, "PIPELINING"),
		.bdat = bdat,
		.had_pending = smtp->pending,
	};

	send_reset (smtp, deferred);
	if (!send_check (smtp, env, dsn, error) ||
	    !send_rset_if_needed (smtp, error))
		return FALSE;
	send_add_recipients (smtp, env);
	mail = mail_line (
		env, mp_smtp_has_cap (smtp, "SIZE"),
		env->eight_bit && !bdat && mp_smtp_has_cap (smtp, "8BITMIME"),
		bdat, env->smtputf8 && mp_smtp_has_cap (smtp, "SMTPUTF8"),
		tx.dsn);
	tx.mail = mail;
	return tx_run (smtp, &tx, error);
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
	if (smtp->usable && mp_smtp_command (smtp, "QUIT", NULL, &r, NULL))
		mp_smtp_reply_clear (&r);
	close_streams (smtp);
}

gboolean
mp_smtp_dry_run (MpEnvelope *env, MpWriteFunc write, gpointer user_data,
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
