#include "mp-error.h"

#include <gio/gio.h>
#include <sysexits.h>

G_DEFINE_QUARK (mp - error - quark, mp_error)

static int
mp_code_to_exit (int code)
{
	switch ((MpErrorCode) code) {
	case MP_ERROR_USAGE:
		return EX_USAGE;
	case MP_ERROR_DATA:
		return EX_DATAERR;
	case MP_ERROR_NO_INPUT:
		return EX_NOINPUT;
	case MP_ERROR_NO_USER:
		return EX_NOUSER;
	case MP_ERROR_NO_HOST:
		return EX_NOHOST;
	case MP_ERROR_UNAVAILABLE:
		return EX_UNAVAILABLE;
	case MP_ERROR_SOFTWARE:
		return EX_SOFTWARE;
	case MP_ERROR_OS:
		return EX_OSERR;
	case MP_ERROR_CANT_CREATE:
		return EX_CANTCREAT;
	case MP_ERROR_IO:
		return EX_IOERR;
	case MP_ERROR_TEMPFAIL:
		return EX_TEMPFAIL;
	case MP_ERROR_PROTOCOL:
		return EX_PROTOCOL;
	case MP_ERROR_NO_PERM:
		return EX_NOPERM;
	case MP_ERROR_CONFIG:
		return EX_CONFIG;
	}
	return EX_SOFTWARE;
}

static int
gio_code_to_exit (int code)
{
	switch (code) {
	case G_IO_ERROR_NOT_FOUND:
	case G_IO_ERROR_IS_DIRECTORY:
	case G_IO_ERROR_NOT_REGULAR_FILE:
		return EX_NOINPUT;
	case G_IO_ERROR_PERMISSION_DENIED:
		return EX_NOINPUT;
	case G_IO_ERROR_TIMED_OUT:
	case G_IO_ERROR_CONNECTION_REFUSED:
	case G_IO_ERROR_HOST_UNREACHABLE:
	case G_IO_ERROR_NETWORK_UNREACHABLE:
	case G_IO_ERROR_CONNECTION_CLOSED:
		return EX_TEMPFAIL;
	case G_IO_ERROR_HOST_NOT_FOUND:
		return EX_NOHOST;
	case G_IO_ERROR_INVALID_DATA:
	case G_IO_ERROR_PARTIAL_INPUT:
		return EX_DATAERR;
	case G_IO_ERROR_NO_SPACE:
		return EX_IOERR;
	default:
		return EX_IOERR;
	}
}

int
mp_error_exit_code (const GError *error)
{
	if (error == NULL)
		return EX_OK;
	if (error->domain == MP_ERROR)
		return mp_code_to_exit (error->code);
	if (error->domain == G_OPTION_ERROR)
		return EX_USAGE;
	if (error->domain == G_IO_ERROR)
		return gio_code_to_exit (error->code);
	if (error->domain == G_RESOLVER_ERROR)
		return error->code == G_RESOLVER_ERROR_TEMPORARY_FAILURE ?
			       EX_TEMPFAIL :
			       EX_NOHOST;
	if (error->domain == G_TLS_ERROR)
		return EX_PROTOCOL;
	if (error->domain == G_FILE_ERROR) {
		switch (error->code) {
		case G_FILE_ERROR_NOENT:
		case G_FILE_ERROR_ACCES:
		case G_FILE_ERROR_ISDIR:
			return EX_NOINPUT;
		default:
			return EX_IOERR;
		}
	}
	if (error->domain == G_CONVERT_ERROR)
		return EX_DATAERR;
	if (error->domain == G_KEY_FILE_ERROR)
		return EX_CONFIG;
	return EX_SOFTWARE;
}

void
mp_error_set_errno (GError **error, MpErrorCode code, int errsv,
		    const char *what)
{
	g_set_error (error, MP_ERROR, code, "%s: %s", what, g_strerror (errsv));
}
