/* mp-submit: the request checked, the account merged with it, messages
 * sent (one, a batch, a flush) to a scripted SMTP server in this process,
 * outcomes as GErrors (the worst kept by class) and the lines smtp-send
 * prints for them. */
#include "mp-cli.h"
#include "mp-error.h"
#include "mp-submit.h"
#include "unit-tree.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

static char *tmpdir;

/* ---- a scripted SMTP server on 127.0.0.1, plaintext ------------------- */

typedef struct {
	gboolean pipelining; /* offered in the EHLO reply */
	const char *refuse;  /* a recipient answered 550 5.1.1 */
	const char *defer;   /* a recipient answered 450 4.2.1 */
	const char *end;     /* the reply to the end of data; NULL: 250 */
} Script;

typedef struct {
	GSocketListener *listener;
	GCancellable *cancel;
	GThread *thread;
	GPtrArray *conns; /* GThread *, one per connection */
	guint16 port;
	GMutex lock;
	Script script;
	GString *log;        /* "connect", then "C: LINE" for each command */
	GPtrArray *messages; /* char *: the data of each accepted message */
} Server;

static void
say (GOutputStream *out, const char *text)
{
	g_output_stream_write_all (out, text, strlen (text), NULL, NULL, NULL);
}

/* @prefix and @line as one line of the log */
static void
logged (Server *srv, const char *prefix, const char *line)
{
	g_mutex_lock (&srv->lock);
	g_string_append_printf (srv->log, "%s%s\n", prefix, line);
	g_mutex_unlock (&srv->lock);
}

/* The data up to the lone dot; TRUE when it ended so. */
static gboolean
read_data (GDataInputStream *din, GString *data)
{
	char *line;

	while ((line = g_data_input_stream_read_line (din, NULL, NULL, NULL)) !=
	       NULL) {
		gboolean end = g_str_equal (line, ".");

		if (!end)
			g_string_append_printf (
				data, "%s\n", line[0] == '.' ? line + 1 : line);
		g_free (line);
		if (end)
			return TRUE;
	}
	return FALSE;
}

static gpointer
serve_conn (gpointer data)
{
	Server *srv = g_object_get_data (data, "server");
	GIOStream *io = data;
	GOutputStream *out = g_io_stream_get_output_stream (io);
	g_autoptr (GDataInputStream) din =
		g_data_input_stream_new (g_io_stream_get_input_stream (io));
	guint accepted = 0;
	char *line;

	g_data_input_stream_set_newline_type (din,
					      G_DATA_STREAM_NEWLINE_TYPE_CR_LF);
	logged (srv, "", "connect");
	say (out, "220 test ESMTP\r\n");
	while ((line = g_data_input_stream_read_line (din, NULL, NULL, NULL)) !=
	       NULL) {
		g_autofree char *cmd = line;
		Script sc;

		g_mutex_lock (&srv->lock);
		sc = srv->script;
		g_mutex_unlock (&srv->lock);
		logged (srv, "C: ", cmd);
		if (g_str_has_prefix (cmd, "EHLO")) {
			say (out, sc.pipelining ?
					  "250-test\r\n250-PIPELINING\r\n"
					  "250 8BITMIME\r\n" :
					  "250-test\r\n250 8BITMIME\r\n");
		} else if (g_str_has_prefix (cmd, "MAIL")) {
			accepted = 0;
			say (out, "250 2.1.0 Ok\r\n");
		} else if (g_str_has_prefix (cmd, "RCPT")) {
			if (sc.refuse && strstr (cmd, sc.refuse))
				say (out, "550 5.1.1 unknown user\r\n");
			else if (sc.defer && strstr (cmd, sc.defer))
				say (out, "450 4.2.1 try later\r\n");
			else if (++accepted)
				say (out, "250 2.1.5 Ok\r\n");
		} else if (g_str_has_prefix (cmd, "DATA")) {
			g_autoptr (GString) msg = g_string_new (NULL);

			if (accepted == 0) {
				say (out, "554 5.5.1 no valid recipients\r\n");
				continue;
			}
			say (out, "354 go ahead\r\n");
			if (!read_data (din, msg))
				break;
			say (out, sc.end ? sc.end : "250 2.0.0 Ok: queued\r\n");
			if (sc.end == NULL) {
				g_mutex_lock (&srv->lock);
				g_ptr_array_add (
					srv->messages,
					g_string_free (g_steal_pointer (&msg),
						       FALSE));
				g_mutex_unlock (&srv->lock);
			}
		} else if (g_str_has_prefix (cmd, "RSET")) {
			say (out, "250 2.0.0 Ok\r\n");
		} else if (g_str_has_prefix (cmd, "QUIT")) {
			say (out, "221 2.0.0 Bye\r\n");
			break;
		} else {
			say (out, "502 5.5.2 not implemented\r\n");
		}
	}
	g_io_stream_close (io, NULL, NULL);
	g_object_unref (io);
	return NULL;
}

