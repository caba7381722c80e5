#include "mp-crypto.h"
#include "mp-address.h"
#include "mp-base64.h"
#include "mp-error.h"
#include "mp-lines.h"
#include "mp-headers.h"
#include "mp-random.h"
#include "mp-secret.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <gpgme.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (64 * 1024)
#define MAX_DEPTH 32
#define MAX_SIGNATURE (1024 * 1024) /* a detached signature is small */
#define MAX_PASSPHRASE 4096

/* ---- options ------------------------------------------------------------ */

gboolean
mp_crypto_check_options (const MpCryptoOptions *opts, GError **error)
{
	gboolean pass = opts->passphrase_file || opts->passphrase_fd >= 0;

	if (opts->passphrase_file && opts->passphrase_fd >= 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--passphrase-file and --passphrase-fd exclude "
			     "each other");
		return FALSE;
	}
	if (opts->protocol != MP_CRYPTO_SMIME)
		return TRUE;
	if (opts->autocrypt || (opts->hidden && opts->hidden[0])) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "%s is for OpenPGP, not --smime (CMS names every "
			     "recipient's certificate)",
			     opts->autocrypt ? "--autocrypt" :
					       "--hidden-recipient");
		return FALSE;
	}
	if (pass) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--passphrase-file and --passphrase-fd are for "
			     "OpenPGP keys; gpgsm asks the agent for an S/MIME "
			     "key's passphrase");
		return FALSE;
	}
	return TRUE;
}

/* ---- the MIME structure as byte ranges ----------------------------------- */

typedef struct _Entity Entity;
struct _Entity {
	gint64 start, body, end; /* header, body, end (before the CRLF of
				    the next delimiter) */
	GMimeContentType *type;
	char *cte; /* lower case, or NULL */
	gboolean crlf;
	GPtrArray *kids; /* Entity*, NULL for a leaf */
};

static void
entity_free (Entity *e)
{
	if (e == NULL)
		return;
	g_clear_object (&e->type);
	g_free (e->cte);
	if (e->kids)
		g_ptr_array_unref (e->kids);
	g_free (e);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Entity, entity_free)

static gboolean
type_is (Entity *e, const char *type, const char *subtype)
{
	return g_mime_content_type_is_type (e->type, type, subtype);
}

static gboolean
field_named (const char *data, gsize len, const char *name)
{
	gsize n = strlen (name);

	return len > n && data[n] == ':' &&
	       g_ascii_strncasecmp (data, name, n) == 0;
}

/* Reads the header block at @start: the unfolded Content-Type and
 * Content-Transfer-Encoding values and where the body starts. */
static gboolean
read_head (GMimeStream *s, gint64 start, gint64 end, char **type, char **cte,
	   gint64 *body, gboolean *crlf, GError **error)
{
	MpLines r;
	MpLine l;
	GString *cur = NULL;
	GString *t = NULL, *c = NULL;
	gboolean first = TRUE;
	GError *err = NULL;

	*body = end;
	mp_lines_init (&r, s, start, end);
	while (mp_lines_next (&r, &l, &err)) {
		if (first && crlf)
			*crlf = l.eol == 2;
		first = FALSE;
		if (l.len == 0) {
			*body = l.start + l.eol;
			break;
		}
		if (l.data[0] == ' ' || l.data[0] == '\t') {
			if (cur && cur->len < CHUNK)
				g_string_append_len (cur, l.data, l.avail);
			continue;
		}
		if (memchr (l.data, ':', l.avail) == NULL) {
			*body = l.start;
			break;
		}
		cur = NULL;
		if (t == NULL &&
		    field_named (l.data, l.avail, "Content-Type")) {
			t = g_string_new_len (l.data + 13, l.avail - 13);
			cur = t;
		} else if (c == NULL &&
			   field_named (l.data, l.avail,
					"Content-Transfer-Encoding")) {
			c = g_string_new_len (l.data + 26, l.avail - 26);
			cur = c;
		}
	}
	mp_lines_clear (&r);
	if (err) {
		g_propagate_error (error, err);
		if (t)
			g_string_free (t, TRUE);
		if (c)
			g_string_free (c, TRUE);
		return FALSE;
	}
	*type = t ? g_strstrip (g_string_free (t, FALSE)) : NULL;
	if (c) {
		char *v = g_strstrip (g_string_free (c, FALSE));

		*cte = g_ascii_strdown (v, -1);
		g_free (v);
	} else {
		*cte = NULL;
	}
	return TRUE;
}

/* The line @l is the delimiter of @boundary: 0 no, 1 delimiter, 2 close */
static int
delimiter (const MpLine *l, const char *boundary, gsize blen)
{
	const char *p;
	gsize n;

	if (l->avail < blen + 2 || l->data[0] != '-' || l->data[1] != '-' ||
	    memcmp (l->data + 2, boundary, blen) != 0)
		return 0;
	p = l->data + 2 + blen;
	n = l->avail - 2 - blen;
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n == 0)
		return 1;
	if (n == 2 && p[0] == '-' && p[1] == '-')
		return 2;
	return 0;
}

static Entity *
entity_parse (GMimeStream *s, gint64 start, gint64 end, int depth,
	      GError **error)
{
	g_autoptr (Entity) e = g_new0 (Entity, 1);
	g_autofree char *type = NULL;
	const char *boundary;
	MpLines r;
	MpLine l;
	gint64 part = -1;
	guint prev_eol = 0;
	gboolean closed = FALSE;
	GError *err = NULL;

	if (depth > MAX_DEPTH) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: MIME parts nested too deep");
		return NULL;
	}
	e->start = start;
	e->end = end;
	if (!read_head (s, start, end, &type, &e->cte, &e->body, &e->crlf,
			error))
		return NULL;
	e->type = type ? g_mime_content_type_parse (NULL, type) : NULL;
	if (e->type == NULL)
		e->type = g_mime_content_type_new ("text", "plain");
	if (!type_is (e, "multipart", "*"))
		return g_steal_pointer (&e);
	boundary = g_mime_content_type_get_parameter (e->type, "boundary");
	if (boundary == NULL || *boundary == '\0') {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: a multipart without a boundary");
		return NULL;
	}
	e->kids = g_ptr_array_new_with_free_func ((GDestroyNotify) entity_free);
	mp_lines_init (&r, s, e->body, end);
	while (mp_lines_next (&r, &l, &err)) {
		int d = delimiter (&l, boundary, strlen (boundary));

		if (d) {
			if (part >= 0) {
				gint64 kend = l.start - prev_eol;
				Entity *k;

				if (kend < part)
					kend = part;
				k = entity_parse (s, part, kend, depth + 1,
						  &err);
				if (k == NULL)
					break;
				g_ptr_array_add (e->kids, k);
			}
			if (d == 2) {
				closed = TRUE;
				break;
			}
			part = l.start + (gint64) l.len + l.eol;
		}
		prev_eol = l.eol;
	}
	mp_lines_clear (&r);
	if (err) {
		g_propagate_error (error, err);
		return NULL;
	}
	if (!closed) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: message is truncated (a multipart lacks "
			     "its closing delimiter; did an earlier stage "
			     "fail?)");
		return NULL;
	}
	return g_steal_pointer (&e);
}

MpCryptoKind
mp_crypto_kind_of_type (const char *content_type)
{
	g_autoptr (GMimeContentType) ct = NULL;
	const char *st;

	if (content_type == NULL)
		return MP_CRYPTO_PLAIN;
	ct = g_mime_content_type_parse (NULL, content_type);
	if (ct == NULL)
		return MP_CRYPTO_PLAIN;
	if (g_mime_content_type_is_type (ct, "multipart", "signed"))
		return MP_CRYPTO_SIGNED;
	if (g_mime_content_type_is_type (ct, "multipart", "encrypted"))
		return MP_CRYPTO_ENCRYPTED;
	if (g_mime_content_type_is_type (ct, "application", "pkcs7-mime") ||
	    g_mime_content_type_is_type (ct, "application", "x-pkcs7-mime")) {
		st = g_mime_content_type_get_parameter (ct, "smime-type");
		if (st && g_ascii_strcasecmp (st, "signed-data") == 0)
			return MP_CRYPTO_SIGNED;
		return MP_CRYPTO_ENCRYPTED;
	}
	return MP_CRYPTO_PLAIN;
}

static MpCryptoKind
entity_kind (GMimeContentType *type)
{
	g_autofree char *v = g_mime_content_type_encode (type, NULL);

	return mp_crypto_kind_of_type (v);
}

MpCryptoKind
mp_crypto_kind_of_input (MpInput *in, GError **error)
{
	GMimeStream *s = mp_input_get_stream (in);
	gint64 size = mp_input_get_size (in);
	g_autofree char *type = NULL, *cte = NULL;
	g_autofree char *ktype = NULL, *kcte = NULL;
	g_autoptr (GMimeContentType) ct = NULL;
	MpCryptoKind kind;
	const char *boundary;
	gint64 body, kbody;
	MpLines r;
	MpLine l;
	gint64 part = -1;
	GError *err = NULL;

	if (!read_head (s, 0, size, &type, &cte, &body, NULL, error))
		return MP_CRYPTO_PLAIN;
	kind = mp_crypto_kind_of_type (type);
	if (kind != MP_CRYPTO_PLAIN || type == NULL)
		goto done;
	ct = g_mime_content_type_parse (NULL, type);
	if (ct == NULL ||
	    !g_mime_content_type_is_type (ct, "multipart", "mixed"))
		goto done;
	boundary = g_mime_content_type_get_parameter (ct, "boundary");
	if (boundary == NULL)
		goto done;
	mp_lines_init (&r, s, body, size);
	while (mp_lines_next (&r, &l, &err)) {
		if (delimiter (&l, boundary, strlen (boundary)) == 1) {
			part = l.start + (gint64) l.len + l.eol;
			break;
		}
	}
	mp_lines_clear (&r);
	if (err) {
		g_propagate_error (error, err);
		return MP_CRYPTO_PLAIN;
	}
	if (part >= 0 &&
	    read_head (s, part, size, &ktype, &kcte, &kbody, NULL, error))
		kind = mp_crypto_kind_of_type (ktype);
done:
	g_mime_stream_reset (s);
	return kind;
}

