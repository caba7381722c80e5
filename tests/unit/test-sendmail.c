/* mp-sendmail: the command lines real callers pass to sendmail, detected
 * and turned into smtp-send's options. */
#include "mp-error.h"
#include "mp-sendmail.h"

#include <string.h>

/* The part of smtp-send's option table the translation looks at. */
static char *s_str;
static gboolean s_flag;
static const GOptionEntry entries[] = {
	{ "server", 's', 0, G_OPTION_ARG_STRING, &s_str, "", "" },
	{ "user", 'u', 0, G_OPTION_ARG_STRING, &s_str, "", "" },
	{ "account", 0, 0, G_OPTION_ARG_STRING, &s_str, "", "" },
	{ "from", 'f', 0, G_OPTION_ARG_STRING, &s_str, "", "" },
	{ "read-recipients", 't', 0, G_OPTION_ARG_NONE, &s_flag, "", NULL },
	{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &s_flag, "", NULL },
	{ "dry-run", 'n', 0, G_OPTION_ARG_NONE, &s_flag, "", NULL },
	{ "flush", 0, 0, G_OPTION_ARG_NONE, &s_flag, "", NULL },
	{ NULL }
};

typedef struct {
	const char *name;
	const char *argv;     /* words separated by '|' */
	gboolean sendmail;    /* mp_sendmail_detect() */
	const char *expected; /* smtp-send's argv, '|'-separated; NULL: error */
	gboolean ignore_dots;
} Case;

