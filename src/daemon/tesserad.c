/* tesserad: a headless Tessera node (the seed's VirtualNode as a process of its own)
 *
 * Serves one segment store over the wire protocol (TLS 1.3, pinned identities) to the clients
 * in its trust store. Its files live under DATA_DIR/node/ (the same layout as an embedded
 * node's DATA_DIR/nodes/<id>/), so the CLI's files in the same data dir never mix with them.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib-unix.h>

#include "tessera.h"

enum
{
  EXIT_USAGE = 2,
};

typedef struct
{
  GMainLoop *loop;
  TsrTrustStore *trusted;
  int stop_signal;
} Daemon;

/* One line per message on stderr, with no timestamp: journald (or the caller) adds its own. */
static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
  const char *message = NULL;
  const char *prefix = "";

  if (!(level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING |
                 G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO)) &&
      g_getenv ("G_MESSAGES_DEBUG") == NULL)
    return G_LOG_WRITER_HANDLED;
  for (gsize i = 0; i < n_fields; i++)
    if (strcmp (fields[i].key, "MESSAGE") == 0)
      message = fields[i].value;
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    prefix = "error: ";
  else if (level & G_LOG_LEVEL_WARNING)
    prefix = "warning: ";
  fprintf (stderr, "tesserad: %s%s\n", prefix, message ? message : "");
  fflush (stderr);
  /* GLib itself aborts on fatal levels after the writer returns. */
  return G_LOG_WRITER_HANDLED;
}

static gboolean
on_stop_signal (gpointer data)
{
  Daemon *d = data;

  g_message ("stopping");
  g_main_loop_quit (d->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
on_hangup (gpointer data)
{
  Daemon *d = data;
  g_autoptr (GError) error = NULL;

  if (tsr_trust_store_reload (d->trusted, &error))
    g_message ("reloaded the trusted clients");
  else
    g_message ("kept the trusted clients as they were: %s", error->message);
  return G_SOURCE_CONTINUE;
}

static gboolean
parse_listen (const char *text, char **host, guint16 *port, GError **error)
{
  const char *colon = text ? strrchr (text, ':') : NULL;
  guint64 v;

  if (colon == NULL || colon == text ||
      !g_ascii_string_to_unsigned (colon + 1, 10, 0, 65535, &v, NULL))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                   "--listen takes HOST:PORT, such as 0.0.0.0:7420 (got “%s”)", text ? text : "");
      return FALSE;
    }
  /* [::1]:7420 for IPv6 */
  if (text[0] == '[' && colon[-1] == ']')
    *host = g_strndup (text + 1, colon - text - 2);
  else
    *host = g_strndup (text, colon - text);
  *port = v;
  return TRUE;
}

/* `tesserad trust CLIENT_ID`: writes the trust store, then asks a running daemon (the owner of
 * the store's lock) to read it again. */
static int
cmd_trust (const char *node_dir, const char *client_id, const char *name)
{
  g_autofree char *path = g_build_filename (node_dir, "trusted.json", NULL);
  g_autofree char *lock_path = g_build_filename (node_dir, "lock", NULL);
  g_autoptr (TsrTrustStore) trusted = NULL;
  g_autoptr (TsrLockFile) lock = NULL;
  g_autoptr (GError) error = NULL;

  if (g_mkdir_with_parents (node_dir, 0700) != 0)
    {
      g_printerr (_ ("tesserad: cannot create %s: %s\n"), node_dir, g_strerror (errno));
      return EXIT_FAILURE;
    }
  trusted = tsr_trust_store_load (path, &error);
  if (trusted == NULL || !tsr_trust_store_add (trusted, client_id, name, &error))
    {
      g_printerr ("tesserad: %s\n", error->message);
      return error->code == TSR_ERROR_INVALID_ARGUMENT ? EXIT_USAGE : EXIT_FAILURE;
    }
  lock = tsr_lock_file_acquire (lock_path, "node", &error);
  if (lock == NULL && g_error_matches (error, TSR_ERROR, TSR_ERROR_BUSY))
    {
      g_autofree char *pid_text = NULL;
      gint64 pid = 0;

      if (g_file_get_contents (lock_path, &pid_text, NULL, NULL))
        pid = g_ascii_strtoll (pid_text, NULL, 10);
      if (pid > 1 && kill ((pid_t)pid, SIGHUP) == 0)
        g_print (_ ("Trusted %s; the running tesserad (PID %lld) was told\n"), client_id,
                 (long long)pid);
      else
        g_print (_ ("Trusted %s; restart tesserad to apply it\n"), client_id);
    }
  else
    g_print (_ ("Trusted %s\n"), client_id);
  return EXIT_SUCCESS;
}

