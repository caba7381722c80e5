/* mp-smtp-auth: AUTH for the SMTP client (RFC 4954): SCRAM-SHA-256
 * through libgsasl, PLAIN, LOGIN, XOAUTH2, OAUTHBEARER. */
#include "mp-secret.h"
#include "mp-smtp-private.h"

#include <gsasl.h>
#include <string.h>

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
		mp_smtp_reply_error (smtp, error, r, STAGE_AUTH, what);
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
	g_autoptr (MpSecretStr) resp = NULL;
	g_autoptr (MpSecretStr) line = NULL;
	g_autofree char *shown = g_strdup_printf ("AUTH %s [redacted]", mech);

	if (g_str_equal (mech, "PLAIN")) {
		/* RFC 4616: authzid NUL authcid NUL passwd (the NULs keep
		 * strlen from seeing it: wiped by its length) */
		gsize len = strlen (cfg->user) + strlen (cfg->password) + 2;
		char *raw = g_strdup_printf ("%c%s%c%s", 0, cfg->user, 0,
					     cfg->password);

		resp = b64 (raw, len);
		mp_secret_free_len (raw, len);
	} else if (g_str_equal (mech, "XOAUTH2")) {
		g_autoptr (MpSecretStr) raw =
			g_strdup_printf ("user=%s\001auth=Bearer %s\001\001",
					 cfg->user, cfg->password);

		resp = b64 (raw, strlen (raw));
	} else { /* OAUTHBEARER, RFC 7628 */
		g_autofree char *user = gs2_escape (cfg->user);
		g_autoptr (MpSecretStr) raw =
			g_strdup_printf ("n,a=%s,\001auth=Bearer %s\001\001",
					 user, cfg->password);

		resp = b64 (raw, strlen (raw));
	}
	line = g_strdup_printf ("AUTH %s %s", mech, resp);
	if (!mp_smtp_command (smtp, line, shown, r, error))
		return FALSE;
	if (r->code == 334 && !g_str_equal (mech, "PLAIN")) {
		/* RFC 7628 3.2.3: the server sent an error; answer with a
		 * dummy so it can send its final failure */
		if (!mp_smtp_command (
			    smtp, g_str_equal (mech, "XOAUTH2") ? "" : "AQ==",
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
	g_autoptr (MpSecretStr) p = b64 (cfg->password, strlen (cfg->password));

	if (!mp_smtp_command (smtp, "AUTH LOGIN", NULL, r, error))
		return FALSE;
	if (r->code != 334)
		return auth_result (smtp, r, "LOGIN", error);
	if (!mp_smtp_command (smtp, u, "[redacted]", r, error))
		return FALSE;
	if (r->code != 334)
		return auth_result (smtp, r, "LOGIN", error);
	if (!mp_smtp_command (smtp, p, "[redacted]", r, error))
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
	mp_smtp_fail (
		smtp, error, MP_ERROR_TEMPFAIL,
		"AUTH SCRAM-SHA-256 took longer than --timeout (%u seconds)",
		mp_smtp_timeout (smtp));
	return TRUE;
}

/* A SCRAM-SHA-256 exchange (RFC 5802, RFC 7677) under way */
typedef struct {
	MpSmtp *smtp;
	const char *mech;
	Gsasl *ctx;
	Gsasl_session *s;
	int rc;         /* of the last libgsasl step; GSASL_OK once the
			   server-final message proved the server */
	gboolean first; /* the next challenge is the server-first message */
} Scram;

/* Starts the exchange: "AUTH SCRAM-SHA-256" with the client-first
 * message, its reply in R; FALSE with @error when libgsasl lacks the
 * mechanism or fails, or the command fails */
static gboolean
scram_begin (Scram *sc, Reply *r, GError **error)
{
	const MpSmtpConfig *cfg = sc->smtp->cfg;
	char *out = NULL;
	g_autofree char *line = NULL;
	g_autofree char *shown = NULL;

	if (gsasl_init (&sc->ctx) != GSASL_OK ||
	    gsasl_client_start (sc->ctx, sc->mech, &sc->s) != GSASL_OK) {
		g_set_error (error, MP_ERROR, MP_ERROR_UNAVAILABLE,
			     "SCRAM-SHA-256 is not available in libgsasl");
		return FALSE;
	}
	gsasl_property_set (sc->s, GSASL_AUTHID, cfg->user);
	gsasl_property_set (sc->s, GSASL_PASSWORD, cfg->password);
	sc->rc = gsasl_step64 (sc->s, "", &out);
	if (sc->rc != GSASL_NEEDS_MORE) {
		gsasl_free (out);
		g_set_error (error, MP_ERROR, MP_ERROR_SOFTWARE,
			     "SCRAM-SHA-256: %s", gsasl_strerror (sc->rc));
		return FALSE;
	}
	line = g_strdup_printf ("AUTH %s %s", sc->mech, out);
	shown = scram_shown ("AUTH SCRAM-SHA-256 ", out);
	gsasl_free (out);
	return mp_smtp_command (sc->smtp, line, shown, r, error);
}

/* Refuses a server-first message CHALLENGE that asks for more than
 * SCRAM_MAX_ITERATIONS, cancelling the exchange (reply in R); returns
 * TRUE when it did so, with @error */
static gboolean
scram_refuse_iterations (Scram *sc, const char *challenge, Reply *r,
			 GError **error)
{
	guint64 iterations = scram_iterations (challenge);

	if (iterations <= SCRAM_MAX_ITERATIONS)
		return FALSE;
	/* RFC 4954 4: "*" cancels the exchange */
	mp_smtp_command (sc->smtp, "*", NULL, r, NULL);
	g_set_error (error, MP_ERROR, MP_ERROR_PROTOCOL,
		     "%s: AUTH %s: the server asks for more "
		     "than %d iterations (%s)",
		     sc->smtp->cfg->host, sc->mech, SCRAM_MAX_ITERATIONS,
		     iterations == G_MAXUINT64 ? "a count too long to read" :
						 "refusing to spend minutes "
						 "hashing");
	return TRUE;
}

/* Answers the 334 challenge in R with the next client message, its reply
 * in R; FALSE with @error when the exchange should have ended, has taken
 * longer than --timeout, asks for too many iterations, or the server's
 * message is wrong (then the exchange is cancelled) */
static gboolean
scram_answer (Scram *sc, Reply *r, GError **error)
{
	MpSmtp *smtp = sc->smtp;
	const char *challenge = g_ptr_array_index (r->lines, 0);
	char *out = NULL;
	g_autofree char *shown = NULL;
	gboolean ok;

	if (sc->rc == GSASL_OK) {
		g_set_error (error, MP_ERROR, MP_ERROR_PROTOCOL,
			     "%s: AUTH %s: challenge after the end",
			     smtp->cfg->host, sc->mech);
		return FALSE;
	}
	if (scram_late (smtp, error) ||
	    (sc->first && scram_refuse_iterations (sc, challenge, r, error)))
		return FALSE;
	sc->first = FALSE;
	sc->rc = gsasl_step64 (sc->s, challenge, &out);
	if (sc->rc != GSASL_OK && sc->rc != GSASL_NEEDS_MORE) {
		gsasl_free (out);
		/* RFC 4954 4: "*" cancels the exchange */
		mp_smtp_command (smtp, "*", NULL, r, NULL);
		g_set_error (error, MP_ERROR,
			     sc->rc == GSASL_AUTHENTICATION_ERROR ?
				     MP_ERROR_PROTOCOL :
				     MP_ERROR_NO_PERM,
			     "%s: AUTH %s: %s", smtp->cfg->host, sc->mech,
			     sc->rc == GSASL_AUTHENTICATION_ERROR ?
				     "the server did not prove it "
				     "knows the password" :
				     gsasl_strerror (sc->rc));
		return FALSE;
	}
	/* the hashing is part of the exchange --timeout bounds */
	if (scram_late (smtp, error)) {
		gsasl_free (out);
		return FALSE;
	}
	shown = scram_shown ("", out);
	ok = mp_smtp_command (smtp, out, shown, r, error);
	gsasl_free (out);
	return ok;
}

/* The outcome once the server stops challenging (reply in R): FALSE with
 * @error when the exchange took longer than --timeout or the server
 * claims success without its proof, else what auth_result() says */
static gboolean
scram_end (Scram *sc, Reply *r, GError **error)
{
	if (scram_late (sc->smtp, error))
		return FALSE;
	if (r->code == 235 && sc->rc != GSASL_OK) {
		/* RFC 5802 5: the server-final message proves the server
		 * holds the verifier; without it we may talk to an impostor */
		g_set_error (error, MP_ERROR, MP_ERROR_PROTOCOL,
			     "%s: AUTH %s: success without the server's proof",
			     sc->smtp->cfg->host, sc->mech);
		return FALSE;
	}
	return auth_result (sc->smtp, r, sc->mech, error);
}

static gboolean
auth_scram (MpSmtp *smtp, Reply *r, GError **error)
{
	Scram sc = { .smtp = smtp, .mech = "SCRAM-SHA-256", .first = TRUE };
	gboolean ok = scram_begin (&sc, r, error);

	while (ok && r->code == 334)
		ok = scram_answer (&sc, r, error);
	ok = ok && scram_end (&sc, r, error);
	if (sc.s != NULL)
		gsasl_finish (sc.s);
	if (sc.ctx != NULL)
		gsasl_done (sc.ctx);
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

gboolean
mp_smtp_authenticate (MpSmtp *smtp, GError **error)
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
	if (!mp_smtp_has_cap (smtp, "AUTH")) {
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
			      (gint64) mp_smtp_timeout (smtp) * G_USEC_PER_SEC;
	if (g_str_equal (mech, "SCRAM-SHA-256"))
		ok = auth_scram (smtp, &r, error);
	else if (g_str_equal (mech, "LOGIN"))
		ok = auth_login (smtp, &r, error);
	else
		ok = auth_simple (smtp, mech, &r, error);
	smtp->auth_deadline = 0;
	g_socket_set_timeout (g_socket_connection_get_socket (smtp->conn),
			      mp_smtp_timeout (smtp));
	mp_smtp_reply_clear (&r);
	return ok;
}
