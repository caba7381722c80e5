/* mp-dkim-canon: what DKIM hashes: the body and header canonicalisations
 * (RFC 6376 3.4) and a message's header block as mp-dkim reads it. */
#include "mp-dkim-private.h"
#include "mp-data.h"
#include "mp-error.h"
#include "mp-io.h"

#include <string.h>

/* ---- canonicalisation (RFC 6376 3.4) -------------------------------- */

/* The wire form of @len bytes: every CR, LF and CRLF a CRLF, the rule
 * smtp-send applies (mp-data), without dot stuffing. */
static void
wire_form (const char *p, gsize len, GByteArray *out)
{
	MpDataEncoder enc;

	mp_data_encoder_init (&enc);
	enc.no_dots = TRUE;
	mp_data_encode (&enc, p, len, out);
	if (!enc.line_start)
		g_byte_array_append (out, (const guint8 *) "\r\n", 2);
}

void
mp_dkim_canon_header (gboolean relaxed, const char *field, gsize len,
		      GByteArray *out)
{
	g_autoptr (GByteArray) wire = g_byte_array_new ();
	const char *p, *end, *colon;
	gboolean space = FALSE, started = FALSE;

	wire_form (field, len, wire);
	if (!relaxed) {
		g_byte_array_append (out, wire->data, wire->len);
		return;
	}
	p = (const char *) wire->data;
	end = p + wire->len;
	colon = memchr (p, ':', wire->len);
	if (colon == NULL)
		return;
	/* 3.4.2: lowercase name, no WSP around the colon, unfolded, WSP
	 * runs as one SP, none at the end */
	for (const char *q = p; q < colon; q++)
		if (!mp_dkim_is_wsp (*q)) {
			guint8 c = (guint8) g_ascii_tolower (*q);
			g_byte_array_append (out, &c, 1);
		}
	g_byte_array_append (out, (const guint8 *) ":", 1);
	for (p = colon + 1; p < end; p++) {
		if (*p == '\r' || *p == '\n')
			continue;
		if (mp_dkim_is_wsp (*p)) {
			space = TRUE;
			continue;
		}
		if (space && started)
			g_byte_array_append (out, (const guint8 *) " ", 1);
		space = FALSE;
		started = TRUE;
		g_byte_array_append (out, (const guint8 *) p, 1);
	}
	g_byte_array_append (out, (const guint8 *) "\r\n", 2);
}

void
mp_dkim_bh_init (BodyHash *b, gboolean relaxed, gint64 limit)
{
	memset (b, 0, sizeof *b);
	b->relaxed = relaxed;
	b->limit = limit;
	b->sum = g_checksum_new (G_CHECKSUM_SHA256);
}

static void
bh_flush (BodyHash *b)
{
	gsize n = b->used;

	if (b->limit >= 0) {
		guint64 room = (guint64) b->limit > b->length ?
				       (guint64) b->limit - b->length :
				       0;
		if (n > room)
			n = (gsize) room;
	}
	g_checksum_update (b->sum, b->buf, (gssize) n);
	b->length += b->used;
	b->used = 0;
}

static inline void
bh_put (BodyHash *b, guint8 c)
{
	if (b->used == sizeof b->buf)
		bh_flush (b);
	b->buf[b->used++] = c;
	b->any = TRUE;
}

static void
bh_put_crlfs (BodyHash *b)
{
	for (; b->pending_crlf > 0; b->pending_crlf--) {
		bh_put (b, '\r');
		bh_put (b, '\n');
	}
}

static void
bh_put_run (BodyHash *b, const guint8 *p, gsize n)
{
	while (n > 0) {
		gsize room = sizeof b->buf - b->used;

		if (room == 0) {
			bh_flush (b);
			room = sizeof b->buf;
		}
		if (room > n)
			room = n;
		memcpy (b->buf + b->used, p, room);
		b->used += room;
		p += room;
		n -= room;
	}
	b->any = TRUE;
}

/* @p: CRLF lines (the output of wire_form's encoder, where a CR is always
 * followed by an LF) */
static void
bh_update (BodyHash *b, const guint8 *p, gsize len)
{
	const guint8 *end = p + len;

	while (p < end) {
		const guint8 *run;
		guint8 c = *p;

		if (c == '\r') {
			p++;
			continue;
		}
		if (c == '\n') {
			if (b->line_content) {
				bh_put (b, '\r');
				bh_put (b, '\n');
			} else {
				b->pending_crlf++;
			}
			b->line_content = FALSE;
			b->pending_space = FALSE;
			p++;
			continue;
		}
		if (b->relaxed && mp_dkim_is_wsp (c)) {
			b->pending_space = TRUE;
			p++;
			continue;
		}
		if (b->pending_crlf)
			bh_put_crlfs (b);
		if (b->pending_space) {
			bh_put (b, ' ');
			b->pending_space = FALSE;
		}
		/* the rest of the line's text, up to its CR or a blank */
		run = p;
		if (!b->relaxed) {
			p = memchr (p, '\r', (gsize) (end - p));
			if (p == NULL)
				p = end;
		} else {
			while (p < end && *p != '\r' && *p != ' ' && *p != '\t')
				p++;
		}
		bh_put_run (b, run, (gsize) (p - run));
		b->line_content = TRUE;
	}
}

