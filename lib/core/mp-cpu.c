/* mp-cpu: CPU features for the vector paths.
 *
 * glibc (2.33 and later) has already asked the CPU while starting the
 * program, and <sys/platform/x86.h> reads its answers: "active" means the
 * CPU has the feature and the kernel saves its registers.  GCC's
 * __builtin_cpu_supports() would link libgcc's constructor that runs
 * CPUID about twenty times in every process, needed or not, and CPUID is
 * a trap to the hypervisor on a virtual machine: about 50 us of every
 * mime-compose run measured here (issue 21).  Elsewhere, and with
 * compilers without the header, the builtins stay as the fallback. */
#include "mp-cpu.h"

#if defined(__x86_64__) && defined(__GNUC__)
#if defined(__has_include)
#if __has_include(<sys/platform/x86.h>)
#include <sys/platform/x86.h>
#define MP_CPU_GLIBC 1
#endif
#endif
#ifndef MP_CPU_GLIBC
#include <cpuid.h>
#endif
#endif

gboolean
mp_cpu_text_simd (void)
{
#if defined(MP_CPU_GLIBC)
	return CPU_FEATURE_ACTIVE (AVX2) && CPU_FEATURE_ACTIVE (POPCNT) &&
	       CPU_FEATURE_ACTIVE (BMI1) && CPU_FEATURE_ACTIVE (LZCNT);
#elif defined(__x86_64__) && defined(__GNUC__)
	guint a, b, c = 0, d;

	/* LZCNT (CPUID 0x80000001 ECX bit 5) asked of the CPU itself:
	 * clang's __builtin_cpu_supports() has no name for it, and without
	 * it the instruction runs as BSR */
	__builtin_cpu_init ();
	return __builtin_cpu_supports ("avx2") &&
	       __builtin_cpu_supports ("popcnt") &&
	       __builtin_cpu_supports ("bmi") &&
	       __get_cpuid (0x80000001, &a, &b, &c, &d) && (c & bit_LZCNT) != 0;
#else
	return FALSE;
#endif
}

gboolean
mp_cpu_base64_simd (void)
{
#if defined(MP_CPU_GLIBC)
	return CPU_FEATURE_ACTIVE (AVX2);
#elif defined(__x86_64__) && defined(__GNUC__)
	__builtin_cpu_init ();
	return __builtin_cpu_supports ("avx2");
#else
	return FALSE;
#endif
}
