/* mp-submit: accounts, connections, the outbox: smtp-send's logic. */
#include "mp-submit.h"
#include "mp-address.h"
#include "mp-error.h"

#include "mp-headers.h"
#include "mp-secret.h"
#include "mp-mbox.h"
#include "mp-outbox.h"
#include "mp-rate.h"
#include "mp-sendlog.h"

#include <poll.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

/* What one message is sent as. */
typedef struct {
	const char *account; /* name, or NULL to choose */
	const char *from;    /* envelope sender, or NULL */
	gboolean from_fixed; /* @from is final (stored, may be "") */
	/* where a stored message was to go (the command line wins) */
	const char *server; /* "HOST:PORT", or NULL */
	const char *tls;    /* with @server */
	const char *user;
	const char *const *recipients;
	gboolean header_recipients;
	const MpSmtpDsn *dsn;
	gboolean allow_partial;
	gboolean may_store; /* store in the outbox on a temporary
				     failure */
} Job;

/* One connection per account ("" for the command line alone) and, for
 * stored messages, per server and login they were stored with. */
typedef struct {
	const MpAccount *account;
	const Job *job; /* during conn_setup() only */
	/* the settings, as conn_merge() found them */
	MpSmtpConfig cfg;
	const char *tls;    /* --tls, the stored one, or the account's */
	char *spec;         /* the server, or NULL when none is known */
	const char *pw_cmd; /* the password command, or NULL */
	const char *pw;     /* the account's password=, or NULL */
	const char *outbox; /* --outbox, else the account's outbox= */
	char *host;
	char *password;
	MpSmtp *smtp;
	GError *failure; /* settings or connection failure: every message of
			    this run through this account gets it */
	guint messages;  /* sent over this connection (--reconnect-after) */
} Conn;

struct _MpSubmit {
	const MpSubmitOptions *opts;
	MpAccountConfig *config;
	GHashTable *conns; /* account name or "" -> Conn */
	gboolean dry_run;  /* nothing goes out: no warnings about how it
			      would be received */
};

static void
conn_free (Conn *c)
{
	if (c->smtp != NULL) {
		mp_smtp_quit (c->smtp);
		mp_smtp_free (c->smtp);
	}
	g_free (c->spec);
	g_free (c->host);
	mp_secret_free (c->password);
	g_clear_error (&c->failure);
	g_free (c);
}

MpSubmit *
mp_submit_new (const MpSubmitOptions *opts, MpAccountConfig *config)
{
	MpSubmit *s = g_new0 (MpSubmit, 1);

	s->opts = opts;
	s->config = config;
	s->conns = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
					  (GDestroyNotify) conn_free);
	return s;
}

void
mp_submit_free (MpSubmit *submit)
{
	if (submit == NULL)
		return;
	g_hash_table_unref (submit->conns);
	g_free (submit);
}

void
mp_submit_result_clear (MpSubmitResult *res)
{
	g_clear_error (&res->error);
	g_clear_pointer (&res->stored, g_free);
	g_clear_pointer (&res->set_aside, g_free);
	g_clear_pointer (&res->account, g_free);
	g_clear_pointer (&res->replies, g_ptr_array_unref);
	g_clear_pointer (&res->reply, g_free);
	res->recipients = 0;
}

void
mp_submit_batch_stats_clear (MpSubmitBatchStats *stats)
{
	g_clear_error (&stats->error);
	g_clear_error (&stats->sync_error);
	g_clear_error (&stats->worst);
}

static gboolean
is_temporary (const GError *error)
{
	return error != NULL && mp_error_class (error) == MP_ERROR_TEMPFAIL;
}

void
mp_submit_keep_worse (GError **worst, GError *error)
{
	if (error == NULL)
		return;
	if (*worst == NULL ||
	    (is_temporary (*worst) && !is_temporary (error))) {
		g_clear_error (worst);
		*worst = error;
		return;
	}
	g_error_free (error);
}

static gboolean
parse_tls (const char *s, MpSmtpTls *tls)
{
	if (s == NULL)
		*tls = MP_SMTP_TLS_DEFAULT;
	else if (g_str_equal (s, "starttls"))
		*tls = MP_SMTP_TLS_STARTTLS;
	else if (g_str_equal (s, "implicit"))
		*tls = MP_SMTP_TLS_IMPLICIT;
	else if (g_str_equal (s, "off"))
		*tls = MP_SMTP_TLS_OFF;
	else
		return FALSE;
	return TRUE;
}

/* The operands @args: TRUE when they are message files (see
 * mp_submit_options_check()). */
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

/* The batch options against what is sent; @files: the operands are
 * message files. */
static gboolean
check_batch (const MpSubmitOptions *o, gboolean files, GError **error)
{
	const MpSubmitBatchOptions *bo = &o->batch;
	gboolean batch = files || o->mbox;
	const char *what = bo->log                  ? "--log" :
			   bo->resume               ? "--resume" :
			   bo->rate                 ? "--rate" :
			   bo->reconnect_after != 0 ? "--reconnect-after" :
						      NULL;
	MpRate rate;

	if (o->mbox && files)
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--mbox reads standard input: give recipients "
			     "or nothing, not message files");
	else if (o->mbox && o->flush)
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--mbox and --flush do not go together");
	else if (what != NULL && !batch)
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "%s is for a batch: --mbox, or message FILEs",
			     what);
	else if (o->dry_run && (bo->log || bo->resume))
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--dry-run sends nothing: no --log or --resume");
	else if (bo->log && bo->resume && !g_str_equal (bo->log, bo->resume))
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--resume FILE logs to FILE: no other --log");
	else if (bo->reconnect_after < 0)
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--reconnect-after: want a number of messages");
	else if (bo->rate != NULL)
		mp_rate_parse (bo->rate, &rate, error);
	return *error == NULL;
}

gboolean
mp_submit_options_check (MpSubmitOptions *o, char **args, GError **error)
{
	GError *local = NULL;
	MpSmtpTls tls;
	gboolean files = FALSE;

	if (o->tls != NULL && !parse_tls (o->tls, &tls))
		g_set_error (&local, MP_ERROR, MP_ERROR_USAGE,
			     "--tls %s: want starttls, implicit or off",
			     o->tls);
	else if (o->smtp.timeout <= 0)
		g_set_error (&local, MP_ERROR, MP_ERROR_USAGE,
			     "--timeout: want seconds > 0");
	else if (o->batch.jobs < 1 || o->batch.jobs > 64)
		g_set_error (&local, MP_ERROR, MP_ERROR_USAGE,
			     "--jobs: want 1 to 64");
	else if (o->flush && o->dry_run)
		g_set_error (&local, MP_ERROR, MP_ERROR_USAGE,
			     "--flush and --dry-run do not go together");
	else if (o->output != NULL && !o->dry_run)
		g_set_error (&local, MP_ERROR, MP_ERROR_USAGE,
			     "-o is only for --dry-run");
	else if (mp_smtp_check_config (&o->smtp, &local))
		mp_smtp_check_dsn (&o->dsn, &local);
	if (local == NULL) {
		files = are_files (args, o->local_names, &local);
		if (local == NULL)
			check_batch (o, files, &local);
	}
	if (local == NULL && (o->flush || o->dry_run) && files)
		g_set_error (&local, MP_ERROR, MP_ERROR_USAGE,
			     "%s takes no message files",
			     o->flush ? "--flush" : "--dry-run");
	else if (local == NULL && o->flush && args[0] != NULL)
		g_set_error (&local, MP_ERROR, MP_ERROR_USAGE,
			     "--flush takes no recipients");
	if (local != NULL) {
		g_propagate_error (error, local);
		return FALSE;
	}
	o->files = files ? args : NULL;
	o->recipients = files ? NULL : (const char *const *) args;
	return TRUE;
}

