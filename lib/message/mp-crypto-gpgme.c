/* mp-crypto-gpgme: GPGME for mp-crypto: contexts and keys, the
 * passphrase, the spool, and the feed that gives GPGME an entity. */
#include "mp-crypto-private.h"
#include "mp-error.h"
#include "mp-secret.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <gpgme.h>
#include <string.h>
#include <unistd.h>

/* ---- GPGME --------------------------------------------------------------- */

void
mp_crypto_passphrase_clear (Passphrase *p)
{
	mp_secret_free_len (g_steal_pointer (&p->pass), p->len);
}

gboolean
mp_crypto_passphrase_read (Passphrase *p, const MpCryptoOptions *opts,
			   GError **error)
{
	char *buf;
	gsize len = 0;
	int fd = opts->passphrase_fd;
	const char *name;
	g_autofree char *fdname = NULL;

	memset (p, 0, sizeof *p);
	if (opts->passphrase_file) {
		name = opts->passphrase_file;
		fd = open (name, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			mp_error_set_errno (error, MP_ERROR_NO_INPUT, errno,
					    name);
			return FALSE;
		}
	} else if (fd >= 0) {
		fdname = g_strdup_printf ("fd %d", fd);
		name = fdname;
	} else {
		return TRUE;
	}
	buf = g_malloc (MAX_PASSPHRASE + 1);
	/* one line: read byte by byte so that nothing after it is taken
	 * from a descriptor shared with others */
	for (;;) {
		gssize n = mp_io_read (fd, buf + len, 1);

		if (n < 0) {
			int errsv = errno;

			mp_secret_free_len (buf, len);
			if (opts->passphrase_file)
				close (fd);
			mp_error_set_errno (error, MP_ERROR_IO, errsv, name);
			return FALSE;
		}
		if (n == 0 || buf[len] == '\n')
			break;
		if (++len == MAX_PASSPHRASE)
			break;
	}
	if (opts->passphrase_file)
		close (fd);
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	p->pass = buf;
	p->len = len;
	return TRUE;
}

static gpgme_error_t
passphrase_cb (void *hook, const char *uid_hint, const char *info,
	       int prev_was_bad, int fd)
{
	Passphrase *p = hook;

	/* a wrong passphrase is not tried twice */
	if (prev_was_bad || p->asked)
		return gpgme_error (GPG_ERR_BAD_PASSPHRASE);
	p->asked = TRUE;
	if (gpgme_io_writen (fd, p->pass, p->len) < 0 ||
	    gpgme_io_writen (fd, "\n", 1) < 0)
		return gpgme_error_from_syserror ();
	return 0;
}

void
mp_crypto_set_gpg_error (GError **error, gpgme_error_t err, const char *what)
{
	MpErrorCode code;

	switch (gpgme_err_code (err)) {
	case GPG_ERR_BAD_PASSPHRASE:
	case GPG_ERR_NO_PASSPHRASE:
	case GPG_ERR_CANCELED:
		code = MP_ERROR_NO_PERM;
		break;
	case GPG_ERR_ENOTTY:
	case GPG_ERR_NO_PIN_ENTRY:
	case GPG_ERR_NO_PIN:
		g_set_error (error, MP_ERROR, MP_ERROR_NO_PERM,
			     "%s: the key needs a passphrase and the agent "
			     "cannot ask for it here (give --passphrase-file "
			     "or --passphrase-fd)",
			     what);
		return;
	case GPG_ERR_INV_ENGINE:
	case GPG_ERR_ENGINE_TOO_OLD:
	case GPG_ERR_NOT_SUPPORTED:
		code = MP_ERROR_CONFIG;
		break;
	default:
		code = MP_ERROR_DATA;
	}
	g_set_error (error, MP_ERROR, code, "%s: %s", what,
		     gpgme_strerror (err));
}

static gpgme_protocol_t
gpg_protocol (MpCryptoProtocol p)
{
	return p == MP_CRYPTO_SMIME ? GPGME_PROTOCOL_CMS :
				      GPGME_PROTOCOL_OpenPGP;
}

