/* mp-submit: what smtp-send does with each message: choose its account,
 * merge the account with the command line, build the envelope, send it
 * over one connection per account (reused across a batch), and keep a
 * message that met a temporary failure in the outbox; flush the outbox. */
#pragma once

#include "mp-account.h"
#include "mp-io.h"
#include "mp-outbox.h"
#include "mp-rate.h"
#include "mp-sendlog.h"
#include "mp-smtp.h"

G_BEGIN_DECLS

/* A warning about a message that is sent all the same (a From the
 * account does not own, a Date far from now, fields not added to a
 * signed message): one line, for stderr. */
typedef void (*MpSubmitWarnFunc) (const char *message, gpointer user_data);

/* The command line.  Strings are borrowed; NULL (0, FALSE) means "not
 * given": the account's value applies, then the built-in default. */
typedef struct {
	const char *account; /* --account */
	const char *server;  /* --server */
	const char *tls;     /* --tls: starttls, implicit, off */
	const char *ca_file;
	const char *const *pins;
	const char *client_cert;
	const char *client_key;
	const char *tls_min;
	guint timeout; /* 0: 60 seconds */
	const char *helo;
	const char *user;
	const char *password_command;
	const char *auth;
	gboolean allow_plaintext_auth;
	const char *from;     /* --from */
	const char *outbox;   /* --outbox */
	gboolean local_names; /* sendmail mode: a bare local name
					 ("root") is the account's from */
	/* per message, for messages read from stdin or files */
	const char *const *recipients;
	gboolean header_recipients; /* -t */
	MpSmtpDsn dsn;
	gboolean allow_partial;
	gboolean strict_from; /* refuse a From the account does not own */
	MpSmtpTranscriptFunc transcript; /* also told what submission adds
					    (MP_SMTP_LINE_INFO) */
	gpointer transcript_data;
	MpSubmitWarnFunc warn;
	gpointer warn_data;
	/* DKIM at submission, for an account with dkim-domain: called with
	 * the message as it will be sent (@data from its start: Bcc removed,
	 * Date and Message-ID added), returns the values of the
	 * DKIM-Signature fields to add on top (NULL-terminated, folded with
	 * CRLF and a space; freed with g_strfreev), or NULL with @error set
	 * (the message is then not sent).  NULL: such accounts are refused
	 * (MP_ERROR_CONFIG).  lib/submit cannot sign: smtp-send hands it the
	 * signer of lib/message. */
	char **(*sign) (const MpAccount *account, GMimeStream *data,
			gpointer user_data, GError **error);
	gpointer sign_data;
} MpSubmitOptions;

/* What became of one message. */
typedef struct {
	int exit_code;      /* 0 sent, else its sysexits code */
	char *error;        /* why it was not sent, one line; NULL when sent */
	char *stored;       /* the outbox file it was stored in (exit 75) */
	char *set_aside;    /* where a flushed message that failed for good
			      went (DIR/failed/...) */
	char *account;      /* the account used, or NULL */
	GPtrArray *replies; /* char *: "rcpt: accepted|refused: reply", when
			       some recipient was refused */
	guint recipients;   /* recipients of the envelope */
	char *reply; /* the server's reply to the end of data (batches), or
			NULL when none came */
} MpSubmitResult;

void mp_submit_result_clear (MpSubmitResult *res);

/* Called for each message of a batch or a flush: @name is its file, or
 * its name in the outbox. */
typedef void (*MpSubmitReportFunc) (const char *name, const MpSubmitResult *res,
				    gpointer user_data);

typedef struct _MpSubmit MpSubmit;

/* A submitter for @opts (borrowed, must outlive it) and @config
 * (borrowed; may hold no account).  Nothing is connected yet. */
MpSubmit *mp_submit_new (const MpSubmitOptions *opts, MpAccountConfig *config);

/* Says QUIT on every connection and frees @submit. */
void mp_submit_free (MpSubmit *submit);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MpSubmit, mp_submit_free)

/* Checks what can be checked before any message is read: the account
 * named by --account exists, and its values (tls, auth mechanism) are
 * usable.  Errors: MP_ERROR_CONFIG naming the file and line, or
 * MP_ERROR_USAGE. */
gboolean mp_submit_check (MpSubmit *submit, GError **error);

/* Sends the message in @in to the recipients of the options (or of its
 * header fields), through the account chosen for it: --account, else the
 * one whose from= is the message's From address, else [account default],
 * else the command line alone.  Submission completes the message first
 * (RFC 6409 8): a Date and a Message-ID are added when missing, unless it
 * carries a DKIM-Signature (then nothing is added, and a warning says
 * so); a From address the account does not allow (from=, allowed-from=)
 * and a Date more than a week from now are warned about, and with
 * strict_from the former is refused (MP_ERROR_DATA).  The connection of that account is opened
 * on first use and reused for the next message; after a failure the
 * transaction was reset (RSET), and a connection the server closed is
 * opened again for the next message.  A message that meets a temporary
 * failure (exit 75) after its envelope was built is stored in the outbox
 * (--outbox, else the account's outbox=) when there is one: res->stored
 * names the file, the exit code stays 75.  A permanent failure is never
 * stored.  Always fills @res (clear it with mp_submit_result_clear()). */