static const char *
tls_name (MpSmtpTls tls)
{
	switch (tls) {
	case MP_SMTP_TLS_IMPLICIT:
		return "implicit";
	case MP_SMTP_TLS_OFF:
		return "off";
	default:
		return "starttls";
	}
}

static gboolean
check_account (const MpAccount *a, GError **error)
{
	if (a->auth != NULL && !mp_smtp_mechanism_supported (a->auth)) {
		g_set_error (error, MP_ERROR, MP_ERROR_CONFIG,
			     "%s:%u: [account %s] auth %s: want SCRAM-SHA-256, "
			     "PLAIN, LOGIN, XOAUTH2 or OAUTHBEARER",
			     a->file, a->line, a->name, a->auth);
		return FALSE;
	}
	return TRUE;
}

gboolean
mp_submit_check (MpSubmit *submit, GError **error)
{
	GPtrArray *all = mp_account_config_get_accounts (submit->config);

	for (guint i = 0; i < all->len; i++)
		if (!check_account (g_ptr_array_index (all, i), error))
			return FALSE;
	if (submit->opts->account != NULL &&
	    mp_account_select (submit->config, submit->opts->account, NULL,
			       error) == NULL)
		return FALSE;
	return TRUE;
}

/* The one place the account meets the command line (which wins) and
 * what was stored with a message (@c->job): the settings of the
 * connection @c, and where its messages are stored.  Checked by
 * conn_setup(). */
static void
conn_merge (MpSubmit *s, Conn *c)
{
	const MpSubmitOptions *o = s->opts;
	const MpAccount *a = c->account;
	const Job *job = c->job;
	/* a stored server goes with its stored TLS mode, unless the command
	 * line names another server */
	const char *job_tls = o->server == NULL ? job->tls : NULL;

	c->cfg = o->smtp;
	c->tls = o->tls ? o->tls : job_tls ? job_tls : a ? a->tls : NULL;
	if (o->server != NULL) {
		c->spec = g_strdup (o->server);
	} else if (job->server != NULL) {
		c->spec = g_strdup (job->server);
	} else if (a != NULL && a->host != NULL) {
		gboolean v6 = strchr (a->host, ':') && a->host[0] != '[';

		c->spec = a->port ?
				  g_strdup_printf (v6 ? "[%s]:%u" : "%s:%u",
						   a->host, a->port) :
				  g_strdup_printf (v6 ? "[%s]" : "%s", a->host);
	}
	if (c->cfg.ca_file == NULL && a != NULL)
		c->cfg.ca_file = a->ca_file;
	if (c->cfg.pins == NULL && a != NULL)
		c->cfg.pins = (const char *const *) a->pins;
	if (c->cfg.user == NULL)
		c->cfg.user = job->user ? job->user : a ? a->user : NULL;
	if (c->cfg.auth == NULL && a != NULL)
		c->cfg.auth = a->auth;
	/* the command line's password command wins; the account's
	 * password= goes with the account's own password source */
	c->pw_cmd = o->password_command ? o->password_command :
		    a                   ? a->password_command :
					  NULL;
	c->pw = o->password_command == NULL && a != NULL ? a->password : NULL;
	c->outbox = o->outbox ? o->outbox : a ? a->outbox : NULL;
}

/* The settings of @c merged (conn_merge()) and checked, and the password
 * fetched. */
static gboolean
conn_setup (MpSubmit *s, Conn *c, GError **error)
{
	const MpSubmitOptions *o = s->opts;
	const MpAccount *a = c->account;
	g_autofree char *what = NULL;
	MpSmtpTls tls;

	conn_merge (s, c);
	if (!parse_tls (c->tls, &tls)) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--tls %s: want starttls, implicit or off",
			     c->tls);
		return FALSE;
	}
	if (c->spec == NULL && a != NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_CONFIG,
			     "%s:%u: [account %s] has no host (or give "
			     "--server)",
			     a->file, a->line, a->name);
		return FALSE;
	}
	if (c->spec == NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "no server: give --server or --account, or set "
			     "up [account default] in %s",
			     mp_account_config_get_file (s->config) ?
				     mp_account_config_get_file (s->config) :
				     "the configuration file");
		return FALSE;
	}
	if (!mp_smtp_parse_server (c->spec, tls, &c->host, &c->cfg.port,
				   &c->cfg.tls, error))
		return FALSE;
	c->cfg.host = c->host;
	if (c->cfg.tls == MP_SMTP_TLS_OFF && c->cfg.user != NULL &&
	    !c->cfg.allow_plaintext_auth) {
		g_set_error (
			error, MP_ERROR, MP_ERROR_USAGE,
			"a login with tls off sends the password in the "
			"clear; add --allow-plaintext-auth if you mean it");
		return FALSE;
	}
	if (c->cfg.user == NULL)
		return TRUE;
	if (o->password_command != NULL)
		what = g_strdup ("--password-command");
	else if (a != NULL && c->pw_cmd != NULL)
		what = g_strdup_printf ("[account %s] password-command",
					a->name);
	else
		what = a ? g_strdup_printf ("[account %s]", a->name) :
			   g_strdup ("--user");
	c->password = mp_account_get_password (c->host, c->cfg.user, c->pw_cmd,
					       c->pw, what, error);
	c->cfg.password = c->password;
	return c->password != NULL;
}

/* The usable connection for @a: opened on first use, opened again when the
 * server closed it; a failure to set up or connect is remembered. */
/* The connection a message goes over: its account, and the server, TLS
 * mode and login stored with it that the command line does not override
 * (messages stored for one place share a connection). */
static char *
conn_key (MpSubmit *s, const MpAccount *a, const Job *job)
{
	const MpSubmitOptions *o = s->opts;
	const char *server = o->server == NULL ? job->server : NULL;
	const char *tls = o->server == NULL && o->tls == NULL ? job->tls : NULL;
	const char *user = o->smtp.user == NULL ? job->user : NULL;

	return g_strdup_printf ("%s\n%s\n%s\n%s", a ? a->name : "",
				server ? server : "", tls ? tls : "",
				user ? user : "");
}

static Conn *
get_conn (MpSubmit *s, const MpAccount *a, const Job *job, GError **error)
{
	g_autofree char *key = conn_key (s, a, job);
	Conn *c = g_hash_table_lookup (s->conns, key);

	if (c == NULL) {
		c = g_new0 (Conn, 1);
		c->account = a;
		g_hash_table_insert (s->conns, g_steal_pointer (&key), c);
		c->job = job;
		conn_setup (s, c, &c->failure);
		c->job = NULL;
	}
	if (c->failure != NULL) {
		g_propagate_error (error, g_error_copy (c->failure));
		return NULL;
	}
	if (c->smtp != NULL && mp_smtp_is_usable (c->smtp))
		return c;
	if (c->smtp != NULL) {
		mp_smtp_quit (c->smtp);
		mp_smtp_free (c->smtp);
	}
	c->smtp = mp_smtp_new (&c->cfg);
	c->messages = 0;
	if (!mp_smtp_connect (c->smtp, &c->failure)) {
		g_propagate_error (error, g_error_copy (c->failure));
		return NULL;
	}
	return c;
}

