/* mp-account: the configuration file (every malformation named by file and
 * line, the permission rule), account selection and password sources. */
#include "mp-account.h"
#include "mp-cli.h"
#include "mp-error.h"
#include "unit-tree.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmpdir;

static char *
write_file (const char *name, const char *text, int mode)
{
	char *path = g_build_filename (tmpdir, name, NULL);
	g_autoptr (GError) error = NULL;

	g_unlink (path);
	g_file_set_contents (path, text, -1, &error);
	g_assert_no_error (error);
	g_assert_cmpint (g_chmod (path, mode), ==, 0);
	return path;
}

static const char full_config[] =
	"# mimepipe accounts\n"
	"\n"
	"[account default]\n"
	"host = smtp.example.org  \n"
	"port = 465\n"
	"tls = implicit\n"
	"user = ann@example.org\n"
	"auth = scram-sha-256\n"
	"password = p\\sw\\t \n"
	"ca-file = ~/certs/ca.pem\n"
	"pin-sha256 = sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=;"
	"BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=, "
	"CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCA=\n"
	"from = ann@example.org\n"
	"outbox = /var/spool/ann/outbox\n"
	"\n"
	"  [account work mail]\r\n"
	"host=mx.work.example\r\n"
	"password-command = printf '%s\\n' \"$(pass show work)\"\n"
	"outbox = ~/Mail/outbox\n";

