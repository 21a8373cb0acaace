/* test-identity.c: node identities and the trust store
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tessera.h"
#include "tsr-test-util.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

typedef struct
{
  char *base;
  char *dir; /* does not exist yet: the code under test creates it */
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->base = tsr_test_make_tmpdir ();
  f->dir = g_build_filename (f->base, "Node_01", NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  tsr_test_rmdir (f->base);
  g_free (f->base);
  g_free (f->dir);
}

static TsrIdentity *
load_ok (const char *dir)
{
  g_autoptr (GError) error = NULL;
  TsrIdentity *identity = tsr_identity_load_or_create (dir, "tessera-test", &error);

  g_assert_no_error (error);
  g_assert_nonnull (identity);
  return identity;
}

static guint
file_mode (const char *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_mode & 07777;
}

static guint
count_entries (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;

  g_assert_nonnull (d);
  while (g_dir_read_name (d) != NULL)
    n++;
  return n;
}

static char *
read_file (const char *path, gsize *len)
{
  g_autoptr (GError) error = NULL;
  char *contents = NULL;

  g_assert_true (g_file_get_contents (path, &contents, len, &error));
  g_assert_no_error (error);
  return contents;
}

static void
write_file (const char *path, const char *contents, gssize len)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (g_file_set_contents (path, contents, len, &error));
  g_assert_no_error (error);
}

static void
test_create_and_reload (Fixture *f, gconstpointer data)
{
  g_autoptr (TsrIdentity) identity = load_ok (f->dir);
  g_autoptr (TsrIdentity) again = NULL;
  g_autoptr (TsrIdentity) other = NULL;
  g_autofree char *path = g_build_filename (f->dir, "identity.pem", NULL);
  g_autofree char *other_dir = g_build_filename (f->base, "Node_02", NULL);
  g_autofree char *pem = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *subject = NULL;
  g_autoptr (GByteArray) der = NULL;
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr (GDateTime) not_before = NULL;
  g_autoptr (GDateTime) not_after = NULL;
  GTlsCertificate *certificate = tsr_identity_get_certificate (identity);
  const char *id = tsr_identity_get_id (identity);
  gsize len;

  /* The key is a secret: only the owner may read it, and the directory is private too. */
  g_assert_cmphex (file_mode (path), ==, 0600);
  g_assert_cmphex (file_mode (f->dir), ==, 0700);
  g_assert_cmpuint (count_entries (f->dir), ==, 1);

  /* The file is what GLib can load: the certificate, then an unencrypted PKCS#8 key. */
  pem = read_file (path, &len);
  g_assert_true (g_str_has_prefix (pem, "-----BEGIN CERTIFICATE-----"));
  g_assert_nonnull (strstr (pem, "-----BEGIN PRIVATE KEY-----"));
  g_assert_null (strstr (pem, "ENCRYPTED"));

  /* The id is the SHA-256 of the DER, as an independent implementation computes it. */
  g_assert_true (tsr_segment_id_is_valid (id));
  g_object_get (certificate, "certificate", &der, NULL);
  expected = g_compute_checksum_for_data (G_CHECKSUM_SHA256, der->data, der->len);
  g_assert_cmpstr (id, ==, expected);
  {
    g_autofree char *fingerprint = tsr_certificate_fingerprint (certificate);
    g_assert_cmpstr (fingerprint, ==, expected);
  }

  /* Valid from now on (with slack for skewed clocks) for about 20 years. */
  subject = g_tls_certificate_get_subject_name (certificate);
  g_assert_nonnull (strstr (subject, "tessera-test"));
  not_before = g_tls_certificate_get_not_valid_before (certificate);
  not_after = g_tls_certificate_get_not_valid_after (certificate);
  g_assert_cmpint (g_date_time_compare (not_before, now), <=, 0);
  g_assert_cmpint (g_date_time_difference (not_after, now) / G_TIME_SPAN_DAY, >=, 20 * 365 - 1);
  g_assert_cmpint (g_date_time_difference (not_after, now) / G_TIME_SPAN_DAY, <=, 20 * 366);

  /* Loading again gives the same identity and leaves the file alone. */
  again = load_ok (f->dir);
  g_assert_cmpstr (tsr_identity_get_id (again), ==, id);
  g_assert_true (g_tls_certificate_is_same (tsr_identity_get_certificate (again), certificate));
  {
    g_autofree char *pem_after = NULL;
    gsize len_after;

    pem_after = read_file (path, &len_after);
    g_assert_cmpmem (pem_after, len_after, pem, len);
  }

  /* Another node gets another identity. */
  other = load_ok (other_dir);
  g_assert_cmpstr (tsr_identity_get_id (other), !=, id);
}