static gboolean
has_at (const char *s)
{
	return s != NULL && strchr (s, '@') != NULL;
}

static gboolean complete (MpSubmit *s, const MpAccount *a, MpEnvelope *env,
			  GError **error);
static gboolean sign (MpSubmit *s, const MpAccount *a, MpEnvelope *env,
		      GError **error);

/* Chooses the account and builds the envelope for @in. */
static MpEnvelope *
prepare (MpSubmit *s, MpInput *in, const Job *job, const MpAccount **account,
	 GError **error)
{
	const MpSubmitOptions *o = s->opts;
	g_autoptr (GError) parse_error = NULL;
	g_autoptr (GMimeMessage) msg = NULL;
	MpEnvelope *env;
	const char *select_by = NULL;
	const char *from = job->from;

	/* parsed once: the account is chosen by its From, the envelope
	 * built from it; a parse error is reported where the envelope would
	 * be built, after the account's own errors */
	msg = mp_input_parse_message (in, NULL, &parse_error);
	if (job->account == NULL) {
		if (job->from_fixed || has_at (job->from))
			select_by = job->from;
		else if (msg != NULL)
			select_by = mp_envelope_header_from (msg);
	}
	*account =
		mp_account_select (s->config, job->account, select_by, error);
	if (job->account != NULL && *account == NULL)
		return NULL;
	if (!job->from_fixed && !has_at (from)) {
		/* a bare local -f (cron's "-f root") gives way to the
		 * account's address; --from with no '@' is refused below */
		if (o->local_names && from != NULL && *account &&
		    (*account)->from)
			from = NULL;
		if (from == NULL && *account != NULL)
			from = (*account)->from;
		if (o->local_names && from != NULL && *from != '\0' &&
		    !has_at (from)) {
			g_set_error (error, MP_ERROR, MP_ERROR_CONFIG,
				     "-f %s: a local name, and no account "
				     "with from= to send as instead (set "
				     "from= in [account default])",
				     from);
			return NULL;
		}
	}
	if (msg == NULL) {
		g_propagate_error (error, g_steal_pointer (&parse_error));
		return NULL;
	}
	env = mp_envelope_new_parsed (
		in, msg, from, job->recipients, job->header_recipients,
		o->local_names && *account ? (*account)->from : NULL, error);
	if (env != NULL && (!complete (s, *account, env, error) ||
			    !sign (s, *account, env, error)))
		g_clear_pointer (&env, mp_envelope_free);
	return env;
}

static void warn (MpSubmit *s, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static void
warn (MpSubmit *s, const char *fmt, ...)
{
	g_autofree char *msg = NULL;
	va_list ap;

	if (s->opts->warn == NULL || s->dry_run)
		return;
	va_start (ap, fmt);
	msg = g_strdup_vprintf (fmt, ap);
	va_end (ap);
	s->opts->warn (msg, s->opts->warn_data);
}

static void
add_field (MpSubmit *s, MpEnvelope *env, const char *name, const char *value)
{
	mp_envelope_add_field (env, name, value);
	if (s->opts->smtp.transcript != NULL) {
		g_autofree char *line =
			g_strdup_printf ("added %s: %s", name, value);

		s->opts->smtp.transcript (MP_SMTP_LINE_INFO, line,
					  s->opts->smtp.transcript_data);
	}
}

/* A Date this far from now is a mistake (SOURCE_DATE_EPOCH left set
 * when the message was written, a clock off by years). */
#define DATE_SLACK (7 * 24 * 3600)

/* What submission does to every message before the wire (RFC 6409 8):
 * the From checked against the account, a far Date noticed, Date and
 * Message-ID added when missing.  This is the one place the message is
 * changed: a signature made at submission belongs after it. */
static gboolean
complete (MpSubmit *s, const MpAccount *a, MpEnvelope *env, GError **error)
{
	gint64 now = g_get_real_time () / G_USEC_PER_SEC;

	for (guint i = 0; a != NULL && i < env->from->len; i++) {
		const char *addr = g_ptr_array_index (env->from, i);

		/* cron's "From: root": a local name, the account's anyway */
		if (s->opts->local_names && strchr (addr, '@') == NULL)
			continue;
		if (mp_account_allows_from (a, addr))
			continue;
		if (s->opts->strict_from) {
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "From: %s is not an address of [account "
				     "%s] (from=, allowed-from=): refused "
				     "(--strict-from)",
				     addr, a->name);
			return FALSE;
		}
		warn (s,
		      "From: %s is not an address of [account %s] (from=, "
		      "allowed-from=): receivers may take it for a forgery",
		      addr, a->name);
	}
	if (env->has_date && env->date != 0 &&
	    (env->date > now + DATE_SLACK || env->date < now - DATE_SLACK))
		warn (s,
		      "Date: %" G_GINT64_FORMAT
		      " days %s now (was SOURCE_DATE_EPOCH set when the "
		      "message was written?)",
		      ABS (env->date - now) / 86400,
		      env->date > now ? "ahead of" : "before");
	if (env->has_date && env->has_message_id)
		return TRUE;
	if (env->dkim_signed) {
		warn (s,
		      "the message is DKIM-signed and has no %s: nothing "
		      "added (a field added after signing breaks the "
		      "signature)",
		      env->has_date       ? "Message-ID" :
		      env->has_message_id ? "Date" :
					    "Date and Message-ID");
		return TRUE;
	}
	if (!env->has_message_id) {
		const char *at = strrchr (env->sender, '@');
		const char *domain = at ? at + 1 :
				     a && a->from && strrchr (a->from, '@') ?
					  strrchr (a->from, '@') + 1 :
					  "localhost";
		g_autofree char *id = g_mime_utils_generate_message_id (domain);
		g_autofree char *value = g_strdup_printf ("<%s>", id);

		add_field (s, env, "Message-ID", value);
		env->has_message_id = TRUE;
	}
	if (!env->has_date) {
		g_autoptr (GDateTime) d = g_date_time_new_now_local ();
		g_autofree char *value = g_mime_utils_header_format_date (d);

		add_field (s, env, "Date", value);
		env->has_date = TRUE;
		env->date = now;
	}
	return TRUE;
}

/* The account's DKIM signatures, over the message once complete (RFC 6376
 * 5: after the last change), added on top. */
static gboolean
sign (MpSubmit *s, const MpAccount *a, MpEnvelope *env, GError **error)
{
	g_auto (GStrv) values = NULL;

	if (a == NULL || a->dkim_domain == NULL)
		return TRUE;
	if (s->opts->sign == NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_CONFIG,
			     "%s:%u: [account %s] signs with DKIM, which this "
			     "program cannot do",
			     a->file, a->line, a->name);
		return FALSE;
	}
	g_mime_stream_seek (env->data, 0, GMIME_STREAM_SEEK_SET);
	values = s->opts->sign (a, env->data, s->opts->sign_data, error);
	if (values == NULL)
		return FALSE;
	for (guint i = 0; values[i] != NULL; i++) {
		/* folded in the message's line endings; each break is a
		 * CRLF on the wire */
		g_auto (GStrv) lines = g_strsplit (values[i], "\r\n", -1);
		g_autofree char *v =
			g_strjoinv (env->crlf ? "\r\n" : "\n", lines);

		add_field (s, env, "DKIM-Signature", v);
		if (!env->crlf)
			env->size += g_strv_length (lines) - 1;
	}
	return TRUE;
}

