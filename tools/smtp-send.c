/* smtp-send: submit the message on stdin over SMTP, TLS verified. */
#include "mp-cli.h"
#include "mp-envelope.h"
#include "mp-error.h"
#include "mp-io.h"
#include "mp-smtp.h"

#include <stdio.h>
#include <string.h>

static char *opt_server;
static char *opt_tls;
static char *opt_ca_file;
static char **opt_pins;
static char *opt_client_cert;
static char *opt_client_key;
static char *opt_tls_min;
static int opt_timeout = 60;
static char *opt_helo;
static char *opt_user;
static char *opt_password_command;
static char *opt_auth;
static gboolean opt_plain_auth;
static char *opt_from;
static gboolean opt_header_rcpts;
static gboolean opt_partial;
static char *opt_notify;
static char *opt_ret;
static char *opt_envid;
static gboolean opt_verbose;
static gboolean opt_dry_run;

static const GOptionEntry entries[] = {
	{ "server", 's', 0, G_OPTION_ARG_STRING, &opt_server,
	  "Submit to this server", "[smtp://|smtps://]HOST[:PORT]" },
	{ "tls", 0, 0, G_OPTION_ARG_STRING, &opt_tls,
	  "starttls (default), implicit (default on 465 and smtps://) or off",
	  "MODE" },
	{ "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &opt_ca_file,
	  "Trust the CAs in FILE instead of the system's", "FILE" },
	{ "pin-sha256", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_pins,
	  "Accept only this public key (base64 SHA-256 of its SPKI)", "HASH" },
	{ "client-cert", 0, 0, G_OPTION_ARG_FILENAME, &opt_client_cert,
	  "Present this TLS client certificate (PEM)", "FILE" },
	{ "client-key", 0, 0, G_OPTION_ARG_FILENAME, &opt_client_key,
	  "The key of --client-cert (PEM)", "FILE" },
	{ "tls-min", 0, 0, G_OPTION_ARG_STRING, &opt_tls_min,
	  "Lowest TLS version accepted: 1.2 or 1.3", "VERSION" },
	{ "timeout", 0, 0, G_OPTION_ARG_INT, &opt_timeout,
	  "Seconds to wait for the network (default 60)", "SECONDS" },
	{ "helo", 0, 0, G_OPTION_ARG_STRING, &opt_helo,
	  "Name to give in EHLO (default localhost)", "NAME" },
	{ "user", 'u', 0, G_OPTION_ARG_STRING, &opt_user,
	  "Log in as USER (password from MIMEPIPE_PASSWORD or "
	  "--password-command)", "USER" },
	{ "password-command", 0, 0, G_OPTION_ARG_STRING,
	  &opt_password_command,
	  "Shell command printing the password or OAuth token", "COMMAND" },
	{ "auth", 0, 0, G_OPTION_ARG_STRING, &opt_auth,
	  "Force a mechanism: SCRAM-SHA-256, PLAIN, LOGIN, XOAUTH2, "
	  "OAUTHBEARER", "MECH" },
	{ "allow-plaintext-auth", 0, 0, G_OPTION_ARG_NONE, &opt_plain_auth,
	  "With --tls=off, allow AUTH without TLS", NULL },
	{ "from", 'f', 0, G_OPTION_ARG_STRING, &opt_from,
	  "Envelope sender (default: Sender, else From)", "ADDRESS" },
	{ "read-recipients", 't', 0, G_OPTION_ARG_NONE, &opt_header_rcpts,
	  "Add To, Cc and Bcc to the recipients given", NULL },
	{ "allow-partial", 0, 0, G_OPTION_ARG_NONE, &opt_partial,
	  "Send to the accepted recipients when some are refused", NULL },
	{ "dsn-notify", 0, 0, G_OPTION_ARG_STRING, &opt_notify,
	  "DSN: NEVER or SUCCESS,FAILURE,DELAY", "WHEN" },
	{ "dsn-return", 0, 0, G_OPTION_ARG_STRING, &opt_ret,
	  "DSN: return FULL or HDRS", "WHAT" },
	{ "envid", 0, 0, G_OPTION_ARG_STRING, &opt_envid,
	  "DSN envelope identifier", "ID" },
	{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose,
	  "Print the SMTP transcript on stderr (credentials redacted)", NULL },
	{ "dry-run", 'n', 0, G_OPTION_ARG_NONE, &opt_dry_run,
	  "Print the envelope and the data; connect nowhere", NULL },
	{ NULL }
};