MpCryptoKind
mp_crypto_kind_of_headers (MpHeaders *h)
{
	guint n = mp_headers_get_n_entries (h);

	for (guint i = 0; i < n; i++) {
		const char *name = mp_headers_get_name (h, i);

		if (name && g_ascii_strcasecmp (name, "Content-Type") == 0) {
			g_autofree char *v = mp_headers_get_raw_value (h, i);

			return mp_crypto_kind_of_type (v);
		}
	}
	return MP_CRYPTO_PLAIN;
}

gboolean
mp_crypto_refuse (MpCryptoKind kind, const char *what, GError **error)
{
	g_set_error (error, MP_ERROR, MP_ERROR_DATA,
		     "stdin: the message is %s; %s would %s (add parts "
		     "before signing or encrypting)",
		     kind == MP_CRYPTO_SIGNED ? "signed" : "encrypted", what,
		     kind == MP_CRYPTO_SIGNED ?
			     "break its signature" :
			     "travel outside the encryption");
	return FALSE;
}

/* ---- GPGME --------------------------------------------------------------- */

typedef struct {
	char *pass; /* NULL: ask the agent */
	gsize len;
	gboolean asked;
} Passphrase;

static void
passphrase_clear (Passphrase *p)
{
	mp_secret_free_len (g_steal_pointer (&p->pass), p->len);
}

static gboolean
passphrase_read (Passphrase *p, const MpCryptoOptions *opts, GError **error)
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

static void
set_gpg_error (GError **error, gpgme_error_t err, const char *what)
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

static gpgme_ctx_t
ctx_new (const MpCryptoOptions *opts, MpCryptoProtocol protocol,
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

typedef struct {
	GMimeStream *stream;
	gboolean canon;
	gboolean last_cr; /* the last byte given was a CR */
	gboolean eof;
	gboolean failed; /* a read error: the entity is not whole */
	char *buf;       /* read from the stream, not yet given */
	gsize len, off;
	/* S/MIME: the pump */
	int fds[2];
	GThread *thread;
} Feed;

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

static gpgme_data_t
feed_data (Feed *f, GMimeStream *stream, gboolean canon,
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

static void
feed_clear (Feed *f)
{
	feed_finish (f);
	g_clear_pointer (&f->buf, g_free);
}

/* The operation's error, or EIO when its input was cut short. */
static gpgme_error_t
feed_check (Feed *f, gpgme_error_t err)
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

static gpgme_data_t
spool_data (int fd)
{
	gpgme_data_t d = NULL;

	/* 8 kB a round rather than 4 kB (see Feed) */
	if (gpgme_data_new_from_cbs (&d, &spool_cbs, GINT_TO_POINTER (fd)) !=
		    0 ||
	    gpgme_data_set_flag (d, "io-buffer-size", FEED_IO_BUFFER) != 0)
		g_error ("gpgme_data_new_from_cbs failed");
	return d;
}

/* An unlinked temporary file for what GPGME writes. */
static int
spool_open (GError **error)
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

/* A context for @protocol and a spool for what the operation writes;
 * -1 with @error set, and *@ctx NULL, when either fails. */
static int
op_begin (const MpCryptoOptions *opts, MpCryptoProtocol protocol,
	  Passphrase *pass, gpgme_ctx_t *ctx, GError **error)
{
	int fd;

	*ctx = ctx_new (opts, protocol, pass, error);
	if (*ctx == NULL)
		return -1;
	fd = spool_open (error);
	if (fd < 0) {
		gpgme_release (*ctx);
		*ctx = NULL;
	}
	return fd;
}

/* A new stream over the whole spool file @fd (which stays open). */
static GMimeStream *
spool_stream (int fd)
{
	int d = dup (fd);

	if (d < 0 || lseek (d, 0, SEEK_SET) != 0)
		g_error ("cannot reopen a temporary file: %s",
			 g_strerror (errno));
	return g_mime_stream_fs_new (d);
}

static char *
addr_of (const char *s)
{
	const char *lt = strrchr (s, '<');
	const char *gt;

	if (lt && (gt = strchr (lt, '>')))
		return g_ascii_strdown (lt + 1, gt - lt - 1);
	return g_ascii_strdown (s, -1);
}

/* The first usable key for @who (an address, or a fingerprint / key ID
 * for --local-user): for signing with @secret, else for encryption. */
static gpgme_key_t
find_key (gpgme_ctx_t ctx, const char *who, gboolean secret, GError **error)
{
	gpgme_key_t key = NULL, k;
	gboolean is_addr = strchr (who, '@') != NULL;
	g_autofree char *addr = is_addr ? addr_of (who) : NULL;
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
		set_gpg_error (error, err, who);
		return NULL;
	}
	g_set_error (error, MP_ERROR, MP_ERROR_DATA,
		     secret ? "%s: no usable secret key to sign with" :
			      "%s: no usable public key for this recipient",
		     is_addr ? addr : who);
	return NULL;
}

/* A context of @protocol with the secret key of @who found in it, in
 * *@key: the caller unrefs the key and releases the context.  NULL (and
 * nothing to release) when either fails. */
static gpgme_ctx_t
ctx_with_secret_key (const MpCryptoOptions *opts, MpCryptoProtocol protocol,
		     Passphrase *pass, const char *who, gpgme_key_t *key,
		     GError **error)
{
	gpgme_ctx_t ctx = ctx_new (opts, protocol, pass, error);

	if (ctx == NULL)
		return NULL;
	*key = find_key (ctx, who, TRUE, error);
	if (*key == NULL) {
		gpgme_release (ctx);
		return NULL;
	}
	return ctx;
}

/* ---- the message as a header block and a body ------------------------ */

typedef struct {
	Passphrase pass; /* of the key to sign or decrypt with */
	MpInput *in;
	GMimeStream *stream;
	gint64 size;
	MpHeaders *headers; /* the top-level block */
	Entity *top;
	const char *eol;
	gboolean crlf;
	GPtrArray *from; /* addresses */
	GPtrArray *to;   /* To and Cc */
	GPtrArray *bcc;
	GString *content;      /* the Content-* fields, raw */
	GString *copies;       /* the other fields, raw, for RFC 9788 */
	GString *hp_outer;     /* RFC 9788 HP-Outer fields, or NULL */
	GMimeMessage *message; /* the GMime path only */
	GMimeParser *parser;
	int spool;
	/* the last inner_stream(): its head and where its body lies */
	GBytes *inner_head;
	GMimeStream *inner_src;
	gint64 inner_start, inner_end;
} Msg;

static void
msg_clear (Msg *m)
{
	passphrase_clear (&m->pass);
	g_clear_pointer (&m->headers, mp_headers_free);
	g_clear_pointer (&m->top, entity_free);
	g_clear_pointer (&m->from, g_ptr_array_unref);
	g_clear_pointer (&m->to, g_ptr_array_unref);
	g_clear_pointer (&m->bcc, g_ptr_array_unref);
	if (m->content)
		g_string_free (m->content, TRUE);
	if (m->copies)
		g_string_free (m->copies, TRUE);
	if (m->hp_outer)
		g_string_free (m->hp_outer, TRUE);
	g_clear_object (&m->message);
	g_clear_object (&m->parser);
	g_clear_pointer (&m->inner_head, g_bytes_unref);
	g_clear_object (&m->inner_src);
	if (m->spool >= 0)
		close (m->spool);
}

static gboolean
is_content_field (const char *name)
{
	return g_ascii_strncasecmp (name, "Content-", 8) == 0;
}

/* Fields that do not travel inside (RFC 9788 keeps the header fields a
 * reader sees; trace fields and Bcc stay out). */
static gboolean
is_protected_field (const char *name)
{
	static const char *const skip[] = { "MIME-Version",   "Received",
					    "Return-Path",    "Bcc",
					    "DKIM-Signature", "Autocrypt",
					    "HP-Outer",       NULL };

	for (guint i = 0; skip[i]; i++)
		if (g_ascii_strcasecmp (name, skip[i]) == 0)
			return FALSE;
	return !is_content_field (name);
}

static void
append_field (GString *s, const char *p, gsize len, const char *eol)
{
	/* the field's own line ending, made that of the message */
	if (len > 0 && p[len - 1] == '\n')
		len--;
	if (len > 0 && p[len - 1] == '\r')
		len--;
	g_string_append_len (s, p, len);
	g_string_append (s, eol);
}

/* Reads the passphrase @opts name (before the message: a passphrase that
 * cannot be read is said first), then the message's header block. */
static gboolean
msg_open (Msg *m, MpInput *in, const MpCryptoOptions *opts, GError **error)
{
	g_autofree char *block = NULL;
	gsize hlen;
	guint i, n;

	memset (m, 0, sizeof *m);
	m->spool = -1;
	if (!passphrase_read (&m->pass, opts, error))
		return FALSE;
	m->in = in;
	m->stream = mp_input_get_stream (in);
	m->size = mp_input_get_size (in);
	if (m->size == 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: empty input (did an earlier stage fail?)",
			     mp_input_get_name (in));
		return FALSE;
	}
	m->top = entity_parse (m->stream, 0, m->size, 0, error);
	if (m->top == NULL)
		return FALSE;
	m->crlf = m->top->crlf;
	m->eol = m->crlf ? "\r\n" : "\n";
	/* the header block, without the empty line that ends it */
	hlen = (gsize) m->top->body;
	if (hlen > MP_HEADERS_MAX_BLOCK) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: header block too large",
			     mp_input_get_name (in));
		return FALSE;
	}
	block = g_malloc (hlen + 1);
	if (g_mime_stream_seek (m->stream, 0, GMIME_STREAM_SEEK_SET) != 0 ||
	    g_mime_stream_read (m->stream, block, hlen) != (gssize) hlen) {
		g_set_error (error, MP_ERROR, MP_ERROR_IO, "%s: read error",
			     mp_input_get_name (in));
		return FALSE;
	}
	if (hlen > 0 && block[hlen - 1] == '\n') {
		gsize b = hlen - 1;

		if (b > 0 && block[b - 1] == '\r')
			b--;
		/* the empty line, when there is one */
		if (b == 0 || block[b - 1] == '\n')
			hlen = b;
	}
	m->headers = mp_headers_parse (block, hlen, error);
	if (m->headers == NULL)
		return FALSE;
	m->from = g_ptr_array_new_with_free_func (g_free);
	m->to = g_ptr_array_new_with_free_func (g_free);
	m->bcc = g_ptr_array_new_with_free_func (g_free);
	m->content = g_string_new (NULL);
	m->copies = g_string_new (NULL);
	n = mp_headers_get_n_entries (m->headers);
	for (i = 0; i < n; i++) {
		const char *name = mp_headers_get_name (m->headers, i);
		g_autofree char *raw = NULL;
		const char *p;
		gsize len;

		if (name == NULL)
			continue;
		raw = mp_headers_get_raw_value (m->headers, i);
		p = mp_headers_get_bytes (m->headers, i, &len);
		if (g_ascii_strcasecmp (name, "From") == 0)
			mp_address_parse_specs (raw, m->from);
		else if (g_ascii_strcasecmp (name, "To") == 0 ||
			 g_ascii_strcasecmp (name, "Cc") == 0)
			mp_address_parse_specs (raw, m->to);
		else if (g_ascii_strcasecmp (name, "Bcc") == 0)
			mp_address_parse_specs (raw, m->bcc);
		if (is_content_field (name))
			append_field (m->content, p, len, m->eol);
		else if (is_protected_field (name))
			append_field (m->copies, p, len, m->eol);
	}
	return TRUE;
}

