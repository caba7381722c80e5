/* mp-text: text bodies in one pass: validated (UTF-8, or a charset
 * through iconv), measured for the transfer encoding, then written
 * transfer-encoded by our encoders (mp-qp, mp-base64) with the bytes
 * GMime writes.  Needs no GMime: mp-part's GMime text parts are built on
 * it, and mime-compose writes its parts with it alone (issue 21). */
#include "mp-text.h"
#include "mp-base64.h"
#include "mp-cpu.h"
#include "mp-error.h"
#include "mp-part.h"
#include "mp-qp.h"
#include "mp-text-private.h"

#include <errno.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX2_PATH 1
#endif

/* ---- one pass over text: statistics, UTF-8, line endings ------------- */


void
mp_text_scan_init (TextScan *s, gboolean check_utf8)
{
	memset (s, 0, sizeof *s);
	s->check_utf8 = check_utf8;
}

static inline void
utf8_bad (TextScan *s, gsize offset, gsize line)
{
	s->utf8_bad = TRUE;
	s->bad_offset = offset;
	s->bad_line = line;
	s->need = 0;
}

/* RFC 3629 4, as g_utf8_validate_len() reads it (NUL is invalid too):
 * for each byte, how many continuation bytes it leads and the
 * range of the first; the ranges after E0, ED, F0 and F4 exclude overlong
 * forms, surrogates and code points over U+10FFFF.  need 0: not a lead. */
static const struct {
	guint8 need, lo, hi;
} utf8_leads[0x100] = {
	[0xc2 ... 0xdf] = { 1, 0x80, 0xbf }, [0xe0] = { 2, 0xa0, 0xbf },
	[0xe1 ... 0xec] = { 2, 0x80, 0xbf }, [0xed] = { 2, 0x80, 0x9f },
	[0xee ... 0xef] = { 2, 0x80, 0xbf }, [0xf0] = { 3, 0x90, 0xbf },
	[0xf1 ... 0xf3] = { 3, 0x80, 0xbf }, [0xf4] = { 3, 0x80, 0x8f },
};

static inline void
utf8_lead (TextScan *s, guint c, gsize off)
{
	s->seq_start = off;
	s->seq_line = s->lfs + 1;
	s->need = utf8_leads[c].need;
	s->lo = utf8_leads[c].lo;
	s->hi = utf8_leads[c].hi;
	if (s->need == 0)
		utf8_bad (s, off, s->lfs + 1);
}

static inline void
scan_byte (TextScan *s, guint c, gsize off)
{
	if (s->check_utf8 && !s->utf8_bad) {
		if (s->need) {
			if (c < s->lo || c > s->hi) {
				utf8_bad (s, s->seq_start, s->seq_line);
			} else {
				s->need--;
				s->lo = 0x80;
				s->hi = 0xbf;
			}
		} else if (c == 0) {
			utf8_bad (s, off, s->lfs + 1);
		} else if (c >= 0x80) {
			utf8_lead (s, c, off);
		}
	}
	/* RFC 5322 2.1.1 and RFC 2045 2.7: line lengths without their CR,
	 * NUL, and CR only in CRLF */
	if (s->cr) {
		if (c == '\n')
			s->has_crlf = TRUE;
		else
			s->stats.bare_cr++;
		s->cr = FALSE;
	}
	if (c == '\n') {
		if (s->line > s->stats.max_line)
			s->stats.max_line = s->line;
		s->line = 0;
		s->lfs++;
	} else if (c == '\r') {
		s->cr = TRUE;
		s->has_cr = TRUE;
	} else {
		s->line++;
		if (c >= 0x80)
			s->stats.non_ascii++;
		else if (c == 0)
			s->stats.nul++;
	}
}

#ifdef HAVE_AVX2_PATH
static gboolean have_avx2;
static gboolean force_scalar;

/* UTF-8 validation 32 bytes at a time (John Keiser and Daniel Lemire,
 * "Validating UTF-8 In Less Than One Instruction Per Byte", 2021): the
 * high nibble of each byte, and the high and low nibbles of the byte
 * before it, each look up a set of the errors their pair could make;
 * the bits left in all three are errors, but for the continuation bytes
 * that the two or three bytes before must be followed by.  Non-zero when
 * the block, read after @prev, holds an error. */
