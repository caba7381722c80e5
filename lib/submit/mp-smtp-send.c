/* mp-smtp-send: the mail transaction (RFC 5321 3.3): MAIL, RCPT, DATA
 * or BDAT (RFC 3030), as a state machine, with PIPELINING (RFC 2920)
 * across messages: the end of data of one goes out with the next one's
 * commands; and the dry run. */
#include "mp-smtp-private.h"

#include <string.h>

/* --- sending ------------------------------------------------------- */

/* RFC 3461 4: xtext */
static char *
xtext (const char *s)
{
	GString *out = g_string_new (NULL);

	for (const guchar *p = (const guchar *) s; *p != '\0'; p++) {
		if (*p >= '!' && *p <= '~' && *p != '+' && *p != '=')
			g_string_append_c (out, (char) *p);
		else
			g_string_append_printf (out, "+%02X", *p);
	}
	return g_string_free (out, FALSE);
}

static gboolean
dsn_wanted (const MpSmtpDsn *dsn)
{
	return dsn != NULL &&
	       (dsn->notify != NULL || dsn->ret != NULL || dsn->envid != NULL);
}

static char *
mail_line (MpEnvelope *env, gboolean size, gboolean body8, gboolean binary,
	   gboolean utf8, const MpSmtpDsn *dsn)
{
	GString *s = g_string_new (NULL);

	g_string_append_printf (s, "MAIL FROM:<%s>", env->sender);
	if (size)
		g_string_append_printf (s, " SIZE=%" G_GUINT64_FORMAT,
					binary ? env->bdat_size : env->size);
	if (binary)
		g_string_append (s, " BODY=BINARYMIME");
	else if (body8)
		g_string_append (s, " BODY=8BITMIME");
	if (utf8)
		g_string_append (s, " SMTPUTF8");
	if (dsn != NULL && dsn->ret != NULL) {
		g_autofree char *up = g_ascii_strup (dsn->ret, -1);

		g_string_append_printf (s, " RET=%s", up);
	}
	if (dsn != NULL && dsn->envid != NULL) {
		g_autofree char *x = xtext (dsn->envid);

		g_string_append_printf (s, " ENVID=%s", x);
	}
	return g_string_free (s, FALSE);
}

static char *
rcpt_line (const char *rcpt, const MpSmtpDsn *dsn)
{
	GString *s = g_string_new (NULL);

	g_string_append_printf (s, "RCPT TO:<%s>", rcpt);
	if (dsn != NULL && dsn->notify != NULL) {
		g_autofree char *up = g_ascii_strup (dsn->notify, -1);

		g_string_append_printf (s, " NOTIFY=%s", up);
	}
	return g_string_free (s, FALSE);
}

/* Message data goes through the output buffer, written out in large
 * pieces, so that the tail with the end of data can wait there for the
 * next message's commands. */
static gboolean
write_out (MpSmtp *smtp, GError **error)
{
	GError *err = NULL;

	if (!g_output_stream_write_all (smtp->out, smtp->wbuf->data,
					smtp->wbuf->len, NULL, NULL, &err)) {
		g_byte_array_set_size (smtp->wbuf, 0);
		mp_smtp_net_error (smtp, error, err, "sending the message");
		return FALSE;
	}
	g_byte_array_set_size (smtp->wbuf, 0);
	return TRUE;
}

static gboolean
write_data (const char *data, gsize len, gpointer user_data, GError **error)
{
	MpSmtp *smtp = user_data;

	g_byte_array_append (smtp->wbuf, (const guint8 *) data, (guint) len);
	return smtp->wbuf->len < BUFFER_SIZE * 4 || write_out (smtp, error);
}

/* Sends what waits (the end of data of the message in flight) and reads
 * its reply, kept for mp_smtp_finish(): no other reply may be read
 * before it. */
void
mp_smtp_settle (MpSmtp *smtp)
{
	if (!smtp->pending)
		return;
	/* one kept at a time: mp_smtp_finish() comes before the next */
	g_warn_if_fail (!smtp->prev_ready);
	mp_smtp_reply_clear (&smtp->prev_reply);
	g_clear_error (&smtp->prev_error);
	smtp->pending = FALSE;
	smtp->prev_ready = TRUE;
	if (!smtp->usable)
		g_set_error (&smtp->prev_error, MP_ERROR, MP_ERROR_TEMPFAIL,
			     "%s: not connected", smtp->cfg->host);
	else if (mp_smtp_flush (smtp, &smtp->prev_error))
		mp_smtp_read_reply (smtp, &smtp->prev_reply, &smtp->prev_error);
}

