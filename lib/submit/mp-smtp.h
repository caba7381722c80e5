/* mp-smtp: the SMTP submission client (RFC 5321, 6409) over GIO: connect,
 * TLS (implicit, RFC 8314, or STARTTLS, RFC 3207) with the certificate
 * verified, EHLO, AUTH (RFC 4954), MAIL/RCPT/DATA with PIPELINING, SIZE,
 * 8BITMIME, SMTPUTF8 and DSN.  It never prints and never exits: failures
 * are MP_ERROR errors whose class gives the exit code and whose message
 * carries the server's reply; a transcript callback sees every line. */
#pragma once

#include <gio/gio.h>

#include "mp-envelope.h"

G_BEGIN_DECLS

typedef enum {
	MP_SMTP_TLS_DEFAULT,  /* from the URL and port: implicit on 465 */
	MP_SMTP_TLS_STARTTLS, /* STARTTLS required before AUTH and MAIL */
	MP_SMTP_TLS_IMPLICIT, /* TLS from the first byte */
	MP_SMTP_TLS_OFF,      /* plaintext, only when asked */
} MpSmtpTls;

typedef enum {
	MP_SMTP_LINE_CLIENT, /* a line we sent (credentials redacted) */
	MP_SMTP_LINE_SERVER, /* a reply line */
	MP_SMTP_LINE_INFO,   /* connection and TLS events */
} MpSmtpLineKind;

typedef void (*MpSmtpTranscriptFunc) (MpSmtpLineKind kind, const char *line,
				      gpointer user_data);

/* How to reach the server and log in.  Strings are borrowed: the config
 * must outlive the MpSmtp. */
typedef struct {
	const char *host;
	guint16 port;
	MpSmtpTls tls;       /* STARTTLS, IMPLICIT or OFF */
	const char *helo;    /* EHLO name; NULL: "localhost" */
	int timeout;         /* seconds for every network wait; 0 (or
				less): 60 */
	const char *ca_file; /* trust these CAs instead of the system's */
	const char *const
		*pins; /* base64 SHA-256 of the SubjectPublicKeyInfo */
	const char *client_cert; /* PEM certificate (and key) for TLS */
	const char *client_key;
	const char *tls_min; /* "1.2" or "1.3"; NULL: the backend's */
	gboolean allow_plaintext_auth;
	const char *user;     /* NULL: no AUTH */
	const char *password; /* or the OAuth token */
	const char *auth;     /* mechanism to force; NULL: choose */
	MpSmtpTranscriptFunc transcript;
	gpointer transcript_data;
} MpSmtpConfig;

/* Delivery status notification requests (RFC 3461); NULL members unset. */
typedef struct {
	const char *notify; /* NEVER, or a list of SUCCESS, FAILURE, DELAY */
	const char *ret;    /* FULL or HDRS */
	const char *envid;  /* envelope identifier, printable ASCII */
} MpSmtpDsn;

/* The server's answer to one RCPT. */
typedef struct {
	char *recipient;
	guint code;  /* reply code, 0 when no reply was read */
	char *reply; /* "550 5.1.1 <bob@example.com>: unknown" */
	gboolean accepted;
} MpSmtpRecipient;

typedef struct _MpSmtp MpSmtp;

/* Parses @spec, "[smtp://|smtps://]HOST[:PORT]" (an IPv6 HOST in
 * brackets), with @tls as given by --tls (MP_SMTP_TLS_DEFAULT when not
 * given): smtps:// or port 465 means implicit TLS, otherwise STARTTLS; the
 * port defaults to 465 for implicit TLS and 587 otherwise.
 * Errors: MP_ERROR_USAGE for a malformed @spec or a contradiction
 * (smtps:// with --tls=starttls). */
gboolean mp_smtp_parse_server (const char *spec, MpSmtpTls tls, char **host,
			       guint16 *port, MpSmtpTls *tls_out,
			       GError **error);

/* Checks the values of @config a user gives (on the command line or in a
 * configuration file) before anything connects: --tls-min ("1.2" or
 * "1.3"), --auth (a mechanism the engine runs), each pin (base64 of a
 * SHA-256 hash, optionally after "sha256//"), the user (no control
 * characters) and the EHLO name (letters, digits, ".-:[]").
 * Errors: MP_ERROR_USAGE naming the option. */
gboolean mp_smtp_check_config (const MpSmtpConfig *config, GError **error);

/* Checks DSN values (NOTIFY keywords, RET, ENVID characters and length)
 * so that nothing unchecked reaches the wire.  Errors: MP_ERROR_USAGE. */
gboolean mp_smtp_check_dsn (const MpSmtpDsn *dsn, GError **error);

/* TRUE when @mech is one the engine can run (upper or lower case). */
gboolean mp_smtp_mechanism_supported (const char *mech);

/* A client for @config (borrowed); nothing is connected yet. */
MpSmtp *mp_smtp_new (const MpSmtpConfig *config);

