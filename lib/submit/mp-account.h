/* mp-account: smtp-send's configuration file, its accounts, and where a
 * password comes from.
 *
 * The file is $XDG_CONFIG_HOME/mimepipe/config (~/.config/mimepipe/config
 * when XDG_CONFIG_HOME is unset or not absolute); MIMEPIPE_CONFIG names
 * another.  It is a GKeyFile (an .ini file: "# comments", "key = value";
 * values may use the escapes \s \n \t \r \\; blanks around a value are
 * removed except at the end of a password) holding only groups
 * "[account NAME]":
 *
 *   [account default]          used when nothing else is chosen
 *   host = smtp.example.org
 *   port = 465                 1-65535; default 465 with tls=implicit,
 *                              else 587
 *   tls = implicit             starttls (default), implicit or off
 *   user = ann@example.org     log in as; no AUTH without it
 *   auth = SCRAM-SHA-256       force a mechanism (XOAUTH2, OAUTHBEARER...)
 *   password-command = pass show mail/example.org   (taken as written:
 *                              no escapes, as the shell will read it)
 *   password = ...             only in a file group and others cannot read
 *   ca-file = ~/certs/ca.pem   trust these CAs instead of the system's
 *   pin-sha256 = BASE64;BASE64 accepted public keys (SHA-256 of the SPKI,
 *                              base64; "sha256//" prefixes allowed;
 *                              separated by ';', ',' or blanks)
 *   from = ann@example.org     the envelope sender; a message whose From
 *                              address is this selects the account
 *   allowed-from = ann@example.net, @example.org
 *                              other From addresses the account may send
 *                              (an address, or @DOMAIN for any there);
 *                              smtp-send warns about any other (RFC 6409
 *                              8.1), --strict-from refuses it
 *   outbox = ~/Mail/outbox     a maildir for messages that could not be
 *                              sent yet
 *
 * Anything else is an error naming the file and the line: a line that is
 * neither a group, a "key = value" nor a comment, another group, a key
 * outside a group, an unknown key, a key or group given twice, an empty
 * or malformed value, both password and password-command in one account,
 * a relative ca-file or outbox (write it absolute or starting with "~/"). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One [account NAME] group; unset keys are NULL (port 0). */
typedef struct {
	char *name; /* NAME of [account NAME] */
	char *host;
	guint16 port;
	char *tls; /* "starttls", "implicit" or "off" */
	char *user;
	char *auth;
	char *password_command;
	char *password;
	char *ca_file; /* with "~/" expanded */
	char **pins;   /* NULL-terminated list, without "sha256//" */
	char *from;
	char **allowed_from; /* NULL-terminated: addresses and "@DOMAIN" */
	char *outbox;        /* with "~/" expanded */
	/* DKIM at submission: all three or none; a selector per key */
	char *dkim_domain;
	char **dkim_selectors; /* NULL-terminated */
	char **dkim_keys;      /* NULL-terminated, "~/" expanded */
	char *file;            /* the configuration file */
	guint line;            /* the line of its [account NAME] */
} MpAccount;

typedef struct _MpAccountConfig MpAccountConfig;

/* The configuration file to read: MIMEPIPE_CONFIG when set and not empty,
 * else $XDG_CONFIG_HOME/mimepipe/config, else ~/.config/mimepipe/config.
 * Newly allocated. */
char *mp_account_config_path (void);

/* Reads and checks the configuration file @path (NULL: the one
 * mp_account_config_path() names).  When @path is NULL, MIMEPIPE_CONFIG is
 * unset and the default file does not exist, the result is an empty
 * configuration: smtp-send then needs --server.
 * Errors: MP_ERROR_CONFIG, the message starting "FILE:LINE: " where a line
 * is at fault: a missing or unreadable file that was named explicitly, a
 * malformed file (see above), or a "password" key in a file that group or
 * others can read.  Free with mp_account_config_free(). */
MpAccountConfig *mp_account_config_load (const char *path, GError **error);

void mp_account_config_free (MpAccountConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MpAccountConfig, mp_account_config_free)

/* The file read (NULL for an empty configuration whose file is missing). */
const char *mp_account_config_get_file (MpAccountConfig *config);

/* The accounts, in the order of the file (MpAccount *, borrowed). */
GPtrArray *mp_account_config_get_accounts (MpAccountConfig *config);

/* The account named @name, or NULL (borrowed). */
const MpAccount *mp_account_config_find (MpAccountConfig *config,
					 const char *name);

/* Chooses the account for a message: the one named @name when not NULL;
 * else the first whose "from" is @from (the message's sender address,
 * may be NULL), compared without regard to ASCII case and with an IDN
 * domain matching in U-label or A-label form; else "default";
 * else NULL with no error (no account applies).
 * Errors: MP_ERROR_CONFIG when @name is given and no such account exists.
 * The result is borrowed from @config. */
const MpAccount *mp_account_select (MpAccountConfig *config, const char *name,
				    const char *from, GError **error);

/* TRUE when @a may send a message whose From address is @addr: it has
 * neither from= nor allowed-from=, or @addr is its from=, or an
 * allowed-from= address, or in an allowed-from= @DOMAIN (addresses
 * compared as mp_account_select() does). */
gboolean mp_account_allows_from (const MpAccount *a, const char *addr);

/* Runs @command with /bin/sh -c, stdin from /dev/null, stderr captured, and
 * returns its output without one trailing newline ("\n" or "\r\n").
 * @what names it in errors (e.g. "[account work] password-command").
 * Errors: MP_ERROR_TEMPFAIL when the command exits with status 75
 * (EX_TEMPFAIL: an OAuth2 helper that could not reach its server);
 * otherwise MP_ERROR_CONFIG when it cannot be run, exits non-zero or is
 * killed (the message gives the status and the first lines of its
 * stderr), or prints nothing.  Newly allocated. */
char *mp_account_run_password_command (const char *command, const char *what,
				       GError **error);

/* Looks up @host (and @user, when not NULL) in the netrc file @path
 * ("machine HOST login USER password PASS", "default" entries, quoted
 * tokens, macdef skipped).  Returns TRUE with the password in *@password
 * (newly allocated), or TRUE with NULL when there is no such entry or no
 * such file.
 * Errors: MP_ERROR_CONFIG when the matching entry's file can be read by
 * group or others; MP_ERROR_CONFIG for a file that exists but cannot be
 * read. */
gboolean mp_account_netrc_lookup (const char *path, const char *host,
				  const char *user, char **password,
				  GError **error);

/* The password (or OAuth2 token) for @user at @host, from the first source
 * that has one:
 *   1. @password_command (mp_account_run_password_command()), or
 *      @password (the config file's password=) when given;
 *   2. ~/.netrc (machine @host, login @user);
 *   3. the MIMEPIPE_PASSWORD environment variable.
 * (The Secret Service keyring is not consulted: mimepipe is not built with
 * libsecret.)  @what names the account in messages.
 * Errors: those of the password command and the netrc lookup;
 * MP_ERROR_CONFIG when no source has a password.  Newly allocated. */
char *mp_account_get_password (const char *host, const char *user,
			       const char *password_command,
			       const char *password, const char *what,
			       GError **error);

G_END_DECLS