static gboolean
end_reply (MpSmtp *smtp, const Reply *r, GError **error)
{
	g_free (smtp->final_reply);
	smtp->final_reply = r->lines != NULL ? mp_smtp_reply_text (r) : NULL;
	if (r->code == 250)
		return TRUE;
	mp_smtp_reply_error (smtp, error, r, STAGE_END,
			     "message refused after DATA");
	return FALSE;
}

gboolean
mp_smtp_finish (MpSmtp *smtp, GError **error)
{
	gboolean ok;

	g_clear_pointer (&smtp->final_reply, g_free);
	if (!smtp->prev_ready && !smtp->pending)
		return TRUE;
	if (!smtp->prev_ready)
		mp_smtp_settle (smtp);
	smtp->prev_ready = FALSE;
	if (smtp->prev_error != NULL) {
		g_propagate_error (error, smtp->prev_error);
		smtp->prev_error = NULL;
		return FALSE;
	}
	ok = end_reply (smtp, &smtp->prev_reply, error);
	mp_smtp_reply_clear (&smtp->prev_reply);
	return ok;
}

const char *
mp_smtp_get_final_reply (MpSmtp *smtp)
{
	return smtp->final_reply;
}

gboolean
mp_smtp_lost (MpSmtp *smtp)
{
	return smtp->lost;
}

static void
rset (MpSmtp *smtp)
{
	Reply r = { 0 };

	mp_smtp_settle (smtp);
	if (smtp->usable && mp_smtp_command (smtp, "RSET", NULL, &r, NULL) &&
	    r.code == 250)
		smtp->need_rset = FALSE;
	else
		smtp->usable = FALSE;
	mp_smtp_reply_clear (&r);
}

typedef struct {
	guint n;
	Reply perm; /* the first permanent refusal */
	Reply temp; /* the first other one */
} Refusals;

/* Records the reply @r to one RCPT in @res; a 421 ends the session. */
static gboolean
rcpt_reply (MpSmtp *smtp, MpSmtpRecipient *res, Reply *r, Refusals *ref,
	    GError **error)
{
	res->code = r->code;
	res->reply = mp_smtp_reply_text (r);
	res->accepted = r->code == 250 || r->code == 251;
	if (r->code == 421) {
		mp_smtp_reply_error (smtp, error, r, STAGE_RCPT, NULL);
		return FALSE;
	}
	if (!res->accepted) {
		Reply *keep = r->code >= 500 ? &ref->perm : &ref->temp;

		ref->n++;
		if (keep->lines == NULL) {
			*keep = *r;
			*r = (Reply){ 0 };
		}
	}
	return TRUE;
}

/* The error for refused recipients: temporary when every refusal was
 * temporary, else the class of the first permanent one. */
static void
recipients_error (MpSmtp *smtp, GError **error, const Refusals *ref,
		  guint total)
{
	const Reply *r = ref->perm.lines ? &ref->perm : &ref->temp;
	g_autofree char *text = mp_smtp_reply_text (r);

	if (total == 1)
		g_set_error (error, MP_ERROR,
			     mp_smtp_reply_class (r, STAGE_RCPT),
			     "%s: the recipient was refused: %s",
			     smtp->cfg->host, text);
	else if (ref->n == total)
		g_set_error (error, MP_ERROR,
			     mp_smtp_reply_class (r, STAGE_RCPT),
			     "%s: all %u recipients refused (first: %s)",
			     smtp->cfg->host, total, text);
	else
		g_set_error (error, MP_ERROR,
			     mp_smtp_reply_class (r, STAGE_RCPT),
			     "%s: %u of %u recipients refused; nothing sent "
			     "(--allow-partial sends to the others)",
			     smtp->cfg->host, ref->n, total);
}

/* The message's octets went into the buffer (DATA or BDAT): out with
 * them, and the reply that ends the transaction. */
static gboolean
finish_data (MpSmtp *smtp, Reply *r, GError **error)
{
	if (!write_out (smtp, error) ||
	    !g_output_stream_flush (smtp->out, NULL, NULL) ||
	    !mp_smtp_read_reply (smtp, r, error)) {
		if (error != NULL && *error == NULL)
			g_set_error (error, MP_ERROR, MP_ERROR_TEMPFAIL,
				     "%s: sending the message failed",
				     smtp->cfg->host);
		return FALSE;
	}
	smtp->need_rset = FALSE;
	return end_reply (smtp, r, error);
}

