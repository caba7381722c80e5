/* smtp-send: submit messages over SMTP, TLS verified: the one on stdin,
 * message files in one connection, or the outbox; also as sendmail. */
#include "mp-account.h"
#include "mp-cli.h"
#include "mp-dkim.h"
#include "mp-error.h"
#include "mp-io.h"
#include "mp-sendmail.h"
#include "mp-smtp.h"
#include "mp-submit.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static gboolean opt_verbose;
static MpCliCommon common; /* static: its strings stay reachable */
/* the request: the options below write into it */
static MpSubmitOptions req = MP_SUBMIT_OPTIONS_INIT;

static const GOptionEntry entries[] = {
	{ "account", 'a', 0, G_OPTION_ARG_STRING, &req.account,
	  "Use [account NAME] of the configuration file", "NAME" },
	{ "outbox", 0, 0, G_OPTION_ARG_FILENAME, &req.outbox,
	  "Keep a message that meets a temporary failure in this maildir",
	  "DIR" },
	{ "flush", 'q', 0, G_OPTION_ARG_NONE, &req.flush,
	  "Send what the outbox holds, oldest first", NULL },
	{ "jobs", 'j', 0, G_OPTION_ARG_INT, &req.batch.jobs,
	  "Send a batch over N connections (default 1)", "N" },
	{ "mbox", 0, 0, G_OPTION_ARG_NONE, &req.mbox,
	  "Send each message of the mbox stream on standard input (what "
	  "mime-merge writes)",
	  NULL },
	{ "rate", 0, 0, G_OPTION_ARG_STRING, &req.batch.rate,
	  "Send at most this many messages per second, minute or hour",
	  "N/s|N/min|N/h" },
	{ "log", 0, 0, G_OPTION_ARG_FILENAME, &req.batch.log,
	  "Append one JSON line per message of a batch to FILE", "FILE" },
	{ "resume", 0, 0, G_OPTION_ARG_FILENAME, &req.batch.resume,
	  "Skip what the log FILE shows accepted, and log to it", "FILE" },
	{ "reconnect-after", 0, 0, G_OPTION_ARG_INT, &req.batch.reconnect_after,
	  "Start a new connection after N messages of a batch", "N" },
	{ "server", 0, 0, G_OPTION_ARG_STRING, &req.server,
	  "Submit to this server", "[smtp://|smtps://]HOST[:PORT]" },
	{ "tls", 0, 0, G_OPTION_ARG_STRING, &req.tls,
	  "starttls (default), implicit (default on 465 and smtps://) or off",
	  "MODE" },
	{ "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &req.smtp.ca_file,
	  "Trust the CAs in FILE instead of the system's", "FILE" },
	{ "pin-sha256", 0, 0, G_OPTION_ARG_STRING_ARRAY, &req.smtp.pins,
	  "Accept only this public key (base64 SHA-256 of its SPKI)", "HASH" },
	{ "client-cert", 0, 0, G_OPTION_ARG_FILENAME, &req.smtp.client_cert,
	  "Present this TLS client certificate (PEM)", "FILE" },
	{ "client-key", 0, 0, G_OPTION_ARG_FILENAME, &req.smtp.client_key,
	  "The key of --client-cert (PEM)", "FILE" },
	{ "tls-min", 0, 0, G_OPTION_ARG_STRING, &req.smtp.tls_min,
	  "Lowest TLS version accepted: 1.2 or 1.3", "VERSION" },
	{ "timeout", 0, 0, G_OPTION_ARG_INT, &req.smtp.timeout,
	  "Seconds to wait for the network (default 60)", "SECONDS" },
	{ "helo", 0, 0, G_OPTION_ARG_STRING, &req.smtp.helo,
	  "Name to give in EHLO (default localhost)", "NAME" },
	{ "user", 'u', 0, G_OPTION_ARG_STRING, &req.smtp.user,
	  "Log in as USER (password from --password-command, ~/.netrc or "
	  "MIMEPIPE_PASSWORD)",
	  "USER" },
	{ "password-command", 0, 0, G_OPTION_ARG_STRING, &req.password_command,
	  "Shell command printing the password or OAuth token", "COMMAND" },
	{ "auth", 0, 0, G_OPTION_ARG_STRING, &req.smtp.auth,
	  "Force a mechanism: SCRAM-SHA-256, PLAIN, LOGIN, XOAUTH2, "
	  "OAUTHBEARER",
	  "MECH" },
	{ "allow-plaintext-auth", 0, 0, G_OPTION_ARG_NONE,
	  &req.smtp.allow_plaintext_auth,
	  "With --tls=off, allow AUTH without TLS", NULL },
	{ "from", 'f', 0, G_OPTION_ARG_STRING, &req.from,
	  "Envelope sender (default: the account's from, else Sender, "
	  "else From)",
	  "ADDRESS" },
	{ "read-recipients", 't', 0, G_OPTION_ARG_NONE, &req.header_recipients,
	  "Add To, Cc and Bcc to the recipients given", NULL },
	{ "allow-partial", 0, 0, G_OPTION_ARG_NONE, &req.allow_partial,
	  "Send to the accepted recipients when some are refused", NULL },
	{ "strict-from", 0, 0, G_OPTION_ARG_NONE, &req.strict_from,
	  "Refuse a From address the account does not own (from=, "
	  "allowed-from=) instead of warning",
	  NULL },
	{ "dsn-notify", 0, 0, G_OPTION_ARG_STRING, &req.dsn.notify,
	  "DSN: NEVER or SUCCESS,FAILURE,DELAY", "WHEN" },
	{ "dsn-return", 0, 0, G_OPTION_ARG_STRING, &req.dsn.ret,
	  "DSN: return FULL or HDRS", "WHAT" },
	{ "envid", 0, 0, G_OPTION_ARG_STRING, &req.dsn.envid,
	  "DSN envelope identifier", "ID" },
	{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose,
	  "Print the SMTP transcript on stderr (credentials redacted)", NULL },
	{ "dry-run", 'n', 0, G_OPTION_ARG_NONE, &req.dry_run,
	  "Print the envelope and the data; connect nowhere", NULL },
	{ NULL }
};