#define T_SHORT 0x01 /* a lead not followed by a continuation */
#define T_LONG 0x02  /* a continuation after an ASCII byte */
#define OVL_3 0x04
#define T_LARGE 0x08
#define SURR 0x10
#define OVL_2 0x20
#define T_LARGE_1000 0x40
#define OVL_4 0x40
/* as a char: the tables below are of signed bytes (_mm256_setr_epi8) */
#define TWO_CONTS ((char) 0x80)
#define CARRY (T_SHORT | T_LONG | TWO_CONTS)
/* a table for a four-bit index: vpshufb looks up within each 128-bit
 * lane, so both lanes hold the same 16 entries */
#define BOTH_LANES(...) __VA_ARGS__, __VA_ARGS__

__attribute__ ((target ("avx2"))) static inline __m256i
utf8_errors (__m256i in, __m256i prev)
{
	const __m256i lo4 = _mm256_set1_epi8 (0x0f);
	const __m256i b1_high = _mm256_setr_epi8 (BOTH_LANES (
		T_LONG, T_LONG, T_LONG, T_LONG, T_LONG, T_LONG, T_LONG, T_LONG,
		TWO_CONTS, TWO_CONTS, TWO_CONTS, TWO_CONTS, T_SHORT | OVL_2,
		T_SHORT, T_SHORT | OVL_3 | SURR,
		T_SHORT | T_LARGE | T_LARGE_1000 | OVL_4));
	const __m256i b1_low = _mm256_setr_epi8 (BOTH_LANES (
		CARRY | OVL_3 | OVL_2 | OVL_4, CARRY | OVL_2, CARRY, CARRY,
		CARRY | T_LARGE, CARRY | T_LARGE | T_LARGE_1000,
		CARRY | T_LARGE | T_LARGE_1000, CARRY | T_LARGE | T_LARGE_1000,
		CARRY | T_LARGE | T_LARGE_1000, CARRY | T_LARGE | T_LARGE_1000,
		CARRY | T_LARGE | T_LARGE_1000, CARRY | T_LARGE | T_LARGE_1000,
		CARRY | T_LARGE | T_LARGE_1000,
		CARRY | T_LARGE | T_LARGE_1000 | SURR,
		CARRY | T_LARGE | T_LARGE_1000,
		CARRY | T_LARGE | T_LARGE_1000));
	const __m256i b2_high = _mm256_setr_epi8 (BOTH_LANES (
		T_SHORT, T_SHORT, T_SHORT, T_SHORT, T_SHORT, T_SHORT, T_SHORT,
		T_SHORT,
		T_LONG | OVL_2 | TWO_CONTS | OVL_3 | T_LARGE_1000 | OVL_4,
		T_LONG | OVL_2 | TWO_CONTS | OVL_3 | T_LARGE,
		T_LONG | OVL_2 | TWO_CONTS | SURR | T_LARGE,
		T_LONG | OVL_2 | TWO_CONTS | SURR | T_LARGE, T_SHORT, T_SHORT,
		T_SHORT, T_SHORT));
	__m256i joined = _mm256_permute2x128_si256 (prev, in, 0x21);
	__m256i prev1 = _mm256_alignr_epi8 (in, joined, 15);
	__m256i prev2 = _mm256_alignr_epi8 (in, joined, 14);
	__m256i prev3 = _mm256_alignr_epi8 (in, joined, 13);
	__m256i special = _mm256_and_si256 (
		_mm256_and_si256 (
			_mm256_shuffle_epi8 (
				b1_high,
				_mm256_and_si256 (_mm256_srli_epi16 (prev1, 4),
						  lo4)),
			_mm256_shuffle_epi8 (b1_low,
					     _mm256_and_si256 (prev1, lo4))),
		_mm256_shuffle_epi8 (
			b2_high,
			_mm256_and_si256 (_mm256_srli_epi16 (in, 4), lo4)));
	/* bit 7 set where the byte two before is E0..FF or the byte three
	 * before is F0..FF: there a continuation byte must be */
	__m256i must23 = _mm256_and_si256 (
		_mm256_or_si256 (
			_mm256_subs_epu8 (prev2, _mm256_set1_epi8 (0x60)),
			_mm256_subs_epu8 (prev3, _mm256_set1_epi8 (0x70))),
		_mm256_set1_epi8 ((char) 0x80));

	return _mm256_xor_si256 (must23, special);
}