static gpointer
serve (gpointer data)
{
	Server *srv = data;
	GSocketConnection *conn;

	while ((conn = g_socket_listener_accept (srv->listener, NULL,
						 srv->cancel, NULL)) != NULL) {
		g_object_set_data (G_OBJECT (conn), "server", srv);
		g_ptr_array_add (srv->conns,
				 g_thread_new ("conn", serve_conn, conn));
	}
	return NULL;
}

static Server *
server_start (const Script *script)
{
	Server *srv = g_new0 (Server, 1);
	g_autoptr (GError) error = NULL;

	srv->listener = g_socket_listener_new ();
	srv->cancel = g_cancellable_new ();
	srv->conns = g_ptr_array_new ();
	srv->log = g_string_new (NULL);
	srv->messages = g_ptr_array_new_with_free_func (g_free);
	srv->script = *script;
	g_mutex_init (&srv->lock);
	{
		g_autoptr (GInetAddress) lo =
			g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
		g_autoptr (GSocketAddress) addr =
			g_inet_socket_address_new (lo, 0);
		g_autoptr (GSocketAddress) bound = NULL;

		g_assert_true (g_socket_listener_add_address (
			srv->listener, addr, G_SOCKET_TYPE_STREAM,
			G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error));
		g_assert_no_error (error);
		srv->port = g_inet_socket_address_get_port (
			G_INET_SOCKET_ADDRESS (bound));
	}
	srv->thread = g_thread_new ("server", serve, srv);
	return srv;
}

static void
server_set_script (Server *srv, const Script *script)
{
	g_mutex_lock (&srv->lock);
	srv->script = *script;
	g_mutex_unlock (&srv->lock);
}

/* The commands the server got, one per line (every connection's). */
static char *
server_log (Server *srv)
{
	char *s;

	g_mutex_lock (&srv->lock);
	s = g_strdup (srv->log->str);
	g_mutex_unlock (&srv->lock);
	return s;
}

/* Waits for every connection to end (the submitter said QUIT). */
static void
server_stop (Server *srv)
{
	g_cancellable_cancel (srv->cancel);
	g_thread_join (srv->thread);
	for (guint i = 0; i < srv->conns->len; i++)
		g_thread_join (g_ptr_array_index (srv->conns, i));
	g_ptr_array_unref (srv->conns);
	g_socket_listener_close (srv->listener);
	g_object_unref (srv->listener);
	g_object_unref (srv->cancel);
	g_string_free (srv->log, TRUE);
	g_ptr_array_unref (srv->messages);
	g_mutex_clear (&srv->lock);
	g_free (srv);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Server, server_stop)

/* ---- helpers ----------------------------------------------------------- */

static char *
write_file (const char *name, const char *text)
{
	char *path = g_build_filename (tmpdir, name, NULL);

	g_assert_true (g_file_set_contents (path, text, -1, NULL));
	g_chmod (path, 0600);
	return path;
}

static char *
message_file (const char *name, const char *to)
{
	g_autofree char *text =
		g_strdup_printf ("From: ann@example.org\nTo: %s\nSubject: %s\n"
				 "Date: Thu, 03 Dec 2026 08:00:00 +0000\n"
				 "Message-ID: <%s@example.org>\n\nbody of %s\n",
				 to, name, name, name);

	return write_file (name, text);
}

static MpAccountConfig *
config_from (const char *text)
{
	g_autofree char *path = write_file ("config", text ? text : "");
	g_autoptr (GError) error = NULL;
	MpAccountConfig *config = mp_account_config_load (path, &error);

	g_assert_no_error (error);
	return config;
}

/* The request smtp-send builds for --server 127.0.0.1:PORT --tls=off. */
static void
options_for (MpSubmitOptions *o, Server *srv, char *server_spec)
{
	MpSubmitOptions init = MP_SUBMIT_OPTIONS_INIT;

	*o = init;
	if (srv != NULL) {
		g_snprintf (server_spec, 64, "127.0.0.1:%u", srv->port);
		o->server = server_spec;
	}
	o->tls = "off";
	o->smtp.timeout = 10;
}

static void
send_file (MpSubmit *submit, const char *path, MpSubmitResult *res)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (MpInput) in = mp_input_open (path, &error);

	g_assert_no_error (error);
	mp_submit_message (submit, in, res);
}

