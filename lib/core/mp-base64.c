#include "mp-base64.h"

#include <string.h>

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* two output characters for every 12 input bits */
static guint16 pairs[4096];

static void
init_pairs (void)
{
	static gsize done;

	if (g_once_init_enter (&done)) {
		for (guint i = 0; i < 4096; i++) {
			char two[2] = { alphabet[i >> 6], alphabet[i & 63] };

			memcpy (&pairs[i], two, 2);
		}
		g_once_init_leave (&done, 1);
	}
}

static inline char *
emit (char *o, const guchar *in)
{
	guint32 v = (guint32) in[0] << 16 | (guint32) in[1] << 8 | in[2];

	memcpy (o, &pairs[v >> 12], 2);
	memcpy (o + 2, &pairs[v & 0xfff], 2);
	return o + 4;
}

#define GROUPS_PER_LINE 19 /* 76 characters */

gsize
mp_base64_encode_step (MpBase64State *st, const guchar *in, gsize len,
		       char *out)
{
	char *o = out;

	init_pairs ();
	while (st->ncarry > 0 && st->ncarry < 3 && len > 0) {
		st->carry[st->ncarry++] = *in++;
		len--;
	}
	if (st->ncarry == 3) {
		o = emit (o, st->carry);
		st->ncarry = 0;
		st->col += 4;
		if (st->col == 76) {
			*o++ = '\n';
			st->col = 0;
		}
	}
	while (len >= 3) {
		if (st->col == 0 && len >= 3 * GROUPS_PER_LINE) {
			/* whole lines: the hot path */
			for (guint g = 0; g < GROUPS_PER_LINE; g++)
				o = emit (o, in + 3 * g);
			*o++ = '\n';
			in += 3 * GROUPS_PER_LINE;
			len -= 3 * GROUPS_PER_LINE;
			continue;
		}
		o = emit (o, in);
		in += 3;
		len -= 3;
		st->col += 4;
		if (st->col == 76) {
			*o++ = '\n';
			st->col = 0;
		}
	}
	while (len > 0) {
		st->carry[st->ncarry++] = *in++;
		len--;
	}
	return (gsize) (o - out);
}

gsize
mp_base64_encode_close (MpBase64State *st, char *out)
{
	char *o = out;

	if (st->ncarry > 0) {
		guchar g[3] = { st->carry[0], st->ncarry > 1 ? st->carry[1] : 0,
				0 };

		o = emit (o, g);
		o[-1] = '=';
		if (st->ncarry == 1)
			o[-2] = '=';
		st->col += 4;
		st->ncarry = 0;
	}
	if (st->col > 0)
		*o++ = '\n';
	st->col = 0;
	return (gsize) (o - out);
}

/* ---- the filter ------------------------------------------------------ */

#define MP_TYPE_FILTER_BASE64 (mp_filter_base64_get_type ())
G_DECLARE_FINAL_TYPE (MpFilterBase64, mp_filter_base64, MP, FILTER_BASE64,
		      GMimeFilter)

struct _MpFilterBase64 {
	GMimeFilter parent;
	MpBase64State state;
};

G_DEFINE_TYPE (MpFilterBase64, mp_filter_base64, GMIME_TYPE_FILTER)

static GMimeFilter *
filter_copy (GMimeFilter *filter)
{
	return mp_filter_base64_new ();
}

static void
filter_filter (GMimeFilter *filter, char *in, size_t len, size_t prespace,
	       char **out, size_t *outlen, size_t *outprespace)
{
	MpFilterBase64 *self = MP_FILTER_BASE64 (filter);

	g_mime_filter_set_size (filter, MP_BASE64_ENCODE_LEN (len), FALSE);
	*outlen = mp_base64_encode_step (&self->state, (const guchar *) in, len,
					 filter->outbuf);
	*out = filter->outbuf;
	*outprespace = filter->outpre;
}

static void
filter_complete (GMimeFilter *filter, char *in, size_t len, size_t prespace,
		 char **out, size_t *outlen, size_t *outprespace)
{
	MpFilterBase64 *self = MP_FILTER_BASE64 (filter);
	gsize n;

	g_mime_filter_set_size (filter, MP_BASE64_ENCODE_LEN (len) + 8, FALSE);
	n = mp_base64_encode_step (&self->state, (const guchar *) in, len,
				   filter->outbuf);
	n += mp_base64_encode_close (&self->state, filter->outbuf + n);
	*out = filter->outbuf;
	*outlen = n;
	*outprespace = filter->outpre;
}

static void
filter_reset (GMimeFilter *filter)
{
	MpFilterBase64 *self = MP_FILTER_BASE64 (filter);

	memset (&self->state, 0, sizeof self->state);
}

static void
mp_filter_base64_class_init (MpFilterBase64Class *klass)
{
	GMimeFilterClass *fc = GMIME_FILTER_CLASS (klass);

	fc->copy = filter_copy;
	fc->filter = filter_filter;
	fc->complete = filter_complete;
	fc->reset = filter_reset;
}

static void
mp_filter_base64_init (MpFilterBase64 *self)
{
}

GMimeFilter *
mp_filter_base64_new (void)
{
	return g_object_new (MP_TYPE_FILTER_BASE64, NULL);
}
