/* test-cli.c: tessera-cli as a user runs it, from a fresh data dir
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tessera.h"
#include "tsr-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

typedef struct
{
  char *dir;
  char *data_dir;
  GRand *rand;
} Fixture;

#define PASSWORD "correct horse battery"

static void cli (Fixture *f, TsrTestRun *r, const char *input, ...) G_GNUC_NULL_TERMINATED;

/* File commands need a session: most tests run as a registered, logged-in user. */
static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = tsr_test_make_tmpdir ();
  f->data_dir = g_build_filename (f->dir, "data", NULL);
  f->rand = g_rand_new_with_seed (g_test_rand_int ());
  if (data == NULL)
    {
      g_auto (TsrTestRun) reg = { 0 };
      g_auto (TsrTestRun) login = { 0 };

      cli (f, &reg, PASSWORD "\n", "register", "tester", "--email", "tester@example.org",
           "--password-stdin", NULL);
      g_assert_cmpint (reg.status, ==, 0);
      cli (f, &login, PASSWORD "\n", "login", "tester", "--password-stdin", NULL);
      g_assert_cmpint (login.status, ==, 0);
    }
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  tsr_test_rmdir (f->dir);
  g_free (f->dir);
  g_free (f->data_dir);
  g_rand_free (f->rand);
}

/* Runs tessera-cli --data-dir DIR ARGS... and returns its exit status and output. */
static void
cli (Fixture *f, TsrTestRun *r, const char *input, ...)
{
  va_list args;

  va_start (args, input);
  tsr_test_cli_valist (f->data_dir, f->dir, r, input, args);
  va_end (args);
}

static char *
write_random (Fixture *f, const char *name, gsize len, GBytes **content)
{
  char *path = g_build_filename (f->dir, name, NULL);

  *content = tsr_test_random_bytes (f->rand, len);
  g_assert_true (g_file_set_contents (path, g_bytes_get_data (*content, NULL), len, NULL));
  return path;
}

static void
test_upload_list_download_json (Fixture *f, gconstpointer data)
{
  const gsize sizes[] = { 0, 1, 65535, 65536, 65537, 3 * 1024 * 1024 + 7 };
  g_autoptr (GPtrArray) contents = g_ptr_array_new_with_free_func ((GDestroyNotify)g_bytes_unref);
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_auto (TsrTestRun) up = { 0 };
  g_auto (TsrTestRun) list = { 0 };
  g_autoptr (JsonNode) up_json = NULL;
  g_autoptr (JsonNode) list_json = NULL;
  JsonArray *items;

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autofree char *name = g_strdup_printf ("file %u.bin", i);
      GBytes *content;
      g_ptr_array_add (paths, write_random (f, name, sizes[i], &content));
      g_ptr_array_add (contents, content);
    }
  cli (f, &up, NULL, "--json", "upload", paths->pdata[0], paths->pdata[1], paths->pdata[2],
       paths->pdata[3], paths->pdata[4], paths->pdata[5], NULL);
  g_assert_cmpint (up.status, ==, 0);
  up_json = tsr_test_parse_json (up.out);
  items = json_node_get_array (up_json);
  g_assert_cmpuint (json_array_get_length (items), ==, G_N_ELEMENTS (sizes));

  cli (f, &list, NULL, "--json", "list", NULL);
  g_assert_cmpint (list.status, ==, 0);
  list_json = tsr_test_parse_json (list.out);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (list_json)), ==,
                    G_N_ELEMENTS (sizes));

  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      JsonObject *o = json_array_get_object_element (items, i);
      const char *file_id = json_object_get_string_member (o, "file_id");
      g_autofree char *name = g_path_get_basename (paths->pdata[i]);
      g_autofree char *out = g_strdup_printf ("%s/out-%u", f->dir, i);
      g_auto (TsrTestRun) down = { 0 };
      g_auto (TsrTestRun) again = { 0 };
      g_auto (TsrTestRun) forced = { 0 };

      /* The documented keys. */
      g_assert_true (tsr_file_id_is_valid (file_id));
      g_assert_cmpstr (json_object_get_string_member (o, "name"), ==, name);
      g_assert_cmpint (json_object_get_int_member (o, "size"), ==, sizes[i]);
      g_assert_cmpint (json_object_get_int_member (o, "chunks"), ==,
                       tsr_chunk_count (sizes[i], 65536));
      g_assert_true (json_object_has_member (o, "created_at"));

      cli (f, &down, NULL, "download", file_id, "--output", out, NULL);
      g_assert_cmpint (down.status, ==, 0);
      tsr_test_assert_file_equals (out, contents->pdata[i]);

      /* Not onto an existing file without --force. */
      cli (f, &again, NULL, "download", file_id, "--output", out, NULL);
      g_assert_cmpint (again.status, ==, 1);
      g_assert_nonnull (strstr (again.err, "--force"));
      cli (f, &forced, NULL, "download", file_id, "--output", out, "--force", NULL);
      g_assert_cmpint (forced.status, ==, 0);
      tsr_test_assert_file_equals (out, contents->pdata[i]);
    }
}

/* After --, a name that starts with - is a file to upload, not an option. */
static void
test_upload_after_double_dash (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) content = NULL;
  g_autofree char *path = write_random (f, "-weird-name.txt", 1000, &content);
  g_autofree char *out = g_build_filename (f->dir, "back.txt", NULL);
  g_autoptr (JsonNode) json = NULL;
  g_auto (GStrv) fields = NULL;
  g_auto (TsrTestRun) no_dashes = { 0 };
  g_auto (TsrTestRun) up = { 0 };
  g_auto (TsrTestRun) list = { 0 };
  g_auto (TsrTestRun) down = { 0 };

  /* Relative, as typed in the folder that holds it (the CLI runs in f->dir). */
  cli (f, &no_dashes, NULL, "upload", "-weird-name.txt", NULL);
  g_assert_cmpint (no_dashes.status, ==, 2);
  g_assert_nonnull (strstr (no_dashes.err, "--"));

  cli (f, &up, NULL, "upload", "--", "-weird-name.txt", NULL);
  g_assert_cmpint (up.status, ==, 0);
  fields = g_strsplit (g_strchomp (up.out), "  ", 2);
  g_assert_cmpuint (g_strv_length (fields), ==, 2);
  g_assert_cmpstr (fields[1], ==, "-weird-name.txt");
  cli (f, &list, NULL, "--json", "list", NULL);
  json = tsr_test_parse_json (list.out);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (json)), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (
                       json_array_get_object_element (json_node_get_array (json), 0), "name"),
                   ==, "-weird-name.txt");
  cli (f, &down, NULL, "download", "-o", out, "--", fields[0], NULL);
  g_assert_cmpint (down.status, ==, 0);
  tsr_test_assert_file_equals (out, content);
}

/* Runs tessera-cli with its standard output and error on a pseudo-terminal, as a person
 * would: what it shows only on a terminal (the progress bar) is in r->out, as written. */
static void
cli_on_terminal (Fixture *f, TsrTestRun *r, const char *const *args)
{
  g_autoptr (GSubprocessLauncher) launcher =
      g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) out = g_string_new (NULL);
  int master, slave;
  char buf[4096];
  gssize n;

  master = posix_openpt (O_RDWR | O_NOCTTY | O_CLOEXEC);
  g_assert_cmpint (master, >=, 0);
  g_assert_cmpint (grantpt (master), ==, 0);
  g_assert_cmpint (unlockpt (master), ==, 0);
  slave = open (ptsname (master), O_RDWR | O_NOCTTY | O_CLOEXEC);
  g_assert_cmpint (slave, >=, 0);

  g_ptr_array_add (argv, (char *)g_getenv ("TESSERA_CLI"));
  g_ptr_array_add (argv, "--data-dir");
  g_ptr_array_add (argv, f->data_dir);
  for (; *args != NULL; args++)
    g_ptr_array_add (argv, (char *)*args);
  g_ptr_array_add (argv, NULL);
  g_subprocess_launcher_set_cwd (launcher, f->dir);
  g_subprocess_launcher_take_stdout_fd (launcher, dup (slave));
  g_subprocess_launcher_take_stderr_fd (launcher, slave);
  proc = g_subprocess_launcher_spawnv (launcher, (const char *const *)argv->pdata, &error);
  g_assert_no_error (error);
  g_clear_object (&launcher); /* closes our copies of the terminal's side */

  /* Until the last writer is gone: EIO on Linux. */
  while ((n = read (master, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      g_string_append_len (out, buf, n);
  close (master);
  g_assert_true (g_subprocess_wait (proc, NULL, &error));
  g_assert_no_error (error);
  r->status = g_subprocess_get_exit_status (proc);
  r->out = g_strdup (out->str);
  r->err = g_strdup ("");
}

/* A file's name is shown with its control characters escaped, in every line a person reads:
 * a crafted name sends no terminal escape sequence and fakes no extra row. --json keeps it as
 * it is (JSON escapes it). */
static void
test_names_are_escaped (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) c1 = NULL;
  g_autoptr (GBytes) c2 = NULL;
  g_autoptr (GBytes) c3 = NULL;
  g_autofree char *esc = write_random (f, "esc\x1b[31m.txt", 100, &c1);
  g_autofree char *newline = write_random (f, "new\nline.txt", 100, &c2);
  /* Big enough for the progress bar to show its name. */
  g_autofree char *big = write_random (f, "big\x1b]0;owned\x07 \xe2\x80\xae.bin", 400000, &c3);
  g_autoptr (JsonNode) json = NULL;
  g_auto (GStrv) up_lines = NULL;
  g_auto (TsrTestRun) up = { 0 };
  g_auto (TsrTestRun) list = { 0 };
  g_auto (TsrTestRun) list_json = { 0 };
  g_auto (TsrTestRun) term = { 0 };
  g_auto (TsrTestRun) down = { 0 };
  const char *const up_big[] = { "upload", "big\x1b]0;owned\x07 \xe2\x80\xae.bin", NULL };

  cli (f, &up, NULL, "upload", esc, newline, NULL);
  g_assert_cmpint (up.status, ==, 0);
  g_assert_null (strchr (up.out, 0x1b));
  up_lines = g_strsplit (g_strchomp (up.out), "\n", -1);
  g_assert_cmpuint (g_strv_length (up_lines), ==, 2);
  g_assert_true (g_str_has_suffix (up_lines[0], "esc\\x1b[31m.txt"));
  g_assert_true (g_str_has_suffix (up_lines[1], "new\\nline.txt"));

  cli (f, &list, NULL, "list", NULL);
  g_assert_cmpint (list.status, ==, 0);
  g_assert_null (strchr (list.out, 0x1b));
  g_assert_nonnull (strstr (list.out, "  esc\\x1b[31m.txt\n"));
  g_assert_nonnull (strstr (list.out, "  new\\nline.txt\n"));
  /* A header, then two lines a file. */
  {
    g_auto (GStrv) rows = g_strsplit (g_strchomp (list.out), "\n", -1);
    g_assert_cmpuint (g_strv_length (rows), ==, 5);
  }

  cli (f, &list_json, NULL, "--json", "list", NULL);
  json = tsr_test_parse_json (list_json.out);
  {
    JsonArray *items = json_node_get_array (json);
    gboolean seen = FALSE;
    for (guint i = 0; i < json_array_get_length (items); i++)
      seen |= g_strcmp0 (
                  json_object_get_string_member (json_array_get_object_element (items, i), "name"),
                  "esc\x1b[31m.txt") == 0;
    g_assert_true (seen);
  }

  /* On a terminal: the progress bar and the id line; the bidi override shows as \u202e. */
  cli_on_terminal (f, &term, up_big);
  g_assert_cmpint (term.status, ==, 0);
  g_assert_null (strchr (term.out, 0x1b));
  g_assert_null (strchr (term.out, 0x07));
  g_assert_nonnull (strstr (term.out, "big\\x1b]0;owned\\x07 \\u202e.bin"));
  g_assert_nonnull (strstr (term.out, "] 100%"));
  /* Downloading by the stored name prints that path, escaped too. */
  {
    g_auto (GStrv) fields = g_strsplit (up_lines[0], "  ", 2);
    g_autofree char *dir = g_build_filename (f->dir, "back", NULL);

    g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
    cli (f, &down, NULL, "download", fields[0], "-o", dir, NULL);
    g_assert_cmpint (down.status, ==, 0);
    g_assert_null (strchr (down.out, 0x1b));
    g_assert_true (g_str_has_suffix (g_strchomp (down.out), "/back/esc\\x1b[31m.txt"));
  }
}

/* A folder's worth of small files in one command (uploaded several at a time): each line of
 * output is its own argument's, in the order given, and a path that cannot be uploaded fails
 * on its own line without taking the others with it. */
static void
test_upload_many_files (Fixture *f, gconstpointer data)
{
  const guint n = 40, bad = 17;
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) contents = g_ptr_array_new_with_free_func ((GDestroyNotify)g_bytes_unref);
  g_auto (GStrv) lines = NULL;
  g_auto (GStrv) err_lines = NULL;
  g_auto (TsrTestRun) up = { 0 };
  g_auto (TsrTestRun) list = { 0 };
  g_autoptr (JsonNode) list_json = NULL;
  g_autofree char *missing = g_build_filename (f->dir, "not there.txt", NULL);

  g_ptr_array_add (argv, g_strdup ("upload"));
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("note-%02u.txt", i);
      GBytes *content;

      if (i == bad)
        g_ptr_array_add (argv, g_strdup (missing));
      g_ptr_array_add (argv,
                       write_random (f, name, 1 + g_rand_int_range (f->rand, 0, 70000), &content));
      g_ptr_array_add (contents, content);
    }
  g_ptr_array_add (argv, NULL);
  tsr_test_cli_argv (f->data_dir, f->dir, &up, NULL, (const char *const *)argv->pdata);
  g_assert_cmpint (up.status, ==, 1);
  g_assert_nonnull (strstr (up.err, "not there.txt"));
  err_lines = g_strsplit (up.err, "\n", -1);
  g_assert_cmpuint (g_strv_length (err_lines), ==, 2); /* one line, and after it nothing */

  lines = g_strsplit (g_strchomp (up.out), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, n);
  for (guint i = 0; i < n; i++)
    {
      g_auto (GStrv) fields = g_strsplit (lines[i], "  ", 2);
      g_autofree char *out = g_strdup_printf ("%s/back-%02u", f->dir, i);
      const char *path = argv->pdata[1 + i + (i >= bad)];
      g_auto (TsrTestRun) down = { 0 };

      g_assert_cmpuint (g_strv_length (fields), ==, 2);
      g_assert_true (tsr_file_id_is_valid (fields[0]));
      g_assert_cmpstr (fields[1], ==, path);
      cli (f, &down, NULL, "download", fields[0], "--output", out, NULL);
      g_assert_cmpint (down.status, ==, 0);
      tsr_test_assert_file_equals (out, contents->pdata[i]);
    }

  cli (f, &list, NULL, "--json", "list", NULL);
  list_json = tsr_test_parse_json (list.out);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (list_json)), ==, n);
}

