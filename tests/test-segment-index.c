/* test-segment-index.c: a node store's index of segment ids and sizes
 *
 * Checked against a GHashTable of the same ids through long random runs of inserts and
 * removals (removals move entries and shift slots, where mistakes hide), and for what a node
 * holding many segments notices: the memory it takes, and pages in id order.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <string.h>

#include "tsr-test-util.h"

static char *
random_id (GRand *rand)
{
  char *id = g_malloc (TSR_SHA256_HEX_LEN + 1);

  for (guint i = 0; i < TSR_SHA256_HEX_LEN; i++)
    id[i] = "0123456789abcdef"[g_rand_int_range (rand, 0, 16)];
  id[TSR_SHA256_HEX_LEN] = '\0';
  return id;
}

/* Everything @index says agrees with @model (id -> size). */
static void
assert_same (TsrSegmentIndex *index, GHashTable *model)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter iter;
  gpointer key, value;

  g_assert_cmpuint (tsr_segment_index_size (index), ==, g_hash_table_size (model));
  g_hash_table_iter_init (&iter, model);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      gsize size = 0;

      g_assert_true (tsr_segment_index_lookup (index, key, &size));
      g_assert_cmpuint (size, ==, GPOINTER_TO_SIZE (value));
      g_hash_table_add (seen, key);
    }
  for (guint i = 0; i < tsr_segment_index_size (index); i++)
    {
      char id[TSR_SHA256_HEX_LEN + 1];
      gsize size;

      tsr_segment_index_get (index, i, id, &size);
      g_assert_true (g_hash_table_lookup_extended (model, id, NULL, &value));
      g_assert_cmpuint (size, ==, GPOINTER_TO_SIZE (value));
      g_assert_true (g_hash_table_remove (seen, id)); /* each once */
    }
  g_assert_cmpuint (g_hash_table_size (seen), ==, 0);
}

/* Inserts and removals in random order, some of ids already there or already gone. */
static void
test_random_runs (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (0x5e6d1d);
  g_autoptr (TsrSegmentIndex) index = tsr_segment_index_new ();
  g_autoptr (GHashTable) model = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) known = g_ptr_array_new_with_free_func (g_free);

  for (guint round = 0; round < 6; round++)
    {
      /* Grow to a few thousand, then shrink to a few dozen: the table doubles and halves. */
      guint target = round % 2 == 0 ? 5000 : 40;

      for (guint step = 0; step < 20000; step++)
        {
          gboolean grow = g_hash_table_size (model) < target;
          gsize size = g_rand_int_range (rand, 1, 65576 + 1);

          if (grow && (known->len == 0 || g_rand_int_range (rand, 0, 4) != 0))
            {
              char *id = random_id (rand);

              g_assert_true (tsr_segment_index_insert (index, id, size));
              g_hash_table_insert (model, g_strdup (id), GSIZE_TO_POINTER (size));
              g_ptr_array_add (known, id);
            }
          else if (known->len > 0)
            {
              guint pick = g_rand_int_range (rand, 0, known->len);
              const char *id = known->pdata[pick];
              gpointer had = NULL;
              gboolean there = g_hash_table_lookup_extended (model, id, NULL, &had);
              gsize removed = 0;

              if (grow)
                {
                  /* Already there: kept as it was; gone: back with a new size. */
                  g_assert_cmpint (tsr_segment_index_insert (index, id, size), ==, !there);
                  if (!there)
                    g_hash_table_insert (model, g_strdup (id), GSIZE_TO_POINTER (size));
                  continue;
                }
              g_assert_cmpint (tsr_segment_index_remove (index, id, &removed), ==, there);
              if (there)
                {
                  g_assert_cmpuint (removed, ==, GPOINTER_TO_SIZE (had));
                  g_hash_table_remove (model, id);
                }
              if (g_hash_table_size (model) <= target)
                break;
            }
          if (step % 997 == 0)
            assert_same (index, model);
        }
      assert_same (index, model);
    }
}