static void
fail (MpSubmitResult *res, GError *error)
{
	g_clear_error (&res->error);
	res->error = error;
}

/* Adds to the message of @error what became of the message after it. */
G_GNUC_PRINTF (2, 3)
static void
error_append (GError *error, const char *fmt, ...)
{
	g_autofree char *old = error->message;
	g_autofree char *tail = NULL;
	va_list ap;

	va_start (ap, fmt);
	tail = g_strdup_vprintf (fmt, ap);
	va_end (ap);
	error->message = g_strconcat (old, tail, NULL);
}

static void
collect_replies (GPtrArray *rs, MpSubmitResult *res)
{
	gboolean refused = FALSE;

	for (guint i = 0; i < rs->len; i++) {
		MpSmtpRecipient *r = g_ptr_array_index (rs, i);

		if (!r->accepted && r->code != 0)
			refused = TRUE;
	}
	if (!refused)
		return;
	res->replies = g_ptr_array_new_with_free_func (g_free);
	for (guint i = 0; i < rs->len; i++) {
		MpSmtpRecipient *r = g_ptr_array_index (rs, i);

		g_ptr_array_add (
			res->replies,
			g_strdup_printf ("%s: %s: %s", r->recipient,
					 r->accepted ? "accepted" : "refused",
					 r->reply ? r->reply : "no reply"));
	}
}

/* Stores @env in the outbox after a temporary failure. */
static void
store (MpSubmit *s, const MpAccount *a, const Job *job, MpEnvelope *env,
       MpSubmitResult *res)
{
	g_autofree char *key = conn_key (s, a, job);
	/* the connection it was to go over, set up or not */
	Conn *c = g_hash_table_lookup (s->conns, key);
	g_autoptr (MpOutbox) outbox = NULL;
	g_autoptr (MpOutboxEnvelope) oenv = NULL;
	g_autoptr (GError) error = NULL;

	if (c == NULL || c->outbox == NULL)
		return;
	oenv = mp_outbox_envelope_new ();
	oenv->account = a ? g_strdup (a->name) : NULL;
	/* where it was to go, so that a flush sends it there (issue 14:
	 * --server and --user were lost) */
	if (c->host != NULL) {
		oenv->server = g_strdup_printf (
			strchr (c->host, ':') ? "[%s]:%u" : "%s:%u", c->host,
			c->cfg.port);
		oenv->tls = g_strdup (tls_name (c->cfg.tls));
		oenv->user = g_strdup (c->cfg.user);
	}
	oenv->sender = g_strdup (env->sender);
	for (guint i = 0; i < env->recipients->len; i++)
		g_ptr_array_add (
			oenv->recipients,
			g_strdup (g_ptr_array_index (env->recipients, i)));
	if (job->dsn != NULL) {
		oenv->notify = g_strdup (job->dsn->notify);
		oenv->ret = g_strdup (job->dsn->ret);
		oenv->envid = g_strdup (job->dsn->envid);
	}
	oenv->allow_partial = job->allow_partial;
	g_mime_stream_seek (env->data, 0, GMIME_STREAM_SEEK_SET);
	outbox = mp_outbox_open (c->outbox, &error);
	if (outbox != NULL)
		res->stored = mp_outbox_store (outbox, oenv, env->data, &error);
	if (res->stored != NULL)
		error_append (res->error,
			      "; stored in %s for smtp-send --flush",
			      res->stored);
	else
		error_append (res->error, "; NOT stored in the outbox: %s",
			      error->message);
}

/* --allow-partial sent the message to the accepted recipients; those
 * refused for now (4xx) are not forgotten: with an outbox, the message is
 * kept there for them alone.  Sent from stdin or a file, that ends with
 * 75 like any message kept; in a flush the stored copy went out, and the
 * new one waits for the next flush. */
static void
keep_refused_for_now (MpSubmit *s, const MpAccount *a, const Job *job,
		      MpEnvelope *env, GPtrArray *rs, MpSubmitResult *res)
{
	g_autofree char *key = conn_key (s, a, job);
	Conn *c = g_hash_table_lookup (s->conns, key);
	GPtrArray *later = g_ptr_array_new_with_free_func (g_free);
	GPtrArray *all = env->recipients;

	for (guint i = 0; i < rs->len; i++) {
		MpSmtpRecipient *r = g_ptr_array_index (rs, i);

		if (!r->accepted && r->code >= 400 && r->code < 500)
			g_ptr_array_add (later, g_strdup (r->recipient));
	}
	if (later->len == 0 || c == NULL || c->outbox == NULL) {
		g_ptr_array_unref (later);
		return;
	}
	fail (res, g_error_new (MP_ERROR, MP_ERROR_TEMPFAIL,
				"%u recipient%s refused for now", later->len,
				later->len == 1 ? "" : "s"));
	env->recipients = later;
	store (s, a, job, env, res);
	env->recipients = all;
	g_ptr_array_unref (later);
	/* in a flush, the copy sent went out: the new one waits */
	if (!job->may_store && res->stored != NULL)
		g_clear_error (&res->error);
}

/* Builds the envelope of @in and finds its connection; on failure fills
 * @res (storing the message after a temporary one) and returns NULL. */
static Conn *
submit_start (MpSubmit *s, MpInput *in, const Job *job, MpSubmitResult *res,
	      MpEnvelope **envp, const MpAccount **ap)
{
	MpEnvelope *env;
	GError *error = NULL;
	Conn *c;

	memset (res, 0, sizeof *res);
	*envp = NULL;
	*ap = NULL;
	env = prepare (s, in, job, ap, &error);
	res->account = *ap ? g_strdup ((*ap)->name) : NULL;
	if (env == NULL) {
		fail (res, error);
		return NULL;
	}
	*envp = env;
	res->recipients = env->recipients->len;
	c = get_conn (s, *ap, job, &error);
	if (c == NULL) {
		fail (res, error);
		if (is_temporary (res->error) && job->may_store)
			store (s, *ap, job, env, res);
	}
	return c;
}

/* What became of a message the server answered: @ok, else @error
 * (taken); @rs the replies to its recipients. */
static void
submit_end (MpSubmit *s, const MpAccount *a, const Job *job, MpEnvelope *env,
	    GPtrArray *rs, gboolean ok, GError *error, MpSubmitResult *res)
{
	collect_replies (rs, res);
	if (ok) {
		keep_refused_for_now (s, a, job, env, rs, res);
		return;
	}
	fail (res, error);
	if (is_temporary (res->error) && job->may_store)
		store (s, a, job, env, res);
}

/* Sends one message; returns TRUE when the failure (if any) came from the
 * transaction (a refusal of this message), not from the connection. */
static gboolean
submit_one (MpSubmit *s, MpInput *in, const Job *job, MpSubmitResult *res)
{
	g_autoptr (MpEnvelope) env = NULL;
	const MpAccount *a = NULL;
	GError *error = NULL;
	Conn *c;
	gboolean ok;

	c = submit_start (s, in, job, res, &env, &a);
	if (c == NULL)
		return FALSE;
	ok = mp_smtp_send (c->smtp, env, job->dsn, job->allow_partial, &error);
	submit_end (s, a, job, env, mp_smtp_get_recipients (c->smtp), ok, error,
		    res);
	return TRUE;
}