/* ---- the request ------------------------------------------------------- */

typedef struct {
	const char *what;
	const char *tls;
	int timeout, jobs;
	gboolean flush, dry_run, mbox, sendmail;
	const char *output, *log, *resume, *rate, *dsn_notify;
	int reconnect_after;
	const char *args[3];
	const char *error; /* NULL: accepted */
	gboolean files;    /* accepted as message files */
} CheckCase;

static const CheckCase check_cases[] = {
	{ "recipients", .args = { "bob@example.com" } },
	{ "files", .args = { "./a.eml", "/tmp/b.eml" }, .files = TRUE },
	{ "nothing: stdin to its header recipients" },
	{ "bad --tls", .tls = "ssl", .error = "--tls ssl: want starttls" },
	{ "--timeout 0", .timeout = -1, .error = "--timeout: want seconds" },
	{ "--jobs 65", .jobs = 65, .error = "--jobs: want 1 to 64" },
	{ "flush and dry run", .flush = TRUE, .dry_run = TRUE,
	  .error = "--flush and --dry-run do not go together" },
	{ "-o without dry run", .output = "x",
	  .error = "-o is only for --dry-run" },
	{ "-o with dry run", .output = "x", .dry_run = TRUE },
	{ "bad DSN", .dsn_notify = "sometimes", .error = "--dsn-notify" },
	/* the order of the checks: --tls before -o */
	{ "first error wins", .tls = "ssl", .output = "x",
	  .error = "--tls ssl" },
	{ "recipients and files", .args = { "bob@example.com", "./a.eml" },
	  .error = "not both" },
	{ "sendmail: all recipients", .sendmail = TRUE,
	  .args = { "root", "./a.eml" } },
	{ "mbox and files", .mbox = TRUE, .args = { "./a.eml" },
	  .error = "--mbox reads standard input" },
	{ "mbox and flush", .mbox = TRUE, .flush = TRUE,
	  .error = "--mbox and --flush do not go together" },
	{ "--log without a batch", .log = "l",
	  .error = "--log is for a batch" },
	{ "--rate without a batch", .rate = "1/s",
	  .error = "--rate is for a batch" },
	{ "--log and --resume differ", .mbox = TRUE, .log = "a", .resume = "b",
	  .error = "--resume FILE logs to FILE" },
	{ "--dry-run --log", .mbox = TRUE, .dry_run = TRUE, .log = "a",
	  .error = "--dry-run sends nothing" },
	{ "--reconnect-after -1", .mbox = TRUE, .reconnect_after = -1,
	  .error = "--reconnect-after: want" },
	{ "bad --rate", .mbox = TRUE, .rate = "fast", .error = "fast" },
	{ "good batch", .mbox = TRUE, .rate = "10/min", .log = "a",
	  .resume = "a", .reconnect_after = 5 },
	{ "flush with files", .flush = TRUE, .args = { "./a.eml" },
	  .error = "--flush takes no message files" },
	{ "dry run with files", .dry_run = TRUE, .args = { "./a.eml" },
	  .error = "--dry-run takes no message files" },
	{ "flush with recipients", .flush = TRUE, .args = { "bob@example.com" },
	  .error = "--flush takes no recipients" },
};

static void
test_options_check (void)
{
	for (guint i = 0; i < G_N_ELEMENTS (check_cases); i++) {
		const CheckCase *c = &check_cases[i];
		MpSubmitOptions o = MP_SUBMIT_OPTIONS_INIT;
		g_autoptr (GError) error = NULL;
		char **args = (char **) c->args;
		gboolean ok;

		g_test_message ("%s", c->what);
		o.tls = c->tls;
		if (c->timeout != 0)
			o.smtp.timeout = c->timeout;
		if (c->jobs != 0)
			o.batch.jobs = c->jobs;
		o.flush = c->flush;
		o.dry_run = c->dry_run;
		o.mbox = c->mbox;
		o.local_names = c->sendmail;
		o.output = c->output;
		o.batch.log = c->log;
		o.batch.resume = c->resume;
		o.batch.rate = c->rate;
		o.batch.reconnect_after = c->reconnect_after;
		o.dsn.notify = c->dsn_notify;
		ok = mp_submit_options_check (&o, args, &error);
		if (c->error != NULL) {
			g_assert_false (ok);
			g_assert_error (error, MP_ERROR, MP_ERROR_USAGE);
			if (strstr (error->message, c->error) == NULL)
				g_error ("%s: got \"%s\", want \"%s\"", c->what,
					 error->message, c->error);
			continue;
		}
		g_assert_no_error (error);
		g_assert_true (ok);
		if (c->files) {
			g_assert_true (o.files == args);
			g_assert_null (o.recipients);
		} else {
			g_assert_null (o.files);
			g_assert_true (o.recipients ==
				       (const char *const *) args);
		}
	}
}