/* RFC 3030: the whole message as one chunk, "BDAT n LAST", its octets
 * counted beforehand (env->bdat_size); the reply ends the transaction. */
static gboolean
send_bdat (MpSmtp *smtp, MpEnvelope *env, Reply *r, GError **error)
{
	g_autofree char *line = g_strdup_printf (
		"BDAT %" G_GUINT64_FORMAT " LAST", env->bdat_size);

	mp_smtp_queue (smtp, line, NULL);
	mp_smtp_transcript (smtp, MP_SMTP_LINE_CLIENT,
			    "[%" G_GUINT64_FORMAT " octets of message data]",
			    env->bdat_size);
	if (!mp_envelope_write_bdat (env, write_data, smtp, error)) {
		g_byte_array_set_size (smtp->wbuf, 0);
		smtp->usable = FALSE;
		return FALSE;
	}
	return finish_data (smtp, r, error);
}

gboolean
mp_smtp_send (MpSmtp *smtp, MpEnvelope *env, const MpSmtpDsn *dsn,
	      gboolean allow_partial, GError **error)
{
	return mp_smtp_send_pipelined (smtp, env, dsn, allow_partial, NULL,
				       error);
}

/* The mail transaction (RFC 5321 3.3, RFC 2920, RFC 3030) as a state
 * machine: each state does its part and names the next. */
typedef enum {
	TX_MAIL,      /* MAIL, and its reply without PIPELINING */
	TX_RCPT,      /* each RCPT (and its reply without PIPELINING) */
	TX_GROUP,     /* PIPELINING: the group goes out, behind the end of
			 data of the message before; then the replies */
	TX_DECIDE,    /* refused recipients: stop, or go on without them */
	TX_DATA,      /* DATA and its 354 */
	TX_BODY,      /* the data and its end (or the end left in flight) */
	TX_BDAT,      /* BDAT n LAST with the data, and its reply */
	TX_DATA_OPEN, /* stopped where a 354 may have opened DATA */
	TX_DONE,
	TX_FAILED,
} TxState;

typedef struct {
	MpEnvelope *env;
	const MpSmtpDsn *dsn; /* NULL when none is wanted */
	const char *mail;
	gboolean allow_partial;
	gboolean *deferred;
	gboolean pipelining;
	gboolean bdat;
	gboolean had_pending; /* a message's end of data was in flight */
	gboolean with_data;   /* DATA in the same group as MAIL and RCPT */
	Reply mail_reply;
	Reply r;
	Refusals refusals;
} Tx;

/* The reply to MAIL: TRUE when it is 250, else @error says why. */
static gboolean
mail_accepted (MpSmtp *smtp, Tx *tx, GError **error)
{
	if (tx->mail_reply.code == 250)
		return TRUE;
	mp_smtp_reply_error (smtp, error, &tx->mail_reply, STAGE_MAIL, NULL);
	return FALSE;
}

static TxState
tx_mail (MpSmtp *smtp, Tx *tx, GError **error)
{
	if (!tx->pipelining)
		mp_smtp_settle (smtp); /* nothing waits without PIPELINING */
	smtp->need_rset = TRUE;
	mp_smtp_queue (smtp, tx->mail, NULL);
	if (tx->pipelining)
		return TX_RCPT;
	if (!mp_smtp_flush (smtp, error) ||
	    !mp_smtp_read_reply (smtp, &tx->mail_reply, error) ||
	    !mail_accepted (smtp, tx, error))
		return TX_FAILED;
	return TX_RCPT;
}