static void
test_damaged_is_corrupt (Fixture *f, gconstpointer data)
{
  g_autoptr (TsrIdentity) identity = load_ok (f->dir);
  g_autofree char *path = g_build_filename (f->dir, "identity.pem", NULL);
  g_autofree char *other_dir = g_build_filename (f->base, "Node_02", NULL);
  g_autofree char *other_path = g_build_filename (other_dir, "identity.pem", NULL);
  g_autoptr (TsrIdentity) other = load_ok (other_dir);
  g_autofree char *pem = NULL;
  g_autofree char *other_pem = NULL;
  g_autofree char *flipped = NULL;
  g_autofree char *cert_only = NULL;
  g_autofree char *foreign_key = NULL;
  const char *key_start, *other_key_start;
  gsize len, other_len;

  pem = read_file (path, &len);
  other_pem = read_file (other_path, &other_len);
  key_start = strstr (pem, "-----BEGIN PRIVATE KEY-----");
  other_key_start = strstr (other_pem, "-----BEGIN PRIVATE KEY-----");
  g_assert_nonnull (key_start);
  g_assert_nonnull (other_key_start);

  /* One base64 character of the certificate changed, as bit rot would. */
  flipped = g_strdup (pem);
  flipped[100] = flipped[100] == 'A' ? 'B' : 'A';
  cert_only = g_strndup (pem, key_start - pem);
  /* Our certificate with another identity's key. */
  foreign_key = g_strconcat (cert_only, other_key_start, NULL);

  {
    const struct
    {
      const char *what;
      const char *contents;
      gssize len;
    } cases[] = {
      { "empty", "", 0 },
      { "truncated", pem, len / 2 },
      { "not PEM", "this is not a certificate\n", -1 },
      { "flipped", flipped, -1 },
      { "certificate without key", cert_only, -1 },
      { "key of another identity", foreign_key, -1 },
    };

    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_autoptr (GError) error = NULL;
        g_autoptr (TsrIdentity) loaded = NULL;
        g_autofree char *after = NULL;
        gsize written = cases[i].len >= 0 ? (gsize)cases[i].len : strlen (cases[i].contents);
        gsize after_len;

        g_test_message ("damage: %s", cases[i].what);
        write_file (path, cases[i].contents, written);
        loaded = tsr_identity_load_or_create (f->dir, "tessera-test", &error);
        g_assert_error (error, TSR_ERROR, TSR_ERROR_CORRUPT);
        g_assert_null (loaded);
        g_assert_nonnull (strstr (error->message, path));

        /* Never replaced by a new identity, and nothing left beside it. */
        after = read_file (path, &after_len);
        g_assert_cmpmem (after, after_len, cases[i].contents, written);
        g_assert_cmpuint (count_entries (f->dir), ==, 1);
      }
  }

  /* Restoring the file restores the identity. */
  write_file (path, pem, len);
  {
    g_autoptr (TsrIdentity) restored = load_ok (f->dir);
    g_assert_cmpstr (tsr_identity_get_id (restored), ==, tsr_identity_get_id (identity));
  }
}

/* Whatever single character of the certificate rots, the node either refuses to start or
 * keeps its id: it never comes up as a different identity that no peer has pinned. */
static void
test_bit_rot_never_changes_id (Fixture *f, gconstpointer data)
{
  g_autoptr (TsrIdentity) identity = load_ok (f->dir);
  g_autofree char *path = g_build_filename (f->dir, "identity.pem", NULL);
  g_autofree char *pem = NULL;
  const char *body, *end;
  guint corrupt = 0;
  gsize len;

  pem = read_file (path, &len);
  body = strchr (pem, '\n') + 1;
  end = strstr (pem, "-----END CERTIFICATE-----");
  g_assert_nonnull (end);

  for (const char *p = body; p < end; p++)
    {
      g_autofree char *rotten = NULL;
      g_autoptr (GError) error = NULL;
      g_autoptr (TsrIdentity) loaded = NULL;
      gsize i = p - pem;

      if (*p == '\n' || *p == '=')
        continue;
      rotten = g_strdup (pem);
      rotten[i] = rotten[i] == 'A' ? 'B' : 'A';
      write_file (path, rotten, len);
      loaded = tsr_identity_load_or_create (f->dir, "tessera-test", &error);
      if (loaded == NULL)
        {
          g_assert_error (error, TSR_ERROR, TSR_ERROR_CORRUPT);
          corrupt++;
        }
      else
        g_assert_cmpstr (tsr_identity_get_id (loaded), ==, tsr_identity_get_id (identity));
    }
  /* Only the unused bits of the last base64 characters can change without effect. */
  g_assert_cmpuint (corrupt, >=, (gsize)(end - body) * 9 / 10);
}