static const Case cases[] = {
	/* mutt's default $sendmail, then what it appends */
	{ "mutt", "sendmail|-oem|-oi|--|bob@example.com|carl@example.com", TRUE,
	  "smtp-send|--|bob@example.com|carl@example.com", TRUE },
	{ "mutt_8bit_envelope_from_dsn",
	  "/usr/sbin/sendmail|-oem|-oi|-B8BITMIME|-f|ann@example.org|-N|"
	  "success,failure|-R|hdrs|--|bob@example.com",
	  TRUE,
	  "smtp-send|--from=ann@example.org|--dsn-notify=SUCCESS,FAILURE|"
	  "--dsn-return=HDRS|--|bob@example.com",
	  TRUE },
	/* set sendmail="smtp-send --account work -oem -oi" */
	{ "mutt_smtp_send_with_account",
	  "smtp-send|--account|work|-oem|-oi|--|bob@example.com", TRUE,
	  "smtp-send|--account|work|--|bob@example.com", TRUE },
	{ "mutt_recipient_starting_with_dash",
	  "sendmail|-oem|-oi|--|-oevil@example.com", TRUE,
	  "smtp-send|--|-oevil@example.com", TRUE },
	{ "git_send_email", "smtp-send|-i|bob@example.com|carl@example.com",
	  TRUE, "smtp-send|--|bob@example.com|carl@example.com", TRUE },
	{ "git_send_email_envelope_sender",
	  "/usr/sbin/sendmail|-i|-f|ann@example.org|bob@example.com", TRUE,
	  "smtp-send|--from=ann@example.org|--|bob@example.com", TRUE },
	{ "cronie",
	  "/usr/sbin/sendmail|-FCronDaemon|-i|-odi|-oem|-oi|-t|-f|root", TRUE,
	  "smtp-send|--read-recipients|--from=root|--", TRUE },
	{ "cronie_as_smtp_send",
	  "smtp-send|-FCronDaemon|-i|-odi|-oem|-oi|-t|-f|root", TRUE,
	  "smtp-send|--read-recipients|--from=root|--", TRUE },
	{ "debian_cron",
	  "/usr/sbin/sendmail|-i|-FCronDaemon|-B8BITMIME|-oem|ann", TRUE,
	  "smtp-send|--|ann", TRUE },
	{ "debian_cron_7bit", "/usr/sbin/sendmail|-i|-FCronDaemon|-oem|ann",
	  TRUE, "smtp-send|--|ann", TRUE },
	/* getopt rules: grouped flags, separate arguments */
	{ "grouped_flags", "sendmail|-ti|-fann@example.org", TRUE,
	  "smtp-send|--read-recipients|--from=ann@example.org|--", TRUE },
	{ "separate_arguments",
	  "sendmail|-F|Cron Daemon|-V|id-1|-r|a@b.example", TRUE,
	  "smtp-send|--from=a@b.example|--envid=id-1|--", FALSE },
	{ "last_from_wins", "sendmail|-f|a@x.example|-fb@x.example|c@x.example",
	  TRUE, "smtp-send|--from=b@x.example|--|c@x.example", FALSE },
	{ "notify_never", "sendmail|-Nnever|-Rfull|b@x.example", TRUE,
	  "smtp-send|--dsn-notify=NEVER|--dsn-return=FULL|--|b@x.example",
	  FALSE },
	{ "unknown_o_and_B_ignored",
	  "sendmail|-oXfoo|-O|DeliveryMode=b|-BBINARYMIME|-U|-odb|b@x.example",
	  TRUE, "smtp-send|--|b@x.example", FALSE },
	{ "o_with_separate_value", "sendmail|-o|i|b@x.example", TRUE,
	  "smtp-send|--|b@x.example", TRUE },
	{ "bm_accepted", "sendmail|-bm|-v|b@x.example", TRUE,
	  "smtp-send|--verbose|--|b@x.example", FALSE },
	{ "q_flushes", "sendmail|-q", TRUE, "smtp-send|--flush|--", FALSE },
	{ "q_with_interval", "sendmail|-q30m", TRUE, "smtp-send|--flush|--",
	  FALSE },
	{ "first_operand_ends_options", "sendmail|b@x.example|-t", TRUE,
	  "smtp-send|--|b@x.example|-t", FALSE },
	{ "comma_list_and_display_names",
	  "sendmail|-i|b@x.example, \"Doe, Carl\" <c@x.example>,Dee <d@x.example>",
	  TRUE, "smtp-send|--|b@x.example|c@x.example|d@x.example", TRUE },
	{ "comments_and_groups_as_a_to_field_holds_them",
	  "sendmail|b@x.example (Bob)|Team: c@x.example, \"Dee\" "
	  "<d@x.example>;|(none) <e@x.example> (work)",
	  TRUE, "smtp-send|--|b@x.example|c@x.example|d@x.example|e@x.example",
	  FALSE },
	{ "long_option_with_equals",
	  "sendmail|--server=mx.example|-i|b@x.example", TRUE,
	  "smtp-send|--server=mx.example|--|b@x.example", TRUE },
	{ "no_recipient_with_t", "sendmail|-t", TRUE,
	  "smtp-send|--read-recipients|--", FALSE },
	/* refused */
	{ "bp_refused", "sendmail|-bp", TRUE, NULL, FALSE },
	{ "bs_refused", "sendmail|-bs", TRUE, NULL, FALSE },
	{ "unknown_flag_refused", "sendmail|-Z|b@x.example", TRUE, NULL,
	  FALSE },
	{ "missing_argument_refused", "sendmail|-i|-f", TRUE, NULL, FALSE },
	{ "missing_long_value_refused", "sendmail|--account", TRUE, NULL,
	  FALSE },
	{ "empty_recipient_refused", "sendmail|-i|--|", TRUE, NULL, FALSE },
	{ "comma_only_refused", "sendmail|-i|--| , ", TRUE, NULL, FALSE },
};