static void
job_from_options (const MpSubmitOptions *o, Job *job)
{
	memset (job, 0, sizeof *job);
	job->account = o->account;
	job->from = o->from;
	job->recipients = o->recipients;
	job->header_recipients = o->header_recipients;
	job->dsn = &o->dsn;
	job->allow_partial = o->allow_partial;
	job->may_store = TRUE;
}

void
mp_submit_message (MpSubmit *submit, MpInput *in, MpSubmitResult *res)
{
	Job job;

	job_from_options (submit->opts, &job);
	submit_one (submit, in, &job, res);
}

gboolean
mp_submit_dry_run (MpSubmit *submit, MpInput *in, MpWriteFunc write,
		   gpointer user_data, GError **error)
{
	const MpSubmitOptions *o = submit->opts;
	g_autoptr (MpEnvelope) env = NULL;
	const MpAccount *a = NULL;
	Job job = { 0 };

	job.account = o->account;
	job.from = o->from;
	job.recipients = o->recipients;
	job.header_recipients = o->header_recipients;
	submit->dry_run = TRUE;
	env = prepare (submit, in, &job, &a, error);
	submit->dry_run = FALSE;
	return env != NULL && mp_smtp_dry_run (env, write, user_data, error);
}

gboolean
mp_submit_dry_run_mbox (MpSubmit *submit, int fd, const char *name,
			MpWriteFunc write, gpointer user_data, GError **error)
{
	g_autoptr (MpMboxReader) r = mp_mbox_reader_new (fd, name);

	for (;;) {
		g_autoptr (MpInput) in = NULL;

		if (!mp_mbox_reader_next (r, &in, error))
			return FALSE;
		if (in == NULL)
			break;
		if (!mp_submit_dry_run (submit, in, write, user_data, error))
			return FALSE;
	}
	if (mp_mbox_reader_get_count (r) == 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: empty: no message to send", name);
		return FALSE;
	}
	return TRUE;
}

char **
mp_submit_outboxes (MpSubmit *submit)
{
	const MpSubmitOptions *o = submit->opts;
	GPtrArray *all = mp_account_config_get_accounts (submit->config);
	GPtrArray *dirs = g_ptr_array_new ();

	if (o->outbox != NULL) {
		g_ptr_array_add (dirs, g_strdup (o->outbox));
	} else if (o->account != NULL) {
		const MpAccount *a =
			mp_account_config_find (submit->config, o->account);

		if (a != NULL && a->outbox != NULL)
			g_ptr_array_add (dirs, g_strdup (a->outbox));
	} else {
		for (guint i = 0; i < all->len; i++) {
			const MpAccount *a = g_ptr_array_index (all, i);
			gboolean seen = FALSE;

			for (guint k = 0; k < dirs->len && a->outbox; k++)
				seen |= g_str_equal (
					g_ptr_array_index (dirs, k), a->outbox);
			if (a->outbox != NULL && !seen)
				g_ptr_array_add (dirs, g_strdup (a->outbox));
		}
	}
	g_ptr_array_add (dirs, NULL);
	return (char **) g_ptr_array_free (dirs, FALSE);
}

/* Checks what was stored beside a message as the command line's values
 * are checked (issue 14: a stored DSN value with a CR reached the wire).
 * Errors: MP_ERROR_DATA naming @path and the value; MP_ERROR_CONFIG
 * when the stored account is not in the configuration. */
static gboolean
check_stored (MpSubmit *s, const MpOutboxEnvelope *oenv, const char *path,
	      GError **error)
{
	g_autoptr (GError) local = NULL;
	g_autofree char *host = NULL;
	g_autofree char *addr = NULL;
	MpSmtpDsn dsn = { oenv->notify, oenv->ret, oenv->envid };
	MpSmtpConfig cfg = { 0 };
	MpSmtpTls tls;
	guint16 port;
	const char *what = NULL;

	if (oenv->account != NULL) {
		for (const char *p = oenv->account; *p != '\0'; p++)
			if ((guchar) *p < 0x20 || *p == 0x7f)
				what = "account";
		if (what == NULL &&
		    mp_account_config_find (s->config, oenv->account) == NULL) {
			g_set_error (
				error, MP_ERROR, MP_ERROR_CONFIG,
				"%s: stored account: no [account %s] in %s",
				path, oenv->account,
				mp_account_config_get_file (s->config) ?
					mp_account_config_get_file (s->config) :
					"the configuration");
			return FALSE;
		}
	}
	if (what == NULL &&
	    !mp_address_check_envelope ("sender", oenv->sender, TRUE,
					MP_ERROR_DATA, &addr, NULL, &local))
		what = "sender";
	for (guint i = 0; what == NULL && i < oenv->recipients->len; i++) {
		g_clear_pointer (&addr, g_free);
		if (!mp_address_check_envelope (
			    "recipient",
			    g_ptr_array_index (oenv->recipients, i), FALSE,
			    MP_ERROR_DATA, &addr, NULL, &local))
			what = "recipient";
	}
	if (what == NULL && !mp_smtp_check_dsn (&dsn, &local))
		what = "DSN";
	if (what == NULL && oenv->tls != NULL && !parse_tls (oenv->tls, &tls))
		what = "TLS mode";
	if (what == NULL && oenv->tls != NULL && oenv->server == NULL)
		what = "TLS mode without a server";
	if (what == NULL && oenv->server != NULL &&
	    (!parse_tls (oenv->tls, &tls) ||
	     !mp_smtp_parse_server (oenv->server, tls, &host, &port, &tls,
				    &local)))
		what = "server";
	cfg.user = oenv->user;
	if (what == NULL && !mp_smtp_check_config (&cfg, &local))
		what = "user";
	if (what == NULL)
		return TRUE;
	g_set_error (error, MP_ERROR, MP_ERROR_DATA,
		     "%s: the stored %s is not valid%s%s: not sent", path, what,
		     local ? ": " : "", local ? local->message : "");
	return FALSE;
}

/* Opens the stored message @name (at PATH) and checks its envelope:
 * returns its input with the envelope in *OENV and the descriptor in *FD,
 * or NULL with @error (nothing left open). */
static MpInput *
flush_open (MpSubmit *s, MpOutbox *outbox, const char *name, const char *path,
	    MpOutboxEnvelope **oenv, int *fd, GError **error)
{
	MpInput *in = NULL;

	*fd = mp_outbox_open_message (outbox, name, oenv, error);
	if (*fd >= 0 && !check_stored (s, *oenv, path, error)) {
		close (*fd);
		*fd = -1;
	}
	if (*fd >= 0) {
		in = mp_input_open_fd (*fd, path, error);
		if (in == NULL)
			close (*fd);
	}
	return in;
}

/* Fills @job (and @dsn, RCPTS: the NULL-terminated recipients it points
 * to) from the stored envelope OENV, the account of the command line when
 * the envelope names none. */
static void
flush_job (MpSubmit *s, const MpOutboxEnvelope *oenv, GPtrArray *rcpts,
	   MpSmtpDsn *dsn, Job *job)
{
	for (guint i = 0; i < oenv->recipients->len; i++)
		g_ptr_array_add (rcpts,
				 g_ptr_array_index (oenv->recipients, i));
	g_ptr_array_add (rcpts, NULL);
	dsn->notify = oenv->notify;
	dsn->ret = oenv->ret;
	dsn->envid = oenv->envid;
	job->account = oenv->account ? oenv->account : s->opts->account;
	job->from = oenv->sender;
	job->from_fixed = TRUE;
	job->server = oenv->server;
	job->tls = oenv->tls;
	job->user = oenv->user;
	job->recipients = (const char *const *) rcpts->pdata;
	job->dsn = dsn;
	job->allow_partial = oenv->allow_partial;
}