static void
print_line (MpSmtpLineKind kind, const char *line, gpointer data)
{
	const char *dir = kind == MP_SMTP_LINE_CLIENT ? "->" :
			  kind == MP_SMTP_LINE_SERVER ? "<-" : "==";
	g_autofree char *safe = g_strdup (line);

	for (char *p = safe; *p != '\0'; p++)
		if ((guchar) *p < 0x20 || *p == 0x7f)
			*p = '?';
	fprintf (stderr, "%s: %s %s\n", g_get_prgname (), dir, safe);
}

/* Runs --password-command with stdin from /dev/null and takes its output
 * minus one trailing newline. */
static char *
run_password_command (const char *cmd, GError **error)
{
	const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	g_autofree char *out = NULL;
	int status = 0;
	gsize len;

	if (!g_spawn_sync (NULL, (char **) argv, NULL,
			   G_SPAWN_STDIN_FROM_DEV_NULL, NULL, NULL, &out, NULL,
			   &status, error)) {
		g_prefix_error (error, "--password-command: ");
		if (*error != NULL && (*error)->domain != MP_ERROR) {
			GError *e = *error;

			*error = g_error_new (MP_ERROR, MP_ERROR_CONFIG, "%s",
					      e->message);
			g_error_free (e);
		}
		return NULL;
	}
	if (!g_spawn_check_wait_status (status, NULL)) {
		g_set_error (error, MP_ERROR, MP_ERROR_CONFIG,
			     "--password-command failed");
		return NULL;
	}
	len = strlen (out);
	if (len > 0 && out[len - 1] == '\n')
		out[--len] = '\0';
	if (len == 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_CONFIG,
			     "--password-command printed nothing");
		return NULL;
	}
	return g_steal_pointer (&out);
}

static gboolean
write_stdout (const void *data, gsize len, gpointer user_data,
	      GError **error)
{
	return mp_output_write (user_data, data, len, error);
}

static int
report_recipients (MpSmtp *smtp)
{
	GPtrArray *res = mp_smtp_get_recipients (smtp);
	guint refused = 0;

	for (guint i = 0; i < res->len; i++) {
		MpSmtpRecipient *r = g_ptr_array_index (res, i);

		if (!r->accepted && r->code != 0)
			refused++;
	}
	if (refused == 0)
		return 0;
	for (guint i = 0; i < res->len; i++) {
		MpSmtpRecipient *r = g_ptr_array_index (res, i);

		fprintf (stderr, "%s: %s: %s: %s\n", g_get_prgname (),
			 r->recipient, r->accepted ? "accepted" : "refused",
			 r->reply ? r->reply : "no reply");
	}
	return refused;
}

static MpSmtpTls
parse_tls (const char *s, GError **error)
{
	if (s == NULL)
		return MP_SMTP_TLS_DEFAULT;
	if (g_str_equal (s, "starttls"))
		return MP_SMTP_TLS_STARTTLS;
	if (g_str_equal (s, "implicit"))
		return MP_SMTP_TLS_IMPLICIT;
	if (g_str_equal (s, "off"))
		return MP_SMTP_TLS_OFF;
	g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
		     "--tls %s: want starttls, implicit or off", s);
	return MP_SMTP_TLS_DEFAULT;
}