gpgme_ctx_t
mp_crypto_ctx_new (const MpCryptoOptions *opts, MpCryptoProtocol protocol,
		   Passphrase *pass, GError **error)
{
	gpgme_protocol_t proto = gpg_protocol (protocol);
	gpgme_ctx_t ctx;
	gpgme_error_t err;

	gpgme_check_version (NULL);
	err = gpgme_engine_check_version (proto);
	if (!err)
		err = gpgme_new (&ctx);
	if (!err)
		err = gpgme_set_protocol (ctx, proto);
	if (!err && opts->homedir)
		err = gpgme_ctx_set_engine_info (ctx, proto, NULL,
						 opts->homedir);
	if (err) {
		g_set_error (error, MP_ERROR, MP_ERROR_CONFIG,
			     "%s: cannot be started: %s",
			     protocol == MP_CRYPTO_SMIME ? "gpgsm" : "gpg",
			     gpgme_strerror (err));
		return NULL;
	}
	/* no CRL or OCSP look-ups: a filter must not hang on the network */
	if (protocol == MP_CRYPTO_SMIME)
		gpgme_set_offline (ctx, 1);
	/* S/MIME keys ask the agent: GPGME 1.18's gpgsm engine has no
	 * pinentry mode (gpgme_set_pinentry_mode is ignored for CMS) and
	 * answers gpgsm's inquiries with an empty END, and gpgsm 2.2's
	 * server refuses "OPTION pinentry-mode=loopback" */
	if (pass && pass->pass && protocol == MP_CRYPTO_OPENPGP) {
		gpgme_set_pinentry_mode (ctx, GPGME_PINENTRY_MODE_LOOPBACK);
		gpgme_set_passphrase_cb (ctx, passphrase_cb, pass);
	}
	return ctx;
}

/* The entity fed to GPGME, with bare LF made CRLF (RFC 3156 5: canonical
 * form) when @canon.
 *
 * GPGME 1.18 relays what gpg reads through a pipe of its own (engine-gpg
 * passes gpg no other descriptor), 4 kB per poll(2) round unless the data
 * object asks for larger buffers ("io-buffer-size"), and its
 * _gpgme_io_write() formats every byte it writes for the debug trace even
 * when tracing is off: a non-blocking write that a full pipe cuts short
 * formats the rest again on the next round.  gpg reads 8 kB at a time,
 * so 8 kB rounds are written whole: larger ones measured slower.  For
 * OpenPGP the entity is therefore given by a callback that reads and
 * canonicalises straight into GPGME's buffer (one copy, one pipe, no
 * thread).  gpgsm instead receives a descriptor-backed data object's
 * descriptor itself (assuan descriptor passing) and reads it with no
 * GPGME in between: for S/MIME a thread pumps the entity into a pipe
 * whose read end gpgsm gets. */
#define FEED_IO_BUFFER "8192"

/* Up to @size bytes of the entity, canonicalised, into @out; 0 at its
 * end, -1 on a read error. */
static gssize
feed_read (Feed *f, char *out, gsize size)
{
	gsize o = 0;

	while (o < size) {
		gsize avail, run;
		char *lf;

		if (f->off == f->len) {
			gssize n;

			if (f->eof)
				break;
			n = mp_io_stream_read (f->stream, f->buf, CHUNK);
			if (n < 0) {
				f->failed = TRUE;
				return -1;
			}
			if (n == 0) {
				f->eof = TRUE;
				break;
			}
			f->len = (gsize) n;
			f->off = 0;
		}
		avail = MIN (f->len - f->off, size - o);
		if (!f->canon) {
			memcpy (out + o, f->buf + f->off, avail);
			o += avail;
			f->off += avail;
			continue;
		}
		lf = memchr (f->buf + f->off, '\n', avail);
		run = lf ? (gsize) (lf - (f->buf + f->off)) : avail;
		memcpy (out + o, f->buf + f->off, run);
		o += run;
		f->off += run;
		if (run > 0)
			f->last_cr = f->buf[f->off - 1] == '\r';
		if (lf == NULL)
			continue;
		/* the LF, after a CR of its own */
		if (!f->last_cr) {
			if (size - o < 2)
				break;
			out[o++] = '\r';
		} else if (size - o < 1) {
			break;
		}
		out[o++] = '\n';
		f->off++;
		f->last_cr = FALSE;
	}
	return (gssize) o;
}