/* "root" names a file here: a typo away from sending it to nobody */
static void
test_options_check_local_name_that_is_a_file (void)
{
	MpSubmitOptions o = MP_SUBMIT_OPTIONS_INIT;
	g_autoptr (GError) error = NULL;
	g_autofree char *cwd = g_get_current_dir ();
	char *args[] = { "root", NULL };

	g_assert_cmpint (g_chdir (tmpdir), ==, 0);
	g_assert_true (g_file_set_contents ("root", "x", -1, NULL));
	g_assert_false (mp_submit_options_check (&o, args, &error));
	g_assert_error (error, MP_ERROR, MP_ERROR_USAGE);
	g_assert_nonnull (strstr (error->message, "write ./root"));
	g_clear_error (&error);
	/* as sendmail every operand is a recipient */
	o.local_names = TRUE;
	g_assert_true (mp_submit_options_check (&o, args, &error));
	g_assert_no_error (error);
	g_unlink ("root");
	g_assert_cmpint (g_chdir (cwd), ==, 0);
}

/* ---- the worst outcome ------------------------------------------------- */

static void
test_keep_worse (void)
{
	static const struct {
		int a, b; /* MpErrorCode, -1 for none */
		int want; /* which stays: 0 a, 1 b, -1 none */
	} cases[] = {
		{ -1, -1, -1 },
		{ -1, MP_ERROR_TEMPFAIL, 1 },
		{ MP_ERROR_TEMPFAIL, -1, 0 },
		{ MP_ERROR_TEMPFAIL, MP_ERROR_TEMPFAIL, 0 },
		{ MP_ERROR_TEMPFAIL, MP_ERROR_NO_USER, 1 },
		{ MP_ERROR_NO_USER, MP_ERROR_TEMPFAIL, 0 },
		{ MP_ERROR_NO_USER, MP_ERROR_DATA, 0 },
		{ MP_ERROR_DATA, MP_ERROR_NO_USER, 0 },
		{ -1, MP_ERROR_DATA, 1 },
	};

	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		GError *worst = cases[i].a < 0 ?
					NULL :
					g_error_new (MP_ERROR, cases[i].a, "a");

		mp_submit_keep_worse (
			&worst, cases[i].b < 0 ? NULL :
						 g_error_new (MP_ERROR,
							      cases[i].b, "b"));
		if (cases[i].want < 0) {
			g_assert_null (worst);
			continue;
		}
		g_assert_nonnull (worst);
		g_assert_cmpstr (worst->message, ==,
				 cases[i].want == 0 ? "a" : "b");
		g_error_free (worst);
	}
	/* by class, whatever the domain: a refused connection is
	 * temporary, a permanent failure after it is worse */
	{
		GError *worst = g_error_new (
			G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED, "a");

		mp_submit_keep_worse (
			&worst, g_error_new (MP_ERROR, MP_ERROR_DATA, "b"));
		g_assert_cmpstr (worst->message, ==, "b");
		mp_submit_keep_worse (
			&worst,
			g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "c"));
		g_assert_cmpstr (worst->message, ==, "b");
		g_error_free (worst);
	}
}

/* ---- what smtp-send says ---------------------------------------------- */

static void
test_result_lines (void)
{
	MpSubmitResult res = { 0 };
	g_auto (GStrv) sent = NULL;
	g_auto (GStrv) quiet = NULL;
	g_auto (GStrv) failed = NULL;
	g_auto (GStrv) single = NULL;
	g_auto (GStrv) aside = NULL;

	res.recipients = 1;
	sent = mp_submit_result_lines ("a.eml", &res, TRUE);
	g_assert_cmpuint (g_strv_length (sent), ==, 1);
	g_assert_cmpstr (sent[0], ==, "a.eml: sent to 1 recipient");
	/* the message on stdin: nothing to say when it went */
	quiet = mp_submit_result_lines ("stdin", &res, FALSE);
	g_assert_cmpuint (g_strv_length (quiet), ==, 0);

	res.recipients = 2;
	res.replies = g_ptr_array_new_with_free_func (g_free);
	g_ptr_array_add (res.replies, g_strdup ("x@example.com: refused: 550 "
						"5.1.1 unknown"));
	/* the file's name, once: not again from reading it */
	res.error = g_error_new (MP_ERROR, MP_ERROR_NO_USER,
				 "a.eml: 1 recipient refused");
	failed = mp_submit_result_lines ("a.eml", &res, TRUE);
	g_assert_cmpuint (g_strv_length (failed), ==, 2);
	g_assert_cmpstr (failed[0], ==,
			 "a.eml: x@example.com: refused: 550 5.1.1 unknown");
	g_assert_cmpstr (failed[1], ==, "a.eml: 1 recipient refused");
	single = mp_submit_result_lines ("stdin", &res, FALSE);
	g_assert_cmpstr (single[0], ==,
			 "x@example.com: refused: 550 5.1.1 unknown");
	g_assert_cmpstr (single[1], ==, "a.eml: 1 recipient refused");

	g_clear_pointer (&res.replies, g_ptr_array_unref);
	res.set_aside = g_strdup ("/o/failed/1");
	aside = mp_submit_result_lines ("/o/new/1", &res, TRUE);
	g_assert_cmpstr (aside[0], ==,
			 "/o/new/1: a.eml: 1 recipient refused; set aside in "
			 "/o/failed/1");
	mp_submit_result_clear (&res);
	g_assert_null (res.error);
}

