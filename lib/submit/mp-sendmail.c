/* mp-sendmail: sendmail's command line turned into smtp-send's options. */
#include "mp-sendmail.h"
#include "mp-address.h"
#include "mp-error.h"

#include <string.h>

typedef enum {
	FLAG_UNKNOWN,
	FLAG_NONE,     /* takes no argument */
	FLAG_ARG,      /* takes an argument, attached or the next one */
	FLAG_ATTACHED, /* takes an optional argument, attached only (-q1h) */
} FlagKind;

static FlagKind
flag_kind (char c)
{
	switch (c) {
	case 't':
	case 'i':
	case 'v':
	case 'c':
	case 'G':
	case 'I':
	case 'm':
	case 'n':
	case 's':
	case 'T':
	case 'U':
		return FLAG_NONE;
	case 'f':
	case 'r':
	case 'F':
	case 'B':
	case 'N':
	case 'R':
	case 'V':
	case 'b':
	case 'o':
	case 'O':
	case 'd':
	case 'h':
	case 'L':
	case 'X':
	case 'p':
	case 'A':
	case 'M':
		return FLAG_ARG;
	case 'q':
		return FLAG_ATTACHED;
	default:
		return FLAG_UNKNOWN;
	}
}

/* sendmail's own -o options as callers pass them (sendmail(8)): -oi,
 * -om, -oo, -os, the error modes -oem -oep -oeq -oew -oee and the
 * delivery modes -odb -odd -odi -odq.  Any other value attached to -o is
 * smtp-send's -o FILE (issue 14: "-o/tmp/x" switched to sendmail mode,
 * where it was ignored, and the message was really sent). */
static const char *const sendmail_o_options[] = {
	"i",  "m",  "o",  "s",  "em", "ep", "eq",
	"ew", "ee", "db", "dd", "di", "dq", NULL,
};

gboolean
mp_sendmail_is_o_option (const char *value)
{
	return value != NULL && g_strv_contains (sendmail_o_options, value);
}

static gboolean
called_sendmail (const char *argv0)
{
	g_autofree char *base = argv0 ? g_path_get_basename (argv0) : NULL;

	return base != NULL && g_str_equal (base, "sendmail");
}

/* Whether the long option "--NAME" (or "--NAME=...") takes its value from
 * the next argument. */
static gboolean
long_takes_next (const char *arg, const GOptionEntry *entries)
{
	const char *name = arg + 2;

	if (strchr (name, '=') != NULL)
		return FALSE;
	if (g_str_equal (name, "output"))
		return TRUE;
	for (const GOptionEntry *e = entries; e != NULL && e->long_name != NULL;
	     e++) {
		if (!g_str_equal (e->long_name, name))
			continue;
		return e->arg != G_OPTION_ARG_NONE &&
		       !(e->arg == G_OPTION_ARG_CALLBACK &&
			 (e->flags & G_OPTION_FLAG_NO_ARG));
	}
	return FALSE;
}

/* The short option @c of smtp-send (its table, plus -o, -V and -h that
 * every command has): 0 when it has none, 1 without, 2 with an argument. */
static int
short_kind (char c, const GOptionEntry *entries)
{
	if (c == 'o')
		return 2;
	if (c == 'V' || c == 'h' || c == '?')
		return 1;
	for (const GOptionEntry *e = entries; e != NULL && e->long_name != NULL;
	     e++)
		if (e->short_name == c)
			return e->arg == G_OPTION_ARG_NONE ? 1 : 2;
	return 0;
}

gboolean
mp_sendmail_detect (int argc, char **argv, const GOptionEntry *entries)
{
	if (argc < 1 || argv[0] == NULL)
		return FALSE;
	if (called_sendmail (argv[0]))
		return TRUE;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] != '-' || a[1] == '\0' || g_str_equal (a, "--"))
			return FALSE;
		if (a[1] == '-') {
			if (long_takes_next (a, entries))
				i++;
			continue;
		}
		/* smtp-send's own short options (-f, -t, -v mean the same as
		 * sendmail's) decide nothing, except -o with an attached
		 * value that is one of sendmail's (-oi, -oem...; "-o/tmp/x"
		 * is -o FILE); anything else is sendmail's */
		for (const char *p = a + 1; *p != '\0'; p++) {
			int kind = short_kind (*p, entries);

			if (kind == 0 ||
			    (*p == 'o' && mp_sendmail_is_o_option (p + 1)))
				return TRUE;
			if (kind == 2) {
				if (p[1] == '\0')
					i++;
				break;
			}
		}
	}
	return FALSE;
}