static ssize_t
feed_cb_read (void *handle, void *buffer, size_t size)
{
	gssize n = feed_read (handle, buffer, size);

	if (n < 0)
		errno = EIO;
	return n;
}

static struct gpgme_data_cbs feed_cbs = { feed_cb_read, NULL, NULL, NULL };

static gpointer
feed_run (gpointer data)
{
	Feed *f = data;
	char *out = g_malloc (2 * CHUNK);
	gssize n;
	int errsv;

	/* a reader that stopped (gpgsm failed) ends the pump */
	while ((n = feed_read (f, out, 2 * CHUNK)) > 0)
		if (!mp_io_write_all (f->fds[1], out, (gsize) n, &errsv))
			break;
	close (f->fds[1]);
	f->fds[1] = -1;
	g_free (out);
	return NULL;
}

gpgme_data_t
mp_crypto_feed_data (Feed *f, GMimeStream *stream, gboolean canon,
		     MpCryptoProtocol protocol)
{
	gpgme_data_t d = NULL;
	int gpgme_fd;

	memset (f, 0, sizeof *f);
	f->stream = stream;
	f->canon = canon;
	f->buf = g_malloc (CHUNK);
	f->fds[0] = f->fds[1] = -1;
	g_mime_stream_reset (stream);
	if (protocol == MP_CRYPTO_OPENPGP) {
		if (gpgme_data_new_from_cbs (&d, &feed_cbs, f) != 0 ||
		    gpgme_data_set_flag (d, "io-buffer-size", FEED_IO_BUFFER) !=
			    0)
			g_error ("gpgme_data_new_from_cbs failed");
		return d;
	}
	if (!g_unix_open_pipe (f->fds, FD_CLOEXEC, NULL))
		g_error ("pipe: %s", g_strerror (errno));
	f->thread = g_thread_new ("feed", feed_run, f);
	/* GPGME hands gpgsm the descriptor and closes it: it gets a copy
	 * of its own, so that feed_finish() closes ours and never a number
	 * GPGME freed and something else reused */
	gpgme_fd = fcntl (f->fds[0], F_DUPFD_CLOEXEC, 0);
	if (gpgme_fd < 0)
		g_error ("dup: %s", g_strerror (errno));
	if (gpgme_data_new_from_fd (&d, gpgme_fd) != 0)
		g_error ("gpgme_data_new_from_fd failed");
	return d;
}

/* Ends the pump; call after the GPGME operation and
 * gpgme_data_release().  FALSE when the entity could not be read whole
 * (the pump then ended early, and gpgsm saw a short input). */
static gboolean
feed_finish (Feed *f)
{
	if (f->thread) {
		close (f->fds[0]);
		g_thread_join (f->thread);
		f->thread = NULL;
	}
	return !f->failed;
}

void
mp_crypto_feed_clear (Feed *f)
{
	feed_finish (f);
	g_clear_pointer (&f->buf, g_free);
}

gpgme_error_t
mp_crypto_feed_check (Feed *f, gpgme_error_t err)
{
	if (!feed_finish (f) && !err)
		return gpgme_error (GPG_ERR_EIO);
	return err;
}

/* What GPGME writes goes to a spool file through a callback: given the
 * descriptor itself, GPGME passes it to gpgsm and closes it. */
static ssize_t
spool_write (void *handle, const void *buffer, size_t size)
{
	int errsv;

	if (!mp_io_write_all (GPOINTER_TO_INT (handle), buffer, size, &errsv)) {
		errno = errsv;
		return -1;
	}
	return (ssize_t) size;
}

static struct gpgme_data_cbs spool_cbs = { NULL, spool_write, NULL, NULL };

