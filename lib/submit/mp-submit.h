/* mp-submit: what smtp-send does with each message: choose its account,
 * merge the account with the command line, build the envelope, send it
 * over one connection per account (reused across a batch), and keep a
 * message that met a temporary failure in the outbox; flush the outbox. */
#pragma once

#include "mp-account.h"
#include "mp-io.h"
#include "mp-smtp.h"

G_BEGIN_DECLS

/* A warning about a message that is sent all the same (a From the
 * account does not own, a Date far from now, fields not added to a
 * signed message): one line, for stderr. */
typedef void (*MpSubmitWarnFunc) (const char *message, gpointer user_data);

/* Called by mp_submit_run() and mp_submit_flush() for each message once
 * it is done: @name is its file (or "stdin: message N" in an mbox), or
 * its path in the outbox; @res what became of it (borrowed). */
typedef struct _MpSubmitResult MpSubmitResult;
typedef void (*MpSubmitReportFunc) (const char *name, const MpSubmitResult *res,
				    gpointer user_data);

/* How a batch goes (--mbox or message files).  Strings are borrowed. */
typedef struct {
	int jobs;            /* --jobs: connections per account, 1 to 64 */
	int reconnect_after; /* --reconnect-after: QUIT and connect again
				after this many messages on one connection;
				0: never */
	const char *rate;    /* --rate "N/s", "N/min", "N/h" (mp_rate_parse) */
	const char *log;     /* --log FILE: one JSON line per message as its
				final reply comes */
	const char *resume;  /* --resume FILE: what FILE shows accepted is
				skipped; logs to FILE */
	volatile int *stop;  /* set (by a signal handler): take no new
				message, wait for the replies in flight */
	MpSubmitReportFunc report;
	gpointer report_data;
} MpSubmitBatchOptions;

/* One submission request: smtp-send's command line, written there by its
 * option parser, and what the tool adds (callbacks, the operands).
 * Strings are borrowed; NULL (0, FALSE) means "not given": the account's
 * value applies, then the built-in default.  The account is merged with
 * it in one place, when a connection is set up. */
