/* smtp-send: submit messages over SMTP, TLS verified: the one on stdin,
 * message files in one connection, or the outbox; also as sendmail. */
#include "mp-account.h"
#include "mp-cli.h"
#include "mp-dkim.h"
#include "mp-error.h"
#include "mp-io.h"
#include "mp-mbox.h"
#include "mp-rate.h"
#include "mp-sendmail.h"
#include "mp-smtp.h"
#include "mp-submit.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
static gboolean opt_strict_from;
static char *opt_notify;
static char *opt_ret;
static char *opt_envid;
static gboolean opt_verbose;
static gboolean opt_dry_run;
static char *opt_account;
static char *opt_outbox;
static gboolean opt_flush;
static int opt_jobs = 1;
static gboolean opt_mbox;
static char *opt_rate;
static char *opt_log;
static char *opt_resume;
static int opt_reconnect_after;
static MpCliCommon common; /* static: its strings stay reachable */

static const GOptionEntry entries[] = {
	{ "account", 'a', 0, G_OPTION_ARG_STRING, &opt_account,
	  "Use [account NAME] of the configuration file", "NAME" },
	{ "outbox", 0, 0, G_OPTION_ARG_FILENAME, &opt_outbox,
	  "Keep a message that meets a temporary failure in this maildir",
	  "DIR" },
	{ "flush", 'q', 0, G_OPTION_ARG_NONE, &opt_flush,
	  "Send what the outbox holds, oldest first", NULL },
	{ "jobs", 'j', 0, G_OPTION_ARG_INT, &opt_jobs,
	  "Send a batch over N connections (default 1)", "N" },
	{ "mbox", 0, 0, G_OPTION_ARG_NONE, &opt_mbox,
	  "Send each message of the mbox stream on standard input (what "
	  "mime-merge writes)",
	  NULL },
	{ "rate", 0, 0, G_OPTION_ARG_STRING, &opt_rate,
	  "Send at most this many messages per second, minute or hour",
	  "N/s|N/min|N/h" },
	{ "log", 0, 0, G_OPTION_ARG_FILENAME, &opt_log,
	  "Append one JSON line per message of a batch to FILE", "FILE" },
	{ "resume", 0, 0, G_OPTION_ARG_FILENAME, &opt_resume,
	  "Skip what the log FILE shows accepted, and log to it", "FILE" },
	{ "reconnect-after", 0, 0, G_OPTION_ARG_INT, &opt_reconnect_after,
	  "Start a new connection after N messages of a batch", "N" },
	{ "server", 0, 0, G_OPTION_ARG_STRING, &opt_server,
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
	  "Log in as USER (password from --password-command, ~/.netrc or "
	  "MIMEPIPE_PASSWORD)",
	  "USER" },
	{ "password-command", 0, 0, G_OPTION_ARG_STRING, &opt_password_command,
	  "Shell command printing the password or OAuth token", "COMMAND" },
	{ "auth", 0, 0, G_OPTION_ARG_STRING, &opt_auth,
	  "Force a mechanism: SCRAM-SHA-256, PLAIN, LOGIN, XOAUTH2, "
	  "OAUTHBEARER",
	  "MECH" },
	{ "allow-plaintext-auth", 0, 0, G_OPTION_ARG_NONE, &opt_plain_auth,
	  "With --tls=off, allow AUTH without TLS", NULL },
	{ "from", 'f', 0, G_OPTION_ARG_STRING, &opt_from,
	  "Envelope sender (default: the account's from, else Sender, "
	  "else From)",
	  "ADDRESS" },
	{ "read-recipients", 't', 0, G_OPTION_ARG_NONE, &opt_header_rcpts,
	  "Add To, Cc and Bcc to the recipients given", NULL },
	{ "allow-partial", 0, 0, G_OPTION_ARG_NONE, &opt_partial,
	  "Send to the accepted recipients when some are refused", NULL },
	{ "strict-from", 0, 0, G_OPTION_ARG_NONE, &opt_strict_from,
	  "Refuse a From address the account does not own (from=, "
	  "allowed-from=) instead of warning",
	  NULL },
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
			  kind == MP_SMTP_LINE_SERVER ? "<-" :
							"==";
	g_autofree char *safe = g_strdup (line);

	for (char *p = safe; *p != '\0'; p++)
		if ((guchar) *p < 0x20 || *p == 0x7f)
			*p = '?';
	fprintf (stderr, "%s: %s %s\n", g_get_prgname (), dir, safe);
}