/* @text with control characters as '?': it came from the server or the
 * message.  Newly allocated. */
static char *
safe (const char *text)
{
	char *copy = g_strdup (text);

	for (char *p = copy; *p != '\0'; p++)
		if ((guchar) *p < 0x20 || *p == 0x7f)
			*p = '?';
	return copy;
}

static void
print_line (MpSmtpLineKind kind, const char *line, gpointer data)
{
	const char *dir = kind == MP_SMTP_LINE_CLIENT ? "->" :
			  kind == MP_SMTP_LINE_SERVER ? "<-" :
							"==";
	g_autofree char *shown = safe (line);

	fprintf (stderr, "%s: %s %s\n", g_get_prgname (), dir, shown);
}

static void
print_warning (const char *message, gpointer data)
{
	g_autofree char *shown = safe (message);

	fprintf (stderr, "%s: warning: %s\n", g_get_prgname (), shown);
}

static gboolean
write_stdout (const char *data, gsize len, gpointer user_data, GError **error)
{
	return mp_output_write (user_data, data, len, error);
}

/* Lines from mp_submit_*_lines(), each after the program's name. */
static void
print_lines (char **lines)
{
	for (guint i = 0; lines[i] != NULL; i++)
		fprintf (stderr, "%s: %s\n", g_get_prgname (), lines[i]);
	g_strfreev (lines);
}

/* One line per message of a batch or a flush (and the recipients' replies
 * when some were refused); for the single message on stdin (@batch
 * NULL), only what went wrong. */
static void
report (const char *name, const MpSubmitResult *res, gpointer batch)
{
	print_lines (mp_submit_result_lines (name, res, batch != NULL));
}