static void
test_unreadable_is_corrupt (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "identity.pem", NULL);
  g_autofree char *elsewhere = g_build_filename (f->base, "elsewhere.pem", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrIdentity) identity = NULL;

  /* A directory in its place cannot be read: it must not be taken for "no identity yet". */
  g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
  identity = tsr_identity_load_or_create (f->dir, "tessera-test", &error);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_CORRUPT);
  g_assert_null (identity);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_DIR));
  g_clear_error (&error);
  g_assert_cmpint (g_rmdir (path), ==, 0);

  /* Nor may a dangling symlink be written through, placing the key elsewhere. */
  g_assert_cmpint (symlink (elsewhere, path), ==, 0);
  identity = tsr_identity_load_or_create (f->dir, "tessera-test", &error);
  g_assert_error (error, TSR_ERROR, TSR_ERROR_CORRUPT);
  g_assert_null (identity);
  g_assert_false (g_file_test (elsewhere, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_SYMLINK));
}

#define N_CREATORS 4

typedef struct
{
  const char *dir;
  GError *error;
  TsrIdentity *identity;
} CreateJob;

static gpointer
create_identity (gpointer data)
{
  CreateJob *job = data;

  job->identity = tsr_identity_load_or_create (job->dir, "tessera-test", &job->error);
  return NULL;
}

/* Two commands started at once on a fresh directory must not end up with two identities,
 * one of them only in memory. */
static void
test_concurrent_create_agrees (Fixture *f, gconstpointer data)
{
  g_autoptr (TsrIdentity) on_disk = NULL;
  CreateJob jobs[N_CREATORS];
  GThread *threads[N_CREATORS];

  for (guint i = 0; i < N_CREATORS; i++)
    {
      jobs[i] = (CreateJob){ f->dir, NULL, NULL };
      threads[i] = g_thread_new ("create", create_identity, &jobs[i]);
    }
  for (guint i = 0; i < N_CREATORS; i++)
    g_thread_join (threads[i]);

  on_disk = load_ok (f->dir);
  for (guint i = 0; i < N_CREATORS; i++)
    {
      g_assert_no_error (jobs[i].error);
      g_assert_cmpstr (tsr_identity_get_id (jobs[i].identity), ==, tsr_identity_get_id (on_disk));
      g_object_unref (jobs[i].identity);
    }
  g_assert_cmpuint (count_entries (f->dir), ==, 1);
}

static const char *
make_id (guint n, char out[TSR_SHA256_HEX_LEN + 1])
{
  g_autofree char *seed = g_strdup_printf ("peer-%u", n);

  tsr_sha256_hex (seed, strlen (seed), out);
  return out;
}

static TsrTrustStore *
trust_load_ok (const char *path)
{
  g_autoptr (GError) error = NULL;
  TsrTrustStore *store = tsr_trust_store_load (path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (store);
  return store;
}

static void
add_ok (TsrTrustStore *store, const char *id, const char *name)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (tsr_trust_store_add (store, id, name, &error));
  g_assert_no_error (error);
}

static void
assert_list (TsrTrustStore *store, const char *const *expected)
{
  g_autoptr (GPtrArray) ids = tsr_trust_store_list (store);

  g_assert_cmpuint (ids->len, ==, g_strv_length ((char **)expected));
  for (guint i = 0; i < ids->len; i++)
    g_assert_cmpstr (ids->pdata[i], ==, expected[i]);
}

/* The name stored for @id, read from the file with json-glib directly. */
static char *
name_in_file (const char *path, const char *id)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  JsonArray *trusted;

  g_assert_true (json_parser_load_from_file (parser, path, &error));
  g_assert_no_error (error);
  trusted = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                          "trusted");
  for (guint i = 0; i < json_array_get_length (trusted); i++)
    {
      JsonObject *entry = json_array_get_object_element (trusted, i);
      if (g_strcmp0 (json_object_get_string_member (entry, "id"), id) == 0)
        return g_strdup (json_object_get_string_member (entry, "name"));
    }
  return NULL;
}

