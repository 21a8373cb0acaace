/* tsr-segment-index.c
 *
 * The entries (an id's 32 bytes and the segment's size) lie back to back in one array, in no
 * order; a table of slots, open addressing with linear probing, holds each entry's position
 * plus one (0: an empty slot). Removing an entry moves the last one into its place, so the
 * array stays dense, and shifts the slots after it back, so there are no tombstones. A full
 * node's 160,000 segments take 6.8 MiB here (45 bytes a segment), against 16.4 MiB in a GHashTable
 * of id strings (bench-metadata).
 *
 * Ids come from peers: the slot is the top bits of the id's first eight bytes, mixed with a
 * seed drawn for each index, times an odd constant (the top bits of a product depend on every
 * bit below them), so that ids picked to collide in one process's table do not in another's.
 * (A node takes a segment only under the SHA-256 of its bytes, so picking ids is costly.)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "tsr-segment-index.h"

#include <string.h>

#define ID_BYTES    (TSR_SHA256_HEX_LEN / 2)
#define MIN_SLOTS   16u
#define MIN_ALLOC   64u
#define MAX_ENTRIES ((guint)G_MAXINT32) /* a position plus one fits a slot */

typedef struct
{
  guint8 id[ID_BYTES];
  guint32 size;
} Entry;

G_STATIC_ASSERT (sizeof (Entry) == ID_BYTES + 4);
G_STATIC_ASSERT (G_MAXUINT32 >= 16 * 1024 * 1024 + 4096); /* TSR_SEGMENT_MAX_SIZE */

struct _TsrSegmentIndex
{
  Entry *entries;
  guint n;     /* entries in use */
  guint alloc; /* entries allocated */
  guint32 *slots;
  guint mask;  /* slots - 1; a power of two minus one */
  guint shift; /* 64 - log2 (slots): the product's top bits pick the slot */
  guint64 seed;
};

TsrSegmentIndex *
tsr_segment_index_new (void)
{
  TsrSegmentIndex *self = g_new0 (TsrSegmentIndex, 1);

  self->slots = g_new0 (guint32, MIN_SLOTS);
  self->mask = MIN_SLOTS - 1;
  self->shift = 64 - g_bit_storage (MIN_SLOTS - 1);
  self->seed = ((guint64)g_random_int () << 32 | g_random_int ()) | 1;
  return self;
}

void
tsr_segment_index_free (TsrSegmentIndex *self)
{
  if (self == NULL)
    return;
  g_free (self->entries);
  g_free (self->slots);
  g_free (self);
}

guint
tsr_segment_index_size (const TsrSegmentIndex *self)
{
  return self->n;
}

/* What the index takes in memory, its own struct aside. */
gsize
tsr_segment_index_get_memory (const TsrSegmentIndex *self)
{
  return (gsize)self->alloc * sizeof (Entry) + ((gsize)self->mask + 1) * sizeof (guint32);
}

/* The 32 bytes of a 64-hex-digit id; FALSE for anything else. */
static gboolean
decode (const char *id, guint8 out[ID_BYTES])
{
  static const guint8 value[256] = {
    ['0'] = 1, ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
    ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
  };
  if (id == NULL)
    return FALSE;
  for (guint i = 0; i < ID_BYTES; i++)
    {
      guint8 hi = value[(guint8)id[2 * i]];
      guint8 lo = hi ? value[(guint8)id[2 * i + 1]] : 0; /* stops at the end of a short id */

      if (hi == 0 || lo == 0)
        return FALSE;
      out[i] = (guint8)((hi - 1) << 4 | (lo - 1));
    }
  return id[TSR_SHA256_HEX_LEN] == '\0';
}

static void
encode (const guint8 key[ID_BYTES], char id[TSR_SHA256_HEX_LEN + 1])
{
  static const char digits[] = "0123456789abcdef";

  for (guint i = 0; i < ID_BYTES; i++)
    {
      id[2 * i] = digits[key[i] >> 4];
      id[2 * i + 1] = digits[key[i] & 0xf];
    }
  id[TSR_SHA256_HEX_LEN] = '\0';
}

static guint
home (const TsrSegmentIndex *self, const guint8 id[ID_BYTES])
{
  guint64 x;

  memcpy (&x, id, sizeof x);
  x = (x ^ self->seed) * G_GUINT64_CONSTANT (0x9E3779B97F4A7C15);
  return (guint)(x >> self->shift);
}