/* RFC 3156 3, RFC 8551 3.1.3: a signed entity must be 7bit so that no
 * relay re-encodes it; lines stay under 998 octets, and trailing blanks
 * and "From " lines (which relays strip or mangle) are encoded too. */
static gboolean
leaf_needs_encoding (GMimeStream *s, Entity *e, gboolean *needs, GError **error)
{
	MpLines r;
	MpLine l;
	GError *err = NULL;

	if (e->cte && (strcmp (e->cte, "base64") == 0 ||
		       strcmp (e->cte, "quoted-printable") == 0))
		return TRUE;
	if (e->cte && strcmp (e->cte, "7bit") != 0 &&
	    strcmp (e->cte, "8bit") != 0 && strcmp (e->cte, "binary") != 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: unknown Content-Transfer-Encoding %s",
			     e->cte);
		return FALSE;
	}
	mp_lines_init (&r, s, e->body, e->end);
	while (!*needs && mp_lines_next (&r, &l, &err)) {
		if (l.len > 998 || l.avail < l.len ||
		    (l.len >= 5 && memcmp (l.data, "From ", 5) == 0) ||
		    (l.len > 0 &&
		     (l.data[l.len - 1] == ' ' || l.data[l.len - 1] == '\t')))
			*needs = TRUE;
		for (gsize i = 0; i < l.avail && !*needs; i++) {
			guchar c = (guchar) l.data[i];

			if (c >= 0x80 || c == 0 || c == '\r')
				*needs = TRUE;
		}
	}
	mp_lines_clear (&r);
	if (err) {
		g_propagate_error (error, err);
		return FALSE;
	}
	return TRUE;
}

static gboolean
tree_needs_encoding (GMimeStream *s, Entity *e, gboolean *needs, GError **error)
{
	if (e->kids) {
		for (guint i = 0; i < e->kids->len && !*needs; i++)
			if (!tree_needs_encoding (s, e->kids->pdata[i], needs,
						  error))
				return FALSE;
		return TRUE;
	}
	return leaf_needs_encoding (s, e, needs, error);
}

static void
encode_leaves (GMimeObject *obj)
{
	/* RFC 2045 6.4: a container is as 7bit as its parts now are */
	if (GMIME_IS_MULTIPART (obj) || GMIME_IS_MESSAGE_PART (obj))
		g_mime_object_remove_header (obj, "Content-Transfer-Encoding");
	if (GMIME_IS_MULTIPART (obj)) {
		int n = g_mime_multipart_get_count (GMIME_MULTIPART (obj));

		for (int i = 0; i < n; i++)
			encode_leaves (g_mime_multipart_get_part (
				GMIME_MULTIPART (obj), i));
	} else if (GMIME_IS_MESSAGE_PART (obj)) {
		GMimeMessage *msg = g_mime_message_part_get_message (
			GMIME_MESSAGE_PART (obj));

		if (msg && g_mime_message_get_mime_part (msg))
			encode_leaves (g_mime_message_get_mime_part (msg));
	} else if (GMIME_IS_PART (obj)) {
		GMimePart *part = GMIME_PART (obj);
		GMimeContentEncoding enc =
			g_mime_part_get_content_encoding (part);

		if (enc == GMIME_CONTENT_ENCODING_BASE64 ||
		    enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE)
			return;
		if (g_mime_content_type_is_type (
			    g_mime_object_get_content_type (obj), "text", "*"))
			g_mime_part_set_content_encoding (
				part, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
		else
			g_mime_part_set_content_encoding (
				part, GMIME_CONTENT_ENCODING_BASE64);
	}
}

/* The RFC 9788 Content-Type: the message's own with protected-headers. */
static char *
protected_type (Msg *m)
{
	g_autoptr (GMimeContentType) ct = NULL;
	g_autofree char *value = NULL;
	g_autofree char *enc = NULL;
	g_auto (GStrv) lines = NULL;
	guint n = mp_headers_get_n_entries (m->headers);

	for (guint i = 0; i < n && value == NULL; i++) {
		const char *name = mp_headers_get_name (m->headers, i);

		if (name && g_ascii_strcasecmp (name, "Content-Type") == 0)
			value = mp_headers_get_raw_value (m->headers, i);
	}
	ct = g_mime_content_type_parse (NULL, value ? value :
						      "text/plain; "
						      "charset=us-ascii");
	g_mime_content_type_set_parameter (ct, "protected-headers", "v1");
	enc = g_mime_content_type_encode (ct, NULL);
	/* GMime folds with LF and ends the value with one: the field is
	 * written in the message's line endings, and an extra empty line
	 * would end the header block early */
	lines = g_strsplit (g_strstrip (enc), "\n", -1);
	for (guint i = 0; lines[i]; i++)
		g_strchomp (lines[i]);
	return g_strjoinv (m->eol, lines);
}

/* The message's Content-* fields with the RFC 9788 Content-Type. */
static void
append_protected_content (Msg *m, GString *head)
{
	g_autofree char *type = protected_type (m);
	g_auto (GStrv) lines = g_strsplit (m->content->str, m->eol, -1);
	gboolean skipping = FALSE;

	g_string_append_printf (head, "Content-Type: %s%s", type, m->eol);
	for (guint i = 0; lines[i]; i++) {
		if (lines[i][0] == ' ' || lines[i][0] == '\t') {
			if (skipping)
				continue;
		} else {
			skipping = field_named (lines[i], strlen (lines[i]),
						"Content-Type");
			if (skipping || lines[i][0] == '\0')
				continue;
		}
		g_string_append (head, lines[i]);
		g_string_append (head, m->eol);
	}
}

/* Writes the message's body, its 8bit and binary leaves transfer-encoded,
 * to a spool file, with GMime (the only path that re-serialises). */
static GMimeStream *
encoded_body (Msg *m, gboolean protect, GError **error)
{
	g_autoptr (GMimeFormatOptions) fo = g_mime_format_options_new ();
	g_autoptr (GMimeStream) sp = NULL;
	g_autoptr (GMimeStream) fs = NULL;
	g_autoptr (GMimeFilter) from = NULL;
	GMimeObject *body;

	m->message = mp_input_parse_message (m->in, &m->parser, error);
	if (m->message == NULL)
		return NULL;
	body = g_mime_message_get_mime_part (m->message);
	if (body == NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: a message without a body");
		return NULL;
	}
	encode_leaves (body);
	if (protect)
		g_mime_content_type_set_parameter (
			g_mime_object_get_content_type (body),
			"protected-headers", "v1");
	g_mime_format_options_set_newline_format (
		fo,
		m->crlf ? GMIME_NEWLINE_FORMAT_DOS : GMIME_NEWLINE_FORMAT_UNIX);
	m->spool = spool_open (error);
	if (m->spool < 0)
		return NULL;
	sp = g_mime_stream_fs_new (dup (m->spool));
	/* every leaf is now base64 or quoted-printable: a line starting
	 * "From " becomes "=46rom ", which no mbox on the way alters */
	fs = g_mime_stream_filter_new (sp);
	from = g_mime_filter_from_new (GMIME_FILTER_FROM_MODE_ARMOR);
	g_mime_stream_filter_add (GMIME_STREAM_FILTER (fs), from);
	if (g_mime_object_write_to_stream (body, fo, fs) < 0 ||
	    g_mime_stream_flush (fs) < 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_IO,
			     "temporary file: write error");
		return NULL;
	}
	return spool_stream (m->spool);
}

/* RFC 9788 2.2: in an encrypted message the inner header records each
 * field of the outer header as sent, in order, as "HP-Outer: Name:
 * value", so that a reader sees what travelled in the clear and what was
 * obscured (the Subject became "[...]", hcp_baseline).  Structural fields
 * (Content-*, MIME-Version) are not recorded, nor Bcc, which is not sent
 * (and would name the hidden recipients to the others). */
static GString *
hp_outer_fields (Msg *m, const char *autocrypt)
{
	GString *s = g_string_new (NULL);
	guint n = mp_headers_get_n_entries (m->headers);

	for (guint i = 0; i < n; i++) {
		const char *name = mp_headers_get_name (m->headers, i);
		const char *p;
		gsize len;

		if (name == NULL || is_content_field (name) ||
		    g_ascii_strcasecmp (name, "MIME-Version") == 0 ||
		    g_ascii_strcasecmp (name, "Bcc") == 0 ||
		    g_ascii_strcasecmp (name, "HP-Outer") == 0)
			continue;
		if (g_ascii_strcasecmp (name, "Subject") == 0) {
			g_string_append_printf (s, "HP-Outer: %s: [...]%s",
						name, m->eol);
			continue;
		}
		p = mp_headers_get_bytes (m->headers, i, &len);
		g_string_append (s, "HP-Outer: ");
		append_field (s, p, len, m->eol);
	}
	if (autocrypt)
		g_string_append_printf (s, "HP-Outer: %s", autocrypt);
	return s;
}

