/* mp-submit-private: what the files of mp-submit share (mp-submit.c: one
 * submission: the account chosen, the envelope built and completed, the
 * connection reused, the send, the outbox after a temporary failure;
 * mp-submit-options.c: the options checked, and the account merged with
 * the command line into a connection's settings; mp-submit-flush.c:
 * sending what the outbox holds; mp-submit-batch.c: batches, files or
 * an mbox stream, and the lines that report them).  Not for other
 * modules. */
#pragma once

#include "mp-submit.h"

G_BEGIN_DECLS

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

/* ---- mp-submit.c: one submission */

/* TRUE when @error is a temporary failure (MP_ERROR_TEMPFAIL). */
gboolean mp_submit_is_temporary (const GError *error);

/* The usable connection for @a and @job, opened (again) when needed. */
Conn *mp_submit_get_conn (MpSubmit *s, const MpAccount *a, const Job *job,
			  GError **error);

/* Sets @res's error to @error (taken). */
void mp_submit_fail (MpSubmitResult *res, GError *error);

/* Adds to the message of @error what became of the message after it. */
void mp_submit_error_append (GError *error, const char *fmt, ...)
	G_GNUC_PRINTF (2, 3);

/* Stores @env in the outbox after a temporary failure. */
void mp_submit_store (MpSubmit *s, const MpAccount *a, const Job *job,
		      MpEnvelope *env, MpSubmitResult *res);

/* Builds the envelope of @in and finds its connection, or fills @res. */
Conn *mp_submit_start (MpSubmit *s, MpInput *in, const Job *job,
		       MpSubmitResult *res, MpEnvelope **envp,
		       const MpAccount **ap);

/* What became of a message the server answered, into @res. */
void mp_submit_end (MpSubmit *s, const MpAccount *a, const Job *job,
		    MpEnvelope *env, GPtrArray *rs, gboolean ok, GError *error,
		    MpSubmitResult *res);

/* Sends one message; TRUE when a failure came from the transaction. */
gboolean mp_submit_one (MpSubmit *s, MpInput *in, const Job *job,
			MpSubmitResult *res);

/* The job of a message from the command line's options @o. */
void mp_submit_job_from_options (const MpSubmitOptions *o, Job *job);

/* ---- mp-submit-options.c: options and settings */

/* Reads a --tls value (NULL: the default) into *@tls; FALSE if unknown. */
gboolean mp_submit_parse_tls (const char *s, MpSmtpTls *tls);

/* The settings of @c merged and checked, and the password fetched. */
gboolean mp_submit_conn_setup (MpSubmit *s, Conn *c, GError **error);

G_END_DECLS
