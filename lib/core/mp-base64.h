/* mp-base64: a fast base64 encoder (RFC 2045 6.8: 76-character lines),
 * as a GMimeFilter that can replace GMime's basic base64 filter. */
#pragma once

#include "mp-autoptr.h"

G_BEGIN_DECLS

/* Encoder state: bytes of an incomplete group and the current column. */
typedef struct {
	guchar carry[3];
	guint ncarry;
	guint col;
} MpBase64State;

/* The most bytes mp_base64_encode_step() or _close() can write for @len
 * input bytes. */
#define MP_BASE64_ENCODE_LEN(len) (((len) + 3) / 3 * 4 + ((len) + 3) / 57 + 4)

/* Encodes @len bytes into @out (room for MP_BASE64_ENCODE_LEN(len)),
 * keeping an incomplete group in @state; returns the bytes written. */
gsize mp_base64_encode_step (MpBase64State *state, const guchar *in, gsize len,
			     char *out);

/* Encodes the last bytes held in @state with padding and ends the last
 * line; returns the bytes written (at most 5). */
gsize mp_base64_encode_close (MpBase64State *state, char *out);

/* For tests: with TRUE, encode without the SIMD path even where the CPU
 * has it (the output is the same either way). */
void mp_base64_force_scalar (gboolean scalar);

/* A GMimeFilter encoding base64 with the encoder above; the output is
 * identical to g_mime_filter_basic_new (GMIME_CONTENT_ENCODING_BASE64,
 * TRUE).  New reference. */
GMimeFilter *mp_filter_base64_new (void);

G_END_DECLS