/* The slot holding @id, or the empty one where it would go; whether it is there. */
static gboolean
find (const TsrSegmentIndex *self, const guint8 id[ID_BYTES], guint *slot)
{
  for (guint i = home (self, id);; i = (i + 1) & self->mask)
    {
      guint32 s = self->slots[i];

      if (s == 0 || memcmp (self->entries[s - 1].id, id, ID_BYTES) == 0)
        {
          *slot = i;
          return s != 0;
        }
    }
}

/* Lays the slots out anew, @n_slots of them (a power of two, more than the entries). */
static void
rehash (TsrSegmentIndex *self, guint n_slots)
{
  g_free (self->slots);
  self->slots = g_new0 (guint32, n_slots);
  self->mask = n_slots - 1;
  self->shift = 64 - g_bit_storage (n_slots - 1);
  for (guint k = 0; k < self->n; k++)
    {
      guint i = home (self, self->entries[k].id);

      while (self->slots[i] != 0)
        i = (i + 1) & self->mask;
      self->slots[i] = k + 1;
    }
}

/**
 * tsr_segment_index_lookup:
 * @size: (out) (optional): the segment's size
 *
 * Returns: whether the index holds @id
 */
gboolean
tsr_segment_index_lookup (const TsrSegmentIndex *self, const char *id, gsize *size)
{
  guint8 key[ID_BYTES];
  guint slot;

  if (!decode (id, key) || !find (self, key, &slot))
    return FALSE;
  if (size != NULL)
    *size = self->entries[self->slots[slot] - 1].size;
  return TRUE;
}

/**
 * tsr_segment_index_insert:
 * @id: a segment id (64 lowercase hex digits)
 * @size: its size, at most %TSR_SEGMENT_MAX_SIZE
 *
 * Adds @id, unless the index holds it already.
 *
 * Returns: whether it was added
 */
gboolean
tsr_segment_index_insert (TsrSegmentIndex *self, const char *id, gsize size)
{
  guint8 key[ID_BYTES];
  guint slot;

  g_return_val_if_fail (size <= G_MAXUINT32, FALSE);
  if (!decode (id, key))
    g_return_val_if_reached (FALSE);
  if (find (self, key, &slot))
    return FALSE;
  g_return_val_if_fail (self->n < MAX_ENTRIES, FALSE);
  /* At most three quarters full, so that probes stay short. */
  if ((guint64)(self->n + 1) * 4 > ((guint64)self->mask + 1) * 3)
    {
      rehash (self, (self->mask + 1) * 2);
      find (self, key, &slot);
    }
  if (self->n == self->alloc)
    {
      guint more = MAX (self->alloc / 2, MIN_ALLOC);

      self->alloc = MIN ((guint64)self->alloc + more, MAX_ENTRIES);
      self->entries = g_renew (Entry, self->entries, self->alloc);
    }
  memcpy (self->entries[self->n].id, key, ID_BYTES);
  self->entries[self->n].size = (guint32)size;
  self->slots[slot] = ++self->n;
  return TRUE;
}

/* Empties @slot, moving back the slots after it that belong before it. */
static void
clear_slot (TsrSegmentIndex *self, guint slot)
{
  guint i = slot, j = slot;

  for (;;)
    {
      guint h;

      j = (j + 1) & self->mask;
      if (self->slots[j] == 0)
        break;
      h = home (self, self->entries[self->slots[j] - 1].id);
      /* The entry at j may move to i unless its home lies cyclically in (i, j]. */
      if (i <= j ? (h <= i || h > j) : (h <= i && h > j))
        {
          self->slots[i] = self->slots[j];
          i = j;
        }
    }
  self->slots[i] = 0;
}

/**
 * tsr_segment_index_remove:
 * @size: (out) (optional): the size it had
 *
 * Returns: whether the index held @id
 */
gboolean
tsr_segment_index_remove (TsrSegmentIndex *self, const char *id, gsize *size)
{
  guint8 key[ID_BYTES];
  guint slot, k, last;

  if (!decode (id, key) || !find (self, key, &slot))
    return FALSE;
  k = self->slots[slot] - 1;
  if (size != NULL)
    *size = self->entries[k].size;
  clear_slot (self, slot);
  last = self->n - 1;
  if (k != last)
    {
      /* The last entry takes its place; its slot, the only one naming it, follows. */
      self->entries[k] = self->entries[last];
      find (self, self->entries[last].id, &slot);
      self->slots[slot] = k + 1;
    }
  self->n--;
  /* Give back memory once most of it is unused, as after a big delete. */
  if (self->alloc > MIN_ALLOC && self->n < self->alloc / 4)
    {
      self->alloc = MAX (self->alloc / 2, MIN_ALLOC);
      self->entries = g_renew (Entry, self->entries, self->alloc);
    }
  if (self->mask + 1 > MIN_SLOTS && (guint64)self->n * 8 < (guint64)self->mask + 1)
    rehash (self, (self->mask + 1) / 2);
  return TRUE;
}