static void
test_exit_codes (Fixture *f, gconstpointer data)
{
  g_auto (TsrTestRun) none = { 0 };
  g_auto (TsrTestRun) unknown = { 0 };
  g_auto (TsrTestRun) no_id = { 0 };
  g_auto (TsrTestRun) missing = { 0 };
  g_auto (TsrTestRun) bad_id = { 0 };
  g_auto (TsrTestRun) help = { 0 };
  g_auto (TsrTestRun) dir = { 0 };

  cli (f, &none, NULL, NULL);
  g_assert_cmpint (none.status, ==, 2);
  cli (f, &unknown, NULL, "frobnicate", NULL);
  g_assert_cmpint (unknown.status, ==, 2);
  cli (f, &no_id, NULL, "download", NULL);
  g_assert_cmpint (no_id.status, ==, 2);
  cli (f, &missing, NULL, "download", "0123456789abcdef", NULL);
  g_assert_cmpint (missing.status, ==, 1);
  g_assert_nonnull (strstr (missing.err, "no file 0123456789abcdef"));
  cli (f, &bad_id, NULL, "delete", "../../etc", NULL);
  g_assert_cmpint (bad_id.status, ==, 1);
  cli (f, &help, NULL, "--help", NULL);
  g_assert_cmpint (help.status, ==, 0);
  g_assert_nonnull (strstr (help.out, "upload"));
  /* `help` is what people type first: the same as --help. */
  {
    g_auto (TsrTestRun) help_cmd = { 0 };
    g_auto (TsrTestRun) help_upload = { 0 };

    cli (f, &help_cmd, NULL, "help", NULL);
    g_assert_cmpint (help_cmd.status, ==, 0);
    g_assert_cmpstr (help_cmd.out, ==, help.out);
    cli (f, &help_upload, NULL, "help", "upload", NULL);
    g_assert_cmpint (help_upload.status, ==, 0);
    g_assert_nonnull (strstr (help_upload.out, "tessera-cli upload"));
  }
  /* An unknown option is a usage error wherever it is given, never taken for a name. */
  {
    const char *const *cases[] = {
      (const char *const[]){ "upload", "--bogus", NULL },
      (const char *const[]){ "download", "0123456789abcdef", "--bogus", NULL },
      (const char *const[]){ "delete", "--bogus", NULL },
      (const char *const[]){ "login", "tester", "--password-stdin", "--bogus", NULL },
      (const char *const[]){ "otp", "enable", "--bogus", NULL },
      (const char *const[]){ "node", "disable", "--bogus", NULL },
    };

    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_auto (TsrTestRun) r = { 0 };

        tsr_test_cli_argv (f->data_dir, f->dir, &r, PASSWORD "\n", cases[i]);
        g_assert_cmpint (r.status, ==, 2);
        g_assert_nonnull (strstr (r.err, "unknown option “--bogus”"));
      }
  }
  /* A dropped folder gets a clear refusal. */
  cli (f, &dir, NULL, "upload", f->dir, NULL);
  g_assert_cmpint (dir.status, ==, 1);
  g_assert_nonnull (strstr (dir.err, "folder"));
  /* With --json every error is an object on standard error, usage errors too; and the
   * account commands print an object. */
  {
    g_auto (TsrTestRun) usage = { 0 };
    g_auto (TsrTestRun) command = { 0 };
    g_auto (TsrTestRun) login = { 0 };
    g_autoptr (JsonNode) u = NULL, c = NULL, l = NULL;

    cli (f, &usage, NULL, "--json", "download", NULL);
    g_assert_cmpint (usage.status, ==, 2);
    u = tsr_test_parse_json (usage.err);
    g_assert_cmpstr (json_object_get_string_member (json_node_get_object (u), "code"), ==, "USAGE");
    cli (f, &command, NULL, "--json", "frobnicate", NULL);
    g_assert_cmpint (command.status, ==, 2);
    c = tsr_test_parse_json (command.err);
    g_assert_cmpstr (json_object_get_string_member (json_node_get_object (c), "code"), ==, "USAGE");
    cli (f, &login, PASSWORD "\n", "--json", "login", "tester", "--password-stdin", NULL);
    g_assert_cmpint (login.status, ==, 0);
    l = tsr_test_parse_json (login.out);
    g_assert_cmpstr (json_object_get_string_member (json_node_get_object (l), "username"), ==,
                     "tester");
  }
}

static void
test_health_with_disabled_node (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) content = NULL;
  g_autofree char *path = write_random (f, "doc.bin", 300000, &content);
  g_autofree char *out = g_build_filename (f->dir, "back.bin", NULL);
  g_auto (TsrTestRun) up = { 0 };
  g_auto (TsrTestRun) healthy = { 0 };
  g_auto (TsrTestRun) disable = { 0 };
  g_auto (TsrTestRun) sick = { 0 };
  g_auto (TsrTestRun) down = { 0 };
  g_auto (TsrTestRun) enable = { 0 };
  g_auto (TsrTestRun) again = { 0 };
  g_autoptr (JsonNode) sick_json = NULL;
  g_autoptr (JsonNode) up_json = NULL;
  JsonArray *nodes;

  cli (f, &up, NULL, "--json", "upload", path, NULL);
  g_assert_cmpint (up.status, ==, 0);
  up_json = tsr_test_parse_json (up.out);
  cli (f, &healthy, NULL, "health", NULL);
  g_assert_cmpint (healthy.status, ==, 0);
  g_assert_nonnull (strstr (healthy.out, "5 of 5 nodes alive"));

  cli (f, &disable, NULL, "node", "disable", "Node_02", NULL);
  g_assert_cmpint (disable.status, ==, 0);
  cli (f, &sick, NULL, "--json", "health", NULL);
  g_assert_cmpint (sick.status, ==, 1);
  sick_json = tsr_test_parse_json (sick.out);
  nodes = json_node_get_array (sick_json);
  g_assert_cmpuint (json_array_get_length (nodes), ==, 5);
  for (guint i = 0; i < 5; i++)
    {
      JsonObject *o = json_array_get_object_element (nodes, i);
      gboolean is_two = g_strcmp0 (json_object_get_string_member (o, "node_id"), "Node_02") == 0;
      g_assert_cmpint (json_object_get_boolean_member (o, "alive"), ==, !is_two);
      g_assert_cmpstr (json_object_get_string_member (o, "state"), ==,
                       is_two ? "STOPPED" : "READY");
      g_assert_true (json_object_has_member (o, "latency_ms"));
    }

  /* Its copies are elsewhere too. */
  cli (f, &down, NULL, "download",
       json_object_get_string_member (
           json_array_get_object_element (json_node_get_array (up_json), 0), "file_id"),
       "-o", out, NULL);
  g_assert_cmpint (down.status, ==, 0);
  tsr_test_assert_file_equals (out, content);

  cli (f, &enable, NULL, "node", "enable", "Node_02", NULL);
  g_assert_cmpint (enable.status, ==, 0);
  cli (f, &again, NULL, "health", NULL);
  g_assert_cmpint (again.status, ==, 0);
}

static JsonObject *
first_object (JsonNode *node)
{
  return json_array_get_object_element (json_node_get_array (node), 0);
}

/* A node that was out while files were uploaded holds nothing of them; rebalance gives it
 * its share, the files stay healthy and read back, and a second run has nothing to move. */
