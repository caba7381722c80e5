/* mp-cpu against the kernel's own list of CPU flags: the vector paths
 * must run wherever the CPU has what they need (issue 21). */
#include "mp-cpu.h"

#include <string.h>

/* TRUE when every flag of @flags (NULL-terminated) is on the "flags"
 * line of /proc/cpuinfo. */
static gboolean
cpuinfo_has (const char *const *flags)
{
	g_autofree char *text = NULL;
	g_auto (GStrv) lines = NULL;

	if (!g_file_get_contents ("/proc/cpuinfo", &text, NULL, NULL))
		return FALSE;
	lines = g_strsplit (text, "\n", -1);
	for (guint i = 0; lines[i]; i++) {
		g_auto (GStrv) words = NULL;

		if (!g_str_has_prefix (lines[i], "flags"))
			continue;
		words = g_strsplit_set (lines[i], " \t", -1);
		for (guint f = 0; flags[f]; f++)
			if (!g_strv_contains ((const char *const *) words,
					      flags[f]))
				return FALSE;
		return TRUE;
	}
	return FALSE;
}

static void
test_matches_cpuinfo (void)
{
	/* LZCNT is "abm" in /proc/cpuinfo */
	const char *const text[] = { "avx2", "popcnt", "bmi1", "abm", NULL };
	const char *const base64[] = { "avx2", NULL };

	if (!g_file_test ("/proc/cpuinfo", G_FILE_TEST_EXISTS)) {
		g_test_skip ("no /proc/cpuinfo");
		return;
	}
#if defined(__x86_64__) && defined(__GNUC__)
	/* the kernel lists what the CPU has and it saves; glibc's "active"
	 * is the same thing */
	g_assert_cmpint (mp_cpu_text_simd (), ==, cpuinfo_has (text));
	g_assert_cmpint (mp_cpu_base64_simd (), ==, cpuinfo_has (base64));
#else
	g_assert_false (mp_cpu_text_simd ());
	g_assert_false (mp_cpu_base64_simd ());
#endif
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/cpu/matches-cpuinfo", test_matches_cpuinfo);
	return g_test_run ();
}