char *
mp_dkim_bh_finish (BodyHash *b)
{
	guint8 digest[32];
	gsize dlen = sizeof digest;

	/* the wire form ends with CRLF: a last line without one gets it */
	if (b->line_content) {
		bh_put (b, '\r');
		bh_put (b, '\n');
	}
	/* simple: an empty body is one CRLF; relaxed: nothing */
	if (!b->any && !b->relaxed) {
		bh_put (b, '\r');
		bh_put (b, '\n');
	}
	bh_flush (b);
	g_checksum_get_digest (b->sum, digest, &dlen);
	g_checksum_free (b->sum);
	b->sum = NULL;
	return g_base64_encode (digest, dlen);
}

gboolean
mp_dkim_hash_body_stream (GMimeStream *stream, GPtrArray *hashes,
			  GError **error)
{
	g_autofree char *buf = g_malloc (READ_CHUNK);
	g_autoptr (GByteArray) wire = g_byte_array_sized_new (READ_CHUNK * 2);
	MpDataEncoder enc;

	mp_data_encoder_init (&enc);
	enc.no_dots = TRUE;
	for (;;) {
		gssize n = mp_io_stream_read (stream, buf, READ_CHUNK);
		guint i;

		if (n < 0) {
			g_set_error (error, MP_ERROR, MP_ERROR_IO,
				     "read error in the message body");
			return FALSE;
		}
		if (n == 0)
			break;
		g_byte_array_set_size (wire, 0);
		mp_data_encode (&enc, buf, (gsize) n, wire);
		for (i = 0; i < hashes->len; i++)
			bh_update (hashes->pdata[i], wire->data, wire->len);
	}
	return TRUE;
}

/* ---- the header block ----------------------------------------------- */

void
mp_dkim_block_clear (Block *b)
{
	g_clear_pointer (&b->h, mp_headers_free);
}

gboolean
mp_dkim_read_block (GMimeStream *stream, const char *name, Block *b,
		    GError **error)
{
	g_autofree char *buf = g_malloc (READ_CHUNK);
	gint64 start = stream->bound_start, len = 0;
	char sep[2];
	gssize n;
	guint i;

	b->h = mp_headers_new (name);
	if (g_mime_stream_seek (stream, start, GMIME_STREAM_SEEK_SET) < 0)
		goto read_error;
	while (!mp_headers_is_complete (b->h)) {
		n = mp_io_stream_read (stream, buf, READ_CHUNK);
		if (n < 0)
			goto read_error;
		if (n == 0)
			break;
		if (!mp_headers_feed (b->h, buf, (gsize) n, error))
			return FALSE;
	}
	if (!mp_headers_finish (b->h, error))
		return FALSE;
	/* nothing edited yet: the entries are the block's bytes in order */
	for (i = 0; i < mp_headers_get_n_entries (b->h); i++) {
		gsize l;

		mp_headers_get_bytes (b->h, i, &l);
		len += (gint64) l;
	}
	b->block_end = start + len;
	if (g_mime_stream_seek (stream, b->block_end, GMIME_STREAM_SEEK_SET) <
	    0)
		goto read_error;
	n = mp_io_stream_read (stream, sep, 2);
	if (n < 0)
		goto read_error;
	if (n == 0) {
		b->body_start = b->block_end;
	} else if (sep[0] == '\n') {
		b->body_start = b->block_end + 1;
	} else if (n == 2 && sep[0] == '\r' && sep[1] == '\n') {
		b->body_start = b->block_end + 2;
	} else {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: the header block is not ended by an empty "
			     "line",
			     name);
		return FALSE;
	}
	return TRUE;

read_error:
	g_set_error (error, MP_ERROR, MP_ERROR_IO, "%s: read error", name);
	return FALSE;
}

gboolean
mp_dkim_has_field (MpHeaders *h, const char *name)
{
	guint i;

	for (i = 0; i < mp_headers_get_n_entries (h); i++) {
		const char *n = mp_headers_get_name (h, i);

		if (n && g_ascii_strcasecmp (n, name) == 0)
			return TRUE;
	}
	return FALSE;
}

void
mp_dkim_hash_selected (MpHeaders *h, char **names, gboolean relaxed,
		       GByteArray *out)
{
	g_autoptr (GHashTable) taken =
		g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
	guint n = mp_headers_get_n_entries (h);

	for (char **name = names; *name; name++) {
		guint skip =
			GPOINTER_TO_UINT (g_hash_table_lookup (taken, *name));
		guint seen = 0;

		for (guint i = n; i-- > 0;) {
			const char *fn = mp_headers_get_name (h, i);
			const char *bytes;
			gsize len;

			if (fn == NULL || g_ascii_strcasecmp (fn, *name) != 0)
				continue;
			if (seen++ < skip)
				continue;
			bytes = mp_headers_get_bytes (h, i, &len);
			mp_dkim_canon_header (relaxed, bytes, len, out);
			break;
		}
		g_hash_table_replace (taken, g_ascii_strdown (*name, -1),
				      GUINT_TO_POINTER (skip + 1));
	}
}