/* The entity to sign or encrypt: the Content-* fields (and, for RFC
 * 9788, copies of the others) and the body, as a stream; with @trim
 * without the last line ending (it belongs to the delimiter that
 * follows, RFC 2046 5.1.1). */
static GMimeStream *
inner_stream (Msg *m, gboolean protect, gboolean trim, GError **error)
{
	g_autoptr (GMimeStream) cat = g_mime_stream_cat_new ();
	g_autoptr (GMimeStream) src = NULL;
	GMimeStream *part;
	GString *head;
	gboolean needs = FALSE;
	gint64 start, end;
	char tail[1];

	if (!tree_needs_encoding (m->stream, m->top, &needs, error))
		return NULL;
	head = g_string_new (protect ? m->copies->str : "");
	if (protect && m->hp_outer)
		g_string_append (head, m->hp_outer->str);
	if (!needs) {
		if (protect)
			append_protected_content (m, head);
		else
			g_string_append (head, m->content->str);
		g_string_append (head, m->eol);
		src = g_object_ref (m->stream);
		start = m->top->body;
		end = m->size;
	} else {
		/* GMime writes the Content-* fields itself */
		src = encoded_body (m, protect, error);
		if (src == NULL) {
			g_string_free (head, TRUE);
			return NULL;
		}
		start = 0;
		end = g_mime_stream_length (src);
	}
	part = g_mime_stream_mem_new_with_buffer (head->str, head->len);
	g_clear_pointer (&m->inner_head, g_bytes_unref);
	m->inner_head = g_string_free_to_bytes (head);
	g_mime_stream_cat_add_source (GMIME_STREAM_CAT (cat), part);
	g_object_unref (part);
	if (trim && end > start &&
	    g_mime_stream_seek (src, end - 1, GMIME_STREAM_SEEK_SET) ==
		    end - 1 &&
	    g_mime_stream_read (src, tail, 1) == 1 && tail[0] == '\n') {
		end--;
		if (end > start &&
		    g_mime_stream_seek (src, end - 1, GMIME_STREAM_SEEK_SET) ==
			    end - 1 &&
		    g_mime_stream_read (src, tail, 1) == 1 && tail[0] == '\r')
			end--;
	}
	part = g_mime_stream_substream (src, start, end);
	g_mime_stream_cat_add_source (GMIME_STREAM_CAT (cat), part);
	g_object_unref (part);
	g_mime_stream_reset (cat);
	g_set_object (&m->inner_src, src);
	m->inner_start = start;
	m->inner_end = end;
	return g_steal_pointer (&cat);
}

/* ---- writing ------------------------------------------------------------- */

/* Where an entity goes: the output, or a spool file (S/MIME signs, then
 * encrypts what it signed). */
typedef struct {
	GMimeStream *s;
	MpOutput *out;
} Sink;

static gboolean
sink_check (Sink *k, gssize rv, GError **error)
{
	if (k->out)
		return mp_output_check (k->out, rv, error);
	if (rv < 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_IO,
			     "temporary file: write error");
		return FALSE;
	}
	return TRUE;
}

static gboolean
put (Sink *k, GError **error, const char *first, ...)
{
	va_list ap;
	const char *s;
	gboolean ok = TRUE;

	va_start (ap, first);
	for (s = first; s && ok; s = va_arg (ap, const char *))
		ok = sink_check (k, g_mime_stream_write_string (k->s, s),
				 error);
	va_end (ap);
	return ok;
}

/* Copies @src from its start, through @filter when not NULL. */
static gboolean
copy (Sink *k, GMimeStream *src, GMimeFilter *f1, GMimeFilter *f2,
      GError **error)
{
	g_autoptr (GMimeStream) fs = g_mime_stream_filter_new (k->s);
	gssize rv;

	if (f1)
		g_mime_stream_filter_add (GMIME_STREAM_FILTER (fs), f1);
	if (f2)
		g_mime_stream_filter_add (GMIME_STREAM_FILTER (fs), f2);
	g_mime_stream_reset (src);
	rv = g_mime_stream_write_to_stream (src, fs);
	if (rv >= 0 && g_mime_stream_flush (fs) < 0)
		rv = -1;
	return sink_check (k, rv, error);
}

/* The entity of inner_stream(): to the output the body is copied by the
 * kernel (mp_output_copy_stream) rather than 4 kB at a time. */
static gboolean
copy_inner (Msg *m, Sink *k, GMimeStream *inner, GError **error)
{
	gsize len;
	const char *head;

	if (k->out == NULL || m->inner_head == NULL)
		return copy (k, inner, NULL, NULL, error);
	head = g_bytes_get_data (m->inner_head, &len);
	return mp_output_write (k->out, head, len, error) &&
	       mp_output_copy_stream (k->out, m->inner_src, m->inner_start,
				      m->inner_end, error);
}

/* An armored text from GPG (LF) in the message's line endings. */
static gboolean
copy_text (Sink *k, Msg *m, GMimeStream *src, GError **error)
{
	g_autoptr (GMimeFilter) f =
		m->crlf ? g_mime_filter_unix2dos_new (FALSE) : NULL;

	return copy (k, src, f, NULL, error);
}

static gboolean
copy_base64 (Sink *k, Msg *m, GMimeStream *src, GError **error)
{
	g_autoptr (GMimeFilter) b = mp_filter_base64_new ();
	g_autoptr (GMimeFilter) f =
		m->crlf ? g_mime_filter_unix2dos_new (FALSE) : NULL;

	return copy (k, src, b, f, error);
}

/* The outer header fields: the message's own, byte for byte, without its
 * Content-* fields (they travel inside), then MIME-Version when missing
 * and an Autocrypt field. */
static gboolean
write_outer (Msg *m, MpOutput *out, const char *autocrypt, GError **error)
{
	guint n = mp_headers_get_n_entries (m->headers);
	g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
	gboolean has_version = FALSE;
	Sink k = { mp_output_get_stream (out), out };

	for (guint i = 0; i < n; i++) {
		const char *name = mp_headers_get_name (m->headers, i);

		if (name && is_content_field (name))
			g_ptr_array_add (names, g_strdup (name));
		if (name && g_ascii_strcasecmp (name, "MIME-Version") == 0)
			has_version = TRUE;
	}
	for (guint i = 0; i < names->len; i++)
		mp_headers_delete (m->headers, names->pdata[i]);
	if (!mp_headers_write_message (m->headers, out, error))
		return FALSE;
	if (!has_version && !put (&k, error, "MIME-Version: 1.0", m->eol, NULL))
		return FALSE;
	if (autocrypt && !put (&k, error, autocrypt, NULL))
		return FALSE;
	return TRUE;
}

static gboolean
boundary_used (Entity *e, const char *b)
{
	const char *own = type_is (e, "multipart", "*") ?
				  g_mime_content_type_get_parameter (
					  e->type, "boundary") :
				  NULL;

	/* one is a prefix of the other: a delimiter line of one could be
	 * read as the other's (RFC 2046 5.1.1) */
	if (own && (g_str_has_prefix (own, b) || g_str_has_prefix (b, own)))
		return TRUE;
	for (guint i = 0; e->kids && i < e->kids->len; i++)
		if (boundary_used (e->kids->pdata[i], b))
			return TRUE;
	return FALSE;
}

/* A boundary no multipart inside uses ("=_" occurs in neither base64 nor
 * quoted-printable text).  Reproducible with a seed: fed with what is
 * signed or encrypted, so that signing a signed message gives another. */
static char *
new_boundary (Msg *m, const MpCryptoOptions *opts)
{
	g_autoptr (MpRandom) r = mp_random_new (opts->seed);
	guint n = mp_headers_get_n_entries (m->headers);

	for (guint i = 0; i < n; i++) {
		gsize len;
		const char *p = mp_headers_get_bytes (m->headers, i, &len);

		mp_random_feed (r, p, len);
	}
	if (m->inner_head) {
		gsize len;
		const char *p = g_bytes_get_data (m->inner_head, &len);

		mp_random_feed (r, p, len);
	}
	mp_random_feed (r, opts->sign ? "s" : "-", 1);
	for (;;) {
		g_autofree char *tok = mp_random_token (r, 24);
		char *b = g_strdup_printf ("=_mp-%s", tok);

		if (!boundary_used (m->top, b))
			return b;
		g_free (b);
	}
}

/* RFC 3156 5 and RFC 8551 3.4.3.2: "pgp-sha256", "sha-256". */
static char *
micalg (gpgme_hash_algo_t algo, gboolean smime)
{
	const char *name = gpgme_hash_algo_name (algo);
	g_autofree char *lower = g_ascii_strdown (name ? name : "sha256", -1);

	if (!smime)
		return g_strdup_printf ("pgp-%s", lower);
	if (g_str_has_prefix (lower, "sha") && g_ascii_isdigit (lower[3]))
		return g_strdup_printf ("sha-%s", lower + 3);
	return g_steal_pointer (&lower);
}

static const char *
signer_of (Msg *m, const MpCryptoOptions *opts, GError **error)
{
	if (opts->local_user)
		return opts->local_user;
	if (m->from->len == 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: no From address to sign as (give "
			     "--local-user)");
		return NULL;
	}
	return m->from->pdata[0];
}

/* A detached signature of @inner (canonical form), and its micalg. */
typedef struct {
	GMimeStream *sig;
	char *micalg;
} Signature;

static void
signature_clear (Signature *s)
{
	g_clear_object (&s->sig);
	g_clear_pointer (&s->micalg, g_free);
}