static void
print_warning (const char *message, gpointer data)
{
	g_autofree char *safe = g_strdup (message);

	for (char *p = safe; *p != '\0'; p++)
		if ((guchar) *p < 0x20 || *p == 0x7f)
			*p = '?';
	fprintf (stderr, "%s: warning: %s\n", g_get_prgname (), safe);
}

static gboolean
write_stdout (const void *data, gsize len, gpointer user_data, GError **error)
{
	return mp_output_write (user_data, data, len, error);
}

/* @error without a leading "@name: ", which reading the file put there */
static const char *
without_name (const char *error, const char *name)
{
	gsize n = strlen (name);

	if (strncmp (error, name, n) == 0 && strncmp (error + n, ": ", 2) == 0)
		return error + n + 2;
	return error;
}

/* One line per message of a batch or a flush (and the recipients' replies
 * when some were refused); for the single message on stdin, only what
 * went wrong. */
static void
report (const char *name, const MpSubmitResult *res, gboolean batch)
{
	const char *prog = g_get_prgname ();

	for (guint i = 0; res->replies != NULL && i < res->replies->len; i++)
		fprintf (stderr, "%s: %s%s%s\n", prog, batch ? name : "",
			 batch ? ": " : "",
			 (char *) g_ptr_array_index (res->replies, i));
	if (res->exit_code == 0 && batch)
		fprintf (stderr, "%s: %s: sent to %u recipient%s\n", prog, name,
			 res->recipients, res->recipients == 1 ? "" : "s");
	else if (res->exit_code != 0 && res->set_aside != NULL)
		fprintf (stderr, "%s: %s: %s; set aside in %s\n", prog, name,
			 without_name (res->error, name), res->set_aside);
	else if (res->exit_code != 0)
		fprintf (stderr, "%s: %s%s%s\n", prog, batch ? name : "",
			 batch ? ": " : "",
			 batch ? without_name (res->error, name) : res->error);
}

static void
report_flushed (const char *name, const MpSubmitResult *res, gpointer data)
{
	g_autofree char *path = g_build_filename (data, name, NULL);

	report (path, res, TRUE);
}

static void
report_file (const char *name, const MpSubmitResult *res, gpointer data)
{
	report (name, res, TRUE);
}

/* DKIM at submission (an account's dkim-* keys, mimepipe.conf(5)): the
 * signer of lib/message, one per account, made on first use; --jobs
 * sends from several threads. */
static GHashTable *signers;
static GMutex signers_lock;

static char **
dkim_sign (const MpAccount *a, GMimeStream *data, gpointer user_data,
	   GError **error)
{
	g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&signers_lock);
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
			g_set_error (error, MP_ERROR, MP_ERROR_CONFIG,
				     "%s:%u: [account %s]: %s", a->file,
				     a->line, a->name, local->message);
			return NULL;
		}
		g_hash_table_insert (signers, g_strdup (a->name), s);
	}
	return mp_dkim_sign_stream (s, data, error);
}

static int
flush (const MpSubmitOptions *opts, MpAccountConfig *config)
{
	g_autoptr (MpSubmit) submit = mp_submit_new (opts, config);
	g_auto (GStrv) dirs = mp_submit_outboxes (submit);
	int worst = 0;

	if (dirs[0] == NULL)
		return mp_cli_fail (g_error_new (
			MP_ERROR, MP_ERROR_USAGE,
			"--flush: no outbox: give --outbox or set outbox= in "
			"an account"));
	for (guint i = 0; dirs[i] != NULL; i++) {
		GError *error = NULL;
		int rc = mp_submit_flush (submit, dirs[i], report_flushed,
					  dirs[i], &error);

		if (rc < 0)
			rc = mp_cli_fail (error);
		worst = mp_submit_worse (worst, rc);
	}
	return worst;
}