static void
test_trust_store_persists (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "trusted.json", NULL);
  g_autoptr (TsrTrustStore) store = trust_load_ok (path);
  g_autoptr (GError) error = NULL;
  char a[TSR_SHA256_HEX_LEN + 1], b[TSR_SHA256_HEX_LEN + 1], c[TSR_SHA256_HEX_LEN + 1];
  const char *lo, *mid, *hi;

  make_id (1, a);
  make_id (2, b);
  make_id (3, c);
  /* Sorted order of the three, for comparing lists. */
  {
    const char *sorted[] = { a, b, c };
    for (guint i = 0; i < 3; i++)
      for (guint j = i + 1; j < 3; j++)
        if (strcmp (sorted[j], sorted[i]) < 0)
          {
            const char *t = sorted[i];
            sorted[i] = sorted[j];
            sorted[j] = t;
          }
    lo = sorted[0];
    mid = sorted[1];
    hi = sorted[2];
  }

  /* Loading a missing file gives an empty store and does not create the file yet. */
  assert_list (store, (const char *const[]){ NULL });
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  add_ok (store, hi, "laptop");
  add_ok (store, lo, "phone");
  add_ok (store, mid, NULL);
  assert_list (store, (const char *const[]){ lo, mid, hi, NULL });
  g_assert_true (tsr_trust_store_contains (store, mid));
  g_assert_cmphex (file_mode (path), ==, 0600);

  /* Adding a trusted id again renames it. */
  add_ok (store, hi, "work laptop");
  assert_list (store, (const char *const[]){ lo, mid, hi, NULL });
  {
    g_autofree char *name = name_in_file (path, hi);
    g_assert_cmpstr (name, ==, "work laptop");
  }

  g_assert_true (tsr_trust_store_remove (store, mid, &error));
  g_assert_no_error (error);
  g_assert_false (tsr_trust_store_contains (store, mid));
  g_assert_false (tsr_trust_store_remove (store, mid, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Everything is on disk after each change: a fresh load sees it. */
  g_clear_object (&store);
  store = trust_load_ok (path);
  assert_list (store, (const char *const[]){ lo, hi, NULL });
  g_assert_true (tsr_trust_store_contains (store, hi));
  g_assert_false (tsr_trust_store_contains (store, mid));
  {
    g_autofree char *name = name_in_file (path, lo);
    g_assert_cmpstr (name, ==, "phone");
  }
  g_assert_cmphex (file_mode (path), ==, 0600);
  /* Only the file itself: no temporary files left next to it. */
  g_assert_cmpuint (count_entries (f->dir), ==, 1);
}

static void
test_trust_store_malformed (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->base, "trusted.json", NULL);
  char id[TSR_SHA256_HEX_LEN + 1];
  g_autofree char *upper = NULL;
  g_autofree char *wrong_id = NULL;
  g_autofree char *wrong_name = NULL;
  g_autofree char *id_number = NULL;

  make_id (7, id);
  upper = g_ascii_strup (id, -1);
  wrong_id = g_strdup_printf ("{\"trusted\": [{\"id\": \"%s\", \"name\": \"x\"}]}", upper);
  wrong_name = g_strdup_printf ("{\"trusted\": [{\"id\": \"%s\", \"name\": 3}]}", id);
  id_number = g_strdup ("{\"trusted\": [{\"id\": 5}]}");

  {
    const char *cases[] = {
      "not json at all",     "",        "[]",     "{}",       "{\"trusted\": {}}",
      "{\"trusted\": [42]}", id_number, wrong_id, wrong_name, "{\"trusted\": [{\"id\": \"abc\"}]}",
    };

    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_autoptr (GError) error = NULL;
        g_autoptr (TsrTrustStore) store = NULL;
        g_autofree char *after = NULL;
        gsize after_len;

        g_test_message ("malformed: %s", cases[i]);
        write_file (path, cases[i], -1);
        store = tsr_trust_store_load (path, &error);
        g_assert_error (error, TSR_ERROR, TSR_ERROR_CORRUPT);
        g_assert_null (store);
        after = read_file (path, &after_len);
        g_assert_cmpmem (after, after_len, cases[i], strlen (cases[i]));
      }
  }
}