/* The longest line, from the line feeds @lf and CRs @cr of a block that
 * has at least one line feed: the first line continues the one before,
 * the last is carried to the next block. */
__attribute__ ((target ("avx2,popcnt,bmi,lzcnt"))) static inline void
block_lines (TextScan *s, guint64 lf, guint64 cr)
{
	guint first = (guint) __builtin_ctzll (lf);
	guint last = 63 - (guint) __builtin_clzll (lf);
	gsize len = s->line + first -
		    (gsize) __builtin_popcountll (cr & ((1ULL << first) - 1));

	if (len > s->stats.max_line)
		s->stats.max_line = len;
	/* a line inside a block is under 32 bytes: it only matters while
	 * every line so far is that short */
	if (s->stats.max_line < 31 && first != last) {
		guint64 m = lf & (lf - 1);
		guint at = first;

		while (m) {
			guint next = (guint) __builtin_ctzll (m);
			guint64 between =
				((1ULL << next) - 1) & ~((2ULL << at) - 1);

			len = next - at - 1 -
			      (gsize) __builtin_popcountll (cr & between);
			if (len > s->stats.max_line)
				s->stats.max_line = len;
			at = next;
			m &= m - 1;
		}
	}
	s->line = 31 - last - (gsize) __builtin_popcountll (cr >> (last + 1));
	s->lfs += (gsize) __builtin_popcountll (lf);
}

/* Whole blocks of 32 bytes from @data (at offset @base of the data), as
 * long as the scan needs nothing a byte at a time: no NUL, and, while
 * UTF-8 is checked, no invalid sequence.  Starts at a character's first
 * byte, not after a CR; returns the bytes consumed and leaves @s as the
 * byte-at-a-time scan would. */
__attribute__ ((target ("avx2,popcnt,bmi,lzcnt"))) static gsize
scan_blocks (TextScan *s, const guchar *data, gsize len, gsize base)
{
	const __m256i lf_v = _mm256_set1_epi8 ('\n');
	const __m256i cr_v = _mm256_set1_epi8 ('\r');
	const __m256i zero = _mm256_setzero_si256 ();
	gboolean utf8 = s->check_utf8 && !s->utf8_bad;
	__m256i prev = zero;
	guint32 prev_high = 0, cr_carry = 0;
	gsize i = 0;

	for (; i + 32 <= len; i += 32) {
		__m256i v = _mm256_loadu_si256 ((const __m256i *) (data + i));
		guint32 high = (guint32) _mm256_movemask_epi8 (v);
		guint32 nul = (guint32) _mm256_movemask_epi8 (
			_mm256_cmpeq_epi8 (v, zero));
		guint32 lf = (guint32) _mm256_movemask_epi8 (
			_mm256_cmpeq_epi8 (v, lf_v));
		guint32 cr = (guint32) _mm256_movemask_epi8 (
			_mm256_cmpeq_epi8 (v, cr_v));

		if (nul)
			break;
		/* a character cut by the block's start is checked with the
		 * bytes before it */
		if (utf8 && (high || (prev_high >> 29))) {
			__m256i e = utf8_errors (v, prev);

			if (!_mm256_testz_si256 (e, e))
				break;
		}
		prev = v;
		prev_high = high;
		s->stats.non_ascii += (gsize) __builtin_popcount (high);
		if (cr_carry) {
			if (lf & 1)
				s->has_crlf = TRUE;
			else
				s->stats.bare_cr++;
		}
		if (cr) {
			guint32 pairs = cr & (lf >> 1);

			s->has_cr = TRUE;
			if (pairs)
				s->has_crlf = TRUE;
			s->stats.bare_cr += (gsize) __builtin_popcount (
				cr & ~(lf >> 1) & 0x7fffffffu);
		}
		cr_carry = cr >> 31;
		if (lf)
			block_lines (s, lf, cr);
		else
			s->line += 32 - (gsize) __builtin_popcount (cr);
	}
	if (i == 0)
		return 0;
	s->cr = cr_carry != 0;
	if (utf8) {
		/* a character cut by the last block's end: carry its state */
		const guchar *end = data + i;
		int k;

		s->need = 0;
		for (k = 1; k <= 3; k++) {
			guint c = end[-k];
			guint want;

			if ((c & 0xc0) == 0x80)
				continue;
			want = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
			if (want > (guint) k) {
				utf8_lead (s, c, base + i - (gsize) k);
				s->need = want - (guint) k;
				if (k > 1) {
					s->lo = 0x80;
					s->hi = 0xbf;
				}
			}
			break;
		}
	}
	return i;
}
#endif