static void
test_rebalance (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) content = NULL;
  g_autofree char *path = write_random (f, "album.bin", 40 * 65536, &content);
  g_autofree char *out = g_build_filename (f->dir, "album-back.bin", NULL);
  g_autofree char *file_id = NULL;
  g_autoptr (JsonNode) json = NULL;
  g_auto (TsrTestRun) r = { 0 };
  JsonObject *o;
  JsonArray *nodes;
  gint64 total = 0;

  cli (f, &r, NULL, "node", "disable", "Node_05", NULL);
  g_assert_cmpint (r.status, ==, 0);
  tsr_test_run_clear (&r);
  cli (f, &r, NULL, "--json", "upload", path, NULL);
  g_assert_cmpint (r.status, ==, 0);
  json = tsr_test_parse_json (r.out);
  file_id = g_strdup (json_object_get_string_member (first_object (json), "file_id"));
  tsr_test_run_clear (&r);
  cli (f, &r, NULL, "node", "enable", "Node_05", NULL);
  tsr_test_run_clear (&r);

  cli (f, &r, NULL, "rebalance", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "moved 16 copies"));
  tsr_test_run_clear (&r);

  /* 80 copies of 64 KiB and a tag: 16 on each node now. */
  cli (f, &r, NULL, "--json", "storage", NULL);
  g_clear_pointer (&json, json_node_unref);
  json = tsr_test_parse_json (r.out);
  nodes = json_object_get_array_member (json_node_get_object (json), "nodes");
  g_assert_cmpuint (json_array_get_length (nodes), ==, 5);
  for (guint i = 0; i < 5; i++)
    {
      gint64 used =
          json_object_get_int_member (json_array_get_object_element (nodes, i), "used_bytes");
      g_assert_cmpint (used, ==, 16 * (65536 + 16));
      total += used;
    }
  g_assert_cmpint (total, ==, 80 * (65536 + 16));
  tsr_test_run_clear (&r);

  cli (f, &r, NULL, "--json", "rebalance", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_clear_pointer (&json, json_node_unref);
  json = tsr_test_parse_json (r.out);
  o = json_node_get_object (json);
  g_assert_cmpint (json_object_get_int_member (o, "files"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (o, "copies_moved"), ==, 0);
  tsr_test_run_clear (&r);

  cli (f, &r, NULL, "list", NULL);
  g_assert_nonnull (strstr (r.out, "healthy, survives the loss of any 1 node"));
  tsr_test_run_clear (&r);
  cli (f, &r, NULL, "download", file_id, "--output", out, NULL);
  g_assert_cmpint (r.status, ==, 0);
  tsr_test_assert_file_equals (out, content);
}

/* What a user sees of self-healing: list says a file is degraded when a node is out, repair
 * makes it healthy, scrub finds a flipped byte and mends it, gc collects what the repair left
 * on the node once it is back, and node remove drains a node before removing it. */
static void
test_self_healing (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) content = NULL;
  g_autofree char *path = write_random (f, "doc.bin", 200000, &content);
  g_autofree char *out = g_build_filename (f->dir, "back.bin", NULL);
  g_autofree char *node_dir = g_build_filename (f->data_dir, "nodes", "Node_01", NULL);
  g_autoptr (JsonNode) json = NULL;
  g_autofree char *file_id = NULL;
  g_auto (TsrTestRun) r = { 0 };
  JsonObject *o;

  g_setenv ("TESSERA_SCRUB_RATE", "0", TRUE);
  cli (f, &r, NULL, "--json", "upload", path, NULL);
  g_assert_cmpint (r.status, ==, 0);
  json = tsr_test_parse_json (r.out);
  file_id = g_strdup (json_object_get_string_member (first_object (json), "file_id"));
  g_assert_cmpstr (json_object_get_string_member (first_object (json), "health"), ==, "healthy");
  tsr_test_run_clear (&r);

  cli (f, &r, NULL, "node", "disable", "Node_02", NULL);
  g_assert_cmpint (r.status, ==, 0);
  tsr_test_run_clear (&r);
  cli (f, &r, NULL, "list", NULL);
  g_assert_nonnull (strstr (r.out, "degraded, survives the loss of any 0 nodes"));
  tsr_test_run_clear (&r);
  cli (f, &r, NULL, "--json", "repair", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_clear_pointer (&json, json_node_unref);
  json = tsr_test_parse_json (r.out);
  o = json_node_get_object (json);
  g_assert_cmpint (json_object_get_int_member (o, "copies_missing"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (o, "copies_made"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (o, "chunks_lost"), ==, 0);
  tsr_test_run_clear (&r);
  cli (f, &r, NULL, "--json", "list", NULL);
  g_clear_pointer (&json, json_node_unref);
  json = tsr_test_parse_json (r.out);
  o = first_object (json);
  g_assert_cmpstr (json_object_get_string_member (o, "health"), ==, "healthy");
  g_assert_cmpint (json_object_get_int_member (o, "survives_node_losses"), ==, 1);
  tsr_test_run_clear (&r);

  cli (f, &r, NULL, "node", "enable", "Node_02", NULL);
  tsr_test_run_clear (&r);
  cli (f, &r, NULL, "--json", "gc", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_clear_pointer (&json, json_node_unref);
  json = tsr_test_parse_json (r.out);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (json), "orphans"), ==, 2);
  tsr_test_run_clear (&r);

  /* A flipped bit in one stored copy. */
  {
    g_autofree char *segs = g_build_filename (node_dir, "segments", NULL);
    g_autoptr (GDir) d = g_dir_open (segs, 0, NULL);
    const char *fan;
    gboolean flipped = FALSE;

    while (!flipped && (fan = g_dir_read_name (d)) != NULL)
      {
        g_autofree char *fan_dir = g_build_filename (segs, fan, NULL);
        g_autoptr (GDir) fd = g_dir_open (fan_dir, 0, NULL);
        const char *name;

        while (!flipped && (name = g_dir_read_name (fd)) != NULL)
          {
            g_autofree char *p = g_build_filename (fan_dir, name, NULL);
            g_autofree char *bytes = NULL;
            gsize len;

            g_assert_true (g_file_get_contents (p, &bytes, &len, NULL));
            bytes[len / 2] ^= 1;
            g_assert_true (g_file_set_contents (p, bytes, len, NULL));
            flipped = TRUE;
          }
      }
    g_assert_true (flipped);
  }
  cli (f, &r, NULL, "--json", "scrub", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_clear_pointer (&json, json_node_unref);
  json = tsr_test_parse_json (r.out);
  o = json_node_get_object (json);
  g_assert_cmpint (json_object_get_int_member (o, "checked"), ==, 8);
  g_assert_cmpint (json_object_get_int_member (o, "corrupt"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (o, "repaired"), ==, 1);
  tsr_test_run_clear (&r);

  cli (f, &r, NULL, "node", "remove", "Node_03", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "Node_03 removed"));
  tsr_test_run_clear (&r);
  cli (f, &r, NULL, "--json", "nodes", NULL);
  g_assert_null (strstr (r.out, "Node_03"));
  tsr_test_run_clear (&r);
  cli (f, &r, NULL, "download", file_id, "-o", out, NULL);
  g_assert_cmpint (r.status, ==, 0);
  tsr_test_assert_file_equals (out, content);
  g_unsetenv ("TESSERA_SCRUB_RATE");
}

static gint64
total_used (Fixture *f)
{
  g_auto (TsrTestRun) r = { 0 };
  g_autoptr (JsonNode) node = NULL;
  JsonObject *o;
  JsonArray *nodes;

  cli (f, &r, NULL, "--json", "storage", NULL);
  g_assert_cmpint (r.status, ==, 0);
  node = tsr_test_parse_json (r.out);
  o = json_node_get_object (node);
  nodes = json_object_get_array_member (o, "nodes");
  g_assert_cmpuint (json_array_get_length (nodes), ==, 5);
  for (guint i = 0; i < 5; i++)
    {
      JsonObject *n = json_array_get_object_element (nodes, i);
      g_assert_true (json_object_has_member (n, "node_id"));
      g_assert_cmpint (json_object_get_int_member (n, "capacity_bytes"), ==, 10000000000);
      g_assert_cmpint (json_object_get_int_member (n, "available_bytes"), ==,
                       10000000000 - json_object_get_int_member (n, "used_bytes"));
      g_assert_true (json_object_has_member (n, "utilization"));
    }
  g_assert_cmpint (json_object_get_int_member (o, "total_capacity_bytes"), ==, 50000000000);
  return json_object_get_int_member (o, "total_used_bytes");
}

static void
test_storage_and_delete (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) content = NULL;
  g_autofree char *path = write_random (f, "x.bin", 500000, &content);
  g_auto (TsrTestRun) up = { 0 };
  g_auto (TsrTestRun) del = { 0 };
  g_auto (TsrTestRun) nodes = { 0 };
  g_autoptr (JsonNode) up_json = NULL;
  g_autoptr (JsonNode) nodes_json = NULL;
  gint64 before = total_used (f), during;
  const char *file_id;

  cli (f, &up, NULL, "--json", "upload", path, NULL);
  g_assert_cmpint (up.status, ==, 0);
  up_json = tsr_test_parse_json (up.out);
  file_id = json_object_get_string_member (
      json_array_get_object_element (json_node_get_array (up_json), 0), "file_id");
  during = total_used (f);
  g_assert_cmpint (during - before, ==, 2 * (500000 + 8 * TSR_CHUNK_OVERHEAD));

  cli (f, &nodes, NULL, "--json", "nodes", NULL);
  g_assert_cmpint (nodes.status, ==, 0);
  nodes_json = tsr_test_parse_json (nodes.out);
  {
    JsonObject *n = json_array_get_object_element (json_node_get_array (nodes_json), 0);
    const char *keys[] = {
      "node_id", "address", "state", "used_bytes", "capacity_bytes", "segments"
    };
    for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
      g_assert_true (json_object_has_member (n, keys[i]));
    g_assert_true (g_str_has_prefix (json_object_get_string_member (n, "address"), "127.0.0.1:"));
  }

  cli (f, &del, NULL, "delete", file_id, NULL);
  g_assert_cmpint (del.status, ==, 0);
  g_assert_cmpint (total_used (f), ==, before);
}

static void
test_second_process_busy (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) shell = NULL;
  g_autofree char *lock = g_build_filename (f->data_dir, "lock", NULL);
  g_autofree char *expected = NULL;
  g_auto (TsrTestRun) list = { 0 };
  GOutputStream *in;
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  shell =
      g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error,
                        g_getenv ("TESSERA_CLI"), "--data-dir", f->data_dir, "shell", NULL);
  g_assert_no_error (error);
  /* Wait until the shell holds the data dir (the lock file names its PID). */
  expected = g_strdup_printf ("%s\n", g_subprocess_get_identifier (shell));
  for (;;)
    {
      g_autofree char *contents = NULL;
      if (g_file_get_contents (lock, &contents, NULL, NULL) && g_strcmp0 (contents, expected) == 0)
        break;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (20000);
    }

  cli (f, &list, NULL, "list", NULL);
  g_assert_cmpint (list.status, ==, 1);
  g_assert_nonnull (strstr (list.err, "in use by process"));
  g_assert_nonnull (strstr (list.err, g_subprocess_get_identifier (shell)));
  /* An account command says it once, too (it added "The data dir is not available"). */
  {
    g_auto (TsrTestRun) login = { 0 };
    g_auto (GStrv) lines = NULL;

    cli (f, &login, PASSWORD "\n", "login", "tester", "--password-stdin", NULL);
    g_assert_cmpint (login.status, ==, 1);
    lines = g_strsplit (g_strchomp (login.err), "\n", -1);
    g_assert_cmpuint (g_strv_length (lines), ==, 1);
    g_assert_nonnull (strstr (lines[0], "in use by process"));
  }

  in = g_subprocess_get_stdin_pipe (shell);
  g_assert_true (g_output_stream_write_all (in, "exit\n", 5, NULL, NULL, &error));
  g_assert_true (g_subprocess_wait_check (shell, NULL, &error));
  g_assert_no_error (error);
}