/* One recipient argument: an address list as a To: field holds it
 * (RFC 5322 3.4: "Name <address>", quoted commas, comments, groups), read
 * by the one reader of lists as they arrive; its addr-specs are added to
 * @out.  Errors: MP_ERROR_USAGE when it holds none. */
static gboolean
add_recipients (GPtrArray *out, const char *arg, GError **error)
{
	if (mp_address_parse_specs (arg, out) == 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "recipient \"%s\": no address", arg);
		return FALSE;
	}
	return TRUE;
}

/* The flags whose value is kept as given: where (a char * of
 * MpSendmailArgs), and the smtp-send option that passes it on (NULL: not
 * used), in the order mp_sendmail_to_argv() writes them. */
static const struct {
	const char *flags;
	gsize offset;
	gboolean upper; /* DSN keywords (RFC 3461 4): upper case */
	const char *option;
} value_flags[] = {
	{ "fr", G_STRUCT_OFFSET (MpSendmailArgs, from), FALSE, "--from=" },
	{ "F", G_STRUCT_OFFSET (MpSendmailArgs, full_name), FALSE, NULL },
	{ "B", G_STRUCT_OFFSET (MpSendmailArgs, body_type), FALSE, NULL },
	{ "N", G_STRUCT_OFFSET (MpSendmailArgs, notify), TRUE,
	  "--dsn-notify=" },
	{ "R", G_STRUCT_OFFSET (MpSendmailArgs, ret), TRUE, "--dsn-return=" },
	{ "V", G_STRUCT_OFFSET (MpSendmailArgs, envid), FALSE, "--envid=" },
};

static char **
value_field (const MpSendmailArgs *args, gsize i)
{
	return G_STRUCT_MEMBER_P (args, value_flags[i].offset);
}

/* TRUE when @c is a flag of value_flags, whose value is then kept */
static gboolean
set_value_flag (MpSendmailArgs *args, char c, const char *value)
{
	for (gsize i = 0; i < G_N_ELEMENTS (value_flags); i++) {
		char **field = value_field (args, i);

		if (strchr (value_flags[i].flags, c) == NULL)
			continue;
		g_free (*field);
		*field = value_flags[i].upper ? g_ascii_strup (value, -1) :
						g_strdup (value);
		return TRUE;
	}
	return FALSE;
}

/* Applies one flag @c with its argument @value (NULL for FLAG_NONE). */
static gboolean
apply_flag (MpSendmailArgs *args, char c, const char *value, GError **error)
{
	if (value != NULL && set_value_flag (args, c, value))
		return TRUE;
	switch (c) {
	case 'n':
		/* sendmail's -n (no aliasing) means nothing to a submission
		 * client; called as smtp-send, -n is the dry run, whatever
		 * flag made this a sendmail command line */
		if (!args->as_sendmail)
			args->dry_run = TRUE;
		break;
	case 't':
		args->read_recipients = TRUE;
		break;
	case 'i':
		args->ignore_dots = TRUE;
		break;
	case 'v':
		args->verbose = TRUE;
		break;
	case 'q':
		args->flush = TRUE;
		break;
	case 'b':
		if (!g_str_equal (value, "m")) {
			g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
				     "-b%s: not supported (smtp-send only "
				     "submits messages, -bm)",
				     value);
			return FALSE;
		}
		break;
	case 'o':
		/* -oi: RFC-less sendmail option "IgnoreDots"; the others
		 * (-oem, -odi, -oep, ...) are about local delivery */
		if (g_str_equal (value, "i"))
			args->ignore_dots = TRUE;
		else if (!args->as_sendmail &&
			 !mp_sendmail_is_o_option (value)) {
			g_free (args->output);
			args->output = g_strdup (value);
		}
		break;
	default:
		/* ignored, with or without an argument */
		break;
	}
	return TRUE;
}