/* Adds @len bytes at @data to the scan. */
void
mp_text_scan_update (TextScan *s, const guchar *data, gsize len)
{
	gsize base = s->stats.length, i = 0;

	while (i < len) {
		gsize stop;

#ifdef HAVE_AVX2_PATH
		if (have_avx2 && !force_scalar && !s->cr && s->need == 0 &&
		    len - i >= 32) {
			i += scan_blocks (s, data + i, len - i, base + i);
			if (i >= len)
				break;
		}
#endif
		/* at least one block a byte at a time (what stopped the
		 * vector loop is in it), then on to a point where the vector
		 * loop can start again */
		stop = MIN (len, i + 32);
		while (i < len && (i < stop || s->cr || s->need)) {
			/* eight bytes at a time while none is NUL, CR, LF or
			 * >= 0x80: the case of text without AVX2 */
			if (!s->cr && s->need == 0) {
				while (i + 8 <= len) {
					guint64 w, x;

					memcpy (&w, data + i, 8);
#define HAS_ZERO(v) (((v) -0x0101010101010101ULL) & ~(v) &0x8080808080808080ULL)
					x = HAS_ZERO (w) |
					    HAS_ZERO (w ^
						      0x0a0a0a0a0a0a0a0aULL) |
					    HAS_ZERO (w ^
						      0x0d0d0d0d0d0d0d0dULL) |
					    (w & 0x8080808080808080ULL);
#undef HAS_ZERO
					if (x)
						break;
					s->line += 8;
					i += 8;
				}
				if (i >= len)
					break;
			}
			scan_byte (s, data[i], base + i);
			i++;
		}
	}
	s->stats.length += len;
}

/* The end of the data: a CR at the very end is not in CRLF. */
void
mp_text_scan_finish (TextScan *s)
{
	if (s->line > s->stats.max_line)
		s->stats.max_line = s->line;
	if (s->cr)
		s->stats.bare_cr++;
	s->cr = FALSE;
}

void
mp_text_scan_setup (void)
{
#ifdef HAVE_AVX2_PATH
	static gsize done;

	if (g_once_init_enter (&done)) {
		have_avx2 = mp_cpu_text_simd ();
		g_once_init_leave (&done, 1);
	}
#endif
}

void
mp_part_force_scalar (gboolean scalar)
{
#ifdef HAVE_AVX2_PATH
	force_scalar = scalar;
#endif
}

void
mp_part_stats_update (MpPartStats *stats, gsize *line_state,
		      gboolean *cr_pending, const guchar *data, gsize len)
{
	TextScan s;

	mp_text_scan_setup ();
	mp_text_scan_init (&s, FALSE);
	s.stats = *stats;
	s.line = *line_state;
	s.cr = *cr_pending;
	mp_text_scan_update (&s, data, len);
	if (s.line > s.stats.max_line)
		s.stats.max_line = s.line;
	*stats = s.stats;
	*line_state = s.line;
	*cr_pending = s.cr;
}