static int
serve (const char *node_dir, const char *listen, guint64 capacity, const char *name)
{
  g_autofree char *trusted_path = g_build_filename (node_dir, "trusted.json", NULL);
  g_autofree char *host = NULL;
  g_autofree char *address = NULL;
  g_autoptr (TsrIdentity) identity = NULL;
  g_autoptr (TsrSegmentStore) store = NULL;
  g_autoptr (TsrNode) node = NULL;
  g_autoptr (GPtrArray) ids = NULL;
  g_autoptr (GError) error = NULL;
  Daemon d = { 0 };
  guint16 port = 0;

  if (!parse_listen (listen, &host, &port, &error))
    {
      g_printerr ("tesserad: %s\n", error->message);
      return EXIT_USAGE;
    }
  if (g_mkdir_with_parents (node_dir, 0700) != 0)
    {
      g_printerr (_ ("tesserad: cannot create %s: %s\n"), node_dir, g_strerror (errno));
      return EXIT_FAILURE;
    }
  identity = tsr_identity_load_or_create (node_dir, name, &error);
  if (identity == NULL)
    goto fail;
  store = tsr_segment_store_open (node_dir, capacity, &error);
  if (store == NULL)
    goto fail;
  d.trusted = tsr_trust_store_load (trusted_path, &error);
  if (d.trusted == NULL)
    goto fail;
  ids = tsr_trust_store_list (d.trusted);
  if (ids->len == 0)
    g_message ("no client is trusted yet: run “tesserad --data-dir DIR trust CLIENT_ID” "
               "(the client's id comes from “tessera-cli id”)");

  node = tsr_node_new (name, store, identity, d.trusted);
  if (!tsr_node_start (node, host, port, &error))
    goto fail;
  address = tsr_node_dup_address (node);
  g_message ("%s serving on %s as %s (capacity %" G_GUINT64_FORMAT " bytes, %u trusted "
             "clients)",
             name, address, tsr_identity_get_id (identity), tsr_segment_store_get_capacity (store),
             ids->len);

  d.loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGTERM, on_stop_signal, &d);
  g_unix_signal_add (SIGINT, on_stop_signal, &d);
  g_unix_signal_add (SIGHUP, on_hangup, &d);
  g_main_loop_run (d.loop);
  g_main_loop_unref (d.loop);

  /* Stop accepting (new connections are refused), close the open ones and wait for the
   * requests being worked on to complete: a store finishes on disk even if its answer is lost
   * (clients retry, and storing the same segment again is a no-op). Then make everything
   * stored durable before the process ends. */
  tsr_node_stop (node);
  if (!tsr_segment_store_close (store, &error))
    {
      g_clear_object (&d.trusted);
      goto fail;
    }
  g_clear_object (&d.trusted);
  g_message ("%s stopped", name);
  return EXIT_SUCCESS;

fail:
  g_clear_object (&d.trusted);
  g_printerr ("tesserad: %s\n", error->message);
  return EXIT_FAILURE;
}

