/* mp-sendmail: sendmail's command line, as mutt, git send-email, cron and
 * scripts pass it, turned into smtp-send's own options.
 *
 * Accepted (getopt style: flags may be grouped, "-ti"; an argument may be
 * attached, "-FCronDaemon", or separate, "-F CronDaemon"):
 *   -t            add the To, Cc and Bcc recipients  -> --read-recipients
 *   -f ADDR, -r ADDR  envelope sender                 -> --from ADDR
 *   -N NOTIFY     DSN NOTIFY (never, or success,failure,delay)
 *                                                     -> --dsn-notify NOTIFY
 *   -R RET        DSN RET (full or hdrs)              -> --dsn-return RET
 *   -V ENVID      DSN ENVID                           -> --envid ENVID
 *   -v            verbose                             -> --verbose
 *   -q[TIME]      process the queue                   -> --flush
 *   -bm           deliver (the default mode); any other -b mode is refused
 *   -i, -oi       do not end the input at a lone "." line (see below)
 *   -F NAME       full name: accepted and not used (mimepipe never rewrites
 *                 the message's From)
 *   -B TYPE       body type (-B8BITMIME, -B7BIT): accepted and not used;
 *                 smtp-send sees 8-bit data itself and asks for 8BITMIME
 *   -oem -oep -oeq -oew -oee -odb -odd -odi -odq -om -oo -os, -O OPT:
 *                 sendmail options about local delivery: accepted and
 *                 ignored.  Called as sendmail, every -o is sendmail's and
 *                 ignored; called as smtp-send, any other -o value is
 *                 smtp-send's -o FILE (--output)
 *   -n            called as sendmail: sendmail's "no aliasing", ignored;
 *                 called as smtp-send: --dry-run
 *   -d X, -h N, -L TAG, -X FILE, -p PROTO, -A X, -M X: ignored with
 *                 their argument; -c -G -I -m -s -T -U: ignored
 *   --NAME[=VALUE]  smtp-send's own long options pass through unchanged
 *                 (so mutt's "smtp-send --account work" works)
 *   --            ends the options; so does the first argument that is not
 *                 an option.  Every argument after is a recipient; an
 *                 argument holding a comma-separated list, or
 *                 "Name <addr>", gives its addresses.
 * Any other flag is a usage error.
 *
 * A lone "." line: classic sendmail without -i/-oi ends the message at a
 * line holding only ".".  smtp-send never does (as msmtp): the input ends
 * at end of file, always, and a "." line is sent dot-stuffed, so it
 * arrives as written.  Truncating a message silently at a dot is a way to
 * lose mail; every caller we know passes -i or -oi anyway.  -i and -oi are
 * therefore accepted and change nothing. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What a sendmail command line asked for. */
typedef struct {
	gboolean read_recipients; /* -t */
	gboolean ignore_dots;     /* -i or -oi was given (no effect) */
	gboolean verbose;         /* -v */
	gboolean flush;           /* -q */
	gboolean as_sendmail;     /* argv[0] is "sendmail" */
	gboolean dry_run;         /* -n, called as smtp-send */
	char *output;             /* -o FILE, called as smtp-send */
	char *from;               /* -f or -r, else NULL */
	char *full_name;          /* -F, else NULL (not used) */
	char *body_type;          /* -B, else NULL (not used) */
	char *notify;             /* -N, upper case, else NULL */
	char *ret;                /* -R, upper case, else NULL */
	char *envid;              /* -V, else NULL */
	GPtrArray *options;       /* char *: smtp-send long options (and their
				     values) passed through, in order */
	GPtrArray *recipients;    /* char *: recipient addresses, in order */
} MpSendmailArgs;

/* TRUE when @value, attached to -o, is one of sendmail's options
 * (i, em, ep, eq, ew, ee, db, dd, di, dq, m, o, s). */
gboolean mp_sendmail_is_o_option (const char *value);

/* TRUE when smtp-send should read its command line as sendmail's: the
 * program is called "sendmail" (the basename of @argv[0]), or, before the
 * first recipient, a short option smtp-send does not have (-i, -F, -B, -N,
 * -R, -b, -r, -q, -O, ...) or -o with one of sendmail's options attached
 * (mp_sendmail_is_o_option(): -oi, -oem; "-o/tmp/x" is smtp-send's -o).
 * smtp-send's own short options (from @entries, plus -o FILE, -V, -h) and
 * long options are skipped with their values; -f, -t and -v mean the same
 * in both.  @entries may be NULL. */
gboolean mp_sendmail_detect (int argc, char **argv,
			     const GOptionEntry *entries);

/* Parses @argc/@argv (argv[0] is the program) as sendmail's command line.
 * @entries (may be NULL) tells which long options take a separate value.
 * Errors: MP_ERROR_USAGE for an unknown flag, a missing argument, a -b
 * mode other than -bm, or an empty recipient.
 * Free with mp_sendmail_args_free(). */
MpSendmailArgs *mp_sendmail_parse (int argc, char **argv,
				   const GOptionEntry *entries, GError **error);

/* smtp-send's command line for @args: @argv0, the passed-through long
 * options, the translated ones, "--", then the recipients.  Returns a
 * newly allocated NULL-terminated vector (g_strfreev()). */
char **mp_sendmail_to_argv (const MpSendmailArgs *args, const char *argv0);

/* smtp-send's command line @argc/@argv as its option parser is to read
 * it: sendmail's (mp_sendmail_detect()) parsed and translated
 * (mp_sendmail_to_argv()), *@sendmail then TRUE; else with each "-oFILE"
 * before "--" whose FILE is not one of sendmail's -o options as
 * "--output=FILE" (GOption takes a short option's value only as the next
 * argument, issue 14).  Sets *@out to a newly allocated NULL-terminated
 * vector (g_strfreev()), or to NULL when @argv is fine as it is.
 * Errors: as mp_sendmail_parse(). */
gboolean mp_sendmail_rewrite_argv (int argc, char **argv,
				   const GOptionEntry *entries, char ***out,
				   gboolean *sendmail, GError **error);

void mp_sendmail_args_free (MpSendmailArgs *args);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MpSendmailArgs, mp_sendmail_args_free)

G_END_DECLS