static void
test_full_config_read (void)
{
	g_autofree char *path = write_file ("full", full_config, 0600);
	g_autoptr (GError) error = NULL;
	g_autoptr (MpAccountConfig) config = NULL;
	const MpAccount *a;
	GPtrArray *all;

	g_setenv ("HOME", "/home/ann", TRUE);
	config = mp_account_config_load (path, &error);
	g_assert_no_error (error);
	all = mp_account_config_get_accounts (config);
	g_assert_cmpuint (all->len, ==, 2);
	a = g_ptr_array_index (all, 0);
	g_assert_cmpstr (a->name, ==, "default");
	g_assert_cmpuint (a->line, ==, 3);
	g_assert_cmpstr (a->host, ==, "smtp.example.org");
	g_assert_cmpuint (a->port, ==, 465);
	g_assert_cmpstr (a->tls, ==, "implicit");
	g_assert_cmpstr (a->user, ==, "ann@example.org");
	g_assert_cmpstr (a->auth, ==, "SCRAM-SHA-256");
	/* escapes decoded; a password keeps its trailing blank */
	g_assert_cmpstr (a->password, ==, "p w\t ");
	g_assert_cmpstr (a->ca_file, ==, "/home/ann/certs/ca.pem");
	g_assert_cmpuint (g_strv_length (a->pins), ==, 3);
	g_assert_cmpstr (a->pins[0], ==,
			 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	g_assert_cmpstr (a->from, ==, "ann@example.org");
	g_assert_cmpstr (a->outbox, ==, "/var/spool/ann/outbox");
	g_assert_cmpstr (a->file, ==, path);

	a = mp_account_config_find (config, "work mail");
	g_assert_nonnull (a);
	g_assert_cmpuint (a->line, ==, 15);
	g_assert_cmpstr (a->host, ==, "mx.work.example");
	g_assert_cmpuint (a->port, ==, 0);
	g_assert_null (a->tls);
	g_assert_null (a->password);
	g_assert_cmpstr (a->password_command, ==,
			 "printf '%s\\n' \"$(pass show work)\"");
	g_assert_cmpstr (a->outbox, ==, "/home/ann/Mail/outbox");
}

typedef struct {
	const char *name;
	const char *text;
	int mode;
	guint line;          /* expected line in the message; 0: none */
	const char *message; /* expected substring; NULL: accepted */
} ConfigCase;

static const ConfigCase config_cases[] = {
	{ "junk_line", "[account a]\nhost = x\nthis is junk\n", 0600, 3,
	  "not a \"key = value\" line" },
	{ "unknown_group", "# c\n[smtp]\nhost = x\n", 0600, 2,
	  "unknown group [smtp]" },
	{ "account_without_name", "[account ]\n", 0600, 1, "unknown group" },
	{ "unterminated_group", "[account a\n", 0600, 1, "malformed group" },
	{ "text_after_group", "[account a] x\n", 0600, 1, "malformed group" },
	{ "key_outside_group", "host = x\n[account a]\n", 0600, 1,
	  "host: outside any [account NAME] group" },
	{ "unknown_key", "[account a]\nhost = x\nhostname = y\n", 0600, 3,
	  "unknown key \"hostname\" in [account a]" },
	{ "localized_key", "[account a]\nhost[de] = x\n", 0600, 2,
	  "unknown key \"host[de]\"" },
	{ "key_twice", "[account a]\nhost = x\n\nhost = y\n", 0600, 4,
	  "host given twice in [account a] (first on line 2)" },
	{ "group_twice", "[account a]\nhost = x\n[account a]\n", 0600, 3,
	  "[account a] given twice (first on line 1)" },
	{ "port_zero", "[account a]\nport = 0\n", 0600, 2, "port: \"0\"" },
	{ "port_too_big", "[account a]\nport = 65536\n", 0600, 2, "port" },
	{ "port_not_number", "[account a]\nport = 58x\n", 0600, 2, "port" },
	{ "port_negative", "[account a]\nport = -1\n", 0600, 2, "port" },
	{ "port_huge", "[account a]\nport = 99999999999999999999999\n", 0600, 2,
	  "port" },
	{ "tls_yes", "[account a]\ntls = yes\n", 0600, 2,
	  "want starttls, implicit or off" },
	{ "host_with_space", "[account a]\nhost = a b\n", 0600, 2,
	  "not a host name" },
	{ "dkim_domain_with_space", "[account a]\ndkim-domain = a b\n", 0600, 2,
	  "dkim-domain: \"a b\" is not a domain" },
	{ "from_with_name", "[account a]\nfrom = Ann <ann@x.example>\n", 0600,
	  2, "from: \"Ann <ann@x.example>\" is not an address" },
	{ "from_without_domain", "[account a]\nfrom = ann\n", 0600, 2,
	  "not an address" },
	{ "relative_outbox", "[account a]\noutbox = Mail/outbox\n", 0600, 2,
	  "outbox: \"Mail/outbox\" is relative" },
	{ "relative_ca_file", "[account a]\nca-file = ca.pem\n", 0600, 2,
	  "ca-file" },
	{ "short_pin", "[account a]\npin-sha256 = AAAA\n", 0600, 2,
	  "pin-sha256" },
	{ "empty_value", "[account a]\nhost =\n", 0600, 2,
	  "host: empty value" },
	{ "bad_escape", "[account a]\nhost = x\nuser = a\\qb\n", 0600, 3,
	  "user: " },
	/* a shell command is taken as written: no escapes to go wrong */
	{ "command_backslashes", "[account a]\npassword-command = a\\qb\n",
	  0600, 0, NULL },
	{ "control_character", "[account a]\nuser = a\\tb\n", 0600, 2,
	  "control character" },
	{ "auth_not_a_name", "[account a]\nauth = PLAIN LOGIN\n", 0600, 2,
	  "auth" },
	{ "both_password_sources",
	  "[account a]\npassword-command = pass x\npassword = y\n", 0600, 3,
	  "both password and password-command" },
	{ "invalid_utf8", "[account a]\nuser = \xff\xfe\n", 0600, 2,
	  "not valid UTF-8" },
	/* the permission rule: a password others or group can read */
	{ "password_world_readable", "[account a]\nhost = x\npassword = s\n",
	  0644, 3, "password= in a file that group or others can read" },
	{ "password_group_readable", "[account a]\npassword = s\n", 0640, 2,
	  "chmod 600" },
	{ "password_others_only", "[account a]\npassword = s\n", 0604, 2,
	  "chmod 600" },
	{ "password_private", "[account a]\npassword = s\n", 0600, 0, NULL },
	{ "password_owner_read_only", "[account a]\npassword = s\n", 0400, 0,
	  NULL },
	{ "readable_without_password",
	  "[account a]\nhost = x\npassword-command = pass x\n", 0644, 0, NULL },
	{ "comments_and_blanks", "\n# a\n   # b\n\n[account a]\n\n", 0644, 0,
	  NULL },
	{ "empty_file", "", 0644, 0, NULL },
};

static void
test_config_case (gconstpointer data)
{
	const ConfigCase *c = data;
	g_autofree char *path = write_file (c->name, c->text, c->mode);
	g_autoptr (GError) error = NULL;
	g_autoptr (MpAccountConfig) config =
		mp_account_config_load (path, &error);
	g_autofree char *prefix = NULL;

	if (c->message == NULL) {
		g_assert_no_error (error);
		g_assert_nonnull (config);
		return;
	}
	g_assert_null (config);
	g_assert_error (error, MP_ERROR, MP_ERROR_CONFIG);
	g_assert_cmpint (mp_cli_exit_code (error), ==, 78);
	prefix = c->line ? g_strdup_printf ("%s:%u: ", path, c->line) :
			   g_strdup_printf ("%s: ", path);
	if (!g_str_has_prefix (error->message, prefix) ||
	    strstr (error->message, c->message) == NULL)
		g_error ("got \"%s\", want \"%s...%s\"", error->message, prefix,
			 c->message);
}

/* where the file is, and what a missing file means */
static void
test_config_location (void)
{
	g_autofree char *path = NULL;
	g_autofree char *missing = g_build_filename (tmpdir, "nope", NULL);
	g_autoptr (GError) error = NULL;
	g_autoptr (MpAccountConfig) config = NULL;

	g_unsetenv ("MIMEPIPE_CONFIG");
	g_setenv ("HOME", "/home/ann", TRUE);
	g_setenv ("XDG_CONFIG_HOME", "/xdg", TRUE);
	path = mp_account_config_path ();
	g_assert_cmpstr (path, ==, "/xdg/mimepipe/config");
	g_free (path);
	/* a relative XDG_CONFIG_HOME is invalid and ignored */
	g_setenv ("XDG_CONFIG_HOME", "rel", TRUE);
	path = mp_account_config_path ();
	g_assert_cmpstr (path, ==, "/home/ann/.config/mimepipe/config");
	g_free (path);
	g_unsetenv ("XDG_CONFIG_HOME");
	path = mp_account_config_path ();
	g_assert_cmpstr (path, ==, "/home/ann/.config/mimepipe/config");
	g_free (path);
	g_setenv ("MIMEPIPE_CONFIG", "/etc/other", TRUE);
	path = mp_account_config_path ();
	g_assert_cmpstr (path, ==, "/etc/other");

	/* the default file missing: no accounts, no error */
	g_unsetenv ("MIMEPIPE_CONFIG");
	g_setenv ("XDG_CONFIG_HOME", tmpdir, TRUE);
	config = mp_account_config_load (NULL, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (mp_account_config_get_accounts (config)->len, ==, 0);
	g_assert_null (mp_account_config_get_file (config));
	g_assert_null (mp_account_select (config, NULL, "a@b.example", &error));
	g_assert_no_error (error);
	g_assert_null (mp_account_select (config, "work", NULL, &error));
	g_assert_error (error, MP_ERROR, MP_ERROR_CONFIG);
	g_assert_nonnull (strstr (error->message, "no [account work]"));
	g_clear_error (&error);
	g_clear_pointer (&config, mp_account_config_free);

	/* a file named by MIMEPIPE_CONFIG, or given, must exist */
	g_setenv ("MIMEPIPE_CONFIG", missing, TRUE);
	config = mp_account_config_load (NULL, &error);
	g_assert_null (config);
	g_assert_error (error, MP_ERROR, MP_ERROR_CONFIG);
	g_assert_true (g_str_has_prefix (error->message, missing));
	g_clear_error (&error);
	g_unsetenv ("MIMEPIPE_CONFIG");
	config = mp_account_config_load (missing, &error);
	g_assert_null (config);
	g_assert_error (error, MP_ERROR, MP_ERROR_CONFIG);
	g_clear_error (&error);
	/* a directory is not a configuration file */
	config = mp_account_config_load (tmpdir, &error);
	g_assert_null (config);
	g_assert_error (error, MP_ERROR, MP_ERROR_CONFIG);
	g_assert_nonnull (strstr (error->message, "Is a directory"));
	g_clear_error (&error);
	/* MIMEPIPE_CONFIG=/dev/null: no accounts */
	config = mp_account_config_load ("/dev/null", &error);
	g_assert_no_error (error);
	g_assert_cmpuint (mp_account_config_get_accounts (config)->len, ==, 0);
	g_clear_pointer (&config, mp_account_config_free);
	g_unsetenv ("XDG_CONFIG_HOME");
}

static const char select_config[] =
	"[account work]\nhost = mx.work.example\nfrom = ann@work.example\n"
	"[account default]\nhost = smtp.example.org\n"
	"[account home]\nhost = mx.home.example\nfrom = ann@home.example\n"
	"[account home2]\nhost = other.example\nfrom = ann@home.example\n";

static const char idn_config[] =
	"[account idn]\nhost = a.example\nfrom = ann@xn--bcher-kva.example\n"
	"[account idnu]\nhost = b.example\nfrom = zed@bücher.example\n"
	"[account default]\nhost = c.example\n";

static const struct {
	const char *config;
	const char *name;
	const char *from;
	const char *expected; /* account name; NULL: none; "!": error */
} select_cases[] = {
	{ select_config, "home", "ann@work.example", "home" },
	{ select_config, "work", NULL, "work" },
	{ select_config, "nope", "ann@work.example", "!" },
	{ select_config, NULL, "ann@work.example", "work" },
	{ select_config, NULL, "ANN@Work.Example", "work" },
	{ select_config, NULL, "ann@home.example", "home" },
	{ select_config, NULL, "bob@work.example", "default" },
	{ select_config, NULL, "", "default" },
	{ select_config, NULL, NULL, "default" },
	{ "[account work]\nfrom = ann@work.example\n", NULL, "x@y.example",
	  NULL },
	{ "[account work]\nfrom = ann@work.example\n", NULL, NULL, NULL },
	{ "", "default", NULL, "!" },
	/* an IDN domain matches as U-label or A-label, either way round */
	{ idn_config, NULL, "ann@bücher.example", "idn" },
	{ idn_config, NULL, "ann@xn--bcher-kva.example", "idn" },
	{ idn_config, NULL, "zed@xn--bcher-kva.example", "idnu" },
	{ idn_config, NULL, "zed@bücher.example", "idnu" },
	{ idn_config, NULL, "ann@bucher.example", "default" },
};

static void
test_select_account (void)
{
	for (guint i = 0; i < G_N_ELEMENTS (select_cases); i++) {
		g_autofree char *path =
			write_file ("select", select_cases[i].config, 0600);
		g_autoptr (GError) error = NULL;
		g_autoptr (MpAccountConfig) config =
			mp_account_config_load (path, &error);
		const MpAccount *a;
		const char *want = select_cases[i].expected;

		g_assert_no_error (error);
		a = mp_account_select (config, select_cases[i].name,
				       select_cases[i].from, &error);
		if (want != NULL && g_str_equal (want, "!")) {
			g_assert_null (a);
			g_assert_error (error, MP_ERROR, MP_ERROR_CONFIG);
			g_assert_true (g_str_has_prefix (error->message, path));
			continue;
		}
		g_assert_no_error (error);
		if (want == NULL)
			g_assert_null (a);
		else
			g_assert_cmpstr (a->name, ==, want);
	}
}

static const struct {
	const char *command;
	const char *expected; /* NULL: error */
	int code;             /* MP_ERROR code of the error */
	const char *message;  /* expected in the error message */
} command_cases[] = {
	{ "echo secret", "secret", 0, NULL },
	{ "printf 'secret'", "secret", 0, NULL },
	/* only one trailing newline goes */
	{ "printf 'secret\\n\\n'", "secret\n", 0, NULL },
	{ "printf 'secret\\r\\n'", "secret", 0, NULL },
	{ "printf ' with blanks \\n'", " with blanks ", 0, NULL },
	/* a token longer than msmtp's old 500-byte limit */
	{ "head -c 3000 /dev/zero | tr '\\0' x", NULL, -1, NULL },
	/* stdin is /dev/null: a command that reads it sees end of file at
	 * once instead of hanging on (or eating) the caller's input */
	{ "if read x; then echo got; else echo eof; fi", "eof", 0, NULL },
	{ "echo 'gpg: decryption failed' >&2; exit 3", NULL, MP_ERROR_CONFIG,
	  "acct: exited with status 3: gpg: decryption failed" },
	{ "echo offline >&2; exit 75", NULL, MP_ERROR_TEMPFAIL,
	  "exited with status 75: offline" },
	{ "kill -9 $$", NULL, MP_ERROR_CONFIG, "killed by signal 9" },
	{ "true", NULL, MP_ERROR_CONFIG, "printed no password" },
	{ "echo", NULL, MP_ERROR_CONFIG, "printed no password" },
	{ "/nonexistent/helper", NULL, MP_ERROR_CONFIG, "status 127" },
};

static void
test_password_command (void)
{
	for (guint i = 0; i < G_N_ELEMENTS (command_cases); i++) {
		g_autoptr (GError) error = NULL;
		g_autofree char *pw = mp_account_run_password_command (
			command_cases[i].command, "acct", &error);

		if (command_cases[i].code == -1) {
			g_assert_no_error (error);
			g_assert_cmpuint (strlen (pw), ==, 3000);
			continue;
		}
		if (command_cases[i].expected != NULL) {
			g_assert_no_error (error);
			g_assert_cmpstr (pw, ==, command_cases[i].expected);
			continue;
		}
		g_assert_null (pw);
		g_assert_error (error, MP_ERROR, command_cases[i].code);
		if (strstr (error->message, command_cases[i].message) == NULL)
			g_error ("%s: got \"%s\"", command_cases[i].command,
				 error->message);
	}
}

static const struct {
	const char *netrc;
	const char *host;
	const char *user;
	const char *expected; /* NULL: no entry */
} netrc_cases[] = {
	{ "machine smtp.example.org login ann password s3cret\n",
	  "smtp.example.org", "ann", "s3cret" },
	{ "machine smtp.example.org\n  login ann\n  password s3cret\n",
	  "SMTP.Example.ORG", "ann", "s3cret" },
	{ "machine smtp.example.org login bob password b\n"
	  "machine smtp.example.org login ann password a\n",
	  "smtp.example.org", "ann", "a" },
	{ "machine smtp.example.org login bob password b\n", "smtp.example.org",
	  "ann", NULL },
	{ "machine other.example login ann password o\n", "smtp.example.org",
	  "ann", NULL },
	{ "machine other.example login ann password o\n"
	  "default login ann password d\n",
	  "smtp.example.org", "ann", "d" },
	{ "machine smtp.example.org login ann password \"with \\\"quotes\\\" "
	  "and spaces\"\n",
	  "smtp.example.org", "ann", "with \"quotes\" and spaces" },
	{ "macdef init\nmachine smtp.example.org password wrong\n\n"
	  "machine smtp.example.org login ann password right\n",
	  "smtp.example.org", "ann", "right" },
	/* an entry without login fits any user */
	{ "machine smtp.example.org password p\n", "smtp.example.org", "ann",
	  "p" },
	{ "machine smtp.example.org login ann account x password p\n",
	  "smtp.example.org", "ann", "p" },
	{ "", "smtp.example.org", "ann", NULL },
	/* the steps of mp_account_netrc_lookup: a word outside any entry
	 * is skipped, a later password replaces an earlier one, no user
	 * takes any login, a macro at the end runs to it */
	{ "stray words machine h.example login ann password p\n", "h.example",
	  "ann", "p" },
	{ "machine h.example login ann password old password new\n",
	  "h.example", "ann", "new" },
	{ "machine h.example login bob login ann password p\n", "h.example",
	  "ann", "p" },
	{ "machine h.example login bob password p\n", "h.example", NULL, "p" },
	{ "machine h.example login ann password\n", "h.example", "ann", NULL },
	{ "macdef init\nmachine h.example password p\n", "h.example", "ann",
	  NULL },
};

static void
test_netrc_lookup (void)
{
	for (guint i = 0; i < G_N_ELEMENTS (netrc_cases); i++) {
		g_autofree char *path =
			write_file ("netrc", netrc_cases[i].netrc, 0600);
		g_autoptr (GError) error = NULL;
		g_autofree char *pw = NULL;

		g_assert_true (mp_account_netrc_lookup (
			path, netrc_cases[i].host, netrc_cases[i].user, &pw,
			&error));
		g_assert_no_error (error);
		g_assert_cmpstr (pw, ==, netrc_cases[i].expected);
	}
}

/* the sources in order: command (or password=), netrc, environment */
static void
test_password_sources_in_order (void)
{
	g_autofree char *home = g_build_filename (tmpdir, "home", NULL);
	g_autofree char *netrc = g_build_filename (home, ".netrc", NULL);
	g_autoptr (GError) error = NULL;
	char *pw;

	g_mkdir (home, 0700);
	g_setenv ("HOME", home, TRUE);
	g_unlink (netrc);
	g_setenv ("MIMEPIPE_PASSWORD", "from-env", TRUE);

	pw = mp_account_get_password ("h.example", "ann", "echo from-command",
				      NULL, "acct", &error);
	g_assert_no_error (error);
	g_assert_cmpstr (pw, ==, "from-command");
	g_free (pw);
	pw = mp_account_get_password ("h.example", "ann", NULL, "from-config",
				      "acct", &error);
	g_assert_cmpstr (pw, ==, "from-config");
	g_free (pw);
	/* no netrc: the environment */
	pw = mp_account_get_password ("h.example", "ann", NULL, NULL, "acct",
				      &error);
	g_assert_no_error (error);
	g_assert_cmpstr (pw, ==, "from-env");
	g_free (pw);

	g_assert_true (g_file_set_contents (
		netrc, "machine h.example login ann password from-netrc\n", -1,
		NULL));
	g_chmod (netrc, 0600);
	pw = mp_account_get_password ("h.example", "ann", NULL, NULL, "acct",
				      &error);
	g_assert_no_error (error);
	g_assert_cmpstr (pw, ==, "from-netrc");
	g_free (pw);
	/* a failing command does not fall through to other sources */
	pw = mp_account_get_password ("h.example", "ann", "exit 1", NULL,
				      "acct", &error);
	g_assert_null (pw);
	g_assert_error (error, MP_ERROR, MP_ERROR_CONFIG);
	g_clear_error (&error);
	/* another user's entry: the environment */
	pw = mp_account_get_password ("h.example", "bob", NULL, NULL, "acct",
				      &error);
	g_assert_cmpstr (pw, ==, "from-env");
	g_free (pw);

	/* a netrc others can read is refused when it has our password */
	g_chmod (netrc, 0644);
	pw = mp_account_get_password ("h.example", "ann", NULL, NULL, "acct",
				      &error);
	g_assert_null (pw);
	g_assert_error (error, MP_ERROR, MP_ERROR_CONFIG);
	g_assert_true (g_str_has_prefix (error->message, netrc));
	g_assert_nonnull (strstr (error->message, "chmod 600"));
	g_clear_error (&error);

	/* nothing anywhere */
	g_unlink (netrc);
	g_unsetenv ("MIMEPIPE_PASSWORD");
	pw = mp_account_get_password ("h.example", "ann", NULL, NULL,
				      "[account w]", &error);
	g_assert_null (pw);
	g_assert_error (error, MP_ERROR, MP_ERROR_CONFIG);
	g_assert_nonnull (strstr (error->message, "[account w]: no password "
						  "for ann at h.example"));
}

/* the list keys' refusals: each names the word it refuses (steps of
 * read_key no case above reached) */
static const ConfigCase list_key_cases[] = {
	{ "allowed_from_word", "[account a]\nallowed-from = @x.example, ann\n",
	  0600, 2, "allowed-from: \"ann\" is neither an address nor @DOMAIN" },
	{ "allowed_from_bare_at", "[account a]\nallowed-from = @\n", 0600, 2,
	  "allowed-from: \"@\" is neither" },
	{ "dkim_selector_word", "[account a]\ndkim-selector = ed1, r/s\n", 0600,
	  2, "dkim-selector: \"r/s\" is not a selector" },
	{ "dkim_key_relative",
	  "[account a]\ndkim-key = /k/ed.pem, keys/rsa.pem\n", 0600, 2,
	  "dkim-key: \"keys/rsa.pem\" is relative (write it absolute or "
	  "starting with ~/)" },
	{ "auth_word", "[account a]\nauth = PLAIN;\n", 0600, 2,
	  "auth: \"PLAIN;\" is not a SASL mechanism name" },
	{ "lists_accepted",
	  "[account a]\nallowed-from = @x.example; ann@y.example\n"
	  "dkim-domain = x.example\ndkim-selector = ed1, rsa1\n"
	  "dkim-key = ~/ed.pem /k/rsa.pem\n",
	  0600, 0, NULL },
};


/* A config file of another user: its password= refused (that user can
 * read it), the rest of it read.  Needs root, to give a file away. */
static void
test_password_in_a_file_of_another_user (void)
{
	static const char *const texts[] = {
		"[account a]\nhost = x\npassword = s\n",
		"[account a]\nhost = x\npassword-command = pass x\n",
	};

	if (geteuid () != 0) {
		g_test_skip ("needs root to give a file to another user");
		return;
	}
	for (guint i = 0; i < G_N_ELEMENTS (texts); i++) {
		g_autofree char *path = write_file ("theirs", texts[i], 0600);
		g_autoptr (GError) error = NULL;
		g_autoptr (MpAccountConfig) config = NULL;
		g_autofree char *want = NULL;

		g_assert_cmpint (chown (path, 65534, 65534), ==, 0);
		config = mp_account_config_load (path, &error);
		if (i == 1) {
			g_assert_no_error (error);
			g_assert_nonnull (config);
			continue;
		}
		g_assert_null (config);
		g_assert_error (error, MP_ERROR, MP_ERROR_CONFIG);
		want = g_strdup_printf ("%s:3: password= in a file of another "
					"user, who can read it (chown it to "
					"yourself)",
					path);
		g_assert_cmpstr (error->message, ==, want);
	}
}

int
main (int argc, char **argv)
{
	int rc;

	g_test_init (&argc, &argv, NULL);
	tmpdir = g_dir_make_tmp ("test-account-XXXXXX", NULL);
	g_assert_nonnull (tmpdir);
	g_test_add_func ("/account/full_config_read", test_full_config_read);
	for (guint i = 0; i < G_N_ELEMENTS (config_cases); i++) {
		g_autofree char *path = g_strdup_printf ("/account/config/%s",
							 config_cases[i].name);

		g_test_add_data_func (path, &config_cases[i], test_config_case);
	}
	g_test_add_func ("/account/config_location", test_config_location);
	g_test_add_func ("/account/select_account", test_select_account);
	g_test_add_func ("/account/password_command", test_password_command);
	g_test_add_func ("/account/netrc_lookup", test_netrc_lookup);
	g_test_add_func ("/account/password_in_a_file_of_another_user",
			 test_password_in_a_file_of_another_user);
	g_test_add_func ("/account/password_sources_in_order",
			 test_password_sources_in_order);
	for (guint i = 0; i < G_N_ELEMENTS (list_key_cases); i++) {
		g_autofree char *path = g_strdup_printf (
			"/account/config/%s", list_key_cases[i].name);

		g_test_add_data_func (path, &list_key_cases[i],
				      test_config_case);
	}
	rc = g_test_run ();
	remove_tree (tmpdir);
	g_free (tmpdir);
	return rc;
}