int
main (int argc, char **argv)
{
	static MpCliCommon common; /* static: its strings stay reachable */
	GError *error = NULL;
	g_autoptr (MpInput) in = NULL;
	g_autoptr (MpEnvelope) env = NULL;
	g_autoptr (MpSmtp) smtp = NULL;
	g_autofree char *host = NULL;
	g_autofree char *password = NULL;
	MpSmtpConfig cfg = { 0 };
	MpSmtpDsn dsn;
	MpSmtpTls tls;

	mp_cli_init ("smtp-send");
	if (!mp_cli_parse (entries, "[--] [RECIPIENT...]",
			   "Submit the message on standard input over SMTP.",
			   FALSE, &common, &argc, &argv, &error))
		return mp_cli_fail (error);
	dsn = (MpSmtpDsn){ opt_notify, opt_ret, opt_envid };
	tls = parse_tls (opt_tls, &error);
	if (error != NULL)
		return mp_cli_fail (error);
	if (opt_timeout <= 0)
		return mp_cli_fail (g_error_new (MP_ERROR, MP_ERROR_USAGE,
						 "--timeout: want seconds > 0"));
	cfg.helo = opt_helo;
	cfg.timeout = (guint) opt_timeout;
	cfg.ca_file = opt_ca_file;
	cfg.pins = (const char *const *) opt_pins;
	cfg.client_cert = opt_client_cert;
	cfg.client_key = opt_client_key;
	cfg.tls_min = opt_tls_min;
	cfg.allow_plaintext_auth = opt_plain_auth;
	cfg.user = opt_user;
	cfg.auth = opt_auth;
	if (opt_verbose)
		cfg.transcript = print_line;
	if (!mp_smtp_check_config (&cfg, &error) ||
	    !mp_smtp_check_dsn (&dsn, &error))
		return mp_cli_fail (error);
	if (!opt_dry_run) {
		if (common.output != NULL)
			return mp_cli_fail (g_error_new (
				MP_ERROR, MP_ERROR_USAGE,
				"-o is only for --dry-run"));
		if (opt_server == NULL)
			return mp_cli_fail (g_error_new (
				MP_ERROR, MP_ERROR_USAGE,
				"--server is required (see --help)"));
		if (!mp_smtp_parse_server (opt_server, tls, &host, &cfg.port,
					   &tls, &error))
			return mp_cli_fail (error);
		if (tls == MP_SMTP_TLS_OFF && opt_user != NULL &&
		    !opt_plain_auth)
			return mp_cli_fail (g_error_new (
				MP_ERROR, MP_ERROR_USAGE,
				"--user with --tls=off sends the password in "
				"the clear; add --allow-plaintext-auth if you "
				"mean it"));
	}

	/* the whole message is checked before anything is sent */
	in = mp_input_open (NULL, &error);
	if (in == NULL)
		return mp_cli_fail (error);
	env = mp_envelope_new (in, opt_from, (const char *const *) argv + 1,
			       opt_header_rcpts, &error);
	if (env == NULL)
		return mp_cli_fail (error);

	if (opt_dry_run) {
		g_autoptr (MpOutput) out = mp_output_open (common.output, FALSE,
							   &error);

		if (out == NULL || !mp_smtp_dry_run (env, write_stdout, out,
						     &error) ||
		    !mp_output_close (out, &error))
			return mp_cli_fail (error);
		return 0;
	}

	if (opt_user != NULL) {
		const char *envpw = g_getenv ("MIMEPIPE_PASSWORD");

		if (opt_password_command != NULL)
			password = run_password_command (opt_password_command,
							 &error);
		else if (envpw != NULL && *envpw != '\0')
			password = g_strdup (envpw);
		else
			error = g_error_new (MP_ERROR, MP_ERROR_CONFIG,
					     "no password for %s: set "
					     "MIMEPIPE_PASSWORD or "
					     "--password-command",
					     opt_user);
		if (password == NULL)
			return mp_cli_fail (error);
	}

	cfg.host = host;
	cfg.tls = tls;
	cfg.password = password;

	smtp = mp_smtp_new (&cfg);
	if (!mp_smtp_connect (smtp, &error) ||
	    !mp_smtp_send (smtp, env, &dsn, opt_partial, &error)) {
		report_recipients (smtp);
		mp_smtp_quit (smtp);
		return mp_cli_fail (error);
	}
	report_recipients (smtp);
	mp_smtp_quit (smtp);
	return 0;
}