/* DKIM at submission (an account's dkim-* keys, mimepipe.conf(5)): the
 * signer of lib/message, one per account, made on first use (GnuTLS is
 * loaded then, from the module in mimepipe/ beside smtp-send or in
 * libdir/mimepipe); --jobs sends from several threads. */
static GHashTable *signers;
static GMutex signers_lock;

static char **
dkim_sign (const MpAccount *a, GMimeStream *data, gpointer user_data,
	   GError **error)
{
	/* held until the function returns */
	g_autoptr (GMutexLocker) locker G_GNUC_UNUSED =
		g_mutex_locker_new (&signers_lock);
	MpDkimSigner *s = g_hash_table_lookup (signers, a->name);
	g_autoptr (GError) local = NULL;

	if (s == NULL) {
		s = mp_dkim_signer_new (a->dkim_domain, &local);
		for (guint i = 0; s != NULL && a->dkim_keys[i] != NULL; i++)
			if (!mp_dkim_signer_add_key_file (
				    s, a->dkim_selectors[i], a->dkim_keys[i],
				    &local))
				g_clear_pointer (&s, mp_dkim_signer_free);
		if (s == NULL) {
			/* a key that cannot be used is the account's fault;
			 * a DKIM module missing (69) is not */
			g_set_error (error, MP_ERROR,
				     g_error_matches (local, MP_ERROR,
						      MP_ERROR_UNAVAILABLE) ?
					     MP_ERROR_UNAVAILABLE :
					     MP_ERROR_CONFIG,
				     "%s:%u: [account %s]: %s", a->file,
				     a->line, a->name, local->message);
			return NULL;
		}
		g_hash_table_insert (signers, g_strdup (a->name), s);
	}
	return mp_dkim_sign_stream (s, data, error);
}

/* The worst outcome (@worst, taken) as an exit code. */
static int
exit_code (GError *worst)
{
	int rc = mp_cli_exit_code (worst);

	g_clear_error (&worst);
	return rc;
}

static int
flush (MpSubmit *submit)
{
	g_auto (GStrv) dirs = mp_submit_outboxes (submit);
	GError *worst = NULL;

	if (dirs[0] == NULL)
		return mp_cli_fail (g_error_new (
			MP_ERROR, MP_ERROR_USAGE,
			"--flush: no outbox: give --outbox or set outbox= in "
			"an account"));
	for (guint i = 0; dirs[i] != NULL; i++) {
		MpSubmitBatchStats stats;

		mp_submit_flush (submit, dirs[i], report,
				 GINT_TO_POINTER (TRUE), &stats);
		if (stats.error != NULL)
			mp_cli_fail (g_steal_pointer (&stats.error));
		mp_submit_keep_worse (&worst, g_steal_pointer (&stats.worst));
		mp_submit_batch_stats_clear (&stats);
	}
	return exit_code (worst);
}

static volatile sig_atomic_t stop_flag;

static void
on_signal (int sig)
{
	(void) sig;
	stop_flag = 1;
}

/* SIGTERM and SIGINT stop a batch between messages; with SA_RESETHAND a
 * second one ends the command at once. */
