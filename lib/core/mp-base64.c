#include "mp-base64.h"
#include "mp-cpu.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX2_PATH 1
#endif

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* two output characters for every 12 input bits */
static guint16 pairs[4096];
static gboolean have_avx2;

static void
init_pairs (void)
{
	static gsize done;

	if (g_once_init_enter (&done)) {
		for (guint i = 0; i < 4096; i++) {
			char two[2] = { alphabet[i >> 6], alphabet[i & 63] };

			memcpy (&pairs[i], two, 2);
		}
		have_avx2 = mp_cpu_base64_simd ();
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

static void
lines_scalar (const guchar *in, gsize nlines, char *o)
{
	for (gsize l = 0; l < nlines; l++) {
		for (guint g = 0; g < GROUPS_PER_LINE; g++)
			o = emit (o, in + 3 * g);
		*o++ = '\n';
		in += 3 * GROUPS_PER_LINE;
	}
}

#ifdef HAVE_AVX2_PATH
/* 24 bytes into 32 characters (Wojciech Mula and Daniel Lemire, "Faster
 * Base64 Encoding and Decoding Using AVX2 Instructions", 2018): each
 * 3-byte group is spread over 32 bits, its four 6-bit indices moved into
 * four bytes by two multiplications, and the indices turned into
 * characters by one table lookup of an offset.  Reads in[0..27]. */
__attribute__ ((target ("avx2"))) static inline __m256i
encode24 (const guchar *in)
{
	__m128i lo = _mm_loadu_si128 ((const __m128i *) in);
	__m128i hi = _mm_loadu_si128 ((const __m128i *) (in + 12));
	__m256i v =
		_mm256_inserti128_si256 (_mm256_castsi128_si256 (lo), hi, 1);
	__m256i t0, t1, t2, t3, idx, sel;
	const __m256i lut = _mm256_setr_epi8 (
		65, 71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 0, 0,
		65, 71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 0, 0);

	/* bytes b0 b1 b2 of each group as b1 b0 b2 b1 */
	v = _mm256_shuffle_epi8 (v, _mm256_set_epi8 (10, 11, 9, 10, 7, 8, 6, 7,
						     4, 5, 3, 4, 1, 2, 0, 1, 10,
						     11, 9, 10, 7, 8, 6, 7, 4,
						     5, 3, 4, 1, 2, 0, 1));
	t0 = _mm256_and_si256 (v, _mm256_set1_epi32 (0x0fc0fc00));
	t1 = _mm256_mulhi_epu16 (t0, _mm256_set1_epi32 (0x04000040));
	t2 = _mm256_and_si256 (v, _mm256_set1_epi32 (0x003f03f0));
	t3 = _mm256_mullo_epi16 (t2, _mm256_set1_epi32 (0x01000010));
	idx = _mm256_or_si256 (t1, t3);
	/* 0..25 -> 0 ('A'), 26..51 -> 1 ('a'), 52..61 -> 2..11 ('0'),
	 * 62 -> 12 ('+'), 63 -> 13 ('/') */
	sel = _mm256_subs_epu8 (idx, _mm256_set1_epi8 (51));
	sel = _mm256_sub_epi8 (sel,
			       _mm256_cmpgt_epi8 (idx, _mm256_set1_epi8 (25)));
	return _mm256_add_epi8 (idx, _mm256_shuffle_epi8 (lut, sel));
}

/* a line is 57 bytes: 24 + 24 by vector, the last 9 by table */
__attribute__ ((target ("avx2"))) static void
lines_avx2 (const guchar *in, gsize nlines, char *o)
{
	for (gsize l = 0; l < nlines; l++) {
		_mm256_storeu_si256 ((__m256i *) o, encode24 (in));
		_mm256_storeu_si256 ((__m256i *) (o + 32), encode24 (in + 24));
		o = emit (o + 64, in + 48);
		o = emit (o, in + 51);
		o = emit (o, in + 54);
		*o++ = '\n';
		in += 3 * GROUPS_PER_LINE;
	}
}
#endif

static gboolean force_scalar;

void
mp_base64_force_scalar (gboolean scalar)
{
	force_scalar = scalar;
}

/* whole lines from @in into @o (77 characters each) */
static void
encode_lines (const guchar *in, gsize nlines, char *o)
{
#ifdef HAVE_AVX2_PATH
	if (have_avx2 && !force_scalar) {
		lines_avx2 (in, nlines, o);
		return;
	}
#endif
	lines_scalar (in, nlines, o);
}

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
			gsize n = len / (3 * GROUPS_PER_LINE);

			encode_lines (in, n, o);
			o += n * (4 * GROUPS_PER_LINE + 1);
			in += n * 3 * GROUPS_PER_LINE;
			len -= n * 3 * GROUPS_PER_LINE;
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