static gboolean
sign_detached (Msg *m, const MpCryptoOptions *opts, GMimeStream *inner,
	       Signature *out, GError **error)
{
	gboolean smime = opts->protocol == MP_CRYPTO_SMIME;
	gpgme_ctx_t ctx;
	gpgme_key_t key;
	gpgme_data_t plain, sig;
	gpgme_sign_result_t res;
	gpgme_error_t err;
	const char *who;
	char *buf;
	size_t len;
	Feed f;

	memset (out, 0, sizeof *out);
	who = signer_of (m, opts, error);
	if (who == NULL)
		return FALSE;
	ctx = ctx_with_secret_key (opts, opts->protocol, &m->pass, who, &key,
				   error);
	if (ctx == NULL)
		return FALSE;
	gpgme_signers_add (ctx, key);
	gpgme_key_unref (key);
	gpgme_set_armor (ctx, !smime);
	gpgme_set_textmode (ctx, 0);
	/* every certificate, the signer's even when it is its own root,
	 * so that a reader without it can check (RFC 8551 2.4.1) */
	if (smime)
		gpgme_set_include_certs (ctx, -1);
	plain = feed_data (&f, inner, TRUE, opts->protocol);
	gpgme_data_new (&sig);
	err = gpgme_op_sign (ctx, plain, sig, GPGME_SIG_MODE_DETACH);
	gpgme_data_release (plain);
	err = feed_check (&f, err);
	feed_clear (&f);
	res = err ? NULL : gpgme_op_sign_result (ctx);
	if (!err && (res == NULL || res->signatures == NULL))
		err = gpgme_error (GPG_ERR_GENERAL);
	if (err) {
		gpgme_data_release (sig);
		gpgme_release (ctx);
		set_gpg_error (error, err, who);
		return FALSE;
	}
	out->micalg = micalg (res->signatures->hash_algo, smime);
	gpgme_release (ctx);
	buf = gpgme_data_release_and_get_mem (sig, &len);
	out->sig = g_mime_stream_mem_new_with_buffer (buf, len);
	gpgme_free (buf);
	return TRUE;
}

/* Writes the multipart/signed entity (its Content-Type field, an empty
 * line and its body) to @k. */
static gboolean
write_signed (Msg *m, const MpCryptoOptions *opts, GMimeStream *inner,
	      Signature *sig, Sink *k, GError **error)
{
	gboolean smime = opts->protocol == MP_CRYPTO_SMIME;
	g_autofree char *boundary = new_boundary (m, opts);
	gboolean ok;

	ok = put (k, error,
		  "Content-Type: multipart/signed; micalg=", sig->micalg, ";",
		  m->eol, " protocol=\"",
		  smime ? "application/pkcs7-signature" :
			  "application/pgp-signature",
		  "\";", m->eol, " boundary=\"", boundary, "\"", m->eol, m->eol,
		  "--", boundary, m->eol, NULL) &&
	     copy_inner (m, k, inner, error) &&
	     put (k, error, m->eol, "--", boundary, m->eol, NULL);
	if (ok && smime)
		ok = put (k, error,
			  "Content-Type: application/pkcs7-signature; "
			  "name=\"smime.p7s\"",
			  m->eol, "Content-Transfer-Encoding: base64", m->eol,
			  "Content-Disposition: attachment; "
			  "filename=\"smime.p7s\"",
			  m->eol,
			  "Content-Description: S/MIME Cryptographic "
			  "Signature",
			  m->eol, m->eol, NULL) &&
		     copy_base64 (k, m, sig->sig, error);
	else if (ok)
		ok = put (k, error,
			  "Content-Type: application/pgp-signature; "
			  "name=\"signature.asc\"",
			  m->eol,
			  "Content-Description: OpenPGP digital signature",
			  m->eol,
			  "Content-Disposition: attachment; "
			  "filename=\"signature.asc\"",
			  m->eol, m->eol, NULL) &&
		     copy_text (k, m, sig->sig, error);
	return ok && put (k, error, smime ? "" : m->eol, "--", boundary, "--",
			  m->eol, NULL);
}

/* RFC 9788 hcp_baseline: the Subject is obscured outside. */
static gboolean
obscure_subject (Msg *m, GError **error)
{
	guint n = mp_headers_get_n_entries (m->headers);

	for (guint i = 0; i < n; i++) {
		const char *name = mp_headers_get_name (m->headers, i);

		if (name && g_ascii_strcasecmp (name, "Subject") == 0)
			return mp_headers_set (m->headers, "Subject", "[...]",
					       error);
	}
	return TRUE;
}

/* The Autocrypt field (Autocrypt Level 1, 2.1) for @addr, folded. */
static char *
autocrypt_field (const MpCryptoOptions *opts, Msg *m, GError **error)
{
	const char *who;
	gpgme_ctx_t ctx;
	gpgme_key_t key;
	gpgme_data_t d;
	gpgme_error_t err;
	char *buf;
	size_t len;
	g_autofree char *b64 = NULL;
	g_autofree char *addr = NULL;
	GString *s;

	if (m->from->len == 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: --autocrypt needs a From address");
		return NULL;
	}
	addr = g_strdup (m->from->pdata[0]);
	who = opts->local_user ? opts->local_user : addr;
	ctx = ctx_with_secret_key (opts, MP_CRYPTO_OPENPGP, NULL, who, &key,
				   error);
	if (ctx == NULL)
		return NULL;
	gpgme_data_new (&d);
	gpgme_set_armor (ctx, 0);
	err = gpgme_op_export (ctx, key->fpr, GPGME_EXPORT_MODE_MINIMAL, d);
	gpgme_key_unref (key);
	gpgme_release (ctx);
	buf = gpgme_data_release_and_get_mem (d, &len);
	if (err || len == 0) {
		gpgme_free (buf);
		set_gpg_error (error, err ? err : gpgme_error (GPG_ERR_NO_DATA),
			       who);
		return NULL;
	}
	b64 = g_base64_encode ((const guchar *) buf, len);
	gpgme_free (buf);
	s = g_string_new (NULL);
	g_string_append_printf (s, "Autocrypt: addr=%s; keydata=", addr);
	for (gsize i = 0, n = strlen (b64); i < n; i += 72) {
		g_string_append (s, m->eol);
		g_string_append_c (s, ' ');
		g_string_append_len (s, b64 + i, MIN (72, n - i));
	}
	g_string_append (s, m->eol);
	return g_string_free (s, FALSE);
}

gboolean
mp_crypto_sign (MpInput *in, const MpCryptoOptions *opts, MpOutput *out,
		GError **error)
{
	Msg m;
	g_autoptr (GMimeStream) inner = NULL;
	g_autofree char *autocrypt = NULL;
	gboolean ok = FALSE;
	Sink k = { mp_output_get_stream (out), out };
	Signature sig = { NULL, NULL };

	if (!msg_open (&m, in, opts, error))
		goto out;
	if (opts->autocrypt &&
	    (autocrypt = autocrypt_field (opts, &m, error)) == NULL)
		goto out;
	inner = inner_stream (&m, opts->protect_headers, TRUE, error);
	if (inner == NULL)
		goto out;
	/* signed before the first byte is written: a missing key or a
	 * wrong passphrase leaves stdout empty */
	if (!sign_detached (&m, opts, inner, &sig, error))
		goto out;
	ok = write_outer (&m, out, autocrypt, error) &&
	     write_signed (&m, opts, inner, &sig, &k, error);
out:
	signature_clear (&sig);
	msg_clear (&m);
	return ok;
}

typedef struct {
	char *addr;
	gboolean hidden;
	char *fpr;
} Recipient;

static void
recipient_free (Recipient *r)
{
	g_free (r->addr);
	g_free (r->fpr);
	g_free (r);
}

static void
add_recipient (GPtrArray *list, const char *who, gboolean hidden)
{
	g_autofree char *addr =
		strchr (who, '@') ? addr_of (who) : g_strdup (who);
	Recipient *r;

	for (guint i = 0; i < list->len; i++) {
		r = list->pdata[i];
		if (g_ascii_strcasecmp (r->addr, addr) == 0) {
			/* shown once is shown */
			r->hidden = r->hidden && hidden;
			return;
		}
	}
	r = g_new0 (Recipient, 1);
	r->addr = g_steal_pointer (&addr);
	r->hidden = hidden;
	g_ptr_array_add (list, r);
}

/* Every recipient's key, looked up before anything is written. */
static GPtrArray *
recipients (Msg *m, const MpCryptoOptions *opts, gpgme_ctx_t ctx,
	    GPtrArray **keys, GError **error)
{
	gboolean pgp = opts->protocol == MP_CRYPTO_OPENPGP;
	g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func (
		(GDestroyNotify) recipient_free);
	g_autoptr (GPtrArray) k = g_ptr_array_new_with_free_func (
		(GDestroyNotify) gpgme_key_unref);

	if (opts->recipients) {
		for (guint i = 0; opts->recipients[i]; i++)
			add_recipient (list, opts->recipients[i], FALSE);
	} else {
		for (guint i = 0; i < m->to->len; i++)
			add_recipient (list, m->to->pdata[i], FALSE);
		/* a Bcc recipient's key ID would tell the others */
		for (guint i = 0; i < m->bcc->len; i++)
			add_recipient (list, m->bcc->pdata[i], pgp);
	}
	for (guint i = 0; opts->hidden && opts->hidden[i]; i++)
		add_recipient (list, opts->hidden[i], TRUE);
	if (list->len == 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: no recipient (no To, Cc or Bcc address, "
			     "and no --recipient)");
		return NULL;
	}
	if (!opts->no_encrypt_to_self) {
		const char *self = signer_of (m, opts, error);

		if (self == NULL)
			return NULL;
		add_recipient (list, self, FALSE);
	}
	for (guint i = 0; i < list->len; i++) {
		Recipient *r = list->pdata[i];
		gpgme_key_t key = find_key (ctx, r->addr, FALSE, error);

		if (key == NULL)
			return NULL;
		r->fpr = g_strdup (key->fpr);
		g_ptr_array_add (k, key);
	}
	g_ptr_array_add (k, NULL);
	*keys = g_steal_pointer (&k);
	return g_steal_pointer (&list);
}

/* The name of the recipient whose key GPG refused, for the message. */
static const char *
refused_recipient (gpgme_ctx_t ctx, GPtrArray *list)
{
	gpgme_encrypt_result_t res = gpgme_op_encrypt_result (ctx);

	if (res == NULL || res->invalid_recipients == NULL)
		return NULL;
	for (guint i = 0; i < list->len; i++) {
		Recipient *r = list->pdata[i];

		if (res->invalid_recipients->fpr &&
		    g_ascii_strcasecmp (r->fpr, res->invalid_recipients->fpr) ==
			    0)
			return r->addr;
	}
	return res->invalid_recipients->fpr;
}

