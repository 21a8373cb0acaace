/* fuzz-driver.c: replays a corpus through a libFuzzer target without libFuzzer
 *
 * For builds with gcc (the ordinary build and the ASan build in CI), so every test run feeds the
 * committed corpus, crashes found earlier included, to the target. Each argument is a file or
 * a directory of files; the output is TAP, one line per input, so a crash names its input.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
/* Optional in a target, as with libFuzzer. */
int LLVMFuzzerInitialize (int *argc, char ***argv) __attribute__ ((weak));

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *)a, *(char *const *)b);
}

/* The files to replay, in a stable order so a failure reproduces by its number. */
static GPtrArray *
collect_inputs (int argc, char **argv)
{
  GPtrArray *inputs = g_ptr_array_new_with_free_func (g_free);

  for (int i = 1; i < argc; i++)
    {
      g_autoptr (GDir) dir = NULL;
      const char *name;

      if (!g_file_test (argv[i], G_FILE_TEST_IS_DIR))
        {
          g_ptr_array_add (inputs, g_strdup (argv[i]));
          continue;
        }
      dir = g_dir_open (argv[i], 0, NULL);
      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          char *path = g_build_filename (argv[i], name, NULL);
          if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
            g_ptr_array_add (inputs, path);
          else
            g_free (path);
        }
    }
  g_ptr_array_sort (inputs, compare_strings);
  return inputs;
}

int
main (int argc, char **argv)
{
  g_autoptr (GPtrArray) inputs = NULL;

  if (LLVMFuzzerInitialize != NULL)
    LLVMFuzzerInitialize (&argc, &argv);

  inputs = collect_inputs (argc, argv);
  /* An empty corpus would pass while testing nothing: a moved directory must fail. */
  if (inputs->len == 0)
    {
      printf ("Bail out! no inputs in the paths given\n");
      return 1;
    }

  printf ("1..%u\n", inputs->len);
  for (guint i = 0; i < inputs->len; i++)
    {
      const char *path = inputs->pdata[i];
      g_autoptr (GError) error = NULL;
      g_autofree char *contents = NULL;
      g_autofree guint8 *exact = NULL;
      gsize len;

      if (!g_file_get_contents (path, &contents, &len, &error))
        {
          printf ("not ok %u - %s: %s\n", i + 1, path, error->message);
          return 1;
        }
      /* g_file_get_contents() adds a NUL after the data: replay from a buffer of exactly the
       * input's size, so ASan sees a read one byte past the end. */
      exact = g_malloc (MAX (len, 1));
      memcpy (exact, contents, len);
      printf ("# %s\n", path);
      fflush (stdout);
      LLVMFuzzerTestOneInput (exact, len);
      printf ("ok %u - %s\n", i + 1, path);
    }
  return 0;
}