gpgme_data_t
mp_crypto_spool_data (int fd)
{
	gpgme_data_t d = NULL;

	/* 8 kB a round rather than 4 kB (see Feed) */
	if (gpgme_data_new_from_cbs (&d, &spool_cbs, GINT_TO_POINTER (fd)) !=
		    0 ||
	    gpgme_data_set_flag (d, "io-buffer-size", FEED_IO_BUFFER) != 0)
		g_error ("gpgme_data_new_from_cbs failed");
	return d;
}

int
mp_crypto_spool_open (GError **error)
{
	g_autofree char *path = g_build_filename (
		g_get_tmp_dir (), "mimepipe-crypto.XXXXXX", NULL);
	int fd = g_mkstemp_full (path, O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0) {
		mp_error_set_errno (error, MP_ERROR_IO, errno,
				    "temporary file");
		return -1;
	}
	unlink (path);
	return fd;
}

int
mp_crypto_op_begin (const MpCryptoOptions *opts, MpCryptoProtocol protocol,
		    Passphrase *pass, gpgme_ctx_t *ctx, GError **error)
{
	int fd;

	*ctx = mp_crypto_ctx_new (opts, protocol, pass, error);
	if (*ctx == NULL)
		return -1;
	fd = mp_crypto_spool_open (error);
	if (fd < 0) {
		gpgme_release (*ctx);
		*ctx = NULL;
	}
	return fd;
}

GMimeStream *
mp_crypto_spool_stream (int fd)
{
	int d = dup (fd);

	if (d < 0 || lseek (d, 0, SEEK_SET) != 0)
		g_error ("cannot reopen a temporary file: %s",
			 g_strerror (errno));
	return g_mime_stream_fs_new (d);
}

char *
mp_crypto_addr_of (const char *s)
{
	const char *lt = strrchr (s, '<');
	const char *gt;

	if (lt && (gt = strchr (lt, '>')))
		return g_ascii_strdown (lt + 1, gt - lt - 1);
	return g_ascii_strdown (s, -1);
}

gpgme_key_t
mp_crypto_find_key (gpgme_ctx_t ctx, const char *who, gboolean secret,
		    GError **error)
{
	gpgme_key_t key = NULL, k;
	gboolean is_addr = strchr (who, '@') != NULL;
	g_autofree char *addr = is_addr ? mp_crypto_addr_of (who) : NULL;
	g_autofree char *pattern =
		is_addr ? g_strdup_printf ("<%s>", addr) : g_strdup (who);
	gpgme_error_t err;

	err = gpgme_op_keylist_start (ctx, pattern, secret);
	while (!err && key == NULL &&
	       (err = gpgme_op_keylist_next (ctx, &k)) == 0) {
		gboolean usable = !k->revoked && !k->expired && !k->disabled &&
				  !k->invalid &&
				  (secret ? k->can_sign : k->can_encrypt);

		if (usable)
			key = k;
		else
			gpgme_key_unref (k);
	}
	gpgme_op_keylist_end (ctx);
	if (key)
		return key;
	if (err && gpgme_err_code (err) != GPG_ERR_EOF) {
		mp_crypto_set_gpg_error (error, err, who);
		return NULL;
	}
	g_set_error (error, MP_ERROR, MP_ERROR_DATA,
		     secret ? "%s: no usable secret key to sign with" :
			      "%s: no usable public key for this recipient",
		     is_addr ? addr : who);
	return NULL;
}

gpgme_ctx_t
mp_crypto_ctx_with_secret_key (const MpCryptoOptions *opts,
			       MpCryptoProtocol protocol, Passphrase *pass,
			       const char *who, gpgme_key_t *key,
			       GError **error)
{
	gpgme_ctx_t ctx = mp_crypto_ctx_new (opts, protocol, pass, error);

	if (ctx == NULL)
		return NULL;
	*key = mp_crypto_find_key (ctx, who, TRUE, error);
	if (*key == NULL) {
		gpgme_release (ctx);
		return NULL;
	}
	return ctx;
}