/* smtp-send's own command lines are not sendmail's */
static const struct {
	const char *argv;
	gboolean sendmail;
} detect_cases[] = {
	{ "smtp-send", FALSE },
	{ "smtp-send|-t", FALSE },
	{ "smtp-send|-f|ann@example.org|-t|-v|bob@example.com", FALSE },
	{ "smtp-send|-fann@example.org|bob@example.com", FALSE },
	{ "smtp-send|-s|mx.example|-u|ann|bob@example.com", FALSE },
	{ "smtp-send|--server|mx.example|-n|-o|out.eml", FALSE },
	{ "smtp-send|--account|-i|bob@example.com", FALSE },
	{ "smtp-send|-V", FALSE },
	{ "smtp-send|--|-i", FALSE },
	{ "smtp-send|bob@example.com|-i", FALSE },
	{ "smtp-send|-i", TRUE },
	{ "smtp-send|-t|-oi", TRUE },
	{ "smtp-send|-ti", TRUE },
	{ "smtp-send|-oi", TRUE },
	{ "smtp-send|-oem", TRUE },
	{ "smtp-send|-FCronDaemon", TRUE },
	{ "smtp-send|-B8BITMIME", TRUE },
	{ "smtp-send|-N|never", TRUE },
	{ "smtp-send|-bm", TRUE },
	{ "smtp-send|--account|work|-oem", TRUE },
	{ "/usr/lib/sendmail", TRUE },
	{ "/usr/sbin/sendmail|bob@example.com", TRUE },
	{ "./sendmail|-t", TRUE },
};

static void
test_callers_argv (gconstpointer data)
{
	const Case *c = data;
	g_auto (GStrv) argv = g_strsplit (c->argv, "|", -1);
	int argc = (int) g_strv_length (argv);
	g_autoptr (GError) error = NULL;
	g_autoptr (MpSendmailArgs) args = NULL;
	g_auto (GStrv) out = NULL;
	g_autofree char *joined = NULL;

	g_assert_true (mp_sendmail_detect (argc, argv, entries) == c->sendmail);
	args = mp_sendmail_parse (argc, argv, entries, &error);
	if (c->expected == NULL) {
		g_assert_null (args);
		g_assert_error (error, MP_ERROR, MP_ERROR_USAGE);
		return;
	}
	g_assert_no_error (error);
	g_assert_nonnull (args);
	g_assert_true (args->ignore_dots == c->ignore_dots);
	out = mp_sendmail_to_argv (args, "smtp-send");
	joined = g_strjoinv ("|", out);
	g_assert_cmpstr (joined, ==, c->expected);
}

static void
test_detect_own_command_lines (void)
{
	for (guint i = 0; i < G_N_ELEMENTS (detect_cases); i++) {
		g_auto (GStrv) argv =
			g_strsplit (detect_cases[i].argv, "|", -1);

		if (mp_sendmail_detect ((int) g_strv_length (argv), argv,
					entries) != detect_cases[i].sendmail)
			g_error ("%s: expected %s", detect_cases[i].argv,
				 detect_cases[i].sendmail ? "sendmail" :
							    "smtp-send");
	}
}

/* the full name and the body type are kept for the caller, not used */
static void
test_cron_fields_recorded (void)
{
	char *argv[] = { "sendmail", "-i", "-FCronDaemon", "-B8BITMIME", "-oem",
			 "ann",      NULL };
	g_autoptr (GError) error = NULL;
	g_autoptr (MpSendmailArgs) args =
		mp_sendmail_parse (6, argv, entries, &error);

	g_assert_no_error (error);
	g_assert_cmpstr (args->full_name, ==, "CronDaemon");
	g_assert_cmpstr (args->body_type, ==, "8BITMIME");
	g_assert_cmpuint (args->recipients->len, ==, 1);
	g_assert_false (args->read_recipients);
}

/* the translated command line parses with GOption as smtp-send's would,
 * and a value starting with '-' stays a value */