/* What is encrypted: INNER, or for S/MIME with --sign INNER signed
 * (RFC 8551 3.7: signed, then encrypted), spooled to *SIGNED_SPOOL (the
 * caller closes it); NULL with @error when signing or spooling fails */
static GMimeStream *
encrypt_source (Msg *m, const MpCryptoOptions *opts, GMimeStream *inner,
		Signature *sig, int *signed_spool, GError **error)
{
	g_autoptr (GMimeStream) sp = NULL;
	Sink sk;

	if (opts->protocol != MP_CRYPTO_SMIME || !opts->sign)
		return g_object_ref (inner);
	if (!sign_detached (m, opts, inner, sig, error))
		return NULL;
	*signed_spool = spool_open (error);
	if (*signed_spool < 0)
		return NULL;
	sp = g_mime_stream_fs_new (dup (*signed_spool));
	sk.s = sp;
	sk.out = NULL;
	if (!write_signed (m, opts, inner, sig, &sk, error) ||
	    !sink_check (&sk, g_mime_stream_flush (sp), error))
		return NULL;
	return spool_stream (*signed_spool);
}

/* The recipients of LIST as gpgme_op_encrypt_ext() takes them, each
 * "--hidden" (its key ID left out of the message) or "--no-hidden" and
 * its fingerprint, one a line */
static char *
encrypt_recipient_lines (GPtrArray *list)
{
	GString *rs = g_string_new (NULL);

	for (guint i = 0; i < list->len; i++) {
		Recipient *r = list->pdata[i];

		g_string_append_printf (rs, "%s\n%s\n",
					r->hidden ? "--hidden" : "--no-hidden",
					r->fpr);
	}
	return g_string_free (rs, FALSE);
}

/* Signs with the key of the sender (or --local-user) what GPGME
 * encrypts next in CTX; FALSE with @error when there is none */
static gboolean
encrypt_add_signer (gpgme_ctx_t ctx, Msg *m, const MpCryptoOptions *opts,
		    GError **error)
{
	const char *who = signer_of (m, opts, error);
	gpgme_key_t sk = who ? find_key (ctx, who, TRUE, error) : NULL;

	if (sk == NULL)
		return FALSE;
	gpgme_signers_add (ctx, sk);
	gpgme_key_unref (sk);
	return TRUE;
}

/* Encrypts PLAIN (fed by F) into CD: OpenPGP to the recipients of LIST,
 * signed too for --sign; S/MIME to KEYS.  FALSE with @error when the key
 * to sign with is not found (nothing run), or GPG fails, naming the
 * recipient whose key it refused when that is known */
static gboolean
encrypt_run (gpgme_ctx_t ctx, Msg *m, const MpCryptoOptions *opts,
	     GPtrArray *list, GPtrArray *keys, Feed *f, gpgme_data_t plain,
	     gpgme_data_t cd, GError **error)
{
	g_autofree char *rs = NULL;
	gpgme_error_t err;
	const char *who;

	if (opts->protocol == MP_CRYPTO_SMIME) {
		err = gpgme_op_encrypt (ctx, (gpgme_key_t *) keys->pdata, 0,
					plain, cd);
	} else {
		rs = encrypt_recipient_lines (list);
		if (opts->sign && !encrypt_add_signer (ctx, m, opts, error))
			return FALSE;
		err = opts->sign ? gpgme_op_encrypt_sign_ext (ctx, NULL, rs, 0,
							      plain, cd) :
				   gpgme_op_encrypt_ext (ctx, NULL, rs, 0,
							 plain, cd);
	}
	err = feed_check (f, err);
	if (!err)
		return TRUE;
	who = refused_recipient (ctx, list);
	set_gpg_error (error, err, who ? who : "encryption");
	return FALSE;
}

/* RFC 8551 3.3: the body of an S/MIME message, CIPHER (enveloped-data)
 * in base64 */
static gboolean
encrypt_write_smime (Sink *k, Msg *m, GMimeStream *cipher, GError **error)
{
	return put (k, error,
		    "Content-Type: application/pkcs7-mime; "
		    "smime-type=enveloped-data;",
		    m->eol, " name=\"smime.p7m\"", m->eol,
		    "Content-Transfer-Encoding: base64", m->eol,
		    "Content-Disposition: attachment; "
		    "filename=\"smime.p7m\"",
		    m->eol, m->eol, NULL) &&
	       copy_base64 (k, m, cipher, error);
}

/* RFC 3156 4: the body of a PGP/MIME message, multipart/encrypted with
 * BOUNDARY around its version part and CIPHER (armoured) */
static gboolean
encrypt_write_pgp (Sink *k, Msg *m, const char *boundary, GMimeStream *cipher,
		   GError **error)
{
	return put (k, error, "Content-Type: multipart/encrypted;", m->eol,
		    " protocol=\"application/pgp-encrypted\";", m->eol,
		    " boundary=\"", boundary, "\"", m->eol, m->eol,
		    "This is an OpenPGP/MIME encrypted message "
		    "(RFC 4880 and 3156)",
		    m->eol, "--", boundary, m->eol,
		    "Content-Type: application/pgp-encrypted", m->eol,
		    "Content-Description: PGP/MIME version "
		    "identification",
		    m->eol, m->eol, "Version: 1", m->eol, m->eol, "--",
		    boundary, m->eol,
		    "Content-Type: application/octet-stream; "
		    "name=\"encrypted.asc\"",
		    m->eol, "Content-Description: OpenPGP encrypted message",
		    m->eol,
		    "Content-Disposition: inline; "
		    "filename=\"encrypted.asc\"",
		    m->eol, m->eol, NULL) &&
	       copy_text (k, m, cipher, error) &&
	       put (k, error, m->eol, "--", boundary, "--", m->eol, NULL);
}

/* Whom the message M is encrypted for: refuses Bcc recipients S/MIME
 * would name, makes the GPGME context *CTX and the list of recipients
 * *LIST with their *KEYS; FALSE with @error */
static gboolean
encrypt_recipients (Msg *m, const MpCryptoOptions *opts, gpgme_ctx_t *ctx,
		    GPtrArray **list, GPtrArray **keys, GError **error)
{
	if (opts->protocol == MP_CRYPTO_SMIME && m->bcc->len > 0 &&
	    !opts->recipients) {
		/* CMS names every recipient's certificate */
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: S/MIME cannot hide Bcc recipients; "
			     "encrypt a copy for them with --recipient");
		return FALSE;
	}
	*ctx = ctx_new (opts, opts->protocol, &m->pass, error);
	if (*ctx == NULL)
		return FALSE;
	*list = recipients (m, opts, *ctx, keys, error);
	return *list != NULL;
}

gboolean
mp_crypto_encrypt (MpInput *in, const MpCryptoOptions *opts, MpOutput *out,
		   GError **error)
{
	gboolean smime = opts->protocol == MP_CRYPTO_SMIME;
	Msg m;
	g_autoptr (GMimeStream) inner = NULL;
	g_autoptr (GMimeStream) plainsrc = NULL;
	g_autoptr (GMimeStream) cipher = NULL;
	g_autoptr (GPtrArray) list = NULL;
	g_autoptr (GPtrArray) keys = NULL;
	g_autofree char *autocrypt = NULL;
	g_autofree char *boundary = NULL;
	gpgme_ctx_t ctx = NULL;
	gpgme_data_t plain = NULL, cd = NULL;
	gboolean ok = FALSE;
	Sink k = { mp_output_get_stream (out), out };
	Signature sig = { NULL, NULL };
	int signed_spool = -1, cfd = -1;
	Feed f = { 0 };

	if (!msg_open (&m, in, opts, error) ||
	    !encrypt_recipients (&m, opts, &ctx, &list, &keys, error) ||
	    (opts->autocrypt &&
	     (autocrypt = autocrypt_field (opts, &m, error)) == NULL))
		goto out;
	if (opts->protect_headers)
		m.hp_outer = hp_outer_fields (&m, autocrypt);
	inner = inner_stream (&m, opts->protect_headers, smime && opts->sign,
			      error);
	if (inner == NULL ||
	    (plainsrc = encrypt_source (&m, opts, inner, &sig, &signed_spool,
					error)) == NULL ||
	    (cfd = spool_open (error)) < 0)
		goto out;
	gpgme_set_armor (ctx, !smime);
	plain = feed_data (&f, plainsrc, TRUE, opts->protocol);
	cd = spool_data (cfd);
	if (!encrypt_run (ctx, &m, opts, list, keys, &f, plain, cd, error))
		goto out;
	cipher = spool_stream (cfd);
	if ((opts->protect_headers && !obscure_subject (&m, error)) ||
	    !write_outer (&m, out, autocrypt, error))
		goto out;
	boundary = new_boundary (&m, opts);
	ok = smime ? encrypt_write_smime (&k, &m, cipher, error) :
		     encrypt_write_pgp (&k, &m, boundary, cipher, error);
out:
	if (plain)
		gpgme_data_release (plain);
	if (cd)
		gpgme_data_release (cd);
	feed_clear (&f);
	if (ctx)
		gpgme_release (ctx);
	if (cfd >= 0)
		close (cfd);
	if (signed_spool >= 0)
		close (signed_spool);
	signature_clear (&sig);
	msg_clear (&m);
	return ok;
}

/* ---- decrypting and verifying ------------------------------------------- */

void
mp_crypto_signature_free (MpCryptoSignature *sig)
{
	if (sig == NULL)
		return;
	g_free (sig->status);
	g_free (sig->signer);
	g_free (sig->fingerprint);
	g_free (sig->validity);
	g_free (sig);
}

static const char *
validity_name (gpgme_validity_t v)
{
	switch (v) {
	case GPGME_VALIDITY_NEVER:
		return "never";
	case GPGME_VALIDITY_MARGINAL:
		return "marginal";
	case GPGME_VALIDITY_FULL:
		return "full";
	case GPGME_VALIDITY_ULTIMATE:
		return "ultimate";
	default:
		return "unknown";
	}
}

