/* mp-submit-options: smtp-send's options checked (operands, batch options,
 * accounts), and the one place an account meets the command line: the
 * settings of a connection. */
#include "mp-submit-private.h"
#include "mp-error.h"
#include "mp-rate.h"

#include <string.h>

gboolean
mp_submit_parse_tls (const char *s, MpSmtpTls *tls)
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

	if (o->tls != NULL && !mp_submit_parse_tls (o->tls, &tls))
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
 * mp_submit_conn_setup(). */
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
gboolean
mp_submit_conn_setup (MpSubmit *s, Conn *c, GError **error)
{
	const MpSubmitOptions *o = s->opts;
	const MpAccount *a = c->account;
	g_autofree char *what = NULL;
	MpSmtpTls tls;

	conn_merge (s, c);
	if (!mp_submit_parse_tls (c->tls, &tls)) {
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
