#include "mp-error.h"

#include <gio/gio.h>

G_DEFINE_QUARK (mp - error - quark, mp_error)

static MpErrorCode
gio_class (int code)
{
	switch (code) {
	case G_IO_ERROR_NOT_FOUND:
	case G_IO_ERROR_IS_DIRECTORY:
	case G_IO_ERROR_NOT_REGULAR_FILE:
	case G_IO_ERROR_PERMISSION_DENIED:
		return MP_ERROR_NO_INPUT;
	case G_IO_ERROR_TIMED_OUT:
	case G_IO_ERROR_CONNECTION_REFUSED:
	case G_IO_ERROR_HOST_UNREACHABLE:
	case G_IO_ERROR_NETWORK_UNREACHABLE:
	case G_IO_ERROR_CONNECTION_CLOSED:
		return MP_ERROR_TEMPFAIL;
	case G_IO_ERROR_HOST_NOT_FOUND:
		return MP_ERROR_NO_HOST;
	case G_IO_ERROR_INVALID_DATA:
	case G_IO_ERROR_PARTIAL_INPUT:
		return MP_ERROR_DATA;
	default:
		return MP_ERROR_IO;
	}
}

/* Whether @error is in the domain named @quark.  GIO's resolver and TLS
 * domains are compared by name: calling g_resolver_error_quark() or
 * g_tls_error_quark() links GIO's resolver, TLS backend and module loader
 * (and with them libmount, libblkid, libselinux) into every command,
 * which costs each process of a statically linked tool its start-up
 * (issue 21).  A domain whose quark was never made has no error yet. */
static gboolean
in_domain (const GError *error, const char *quark)
{
	GQuark q = g_quark_try_string (quark);

	return q != 0 && error->domain == q;
}

MpErrorCode
mp_error_class (const GError *error)
{
	g_return_val_if_fail (error != NULL, MP_ERROR_SOFTWARE);

	if (error->domain == MP_ERROR)
		return (MpErrorCode) error->code;
	if (error->domain == G_OPTION_ERROR)
		return MP_ERROR_USAGE;
	if (error->domain == G_IO_ERROR)
		return gio_class (error->code);
	if (in_domain (error, "g-resolver-error-quark"))
		return error->code == G_RESOLVER_ERROR_TEMPORARY_FAILURE ?
			       MP_ERROR_TEMPFAIL :
			       MP_ERROR_NO_HOST;
	if (in_domain (error, "g-tls-error-quark"))
		return MP_ERROR_PROTOCOL;
	if (error->domain == G_FILE_ERROR) {
		switch (error->code) {
		case G_FILE_ERROR_NOENT:
		case G_FILE_ERROR_ACCES:
		case G_FILE_ERROR_ISDIR:
			return MP_ERROR_NO_INPUT;
		default:
			return MP_ERROR_IO;
		}
	}
	if (error->domain == G_CONVERT_ERROR)
		return MP_ERROR_DATA;
	if (error->domain == G_KEY_FILE_ERROR)
		return MP_ERROR_CONFIG;
	return MP_ERROR_SOFTWARE;
}

void
mp_error_set_errno (GError **error, MpErrorCode code, int errsv,
		    const char *what)
{
	g_set_error (error, MP_ERROR, code, "%s: %s", what, g_strerror (errsv));
}