/* After a send of @name: removes it when sent, keeps it after a temporary
 * failure, and sets it aside when the server refused it for good inside
 * the transaction; adds to res->error what went wrong doing so. */
static void
flush_settle (MpOutbox *outbox, const char *name, gboolean in_transaction,
	      MpSubmitResult *res)
{
	GError *error = NULL;

	if (res->error == NULL) {
		/* sent: it must go, or the next flush sends it again */
		if (!mp_outbox_remove (outbox, name, &error)) {
			res->error = g_error_new (
				MP_ERROR, mp_error_class (error),
				"sent, but not removed from the outbox (the "
				"next flush sends it again): %s",
				error->message);
			g_error_free (error);
		}
		return;
	}
	if (is_temporary (res->error)) {
		error_append (res->error, "; kept for the next flush");
		return;
	}
	/* refused for good by the server: out of the queue, kept on disk */
	switch (in_transaction ? mp_error_class (res->error) :
				 MP_ERROR_SOFTWARE) {
	case MP_ERROR_DATA:
	case MP_ERROR_NO_USER:
	case MP_ERROR_UNAVAILABLE:
		res->set_aside = mp_outbox_set_aside (outbox, name, &error);
		if (res->set_aside == NULL) {
			error_append (res->error, "; %s", error->message);
			g_error_free (error);
		}
		break;
	default:
		break;
	}
}

/* Sends the stored message @name; fills @res. */
static void
flush_one (MpSubmit *s, MpOutbox *outbox, const char *name, MpSubmitResult *res)
{
	g_autoptr (MpOutboxEnvelope) oenv = NULL;
	g_autoptr (MpInput) in = NULL;
	g_autofree char *path =
		g_build_filename (mp_outbox_get_dir (outbox), name, NULL);
	g_autoptr (GPtrArray) rcpts = NULL;
	GError *error = NULL;
	MpSmtpDsn dsn = { 0 };
	Job job = { 0 };
	gboolean in_transaction;
	int fd;

	memset (res, 0, sizeof *res);
	in = flush_open (s, outbox, name, path, &oenv, &fd, &error);
	if (in == NULL) {
		gboolean foreign = error->domain == MP_ERROR &&
				   error->code == MP_ERROR_DATA;

		fail (res, error);
		/* not a message we stored: out of the queue */
		if (foreign)
			res->set_aside =
				mp_outbox_set_aside (outbox, name, NULL);
		return;
	}
	rcpts = g_ptr_array_new ();
	flush_job (s, oenv, rcpts, &dsn, &job);
	in_transaction = submit_one (s, in, &job, res);
	close (fd);
	flush_settle (outbox, name, in_transaction, res);
}

void
mp_submit_flush (MpSubmit *submit, const char *dir, MpSubmitReportFunc report,
		 gpointer user_data, MpSubmitBatchStats *stats)
{
	g_autoptr (MpOutbox) outbox = NULL;
	g_autoptr (GPtrArray) names = NULL;

	memset (stats, 0, sizeof *stats);
	outbox = mp_outbox_open (dir, &stats->error);
	if (outbox != NULL && mp_outbox_lock (outbox, TRUE, &stats->error))
		names = mp_outbox_list (outbox, &stats->error);
	if (names == NULL) {
		mp_submit_keep_worse (&stats->worst,
				      g_error_copy (stats->error));
		return;
	}
	for (guint i = 0; i < names->len; i++) {
		const char *name = g_ptr_array_index (names, i);
		g_autofree char *path = g_build_filename (dir, name, NULL);
		MpSubmitResult res;

		flush_one (submit, outbox, name, &res);
		if (report != NULL)
			report (path, &res, user_data);
		if (res.error == NULL)
			stats->sent++;
		else
			stats->failed++;
		mp_submit_keep_worse (&stats->worst,
				      g_steal_pointer (&res.error));
		mp_submit_result_clear (&res);
	}
}

/* ---- batches: files or an mbox stream, one code path ------------------ */

struct _MpSubmitSource {
	char **files; /* or NULL: an mbox */
	guint n;
	guint next;
	MpMboxReader *mbox;
	int fd;
	char *name;
	gboolean is_pipe; /* reading may wait for the writer */
};

MpSubmitSource *
mp_submit_source_new_files (char **files, guint n)
{
	MpSubmitSource *src = g_new0 (MpSubmitSource, 1);

	src->files = files;
	src->n = n;
	src->fd = -1;
	return src;
}

MpSubmitSource *
mp_submit_source_new_mbox (int fd, const char *name)
{
	MpSubmitSource *src = g_new0 (MpSubmitSource, 1);
	struct stat st;

	src->mbox = mp_mbox_reader_new (fd, name);
	src->fd = fd;
	src->name = g_strdup (name);
	src->is_pipe = fstat (fd, &st) < 0 || !S_ISREG (st.st_mode);
	return src;
}

void
mp_submit_source_free (MpSubmitSource *src)
{
	if (src == NULL)
		return;
	g_clear_pointer (&src->mbox, mp_mbox_reader_free);
	g_free (src->name);
	g_free (src);
}

/* One message of a batch, from the source to its report and log line. */
typedef struct {
	char *name;
	MpInput *in;      /* NULL when it could not be read */
	GError *error;    /* why */
	char *message_id; /* of the input, with <>, or NULL */
	char *sha256;     /* of the input's bytes, when logging */
	MpSubmitResult res;
} Item;

static void
item_free (Item *it)
{
	g_free (it->name);
	g_clear_pointer (&it->in, mp_input_free);
	g_clear_error (&it->error);
	g_free (it->message_id);
	g_free (it->sha256);
	mp_submit_result_clear (&it->res);
	g_free (it);
}

/* The Message-ID field of the message in @stream (from its start), and
 * the SHA-256 of all its bytes when @sha is not NULL. */
static void
digest (GMimeStream *stream, char **message_id, char **sha)
{
	g_autoptr (GChecksum) sum =
		sha ? g_checksum_new (G_CHECKSUM_SHA256) : NULL;
	g_autoptr (MpHeaders) h = mp_headers_new ("message");
	gboolean headers = TRUE;
	char buf[65536];
	gssize n;

	*message_id = NULL;
	g_mime_stream_seek (stream, 0, GMIME_STREAM_SEEK_SET);
	while ((n = mp_io_stream_read (stream, buf, sizeof buf)) > 0) {
		if (sum != NULL)
			g_checksum_update (sum, (const guchar *) buf, n);
		if (headers && (!mp_headers_feed (h, buf, (gsize) n, NULL) ||
				mp_headers_is_complete (h)))
			headers = FALSE;
		if (!headers && sum == NULL)
			break;
	}
	g_mime_stream_seek (stream, 0, GMIME_STREAM_SEEK_SET);
	if (headers)
		mp_headers_finish (h, NULL);
	for (guint i = 0; i < mp_headers_get_n_entries (h); i++) {
		const char *name = mp_headers_get_name (h, i);

		if (name != NULL &&
		    g_ascii_strcasecmp (name, "Message-ID") == 0) {
			g_autofree char *raw = mp_headers_get_raw_value (h, i);
			char *v = g_strstrip (raw);

			if (*v != '\0')
				*message_id = g_strdup (v);
			break;
		}
	}
	if (sha != NULL)
		*sha = g_strdup (g_checksum_get_string (sum));
}