static void
test_shell (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) content = NULL;
  g_autofree char *path = write_random (f, "shell.bin", 70000, &content);
  g_autofree char *script = g_strdup_printf ("help\nupload '%s'\nlist\nnodes\nbogus\nquit\n", path);
  g_auto (TsrTestRun) r = { 0 };

  cli (f, &r, script, "shell", NULL);
  g_assert_nonnull (strstr (r.out, "shell.bin"));
  g_assert_nonnull (strstr (r.out, "Node_05"));
  g_assert_nonnull (strstr (r.out, "Commands:"));
  g_assert_nonnull (strstr (r.err, "unknown command"));
}

static JsonObject *
node_object (JsonObject *root, guint i)
{
  return json_array_get_object_element (json_object_get_array_member (root, "nodes"), i);
}

/* netem: bad values refused with a clear message, profiles and per-node settings shown and
 * kept, and in a shell session the losses of an upload counted in `stats --json`. */
static void
test_netem (Fixture *f, gconstpointer data)
{
  static const char *const bad[][2] = {
    { "--bandwidth", "5x" }, { "--bandwidth", "64KB" }, { "--latency", "10-1ms" },
    { "--latency", "5" },    { "--loss", "101" },       { "--loss", "x%" },
    { "--mtu", "100" },      { "--retransmits", "99" },
  };
  g_autoptr (GBytes) content = NULL;
  g_autofree char *path = write_random (f, "lossy.bin", 400000, &content);
  g_autofree char *script = NULL;
  g_auto (TsrTestRun) seed = { 0 };
  g_auto (TsrTestRun) show = { 0 };
  g_auto (TsrTestRun) one = { 0 };
  g_auto (TsrTestRun) mixed = { 0 };
  g_auto (TsrTestRun) missing = { 0 };
  g_auto (TsrTestRun) shell = { 0 };
  g_autoptr (JsonNode) show_json = NULL;
  g_autoptr (JsonNode) mixed_json = NULL;
  g_autoptr (JsonNode) stats_json = NULL;
  JsonObject *root, *total;
  const char *last;

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_auto (TsrTestRun) r = { 0 };

      cli (f, &r, NULL, "netem", "set", bad[i][0], bad[i][1], NULL);
      g_assert_cmpint (r.status, ==, 2);
      g_assert_nonnull (strstr (r.err, "netem"));
      /* Names the bad value, or the option when only its range is wrong. */
      g_assert_true (strstr (r.err, bad[i][1]) != NULL || strstr (r.err, bad[i][0]) != NULL);
    }
  cli (f, &missing, NULL, "netem", "set", "--node", "Node_09", "--loss", "1%", NULL);
  g_assert_cmpint (missing.status, ==, 1);
  g_assert_nonnull (strstr (missing.err, "Node_09"));

  cli (f, &seed, NULL, "netem", "profile", "seed", NULL);
  g_assert_cmpint (seed.status, ==, 0);
  cli (f, &show, NULL, "--json", "netem", "show", NULL);
  g_assert_cmpint (show.status, ==, 0);
  show_json = tsr_test_parse_json (show.out);
  root = json_node_get_object (show_json);
  g_assert_cmpstr (json_object_get_string_member (root, "profile"), ==, "seed");
  for (guint i = 0; i < 5; i++)
    {
      JsonObject *n = node_object (root, i);
      g_autofree char *addr = g_strdup_printf ("192.168.1.%u", i + 2);
      g_assert_cmpstr (json_object_get_string_member (n, "virtual_address"), ==, addr);
      g_assert_true (g_str_has_prefix (json_object_get_string_member (n, "address"), "127.0.0.1:"));
      g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (n, "settings"),
                                                   "bandwidth_bps"),
                       ==, 65536);
    }

  cli (f, &one, NULL, "netem", "set", "--node", "Node_02", "--bandwidth", "4MiB/s", "--latency",
       "1-2ms", "--loss", "0.5%", NULL);
  g_assert_cmpint (one.status, ==, 0);
  g_assert_nonnull (strstr (one.out, "Node_02"));
  cli (f, &mixed, NULL, "--json", "netem", "show", NULL);
  mixed_json = tsr_test_parse_json (mixed.out);
  root = json_node_get_object (mixed_json);
  g_assert_cmpstr (json_object_get_string_member (root, "profile"), ==, "mixed");
  {
    JsonObject *two = json_object_get_object_member (node_object (root, 1), "settings");
    g_assert_cmpint (json_object_get_int_member (two, "bandwidth_bps"), ==, 4 * 1024 * 1024);
    g_assert_cmpint (json_object_get_int_member (two, "latency_max_us"), ==, 2000);
    g_assert_cmpint (json_object_get_int_member (two, "loss_ppm"), ==, 5000);
  }

  /* In one session: 5 % loss at full speed, an upload, and the statistics. */
  script = g_strdup_printf ("netem set --bandwidth unlimited --latency 0-1ms --loss 5%%\n"
                            "upload '%s'\nstats\nnetem profile off\nquit\n",
                            path);
  cli (f, &shell, script, "--json", "shell", NULL);
  g_assert_cmpint (shell.status, ==, 0);
  last = g_strrstr (shell.out, "\n{\n  \"nodes\"");
  g_assert_nonnull (last);
  {
    /* The stats document ends where the next command's output begins. */
    g_autofree char *doc = g_strndup (last, strstr (last, "\n}") + 2 - last);
    stats_json = tsr_test_parse_json (doc);
  }
  root = json_node_get_object (stats_json);
  total = json_object_get_object_member (root, "total");
  g_assert_cmpint (json_object_get_int_member (total, "bytes_sent"), >=, 2 * 400000);
  g_assert_cmpint (json_object_get_int_member (total, "packets_sent"), >=, 2 * 400000 / 1472);
  g_assert_cmpint (json_object_get_int_member (total, "packets_received"), >, 0);
  g_assert_cmpint (json_object_get_int_member (total, "bytes_received"), >, 0);
  g_assert_cmpint (json_object_get_int_member (total, "packets_lost"), >, 0);
  g_assert_cmpint (json_object_get_int_member (total, "packets_retransmitted"), ==,
                   json_object_get_int_member (total, "packets_lost"));
  for (guint i = 0; i < 5; i++)
    {
      const char *keys[] = { "packets_sent",   "packets_received", "bytes_sent",
                             "bytes_received", "packets_lost",     "packets_retransmitted" };
      for (guint k = 0; k < G_N_ELEMENTS (keys); k++)
        g_assert_true (json_object_has_member (node_object (root, i), keys[k]));
    }
}

/* Whether any file under @dir contains @needle (binary-safe). */
static gboolean
tree_has (const char *dir, const char *needle, gsize len)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *contents = NULL;
      gsize clen = 0;

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          if (tree_has (path, needle, len))
            return TRUE;
        }
      else if (g_file_get_contents (path, &contents, &clen, NULL) && clen >= len)
        {
          for (gsize i = 0; i + len <= clen; i++)
            if (memcmp (contents + i, needle, len) == 0)
              return TRUE;
        }
    }
  return FALSE;
}