static const char *
status_name (gpgme_signature_t s)
{
	switch (gpgme_err_code (s->status)) {
	case GPG_ERR_NO_ERROR:
		return (s->summary & GPGME_SIGSUM_RED) ? "bad" : "good";
	case GPG_ERR_BAD_SIGNATURE:
		return "bad";
	case GPG_ERR_NO_PUBKEY:
		return "no-key";
	case GPG_ERR_SIG_EXPIRED:
	case GPG_ERR_KEY_EXPIRED:
	case GPG_ERR_CERT_EXPIRED:
		return "expired";
	case GPG_ERR_CERT_REVOKED:
		return "revoked";
	default:
		return "error";
	}
}

/* Appends the signatures of the last verify operation of @ctx. */
static void
collect_signatures (gpgme_ctx_t ctx, GPtrArray *sigs)
{
	gpgme_verify_result_t res = gpgme_op_verify_result (ctx);

	for (gpgme_signature_t s = res ? res->signatures : NULL; s;
	     s = s->next) {
		MpCryptoSignature *sig = g_new0 (MpCryptoSignature, 1);
		gpgme_key_t key = NULL;

		sig->status = g_strdup (status_name (s));
		sig->good = strcmp (sig->status, "good") == 0;
		sig->fingerprint = g_strdup (s->fpr ? s->fpr : "unknown");
		sig->validity = g_strdup (validity_name (s->validity));
		sig->time = s->timestamp;
		if (s->fpr && gpgme_get_key (ctx, s->fpr, &key, 0) == 0) {
			for (gpgme_user_id_t u = key->uids; u; u = u->next)
				if (u->email && *u->email) {
					/* gpgsm gives "<addr>" */
					sig->signer = addr_of (u->email);
					break;
				}
			gpgme_key_unref (key);
		}
		if (sig->signer == NULL)
			sig->signer = g_strdup ("unknown");
		g_ptr_array_add (sigs, sig);
	}
}

/* The decoded body of @e, which must be small (a signature). */
static GMimeStream *
small_body (GMimeStream *s, Entity *e, GError **error)
{
	g_autoptr (GMimeStream) sub = NULL;
	g_autoptr (GMimeStream) fs = NULL;
	GMimeStream *mem;
	GMimeContentEncoding enc =
		g_mime_content_encoding_from_string (e->cte ? e->cte : "7bit");

	if (e->end - e->body > MAX_SIGNATURE) {
		g_set_error (
			error, MP_ERROR, MP_ERROR_DATA,
			"stdin: the signature part is too large to be one");
		return NULL;
	}
	sub = g_mime_stream_substream (s, e->body, e->end);
	fs = g_mime_stream_filter_new (sub);
	if (enc == GMIME_CONTENT_ENCODING_BASE64 ||
	    enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
	    enc == GMIME_CONTENT_ENCODING_UUENCODE) {
		g_autoptr (GMimeFilter) f =
			g_mime_filter_basic_new (enc, FALSE);

		g_mime_stream_filter_add (GMIME_STREAM_FILTER (fs), f);
	}
	mem = g_mime_stream_mem_new ();
	if (g_mime_stream_write_to_stream (fs, mem) < 0) {
		g_object_unref (mem);
		g_set_error (error, MP_ERROR, MP_ERROR_IO, "stdin: read error");
		return NULL;
	}
	g_mime_stream_reset (mem);
	return mem;
}

static gboolean
verify_signed (GMimeStream *s, Entity *e, const MpCryptoOptions *opts,
	       GPtrArray *sigs, GError **error)
{
	const char *proto =
		g_mime_content_type_get_parameter (e->type, "protocol");
	MpCryptoProtocol p;
	g_autoptr (GMimeStream) sigstream = NULL;
	g_autoptr (GMimeStream) signed_part = NULL;
	gpgme_ctx_t ctx;
	gpgme_data_t sd, td;
	gpgme_error_t err;
	Feed sf, tf;
	guint before = sigs->len;

	if (e->kids->len != 2) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: a multipart/signed with %u parts (it "
			     "needs the signed part and the signature)",
			     e->kids->len);
		return FALSE;
	}
	/* x-pgp-signature: what some clients wrote before RFC 3156 */
	if (proto &&
	    (g_ascii_strcasecmp (proto, "application/pgp-signature") == 0 ||
	     g_ascii_strcasecmp (proto, "application/x-pgp-signature") == 0))
		p = MP_CRYPTO_OPENPGP;
	else if (proto &&
		 (g_ascii_strcasecmp (proto, "application/pkcs7-signature") ==
			  0 ||
		  g_ascii_strcasecmp (proto, "application/x-pkcs7-signature") ==
			  0))
		p = MP_CRYPTO_SMIME;
	else {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: multipart/signed with unknown protocol "
			     "%s",
			     proto ? proto : "(none)");
		return FALSE;
	}
	sigstream = small_body (s, e->kids->pdata[1], error);
	if (sigstream == NULL)
		return FALSE;
	ctx = ctx_new (opts, p, NULL, error);
	if (ctx == NULL)
		return FALSE;
	signed_part = g_mime_stream_substream (
		s, ((Entity *) e->kids->pdata[0])->start,
		((Entity *) e->kids->pdata[0])->end);
	sd = feed_data (&sf, sigstream, FALSE, p);
	td = feed_data (&tf, signed_part, TRUE, p);
	err = gpgme_op_verify (ctx, sd, td, NULL);
	gpgme_data_release (sd);
	gpgme_data_release (td);
	err = feed_check (&tf, feed_check (&sf, err));
	feed_clear (&sf);
	feed_clear (&tf);
	if (!err)
		collect_signatures (ctx, sigs);
	gpgme_release (ctx);
	if (err || sigs->len == before) {
		set_gpg_error (error, err ? err : gpgme_error (GPG_ERR_NO_DATA),
			       "stdin: the signature part");
		return FALSE;
	}
	return TRUE;
}

/* An application/pkcs7-mime; smime-type=signed-data leaf: the signed
 * entity travels inside the CMS object (RFC 8551 3.5.2). */
static gboolean
is_opaque_signed (Entity *e)
{
	return e->kids == NULL && !type_is (e, "multipart", "*") &&
	       entity_kind (e->type) == MP_CRYPTO_SIGNED;
}

/* Checks the opaque signed-data @e with gpgsm (its signatures go to
 * @sigs) and returns the entity it holds, written to a spool file. */
static GMimeStream *
opaque_to_spool (GMimeStream *s, Entity *e, const MpCryptoOptions *opts,
		 GPtrArray *sigs, GError **error)
{
	g_autoptr (GMimeStream) sub =
		g_mime_stream_substream (s, e->body, e->end);
	g_autoptr (GMimeStream) src = g_mime_stream_filter_new (sub);
	gpgme_ctx_t ctx;
	gpgme_data_t sd, pd;
	gpgme_error_t err;
	guint before = sigs->len;
	GMimeStream *ps;
	Feed f;
	int fd;

	if (e->cte && strcmp (e->cte, "base64") == 0) {
		g_autoptr (GMimeFilter) b64 = g_mime_filter_basic_new (
			GMIME_CONTENT_ENCODING_BASE64, FALSE);

		g_mime_stream_filter_add (GMIME_STREAM_FILTER (src), b64);
	}
	fd = op_begin (opts, MP_CRYPTO_SMIME, NULL, &ctx, error);
	if (fd < 0)
		return NULL;
	sd = feed_data (&f, src, FALSE, MP_CRYPTO_SMIME);
	pd = spool_data (fd);
	err = gpgme_op_verify (ctx, sd, NULL, pd);
	gpgme_data_release (sd);
	gpgme_data_release (pd);
	err = feed_check (&f, err);
	feed_clear (&f);
	if (!err)
		collect_signatures (ctx, sigs);
	gpgme_release (ctx);
	if (err || sigs->len == before) {
		close (fd);
		set_gpg_error (error, err ? err : gpgme_error (GPG_ERR_NO_DATA),
			       "stdin: the S/MIME signed-data");
		return NULL;
	}
	ps = spool_stream (fd);
	close (fd);
	return ps;
}

static gboolean
verify_tree (GMimeStream *s, Entity *e, const MpCryptoOptions *opts,
	     GPtrArray *sigs, int depth, GError **error)
{
	if (depth > MAX_DEPTH) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: signed parts nested too deep");
		return FALSE;
	}
	/* a signed message signed again: the inner signature too */
	if (type_is (e, "multipart", "signed"))
		return verify_signed (s, e, opts, sigs, error) &&
		       verify_tree (s, e->kids->pdata[0], opts, sigs, depth + 1,
				    error);
	if (is_opaque_signed (e)) {
		g_autoptr (GMimeStream) plain =
			opaque_to_spool (s, e, opts, sigs, error);
		g_autoptr (Entity) k = NULL;

		if (plain == NULL)
			return FALSE;
		k = entity_parse (plain, 0, g_mime_stream_length (plain), 0,
				  error);
		return k &&
		       verify_tree (plain, k, opts, sigs, depth + 1, error);
	}
	for (guint i = 0; e->kids && i < e->kids->len; i++)
		if (!verify_tree (s, e->kids->pdata[i], opts, sigs, depth + 1,
				  error))
			return FALSE;
	return TRUE;
}

/* RFC 3156 4: the ciphertext of the PGP/MIME message M (TOP, its
 * multipart/encrypted entity), its second part; NULL with @error when
 * TOP is not made so */
static GMimeStream *
decrypt_pgp_source (Msg *m, Entity *top, GError **error)
{
	const char *proto =
		g_mime_content_type_get_parameter (top->type, "protocol");
	Entity *c;

	if (proto == NULL ||
	    g_ascii_strcasecmp (proto, "application/pgp-encrypted") != 0 ||
	    top->kids->len != 2) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: not a PGP/MIME encrypted message "
			     "(RFC 3156 4)");
		return NULL;
	}
	c = top->kids->pdata[1];
	return g_mime_stream_substream (m->stream, c->body, c->end);
}

/* RFC 8551 3.3: the ciphertext of the S/MIME message M (TOP, its
 * application/pkcs7-mime entity), its body decoded from base64; NULL
 * with @error when its smime-type is not enveloped-data */