static void
test_batch_lines (void)
{
	MpSubmitOptions o = MP_SUBMIT_OPTIONS_INIT;
	MpSubmitBatchStats stats = { 0 };
	g_auto (GStrv) none = NULL;
	g_auto (GStrv) resumed = NULL;
	g_auto (GStrv) unlogged = NULL;

	none = mp_submit_batch_lines (&o, &stats);
	g_assert_cmpuint (g_strv_length (none), ==, 0);
	o.batch.resume = "sent.log";
	stats.skipped = 1;
	stats.stopped = TRUE;
	stats.sent = 2;
	stats.failed = 1;
	resumed = mp_submit_batch_lines (&o, &stats);
	g_assert_cmpuint (g_strv_length (resumed), ==, 2);
	g_assert_cmpstr (resumed[0], ==,
			 "1 message already accepted in sent.log: not sent "
			 "again");
	g_assert_cmpstr (resumed[1], ==,
			 "stopped by a signal: 2 sent, 1 not accepted, the "
			 "rest not sent; smtp-send --resume sent.log "
			 "continues");
	o.batch.resume = NULL;
	stats.skipped = 0;
	unlogged = mp_submit_batch_lines (&o, &stats);
	g_assert_cmpuint (g_strv_length (unlogged), ==, 1);
	g_assert_nonnull (strstr (unlogged[0], "use --log FILE next time"));
}

/* ---- sending ----------------------------------------------------------- */

static void
test_message_sent (void)
{
	Script script = { .pipelining = TRUE };
	g_autoptr (Server) srv = server_start (&script);
	g_autoptr (MpAccountConfig) config = config_from (NULL);
	g_autofree char *path = message_file ("sent.eml", "bob@example.com");
	g_autofree char *log = NULL;
	char spec[64];
	MpSubmitOptions o;
	MpSubmitResult res;

	options_for (&o, srv, spec);
	{
		g_autoptr (MpSubmit) submit = mp_submit_new (&o, config);

		g_assert_true (mp_submit_check (submit, NULL));
		send_file (submit, path, &res);
		g_assert_no_error (res.error);
		g_assert_cmpuint (res.recipients, ==, 1);
		g_assert_null (res.stored);
		g_assert_null (res.replies);
		g_assert_null (res.account);
		mp_submit_result_clear (&res);
	}
	log = server_log (srv);
	g_assert_cmpstr (log, ==,
			 "connect\nC: EHLO localhost\n"
			 "C: MAIL FROM:<ann@example.org>\n"
			 "C: RCPT TO:<bob@example.com>\nC: DATA\nC: QUIT\n");
	g_assert_cmpuint (srv->messages->len, ==, 1);
	g_assert_nonnull (strstr (g_ptr_array_index (srv->messages, 0),
				  "\nbody of sent.eml\n"));
}

/* A refused recipient: the message is not sent to the other one (no
 * --allow-partial), the class says why, each reply is listed. */