typedef struct {
	const MpSubmitOptions *opts;
	MpAccountConfig *config;
	MpSubmitSource *src;
	const MpSubmitBatchOptions *bo;
	MpRate *rate;   /* --rate, or NULL */
	MpSendLog *log; /* --log, --resume, or NULL */
	GMutex lock;    /* the source, the pace, the counts */
	GMutex report;  /* reports and log lines */
	gboolean ended; /* the source is at its end, or failed */
	guint taken;    /* messages read from the source */
	MpSubmitBatchStats *stats;
} Run;

/* A message whose data went out and whose end-of-data reply is still to
 * come (RFC 2920: it is read after the next message's commands went). */
typedef struct {
	Item *item;
	MpEnvelope *env;
	const MpAccount *a;
	Conn *c;
	GPtrArray *rs; /* the replies to its recipients */
} InFlight;

/* The message is done: its report, its log line, its count. */
static void
batch_done (Run *r, Item *it, MpEnvelope *env)
{
	MpSubmitResult *res = &it->res;
	const MpSubmitBatchOptions *bo = r->bo;

	g_mutex_lock (&r->report);
	if (bo->report != NULL)
		bo->report (it->name, res, bo->report_data);
	if (r->log != NULL && it->in != NULL) {
		g_autofree char *sent_id = NULL;
		g_autoptr (GPtrArray) rcpts = g_ptr_array_new ();
		GError *error = NULL;
		MpSendLogEntry e = { 0 };

		/* the Message-ID submission added, when the message had none */
		if (it->message_id == NULL && env != NULL)
			digest (env->data, &sent_id, NULL);
		for (guint i = 0; env != NULL && i < env->recipients->len; i++)
			g_ptr_array_add (
				rcpts, g_ptr_array_index (env->recipients, i));
		g_ptr_array_add (rcpts, NULL);
		e.message_id = it->message_id ? it->message_id : sent_id;
		e.sha256 = it->sha256;
		e.recipients = (const char *const *) rcpts->pdata;
		e.status = res->error == NULL        ? "accepted" :
			   is_temporary (res->error) ? "deferred" :
						       "refused";
		e.reply = res->reply ? res->reply :
			  res->error ? res->error->message :
				       NULL;
		if (!mp_send_log_append (r->log, &e, &error)) {
			g_mutex_lock (&r->lock);
			r->ended = TRUE;
			if (r->stats->error == NULL)
				r->stats->error = error;
			else
				g_error_free (error);
			g_mutex_unlock (&r->lock);
		}
	}
	g_mutex_unlock (&r->report);
	g_mutex_lock (&r->lock);
	if (res->error == NULL)
		r->stats->sent++;
	else
		r->stats->failed++;
	mp_submit_keep_worse (&r->stats->worst, g_steal_pointer (&res->error));
	g_mutex_unlock (&r->lock);
	item_free (it);
}

/* Reads the outcome of the message in flight, if any; reports it. */
static void
land (MpSubmit *s, const Job *job, Run *r, InFlight *f)
{
	GError *error = NULL;
	gboolean ok;

	if (f->env == NULL)
		return;
	ok = mp_smtp_finish (f->c->smtp, &error);
	f->item->res.reply = g_strdup (mp_smtp_get_final_reply (f->c->smtp));
	submit_end (s, f->a, job, f->env, f->rs, ok, error, &f->item->res);
	batch_done (r, f->item, f->env);
	f->item = NULL;
	g_clear_pointer (&f->env, mp_envelope_free);
	g_clear_pointer (&f->rs, g_ptr_array_unref);
	f->c = NULL;
}

/* Sends @it as mp_submit_message() does, its commands behind the end of
 * data of the message in flight when both go over the same connection;
 * that message's outcome is reported first.  When the end of this one's
 * reply is deferred, it becomes the one in flight. */
static void
batch_send (MpSubmit *s, const Job *job, Run *r, Item *it, InFlight *f)
{
	MpSubmitResult *res = &it->res;
	MpEnvelope *env = NULL;
	const MpAccount *a = NULL;
	GError *error = NULL;
	gboolean deferred = FALSE;
	gboolean retried = FALSE;
	gboolean ok = FALSE;
	Conn *c;

	c = submit_start (s, it->in, job, res, &env, &a);
	if (c != f->c)
		land (s, job, r, f);
	while (c != NULL) {
		ok = mp_smtp_send_pipelined (c->smtp, env, job->dsn,
					     job->allow_partial, &deferred,
					     &error);
		if (!deferred)
			res->reply =
				g_strdup (mp_smtp_get_final_reply (c->smtp));
		/* the message before: its reply came first */
		land (s, job, r, f);
		if (ok || !mp_smtp_lost (c->smtp) || retried)
			break;
		/* the message before ended the session before this one was
		 * taken: as if it had been sent after that, on a new
		 * connection */
		g_clear_error (&error);
		g_clear_pointer (&res->reply, g_free);
		retried = TRUE;
		c = get_conn (s, a, job, &error);
		if (c == NULL) {
			fail (res, error);
			if (is_temporary (res->error) && job->may_store)
				store (s, a, job, env, res);
		}
	}
	if (c != NULL)
		c->messages++;
	if (c != NULL && ok && deferred) {
		f->item = it;
		f->env = env;
		f->a = a;
		f->c = c;
		f->rs = g_ptr_array_ref (mp_smtp_get_recipients (c->smtp));
	} else {
		if (c != NULL)
			submit_end (s, a, job, env,
				    mp_smtp_get_recipients (c->smtp), ok, error,
				    res);
		batch_done (r, it, env);
		if (env != NULL)
			mp_envelope_free (env);
	}
	/* --reconnect-after: a new session after N messages */
	if (c != NULL && r->bo->reconnect_after > 0 &&
	    c->messages >= (guint) r->bo->reconnect_after) {
		land (s, job, r, f);
		mp_smtp_quit (c->smtp);
		c->messages = 0;
	}
}

/* TRUE when reading the next message may wait (a pipe with nothing to
 * read yet) or the pace says to wait: the end of data in flight must
 * not wait in our buffer meanwhile. */
static gboolean
would_wait (Run *r)
{
	MpSubmitSource *src = r->src;
	struct pollfd pfd = { src->fd, POLLIN, 0 };

	if (r->rate != NULL && r->rate->next > g_get_monotonic_time ())
		return TRUE;
	if (src->files != NULL)
		return src->next < src->n &&
		       !g_file_test (src->files[src->next],
				     G_FILE_TEST_IS_REGULAR);
	return src->is_pipe && poll (&pfd, 1, 0) == 0;
}

/* The next message of the source (with r->lock held), or NULL at its
 * end or when it failed (r->stats->error). */
static Item *
source_next (Run *r)
{
	MpSubmitSource *src = r->src;
	Item *it;
	GError *error = NULL;
	MpInput *in = NULL;

	if (src->files != NULL) {
		if (src->next >= src->n)
			return NULL;
		it = g_new0 (Item, 1);
		it->name = g_strdup (src->files[src->next++]);
		it->in = mp_input_open (it->name, &it->error);
		return it;
	}
	if (!mp_mbox_reader_next (src->mbox, &in, &error)) {
		r->stats->error = error;
		return NULL;
	}
	if (in == NULL) {
		if (mp_mbox_reader_get_count (src->mbox) == 0)
			g_set_error (&r->stats->error, MP_ERROR, MP_ERROR_DATA,
				     "%s: empty: no message to send",
				     src->name);
		return NULL;
	}
	it = g_new0 (Item, 1);
	it->name = g_strdup_printf ("%s: message %u", src->name,
				    mp_mbox_reader_get_count (src->mbox));
	it->in = in;
	return it;
}