/* Only 64 lowercase hex digits are ids; anything else is never found. */
static void
test_not_ids (void)
{
  g_autoptr (TsrSegmentIndex) index = tsr_segment_index_new ();
  g_autofree char *upper = NULL;
  char id[TSR_SHA256_HEX_LEN + 1];
  const char *bad[] = { "", "ab", "g", NULL };

  memset (id, 'a', TSR_SHA256_HEX_LEN);
  id[TSR_SHA256_HEX_LEN] = '\0';
  g_assert_true (tsr_segment_index_insert (index, id, 7));
  upper = g_ascii_strup (id, -1);
  g_assert_false (tsr_segment_index_lookup (index, upper, NULL));
  g_assert_false (tsr_segment_index_remove (index, upper, NULL));
  for (guint i = 0; bad[i] != NULL; i++)
    g_assert_false (tsr_segment_index_lookup (index, bad[i], NULL));
  {
    g_autofree char *longer = g_strconcat (id, "0", NULL);
    g_assert_false (tsr_segment_index_lookup (index, longer, NULL));
  }
  g_assert_false (tsr_segment_index_lookup (index, NULL, NULL));
  g_assert_true (tsr_segment_index_lookup (index, id, NULL));
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *)a, *(const char *const *)b);
}

/* Pages walk every id in order; a start that is no id counts by the text, as peers may send
 * anything. */
static void
test_pages (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (0x9a9e5);
  g_autoptr (TsrSegmentIndex) index = tsr_segment_index_new ();
  g_autoptr (GPtrArray) sorted = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *after = NULL;
  const char *starts[] = { "", "7", "7g", "a0", "zzz", NULL };
  guint walked = 0;
  gboolean more = TRUE;

  for (guint i = 0; i < 3000; i++)
    {
      char *id = random_id (rand);

      tsr_segment_index_insert (index, id, i + 1);
      g_ptr_array_add (sorted, id);
    }
  g_ptr_array_sort (sorted, compare_strings);

  while (more)
    {
      g_autoptr (GPtrArray) page = tsr_segment_index_page (index, after, 128, &more);

      g_assert_cmpuint (page->len, <=, 128);
      for (guint i = 0; i < page->len; i++)
        g_assert_cmpstr (page->pdata[i], ==, sorted->pdata[walked++]);
      g_assert_cmpint (more, ==, walked < sorted->len);
      if (page->len > 0)
        {
          g_free (after);
          after = g_strdup (page->pdata[page->len - 1]);
        }
    }
  g_assert_cmpuint (walked, ==, sorted->len);

  for (guint s = 0; starts[s] != NULL; s++)
    {
      g_autoptr (GPtrArray) page = tsr_segment_index_page (index, starts[s], 5, &more);
      guint first = 0;

      while (first < sorted->len && strcmp (sorted->pdata[first], starts[s]) <= 0)
        first++;
      g_assert_cmpuint (page->len, ==, MIN (5, sorted->len - first));
      for (guint i = 0; i < page->len; i++)
        g_assert_cmpstr (page->pdata[i], ==, sorted->pdata[first + i]);
      g_assert_cmpint (more, ==, first + page->len < sorted->len);
    }
}

/* A full 10 GB node holds 160,000 segments of 64 KiB: its index takes well under the 105
 * bytes a segment a GHashTable of id strings took, and gives memory back once most of its
 * segments are deleted. */
static void
test_memory (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (0x3e3);
  g_autoptr (TsrSegmentIndex) index = tsr_segment_index_new ();
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  const guint n = 160000;

  for (guint i = 0; i < n; i++)
    {
      char *id = random_id (rand);

      g_assert_true (tsr_segment_index_insert (index, id, 65576));
      g_ptr_array_add (ids, id);
    }
  g_assert_cmpuint (tsr_segment_index_get_memory (index) / n, <=, 64);
  for (guint i = 100; i < n; i++)
    g_assert_true (tsr_segment_index_remove (index, ids->pdata[i], NULL));
  g_assert_cmpuint (tsr_segment_index_size (index), ==, 100);
  g_assert_cmpuint (tsr_segment_index_get_memory (index), <=, 64 * 1024);
  for (guint i = 0; i < 100; i++)
    g_assert_true (tsr_segment_index_lookup (index, ids->pdata[i], NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tessera/segment-index/random-runs", test_random_runs);
  g_test_add_func ("/tessera/segment-index/not-ids", test_not_ids);
  g_test_add_func ("/tessera/segment-index/pages", test_pages);
  g_test_add_func ("/tessera/segment-index/memory", test_memory);
  return g_test_run ();
}
