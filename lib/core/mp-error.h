/* mp-error: the one error domain of mimepipe, and the class every error
 * the library returns belongs to.  Which exit code a class gets is the
 * tools' business (tools/common/mp-cli.c, mp_cli_exit_code()). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MP_ERROR (mp_error_quark ())

/* What went wrong, in the classes a caller (a shell script, cron, mutt)
 * can act on.  The tools give each one sysexits code (the number beside
 * it), see mp_cli_exit_code(). */
typedef enum {
	MP_ERROR_USAGE,       /* 64: bad options or arguments */
	MP_ERROR_DATA,        /* 65: bad input data (message, header value) */
	MP_ERROR_NO_INPUT,    /* 66: an input file is missing or unreadable */
	MP_ERROR_NO_USER,     /* 67: addressee unknown (SMTP 5.1.x) */
	MP_ERROR_NO_HOST,     /* 68: host name unknown */
	MP_ERROR_UNAVAILABLE, /* 69: service unavailable, permanent failure */
	MP_ERROR_SOFTWARE,    /* 70: internal error */
	MP_ERROR_OS,          /* 71: system error (fork, ...) */
	MP_ERROR_CANT_CREATE, /* 73: an output file cannot be created */
	MP_ERROR_IO,          /* 74: read or write error */
	MP_ERROR_TEMPFAIL,    /* 75: temporary failure, try again later */
	MP_ERROR_PROTOCOL,    /* 76: remote protocol violation */
	MP_ERROR_NO_PERM,     /* 77: permission denied (authentication) */
	MP_ERROR_CONFIG,      /* 78: configuration error */
} MpErrorCode;

GQuark mp_error_quark (void);

/* The class of @error (not NULL): its code in the MP_ERROR domain; for the
 * other domains the library passes on, the class they belong to (GIO
 * G_IO_ERROR, G_FILE_ERROR, G_RESOLVER_ERROR, G_TLS_ERROR,
 * G_CONVERT_ERROR, G_KEY_FILE_ERROR, G_OPTION_ERROR); MP_ERROR_SOFTWARE
 * for any other domain. */
MpErrorCode mp_error_class (const GError *error);

/* Sets @error from errno @errsv, prefixed with @what (a file name or
 * "stdout"), in the MP_ERROR domain with @code. */
void mp_error_set_errno (GError **error, MpErrorCode code, int errsv,
			 const char *what);

G_END_DECLS