/* The usage checks that need no message. */
static gboolean
check_options (MpSubmitOptions *o, GError **error)
{
	MpSmtpConfig cfg = { 0 };

	cfg.helo = opt_helo;
	cfg.pins = (const char *const *) opt_pins;
	cfg.tls_min = opt_tls_min;
	cfg.user = opt_user;
	cfg.auth = opt_auth;
	if (opt_tls != NULL && !g_str_equal (opt_tls, "starttls") &&
	    !g_str_equal (opt_tls, "implicit") && !g_str_equal (opt_tls, "off"))
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--tls %s: want starttls, implicit or off",
			     opt_tls);
	else if (opt_timeout <= 0)
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--timeout: want seconds > 0");
	else if (opt_jobs < 1 || opt_jobs > 64)
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--jobs: want 1 to 64");
	else if (opt_flush && opt_dry_run)
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--flush and --dry-run do not go together");
	else if (common.output != NULL && !opt_dry_run)
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "-o is only for --dry-run");
	else if (mp_smtp_check_config (&cfg, error))
		mp_smtp_check_dsn (&o->dsn, error);
	return *error == NULL;
}

/* The batch options (--mbox, --rate, --log, --resume, --reconnect-after)
 * against what is being sent; @files: the operands are message files.
 * Parses --rate into @rate. */
static gboolean
check_batch_options (gboolean files, MpRate *rate, GError **error)
{
	gboolean batch = files || opt_mbox;
	const char *what = opt_log                  ? "--log" :
			   opt_resume               ? "--resume" :
			   opt_rate                 ? "--rate" :
			   opt_reconnect_after != 0 ? "--reconnect-after" :
						      NULL;

	if (opt_mbox && files)
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--mbox reads standard input: give recipients "
			     "or nothing, not message files");
	else if (opt_mbox && opt_flush)
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--mbox and --flush do not go together");
	else if (what != NULL && !batch)
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "%s is for a batch: --mbox, or message FILEs",
			     what);
	else if (opt_dry_run && (opt_log || opt_resume))
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--dry-run sends nothing: no --log or --resume");
	else if (opt_log && opt_resume && !g_str_equal (opt_log, opt_resume))
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--resume FILE logs to FILE: no other --log");
	else if (opt_reconnect_after < 0)
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--reconnect-after: want a number of messages");
	else if (opt_rate != NULL)
		mp_rate_parse (opt_rate, rate, error);
	return *error == NULL;
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
run_batch (const MpSubmitOptions *o, MpAccountConfig *config, char **files,
	   MpRate *rate)
{
	const char *log_path = opt_resume ? opt_resume : opt_log;
	const char *prog = g_get_prgname ();
	g_autoptr (MpSubmitSource) src = NULL;
	g_autoptr (MpSendLog) log = NULL;
	MpSubmitBatchOptions bo = { 0 };
	MpSubmitBatchStats stats;
	GError *error = NULL;
	int rc;

	if (log_path != NULL) {
		log = mp_send_log_open (log_path, opt_resume != NULL, &error);
		if (log == NULL)
			return mp_cli_fail (error);
	}
	src = files ? mp_submit_source_new_files (files,
						  g_strv_length (files)) :
		      mp_submit_source_new_mbox (STDIN_FILENO, "stdin");
	bo.jobs = (guint) opt_jobs;
	bo.reconnect_after = (guint) opt_reconnect_after;
	bo.rate = opt_rate ? rate : NULL;
	bo.log = log;
	bo.stop = &stop_flag;
	bo.report = report_file;
	catch_stop_signals ();
	rc = mp_submit_run (o, config, src, &bo, &stats);
	if (log != NULL && !mp_send_log_sync (log, &error))
		rc = mp_submit_worse (rc, mp_cli_fail (error));
	if (stats.error != NULL)
		mp_cli_fail (stats.error);
	if (stats.skipped > 0)
		fprintf (stderr,
			 "%s: %u message%s already accepted in %s: "
			 "not sent again\n",
			 prog, stats.skipped, stats.skipped == 1 ? "" : "s",
			 log_path);
	if (stats.stopped && log_path != NULL)
		fprintf (stderr,
			 "%s: stopped by a signal: %u sent, %u not "
			 "accepted, the rest not sent; smtp-send --resume %s "
			 "continues\n",
			 prog, stats.sent, stats.failed, log_path);
	else if (stats.stopped)
		fprintf (stderr,
			 "%s: stopped by a signal: %u sent, %u not "
			 "accepted, the rest not sent (without --log nothing "
			 "says which: use --log FILE next time)\n",
			 prog, stats.sent, stats.failed);
	return rc;
}