static GMimeStream *
decrypt_smime_source (Msg *m, Entity *top, GError **error)
{
	g_autoptr (GMimeStream) sub =
		g_mime_stream_substream (m->stream, top->body, m->size);
	g_autoptr (GMimeFilter) b64 =
		g_mime_filter_basic_new (GMIME_CONTENT_ENCODING_BASE64, FALSE);
	const char *st =
		g_mime_content_type_get_parameter (top->type, "smime-type");
	GMimeStream *src;

	if (st && g_ascii_strcasecmp (st, "enveloped-data") != 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: S/MIME %s is not encrypted", st);
		return NULL;
	}
	src = g_mime_stream_filter_new (sub);
	if (top->cte && strcmp (top->cte, "base64") == 0)
		g_mime_stream_filter_add (GMIME_STREAM_FILTER (src), b64);
	return src;
}

/* Decrypts SRC (protocol P) to a new spool file, and with OpenPGP puts
 * the signatures of a message signed and encrypted in one pass in SIGS
 * (may be NULL).  Returns the spool's descriptor, or -1 with @error */
static int
decrypt_run (Msg *m, const MpCryptoOptions *opts, MpCryptoProtocol p,
	     GMimeStream *src, GPtrArray *sigs, GError **error)
{
	gpgme_ctx_t ctx;
	gpgme_data_t cd, pd;
	gpgme_error_t err;
	Feed f;
	int fd = op_begin (opts, p, &m->pass, &ctx, error);

	if (fd < 0)
		return -1;
	cd = feed_data (&f, src, FALSE, p);
	pd = spool_data (fd);
	if (p == MP_CRYPTO_OPENPGP)
		err = gpgme_op_decrypt_verify (ctx, cd, pd);
	else
		err = gpgme_op_decrypt (ctx, cd, pd);
	gpgme_data_release (cd);
	gpgme_data_release (pd);
	err = feed_check (&f, err);
	feed_clear (&f);
	if (!err && sigs && p == MP_CRYPTO_OPENPGP)
		collect_signatures (ctx, sigs);
	gpgme_release (ctx);
	if (!err)
		return fd;
	close (fd);
	if (gpgme_err_code (err) == GPG_ERR_NO_SECKEY ||
	    gpgme_err_code (err) == GPG_ERR_DECRYPT_FAILED)
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: cannot be decrypted: %s (no "
			     "secret key for it here?)",
			     gpgme_strerror (err));
	else
		set_gpg_error (error, err, "stdin");
	return -1;
}

/* Decrypts the message of @m to a spool file; with OpenPGP the
 * signatures of a message signed and encrypted in one pass go to @sigs.
 * Returns the plaintext stream (the decrypted entity). */
static GMimeStream *
decrypt_to_spool (Msg *m, const MpCryptoOptions *opts, GPtrArray *sigs,
		  GError **error)
{
	Entity *top = m->top;
	g_autoptr (GMimeStream) src = NULL;
	MpCryptoProtocol p;
	GMimeStream *ps;
	int fd;

	if (type_is (top, "multipart", "encrypted")) {
		src = decrypt_pgp_source (m, top, error);
		p = MP_CRYPTO_OPENPGP;
	} else if (entity_kind (top->type) == MP_CRYPTO_ENCRYPTED &&
		   !type_is (top, "multipart", "*")) {
		src = decrypt_smime_source (m, top, error);
		p = MP_CRYPTO_SMIME;
	} else {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: the message is not encrypted");
		return NULL;
	}
	if (src == NULL)
		return NULL;
	fd = decrypt_run (m, opts, p, src, sigs, error);
	if (fd < 0)
		return NULL;
	ps = spool_stream (fd);
	close (fd);
	return ps;
}

GPtrArray *
mp_crypto_verify (MpInput *in, const MpCryptoOptions *opts, GError **error)
{
	g_autoptr (GPtrArray) sigs = g_ptr_array_new_with_free_func (
		(GDestroyNotify) mp_crypto_signature_free);
	Msg m;
	gboolean ok = FALSE;

	if (!msg_open (&m, in, opts, error))
		goto out;
	if (entity_kind (m.top->type) == MP_CRYPTO_ENCRYPTED &&
	    !type_is (m.top, "multipart", "signed")) {
		g_autoptr (GMimeStream) plain =
			decrypt_to_spool (&m, opts, sigs, error);
		g_autoptr (Entity) e = NULL;

		if (plain == NULL)
			goto out;
		e = entity_parse (plain, 0, g_mime_stream_length (plain), 0,
				  error);
		ok = e && verify_tree (plain, e, opts, sigs, 0, error);
	} else {
		ok = verify_tree (m.stream, m.top, opts, sigs, 0, error);
	}
out:
	msg_clear (&m);
	return ok ? g_steal_pointer (&sigs) : NULL;
}

/* The plaintext of the message M: an opaque S/MIME signed entity
 * unwrapped (RFC 8551 3.5.2), else the message decrypted; NULL with
 * @error, also when an S/MIME signature is bad (changed content is not
 * passed on as if it were the sender's; an unknown signer is
 * mime-verify's answer) */
static GMimeStream *
decrypt_plaintext (Msg *m, const MpCryptoOptions *opts, GError **error)
{
	g_autoptr (GPtrArray) sigs = NULL;
	GMimeStream *plain;

	if (!is_opaque_signed (m->top))
		return decrypt_to_spool (m, opts, NULL, error);
	sigs = g_ptr_array_new_with_free_func (
		(GDestroyNotify) mp_crypto_signature_free);
	plain = opaque_to_spool (m->stream, m->top, opts, sigs, error);
	for (guint i = 0; plain && i < sigs->len; i++) {
		MpCryptoSignature *sig = sigs->pdata[i];

		if (strcmp (sig->status, "bad") == 0) {
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "stdin: the S/MIME signature by "
				     "%s is bad (the content was "
				     "changed): not unwrapped",
				     sig->signer);
			g_clear_object (&plain);
		}
	}
	return plain;
}

/* Reads the header block of the decrypted entity E of PLAIN, without its
 * empty line, into *IH (NULL when it is empty); FALSE with @error when
 * it is too large, cannot be read or parsed */
static gboolean
decrypt_inner_headers (GMimeStream *plain, Entity *e, MpHeaders **ih,
		       GError **error)
{
	gsize hlen = (gsize) e->body;
	g_autofree char *block = NULL;

	*ih = NULL;
	if (hlen > MP_HEADERS_MAX_BLOCK) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: decrypted header block too large");
		return FALSE;
	}
	block = g_malloc (hlen + 1);
	if (g_mime_stream_seek (plain, 0, GMIME_STREAM_SEEK_SET) != 0 ||
	    g_mime_stream_read (plain, block, hlen) != (gssize) hlen) {
		g_set_error (error, MP_ERROR, MP_ERROR_IO,
			     "temporary file: read error");
		return FALSE;
	}
	while (hlen > 0 && (block[hlen - 1] == '\n' || block[hlen - 1] == '\r'))
		hlen--;
	if (hlen == 0)
		return TRUE;
	*ih = mp_headers_parse (block, hlen, error);
	return *ih != NULL;
}

/* The inner fields IH of the decrypted entity E lose their HP-Outer
 * fields; with protected headers (RFC 9788 4.3) they are the real ones
 * and replace the outer fields of M with the same name */
static void
decrypt_merge_headers (Msg *m, MpHeaders *ih, Entity *e)
{
	gboolean protect = g_mime_content_type_get_parameter (
				   e->type, "protected-headers") != NULL;
	guint n;

	mp_headers_delete (ih, "HP-Outer");
	n = mp_headers_get_n_entries (ih);
	for (guint i = 0; protect && i < n; i++) {
		const char *name = mp_headers_get_name (ih, i);

		if (name && !is_content_field (name))
			mp_headers_delete (m->headers, name);
	}
}

/* Writes the inner fields IH to K, each ending in a line break, through
 * EOLF (NULL: as they are); FALSE with @error */
static gboolean
decrypt_write_headers (Sink *k, MpHeaders *ih, GMimeFilter *eolf,
		       GError **error)
{
	g_autoptr (GMimeStream) hs = g_mime_stream_mem_new ();
	g_autoptr (GString) s = g_string_new (NULL);
	guint n = mp_headers_get_n_entries (ih);

	for (guint i = 0; i < n; i++) {
		gsize len;
		const char *p = mp_headers_get_bytes (ih, i, &len);

		g_string_append_len (s, p, len);
		if (len == 0 || p[len - 1] != '\n')
			g_string_append (s, "\r\n");
	}
	g_mime_stream_write (hs, s->str, s->len);
	return copy (k, hs, eolf, NULL, error);
}

gboolean
mp_crypto_decrypt (MpInput *in, const MpCryptoOptions *opts, MpOutput *out,
		   GError **error)
{
	Msg m;
	g_autoptr (GMimeStream) plain = NULL;
	g_autoptr (Entity) e = NULL;
	g_autoptr (MpHeaders) ih = NULL;
	g_autoptr (GMimeStream) body = NULL;
	g_autoptr (GMimeFilter) eolf = NULL;
	gboolean ok = FALSE;
	Sink k = { mp_output_get_stream (out), out };

	if (!msg_open (&m, in, opts, error))
		goto out;
	plain = decrypt_plaintext (&m, opts, error);
	if (plain == NULL)
		goto out;
	e = entity_parse (plain, 0, g_mime_stream_length (plain), 0, error);
	if (e == NULL || !decrypt_inner_headers (plain, e, &ih, error))
		goto out;
	if (ih)
		decrypt_merge_headers (&m, ih, e);
	if (!write_outer (&m, out, NULL, error))
		goto out;
	if (!m.crlf)
		eolf = g_mime_filter_dos2unix_new (FALSE);
	if ((ih && !decrypt_write_headers (&k, ih, eolf, error)) ||
	    !put (&k, error, m.eol, NULL))
		goto out;
	body = g_mime_stream_substream (plain, e->body,
					g_mime_stream_length (plain));
	ok = copy (&k, body, eolf, NULL, error);
out:
	msg_clear (&m);
	return ok;
}
