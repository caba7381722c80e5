/* mp-smtp-tls: TLS for the SMTP client: the handshake, certificate
 * checks and pins (RFC 7817, 7469), and the wrong kind of port. */
#include "mp-smtp-private.h"

#include <gmodule.h>
#include <string.h>

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

/* A certificate file of the configuration could not be used: @err
 * (taken) as a configuration error naming @file.  Returns FALSE. */
static gboolean
unreadable (GError **error, const char *file, GError *err)
{
	g_set_error (error, MP_ERROR, MP_ERROR_CONFIG, "%s: %s", file,
		     err->message);
	g_error_free (err);
	return FALSE;
}

/* GIO finds its TLS backend by loading glib-networking's module, unloads
 * it, and loads it again to make the backend (gioextension.c's lazy
 * loading of modules): GnuTLS and its five libraries were unloaded with
 * it, then mapped, relocated and initialised a second time -- 2 ms and 70
 * page faults of a TLS submission (issue 21).  Opened here first, with
 * GIO's flags, the module stays loaded in between: GIO's second load
 * finds it (GModule counts the opens) and runs its load function again,
 * as before.  Called once a connection wants TLS, before GIO's first
 * look. */
void
mp_smtp_tls_hold_backend (void)
{
	static const char *const names[] = { "libgiognutls.so",
					     "libgioopenssl.so" };
	static gsize done;
	const char *dir;

	if (!g_once_init_enter (&done))
		return;
	dir = g_getenv ("GIO_MODULE_DIR");
	if (dir == NULL || *dir == '\0')
		dir = MP_GIO_MODULE_DIR;
	for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
		g_autofree char *path = g_build_filename (dir, names[i], NULL);

		/* kept open until exit */
		if (g_file_test (path, G_FILE_TEST_EXISTS) &&
		    g_module_open (path, G_MODULE_BIND_LAZY |
						 G_MODULE_BIND_LOCAL) != NULL)
			break;
	}
	g_once_init_leave (&done, 1);
}

/* A TLS client connection over @base to @identity.  @own_trust: its
 * trust anchors are @db (NULL: none) instead of the system's.  They are
 * given when the connection is made: glib-networking reads the default
 * database as it makes one, and reads the system's store twice doing so
 * (the system database, then the connection's credentials from it) --
 * most of the CPU of a TLS submission with --ca-file, issue 21. */
static GIOStream *
tls_client_new (GIOStream *base, GSocketConnectable *identity,
		gboolean own_trust, GTlsDatabase *db, GError **error)
{
	if (!own_trust)
		return g_tls_client_connection_new (base, identity, error);
	return g_initable_new (g_tls_backend_get_client_connection_type (
				       g_tls_backend_get_default ()),
			       NULL, error, "base-io-stream", base,
			       "server-identity", identity, "database", db,
			       NULL);
}

/* Makes smtp->tls, the TLS client connection over smtp->conn: trusting
 * --ca-file's CAs instead of the system's, or no CA with a pin alone,
 * and showing the client certificate when one is configured; FALSE with
 * @error when a file cannot be used or GIO cannot do TLS */
static gboolean
tls_connection_new (MpSmtp *smtp, GError **error)
{
	const MpSmtpConfig *cfg = smtp->cfg;
	g_autoptr (GSocketConnectable) identity = NULL;
	g_autoptr (GTlsDatabase) db = NULL;
	GError *err = NULL;
	GIOStream *tls;

	if (cfg->ca_file != NULL) {
		/* GTlsFileDatabase wants an absolute path */
		g_autofree char *ca_file =
			g_canonicalize_filename (cfg->ca_file, NULL);

		db = g_tls_file_database_new (ca_file, &err);
		if (db == NULL)
			return unreadable (error, cfg->ca_file, err);
	}
	identity = g_network_address_new (cfg->host, cfg->port);
	/* --ca-file trusts its CAs instead of the system's; a pin alone
	 * trusts no CA: every certificate comes to accept_certificate(),
	 * where the pin decides (as it did when the system's CAs were
	 * loaded: a CA-signed key that does not match the pin is refused
	 * after the handshake) */
	tls = tls_client_new (G_IO_STREAM (smtp->conn), identity,
			      db != NULL || (cfg->pins && cfg->pins[0]), db,
			      &err);
	if (tls == NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_UNAVAILABLE,
			     "TLS is not available: %s", err->message);
		g_error_free (err);
		return FALSE;
	}
	smtp->tls = G_TLS_CONNECTION (tls);
	if (cfg->client_cert != NULL) {
		g_autoptr (GTlsCertificate) cert =
			g_tls_certificate_new_from_files (
				cfg->client_cert,
				cfg->client_key ? cfg->client_key :
						  cfg->client_cert,
				&err);

		if (cert == NULL)
			return unreadable (error, cfg->client_cert, err);
		g_tls_connection_set_certificate (smtp->tls, cert);
	}
	return TRUE;
}

/* The TLS handshake of smtp->tls, the server's certificate judged by
 * accept_certificate(); FALSE with @error saying whether the pin, the
 * certificate or the handshake itself failed (smtp->handshake_failed) */