static void
test_accounts (Fixture *f, gconstpointer data)
{
  g_auto (TsrTestRun) who = { 0 };
  g_auto (TsrTestRun) wrong = { 0 };
  g_auto (TsrTestRun) out = { 0 };
  g_auto (TsrTestRun) after = { 0 };
  g_auto (TsrTestRun) whoami_after = { 0 };
  g_auto (TsrTestRun) other_reg = { 0 };
  g_auto (TsrTestRun) other_list = { 0 };
  g_autofree char *session = g_build_filename (f->data_dir, "session.json", NULL);
  g_autofree char *other = g_build_filename (f->dir, "other", NULL);
  g_autofree char *other_session = g_build_filename (other, "session.json", NULL);
  g_autofree char *mine = g_strdup (f->data_dir);
  g_autofree char *contents = NULL;
  GStatBuf st;

  cli (f, &who, NULL, "whoami", NULL);
  g_assert_cmpint (who.status, ==, 0);
  g_assert_cmpstr (g_strstrip (who.out), ==, "tester");
  g_assert_cmpint (g_stat (session, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_true (g_file_get_contents (session, &contents, NULL, NULL));

  /* A session file copied into another data dir is worth nothing there. */
  g_free (f->data_dir);
  f->data_dir = g_strdup (other);
  cli (f, &other_reg, PASSWORD "\n", "register", "tester", "--email", "tester@example.org",
       "--password-stdin", NULL);
  g_assert_cmpint (other_reg.status, ==, 0);
  g_assert_true (g_file_set_contents (other_session, contents, -1, NULL));
  cli (f, &other_list, NULL, "list", NULL);
  g_assert_cmpint (other_list.status, ==, 3);
  g_free (f->data_dir);
  f->data_dir = g_strdup (mine);

  cli (f, &wrong, "not my password\n", "login", "tester", "--password-stdin", NULL);
  g_assert_cmpint (wrong.status, ==, 3);
  g_assert_nonnull (strstr (wrong.err, "Wrong username or password"));

  cli (f, &out, NULL, "logout", NULL);
  g_assert_cmpint (out.status, ==, 0);
  g_assert_false (g_file_test (session, G_FILE_TEST_EXISTS));
  /* After logout nothing in the data dir gives the password or the data key away. */
  {
    g_autoptr (JsonNode) s = tsr_test_parse_json (contents);
    const char *key_b64 = json_object_get_string_member (json_node_get_object (s), "data_key");
    gsize key_len = 0;
    g_autofree guint8 *key = g_base64_decode (key_b64, &key_len);
    g_autofree char *key_hex = g_malloc (2 * key_len + 1);

    tsr_hex_encode (key, key_len, key_hex);
    g_assert_false (tree_has (f->data_dir, PASSWORD, strlen (PASSWORD)));
    g_assert_false (tree_has (f->data_dir, key_b64, strlen (key_b64)));
    g_assert_false (tree_has (f->data_dir, key_hex, strlen (key_hex)));
    g_assert_false (tree_has (f->data_dir, (const char *)key, key_len));
    /* The search itself works: the email address is in accounts.json. */
    g_assert_true (tree_has (f->data_dir, "tester@example.org", 18));
  }
  cli (f, &after, NULL, "list", NULL);
  g_assert_cmpint (after.status, ==, 3);
  g_assert_nonnull (strstr (after.err, "Not logged in"));
  cli (f, &whoami_after, NULL, "whoami", NULL);
  g_assert_cmpint (whoami_after.status, ==, 3);
}

/* passwd on a session (perhaps someone else's) counts wrong passwords as login does: exit
 * status 3, the login's messages, and a lockout that also stops the right password and logins.
 * The session stays, as nothing changed. */
static void
test_passwd_lockout (Fixture *f, gconstpointer data)
{
  g_autofree char *session = g_build_filename (f->data_dir, "session.json", NULL);
  g_auto (TsrTestRun) right = { 0 };
  g_auto (TsrTestRun) login = { 0 };

  for (int i = 0; i < TSR_ACCOUNTS_MAX_FAILURES; i++)
    {
      g_auto (TsrTestRun) wrong = { 0 };

      cli (f, &wrong, "not my password\nanother good password\n", "passwd", "--password-stdin",
           NULL);
      g_assert_cmpint (wrong.status, ==, 3);
      g_assert_nonnull (strstr (wrong.err, "Wrong username or password"));
    }
  cli (f, &right, PASSWORD "\nanother good password\n", "passwd", "--password-stdin", NULL);
  g_assert_cmpint (right.status, ==, 3);
  g_assert_nonnull (strstr (right.err, "Too many failed sign-in attempts for tester"));
  g_assert_true (g_file_test (session, G_FILE_TEST_EXISTS));
  cli (f, &login, PASSWORD "\n", "login", "tester", "--password-stdin", NULL);
  g_assert_cmpint (login.status, ==, 3);
  g_assert_nonnull (strstr (login.err, "try again in"));
}

/* A session that expired, or a session file that is damaged, is wiped when a command finds
 * it so: the unwrapped data key does not stay on disk until the next login. */
static void
test_expired_session_is_wiped (Fixture *f, gconstpointer data)
{
  g_autofree char *accounts = g_build_filename (f->data_dir, "accounts.json", NULL);
  g_autofree char *session = g_build_filename (f->data_dir, "session.json", NULL);
  g_autofree char *contents = NULL;
  g_autofree char *key_b64 = NULL;
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (JsonNode) s = NULL;
  g_auto (TsrTestRun) login = { 0 };
  g_auto (TsrTestRun) list = { 0 };
  g_auto (TsrTestRun) relogin = { 0 };
  g_auto (TsrTestRun) who = { 0 };

  g_assert_true (g_file_get_contents (accounts, &contents, NULL, NULL));
  root = tsr_test_parse_json (contents);
  json_object_set_int_member (json_node_get_object (root), "session_idle_seconds", 2);
  g_clear_pointer (&contents, g_free);
  contents = json_to_string (root, FALSE);
  g_assert_true (g_file_set_contents (accounts, contents, -1, NULL));
  g_clear_pointer (&contents, g_free);

  cli (f, &login, PASSWORD "\n", "login", "tester", "--password-stdin", NULL);
  g_assert_cmpint (login.status, ==, 0);
  g_assert_true (g_file_get_contents (session, &contents, NULL, NULL));
  s = tsr_test_parse_json (contents);
  key_b64 = g_strdup (json_object_get_string_member (json_node_get_object (s), "data_key"));
  g_usleep (3 * G_USEC_PER_SEC);

  cli (f, &list, NULL, "list", NULL);
  g_assert_cmpint (list.status, ==, 3);
  g_assert_nonnull (strstr (list.err, "expired"));
  g_assert_false (g_file_test (session, G_FILE_TEST_EXISTS));
  g_assert_false (tree_has (f->data_dir, key_b64, strlen (key_b64)));

  /* A damaged one likewise. */
  cli (f, &relogin, PASSWORD "\n", "login", "tester", "--password-stdin", NULL);
  g_assert_cmpint (relogin.status, ==, 0);
  g_assert_true (g_file_set_contents (session, "{\"token\": 1, \"data_key\": \"AAAA\"}", -1, NULL));
  cli (f, &who, NULL, "whoami", NULL);
  g_assert_cmpint (who.status, ==, 3);
  g_assert_nonnull (strstr (who.err, "damaged"));
  g_assert_false (g_file_test (session, G_FILE_TEST_EXISTS));
}

static char *
oathtool_code (const char *secret, gint64 t)
{
  g_autofree char *at = g_strdup_printf ("@%" G_GINT64_FORMAT, t);
  const char *argv[] = { "oathtool", "--totp", "-b", "-N", at, secret, NULL };
  g_autoptr (GError) error = NULL;
  char *out = NULL;

  g_assert_true (g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
                               NULL, NULL, &error));
  g_assert_no_error (error);
  return g_strstrip (out);
}

/* Enrollment end to end with independent tools: zbarimg reads the QR code, oathtool makes
 * the codes. */
static void
test_two_factor_with_qr (Fixture *f, gconstpointer data)
{
  g_autofree char *png = g_build_filename (f->dir, "qr.png", NULL);
  g_autofree char *zbarimg = g_find_program_in_path ("zbarimg");
  g_autofree char *oath = g_find_program_in_path ("oathtool");
  g_autofree char *decoded = NULL;
  g_autofree char *code = NULL;
  g_autofree char *next = NULL;
  g_autoptr (JsonNode) json = NULL;
  g_auto (TsrTestRun) enable = { 0 };
  g_auto (TsrTestRun) confirm = { 0 };
  g_auto (TsrTestRun) out = { 0 };
  g_auto (TsrTestRun) no_code = { 0 };
  g_auto (TsrTestRun) with_code = { 0 };
  g_auto (TsrTestRun) replay = { 0 };
  g_auto (TsrTestRun) again = { 0 };
  g_auto (TsrTestRun) out_again = { 0 };
  g_auto (TsrTestRun) with_backup = { 0 };
  const char *uri, *secret;
  gint64 now;

  if (zbarimg == NULL || oath == NULL)
    {
      g_test_skip ("zbarimg or oathtool is missing (build-aux installs them)");
      return;
    }
  cli (f, &enable, NULL, "--json", "otp", "enable", "--qr-png", png, NULL);
  g_assert_cmpint (enable.status, ==, 0);
  json = tsr_test_parse_json (enable.out);
  uri = json_object_get_string_member (json_node_get_object (json), "uri");
  secret = json_object_get_string_member (json_node_get_object (json), "secret");
  g_assert_true (g_str_has_prefix (uri, "otpauth://totp/Tessera:tester?secret="));
  g_assert_cmpuint (json_array_get_length (
                        json_object_get_array_member (json_node_get_object (json), "backup_codes")),
                    ==, 10);
  {
    const char *argv[] = { zbarimg, "--raw", "-q", png, NULL };
    g_autoptr (GError) error = NULL;
    g_assert_true (g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &decoded,
                                 NULL, NULL, &error));
    g_assert_no_error (error);
  }
  g_assert_cmpstr (g_strstrip (decoded), ==, uri);

  now = g_get_real_time () / G_USEC_PER_SEC;
  code = oathtool_code (secret, now);
  cli (f, &confirm, PASSWORD "\n", "otp", "confirm", code, "--password-stdin", NULL);
  g_assert_cmpint (confirm.status, ==, 0);

  cli (f, &out, NULL, "logout", NULL);
  cli (f, &no_code, PASSWORD "\n", "login", "tester", "--password-stdin", NULL);
  g_assert_cmpint (no_code.status, ==, 3);
  g_assert_nonnull (strstr (no_code.err, "two-factor"));
  /* The confirming code is spent; the next step's is accepted once. */
  next = oathtool_code (secret, now + 30);
  cli (f, &with_code, PASSWORD "\n", "login", "tester", "--password-stdin", "--otp", next, NULL);
  g_assert_cmpint (with_code.status, ==, 0);
  cli (f, &replay, PASSWORD "\n", "login", "tester", "--password-stdin", "--otp", next, NULL);
  g_assert_cmpint (replay.status, ==, 3);

  /* Enabling again without confirming changes nothing yet: a backup code from the first
   * enrollment still signs in. */
  cli (f, &again, NULL, "otp", "enable", NULL);
  g_assert_cmpint (again.status, ==, 0);
  g_assert_nonnull (strstr (again.out, "keep working"));
  cli (f, &out_again, NULL, "logout", NULL);
  cli (f, &with_backup, PASSWORD "\n", "login", "tester", "--password-stdin", "--otp",
       json_array_get_string_element (
           json_object_get_array_member (json_node_get_object (json), "backup_codes"), 0),
       NULL);
  g_assert_cmpint (with_backup.status, ==, 0);
  /* Told how many are left, and how to get new ones. */
  {
    g_autofree char *left =
        g_strdup_printf ("A backup code was used: %d are left", TSR_ACCOUNTS_BACKUP_CODES - 1);
    g_assert_nonnull (strstr (with_backup.err, left));
    g_assert_nonnull (strstr (with_backup.err, "tessera-cli otp enable"));
  }
}

/* `otp enable --json`'s secret and backup codes. */
static void
enable_otp (Fixture *f, char **secret, GStrv *backup_codes)
{
  g_auto (TsrTestRun) enable = { 0 };
  g_autoptr (JsonNode) json = NULL;
  g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
  JsonObject *o;
  JsonArray *codes;

  cli (f, &enable, NULL, "--json", "otp", "enable", NULL);
  g_assert_cmpint (enable.status, ==, 0);
  json = tsr_test_parse_json (enable.out);
  o = json_node_get_object (json);
  *secret = g_strdup (json_object_get_string_member (o, "secret"));
  codes = json_object_get_array_member (o, "backup_codes");
  for (guint i = 0; i < json_array_get_length (codes); i++)
    g_strv_builder_add (b, json_array_get_string_element (codes, i));
  *backup_codes = g_strv_builder_end (b);
  g_assert_cmpuint (g_strv_length (*backup_codes), ==, TSR_ACCOUNTS_BACKUP_CODES);
}

/* session.json is all that someone who copied it has: with it alone they cannot put their own
 * authenticator on the account, nor switch the user's to theirs. */
