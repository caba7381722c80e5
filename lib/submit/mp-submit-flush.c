/* mp-submit-flush: the outboxes there are, and each flushed: a stored
 * message checked, sent where it was to go, then removed, kept or set
 * aside. */
#include "mp-submit-private.h"
#include "mp-address.h"
#include "mp-error.h"
#include "mp-outbox.h"

#include <string.h>
#include <unistd.h>

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
	if (what == NULL && oenv->tls != NULL &&
	    !mp_submit_parse_tls (oenv->tls, &tls))
		what = "TLS mode";
	if (what == NULL && oenv->tls != NULL && oenv->server == NULL)
		what = "TLS mode without a server";
	if (what == NULL && oenv->server != NULL &&
	    (!mp_submit_parse_tls (oenv->tls, &tls) ||
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
	if (mp_submit_is_temporary (res->error)) {
		mp_submit_error_append (res->error,
					"; kept for the next flush");
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
			mp_submit_error_append (res->error, "; %s",
						error->message);
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

		mp_submit_fail (res, error);
		/* not a message we stored: out of the queue */
		if (foreign)
			res->set_aside =
				mp_outbox_set_aside (outbox, name, NULL);
		return;
	}
	rcpts = g_ptr_array_new ();
	flush_job (s, oenv, rcpts, &dsn, &job);
	in_transaction = mp_submit_one (s, in, &job, res);
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
