/* mp-smtp: the SMTP client's session: connecting, EHLO, STARTTLS and
 * QUIT, the server's address and the settings checked; the mail
 * transaction (MAIL, RCPT, DATA or BDAT, with PIPELINING across messages)
 * is in mp-smtp-send.c, replies, TLS and AUTH in mp-smtp-reply.c,
 * mp-smtp-tls.c and mp-smtp-auth.c. */
#include "mp-smtp-private.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

void
mp_smtp_recipient_free (gpointer p)
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
	smtp->results = g_ptr_array_new_with_free_func (mp_smtp_recipient_free);
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

/* --- the session's end --------------------------------------------- */

gboolean
mp_smtp_is_usable (MpSmtp *smtp)
{
	return smtp->usable;
}

void
mp_smtp_quit (MpSmtp *smtp)
{
	Reply r = { 0 };

	mp_smtp_settle (smtp);
	if (smtp->usable && mp_smtp_command (smtp, "QUIT", NULL, &r, NULL))
		mp_smtp_reply_clear (&r);
	close_streams (smtp);
}

/* --- the server and the settings, checked ------------------------- */

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

	*host = NULL; /* an output: what it held is not ours to free */
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