typedef struct {
	const char *account; /* --account */
	const char *server;  /* --server */
	const char *tls;     /* --tls: starttls, implicit, off */
	/* --helo, --timeout (60 unless given; checked > 0), --ca-file,
	 * --pin-sha256, --client-cert, --client-key, --tls-min, --user,
	 * --auth, --allow-plaintext-auth, and the transcript (-v), which is
	 * also told what submission adds (MP_SMTP_LINE_INFO); host, port,
	 * tls and password are the connection's own */
	MpSmtpConfig smtp;
	const char *password_command;
	const char *from;     /* --from */
	const char *outbox;   /* --outbox */
	gboolean local_names; /* sendmail mode: a bare local name
				 ("root") is the account's from, every
				 operand a recipient */
	/* the operands, as mp_submit_options_check() sorts them: the
	 * recipients of each message read from stdin or files (none given:
	 * those of its header fields), or the message files of a batch
	 * (else NULL) */
	const char *const *recipients;
	char **files;
	gboolean header_recipients; /* -t */
	MpSmtpDsn dsn;
	gboolean allow_partial;
	gboolean strict_from; /* refuse a From the account does not own */
	/* what to do */
	gboolean flush;     /* --flush */
	gboolean mbox;      /* --mbox */
	gboolean dry_run;   /* --dry-run */
	const char *output; /* -o FILE of --dry-run */
	MpSubmitBatchOptions batch;
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

/* The defaults of what has one: --timeout 60, --jobs 1. */
/* clang-format off */
#define MP_SUBMIT_OPTIONS_INIT { .smtp.timeout = 60, .batch.jobs = 1 }
/* clang-format on */

/* The usage checks that need no message nor configuration, in this
 * order: the values of --tls, --timeout, --jobs; --flush with --dry-run;
 * -o without --dry-run; the SMTP values (mp_smtp_check_config()) and the
 * DSN values; then the operands @args (NULL-terminated, borrowed: they
 * must outlive @opts): in sendmail mode (local_names) every one is a
 * recipient; otherwise one with '@' is a recipient and one with '/' a
 * message file, and a bare name that is also a file here is refused (a
 * typo would send the file to the wrong place, issue 14); recipients and
 * files do not mix.  Sets @opts->files or @opts->recipients.  Then the
 * batch options against what is sent (--mbox, --log, --resume, --rate,
 * --reconnect-after), and --flush and --dry-run against the operands.
 * Errors: MP_ERROR_USAGE naming the option. */
gboolean mp_submit_options_check (MpSubmitOptions *opts, char **args,
				  GError **error);

/* What became of one message. */
struct _MpSubmitResult {
	GError *error;      /* why it was not sent, one line (its class is
			       the outcome: MP_ERROR_TEMPFAIL for a
			       temporary failure); NULL when sent */
	char *stored;       /* the outbox file it was stored in (after a
			       temporary failure) */
	char *set_aside;    /* where a flushed message that failed for good
			      went (DIR/failed/...) */
	char *account;      /* the account used, or NULL */
	GPtrArray *replies; /* char *: "rcpt: accepted|refused: reply", when
			       some recipient was refused */
	guint recipients;   /* recipients of the envelope */
	char *reply; /* the server's reply to the end of data (batches), or
			NULL when none came */
};

void mp_submit_result_clear (MpSubmitResult *res);

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
 * failure (MP_ERROR_TEMPFAIL) after its envelope was built is stored in
 * the outbox (--outbox, else the account's outbox=) when there is one:
 * res->stored names the file, res->error stays a temporary failure.  A
 * permanent failure is never stored.  Always fills @res (clear it with mp_submit_result_clear()). */
void mp_submit_message (MpSubmit *submit, MpInput *in, MpSubmitResult *res);

/* Prints, through @write, the envelope and data smtp-send would send for
 * @in (--dry-run): the account is chosen and the message completed as for
 * mp_submit_message(), --strict-from applies, but nothing goes out, so
 * nothing is warned about.
 * Errors: as mp_envelope_new() and @write. */
gboolean mp_submit_dry_run (MpSubmit *submit, MpInput *in, MpWriteFunc write,
			    gpointer user_data, GError **error);

/* mp_submit_dry_run() for each message of the mbox stream on @fd (not
 * closed), @name in messages ("stdin"), one after the other.
 * Errors: as mp_submit_dry_run(); those of mp_mbox_reader_next();
 * MP_ERROR_DATA for a stream without a message. */
gboolean mp_submit_dry_run_mbox (MpSubmit *submit, int fd, const char *name,
				 MpWriteFunc write, gpointer user_data,
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

/* What a batch or a flush did. */
typedef struct {
	guint sent;         /* messages accepted */
	guint failed;       /* messages not accepted */
	guint skipped;      /* accepted in the resumed log: not sent again */
	gboolean stopped;   /* *stop ended it before the source's end */
	GError *error;      /* the source, the log or the outbox failed: the
			     batch stopped there (for the tool to say) */
	GError *sync_error; /* the log could not be written out at the end
			       (for the tool to say, before @error) */
	GError *worst;      /* the outcome (mp_submit_keep_worse()) of every
			     message, of @error and @sync_error, and
			     MP_ERROR_TEMPFAIL when stopped; NULL when all
			     went well (already reported: not to be said
			     again) */
} MpSubmitBatchStats;

/* Frees what @stats holds. */
void mp_submit_batch_stats_clear (MpSubmitBatchStats *stats);

/* Sends the messages of @src over @opts->batch.jobs connections per
 * account, each as mp_submit_message() does, and calls
 * @opts->batch.report for each as it is done (from the worker's thread,
 * one call at a time).  With --log or --resume, the log is opened first
 * (a failure stops the batch before it starts) and written out at the
 * end; with --rate, messages are paced.  When the server offers
 * PIPELINING, the end of data of a message goes out with the next
 * message's MAIL, RCPT and DATA (RFC 2920 3.1) and its reply is read
 * before theirs: each message's outcome, report, log line and outbox copy
 * are what they are one at a time; a message sent behind one whose reply
 * ended the session goes on a new connection.  A worker about to wait
 * (for --rate, for a pipe, for another worker reading the source) first
 * reads the reply in flight, so no end of data waits in a buffer.  Each
 * message's log line is written when its final reply is in; one whose
 * final reply never came is logged "deferred" (RFC 5321 4.1.1.4: it may
 * be sent again).  Fills @stats (clear it with
 * mp_submit_batch_stats_clear()). */
void mp_submit_run (const MpSubmitOptions *opts, MpAccountConfig *config,
		    MpSubmitSource *src, MpSubmitBatchStats *stats);

/* The outbox directories to flush: --outbox, else the outbox= of the
 * --account, else those of every account (each once).  Newly allocated
 * NULL-terminated vector; empty when there is none. */
char **mp_submit_outboxes (MpSubmit *submit);

/* Sends what @dir holds, oldest first, holding the outbox's lock (waiting
 * for another flush to finish): each message with the envelope and the
 * account stored with it (the command line still overrides the account's
 * settings).  A message the server accepted is removed; one that fails
 * temporarily stays; one that fails for good is set aside in failed/.
 * Calls @report for each, @name its file in @dir.  Fills @stats: the
 * counts, the worst outcome, and @stats->error (MP_ERROR_CANT_CREATE,
 * _IO, _CONFIG, _TEMPFAIL) when the outbox cannot be opened, locked or
 * listed.  Clear it with mp_submit_batch_stats_clear(). */
void mp_submit_flush (MpSubmit *submit, const char *dir,
		      MpSubmitReportFunc report, gpointer user_data,
		      MpSubmitBatchStats *stats);

/* Keeps in *@worst the worse of *@worst and @error (taken; may be NULL):
 * a permanent failure (any class but MP_ERROR_TEMPFAIL) is worse than a
 * temporary one, which is worse than none; of two permanent failures, or
 * two temporary ones, the first stays. */
void mp_submit_keep_worse (GError **worst, GError *error);

/* What smtp-send says about @res, one line each, without the program's
 * name: for a batch or a flush (@batch) every recipient's reply when some
 * were refused, then "NAME: sent to N recipients", or "NAME: why" (with
 * "; set aside in DIR/failed/..." for a flushed message set aside); for
 * the single message on stdin only what went wrong.  Newly allocated
 * NULL-terminated vector (g_strfreev()); empty when there is nothing to
 * say. */
char **mp_submit_result_lines (const char *name, const MpSubmitResult *res,
			       gboolean batch);

/* What smtp-send says at the end of a batch (@stats as mp_submit_run()
 * left it): how many messages the resumed log showed accepted, and when a
 * signal stopped it, what was sent and how to go on.  Lines as
 * mp_submit_result_lines(). */
char **mp_submit_batch_lines (const MpSubmitOptions *opts,
			      const MpSubmitBatchStats *stats);

G_END_DECLS