static void
test_message_recipient_refused (void)
{
	Script script = { .pipelining = FALSE, .refuse = "eve@" };
	g_autoptr (Server) srv = server_start (&script);
	g_autoptr (MpAccountConfig) config = config_from (NULL);
	g_autofree char *path = message_file (
		"refused.eml", "bob@example.com, eve@example.com");
	char spec[64];
	MpSubmitOptions o;
	MpSubmitResult res;

	options_for (&o, srv, spec);
	{
		g_autoptr (MpSubmit) submit = mp_submit_new (&o, config);

		send_file (submit, path, &res);
	}
	g_assert_error (res.error, MP_ERROR, MP_ERROR_NO_USER);
	g_assert_cmpint (mp_cli_exit_code (res.error), ==, 67);
	g_assert_cmpuint (res.recipients, ==, 2);
	g_assert_nonnull (res.replies);
	g_assert_cmpuint (res.replies->len, ==, 2);
	g_assert_cmpstr (g_ptr_array_index (res.replies, 1), ==,
			 "eve@example.com: refused: 550 5.1.1 unknown user");
	g_assert_cmpuint (srv->messages->len, ==, 0);
	mp_submit_result_clear (&res);
}

static void
collect (const char *name, const MpSubmitResult *res, gpointer data)
{
	g_ptr_array_add (
		data,
		g_strdup_printf ("%s %s", strrchr (name, '/') + 1,
				 res->error ? res->error->message : "sent"));
}

/* A temporary failure lands in the outbox, and the flush sends it to the
 * server it was meant for, then removes it. */
static void
test_tempfail_stored_then_flushed (void)
{
	Script later = { .end = "451 4.3.0 try again later\r\n" };
	Script fine = { 0 };
	g_autoptr (Server) srv = server_start (&later);
	g_autoptr (MpAccountConfig) config = config_from (NULL);
	g_autofree char *path = message_file ("later.eml", "bob@example.com");
	g_autofree char *outbox = g_build_filename (tmpdir, "outbox", NULL);
	g_autofree char *stored = NULL;
	g_autofree char *want = NULL;
	char spec[64];
	MpSubmitOptions o;
	MpSubmitResult res;
	MpSubmitBatchStats stats;
	GPtrArray *reported = g_ptr_array_new_with_free_func (g_free);

	options_for (&o, srv, spec);
	o.outbox = outbox;
	{
		g_autoptr (MpSubmit) submit = mp_submit_new (&o, config);

		send_file (submit, path, &res);
	}
	g_assert_error (res.error, MP_ERROR, MP_ERROR_TEMPFAIL);
	g_assert_nonnull (res.stored);
	g_assert_nonnull (strstr (res.error->message, "451 4.3.0"));
	g_assert_nonnull (strstr (res.error->message, "; stored in "));
	g_assert_nonnull (strstr (res.error->message, res.stored));
	g_assert_true (g_str_has_suffix (res.error->message,
					 " for smtp-send --flush"));
	g_assert_true (g_file_test (res.stored, G_FILE_TEST_IS_REGULAR));
	stored = g_strdup (res.stored);
	mp_submit_result_clear (&res);

	/* the flush: the server takes it now; no --server given, the
	 * stored one applies */
	server_set_script (srv, &fine);
	o.server = NULL;
	o.tls = NULL;
	{
		g_autoptr (MpSubmit) submit = mp_submit_new (&o, config);
		g_auto (GStrv) dirs = mp_submit_outboxes (submit);

		g_assert_cmpstr (dirs[0], ==, outbox);
		g_assert_null (dirs[1]);
		mp_submit_flush (submit, outbox, collect, reported, &stats);
	}
	g_assert_no_error (stats.error);
	g_assert_null (stats.worst);
	g_assert_cmpuint (stats.sent, ==, 1);
	g_assert_cmpuint (stats.failed, ==, 0);
	g_assert_false (g_file_test (stored, G_FILE_TEST_EXISTS));
	g_assert_cmpuint (srv->messages->len, ==, 1);
	/* reported by its path in the outbox */
	want = g_strdup_printf ("%s sent", strrchr (stored, '/') + 1);
	g_assert_cmpuint (reported->len, ==, 1);
	g_assert_cmpstr (g_ptr_array_index (reported, 0), ==, want);
	mp_submit_batch_stats_clear (&stats);
	g_ptr_array_unref (reported);
}

/* A batch over one pipelined connection: each message's outcome,
 * reported in order; the worst is the refused one. */