/* --dry-run --mbox: what would be sent, message after message. */
static int
dry_run_mbox (MpSubmit *submit, MpOutput *out)
{
	g_autoptr (MpMboxReader) r = mp_mbox_reader_new (STDIN_FILENO, "stdin");
	GError *error = NULL;
	MpInput *in;

	for (;;) {
		if (!mp_mbox_reader_next (r, &in, &error))
			return mp_cli_fail (error);
		if (in == NULL)
			break;
		if (!mp_submit_dry_run (submit, in, write_stdout, out,
					&error)) {
			mp_input_free (in);
			return mp_cli_fail (error);
		}
		mp_input_free (in);
	}
	if (mp_mbox_reader_get_count (r) == 0)
		return mp_cli_fail (g_error_new (MP_ERROR, MP_ERROR_DATA,
						 "stdin: empty: no message to "
						 "send"));
	if (!mp_output_close (out, &error))
		return mp_cli_fail (error);
	return 0;
}

/* Operands.  In sendmail mode every one is a recipient.  As smtp-send,
 * one with '@' is a recipient and one with '/' a message file; a bare
 * name ("root", "postmaster") that is also a file here is refused, for a
 * typo would send the file to the wrong place or the message to nobody
 * (issue 14).  Returns TRUE when the operands are message files. */
static gboolean
are_files (char **args, gboolean sendmail, GError **error)
{
	guint rcpts = 0;
	guint files = 0;

	if (sendmail)
		return FALSE;
	for (guint i = 0; args[i] != NULL; i++) {
		const char *a = args[i];

		if (strchr (a, '@') != NULL) {
			rcpts++;
		} else if (strchr (a, '/') != NULL) {
			files++;
		} else if (g_file_test (a, G_FILE_TEST_EXISTS)) {
			g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
				     "%s: both a file here and a local name: "
				     "write ./%s (after --) for the file, "
				     "%s@HOST for a recipient",
				     a, a, a);
			return FALSE;
		}
	}
	if (files != 0 && rcpts != 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "give recipients (local@domain) or message "
			     "files, not both");
		return FALSE;
	}
	return files != 0;
}

/* "-oFILE": GOption takes a short option's value only as the next
 * argument; a value of -o that is not one of sendmail's options is our
 * -o FILE (issue 14).  Returns a new argv with each such "-oFILE" as
 * "--output=FILE", or NULL when there is none. */
static gboolean
is_attached_output (const char *arg)
{
	return g_str_has_prefix (arg, "-o") && arg[2] != '\0' &&
	       !mp_sendmail_is_o_option (arg + 2);
}

static char **
attached_output (int argc, char **argv)
{
	gboolean any = FALSE;
	gboolean options = TRUE;
	char **out;

	for (int i = 1; i < argc && !g_str_equal (argv[i], "--"); i++)
		any |= is_attached_output (argv[i]);
	if (!any)
		return NULL;
	out = g_new0 (char *, argc + 1);
	out[0] = g_strdup (argv[0]);
	for (int i = 1; i < argc; i++) {
		if (options && is_attached_output (argv[i]))
			out[i] = g_strconcat ("--output=", argv[i] + 2, NULL);
		else
			out[i] = g_strdup (argv[i]);
		options &= !g_str_equal (argv[i], "--");
	}
	return out;
}