static TxState
tx_rcpt (MpSmtp *smtp, Tx *tx, GError **error)
{
	/* RFC 2920: MAIL and every RCPT in one write (behind the end of
	 * data of the message before), then the replies in order. */
	for (guint i = 0; i < smtp->results->len; i++) {
		MpSmtpRecipient *res = g_ptr_array_index (smtp->results, i);
		g_autofree char *line = rcpt_line (res->recipient, tx->dsn);

		mp_smtp_queue (smtp, line, NULL);
		if (tx->pipelining)
			continue;
		if (!mp_smtp_flush (smtp, error) ||
		    !mp_smtp_read_reply (smtp, &tx->r, error) ||
		    !rcpt_reply (smtp, res, &tx->r, &tx->refusals, error))
			return TX_FAILED;
	}
	/* RFC 2920 3.1: DATA may end the group, but only where no refusal
	 * can leave a DATA open that we do not want: with one recipient (a
	 * refusal leaves none, and the server must then refuse DATA with
	 * 503 or 554) or when a partial delivery is wanted anyway. */
	tx->with_data = tx->pipelining && tx->deferred != NULL && !tx->bdat &&
			(tx->allow_partial || smtp->results->len == 1);
	if (tx->with_data)
		mp_smtp_queue (smtp, "DATA", NULL);
	return tx->pipelining ? TX_GROUP : TX_DECIDE;
}

static TxState
tx_group (MpSmtp *smtp, Tx *tx, GError **error)
{
	GError *err = NULL;
	gboolean sent = mp_smtp_flush (smtp, &err);

	if (tx->had_pending) {
		if (!sent) {
			/* the end of data did not go either */
			g_warn_if_fail (!smtp->prev_ready);
			g_clear_error (&smtp->prev_error);
			smtp->pending = FALSE;
			smtp->prev_ready = TRUE;
			smtp->prev_error = g_error_copy (err);
		}
		mp_smtp_settle (smtp);
		if (!smtp->usable) {
			/* the previous message ended the session (421,
			 * closed, timed out): nothing of this one was taken */
			smtp->lost = TRUE;
			if (sent)
				g_set_error (&err, MP_ERROR, MP_ERROR_TEMPFAIL,
					     "%s: connection lost with the "
					     "message before",
					     smtp->cfg->host);
			g_propagate_error (error, err);
			return TX_FAILED;
		}
	}
	if (!sent) {
		g_propagate_error (error, err);
		return TX_FAILED;
	}
	if (!mp_smtp_read_reply (smtp, &tx->mail_reply, error))
		return TX_FAILED;
	if (tx->mail_reply.code == 421) {
		mp_smtp_reply_error (smtp, error, &tx->mail_reply, STAGE_MAIL,
				     NULL);
		return TX_FAILED;
	}
	for (guint i = 0; i < smtp->results->len; i++) {
		MpSmtpRecipient *res = g_ptr_array_index (smtp->results, i);

		if (!mp_smtp_read_reply (smtp, &tx->r, error) ||
		    !rcpt_reply (smtp, res, &tx->r, &tx->refusals, error))
			return TX_FAILED;
	}
	if (tx->with_data && !mp_smtp_read_reply (smtp, &tx->r, error))
		return TX_FAILED;
	if (!mail_accepted (smtp, tx, error))
		return TX_DATA_OPEN;
	return TX_DECIDE;
}

static TxState
tx_decide (MpSmtp *smtp, Tx *tx, GError **error)
{
	const Refusals *ref = &tx->refusals;

	if (ref->n > 0 &&
	    (ref->n == smtp->results->len || !tx->allow_partial)) {
		recipients_error (smtp, error, ref, smtp->results->len);
		return TX_DATA_OPEN;
	}
	return tx->bdat ? TX_BDAT : TX_DATA;
}

static TxState
tx_data (MpSmtp *smtp, Tx *tx, GError **error)
{
	if (!tx->with_data &&
	    !mp_smtp_command (smtp, "DATA", NULL, &tx->r, error))
		return TX_FAILED;
	if (tx->r.code != 354) {
		mp_smtp_reply_error (smtp, error, &tx->r, STAGE_DATA, NULL);
		return TX_FAILED;
	}
	return TX_BODY;
}

static TxState
tx_body (MpSmtp *smtp, Tx *tx, GError **error)
{
	mp_smtp_transcript (smtp, MP_SMTP_LINE_CLIENT,
			    "[%" G_GUINT64_FORMAT " octets of message data]",
			    tx->env->size);
	if (!mp_envelope_write_data (tx->env, write_data, smtp, error)) {
		g_byte_array_set_size (smtp->wbuf, 0);
		smtp->usable = FALSE;
		return TX_FAILED;
	}
	if (tx->pipelining && tx->deferred != NULL) {
		/* the end of data waits in the buffer for the next message's
		 * commands; mp_smtp_finish() reads its reply */
		smtp->pending = TRUE;
		smtp->need_rset = FALSE;
		*tx->deferred = TRUE;
		return TX_DONE;
	}
	return finish_data (smtp, &tx->r, error) ? TX_DONE : TX_FAILED;
}

