/* mp-submit: accounts, connections, the outbox: smtp-send's logic. */
#include "mp-submit.h"
#include "mp-error.h"

#include "mp-headers.h"
#include "mp-mbox.h"

#include <poll.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sysexits.h>
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
	MpSmtpConfig cfg;
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
	g_free (c->host);
	if (c->password != NULL)
		explicit_bzero (c->password, strlen (c->password));
	g_free (c->password);
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
	g_clear_pointer (&res->error, g_free);
	g_clear_pointer (&res->stored, g_free);
	g_clear_pointer (&res->set_aside, g_free);
	g_clear_pointer (&res->account, g_free);
	g_clear_pointer (&res->replies, g_ptr_array_unref);
	g_clear_pointer (&res->reply, g_free);
	res->exit_code = 0;
	res->recipients = 0;
}

int
mp_submit_worse (int a, int b)
{
	if (a != 0 && a != EX_TEMPFAIL)
		return a;
	if (b != 0 && b != EX_TEMPFAIL)
		return b;
	return a == EX_TEMPFAIL || b == EX_TEMPFAIL ? EX_TEMPFAIL : 0;
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

/* The server, TLS, login and password for @a merged with the command line
 * (which wins). */
static gboolean
conn_setup (MpSubmit *s, Conn *c, GError **error)
{
	const MpSubmitOptions *o = s->opts;
	const MpAccount *a = c->account;
	const Job *job = c->job;
	/* a stored server goes with its stored TLS mode, unless the command
	 * line names another server */
	const char *job_tls = o->server == NULL ? job->tls : NULL;
	const char *tls_s = o->tls  ? o->tls :
			    job_tls ? job_tls :
			    a       ? a->tls :
				      NULL;
	g_autofree char *spec = NULL;
	const char *pw_cmd;
	const char *pw;
	g_autofree char *what = NULL;
	MpSmtpTls tls;

	if (!parse_tls (tls_s, &tls)) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--tls %s: want starttls, implicit or off", tls_s);
		return FALSE;
	}
	if (o->server != NULL) {
		spec = g_strdup (o->server);
	} else if (job->server != NULL) {
		spec = g_strdup (job->server);
	} else if (a != NULL && a->host != NULL) {
		gboolean v6 = strchr (a->host, ':') && a->host[0] != '[';

		spec = a->port ? g_strdup_printf (v6 ? "[%s]:%u" : "%s:%u",
						  a->host, a->port) :
				 g_strdup_printf (v6 ? "[%s]" : "%s", a->host);
	} else if (a != NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_CONFIG,
			     "%s:%u: [account %s] has no host (or give "
			     "--server)",
			     a->file, a->line, a->name);
		return FALSE;
	} else {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "no server: give --server or --account, or set "
			     "up [account default] in %s",
			     mp_account_config_get_file (s->config) ?
				     mp_account_config_get_file (s->config) :
				     "the configuration file");
		return FALSE;
	}
	if (!mp_smtp_parse_server (spec, tls, &c->host, &c->cfg.port,
				   &c->cfg.tls, error))
		return FALSE;
	c->cfg.host = c->host;
	c->cfg.helo = o->helo;
	c->cfg.timeout = o->timeout;
	c->cfg.ca_file = o->ca_file ? o->ca_file : a ? a->ca_file : NULL;
	c->cfg.pins = o->pins ? o->pins :
		      a       ? (const char *const *) a->pins :
				NULL;
	c->cfg.client_cert = o->client_cert;
	c->cfg.client_key = o->client_key;
	c->cfg.tls_min = o->tls_min;
	c->cfg.allow_plaintext_auth = o->allow_plaintext_auth;
	c->cfg.user = o->user   ? o->user :
		      job->user ? job->user :
		      a         ? a->user :
				  NULL;
	c->cfg.auth = o->auth ? o->auth : a ? a->auth : NULL;
	c->cfg.transcript = o->transcript;
	c->cfg.transcript_data = o->transcript_data;
	if (c->cfg.tls == MP_SMTP_TLS_OFF && c->cfg.user != NULL &&
	    !o->allow_plaintext_auth) {
		g_set_error (
			error, MP_ERROR, MP_ERROR_USAGE,
			"a login with tls off sends the password in the "
			"clear; add --allow-plaintext-auth if you mean it");
		return FALSE;
	}
	if (c->cfg.user == NULL)
		return TRUE;
	/* the command line's password command wins; the account's
	 * password= goes with the account's own password source */
	pw_cmd = o->password_command ? o->password_command :
		 a                   ? a->password_command :
				       NULL;
	pw = o->password_command == NULL && a != NULL ? a->password : NULL;
	if (o->password_command != NULL)
		what = g_strdup ("--password-command");
	else if (a != NULL && pw_cmd != NULL)
		what = g_strdup_printf ("[account %s] password-command",
					a->name);
	else
		what = a ? g_strdup_printf ("[account %s]", a->name) :
			   g_strdup ("--user");
	c->password = mp_account_get_password (c->host, c->cfg.user, pw_cmd, pw,
					       what, error);
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
	const char *user = o->user == NULL ? job->user : NULL;

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