int
main (int argc, char **argv)
{
	GError *error = NULL;
	g_autoptr (MpSendmailArgs) sm = NULL;
	g_autoptr (MpAccountConfig) config = NULL;
	g_autoptr (MpSubmit) submit = NULL;
	g_autoptr (MpInput) in = NULL;
	g_auto (GStrv) sm_argv = NULL;
	g_autofree char **sm_view = NULL;
	MpSubmitOptions o = { 0 };
	MpSubmitResult res = { 0 };
	MpRate rate = { 0 };
	char **args;
	gboolean files;
	int rc;

	mp_cli_init ("smtp-send");
	/* called as sendmail, or with sendmail's flags (mutt, git, cron) */
	if (mp_sendmail_detect (argc, argv, entries)) {
		sm = mp_sendmail_parse (argc, argv, entries, &error);
		if (sm == NULL)
			return mp_cli_fail (error);
		sm_argv = mp_sendmail_to_argv (sm, argv[0]);
		argc = (int) g_strv_length (sm_argv);
		/* GOption drops what it parses from the array it is given:
		 * give it a copy, so sm_argv still frees every string */
		sm_view = g_memdup2 (sm_argv,
				     sizeof (char *) * (gsize) (argc + 1));
		argv = sm_view;
	} else if ((sm_argv = attached_output (argc, argv)) != NULL) {
		sm_view = g_memdup2 (sm_argv,
				     sizeof (char *) * (gsize) (argc + 1));
		argv = sm_view;
	}
	if (!mp_cli_parse (entries, "[--] [RECIPIENT... | FILE...]",
			   "Submit the message on standard input, the "
			   "message FILEs, or (--mbox) each message of the "
			   "mbox stream on standard input, over SMTP.",
			   FALSE, &common, &argc, &argv, &error))
		return mp_cli_fail (error);
	/* GOption leaves a "--" that a dash argument follows */
	args = argv + 1;
	if (args[0] != NULL && g_str_equal (args[0], "--"))
		args++;

	o.account = opt_account;
	o.server = opt_server;
	o.tls = opt_tls;
	o.ca_file = opt_ca_file;
	o.pins = (const char *const *) opt_pins;
	o.client_cert = opt_client_cert;
	o.client_key = opt_client_key;
	o.tls_min = opt_tls_min;
	o.timeout = (guint) opt_timeout;
	o.helo = opt_helo;
	o.user = opt_user;
	o.password_command = opt_password_command;
	o.auth = opt_auth;
	o.allow_plaintext_auth = opt_plain_auth;
	o.from = opt_from;
	o.outbox = opt_outbox;
	o.local_names = sm != NULL;
	o.header_recipients = opt_header_rcpts;
	o.dsn = (MpSmtpDsn){ opt_notify, opt_ret, opt_envid };
	o.allow_partial = opt_partial;
	o.strict_from = opt_strict_from;
	o.warn = print_warning;
	signers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
					 (GDestroyNotify) mp_dkim_signer_free);
	o.sign = dkim_sign;
	if (opt_verbose)
		o.transcript = print_line;
	if (!check_options (&o, &error))
		return mp_cli_fail (error);
	files = are_files (args, sm != NULL, &error);
	if (error != NULL || !check_batch_options (files, &rate, &error))
		return mp_cli_fail (error);
	if ((opt_flush || opt_dry_run) && files)
		return mp_cli_fail (g_error_new (
			MP_ERROR, MP_ERROR_USAGE, "%s takes no message files",
			opt_flush ? "--flush" : "--dry-run"));
	if (opt_flush && args[0] != NULL)
		return mp_cli_fail (
			g_error_new (MP_ERROR, MP_ERROR_USAGE,
				     "--flush takes no recipients"));
	if (!files)
		o.recipients = (const char *const *) args;

	config = mp_account_config_load (NULL, &error);
	if (config == NULL)
		return mp_cli_fail (error);
	submit = mp_submit_new (&o, config);
	if (!mp_submit_check (submit, &error))
		return mp_cli_fail (error);
	if (opt_flush)
		return flush (&o, config);
	if (opt_mbox && opt_dry_run) {
		g_autoptr (MpOutput) out =
			mp_output_open (common.output, FALSE, &error);

		return out ? dry_run_mbox (submit, out) : mp_cli_fail (error);
	}
	if (files || opt_mbox)
		return run_batch (&o, config, files ? args : NULL, &rate);

	/* the whole message is checked before anything is sent */
	in = mp_input_open (NULL, &error);
	if (in == NULL)
		return mp_cli_fail (error);
	if (opt_dry_run) {
		g_autoptr (MpOutput) out =
			mp_output_open (common.output, FALSE, &error);

		if (out == NULL ||
		    !mp_submit_dry_run (submit, in, write_stdout, out,
					&error) ||
		    !mp_output_close (out, &error))
			return mp_cli_fail (error);
		return 0;
	}
	mp_submit_message (submit, in, &res);
	report ("stdin", &res, FALSE);
	rc = res.exit_code;
	mp_submit_result_clear (&res);
	return rc;
}