int
main (int argc, char **argv)
{
  g_autofree char *data_dir = NULL;
  g_autofree char *listen = NULL;
  g_autofree char *capacity_text = NULL;
  g_autofree char *name = NULL;
  g_autofree char *node_dir = NULL;
  gboolean print_id = FALSE, version = FALSE;
  guint64 capacity = TSR_SEGMENT_STORE_DEFAULT_CAPACITY;
  g_autoptr (GError) error = NULL;
  g_autoptr (GOptionContext) ctx = NULL;
  const GOptionEntry entries[] = {
    { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &data_dir,
      N_ ("Keep the node's files under DIR/node (default: $TESSERA_DATA_DIR, else "
          "$XDG_DATA_HOME/tessera)"),
      "DIR" },
    { "listen", 0, 0, G_OPTION_ARG_STRING, &listen, N_ ("Serve on HOST:PORT"), "HOST:PORT" },
    { "capacity", 0, 0, G_OPTION_ARG_STRING, &capacity_text,
      N_ ("Store at most SIZE (such as 100GB; default 10GB)"), "SIZE" },
    { "name", 0, 0, G_OPTION_ARG_STRING, &name, N_ ("The node's name in logs and topology"),
      "NAME" },
    { "print-id", 0, 0, G_OPTION_ARG_NONE, &print_id, N_ ("Print the node's id and exit"), NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, N_ ("Print the version and exit"), NULL },
    { NULL },
  };

  setlocale (LC_ALL, "");
  /* TESSERA_LOCALEDIR: the build tree's catalogs, for running and testing uninstalled. Only
   * what a person reads at the terminal is translated; the log stays English for journald
   * searches and bug reports. */
  bindtextdomain (GETTEXT_PACKAGE, g_getenv ("TESSERA_LOCALEDIR") != NULL
                                       ? g_getenv ("TESSERA_LOCALEDIR")
                                       : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_log_set_writer_func (log_writer, NULL, NULL);

  ctx = g_option_context_new ("[trust CLIENT_ID [NAME]]");
  g_option_context_set_summary (ctx, _ ("A Tessera storage node: serves its segment store over "
                                        "TLS 1.3 to the clients it trusts."));
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr (_ ("tesserad: %s (see tesserad --help)\n"), error->message);
      return EXIT_USAGE;
    }
  if (version)
    {
      g_print ("tesserad %s\n", PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }
  if (data_dir == NULL)
    data_dir = tsr_default_data_dir ();
  node_dir = g_build_filename (data_dir, "node", NULL);
  if (name == NULL)
    name = g_strdup (g_get_host_name ());
  if (capacity_text != NULL && !tsr_parse_size (capacity_text, &capacity))
    {
      g_printerr (_ ("tesserad: --capacity takes a size such as 10GB or 512MiB\n"));
      return EXIT_USAGE;
    }

  if (argc >= 2 && strcmp (argv[1], "trust") == 0)
    {
      if (argc < 3 || argc > 4)
        {
          g_printerr (_ ("tesserad: use: tesserad --data-dir DIR trust CLIENT_ID [NAME]\n"));
          return EXIT_USAGE;
        }
      return cmd_trust (node_dir, argv[2], argc == 4 ? argv[3] : "client");
    }
  if (argc > 1)
    {
      g_printerr (_ ("tesserad: unknown command “%s” (see tesserad --help)\n"), argv[1]);
      return EXIT_USAGE;
    }
  if (print_id)
    {
      g_autoptr (TsrIdentity) identity = NULL;

      if (g_mkdir_with_parents (node_dir, 0700) != 0)
        {
          g_printerr (_ ("tesserad: cannot create %s: %s\n"), node_dir, g_strerror (errno));
          return EXIT_FAILURE;
        }
      identity = tsr_identity_load_or_create (node_dir, name, &error);
      if (identity == NULL)
        {
          g_printerr ("tesserad: %s\n", error->message);
          return EXIT_FAILURE;
        }
      g_print ("%s\n", tsr_identity_get_id (identity));
      return EXIT_SUCCESS;
    }
  if (listen == NULL)
    {
      g_printerr (_ ("tesserad: --listen HOST:PORT is required to serve (see tesserad --help)\n"));
      return EXIT_USAGE;
    }
  return serve (node_dir, listen, capacity, name);
}
