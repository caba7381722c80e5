/* mp-cpu: which vector instructions the scanners and encoders may use.
 * One home for the question, asked without running CPUID (issue 21). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* TRUE when the AVX2 paths of mp-text (UTF-8 validation and line
 * statistics: AVX2, POPCNT, BMI1, LZCNT) may run. */
gboolean mp_cpu_text_simd (void);

/* TRUE when the AVX2 path of mp-base64 may run. */
gboolean mp_cpu_base64_simd (void);

G_END_DECLS
