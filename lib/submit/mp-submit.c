/* mp-submit: accounts, connections, the outbox: smtp-send's logic.  Here
 * one submission: the account chosen, the envelope built and completed,
 * sent over a connection reused from one message to the next, stored in
 * the outbox after a temporary failure, or written out by a dry run; the
 * options and a connection's settings in mp-submit-options.c, the outbox
 * flushed in mp-submit-flush.c, batches in mp-submit-batch.c
 * (mp-submit-private.h is what they share). */
#include "mp-submit.h"
#include "mp-submit-private.h"
#include "mp-error.h"
#include "mp-secret.h"
#include "mp-mbox.h"
#include "mp-outbox.h"

#include <stdarg.h>
#include <string.h>

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

gboolean
mp_submit_is_temporary (const GError *error)
{
	return error != NULL && mp_error_class (error) == MP_ERROR_TEMPFAIL;
}

void
mp_submit_keep_worse (GError **worst, GError *error)
{
	if (error == NULL)
		return;
	if (*worst == NULL || (mp_submit_is_temporary (*worst) &&
			       !mp_submit_is_temporary (error))) {
		g_clear_error (worst);
		*worst = error;
		return;
	}
	g_error_free (error);
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

Conn *
mp_submit_get_conn (MpSubmit *s, const MpAccount *a, const Job *job,
		    GError **error)
{
	g_autofree char *key = conn_key (s, a, job);
	Conn *c = g_hash_table_lookup (s->conns, key);

	if (c == NULL) {
		c = g_new0 (Conn, 1);
		c->account = a;
		g_hash_table_insert (s->conns, g_steal_pointer (&key), c);
		c->job = job;
		mp_submit_conn_setup (s, c, &c->failure);
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

void
mp_submit_fail (MpSubmitResult *res, GError *error)
{
	g_clear_error (&res->error);
	res->error = error;
}

/* Adds to the message of @error what became of the message after it. */
G_GNUC_PRINTF (2, 3)
void
mp_submit_error_append (GError *error, const char *fmt, ...)
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
void
mp_submit_store (MpSubmit *s, const MpAccount *a, const Job *job,
		 MpEnvelope *env, MpSubmitResult *res)
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
		mp_submit_error_append (res->error,
					"; stored in %s for smtp-send --flush",
					res->stored);
	else
		mp_submit_error_append (res->error,
					"; NOT stored in the outbox: %s",
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
	mp_submit_fail (res,
			g_error_new (MP_ERROR, MP_ERROR_TEMPFAIL,
				     "%u recipient%s refused for now",
				     later->len, later->len == 1 ? "" : "s"));
	env->recipients = later;
	mp_submit_store (s, a, job, env, res);
	env->recipients = all;
	g_ptr_array_unref (later);
	/* in a flush, the copy sent went out: the new one waits */
	if (!job->may_store && res->stored != NULL)
		g_clear_error (&res->error);
}

/* Builds the envelope of @in and finds its connection; on failure fills
 * @res (storing the message after a temporary one) and returns NULL. */
Conn *
mp_submit_start (MpSubmit *s, MpInput *in, const Job *job, MpSubmitResult *res,
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
		mp_submit_fail (res, error);
		return NULL;
	}
	*envp = env;
	res->recipients = env->recipients->len;
	c = mp_submit_get_conn (s, *ap, job, &error);
	if (c == NULL) {
		mp_submit_fail (res, error);
		if (mp_submit_is_temporary (res->error) && job->may_store)
			mp_submit_store (s, *ap, job, env, res);
	}
	return c;
}

/* What became of a message the server answered: @ok, else @error
 * (taken); @rs the replies to its recipients. */
void
mp_submit_end (MpSubmit *s, const MpAccount *a, const Job *job, MpEnvelope *env,
	       GPtrArray *rs, gboolean ok, GError *error, MpSubmitResult *res)
{
	collect_replies (rs, res);
	if (ok) {
		keep_refused_for_now (s, a, job, env, rs, res);
		return;
	}
	mp_submit_fail (res, error);
	if (mp_submit_is_temporary (res->error) && job->may_store)
		mp_submit_store (s, a, job, env, res);
}

/* Sends one message; returns TRUE when the failure (if any) came from the
 * transaction (a refusal of this message), not from the connection. */
gboolean
mp_submit_one (MpSubmit *s, MpInput *in, const Job *job, MpSubmitResult *res)
{
	g_autoptr (MpEnvelope) env = NULL;
	const MpAccount *a = NULL;
	GError *error = NULL;
	Conn *c;
	gboolean ok;

	c = mp_submit_start (s, in, job, res, &env, &a);
	if (c == NULL)
		return FALSE;
	ok = mp_smtp_send (c->smtp, env, job->dsn, job->allow_partial, &error);
	mp_submit_end (s, a, job, env, mp_smtp_get_recipients (c->smtp), ok,
		       error, res);
	return TRUE;
}

void
mp_submit_job_from_options (const MpSubmitOptions *o, Job *job)
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

	mp_submit_job_from_options (submit->opts, &job);
	mp_submit_one (submit, in, &job, res);
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