void mp_submit_message (MpSubmit *submit, MpInput *in, MpSubmitResult *res);

/* Prints, through @write, the envelope and data smtp-send would send for
 * @in (--dry-run): the account is chosen and the message completed as for
 * mp_submit_message(), --strict-from applies, but nothing goes out, so
 * nothing is warned about.
 * Errors: as mp_envelope_new() and @write. */
gboolean mp_submit_dry_run (MpSubmit *submit, MpInput *in,
			    MpEnvelopeWriteFunc write, gpointer user_data,
			    GError **error);


/* The messages of a batch: message files, or the messages of an mbox
 * stream (what mime-merge writes), read one at a time. */
typedef struct _MpSubmitSource MpSubmitSource;

/* The files @files (@n of them, borrowed: they must outlive the source);
 * a file that cannot be read is reported as that message's failure. */
MpSubmitSource *mp_submit_source_new_files (char **files, guint n);

/* The messages of the mbox stream on @fd (not closed), @name in messages
 * ("stdin").  A stream that is not an mbox, is empty, or cannot be read
 * stops the batch (MpSubmitBatchStats.error). */
MpSubmitSource *mp_submit_source_new_mbox (int fd, const char *name);

void mp_submit_source_free (MpSubmitSource *src);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MpSubmitSource, mp_submit_source_free)

/* How a batch goes.  Pointers are borrowed. */
typedef struct {
	guint jobs;            /* connections per account (0 or 1: one) */
	guint reconnect_after; /* QUIT and connect again after this many
				  messages on one connection; 0: never */
	MpRate *rate;          /* pacing, or NULL */
	MpSendLog *log;        /* one line per message as its final reply comes;
			   opened with resume, what it shows accepted is
			   skipped */
	volatile int *stop;    /* set (by a signal handler): take no new
			       message, wait for the replies in flight */
	MpSubmitReportFunc report;
	gpointer report_data;
} MpSubmitBatchOptions;

/* What a batch did. */
typedef struct {
	guint sent;       /* messages accepted */
	guint failed;     /* messages not accepted */
	guint skipped;    /* accepted in the resumed log: not sent again */
	gboolean stopped; /* *stop ended it before the source's end */
	GError *error;    /* the source or the log failed: the batch stopped
			     there (free it) */
} MpSubmitBatchStats;

/* Sends the messages of @src over @bopts->jobs connections per account,
 * each as mp_submit_message() does, and calls @bopts->report for each as
 * it is done (from the worker's thread, one call at a time).  When the
 * server offers PIPELINING, the end of data of a message goes out with
 * the next message's MAIL, RCPT and DATA (RFC 2920 3.1) and its reply is
 * read before theirs: each message's outcome, report, log line and
 * outbox copy are what they are one at a time; a message sent behind one
 * whose reply ended the session goes on a new connection.  A worker
 * about to wait (for --rate, for a pipe, for another worker reading the
 * source) first reads the reply in flight, so no end of data waits in a
 * buffer.  Each message's log line is written when its final reply is
 * in; one whose final reply never came is logged "deferred" (RFC 5321
 * 4.1.1.4: it may be sent again).  Returns the worst exit code
 * (mp_submit_worse()), that of @stats->error included, and EX_TEMPFAIL
 * at least when stopped. */
int mp_submit_run (const MpSubmitOptions *opts, MpAccountConfig *config,
		   MpSubmitSource *src, const MpSubmitBatchOptions *bopts,
		   MpSubmitBatchStats *stats);

/* mp_submit_run() on the files @files, with @jobs, no log and no pacing:
 * calls @report for each file as it is done.  Returns the worst exit
 * code (mp_submit_worse()). */
int mp_submit_batch (const MpSubmitOptions *opts, MpAccountConfig *config,
		     char **files, guint n, guint jobs,
		     MpSubmitReportFunc report, gpointer report_data);

/* The outbox directories to flush: --outbox, else the outbox= of the
 * --account, else those of every account (each once).  Newly allocated
 * NULL-terminated vector; empty when there is none. */
char **mp_submit_outboxes (MpSubmit *submit);

/* Sends what @dir holds, oldest first, holding the outbox's lock (waiting
 * for another flush to finish): each message with the envelope and the
 * account stored with it (the command line still overrides the account's
 * settings).  A message the server accepted is removed; one that fails
 * temporarily stays; one that fails for good is set aside in failed/.
 * Calls @report for each.  Returns the worst exit code of the messages
 * (see mp_submit_worse()), or sets @error (MP_ERROR_CANT_CREATE, _IO)
 * and returns -1 when the outbox cannot be opened or listed. */
int mp_submit_flush (MpSubmit *submit, const char *dir,
		     MpSubmitReportFunc report, gpointer user_data,
		     GError **error);

/* The worse of two exit codes: a permanent failure (any code but 0 and
 * 75) is worse than a temporary one (75), which is worse than success; of
 * two permanent failures the first stays. */
int mp_submit_worse (int a, int b);

G_END_DECLS