static TxState
tx_bdat (MpSmtp *smtp, Tx *tx, GError **error)
{
	return send_bdat (smtp, tx->env, &tx->r, error) ? TX_DONE : TX_FAILED;
}

static TxState
tx_data_open (MpSmtp *smtp, Tx *tx, GError **error)
{
	/* a server that opened DATA all the same (RFC 2920 says it must
	 * not): the only way out without sending anything is to drop the
	 * connection */
	if (tx->with_data && tx->r.code == 354)
		smtp->usable = FALSE;
	return TX_FAILED;
}

/* What each state does; TX_DONE and TX_FAILED end the transaction. */
typedef TxState (*TxStep) (MpSmtp *smtp, Tx *tx, GError **error);
static const TxStep tx_steps[] = {
	[TX_MAIL] = tx_mail,   [TX_RCPT] = tx_rcpt,
	[TX_GROUP] = tx_group, [TX_DECIDE] = tx_decide,
	[TX_DATA] = tx_data,   [TX_BODY] = tx_body,
	[TX_BDAT] = tx_bdat,   [TX_DATA_OPEN] = tx_data_open,
};

/* Starts the send of a message afresh: nothing deferred or lost yet, no
 * final reply, and a new array of results (a caller may keep (ref) the
 * previous one) */
static void
send_reset (MpSmtp *smtp, gboolean *deferred)
{
	if (deferred != NULL)
		*deferred = FALSE;
	smtp->lost = FALSE;
	g_clear_pointer (&smtp->final_reply, g_free);
	g_ptr_array_unref (smtp->results);
	smtp->results = g_ptr_array_new_with_free_func (mp_smtp_recipient_free);
}

/* RFC 1870: FALSE with @error when the server's SIZE limit is smaller
 * than the message (SIZE 0 means no fixed limit) */
static gboolean
send_check_size (MpSmtp *smtp, MpEnvelope *env, gboolean bdat, GError **error)
{
	guint64 limit = g_ascii_strtoull (
		g_hash_table_lookup (smtp->caps, "SIZE"), NULL, 10);

	if (limit > 0 && (bdat ? env->bdat_size : env->size) > limit) {
		g_set_error (
			error, MP_ERROR, MP_ERROR_DATA,
			"%s: the message is %" G_GUINT64_FORMAT
			" octets; the server takes at most %" G_GUINT64_FORMAT,
			smtp->cfg->host, bdat ? env->bdat_size : env->size,
			limit);
		return FALSE;
	}
	return TRUE;
}

/* Checks before MAIL that the session can take ENV as it is: connected,
 * and the server offering what the message needs (SMTPUTF8, BINARYMIME
 * with CHUNKING, 8BITMIME, room for its SIZE, DSN); FALSE with @error
 * naming the first thing missing */
static gboolean
send_check (MpSmtp *smtp, MpEnvelope *env, const MpSmtpDsn *dsn, GError **error)
{
	const char *host = smtp->cfg->host;
	gboolean bdat = env->binary_part != NULL;

	if (!smtp->usable) {
		g_set_error (error, MP_ERROR, MP_ERROR_TEMPFAIL,
			     "%s: not connected", host);
		return FALSE;
	}
	if (env->smtputf8 && !mp_smtp_has_cap (smtp, "SMTPUTF8")) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: the message has UTF-8 addresses or header "
			     "fields and the server does not offer SMTPUTF8",
			     host);
		return FALSE;
	}
	/* RFC 3030 3: binary content goes with BDAT and BINARYMIME, or not
	 * at all: refused before MAIL, never a 500 in the middle of DATA */
	if (bdat && (!mp_smtp_has_cap (smtp, "CHUNKING") ||
		     !mp_smtp_has_cap (smtp, "BINARYMIME"))) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: %s has Content-Transfer-Encoding binary and "
			     "the server does not offer BINARYMIME with "
			     "CHUNKING (RFC 3030); encode it as base64",
			     host, env->binary_part);
		return FALSE;
	}
	if (env->eight_bit && !bdat && !mp_smtp_has_cap (smtp, "8BITMIME") &&
	    !(env->smtputf8 && mp_smtp_has_cap (smtp, "SMTPUTF8"))) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: the message has 8-bit data and the server "
			     "does not offer 8BITMIME (encode it as 7-bit: "
			     "quoted-printable or base64)",
			     host);
		return FALSE;
	}
	if (mp_smtp_has_cap (smtp, "SIZE") &&
	    !send_check_size (smtp, env, bdat, error))
		return FALSE;
	if (dsn_wanted (dsn) && !mp_smtp_has_cap (smtp, "DSN")) {
		g_set_error (error, MP_ERROR, MP_ERROR_UNAVAILABLE,
			     "%s: the server does not offer DSN "
			     "(--dsn-notify, --dsn-return, --envid)",
			     host);
		return FALSE;
	}
	return TRUE;
}