GMimeContentEncoding
mp_part_best_encoding (const MpPartStats *stats, gboolean is_text,
		       gboolean allow_8bit)
{
	/* RFC 5322 2.1.1 and RFC 2045 2.7: lines of at most 998 octets,
	 * no NUL, CR only in CRLF */
	gboolean lines_ok = stats->max_line <= 998 && stats->nul == 0 &&
			    stats->bare_cr == 0;
	/* RFC 5322 2.1.1: lines SHOULD be at most 78; longer lines of text
	 * go quoted-printable, whose soft breaks keep every line short (what
	 * mblaze's mmime -c asks for) and decode to the same text */
	gboolean short_lines = stats->max_line <= 78 || !is_text;

	if (lines_ok && short_lines && stats->non_ascii == 0)
		return GMIME_CONTENT_ENCODING_7BIT;
	if (lines_ok && allow_8bit && is_text && stats->non_ascii > 0)
		return GMIME_CONTENT_ENCODING_8BIT;
	if (is_text && stats->nul == 0 && stats->non_ascii * 6 < stats->length)
		return GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;
	return GMIME_CONTENT_ENCODING_BASE64;
}


/* Drops each CR before LF, and a CR at the very end (*@held carries a CR
 * seen last to the next call): what GMime's dos2unix filter does. */
static gsize
crlf_to_lf (const char *in, gsize len, char *out, gboolean *held)
{
	const char *end = in + len;
	char *o = out;

	if (*held && len > 0) {
		if (*in != '\n')
			*o++ = '\r';
		*held = FALSE;
	}
	while (in < end) {
		const char *cr = memchr (in, '\r', (gsize) (end - in));
		const char *stop = cr ? cr : end;

		memmove (o, in, (gsize) (stop - in));
		o += stop - in;
		if (cr == NULL)
			break;
		in = cr + 1;
		if (in == end) {
			*held = TRUE;
			break;
		}
		if (*in != '\n')
			*o++ = '\r';
	}
	return (gsize) (o - out);
}

/* A text in a charset, checked a chunk at a time through iconv (what
 * it converts to is thrown away). */
typedef struct {
	GIConv cd;
	char *conv;      /* iconv's output */
	gsize conv_size; /* its size */
	gsize offset;    /* the offset in the text of the chunk's first byte */
	gsize lines;     /* the line the chunk starts on, from 1 */
} CharsetCheck;

/* Checks the @have bytes of @buf: *@carry is set to the length of a
 * character cut by the chunk's end, to be read again with the next chunk;
 * an invalid byte is an error naming its offset and line.  Errors:
 * MP_ERROR_DATA. */
static gboolean
charset_check_chunk (CharsetCheck *c, char *buf, gsize have, gsize *carry,
		     const char *charset, const char *what, GError **error)
{
	const char *p = buf, *bad = NULL;
	char *in = buf;
	gsize inleft = have;

	*carry = 0;
	while (inleft > 0) {
		char *o = c->conv;
		gsize oleft = c->conv_size;

		if (g_iconv (c->cd, &in, &inleft, &o, &oleft) != (gsize) -1 ||
		    errno == E2BIG)
			continue;
		if (errno == EINVAL && inleft < 8)
			*carry = inleft;
		else
			bad = in;
		break;
	}
	for (; p < buf + have - *carry && (bad == NULL || p < bad); p++)
		c->lines += *p == '\n';
	if (bad) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: invalid %s at byte %" G_GSIZE_FORMAT
			     " (line %" G_GSIZE_FORMAT ")",
			     what, charset, c->offset + (gsize) (bad - buf),
			     c->lines);
		return FALSE;
	}
	c->offset += have - *carry;
	return TRUE;
}

/* Reads @src to its end in chunks, once: validates the text (UTF-8,
 * or @charset through iconv, a character cut by a chunk edge carried
 * over), gathers the statistics for the transfer encoding and notes CR
 * and CRLF line endings.  Memory stays bounded whatever the size. */
