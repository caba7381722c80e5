/* mp-cli: what every command shares, and only commands: start-up, option
 * parsing, --version, one-line "prog: what: why" error messages and the
 * one table from errors to exit codes (sysexits.h).  The library reports
 * a GError and never prints or exits; this is where a tool does both. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Options every command accepts, filled by mp_cli_parse_operands(). */
typedef struct {
	gboolean version;
	char *output; /* -o FILE, NULL for stdout */
	gboolean crlf;
} MpCliCommon;

/* Sets the program name, the locale (LC_CTYPE, LC_MESSAGES), ignores
 * SIGPIPE (a closed downstream reader becomes a write error: exit 74,
 * quietly, see mp_cli_fail()) and initialises GMime. */
void mp_cli_init (const char *prog);

/* mp_cli_init() but without GMime: for a tool that links no GObject (a
 * static mime-compose, issue 21), whose start-up it would double. */
void mp_cli_init_plain (const char *prog);

/* Parses the command line with @entries plus the common options (--version,
 * -o/--output, and --crlf when @with_crlf).  Handles --version itself
 * (prints and exits 0, or 74 when stdout fails).  @parameter_string and
 * @summary are shown by --help.  What is left in @argv after the program
 * name are the operands; more than @max_operands of them (-1: any number)
 * is refused with one message for every command, "ARG: unexpected
 * argument (at most N operands, see --help)", ARG the first one too many.
 * @common's strings are kept for the process, like the tools' own option
 * values: give a static MpCliCommon (on main's stack they are lost when
 * main returns, which LeakSanitizer reports as a leak).
 * Errors: MP_ERROR_USAGE. */
gboolean mp_cli_parse_operands (const GOptionEntry *entries,
				const char *parameter_string,
				const char *summary, gboolean with_crlf,
				int max_operands, MpCliCommon *common,
				int *argc, char ***argv, GError **error);

/* @text made safe for one line on a terminal: control characters (C0,
 * DEL, C1), line separators and bidi controls as \n, \r, \t, \xNN or
 * \uNNNN, bytes that are not UTF-8 as \xNN; the rest as it is.  Newly
 * allocated. */
char *mp_cli_escape (const char *text);

/* The exit code of @error (sysexits.h): the code of its class
 * (mp_error_class(), the number written beside each MpErrorCode); 0 when
 * @error is NULL.  The only place in mimepipe where an exit code is
 * chosen for an error. */
int mp_cli_exit_code (const GError *error);

/* Prints "prog: message" for @error on stderr, the message escaped with
 * mp_cli_escape() (\n, \x1b, \u009b, \xff), frees it and returns its exit
 * code (mp_cli_exit_code()).  A closed stdout (G_FILE_ERROR_PIPE,
 * `| head -1`) is not worth a message: only its code (74) is returned. */
int mp_cli_fail (GError *error);

G_END_DECLS