static void
test_trust_store_invalid_id (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "trusted.json", NULL);
  g_autoptr (TsrTrustStore) store = trust_load_ok (path);
  char id[TSR_SHA256_HEX_LEN + 1];
  g_autofree char *upper = NULL;
  g_autofree char *longer = NULL;
  g_autofree char *path_like = NULL;

  make_id (9, id);
  upper = g_ascii_strup (id, -1);
  longer = g_strconcat (id, "0", NULL);
  path_like = g_strdup_printf ("../%s", id + 3);

  {
    const char *bad[] = { upper, longer, path_like, "", "laptop", id + 1 };

    for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_autoptr (GError) error = NULL;

        g_assert_false (tsr_trust_store_add (store, bad[i], "bad", &error));
        g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT);
        g_clear_error (&error);
        g_assert_false (tsr_trust_store_remove (store, bad[i], &error));
        g_assert_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT);
        g_assert_false (tsr_trust_store_contains (store, bad[i]));
      }
  }
  g_assert_false (tsr_trust_store_contains (store, NULL));
  assert_list (store, (const char *const[]){ NULL });
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

static void
test_trust_store_in_memory (Fixture *f, gconstpointer data)
{
  g_autoptr (TsrTrustStore) store = tsr_trust_store_new ();
  char id[TSR_SHA256_HEX_LEN + 1];

  make_id (11, id);
  add_ok (store, id, "peer");
  assert_list (store, (const char *const[]){ id, NULL });
  g_assert_true (tsr_trust_store_contains (store, id));
  g_assert_false (g_file_test (f->dir, G_FILE_TEST_EXISTS));
}

#define N_THREADS      4
#define IDS_PER_THREAD 25

typedef struct
{
  TsrTrustStore *store;
  guint first;
} AddJob;

static gpointer
add_many (gpointer data)
{
  AddJob *job = data;

  for (guint i = 0; i < IDS_PER_THREAD; i++)
    {
      char id[TSR_SHA256_HEX_LEN + 1];
      char other[TSR_SHA256_HEX_LEN + 1];

      add_ok (job->store, make_id (job->first + i, id), "peer");
      g_assert_true (tsr_trust_store_contains (job->store, id));
      /* Readers on other threads see either state, never a torn one. */
      (void)tsr_trust_store_contains (job->store, make_id ((job->first + i + 7) % 100, other));
    }
  return NULL;
}

static void
test_trust_store_threads (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "trusted.json", NULL);
  g_autoptr (TsrTrustStore) store = trust_load_ok (path);
  g_autoptr (TsrTrustStore) reloaded = NULL;
  g_autoptr (GPtrArray) ids = NULL;
  AddJob jobs[N_THREADS];
  GThread *threads[N_THREADS];

  for (guint t = 0; t < N_THREADS; t++)
    {
      jobs[t] = (AddJob){ store, t * IDS_PER_THREAD };
      threads[t] = g_thread_new ("add", add_many, &jobs[t]);
    }
  for (guint t = 0; t < N_THREADS; t++)
    g_thread_join (threads[t]);

  /* The last save holds every add, whichever thread made it. */
  reloaded = trust_load_ok (path);
  ids = tsr_trust_store_list (reloaded);
  g_assert_cmpuint (ids->len, ==, N_THREADS * IDS_PER_THREAD);
  for (guint i = 0; i < N_THREADS * IDS_PER_THREAD; i++)
    {
      char id[TSR_SHA256_HEX_LEN + 1];
      g_assert_true (tsr_trust_store_contains (reloaded, make_id (i, id)));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn)                                                                              \
  g_test_add ("/tessera/identity/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("create-and-reload", test_create_and_reload);
  ADD ("damaged-is-corrupt", test_damaged_is_corrupt);
  ADD ("bit-rot-never-changes-id", test_bit_rot_never_changes_id);
  ADD ("unreadable-is-corrupt", test_unreadable_is_corrupt);
  ADD ("concurrent-create-agrees", test_concurrent_create_agrees);
  ADD ("trust-store-persists", test_trust_store_persists);
  ADD ("trust-store-malformed", test_trust_store_malformed);
  ADD ("trust-store-invalid-id", test_trust_store_invalid_id);
  ADD ("trust-store-in-memory", test_trust_store_in_memory);
  ADD ("trust-store-threads", test_trust_store_threads);
#undef ADD

  return g_test_run ();
}