static void
catch_stop_signals (void)
{
	struct sigaction sa;

	memset (&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset (&sa.sa_mask);
	sigaction (SIGTERM, &sa, NULL);
	sigaction (SIGINT, &sa, NULL);
}

/* --mbox or FILE...: a batch, logged and paced when asked. */
static int
run_batch (MpAccountConfig *config)
{
	g_autoptr (MpSubmitSource) src =
		req.files ? mp_submit_source_new_files (
				    req.files, g_strv_length (req.files)) :
			    mp_submit_source_new_mbox (STDIN_FILENO, "stdin");
	MpSubmitBatchStats stats;

	req.batch.stop = &stop_flag;
	req.batch.report = report;
	req.batch.report_data = GINT_TO_POINTER (TRUE);
	catch_stop_signals ();
	mp_submit_run (&req, config, src, &stats);
	if (stats.sync_error != NULL)
		mp_cli_fail (g_steal_pointer (&stats.sync_error));
	if (stats.error != NULL)
		mp_cli_fail (g_steal_pointer (&stats.error));
	print_lines (mp_submit_batch_lines (&req, &stats));
	return exit_code (g_steal_pointer (&stats.worst));
}

/* --dry-run: the envelope and the data of the message on stdin, or of
 * each message of the mbox stream (--mbox), to stdout or -o FILE. */
static int
dry_run (MpSubmit *submit)
{
	g_autoptr (MpOutput) out = NULL;
	g_autoptr (MpInput) in = NULL;
	GError *error = NULL;

	/* the whole message is checked before anything is written */
	if (!req.mbox && (in = mp_input_open (NULL, &error)) == NULL)
		return mp_cli_fail (error);
	out = mp_output_open (common.output, FALSE, &error);
	if (out == NULL)
		return mp_cli_fail (error);
	if (in ? !mp_submit_dry_run (submit, in, write_stdout, out, &error) :
		 !mp_submit_dry_run_mbox (submit, STDIN_FILENO, "stdin",
					  write_stdout, out, &error))
		return mp_cli_fail (error);
	if (!mp_output_close (out, &error))
		return mp_cli_fail (error);
	return 0;
}

int
main (int argc, char **argv)
{
	GError *error = NULL;
	gboolean sendmail;
	g_autoptr (MpAccountConfig) config = NULL;
	g_autoptr (MpSubmit) submit = NULL;
	g_autoptr (MpInput) in = NULL;
	g_auto (GStrv) sm_argv = NULL;
	g_autofree char **sm_view = NULL;
	MpSubmitResult res = { 0 };
	char **args;
	int rc;

	mp_cli_init ("smtp-send");
	/* called as sendmail, or with sendmail's flags (mutt, git, cron);
	 * "-oFILE" */
	if (!mp_sendmail_rewrite_argv (argc, argv, entries, &sm_argv, &sendmail,
				       &error))
		return mp_cli_fail (error);
	if (sm_argv != NULL) {
		argc = (int) g_strv_length (sm_argv);
		/* GOption drops what it parses from the array it is given:
		 * give it a copy, so sm_argv still frees every string */
		sm_view = g_memdup2 (sm_argv,
				     sizeof (char *) * (gsize) (argc + 1));
		argv = sm_view;
	}
	if (!mp_cli_parse_operands (
		    entries, "[--] [RECIPIENT... | FILE...]",
		    "Submit the message on standard input, the "
		    "message FILEs, or (--mbox) each message of the "
		    "mbox stream on standard input, over SMTP.",
		    FALSE, -1, &common, &argc, &argv, &error))
		return mp_cli_fail (error);
	/* GOption leaves a "--" that a dash argument follows */
	args = argv + 1;
	if (args[0] != NULL && g_str_equal (args[0], "--"))
		args++;

	/* what the options did not write into the request */
	req.output = common.output;
	req.local_names = sendmail;
	req.warn = print_warning;
	signers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
					 (GDestroyNotify) mp_dkim_signer_free);
	req.sign = dkim_sign;
	if (opt_verbose)
		req.smtp.transcript = print_line;
	if (!mp_submit_options_check (&req, args, &error))
		return mp_cli_fail (error);

	config = mp_account_config_load (NULL, &error);
	if (config == NULL)
		return mp_cli_fail (error);
	submit = mp_submit_new (&req, config);
	if (!mp_submit_check (submit, &error))
		return mp_cli_fail (error);
	if (req.flush)
		return flush (submit);
	if (req.dry_run)
		return dry_run (submit);
	if (req.files != NULL || req.mbox)
		return run_batch (config);

	/* the whole message is checked before anything is sent */
	in = mp_input_open (NULL, &error);
	if (in == NULL)
		return mp_cli_fail (error);
	mp_submit_message (submit, in, &res);
	report ("stdin", &res, NULL);
	rc = mp_cli_exit_code (res.error);
	mp_submit_result_clear (&res);
	return rc;
}