static void
test_otp_confirm_needs_password (Fixture *f, gconstpointer data)
{
  g_autofree char *oath = g_find_program_in_path ("oathtool");
  g_autofree char *secret = NULL;
  g_autofree char *new_secret = NULL;
  g_autofree char *code = NULL;
  g_autofree char *new_code = NULL;
  g_auto (GStrv) backup = NULL;
  g_auto (GStrv) new_backup = NULL;
  g_auto (TsrTestRun) no_password = { 0 };
  g_auto (TsrTestRun) wrong_password = { 0 };
  g_auto (TsrTestRun) still_off = { 0 };
  g_auto (TsrTestRun) on = { 0 };
  g_auto (TsrTestRun) no_current = { 0 };
  g_auto (TsrTestRun) wrong_current = { 0 };
  g_auto (TsrTestRun) switched = { 0 };
  g_auto (TsrTestRun) out = { 0 };
  g_auto (TsrTestRun) old_backup = { 0 };
  g_auto (TsrTestRun) with_new_backup = { 0 };
  gint64 now;

  if (oath == NULL)
    {
      g_test_skip ("oathtool is missing (build-aux installs it)");
      return;
    }
  enable_otp (f, &secret, &backup);
  now = g_get_real_time () / G_USEC_PER_SEC;
  code = oathtool_code (secret, now);

  /* The session and the new app's code: no password, or a wrong one, turns nothing on. */
  cli (f, &no_password, "", "otp", "confirm", code, "--password-stdin", NULL);
  g_assert_cmpint (no_password.status, ==, 1);
  g_assert_nonnull (strstr (no_password.err, "No password was given"));
  cli (f, &wrong_password, "not my password\n", "otp", "confirm", code, "--password-stdin", NULL);
  g_assert_cmpint (wrong_password.status, ==, 3);
  g_assert_nonnull (strstr (wrong_password.err, "Wrong username or password"));
  cli (f, &still_off, PASSWORD "\n", "login", "tester", "--password-stdin", NULL);
  g_assert_cmpint (still_off.status, ==, 0);
  /* The enrollment waited for the password. */
  cli (f, &on, PASSWORD "\n", "otp", "confirm", code, "--password-stdin", NULL);
  g_assert_cmpint (on.status, ==, 0);
  g_assert_nonnull (strstr (on.out, "Two-factor authentication is on for tester"));

  /* Switching to another app needs a code from the working one (or a backup code) as well. */
  enable_otp (f, &new_secret, &new_backup);
  new_code = oathtool_code (new_secret, now + 30);
  cli (f, &no_current, PASSWORD "\n", "otp", "confirm", new_code, "--password-stdin", NULL);
  g_assert_cmpint (no_current.status, ==, 3);
  g_assert_nonnull (strstr (no_current.err, "give a code"));
  cli (f, &wrong_current, PASSWORD "\n", "otp", "confirm", new_code, "--otp", new_backup[0],
       "--password-stdin", NULL);
  g_assert_cmpint (wrong_current.status, ==, 3);
  g_assert_nonnull (strstr (wrong_current.err, "Wrong or already used two-factor code"));
  cli (f, &switched, PASSWORD "\n", "otp", "confirm", "--otp", backup[0], new_code,
       "--password-stdin", NULL);
  g_assert_cmpint (switched.status, ==, 0);

  /* Now the new backup codes sign in, the old ones no more. */
  cli (f, &out, NULL, "logout", NULL);
  cli (f, &old_backup, PASSWORD "\n", "login", "tester", "--password-stdin", "--otp", backup[1],
       NULL);
  g_assert_cmpint (old_backup.status, ==, 3);
  cli (f, &with_new_backup, PASSWORD "\n", "login", "tester", "--password-stdin", "--otp",
       new_backup[0], NULL);
  g_assert_cmpint (with_new_backup.status, ==, 0);
}

/* --qr-png never replaces what is at its path (a mistyped path must not destroy a file), and a
 * refused path starts no enrollment. */
static void
test_two_factor_qr_png_no_overwrite (Fixture *f, gconstpointer data)
{
  g_autofree char *precious = g_build_filename (f->dir, "precious.txt", NULL);
  g_autofree char *dangling = g_build_filename (f->dir, "dangling.png", NULL);
  g_autofree char *target = g_build_filename (f->dir, "target.png", NULL);
  g_autofree char *no_dir = g_build_filename (f->dir, "no such folder", "qr.png", NULL);
  g_autofree char *fresh = g_build_filename (f->dir, "fresh.png", NULL);
  g_autofree char *contents = NULL;
  g_auto (TsrTestRun) over_file = { 0 };
  g_auto (TsrTestRun) over_link = { 0 };
  g_auto (TsrTestRun) missing_dir = { 0 };
  g_auto (TsrTestRun) confirm = { 0 };
  g_auto (TsrTestRun) ok = { 0 };
  gsize len = 0;
  GStatBuf st;

  g_assert_true (g_file_set_contents (precious, "precious\n", -1, NULL));
  cli (f, &over_file, NULL, "otp", "enable", "--qr-png", precious, NULL);
  g_assert_cmpint (over_file.status, ==, 1);
  g_assert_nonnull (strstr (over_file.err, "already exists"));
  g_assert_true (g_file_get_contents (precious, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "precious\n");

  /* Not through a symlink either, even one that points nowhere yet. */
  g_assert_cmpint (symlink (target, dangling), ==, 0);
  cli (f, &over_link, NULL, "otp", "enable", "--qr-png", dangling, NULL);
  g_assert_cmpint (over_link.status, ==, 1);
  g_assert_false (g_file_test (target, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (dangling, G_FILE_TEST_IS_SYMLINK));

  cli (f, &missing_dir, NULL, "otp", "enable", "--qr-png", no_dir, NULL);
  g_assert_cmpint (missing_dir.status, ==, 1);
  g_assert_nonnull (strstr (missing_dir.err, "Cannot write"));

  /* None of these started an enrollment. */
  cli (f, &confirm, PASSWORD "\n", "otp", "confirm", "123456", "--password-stdin", NULL);
  g_assert_cmpint (confirm.status, ==, 1);
  g_assert_nonnull (strstr (confirm.err, "not started"));

  cli (f, &ok, NULL, "otp", "enable", "--qr-png", fresh, NULL);
  g_assert_cmpint (ok.status, ==, 0);
  g_clear_pointer (&contents, g_free);
  g_assert_true (g_file_get_contents (fresh, &contents, &len, NULL));
  g_assert_cmpuint (len, >, 8);
  g_assert_cmpmem (contents, 4, "\x89PNG", 4);
  g_assert_cmpint (g_stat (fresh, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  /* No temporary file left beside it. */
  {
    g_autoptr (GDir) d = g_dir_open (f->dir, 0, NULL);
    const char *name;
    while ((name = g_dir_read_name (d)) != NULL)
      g_assert_false (g_str_has_prefix (name, ".fresh.png."));
  }
}

/* Files are per user: B cannot list, download or delete A's file, even knowing its id. */
static void
test_users_are_isolated (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) content = NULL;
  g_autofree char *path = write_random (f, "private.bin", 5000, &content);
  g_autofree char *out = g_build_filename (f->dir, "stolen.bin", NULL);
  g_autoptr (JsonNode) up_json = NULL;
  g_auto (TsrTestRun) up = { 0 };
  g_auto (TsrTestRun) reg = { 0 };
  g_auto (TsrTestRun) login = { 0 };
  g_auto (TsrTestRun) list = { 0 };
  g_auto (TsrTestRun) down = { 0 };
  g_auto (TsrTestRun) del = { 0 };
  g_auto (TsrTestRun) back = { 0 };
  g_auto (TsrTestRun) mine = { 0 };
  const char *file_id;

  cli (f, &up, NULL, "--json", "upload", path, NULL);
  g_assert_cmpint (up.status, ==, 0);
  up_json = tsr_test_parse_json (up.out);
  file_id = json_object_get_string_member (
      json_array_get_object_element (json_node_get_array (up_json), 0), "file_id");

  cli (f, &reg, "another long password\n", "register", "mallory", "--email", "m@example.org",
       "--password-stdin", NULL);
  cli (f, &login, "another long password\n", "login", "mallory", "--password-stdin", NULL);
  g_assert_cmpint (login.status, ==, 0);
  cli (f, &list, NULL, "list", NULL);
  g_assert_cmpint (list.status, ==, 0);
  g_assert_null (strstr (list.out, file_id));
  cli (f, &down, NULL, "download", file_id, "-o", out, NULL);
  g_assert_cmpint (down.status, ==, 1);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  cli (f, &del, NULL, "delete", file_id, NULL);
  g_assert_cmpint (del.status, ==, 1);

  cli (f, &back, PASSWORD "\n", "login", "tester", "--password-stdin", NULL);
  cli (f, &mine, NULL, "download", file_id, "-o", out, NULL);
  g_assert_cmpint (mine.status, ==, 0);
  tsr_test_assert_file_equals (out, content);
}

/* A real SMTP server, as small as the protocol allows, on loopback: it takes one message. */
typedef struct
{
  GSocketListener *listener;
  guint16 port;
  GCancellable *cancel;
  char *rcpt;
  char *message;
} Sink;

static gboolean
sink_say (GOutputStream *out, const char *text)
{
  return g_output_stream_write_all (out, text, strlen (text), NULL, NULL, NULL);
}

static gpointer
sink_thread (gpointer data)
{
  Sink *s = data;
  g_autoptr (GSocketConnection) conn =
      g_socket_listener_accept (s->listener, NULL, s->cancel, NULL);
  g_autoptr (GDataInputStream) in = NULL;
  g_autoptr (GString) message = g_string_new (NULL);
  GOutputStream *out;
  char *line;

  if (conn == NULL)
    return NULL;
  g_socket_set_timeout (g_socket_connection_get_socket (conn), 20);
  in = g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (conn)));
  g_data_input_stream_set_newline_type (in, G_DATA_STREAM_NEWLINE_TYPE_CR_LF);
  out = g_io_stream_get_output_stream (G_IO_STREAM (conn));
  sink_say (out, "220 sink ready\r\n");
  while ((line = g_data_input_stream_read_line (in, NULL, NULL, NULL)) != NULL)
    {
      g_autofree char *l = line;
      if (g_str_has_prefix (l, "EHLO") || g_str_has_prefix (l, "HELO"))
        sink_say (out, "250-sink\r\n250 8BITMIME\r\n");
      else if (g_str_has_prefix (l, "MAIL FROM:"))
        sink_say (out, "250 OK\r\n");
      else if (g_str_has_prefix (l, "RCPT TO:"))
        {
          s->rcpt = g_strdup (l + strlen ("RCPT TO:"));
          sink_say (out, "250 OK\r\n");
        }
      else if (g_str_equal (l, "DATA"))
        {
          char *d;
          sink_say (out, "354 go on\r\n");
          while ((d = g_data_input_stream_read_line (in, NULL, NULL, NULL)) != NULL &&
                 !g_str_equal (d, "."))
            {
              g_string_append_printf (message, "%s\n", d);
              g_free (d);
            }
          g_free (d);
          s->message = g_strdup (message->str);
          sink_say (out, "250 queued\r\n");
        }
      else if (g_str_equal (l, "QUIT"))
        {
          sink_say (out, "221 bye\r\n");
          break;
        }
      else
        sink_say (out, "500 what\r\n");
    }
  return NULL;
}

static void
test_sign_in_notice (Fixture *f, gconstpointer data)
{
  Sink sink = { g_socket_listener_new (), 0, g_cancellable_new (), NULL, NULL };
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *smtp = g_build_filename (f->data_dir, "smtp.json", NULL);
  g_autofree char *config = NULL;
  g_auto (TsrTestRun) login = { 0 };
  g_auto (TsrTestRun) again = { 0 };
  GThread *thread;

  g_assert_true (g_socket_listener_add_address (sink.listener, any, G_SOCKET_TYPE_STREAM,
                                                G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error));
  sink.port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  config = g_strdup_printf ("{\"server\": \"127.0.0.1\", \"port\": %u, "
                            "\"sender\": \"tessera@example.org\", \"tls\": \"none\"}",
                            sink.port);
  g_assert_true (g_file_set_contents (smtp, config, -1, NULL));
  thread = g_thread_new ("smtp-sink", sink_thread, &sink);

  cli (f, &login, PASSWORD "\n", "login", "tester", "--password-stdin", NULL);
  g_assert_cmpint (login.status, ==, 0);
  g_thread_join (thread);
  g_assert_cmpstr (sink.rcpt, ==, "<tester@example.org>");
  g_assert_nonnull (sink.message);
  g_assert_nonnull (strstr (sink.message, "Subject: New sign-in to Tessera"));
  g_assert_nonnull (strstr (sink.message, "To: <tester@example.org>"));
  g_assert_nonnull (strstr (sink.message, "Hello tester"));

  /* With the server gone, the login still succeeds; the failure is only reported. */
  g_socket_listener_close (sink.listener);
  cli (f, &again, PASSWORD "\n", "login", "tester", "--password-stdin", NULL);
  g_assert_cmpint (again.status, ==, 0);
  g_assert_nonnull (strstr (again.err, "email notice not sent"));

  g_object_unref (sink.listener);
  g_object_unref (sink.cancel);
  g_free (sink.rcpt);
  g_free (sink.message);
}

static void
test_init (Fixture *f, gconstpointer data)
{
  g_auto (TsrTestRun) init = { 0 };
  g_auto (TsrTestRun) again = { 0 };
  g_auto (TsrTestRun) nodes = { 0 };
  g_auto (TsrTestRun) bad = { 0 };
  g_autoptr (JsonNode) json = NULL;

  cli (f, &bad, NULL, "init", "--nodes", "2", "--replicas", "3", NULL);
  g_assert_cmpint (bad.status, ==, 2);
  /* A value out of range says which would do. */
  {
    g_auto (TsrTestRun) small = { 0 };

    cli (f, &small, NULL, "init", "--chunk-size", "100", NULL);
    g_assert_cmpint (small.status, ==, 2);
    g_assert_nonnull (strstr (small.err, "give 4.0\u00a0KiB to 16.0\u00a0MiB"));
  }
  cli (f, &init, NULL, "init", "--nodes", "3", "--capacity", "1GB", "--chunk-size", "4KiB",
       "--replicas", "2", NULL);
  g_assert_cmpint (init.status, ==, 0);
  cli (f, &again, NULL, "init", NULL);
  g_assert_cmpint (again.status, ==, 1);
  cli (f, &nodes, NULL, "--json", "nodes", NULL);
  json = tsr_test_parse_json (nodes.out);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (json)), ==, 3);
  g_assert_cmpint (
      json_object_get_int_member (json_array_get_object_element (json_node_get_array (json), 0),
                                  "capacity_bytes"),
      ==, 1000000000);
}