static gboolean
tls_handshake (MpSmtp *smtp, GError **error)
{
	GError *err = NULL;

	g_signal_connect (smtp->tls, "accept-certificate",
			  G_CALLBACK (accept_certificate), smtp);
	smtp->cert_errors = 0;
	smtp->pin_failed = FALSE;
	if (g_tls_connection_handshake (smtp->tls, NULL, &err))
		return TRUE;
	if (smtp->pin_failed) {
		mp_smtp_fail (smtp, error, MP_ERROR_PROTOCOL,
			      "TLS certificate does not match --pin-sha256");
		g_error_free (err);
		return FALSE;
	}
	if (smtp->cert_errors != 0) {
		g_autofree char *why = describe_cert_errors (smtp->cert_errors);

		mp_smtp_fail (smtp, error, MP_ERROR_PROTOCOL,
			      "TLS certificate not accepted: %s", why);
		g_error_free (err);
		return FALSE;
	}
	smtp->handshake_failed = TRUE;
	mp_smtp_net_error (smtp, error, err, "TLS handshake failed");
	return FALSE;
}

/* After the handshake: the server's certificate matches a --pin-sha256
 * and the version negotiated is at least --tls-min; FALSE with @error
 * when not */
static gboolean
tls_check_session (MpSmtp *smtp, GError **error)
{
	const MpSmtpConfig *cfg = smtp->cfg;

	if (cfg->pins != NULL && cfg->pins[0] != NULL &&
	    !pin_matches (smtp,
			  g_tls_connection_get_peer_certificate (smtp->tls))) {
		mp_smtp_fail (smtp, error, MP_ERROR_PROTOCOL,
			      "TLS certificate does not match --pin-sha256");
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
			mp_smtp_fail (
				smtp, error, MP_ERROR_PROTOCOL,
				"server negotiated %s, below --tls-min %s",
				tls_version_name (got), cfg->tls_min);
			return FALSE;
		}
	}
	return TRUE;
}

gboolean
mp_smtp_start_tls (MpSmtp *smtp, GError **error)
{
	g_autofree char *ciphers = NULL;

	if (!tls_connection_new (smtp, error) || !tls_handshake (smtp, error) ||
	    !tls_check_session (smtp, error))
		return FALSE;
	ciphers = g_tls_connection_get_ciphersuite_name (smtp->tls);
	mp_smtp_transcript (
		smtp, MP_SMTP_LINE_INFO, "TLS established: %s, %s",
		tls_version_name (
			g_tls_connection_get_protocol_version (smtp->tls)),
		ciphers ? ciphers : "unknown cipher suite");
	mp_smtp_use_stream (smtp, G_IO_STREAM (smtp->tls));
	return TRUE;
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

/* A second connection to the server, to probe what its port speaks
 * (PROBE_TIMEOUT, no proxy), or NULL. */
static GSocketConnection *
probe_connect (const MpSmtpConfig *cfg)
{
	g_autoptr (GSocketClient) client = g_socket_client_new ();

	g_socket_client_set_enable_proxy (client, FALSE);
	g_socket_client_set_timeout (client, PROBE_TIMEOUT);
	return g_socket_client_connect_to_host (client, cfg->host, cfg->port,
						NULL, NULL);
}

/* On a second connection: does the server answer a TLS handshake?  A
 * certificate offered is enough; nothing is sent after it. */
static gboolean
port_speaks_tls (MpSmtp *smtp)
{
	const MpSmtpConfig *cfg = smtp->cfg;
	g_autoptr (GSocketConnection) conn = probe_connect (cfg);
	g_autoptr (GSocketConnectable) identity = NULL;
	g_autoptr (GIOStream) tls = NULL;
	gboolean saw_cert = FALSE;
	gboolean ok;

	if (conn == NULL)
		return FALSE;
	identity = g_network_address_new (cfg->host, cfg->port);
	/* no trust anchors: only whether a certificate comes matters */
	tls = tls_client_new (G_IO_STREAM (conn), identity, TRUE, NULL, NULL);
	if (tls == NULL)
		return FALSE;
	g_signal_connect (tls, "accept-certificate",
			  G_CALLBACK (probe_certificate), &saw_cert);
	ok = g_tls_connection_handshake (G_TLS_CONNECTION (tls), NULL, NULL);
	g_io_stream_close (tls, NULL, NULL);
	return ok || saw_cert;
}

/* On a second connection: does the server greet in clear ("220")? */
gboolean
mp_smtp_port_greets_in_clear (MpSmtp *smtp)
{
	g_autoptr (GSocketConnection) conn = probe_connect (smtp->cfg);
	char buf[4] = { 0 };
	gsize got = 0;

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
gboolean
mp_smtp_wait_greeting (MpSmtp *smtp, GError **error)
{
	GSocket *sock = g_socket_connection_get_socket (smtp->conn);

	if (mp_smtp_timeout (smtp) <= GREETING_PATIENCE ||
	    g_buffered_input_stream_get_available (smtp->in) > 0 ||
	    g_socket_condition_timed_wait (sock, G_IO_IN,
					   GREETING_PATIENCE * G_USEC_PER_SEC,
					   NULL, NULL))
		return TRUE;
	if (!port_speaks_tls (smtp))
		return TRUE; /* a slow server: wait on */
	mp_smtp_fail (smtp, error, MP_ERROR_PROTOCOL,
		      "no greeting on port %u, but a TLS handshake: this "
		      "port expects TLS from the first byte: use "
		      "smtps://%s:%u (or --tls=implicit)",
		      smtp->cfg->port, smtp->cfg->host, smtp->cfg->port);
	return FALSE;
}