gboolean
mp_text_scan_read (ReadFunc read, gpointer src, gsize chunk,
		   const char *charset, const char *what, TextScan *s,
		   GError **error)
{
	g_autofree char *buf = NULL;
	g_autofree char *conv = NULL;
	CharsetCheck cc = { (GIConv) -1, NULL, 0, 0, 1 };

	/* a small text: buffers its size, not TEXT_CHUNK's (two mappings
	 * fewer at every start) */
	chunk = CLAMP (chunk, 64, TEXT_CHUNK);
	buf = g_malloc (chunk + 8);
	gsize carry = 0;
	gboolean ok = FALSE;

	mp_text_scan_setup ();
	mp_text_scan_init (s, charset == NULL);
	if (charset) {
		cc.cd = g_iconv_open ("UTF-8", charset);
		if (cc.cd == (GIConv) -1) {
			g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
				     "%s: unknown charset", charset);
			return FALSE;
		}
		cc.conv = conv = g_malloc (4 * chunk);
		cc.conv_size = 4 * chunk;
	}
	for (;;) {
		ssize_t n = read (src, buf + carry, chunk);
		gsize have;

		if (n < 0) {
			g_set_error (error, MP_ERROR, MP_ERROR_IO,
				     "%s: read error", what);
			goto out;
		}
		if (n == 0)
			break;
		mp_text_scan_update (s, (const guchar *) buf + carry,
				     (gsize) n);
		if (s->utf8_bad) {
			g_set_error (
				error, MP_ERROR, MP_ERROR_DATA,
				"%s: invalid UTF-8 at byte %" G_GSIZE_FORMAT
				" (line %" G_GSIZE_FORMAT
				"); name its charset with --charset",
				what, s->bad_offset, s->bad_line);
			goto out;
		}
		if (charset == NULL)
			continue;
		have = carry + (gsize) n;
		if (!charset_check_chunk (&cc, buf, have, &carry, charset, what,
					  error))
			goto out;
		memmove (buf, buf + have - carry, carry);
	}
	if (carry || (charset == NULL && s->need)) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: invalid %s at byte %" G_GSIZE_FORMAT
			     " (a character cut short at the end)",
			     what, charset ? charset : "UTF-8",
			     charset ? cc.offset : s->seq_start);
		goto out;
	}
	mp_text_scan_finish (s);
	ok = TRUE;
out:
	if (cc.cd != (GIConv) -1)
		g_iconv_close (cc.cd);
	return ok;
}

/* The content: read from @src, CRLF made LF when @crlf, encoded with
 * @enc, and for 7bit and 8bit its line endings made LF once more (GMime's
 * newline filter) when @has_cr. */
ssize_t
mp_text_write_content (GMimeContentEncoding enc, gboolean crlf, gboolean has_cr,
		       gsize chunk, ReadFunc read, gpointer src,
		       WriteFunc write, gpointer dst)
{
	g_autofree char *buf = NULL;
	g_autofree char *tmp = NULL;
	g_autofree char *coded = NULL;
	MpQpState qp = MP_QP_STATE_INIT;
	MpBase64State b64 = { { 0 } };
	gboolean held_in = FALSE, held_out = FALSE;
	ssize_t total = 0;
	gsize m;

	chunk = CLAMP (chunk, 64, TEXT_CHUNK);
	buf = g_malloc (chunk);
	tmp = has_cr ? g_malloc (chunk) : NULL;
	if (enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE)
		coded = g_malloc (MP_QP_ENCODE_LEN (chunk));
	else if (enc == GMIME_CONTENT_ENCODING_BASE64)
		coded = g_malloc (MP_BASE64_ENCODE_LEN (chunk));
	for (;;) {
		ssize_t n = read (src, buf, chunk);
		const char *data = buf, *w;
		gsize len = (gsize) n;

		if (n < 0)
			return -1;
		if (n == 0)
			break;
		if (crlf) {
			len = crlf_to_lf (data, len, tmp, &held_in);
			data = tmp;
		}
		if (enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE) {
			m = mp_qp_encode_step (&qp, (const guchar *) data, len,
					       coded);
			w = coded;
		} else if (enc == GMIME_CONTENT_ENCODING_BASE64) {
			m = mp_base64_encode_step (&b64, (const guchar *) data,
						   len, coded);
			w = coded;
		} else if (has_cr) {
			/* GMime's newline filter on the output */
			m = crlf_to_lf (data, len, tmp, &held_out);
			w = tmp;
		} else {
			m = len;
			w = data;
		}
		if (m && !write (dst, w, m))
			return -1;
		total += (ssize_t) m;
	}
	m = 0;
	if (enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE)
		m = mp_qp_encode_close (&qp, buf);
	else if (enc == GMIME_CONTENT_ENCODING_BASE64)
		m = mp_base64_encode_close (&b64, buf);
	if (m && !write (dst, buf, m))
		return -1;
	return total + (ssize_t) m;
}