/* Connects, reads the greeting, says EHLO, starts TLS as configured (on
 * STARTTLS: any byte already buffered after the 220 is an error, the
 * capabilities are forgotten and EHLO is sent again) and authenticates
 * when a user is set.
 * Errors (MP_ERROR): UNAVAILABLE when TLS is unavailable (no
 * glib-networking) or the server lacks STARTTLS or AUTH, or refuses
 * permanently; TEMPFAIL for refused or timed out connections, 4xx and
 * 421; NO_HOST for an unknown host; PROTOCOL for TLS and certificate
 * failures, garbage or over-long replies and data injected after STARTTLS;
 * NO_PERM when authentication is refused; CONFIG for unreadable CA or
 * client certificate files. */
gboolean mp_smtp_connect (MpSmtp *smtp, GError **error);

/* Sends one message: MAIL, RCPT (pipelined when offered), DATA with the
 * canonical data of @env.  @dsn may be NULL.  Per-recipient replies are
 * available from mp_smtp_get_recipients() afterwards, also on failure.
 * When some recipients are refused the message is sent to the others only
 * with @allow_partial (the return is then TRUE); otherwise nothing is sent
 * and the error says how many were refused.  After a failure the
 * transaction is reset (RSET) so the connection can carry another message.
 * Errors (MP_ERROR): DATA when the message needs 8BITMIME or SMTPUTF8 the
 * server lacks or exceeds its SIZE; UNAVAILABLE, NO_USER (5.1.x at RCPT),
 * DATA (5.6.x, 5.3.4) for 5xx; TEMPFAIL for 4xx, 421 and timeouts;
 * PROTOCOL for unexpected or garbage replies. */
gboolean mp_smtp_send (MpSmtp *smtp, MpEnvelope *env, const MpSmtpDsn *dsn,
		       gboolean allow_partial, GError **error);

/* As mp_smtp_send(), but with PIPELINING offered the end-of-data reply
 * is not awaited (RFC 2920 3.1): the end of data waits in the output
 * buffer and goes out with the next message's MAIL, RCPT and DATA, and
 * *@deferred is set (@deferred may be NULL: no deferral).  A deferred
 * message's outcome comes from mp_smtp_finish(), which must be called
 * after the next mp_smtp_send_pipelined() (that call reads the reply
 * first and keeps it) and before any other use, mp_smtp_quit() aside.
 * With @deferred,
 * DATA goes in the same group as MAIL and RCPT when one recipient or
 * @allow_partial leaves no refusal after which DATA would be unwanted;
 * a server that answers 354 to it all the same loses the connection.
 * When the message before ended the session (421, closed, timed out) the
 * call fails with MP_ERROR_TEMPFAIL and mp_smtp_lost() is TRUE: nothing
 * of this message was taken, it may be sent again on a new connection.
 * Errors: as mp_smtp_send(). */
gboolean mp_smtp_send_pipelined (MpSmtp *smtp, MpEnvelope *env,
				 const MpSmtpDsn *dsn, gboolean allow_partial,
				 gboolean *deferred, GError **error);

/* Reads the end-of-data reply of the message mp_smtp_send_pipelined()
 * deferred (sending what waits in the buffer first) and returns its
 * outcome; TRUE when none is in flight.  Errors: as mp_smtp_send() for
 * the end of data (TEMPFAIL for 4xx, 421, a closed connection, a
 * timeout; the class of a 5xx). */
gboolean mp_smtp_finish (MpSmtp *smtp, GError **error);

/* TRUE when the last mp_smtp_send_pipelined() failed because the
 * message before it ended the session. */
gboolean mp_smtp_lost (MpSmtp *smtp);

/* The server's reply to the end of data of the message the last
 * mp_smtp_send(), mp_smtp_send_pipelined() (not deferred) or
 * mp_smtp_finish() concluded, its lines joined ("250 2.0.0 Ok: queued as
 * 4F1"), borrowed until the next of those calls; NULL when none came
 * (refused before DATA, connection lost). */
const char *mp_smtp_get_final_reply (MpSmtp *smtp);

/* The recipients of the last mp_smtp_send() (MpSmtpRecipient *, borrowed;
 * valid until the next send or mp_smtp_free(), longer with a ref: each
 * send makes a new array). */
GPtrArray *mp_smtp_get_recipients (MpSmtp *smtp);

/* TRUE while the connection can carry another message (connected, no
 * 421, no broken stream). */
gboolean mp_smtp_is_usable (MpSmtp *smtp);

/* Says QUIT (when the connection is still usable) and closes it. */
void mp_smtp_quit (MpSmtp *smtp);

void mp_smtp_free (MpSmtp *smtp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MpSmtp, mp_smtp_free)

/* The DATA bytes and envelope commands smtp-send --dry-run prints:
 * "MAIL FROM:<...>" CRLF, one "RCPT TO:<...>" CRLF each, "DATA" CRLF,
 * then the data, written through @write.  Errors: as @write. */
gboolean mp_smtp_dry_run (MpEnvelope *env, MpWriteFunc write,
			  gpointer user_data, GError **error);

G_END_DECLS