MpSendmailArgs *
mp_sendmail_parse (int argc, char **argv, const GOptionEntry *entries,
		   GError **error)
{
	g_autoptr (MpSendmailArgs) args = g_new0 (MpSendmailArgs, 1);
	int i = 1;

	args->options = g_ptr_array_new_with_free_func (g_free);
	args->recipients = g_ptr_array_new_with_free_func (g_free);
	args->as_sendmail = argc > 0 && called_sendmail (argv[0]);

	for (; i < argc; i++) {
		const char *a = argv[i];

		if (g_str_equal (a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0')
			break;
		if (a[1] == '-') {
			g_ptr_array_add (args->options, g_strdup (a));
			if (long_takes_next (a, entries)) {
				if (i + 1 >= argc) {
					g_set_error (error, MP_ERROR,
						     MP_ERROR_USAGE,
						     "%s: needs a value", a);
					return NULL;
				}
				g_ptr_array_add (args->options,
						 g_strdup (argv[++i]));
			}
			continue;
		}
		for (const char *p = a + 1; *p != '\0'; p++) {
			FlagKind kind = flag_kind (*p);
			const char *value = NULL;

			if (kind == FLAG_UNKNOWN) {
				g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
					     "-%c: unknown sendmail option",
					     *p);
				return NULL;
			}
			if (kind == FLAG_ATTACHED) {
				value = p + 1;
			} else if (kind == FLAG_ARG) {
				if (p[1] != '\0') {
					value = p + 1;
				} else if (i + 1 < argc) {
					value = argv[++i];
				} else {
					g_set_error (
						error, MP_ERROR, MP_ERROR_USAGE,
						"-%c: needs an argument", *p);
					return NULL;
				}
			}
			if (!apply_flag (args, *p, value, error))
				return NULL;
			if (kind != FLAG_NONE)
				break;
		}
	}
	for (; i < argc; i++)
		if (!add_recipients (args->recipients, argv[i], error))
			return NULL;
	return g_steal_pointer (&args);
}

char **
mp_sendmail_to_argv (const MpSendmailArgs *args, const char *argv0)
{
	GPtrArray *out = g_ptr_array_new ();

	g_ptr_array_add (out, g_strdup (argv0));
	for (guint i = 0; i < args->options->len; i++)
		g_ptr_array_add (
			out, g_strdup (g_ptr_array_index (args->options, i)));
	if (args->read_recipients)
		g_ptr_array_add (out, g_strdup ("--read-recipients"));
	/* "--opt=VALUE" so that a value starting with '-' stays a value
	 * (and is then refused by the envelope checks) */
	for (gsize i = 0; i < G_N_ELEMENTS (value_flags); i++) {
		const char *value = *value_field (args, i);

		if (value_flags[i].option != NULL && value != NULL)
			g_ptr_array_add (out,
					 g_strconcat (value_flags[i].option,
						      value, NULL));
	}
	if (args->verbose)
		g_ptr_array_add (out, g_strdup ("--verbose"));
	if (args->flush)
		g_ptr_array_add (out, g_strdup ("--flush"));
	if (args->dry_run)
		g_ptr_array_add (out, g_strdup ("--dry-run"));
	if (args->output != NULL)
		g_ptr_array_add (out,
				 g_strconcat ("--output=", args->output, NULL));
	g_ptr_array_add (out, g_strdup ("--"));
	for (guint i = 0; i < args->recipients->len; i++)
		g_ptr_array_add (out, g_strdup (g_ptr_array_index (
					      args->recipients, i)));
	g_ptr_array_add (out, NULL);
	return (char **) g_ptr_array_free (out, FALSE);
}

void
mp_sendmail_args_free (MpSendmailArgs *args)
{
	if (args == NULL)
		return;
	for (gsize i = 0; i < G_N_ELEMENTS (value_flags); i++)
		g_free (*value_field (args, i));
	g_free (args->output);
	if (args->options != NULL)
		g_ptr_array_unref (args->options);
	if (args->recipients != NULL)
		g_ptr_array_unref (args->recipients);
	g_free (args);
}

static gboolean
is_attached_output (const char *arg)
{
	return g_str_has_prefix (arg, "-o") && arg[2] != '\0' &&
	       !mp_sendmail_is_o_option (arg + 2);
}

/* @argv with each "-oFILE" as "--output=FILE", or NULL when none is. */
static char **
attached_output (int argc, char **argv)
{
	gboolean any = FALSE;
	gboolean options = TRUE;
	char **out;

	for (int i = 1; i < argc && !g_str_equal (argv[i], "--"); i++)
		any |= is_attached_output (argv[i]);
	if (!any)
		return NULL;
	out = g_new0 (char *, argc + 1);
	out[0] = g_strdup (argv[0]);
	for (int i = 1; i < argc; i++) {
		if (options && is_attached_output (argv[i]))
			out[i] = g_strconcat ("--output=", argv[i] + 2, NULL);
		else
			out[i] = g_strdup (argv[i]);
		options &= !g_str_equal (argv[i], "--");
	}
	return out;
}

gboolean
mp_sendmail_rewrite_argv (int argc, char **argv, const GOptionEntry *entries,
			  char ***out, gboolean *sendmail, GError **error)
{
	g_autoptr (MpSendmailArgs) sm = NULL;

	*out = NULL;
	*sendmail = mp_sendmail_detect (argc, argv, entries);
	if (!*sendmail) {
		*out = attached_output (argc, argv);
		return TRUE;
	}
	sm = mp_sendmail_parse (argc, argv, entries, error);
	if (sm == NULL)
		return FALSE;
	*out = mp_sendmail_to_argv (sm, argv[0]);
	return TRUE;
}