static void
test_run_batch (void)
{
	Script script = { .pipelining = TRUE, .refuse = "eve@" };
	g_autoptr (Server) srv = server_start (&script);
	g_autoptr (MpAccountConfig) config = config_from (NULL);
	g_autofree char *a = message_file ("b1.eml", "bob@example.com");
	g_autofree char *b = message_file ("b2.eml", "eve@example.com");
	g_autofree char *c = message_file ("b3.eml", "bob@example.com");
	g_autofree char *missing = g_build_filename (tmpdir, "nope.eml", NULL);
	char *files[] = { a, b, missing, c, NULL };
	g_autoptr (GPtrArray) got = g_ptr_array_new_with_free_func (g_free);
	g_autoptr (MpSubmitSource) src = NULL;
	g_autofree char *log = NULL;
	char spec[64];
	MpSubmitOptions o;
	MpSubmitBatchStats stats;

	options_for (&o, srv, spec);
	g_assert_true (mp_submit_options_check (&o, files, NULL));
	o.batch.report = collect;
	o.batch.report_data = got;
	src = mp_submit_source_new_files (o.files, g_strv_length (o.files));
	mp_submit_run (&o, config, src, &stats);
	g_assert_no_error (stats.error);
	g_assert_no_error (stats.sync_error);
	g_assert_cmpuint (stats.sent, ==, 2);
	g_assert_cmpuint (stats.failed, ==, 2);
	g_assert_false (stats.stopped);
	/* the first permanent failure is the outcome */
	g_assert_error (stats.worst, MP_ERROR, MP_ERROR_NO_USER);
	g_assert_cmpuint (got->len, ==, 4);
	g_assert_cmpstr (g_ptr_array_index (got, 0), ==, "b1.eml sent");
	g_assert_true (g_str_has_prefix (g_ptr_array_index (got, 1),
					 "b2.eml 127.0.0.1: the recipient"));
	g_assert_true (
		g_str_has_prefix (g_ptr_array_index (got, 2), "nope.eml "));
	g_assert_cmpstr (g_ptr_array_index (got, 3), ==, "b3.eml sent");
	mp_submit_batch_stats_clear (&stats);
	/* one connection for the whole batch */
	log = server_log (srv);
	g_assert_nonnull (strstr (log, "connect\n"));
	g_assert_null (strstr (strstr (log, "connect\n") + 1, "connect\n"));
	g_assert_cmpuint (srv->messages->len, ==, 2);
}

/* A stop asked for before the first message: nothing is sent, and the
 * outcome is a temporary failure (the rest is still to send). */
static void
test_run_stopped (void)
{
	g_autoptr (MpAccountConfig) config = config_from (NULL);
	g_autofree char *a = message_file ("s1.eml", "bob@example.com");
	char *files[] = { a, NULL };
	g_autoptr (MpSubmitSource) src = mp_submit_source_new_files (files, 1);
	volatile int stop = 1;
	MpSubmitOptions o;
	MpSubmitBatchStats stats;

	options_for (&o, NULL, NULL);
	o.server = "127.0.0.1:1";
	o.batch.stop = &stop;
	mp_submit_run (&o, config, src, &stats);
	g_assert_true (stats.stopped);
	g_assert_cmpuint (stats.sent + stats.failed, ==, 0);
	g_assert_error (stats.worst, MP_ERROR, MP_ERROR_TEMPFAIL);
	mp_submit_batch_stats_clear (&stats);
}

/* The log cannot be opened: the batch stops before it starts. */
static void
test_run_log_unwritable (void)
{
	g_autoptr (MpAccountConfig) config = config_from (NULL);
	g_autofree char *a = message_file ("l1.eml", "bob@example.com");
	char *files[] = { a, NULL };
	g_autoptr (MpSubmitSource) src = mp_submit_source_new_files (files, 1);
	MpSubmitOptions o;
	MpSubmitBatchStats stats;

	options_for (&o, NULL, NULL);
	o.server = "127.0.0.1:1";
	o.batch.log = "/nonexistent/dir/sent.log";
	mp_submit_run (&o, config, src, &stats);
	g_assert_nonnull (stats.error);
	g_assert_nonnull (stats.worst);
	g_assert_cmpint (mp_error_class (stats.worst), ==,
			 mp_error_class (stats.error));
	g_assert_cmpuint (stats.sent + stats.failed, ==, 0);
	mp_submit_batch_stats_clear (&stats);
}

/* The account merged with the command line: the account's server and
 * TLS mode when the command line gives none; the command line's server
 * when it does (the account's host is then never looked up). */
