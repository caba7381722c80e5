/* mp-secret: a secret's bytes are zeros before its memory is let go. */
#include "mp-secret.h"

#include <string.h>

static void
wipe_zeroes_every_byte_of_the_string (void)
{
	char buf[] = "hunter2\0tail";

	mp_secret_wipe (buf);
	g_assert_cmpmem (buf, 8, "\0\0\0\0\0\0\0\0", 8);
	/* only the string: what follows its NUL is left */
	g_assert_cmpstr (buf + 8, ==, "tail");
	mp_secret_wipe (NULL);
}

static void
free_accepts_null_and_secrets (void)
{
	/* under ASan these also prove the whole block is freed */
	mp_secret_free (NULL);
	mp_secret_free (g_strdup ("pass"));
	mp_secret_free_len (NULL, 0);
	mp_secret_free_len (g_memdup2 ("a\0b", 3), 3);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/secret/wipe_zeroes_every_byte_of_the_string",
			 wipe_zeroes_every_byte_of_the_string);
	g_test_add_func ("/secret/free_accepts_null_and_secrets",
			 free_accepts_null_and_secrets);
	return g_test_run ();
}
