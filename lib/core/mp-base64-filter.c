/* mp-base64's GMimeFilter, apart from the encoder so that a command
 * that links no GObject (a static mime-compose, issue 21) can take the
 * encoder alone from the archive. */
#include "mp-base64.h"

#include <string.h>

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