/* Where a download may go. A name as long as a name can be still downloads (its temporary
 * file's name once made it too long). A link, a device or a pipe is never replaced, not even
 * with --force (as root, /dev/null became a plain file holding the plaintext). A download
 * killed halfway leaves nothing in the folder: no hidden part of the plaintext. */
static void
test_download_destinations (Fixture *f, gconstpointer data)
{
  g_autofree char *long_name = g_strnfill (240, 'n');
  g_autofree char *out_dir = g_build_filename (f->dir, "out", NULL);
  g_autofree char *long_out = g_build_filename (out_dir, long_name, NULL);
  g_autofree char *target = g_build_filename (f->dir, "target.txt", NULL);
  g_autofree char *link = g_build_filename (f->dir, "link.txt", NULL);
  g_autofree char *fifo = g_build_filename (f->dir, "pipe", NULL);
  g_autofree char *killed_out = g_build_filename (out_dir, "film.bin", NULL);
  g_autoptr (GBytes) small = NULL, big = NULL;
  g_autofree char *small_path = write_random (f, long_name, 70000, &small);
  g_autofree char *big_path = write_random (f, "film.bin", 24 * 1024 * 1024, &big);
  g_auto (TsrTestRun) up = { 0 };
  g_auto (TsrTestRun) down = { 0 };
  g_auto (TsrTestRun) to_link = { 0 };
  g_auto (TsrTestRun) to_fifo = { 0 };
  g_auto (TsrTestRun) slow = { 0 };
  g_auto (GStrv) ids = NULL;
  g_autofree char *link_points_to = NULL;
  g_autoptr (GDir) listing = NULL;
  const char *cli_path = g_getenv ("TESSERA_CLI");
  GPid pid;
  int status;

  cli (f, &up, NULL, "upload", small_path, big_path, NULL);
  g_assert_cmpint (up.status, ==, 0);
  ids = g_strsplit (g_strchomp (up.out), "\n", -1);
  g_assert_cmpuint (g_strv_length (ids), ==, 2);
  ids[0][16] = ids[1][16] = '\0'; /* the file ids, without the names after them */

  g_assert_cmpint (g_mkdir (out_dir, 0700), ==, 0);
  cli (f, &down, NULL, "download", ids[0], "--output", long_out, NULL);
  g_assert_cmpstr (down.err, ==, "");
  g_assert_cmpint (down.status, ==, 0);
  tsr_test_assert_file_equals (long_out, small);

  /* A folder that is not there is not a file's name. */
  {
    g_autofree char *no_dir = g_build_filename (f->dir, "new", NULL);
    g_autofree char *no_dir_slash = g_strconcat (no_dir, G_DIR_SEPARATOR_S, NULL);
    g_auto (TsrTestRun) to_dir = { 0 };

    cli (f, &to_dir, NULL, "download", ids[0], "--output", no_dir_slash, NULL);
    g_assert_cmpint (to_dir.status, ==, 1);
    g_assert_nonnull (strstr (to_dir.err, "There is no folder"));
    g_assert_false (g_file_test (no_dir, G_FILE_TEST_EXISTS));
  }

  g_assert_true (g_file_set_contents (target, "mine", -1, NULL));
  g_assert_cmpint (symlink (target, link), ==, 0);
  cli (f, &to_link, NULL, "download", ids[0], "--output", link, "--force", NULL);
  g_assert_cmpint (to_link.status, ==, 1);
  g_assert_nonnull (strstr (to_link.err, "not a regular file"));
  link_points_to = g_file_read_link (link, NULL);
  g_assert_cmpstr (link_points_to, ==, target);
  {
    g_autoptr (GBytes) mine = g_bytes_new_static ("mine", 4);
    tsr_test_assert_file_equals (target, mine);
  }
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  cli (f, &to_fifo, NULL, "download", ids[0], "--output", fifo, "--force", NULL);
  g_assert_cmpint (to_fifo.status, ==, 1);
  g_assert_nonnull (strstr (to_fifo.err, "not a regular file"));
  g_assert_true (g_file_test (fifo, G_FILE_TEST_EXISTS) &&
                 !g_file_test (fifo, G_FILE_TEST_IS_REGULAR));

  /* 24 MiB at 4 MiB/s: killed after a second, well before the end. */
  cli (f, &slow, NULL, "netem", "set", "--bandwidth", "4MiB/s", NULL);
  g_assert_cmpint (slow.status, ==, 0);
  {
    const char *argv[] = { cli_path, "--data-dir", f->data_dir, "download",
                           ids[1],   "--output",   killed_out,  NULL };
    g_autoptr (GError) error = NULL;

    g_assert_true (g_spawn_async (f->dir, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                  NULL, &pid, &error));
    g_assert_no_error (error);
  }
  g_usleep (G_USEC_PER_SEC);
  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFSIGNALED (status)); /* still running when killed, or the test shows nothing */
  g_spawn_close_pid (pid);
  listing = g_dir_open (out_dir, 0, NULL);
  g_assert_nonnull (listing);
  g_assert_cmpstr (g_dir_read_name (listing), ==, long_name);
  g_assert_null (g_dir_read_name (listing));
}

/* A node whose identity file is damaged: every command says so once on stderr and goes on
 * without it; files with copies elsewhere still download. */
static void
test_node_that_cannot_start (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) content = NULL;
  g_autofree char *path = write_random (f, "notes.txt", 3 * 65536, &content);
  g_autofree char *identity =
      g_build_filename (f->data_dir, "nodes", "Node_03", "identity.pem", NULL);
  g_autofree char *out = g_build_filename (f->dir, "back.txt", NULL);
  g_auto (TsrTestRun) up = { 0 };
  g_auto (TsrTestRun) health = { 0 };
  g_auto (TsrTestRun) down = { 0 };
  g_auto (GStrv) err_lines = NULL;

  cli (f, &up, NULL, "upload", path, NULL);
  g_assert_cmpint (up.status, ==, 0);
  up.out[16] = '\0';
  g_assert_true (g_file_set_contents (identity, "not a certificate", -1, NULL));

  cli (f, &health, NULL, "health", NULL);
  g_assert_cmpint (health.status, ==, 1); /* a node is not alive */
  g_assert_true (g_str_has_prefix (health.err, "tessera-cli: Node_03 is not running: "));
  g_assert_nonnull (strstr (health.err, "identity.pem"));
  err_lines = g_strsplit (g_strchomp (health.err), "\n", -1);
  g_assert_cmpuint (g_strv_length (err_lines), ==, 1);
  g_assert_nonnull (strstr (health.out, "4 of 5 nodes alive"));

  cli (f, &down, NULL, "download", up.out, "--output", out, NULL);
  g_assert_cmpint (down.status, ==, 0);
  g_assert_nonnull (strstr (down.err, "Node_03 is not running"));
  tsr_test_assert_file_equals (out, content);
}

/* The file id is the content's hash: the same content under another name is the file stored
 * already. upload says so instead of printing the id beside the new name as if it were
 * stored under it, and the list keeps the first name. */
static void
test_same_content_other_name (Fixture *f, gconstpointer data)
{
  g_autoptr (GBytes) content = NULL;
  g_autofree char *first = write_random (f, "report.pdf", 5000, &content);
  g_autofree char *second = g_build_filename (f->dir, "report copy.pdf", NULL);
  g_auto (TsrTestRun) up1 = { 0 };
  g_auto (TsrTestRun) up2 = { 0 };
  g_auto (TsrTestRun) list = { 0 };
  g_autofree char *expected = NULL;

  g_assert_true (g_file_set_contents (second, g_bytes_get_data (content, NULL),
                                      g_bytes_get_size (content), NULL));
  cli (f, &up1, NULL, "upload", "report.pdf", NULL);
  g_assert_cmpint (up1.status, ==, 0);
  cli (f, &up2, NULL, "upload", "report copy.pdf", NULL);
  g_assert_cmpint (up2.status, ==, 0);
  up1.out[16] = '\0';
  expected = g_strdup_printf (
      "%s  report copy.pdf  (the same content as “report.pdf”, stored already under that name)\n",
      up1.out);
  g_assert_cmpstr (up2.out, ==, expected);
  cli (f, &list, NULL, "list", NULL);
  g_assert_nonnull (strstr (list.out, "report.pdf"));
  g_assert_null (strstr (list.out, "report copy.pdf"));
}

/* A node's capacity is a quota on a disk it shares (five embedded nodes share one): storage
 * says what it can still take, which is less than the quota left when the disk has less
 * free. A 1000 TB quota on this disk showed 1000 TB available; the total counts the disk
 * once. */
static void
test_storage_counts_the_disk (Fixture *f, gconstpointer data)
{
  g_auto (TsrTestRun) init = { 0 };
  g_auto (TsrTestRun) storage = { 0 };
  g_autoptr (JsonNode) json = NULL;
  JsonArray *nodes;
  struct statvfs fs;
  guint64 disk_free;
  gint64 total;

  cli (f, &init, NULL, "init", "--capacity", "1000TB", NULL);
  g_assert_cmpint (init.status, ==, 0);
  cli (f, &storage, NULL, "--json", "storage", NULL);
  g_assert_cmpint (storage.status, ==, 0);
  g_assert_cmpint (statvfs (f->data_dir, &fs), ==, 0);
  disk_free = (guint64)fs.f_bavail * fs.f_frsize;
  json = tsr_test_parse_json (storage.out);
  nodes = json_object_get_array_member (json_node_get_object (json), "nodes");
  g_assert_cmpuint (json_array_get_length (nodes), ==, 5);
  for (guint i = 0; i < 5; i++)
    {
      JsonObject *n = json_array_get_object_element (nodes, i);
      gint64 available = json_object_get_int_member (n, "available_bytes");

      g_assert_cmpint (json_object_get_int_member (n, "capacity_bytes"), ==,
                       G_GINT64_CONSTANT (1000000000000000));
      /* The disk's free space, give or take what others wrote meanwhile. */
      g_assert_cmpint (available, >, 0);
      g_assert_cmpint (available, <=, (gint64)(disk_free + disk_free / 10));
    }
  /* The five share the disk: together they can take what it has free, not five times that. */
  total = json_object_get_int_member (json_node_get_object (json), "total_available_bytes");
  g_assert_cmpint (total, >, 0);
  g_assert_cmpint (total, <=, (gint64)(disk_free + disk_free / 10));
  g_assert_cmpint (total, >=, (gint64)(disk_free - disk_free / 10));
}

