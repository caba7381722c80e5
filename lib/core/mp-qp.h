/* mp-qp: a fast quoted-printable encoder (RFC 2045 6.7) that writes the
 * same bytes as GMime's (g_mime_filter_basic_new (QP, TRUE)): soft breaks
 * where GMime puts them, blanks before a line break encoded, CRLF read as
 * a line break. */
#pragma once

#include "mp-autoptr.h"

G_BEGIN_DECLS

/* Encoder state: the column and a blank or CR held back until the next
 * byte shows whether it ends a line.  Start from MP_QP_STATE_INIT. */
typedef struct {
	guint col;
	int held; /* -1: none */
} MpQpState;

#define MP_QP_STATE_INIT \
	{ \
		0, -1 \
	}

/* The room mp_qp_encode_step() needs for @len input bytes: each byte at
 * most "=XX" plus its share of soft breaks, the byte held from before,
 * and 16 bytes it may scribble past its output; mp_qp_encode_close()
 * writes at most 5. */
#define MP_QP_ENCODE_LEN(len) ((len) *4 + 32)

/* Encodes @len bytes into @out (room for MP_QP_ENCODE_LEN(len)), holding
 * back a trailing blank or CR in @state; returns the bytes written. */
gsize mp_qp_encode_step (MpQpState *state, const guchar *in, gsize len,
			 char *out);

/* Writes the byte still held in @state, if any, with a soft break after
 * it; returns the bytes written (at most 5). */
gsize mp_qp_encode_close (MpQpState *state, char *out);

G_END_DECLS