static void
test_translation_parses_with_goption (void)
{
	char *argv[] = { "sendmail", "-oem",           "-oi",
			 "-f",       "-x@example.org", "-t",
			 "--",       "-b@example.com", NULL };
	g_autoptr (GError) error = NULL;
	g_autoptr (MpSendmailArgs) args =
		mp_sendmail_parse (8, argv, entries, &error);
	g_auto (GStrv) out = NULL;
	g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
	int argc;
	char **av;
	g_autofree char **keep = NULL;

	g_assert_no_error (error);
	out = mp_sendmail_to_argv (args, "smtp-send");
	argc = (int) g_strv_length (out);
	/* GOption rearranges the vector; parse a shallow copy */
	keep = g_memdup2 (out, sizeof (char *) * (gsize) (argc + 1));
	av = keep;
	s_str = NULL;
	s_flag = FALSE;
	g_option_context_add_main_entries (ctx, entries, NULL);
	g_assert_true (g_option_context_parse (ctx, &argc, &av, &error));
	g_assert_no_error (error);
	g_assert_cmpstr (s_str, ==, "-x@example.org");
	g_assert_true (s_flag);
	/* GOption leaves "--" in place when a dash argument follows it */
	g_assert_cmpint (argc, ==, 3);
	g_assert_cmpstr (av[1], ==, "--");
	g_assert_cmpstr (av[2], ==, "-b@example.com");
	g_free (s_str);
	s_str = NULL;
}

/* The command line smtp-send's option parser reads: as given, sendmail's
 * translated, or "-oFILE" spelt out (but never after "--", and never a
 * sendmail -o option). */
static void
test_rewrite_argv (void)
{
	static const struct {
		const char *argv[6];
		gboolean sendmail;
		const char *out; /* joined by ' ', NULL: unchanged */
	} rewrites[] = {
		{ { "smtp-send", "--server", "h", "bob@example.com" }, FALSE },
		{ { "smtp-send", "-n", "-o/tmp/x", "--", "-o/y" },
		  FALSE,
		  "smtp-send -n --output=/tmp/x -- -o/y" },
		{ { "smtp-send", "-o", "/tmp/x" }, FALSE },
		{ { "smtp-send", "-oi", "bob@example.com" },
		  TRUE,
		  "smtp-send -- bob@example.com" },
		{ { "sendmail", "-t" }, TRUE, "sendmail --read-recipients --" },
	};

	for (guint i = 0; i < G_N_ELEMENTS (rewrites); i++) {
		g_auto (GStrv) out = NULL;
		g_autoptr (GError) error = NULL;
		gboolean sendmail = !rewrites[i].sendmail;
		char **argv = (char **) rewrites[i].argv;

		g_test_message ("case %u", i);
		g_assert_true (mp_sendmail_rewrite_argv (
			(int) g_strv_length (argv), argv, entries, &out,
			&sendmail, &error));
		g_assert_no_error (error);
		g_assert_cmpint (sendmail, ==, rewrites[i].sendmail);
		if (rewrites[i].out == NULL) {
			g_assert_null (out);
		} else {
			g_autofree char *joined = g_strjoinv (" ", out);

			g_assert_cmpstr (joined, ==, rewrites[i].out);
		}
	}
}

static void
test_rewrite_argv_refused (void)
{
	char *argv[] = { "sendmail", "-bp", NULL };
	char **out = NULL;
	gboolean sendmail = FALSE;
	g_autoptr (GError) error = NULL;

	g_assert_false (mp_sendmail_rewrite_argv (2, argv, entries, &out,
						  &sendmail, &error));
	g_assert_error (error, MP_ERROR, MP_ERROR_USAGE);
	g_assert_null (out);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autofree char *path =
			g_strdup_printf ("/sendmail/argv/%s", cases[i].name);

		g_test_add_data_func (path, &cases[i], test_callers_argv);
	}
	g_test_add_func ("/sendmail/detect_own_command_lines",
			 test_detect_own_command_lines);
	g_test_add_func ("/sendmail/cron_fields_recorded",
			 test_cron_fields_recorded);
	g_test_add_func ("/sendmail/translation_parses_with_goption",
			 test_translation_parses_with_goption);
	g_test_add_func ("/sendmail/argv_rewritten_for_goption",
			 test_rewrite_argv);
	g_test_add_func ("/sendmail/argv_rewrite_refuses_bad_flags",
			 test_rewrite_argv_refused);
	return g_test_run ();
}