/* Resets a transaction an earlier send left half-way; FALSE with @error
 * when the RSET failed */
static gboolean
send_rset_if_needed (MpSmtp *smtp, GError **error)
{
	if (!smtp->need_rset)
		return TRUE;
	rset (smtp);
	if (!smtp->usable) {
		g_set_error (error, MP_ERROR, MP_ERROR_TEMPFAIL,
			     "%s: RSET failed", smtp->cfg->host);
		return FALSE;
	}
	return TRUE;
}

/* One result per recipient of ENV, in order, for the RCPT replies */
static void
send_add_recipients (MpSmtp *smtp, MpEnvelope *env)
{
	for (guint i = 0; i < env->recipients->len; i++) {
		MpSmtpRecipient *res = g_new0 (MpSmtpRecipient, 1);

		res->recipient =
			g_strdup (g_ptr_array_index (env->recipients, i));
		g_ptr_array_add (smtp->results, res);
	}
}

/* Runs TX's states from MAIL until TX_DONE or TX_FAILED, frees its
 * replies, and resets a transaction that failed half-way; returns TRUE
 * when it is done */
static gboolean
tx_run (MpSmtp *smtp, Tx *tx, GError **error)
{
	TxState state = TX_MAIL;

	while (state != TX_DONE && state != TX_FAILED)
		state = tx_steps[state](smtp, tx, error);
	mp_smtp_reply_clear (&tx->r);
	mp_smtp_reply_clear (&tx->mail_reply);
	mp_smtp_reply_clear (&tx->refusals.perm);
	mp_smtp_reply_clear (&tx->refusals.temp);
	if (state != TX_DONE && smtp->need_rset)
		rset (smtp);
	return state == TX_DONE;
}

gboolean
mp_smtp_send_pipelined (MpSmtp *smtp, MpEnvelope *env, const MpSmtpDsn *dsn,
			gboolean allow_partial, gboolean *deferred,
			GError **error)
{
	gboolean bdat = env->binary_part != NULL;
	g_autofree char *mail = NULL;
	Tx tx = {
		.env = env,
		.dsn = dsn_wanted (dsn) ? dsn : NULL,
		.allow_partial = allow_partial,
		.deferred = deferred,
		.pipelining = mp_smtp_has_cap (smtp, "PIPELINING"),
		.bdat = bdat,
		.had_pending = smtp->pending,
	};

	send_reset (smtp, deferred);
	if (!send_check (smtp, env, dsn, error) ||
	    !send_rset_if_needed (smtp, error))
		return FALSE;
	send_add_recipients (smtp, env);
	mail = mail_line (
		env, mp_smtp_has_cap (smtp, "SIZE"),
		env->eight_bit && !bdat && mp_smtp_has_cap (smtp, "8BITMIME"),
		bdat, env->smtputf8 && mp_smtp_has_cap (smtp, "SMTPUTF8"),
		tx.dsn);
	tx.mail = mail;
	return tx_run (smtp, &tx, error);
}

gboolean
mp_smtp_dry_run (MpEnvelope *env, MpWriteFunc write, gpointer user_data,
		 GError **error)
{
	g_autofree char *mail =
		g_strdup_printf ("MAIL FROM:<%s>\r\n", env->sender);

	if (!write (mail, strlen (mail), user_data, error))
		return FALSE;
	for (guint i = 0; i < env->recipients->len; i++) {
		g_autofree char *rcpt = g_strdup_printf (
			"RCPT TO:<%s>\r\n",
			(char *) g_ptr_array_index (env->recipients, i));

		if (!write (rcpt, strlen (rcpt), user_data, error))
			return FALSE;
	}
	if (!write ("DATA\r\n", 6, user_data, error))
		return FALSE;
	return mp_envelope_write_data (env, write, user_data, error);
}