/* The next message to send, or NULL: the source's end, a failure, or a
 * stop.  Messages the resumed log shows accepted are skipped here. */
static Item *
take (MpSubmit *s, const Job *job, Run *r, InFlight *f)
{
	const MpSubmitBatchOptions *bo = r->bo;
	Item *it = NULL;

	/* another worker reads: what is in flight goes meanwhile */
	if (!g_mutex_trylock (&r->lock)) {
		land (s, job, r, f);
		g_mutex_lock (&r->lock);
	}
	for (;;) {
		if (r->ended)
			break;
		if (bo->stop != NULL && *bo->stop) {
			r->stats->stopped = TRUE;
			break;
		}
		if (f->env != NULL && would_wait (r)) {
			g_mutex_unlock (&r->lock);
			land (s, job, r, f);
			g_mutex_lock (&r->lock);
			continue;
		}
		it = source_next (r);
		if (it == NULL) {
			r->ended = TRUE;
			break;
		}
		r->taken++;
		if (it->in != NULL && r->log != NULL) {
			digest (mp_input_get_stream (it->in), &it->message_id,
				&it->sha256);
			if (mp_send_log_is_done (r->log, it->message_id,
						 it->sha256)) {
				r->stats->skipped++;
				g_clear_pointer (&it, item_free);
				continue;
			}
		}
		if (it->in != NULL && r->rate != NULL &&
		    !mp_rate_wait (r->rate, bo->stop)) {
			/* stopped while waiting: this one is not sent */
			g_clear_pointer (&it, item_free);
			r->stats->stopped = TRUE;
			break;
		}
		break;
	}
	g_mutex_unlock (&r->lock);
	return it;
}

static gpointer
run_worker (gpointer data)
{
	Run *r = data;
	g_autoptr (MpSubmit) submit = mp_submit_new (r->opts, r->config);
	InFlight f = { 0 };
	Job job;
	Item *it;

	job_from_options (r->opts, &job);
	while ((it = take (submit, &job, r, &f)) != NULL) {
		if (it->in != NULL) {
			batch_send (submit, &job, r, it, &f);
			continue;
		}
		land (submit, &job, r, &f);
		it->res.error = g_steal_pointer (&it->error);
		batch_done (r, it, NULL);
	}
	land (submit, &job, r, &f);
	return NULL;
}

void
mp_submit_run (const MpSubmitOptions *opts, MpAccountConfig *config,
	       MpSubmitSource *src, MpSubmitBatchStats *stats)
{
	const MpSubmitBatchOptions *bo = &opts->batch;
	const char *log_path = bo->resume ? bo->resume : bo->log;
	g_autoptr (MpSendLog) log = NULL;
	MpRate rate = { 0 };
	Run r = { 0 };
	guint jobs = (guint) MAX (bo->jobs, 1);
	GThread **threads;

	memset (stats, 0, sizeof *stats);
	if (log_path != NULL)
		log = mp_send_log_open (log_path, bo->resume != NULL,
					&stats->error);
	if (stats->error == NULL && bo->rate != NULL)
		mp_rate_parse (bo->rate, &rate, &stats->error);
	if (stats->error != NULL) {
		mp_submit_keep_worse (&stats->worst,
				      g_error_copy (stats->error));
		return;
	}
	r.opts = opts;
	r.config = config;
	r.src = src;
	r.bo = bo;
	r.rate = bo->rate ? &rate : NULL;
	r.log = log;
	r.stats = stats;
	g_mutex_init (&r.lock);
	g_mutex_init (&r.report);
	if (src->files != NULL)
		jobs = CLAMP (jobs, 1, MAX (src->n, 1));
	threads = g_new0 (GThread *, jobs);
	for (guint j = 1; j < jobs; j++)
		threads[j] = g_thread_new ("smtp-send", run_worker, &r);
	run_worker (&r);
	for (guint j = 1; j < jobs; j++)
		g_thread_join (threads[j]);
	g_free (threads);
	g_mutex_clear (&r.lock);
	g_mutex_clear (&r.report);
	if (stats->error != NULL)
		mp_submit_keep_worse (&stats->worst,
				      g_error_copy (stats->error));
	if (stats->stopped)
		mp_submit_keep_worse (&stats->worst,
				      g_error_new (MP_ERROR, MP_ERROR_TEMPFAIL,
						   "stopped by a signal"));
	if (log != NULL && !mp_send_log_sync (log, &stats->sync_error))
		mp_submit_keep_worse (&stats->worst,
				      g_error_copy (stats->sync_error));
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

char **
mp_submit_result_lines (const char *name, const MpSubmitResult *res,
			gboolean batch)
{
	GPtrArray *lines = g_ptr_array_new ();
	const char *prefix = batch ? name : "";
	const char *sep = batch ? ": " : "";
	const char *why = res->error ? res->error->message : NULL;

	for (guint i = 0; res->replies != NULL && i < res->replies->len; i++)
		g_ptr_array_add (lines,
				 g_strdup_printf ("%s%s%s", prefix, sep,
						  (char *) g_ptr_array_index (
							  res->replies, i)));
	if (why == NULL && batch)
		g_ptr_array_add (
			lines,
			g_strdup_printf ("%s: sent to %u recipient%s", name,
					 res->recipients,
					 res->recipients == 1 ? "" : "s"));
	else if (why != NULL && res->set_aside != NULL)
		g_ptr_array_add (
			lines, g_strdup_printf ("%s: %s; set aside in %s", name,
						without_name (why, name),
						res->set_aside));
	else if (why != NULL)
		g_ptr_array_add (
			lines, g_strdup_printf (
				       "%s%s%s", prefix, sep,
				       batch ? without_name (why, name) : why));
	g_ptr_array_add (lines, NULL);
	return (char **) g_ptr_array_free (lines, FALSE);
}

char **
mp_submit_batch_lines (const MpSubmitOptions *opts,
		       const MpSubmitBatchStats *stats)
{
	const char *log_path =
		opts->batch.resume ? opts->batch.resume : opts->batch.log;
	GPtrArray *lines = g_ptr_array_new ();

	if (stats->skipped > 0)
		g_ptr_array_add (
			lines, g_strdup_printf ("%u message%s already "
						"accepted in %s: not sent "
						"again",
						stats->skipped,
						stats->skipped == 1 ? "" : "s",
						log_path));
	if (stats->stopped && log_path != NULL)
		g_ptr_array_add (
			lines,
			g_strdup_printf ("stopped by a signal: %u sent, "
					 "%u not accepted, the rest "
					 "not sent; smtp-send "
					 "--resume %s continues",
					 stats->sent, stats->failed, log_path));
	else if (stats->stopped)
		g_ptr_array_add (
			lines, g_strdup_printf ("stopped by a signal: %u sent, "
						"%u not accepted, the rest "
						"not sent (without --log "
						"nothing says which: use "
						"--log FILE next time)",
						stats->sent, stats->failed));
	g_ptr_array_add (lines, NULL);
	return (char **) g_ptr_array_free (lines, FALSE);
}