/**
 * tsr_segment_index_get:
 * @position: from 0 to tsr_segment_index_size() - 1; positions change as ids are removed
 * @id: (out caller-allocates): the id there
 * @size: (out) (optional): its size
 *
 * For going through every segment, in no particular order.
 */
void
tsr_segment_index_get (const TsrSegmentIndex *self, guint position, char id[TSR_SHA256_HEX_LEN + 1],
                       gsize *size)
{
  g_return_if_fail (position < self->n);
  encode (self->entries[position].id, id);
  if (size != NULL)
    *size = self->entries[position].size;
}

/* Whether entry @k comes after @after in id order: by bytes, which sort as lowercase hex
 * does, when @after is an id; by the text otherwise (a peer may send anything). */
static gboolean
is_after (const TsrSegmentIndex *self, guint k, const char *after, const guint8 *after_key)
{
  char id[TSR_SHA256_HEX_LEN + 1];

  if (after == NULL)
    return TRUE;
  if (after_key != NULL)
    return memcmp (self->entries[k].id, after_key, ID_BYTES) > 0;
  encode (self->entries[k].id, id);
  return strcmp (id, after) > 0;
}

static int
compare_positions (gconstpointer a, gconstpointer b, gpointer data)
{
  const Entry *entries = data;

  return memcmp (entries[*(const guint *)a].id, entries[*(const guint *)b].id, ID_BYTES);
}

/* Restores the max-heap @heap of @n positions (the greatest id on top) below @i. */
static void
sift_down (const TsrSegmentIndex *self, guint *heap, guint n, guint i)
{
  for (;;)
    {
      guint top = i, l = 2 * i + 1, r = 2 * i + 2, tmp;

      if (l < n && compare_positions (&heap[l], &heap[top], self->entries) > 0)
        top = l;
      if (r < n && compare_positions (&heap[r], &heap[top], self->entries) > 0)
        top = r;
      if (top == i)
        return;
      tmp = heap[i];
      heap[i] = heap[top];
      heap[top] = tmp;
      i = top;
    }
}

/**
 * tsr_segment_index_page:
 * @after: (nullable): list the ids after this one in id order; %NULL: from the first
 * @limit: at most this many
 * @more: (out) (optional): whether ids are left after the page
 *
 * A page of ids in order, without sorting them all: one pass keeps the @limit least of those
 * after @after in a heap. Scrub and the node's segment listing go through a store this way,
 * a page at a time.
 *
 * Returns: (transfer full) (element-type utf8): the ids, sorted
 */
GPtrArray *
tsr_segment_index_page (const TsrSegmentIndex *self, const char *after, guint limit, gboolean *more)
{
  guint8 after_key[ID_BYTES];
  gboolean after_is_id = after != NULL && decode (after, after_key);
  guint cap = MIN (limit, self->n), n = 0;
  g_autofree guint *heap = g_new (guint, MAX (cap, 1));
  guint64 candidates = 0;
  GPtrArray *ids;

  for (guint k = 0; k < self->n; k++)
    {
      if (!is_after (self, k, after, after_is_id ? after_key : NULL))
        continue;
      candidates++;
      if (cap == 0)
        continue;
      if (n < cap)
        {
          /* Sift up. */
          guint i = n++;

          heap[i] = k;
          while (i > 0 && compare_positions (&heap[(i - 1) / 2], &heap[i], self->entries) < 0)
            {
              guint parent = (i - 1) / 2, tmp = heap[i];

              heap[i] = heap[parent];
              heap[parent] = tmp;
              i = parent;
            }
        }
      else if (memcmp (self->entries[k].id, self->entries[heap[0]].id, ID_BYTES) < 0)
        {
          heap[0] = k;
          sift_down (self, heap, n, 0);
        }
    }
  g_qsort_with_data (heap, n, sizeof (guint), compare_positions, self->entries);
  ids = g_ptr_array_new_full (n, g_free);
  for (guint i = 0; i < n; i++)
    {
      char *id = g_malloc (TSR_SHA256_HEX_LEN + 1);

      encode (self->entries[heap[i]].id, id);
      g_ptr_array_add (ids, id);
    }
  if (more != NULL)
    *more = candidates > n;
  return ids;
}