/* ---- a text part written directly ---------------------------------- */

struct _MpText {
	GString *ctype; /* "text/plain; charset=utf-8..." */
	GMimeContentEncoding encoding;
	MpInput *in; /* borrowed */
	gint64 start, end;
	gboolean crlf, has_cr;
};

/* Reads an input's bytes through a window, from where it was left. */
typedef struct {
	MpInputWindow win;
	gint64 pos, end;
	GError **error;
} WindowReader;

static ssize_t
read_window (gpointer src, char *buf, gsize len)
{
	WindowReader *r = src;
	gsize avail;
	const char *p;

	if (r->pos >= r->end)
		return 0;
	p = mp_input_window_at (&r->win, r->pos, 1, &avail, r->error);
	if (p == NULL)
		return -1;
	avail = (gsize) MIN ((gint64) MIN (avail, len), r->end - r->pos);
	memcpy (buf, p, avail);
	r->pos += (gint64) avail;
	return (ssize_t) avail;
}

static gboolean
write_writer (gpointer dst, const char *buf, gsize len)
{
	return mp_writer_write (dst, buf, len, NULL);
}

MpText *
mp_text_new (const char *subtype, MpInput *in, gint64 start, gint64 end,
	     const char *iconv_charset, const char *label, gboolean allow_8bit,
	     const char *what, GError **error)
{
	WindowReader r = { .pos = start, .end = end, .error = error };
	TextScan s;
	MpText *t;
	gboolean ok;

	mp_input_window_init (&r.win, in);
	ok = mp_text_scan_read (read_window, &r, (gsize) (end - start),
				iconv_charset, what, &s, error);
	mp_input_window_clear (&r.win);
	if (!ok)
		return NULL;
	t = g_new0 (MpText, 1);
	t->ctype = g_string_new ("text/");
	g_string_append_printf (t->ctype, "%s; charset=%s", subtype,
				label ? label : "utf-8");
	t->encoding = mp_part_best_encoding (&s.stats, TRUE, allow_8bit);
	t->in = in;
	t->start = start;
	t->end = end;
	t->crlf = s.has_crlf;
	t->has_cr = s.has_cr;
	return t;
}

void
mp_text_add_param (MpText *t, const char *name, const char *value)
{
	g_string_append_printf (t->ctype, "; %s=%s", name, value);
}

gboolean
mp_text_write (MpText *t, MpWriter *out, GError **error)
{
	/* the names GMime writes (g_mime_content_encoding_to_string()) */
	const char *enc =
		t->encoding == GMIME_CONTENT_ENCODING_8BIT ?
			"8bit" :
		t->encoding == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ?
			"quoted-printable" :
		t->encoding == GMIME_CONTENT_ENCODING_BASE64 ? "base64" :
							       "7bit";
	g_autofree char *head = g_strdup_printf (
		"Content-Type: %s\nContent-Transfer-Encoding: %s\n\n",
		t->ctype->str, enc);
	WindowReader r = { .pos = t->start, .end = t->end, .error = error };
	ssize_t n;

	if (!mp_writer_write (out, head, strlen (head), error))
		return FALSE;
	/* text that goes out as it came: the kernel copies it */
	if (!t->has_cr && (t->encoding == GMIME_CONTENT_ENCODING_7BIT ||
			   t->encoding == GMIME_CONTENT_ENCODING_8BIT))
		return mp_writer_copy_input (out, t->in, t->start, t->end,
					     error);
	mp_input_window_init (&r.win, t->in);
	n = mp_text_write_content (t->encoding, t->crlf, t->has_cr,
				   (gsize) MIN (t->end - t->start, TEXT_CHUNK),
				   read_window, &r, write_writer, out);
	mp_input_window_clear (&r.win);
	if (n < 0) {
		/* a read error was set by read_window; else the writer's */
		if ((error == NULL || *error == NULL) &&
		    mp_writer_write (out, "", 0, error))
			g_set_error (error, MP_ERROR, MP_ERROR_IO,
				     "write error");
		return FALSE;
	}
	return TRUE;
}

void
mp_text_free (MpText *t)
{
	if (t == NULL)
		return;
	g_string_free (t->ctype, TRUE);
	g_free (t);
}