static void
test_account_merged (void)
{
	Script script = { 0 };
	g_autoptr (Server) srv = server_start (&script);
	g_autofree char *text = g_strdup_printf (
		"[account default]\nhost = 127.0.0.1\nport = %u\ntls = off\n"
		"[account other]\nhost = nonexistent.invalid\ntls = off\n",
		srv->port);
	g_autoptr (MpAccountConfig) config = config_from (text);
	g_autofree char *path = message_file ("acct.eml", "bob@example.com");
	char spec[64];
	MpSubmitOptions o;
	MpSubmitResult res;

	options_for (&o, NULL, NULL);
	o.tls = NULL;
	{
		g_autoptr (MpSubmit) submit = mp_submit_new (&o, config);

		send_file (submit, path, &res);
		g_assert_no_error (res.error);
		g_assert_cmpstr (res.account, ==, "default");
		mp_submit_result_clear (&res);
	}
	options_for (&o, srv, spec);
	o.account = "other";
	{
		g_autoptr (MpSubmit) submit = mp_submit_new (&o, config);

		g_assert_true (mp_submit_check (submit, NULL));
		send_file (submit, path, &res);
		g_assert_no_error (res.error);
		g_assert_cmpstr (res.account, ==, "other");
		mp_submit_result_clear (&res);
	}
	g_assert_cmpuint (srv->messages->len, ==, 2);
	/* a login over plaintext is refused before anything connects */
	options_for (&o, srv, spec);
	o.smtp.user = "ann";
	{
		g_autoptr (MpSubmit) submit = mp_submit_new (&o, config);

		send_file (submit, path, &res);
		g_assert_error (res.error, MP_ERROR, MP_ERROR_USAGE);
		g_assert_nonnull (
			strstr (res.error->message, "--allow-plaintext-auth"));
		mp_submit_result_clear (&res);
	}
	/* --account names no account */
	options_for (&o, srv, spec);
	o.account = "nobody";
	{
		g_autoptr (MpSubmit) submit = mp_submit_new (&o, config);
		g_autoptr (GError) error = NULL;

		g_assert_false (mp_submit_check (submit, &error));
		g_assert_error (error, MP_ERROR, MP_ERROR_CONFIG);
	}
}

static gboolean
to_string (const char *data, gsize len, gpointer user_data, GError **error)
{
	g_string_append_len (user_data, data, (gssize) len);
	return TRUE;
}

static void
test_dry_run (void)
{
	g_autoptr (MpAccountConfig) config = config_from (NULL);
	g_autofree char *path = message_file ("dry.eml", "bob@example.com");
	g_autoptr (GString) out = g_string_new (NULL);
	g_autoptr (GError) error = NULL;
	g_autoptr (MpInput) in = mp_input_open (path, &error);
	MpSubmitOptions o;

	options_for (&o, NULL, NULL);
	o.server = "127.0.0.1:1"; /* never reached */
	{
		g_autoptr (MpSubmit) submit = mp_submit_new (&o, config);

		g_assert_true (
			mp_submit_dry_run (submit, in, to_string, out, &error));
	}
	g_assert_no_error (error);
	g_assert_true (g_str_has_prefix (out->str,
					 "MAIL FROM:<ann@example.org>\r\n"
					 "RCPT TO:<bob@example.com>\r\n"
					 "DATA\r\n"));
	g_assert_nonnull (strstr (out->str, "body of dry.eml\r\n"));
}

int
main (int argc, char **argv)
{
	int rc;

	g_test_init (&argc, &argv, NULL);
	g_mime_init ();
	tmpdir = g_dir_make_tmp ("test-submit-XXXXXX", NULL);
	g_assert_nonnull (tmpdir);
	/* no password source but what a test gives */
	g_setenv ("HOME", tmpdir, TRUE);
	g_unsetenv ("MIMEPIPE_PASSWORD");
	g_unsetenv ("MIMEPIPE_CONFIG");
	g_test_add_func ("/submit/options_checked_in_order",
			 test_options_check);
	g_test_add_func ("/submit/local_name_that_is_a_file_refused",
			 test_options_check_local_name_that_is_a_file);
	g_test_add_func ("/submit/worst_outcome_kept_by_class",
			 test_keep_worse);
	g_test_add_func ("/submit/result_lines_as_smtp_send_prints",
			 test_result_lines);
	g_test_add_func ("/submit/batch_summary_lines", test_batch_lines);
	g_test_add_func ("/submit/message_sent_with_its_envelope",
			 test_message_sent);
	g_test_add_func ("/submit/refused_recipient_is_no_user",
			 test_message_recipient_refused);
	g_test_add_func ("/submit/tempfail_stored_then_flushed",
			 test_tempfail_stored_then_flushed);
	g_test_add_func ("/submit/batch_reported_in_order_worst_kept",
			 test_run_batch);
	g_test_add_func ("/submit/stopped_batch_is_temporary",
			 test_run_stopped);
	g_test_add_func ("/submit/unwritable_log_stops_batch",
			 test_run_log_unwritable);
	g_test_add_func ("/submit/account_merged_command_line_wins",
			 test_account_merged);
	g_test_add_func ("/submit/dry_run_prints_envelope_and_data",
			 test_dry_run);
	rc = g_test_run ();
	remove_tree (tmpdir);
	g_free (tmpdir);
	return rc;
}