/* A data dir of five nodes of @capacity each, signed in, with @path uploaded. */
static void
init_and_upload (Fixture *f, const char *capacity, const char *path)
{
  g_auto (TsrTestRun) init = { 0 };
  g_auto (TsrTestRun) reg = { 0 };
  g_auto (TsrTestRun) login = { 0 };
  g_auto (TsrTestRun) up = { 0 };

  cli (f, &init, NULL, "init", "--capacity", capacity, NULL);
  g_assert_cmpint (init.status, ==, 0);
  cli (f, &reg, PASSWORD "\n", "register", "tester", "--email", "tester@example.org",
       "--password-stdin", NULL);
  g_assert_cmpint (reg.status, ==, 0);
  cli (f, &login, PASSWORD "\n", "login", "tester", "--password-stdin", NULL);
  g_assert_cmpint (login.status, ==, 0);
  cli (f, &up, NULL, "upload", path, NULL);
  g_assert_cmpint (up.status, ==, 0);
}

/* The node's figure @member in `--json storage` (or the total, for @node_id NULL). */
static gint64
storage_figure (Fixture *f, const char *node_id, const char *member)
{
  g_auto (TsrTestRun) r = { 0 };
  g_autoptr (JsonNode) json = NULL;
  JsonObject *o;
  JsonArray *nodes;

  cli (f, &r, NULL, "--json", "storage", NULL);
  g_assert_cmpint (r.status, ==, 0);
  json = tsr_test_parse_json (r.out);
  o = json_node_get_object (json);
  if (node_id == NULL)
    return json_object_get_int_member (o, member);
  nodes = json_object_get_array_member (o, "nodes");
  for (guint i = 0; i < json_array_get_length (nodes); i++)
    {
      JsonObject *n = json_array_get_object_element (nodes, i);
      if (g_strcmp0 (json_object_get_string_member (n, "node_id"), node_id) == 0)
        return json_object_get_int_member (n, member);
    }
  g_assert_not_reached ();
}

/* A disabled node keeps showing what it holds (it showed 0 bytes, as if emptied, once the
 * next command started without it), and its room no longer counts as free. */
static void
test_disabled_node_keeps_its_usage (Fixture *f, gconstpointer data)
{
  g_auto (TsrTestRun) disable = { 0 };
  g_autoptr (GBytes) content = NULL;
  g_autofree char *path = write_random (f, "kept.bin", 300000, &content);
  gint64 used3, total, available;

  init_and_upload (f, "100MB", path);
  used3 = storage_figure (f, "Node_03", "used_bytes");
  total = storage_figure (f, NULL, "total_used_bytes");
  available = storage_figure (f, NULL, "total_available_bytes");
  g_assert_cmpint (used3, >, 0);
  g_assert_cmpint (available, ==, 5 * 100000000 - total);

  cli (f, &disable, NULL, "node", "disable", "Node_03", NULL);
  g_assert_cmpint (disable.status, ==, 0);
  g_assert_cmpint (storage_figure (f, "Node_03", "used_bytes"), ==, used3);
  g_assert_cmpint (storage_figure (f, NULL, "total_used_bytes"), ==, total);
  g_assert_cmpint (storage_figure (f, NULL, "total_available_bytes"), ==,
                   4 * 100000000 - (total - used3));
}

/* --json prints fractions as short as they read back exactly: json-glib alone printed
 * 17 significant digits ("latency_ms" : 1.3180000000000001). Whole values stay fractions
 * ("10.0", not "1e+01"), and names that look like numbers are left alone. */
static void
test_json_numbers_short (Fixture *f, gconstpointer data)
{
  g_auto (TsrTestRun) storage = { 0 };
  g_auto (TsrTestRun) health = { 0 };
  g_auto (TsrTestRun) up = { 0 };
  g_auto (TsrTestRun) list = { 0 };
  g_autoptr (GBytes) content = NULL;
  g_autoptr (GBytes) other = NULL;
  g_autofree char *path = write_random (f, "one-byte.bin", 1, &content);
  g_autofree char *numeric = write_random (f, "1.50000000000000001e+01", 1, &other);
  g_autoptr (JsonNode) json = NULL;
  JsonArray *nodes;
  const char *p;
  guint whole = 0, zero = 0;

  /* A copy of one byte takes 17 bytes: 10 % of 170. */
  init_and_upload (f, "170", path);
  cli (f, &storage, NULL, "--json", "storage", NULL);
  g_assert_cmpint (storage.status, ==, 0);
  json = tsr_test_parse_json (storage.out);
  nodes = json_object_get_array_member (json_node_get_object (json), "nodes");
  /* Each node's figure as printed, in node order, against what it stands for. */
  p = storage.out;
  for (guint i = 0; i < json_array_get_length (nodes); i++)
    {
      JsonObject *n = json_array_get_object_element (nodes, i);
      double expected = 100.0 * json_object_get_int_member (n, "used_bytes") /
                        json_object_get_int_member (n, "capacity_bytes");
      g_autofree char *token = NULL;

      p = strstr (p, "\"utilization\" : ");
      g_assert_nonnull (p);
      p += strlen ("\"utilization\" : ");
      token = g_strndup (p, strcspn (p, ",\n }"));
      g_assert_cmpfloat (g_ascii_strtod (token, NULL), ==, expected);
      if (expected == 10)
        g_assert_cmpstr (token, ==, "10.0");
      else
        g_assert_cmpstr (token, ==, "0.0");
      whole += expected == 10;
      zero += expected == 0;
    }
  g_assert_cmpuint (whole, ==, 2); /* the byte's two copies */
  g_assert_cmpuint (zero, ==, 3);

  /* Latencies as measured: none has a digit that could go. */
  cli (f, &health, NULL, "--json", "health", NULL);
  g_assert_cmpint (health.status, ==, 0);
  for (p = strstr (health.out, "\"latency_ms\" : "); p != NULL; p = strstr (p, "\"latency_ms\" : "))
    {
      g_autofree char *token = NULL;
      char shorter[G_ASCII_DTOSTR_BUF_SIZE], format[16];
      guint digits = 0;

      p += strlen ("\"latency_ms\" : ");
      token = g_strndup (p, strcspn (p, ",\n }"));
      for (const char *c = token + strspn (token, "-0."); *c != '\0' && *c != 'e'; c++)
        digits += g_ascii_isdigit (*c);
      if (digits <= 1)
        continue;
      g_snprintf (format, sizeof format, "%%.%ug", digits - 1);
      g_ascii_formatd (shorter, sizeof shorter, format, g_ascii_strtod (token, NULL));
      g_assert_cmpfloat (g_ascii_strtod (shorter, NULL), !=, g_ascii_strtod (token, NULL));
    }

  cli (f, &up, NULL, "upload", numeric, NULL);
  g_assert_cmpint (up.status, ==, 0);
  cli (f, &list, NULL, "--json", "list", NULL);
  g_assert_cmpint (list.status, ==, 0);
  g_assert_nonnull (strstr (list.out, "\"1.50000000000000001e+01\""));
}

/* topology draws each node's peers as a tree: branches, and the last one closing it. */
static void
test_topology_tree (Fixture *f, gconstpointer data)
{
  g_auto (TsrTestRun) topo = { 0 };
  g_auto (GStrv) lines = NULL;
  guint branches = 0, ends = 0;

  cli (f, &topo, NULL, "topology", NULL);
  g_assert_cmpint (topo.status, ==, 0);
  lines = g_strsplit (g_strchomp (topo.out), "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      gboolean branch = g_str_has_prefix (lines[i], "  ├─ ");
      gboolean end = g_str_has_prefix (lines[i], "  └─ ");

      branches += branch;
      ends += end;
      /* After the end of a tree comes the next node, or nothing. */
      if (end && lines[i + 1] != NULL)
        g_assert_true (g_str_has_prefix (lines[i + 1], "Node_"));
    }
  g_assert_cmpuint (ends, ==, 5);      /* one per node */
  g_assert_cmpuint (branches, ==, 15); /* its other three peers */
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  if (g_getenv ("TESSERA_CLI") == NULL)
    {
      g_test_skip ("TESSERA_CLI is not set; run through meson test");
      return g_test_run ();
    }

#define ADD(path, fn)                                                                              \
  g_test_add ("/tessera/cli/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("upload-list-download-json", test_upload_list_download_json);
  ADD ("upload-many-files", test_upload_many_files);
  ADD ("upload-after-double-dash", test_upload_after_double_dash);
  ADD ("names-are-escaped", test_names_are_escaped);
  ADD ("exit-codes", test_exit_codes);
  ADD ("health-with-disabled-node", test_health_with_disabled_node);
  ADD ("storage-and-delete", test_storage_and_delete);
  ADD ("second-process-busy", test_second_process_busy);
  ADD ("shell", test_shell);
  ADD ("netem", test_netem);
  ADD ("accounts", test_accounts);
  ADD ("passwd-lockout", test_passwd_lockout);
  ADD ("expired-session-is-wiped", test_expired_session_is_wiped);
  ADD ("two-factor-with-qr", test_two_factor_with_qr);
  ADD ("two-factor-qr-png-no-overwrite", test_two_factor_qr_png_no_overwrite);
  ADD ("otp-confirm-needs-password", test_otp_confirm_needs_password);
  ADD ("users-are-isolated", test_users_are_isolated);
  ADD ("sign-in-notice", test_sign_in_notice);
  ADD ("self-healing", test_self_healing);
  ADD ("rebalance", test_rebalance);
  ADD ("download-destinations", test_download_destinations);
  ADD ("node-that-cannot-start", test_node_that_cannot_start);
  ADD ("same-content-other-name", test_same_content_other_name);
  ADD ("topology-tree", test_topology_tree);
#undef ADD
  /* Before anyone registers: an empty data dir. */
  g_test_add ("/tessera/cli/init", Fixture, GINT_TO_POINTER (1), fixture_setup, test_init,
              fixture_teardown);
  g_test_add ("/tessera/cli/storage-counts-the-disk", Fixture, GINT_TO_POINTER (1), fixture_setup,
              test_storage_counts_the_disk, fixture_teardown);
  g_test_add ("/tessera/cli/json-numbers-short", Fixture, GINT_TO_POINTER (1), fixture_setup,
              test_json_numbers_short, fixture_teardown);
  g_test_add ("/tessera/cli/disabled-node-keeps-its-usage", Fixture, GINT_TO_POINTER (1),
              fixture_setup, test_disabled_node_keeps_its_usage, fixture_teardown);

  return g_test_run ();
}