/* The first mailbox address of the message's From field, or NULL. */
static char *
from_address (MpInput *in)
{
	g_autoptr (GMimeMessage) msg = mp_input_parse_message (in, NULL, NULL);
	InternetAddressList *list = msg ? g_mime_message_get_from (msg) : NULL;
	int n = list ? internet_address_list_length (list) : 0;

	for (int i = 0; i < n; i++) {
		InternetAddress *ia =
			internet_address_list_get_address (list, i);

		if (INTERNET_ADDRESS_IS_MAILBOX (ia))
			return g_strdup (internet_address_mailbox_get_addr (
				INTERNET_ADDRESS_MAILBOX (ia)));
	}
	return NULL;
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
	g_autofree char *header_from = NULL;
	MpEnvelope *env;
	const char *select_by = NULL;
	const char *from = job->from;

	if (job->account == NULL) {
		if (job->from_fixed || has_at (job->from))
			select_by = job->from;
		else
			select_by = header_from = from_address (in);
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
	env = mp_envelope_new_full (
		in, from, job->recipients, job->header_recipients,
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
	if (s->opts->transcript != NULL) {
		g_autofree char *line =
			g_strdup_printf ("added %s: %s", name, value);

		s->opts->transcript (MP_SMTP_LINE_INFO, line,
				     s->opts->transcript_data);
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
	res->exit_code = mp_error_exit_code (error);
	g_free (res->error);
	res->error = g_strdup (error->message);
	g_error_free (error);
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
	const char *dir = s->opts->outbox ? s->opts->outbox :
			  a               ? a->outbox :
					    NULL;
	g_autoptr (MpOutbox) outbox = NULL;
	g_autoptr (MpOutboxEnvelope) oenv = NULL;
	g_autoptr (GError) error = NULL;
	g_autofree char *key = NULL;
	Conn *c;
	char *old;

	if (dir == NULL)
		return;
	oenv = mp_outbox_envelope_new ();
	oenv->account = a ? g_strdup (a->name) : NULL;
	/* where it was to go, so that a flush sends it there (issue 14:
	 * --server and --user were lost) */
	key = conn_key (s, a, job);
	c = g_hash_table_lookup (s->conns, key);
	if (c != NULL && c->host != NULL) {
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
	outbox = mp_outbox_open (dir, &error);
	if (outbox != NULL)
		res->stored = mp_outbox_store (outbox, oenv, env->data, &error);
	old = res->error;
	if (res->stored != NULL)
		res->error = g_strdup_printf ("%s; stored in %s for smtp-send "
					      "--flush",
					      old, res->stored);
	else
		res->error = g_strdup_printf ("%s; NOT stored in the outbox: "
					      "%s",
					      old, error->message);
	g_free (old);
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
	const char *dir = s->opts->outbox ? s->opts->outbox :
			  a               ? a->outbox :
					    NULL;
	GPtrArray *later = g_ptr_array_new_with_free_func (g_free);
	GPtrArray *all = env->recipients;

	for (guint i = 0; i < rs->len; i++) {
		MpSmtpRecipient *r = g_ptr_array_index (rs, i);

		if (!r->accepted && r->code >= 400 && r->code < 500)
			g_ptr_array_add (later, g_strdup (r->recipient));
	}
	if (later->len == 0 || dir == NULL) {
		g_ptr_array_unref (later);
		return;
	}
	res->exit_code = EX_TEMPFAIL;
	g_free (res->error);
	res->error = g_strdup_printf ("%u recipient%s refused for now",
				      later->len, later->len == 1 ? "" : "s");
	env->recipients = later;
	store (s, a, job, env, res);
	env->recipients = all;
	g_ptr_array_unref (later);
	if (!job->may_store && res->stored != NULL)
		res->exit_code = 0;
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
		if (res->exit_code == EX_TEMPFAIL && job->may_store)
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
	if (res->exit_code == EX_TEMPFAIL && job->may_store)
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
mp_submit_dry_run (MpSubmit *submit, MpInput *in, MpEnvelopeWriteFunc write,
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
	    !mp_envelope_check_address ("sender", oenv->sender, TRUE,
					MP_ERROR_DATA, &addr, NULL, &local))
		what = "sender";
	for (guint i = 0; what == NULL && i < oenv->recipients->len; i++) {
		g_clear_pointer (&addr, g_free);
		if (!mp_envelope_check_address (
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
	fd = mp_outbox_open_message (outbox, name, &oenv, &error);
	if (fd >= 0 && !check_stored (s, oenv, path, &error)) {
		close (fd);
		fd = -1;
	}
	if (fd >= 0) {
		in = mp_input_open_fd (fd, path, &error);
		if (in == NULL)
			close (fd);
	}
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
	for (guint i = 0; i < oenv->recipients->len; i++)
		g_ptr_array_add (rcpts,
				 g_ptr_array_index (oenv->recipients, i));
	g_ptr_array_add (rcpts, NULL);
	dsn.notify = oenv->notify;
	dsn.ret = oenv->ret;
	dsn.envid = oenv->envid;
	job.account = oenv->account ? oenv->account : s->opts->account;
	job.from = oenv->sender;
	job.from_fixed = TRUE;
	job.server = oenv->server;
	job.tls = oenv->tls;
	job.user = oenv->user;
	job.recipients = (const char *const *) rcpts->pdata;
	job.dsn = &dsn;
	job.allow_partial = oenv->allow_partial;
	in_transaction = submit_one (s, in, &job, res);
	close (fd);

	if (res->exit_code == 0) {
		/* sent: it must go, or the next flush sends it again */
		if (!mp_outbox_remove (outbox, name, &error)) {
			res->error = g_strdup_printf (
				"sent, but not removed from the outbox (the "
				"next flush sends it again): %s",
				error->message);
			res->exit_code = mp_error_exit_code (error);
			g_error_free (error);
		}
		return;
	}
	if (res->exit_code == EX_TEMPFAIL) {
		g_autofree char *old = res->error;

		res->error =
			g_strdup_printf ("%s; kept for the next flush", old);
		return;
	}
	/* refused for good by the server: out of the queue, kept on disk */
	if (in_transaction &&
	    (res->exit_code == EX_DATAERR || res->exit_code == EX_NOUSER ||
	     res->exit_code == EX_UNAVAILABLE)) {
		res->set_aside = mp_outbox_set_aside (outbox, name, &error);
		if (res->set_aside == NULL) {
			g_autofree char *old = res->error;

			res->error =
				g_strdup_printf ("%s; %s", old, error->message);
			g_error_free (error);
		}
	}
}

int
mp_submit_flush (MpSubmit *submit, const char *dir, MpSubmitReportFunc report,
		 gpointer user_data, GError **error)
{
	g_autoptr (MpOutbox) outbox = mp_outbox_open (dir, error);
	g_autoptr (GPtrArray) names = NULL;
	int worst = 0;

	if (outbox == NULL || !mp_outbox_lock (outbox, TRUE, error))
		return -1;
	names = mp_outbox_list (outbox, error);
	if (names == NULL)
		return -1;
	for (guint i = 0; i < names->len; i++) {
		const char *name = g_ptr_array_index (names, i);
		MpSubmitResult res;

		flush_one (submit, outbox, name, &res);
		if (report != NULL)
			report (name, &res, user_data);
		worst = mp_submit_worse (worst, res.exit_code);
		mp_submit_result_clear (&res);
	}
	return worst;
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
	while ((n = g_mime_stream_read (stream, buf, sizeof buf)) > 0) {
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
	GMutex lock;    /* the source, the pace, the counts */
	GMutex report;  /* reports and log lines */
	gboolean ended; /* the source is at its end, or failed */
	guint taken;    /* messages read from the source */
	MpSubmitBatchStats *stats;
	int worst;
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
	if (bo->log != NULL && it->in != NULL) {
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
		e.status = res->exit_code == 0           ? "accepted" :
			   res->exit_code == EX_TEMPFAIL ? "deferred" :
							   "refused";
		e.reply = res->reply ? res->reply : res->error;
		if (!mp_send_log_append (bo->log, &e, &error)) {
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
	if (res->exit_code == 0)
		r->stats->sent++;
	else
		r->stats->failed++;
	r->worst = mp_submit_worse (r->worst, res->exit_code);
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
			if (res->exit_code == EX_TEMPFAIL && job->may_store)
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
	    c->messages >= r->bo->reconnect_after) {
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

	if (r->bo->rate != NULL && r->bo->rate->next > g_get_monotonic_time ())
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
		if (it->in != NULL && bo->log != NULL) {
			digest (mp_input_get_stream (it->in), &it->message_id,
				&it->sha256);
			if (mp_send_log_is_done (bo->log, it->message_id,
						 it->sha256)) {
				r->stats->skipped++;
				g_clear_pointer (&it, item_free);
				continue;
			}
		}
		if (it->in != NULL && bo->rate != NULL &&
		    !mp_rate_wait (bo->rate, bo->stop)) {
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
		it->res.exit_code = mp_error_exit_code (it->error);
		it->res.error = g_strdup (it->error->message);
		batch_done (r, it, NULL);
	}
	land (submit, &job, r, &f);
	return NULL;
}

int
mp_submit_run (const MpSubmitOptions *opts, MpAccountConfig *config,
	       MpSubmitSource *src, const MpSubmitBatchOptions *bopts,
	       MpSubmitBatchStats *stats)
{
	Run r = { 0 };
	guint jobs = MAX (bopts->jobs, 1);
	GThread **threads = g_new0 (GThread *, jobs);

	memset (stats, 0, sizeof *stats);
	r.opts = opts;
	r.config = config;
	r.src = src;
	r.bo = bopts;
	r.stats = stats;
	g_mutex_init (&r.lock);
	g_mutex_init (&r.report);
	if (src->files != NULL)
		jobs = CLAMP (jobs, 1, MAX (src->n, 1));
	for (guint j = 1; j < jobs; j++)
		threads[j] = g_thread_new ("smtp-send", run_worker, &r);
	run_worker (&r);
	for (guint j = 1; j < jobs; j++)
		g_thread_join (threads[j]);
	g_free (threads);
	g_mutex_clear (&r.lock);
	g_mutex_clear (&r.report);
	if (stats->error != NULL)
		r.worst = mp_submit_worse (r.worst,
					   mp_error_exit_code (stats->error));
	if (stats->stopped)
		r.worst = mp_submit_worse (r.worst, EX_TEMPFAIL);
	return r.worst;
}

int
mp_submit_batch (const MpSubmitOptions *opts, MpAccountConfig *config,
		 char **files, guint n, guint jobs, MpSubmitReportFunc report,
		 gpointer report_data)
{
	g_autoptr (MpSubmitSource) src = mp_submit_source_new_files (files, n);
	MpSubmitBatchOptions bo = { 0 };
	MpSubmitBatchStats stats;
	int rc;

	bo.jobs = jobs;
	bo.report = report;
	bo.report_data = report_data;
	rc = mp_submit_run (opts, config, src, &bo, &stats);
	g_clear_error (&stats.error);
	return rc;
}
