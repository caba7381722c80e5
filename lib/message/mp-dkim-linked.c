/* mp-dkim-linked: mp-dkim's crypto linked in (mp-dkim-crypto.h): GnuTLS,
 * for mime-dkim, the tests and the fuzzers.  smtp-send links
 * mp-dkim-module.c instead. */
#include "mp-dkim-crypto.h"

const MpDkimCrypto *
mp_dkim_crypto_get (GError **error)
{
	return mp_dkim_crypto_gnutls ();
}
