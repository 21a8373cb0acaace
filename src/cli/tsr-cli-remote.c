/* tsr-cli-remote.c: this client's id, remote nodes (node add) and SSH fleet commands (remote)
 *
 * `remote add` takes a bare SSH account to a working node in one command: host key check,
 * tesserad installed or uploaded, this client trusted, the daemon started (systemd --user
 * where it runs, else a detached process), its id read back and pinned, the node added.
 * Hosts added are remembered in DATA_DIR/remotes.json; SSH state (the key Tessera generates,
 * known_hosts) lives in DATA_DIR/ssh/, apart from the user's own ~/.ssh.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include <errno.h>
#include <string.h>
#include <sodium.h>

#include "tsr-cli.h"
#include "tsr-json.h"

#define LOG_LINES_DEFAULT 100

/* ---- small helpers ---- */

static const char *
option_value (int argc, char **argv, const char *name)
{
  for (int i = 1; i + 1 < argc; i++)
    if (strcmp (argv[i], name) == 0)
      return argv[i + 1];
  return NULL;
}

static gboolean
has_flag (int argc, char **argv, const char *flag)
{
  for (int i = 1; i < argc; i++)
    if (strcmp (argv[i], flag) == 0)
      return TRUE;
  return FALSE;
}

static char *
data_path (TsrCli *cli, const char *a, const char *b)
{
  return g_build_filename (cli->data_dir, a, b, NULL);
}

static TsrIdentity *
client_identity (TsrCli *cli, GError **error)
{
  g_autofree char *dir = g_build_filename (cli->data_dir, "client", NULL);

  if (g_mkdir_with_parents (cli->data_dir, 0700) != 0)
    {
      tsr_set_error_from_errno (error, errno, _ ("Cannot create data dir %s"), cli->data_dir);
      return NULL;
    }
  return tsr_identity_load_or_create (dir, "tessera-client", error);
}

/* ---- id, node add ---- */

int
tsr_cli_cmd_id (TsrCli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrIdentity) identity = NULL;

  if (argc > 1)
    return tsr_cli_usage_error ("id", _ ("takes no arguments"));
  identity = client_identity (cli, &error);
  if (identity == NULL)
    return tsr_cli_fail (cli, error);
  if (cli->json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "client_id");
      json_builder_add_string_value (b, tsr_identity_get_id (identity));
      json_builder_end_object (b);
      tsr_cli_print_builder (b);
    }
  else
    printf ("%s\n", tsr_identity_get_id (identity));
  return TSR_EXIT_OK;
}

static void
print_added_node (TsrCli *cli, const char *name, const char *host, guint16 port, const char *id)
{
  if (cli->json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      g_autofree char *address = g_strdup_printf ("%s:%u", host, port);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "node_id");
      json_builder_add_string_value (b, name);
      json_builder_set_member_name (b, "address");
      json_builder_add_string_value (b, address);
      json_builder_set_member_name (b, "identity");
      json_builder_add_string_value (b, id);
      json_builder_end_object (b);
      tsr_cli_print_builder (b);
    }
  else
    printf (_ ("Added %s at %s:%u (id %s)\n"), name, host, port, id);
}

static int
add_node (TsrCli *cli, const char *name, const char *host, guint16 port, const char *id,
          guint64 capacity)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *auto_name = NULL;
  TsrCluster *cluster = tsr_cli_cluster (cli, cli->interactive);

  if (cluster == NULL)
    return TSR_EXIT_FAILED;
  if (name == NULL)
    name = auto_name = tsr_remote_next_node_name (tsr_cluster_get_config (cluster));
  if (!tsr_cluster_add_remote_node (cluster, name, host, port, id, capacity, &error))
    return tsr_cli_fail (cli, error);
  print_added_node (cli, name, host, port, id);
  return TSR_EXIT_OK;
}

/* node add HOST:PORT --id NODE_ID [--name NAME] [--capacity SIZE] */
int
tsr_cli_cmd_node_add (TsrCli *cli, int argc, char **argv)
{
  const char *id = option_value (argc, argv, "--id");
  const char *name = option_value (argc, argv, "--name");
  const char *cap_text = option_value (argc, argv, "--capacity");
  g_autofree char *host = NULL;
  guint64 capacity = TSR_SEGMENT_STORE_DEFAULT_CAPACITY;
  guint16 port = 0;

  if (argc < 3 || !tsr_parse_host_port (argv[2], &host, &port, FALSE))
    return tsr_cli_usage_error ("node add", _ ("use: node add HOST:PORT --id NODE_ID [--name NAME] "
                                               "[--capacity SIZE]"));
  for (int i = 3; i < argc; i += 2)
    if (i + 1 >= argc || (strcmp (argv[i], "--id") != 0 && strcmp (argv[i], "--name") != 0 &&
                          strcmp (argv[i], "--capacity") != 0))
      return tsr_cli_usage_error ("node add", _ ("unexpected argument “%s”"), argv[i]);
  if (!tsr_segment_id_is_valid (id))
    return tsr_cli_usage_error ("node add", _ ("--id takes the node's id, 64 lowercase hex "
                                               "characters (tesserad --print-id shows it)"));
  if (cap_text != NULL && !tsr_parse_size (cap_text, &capacity))
    return tsr_cli_usage_error ("node add", _ ("invalid value “%s” for --capacity"), cap_text);
  return add_node (cli, name, host, port, id, capacity);
}

static char *
remotes_path (TsrCli *cli)
{
  return data_path (cli, "remotes.json", NULL);
}

static GPtrArray *
load_remotes (TsrCli *cli, GError **error)
{
  g_autofree char *path = remotes_path (cli);
  return tsr_remotes_load (path, error);
}

static void
add_str (JsonBuilder *b, const char *key, const char *value)
{
  json_builder_set_member_name (b, key);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

/* ---- keys and sessions ---- */

static void
print_made_key (const char *path, const char *line)
{
  fprintf (stderr,
           _ ("tessera-cli: made an SSH key for Tessera in %s. Hosts must accept it: add this "
              "line to ~/.ssh/authorized_keys there:\n%s"),
           path, line);
}

/* Asks for the passphrase of @path (or Tessera's own key) when it has one; NULL when it has
 * none. Sets @error only when asking failed. */
static char *
ask_passphrase (TsrCli *cli, const char *path, gboolean passphrase_stdin, GError **error)
{
  g_autofree char *full = tsr_remote_key_path (cli->data_dir, path);
  g_autofree char *prompt = NULL;

  if (!g_file_test (full, G_FILE_TEST_EXISTS) || !tsr_ssh_key_is_encrypted_file (full))
    return NULL;
  prompt = g_strdup_printf (_ ("Passphrase for %s: "), full);
  return tsr_cli_read_secret (prompt, passphrase_stdin, error);
}

static void
wipe_secret (char *s)
{
  if (s != NULL)
    {
      sodium_memzero (s, strlen (s));
      g_free (s);
    }
}

/* A key given with --key is loaded (asking for its passphrase when it has one); without one,
 * Tessera's own key in DATA_DIR/ssh/ is used, made on first use. */
static TsrSshKey *
load_key (TsrCli *cli, const char *path, gboolean passphrase_stdin, GError **error)
{
  g_autofree char *made = NULL;
  char *passphrase = NULL;
  TsrSshKey *key;

  passphrase = ask_passphrase (cli, path, passphrase_stdin, error);
  if (passphrase == NULL && error != NULL && *error != NULL)
    return NULL;
  key = tsr_remote_load_key (cli->data_dir, path, passphrase, &made, error);
  wipe_secret (passphrase);
  if (made != NULL)
    {
      g_autofree char *own = tsr_remote_key_path (cli->data_dir, NULL);
      print_made_key (own, made);
    }
  return key;
}

static char *
known_hosts_path (TsrCli *cli)
{
  return data_path (cli, "ssh", "known_hosts");
}

static void
print_prefixed (FILE *out, const char *prefix, const char *text)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

  /* The empty piece after a final newline is not a line. */
  for (guint i = 0; lines[i] != NULL; i++)
    if (lines[i + 1] != NULL || lines[i][0] != '\0')
      fprintf (out, "%s: %s\n", prefix, lines[i]);
}

/* Prints an exec result as the command wrote it, or each line behind the host's name when
 * several hosts answer. */
static void
print_result (const char *prefix, const TsrSshExecResult *r)
{
  if (prefix == NULL)
    {
      fwrite (r->out, 1, r->out_len, stdout);
      fwrite (r->err, 1, r->err_len, stderr);
      return;
    }
  print_prefixed (stdout, prefix, r->out);
  print_prefixed (stderr, prefix, r->err);
}

static const char *const add_valued[] = { "--key",        "--trust-host-key", "--tesserad",
                                          "--name",       "--listen",         "--address",
                                          "--remote-dir", "--capacity",       NULL };

static gboolean
is_valued (const char *arg)
{
  return g_strv_contains (add_valued, arg);
}

/* Progress on the terminal: the messages the user must act on, when they apply. */
static void
on_add_step (TsrRemoteAdd *op, GParamSpec *pspec, const char *host)
{
  TsrRemoteAddStep step = tsr_remote_add_get_step (op);

  /* The new key first: the host refuses it until the user adds it there. */
  if (step == TSR_REMOTE_ADD_STEP_CONNECT && tsr_remote_add_get_made_key_line (op) != NULL)
    print_made_key (tsr_remote_add_get_key_path (op), tsr_remote_add_get_made_key_line (op));
  /* Right after connecting: provisioning, or recording a host for commands only. */
  if ((step == TSR_REMOTE_ADD_STEP_PROVISION ||
       (step == TSR_REMOTE_ADD_STEP_ADD && tsr_remote_add_get_node_host (op) == NULL)) &&
      tsr_remote_add_get_host_key_added (op))
    fprintf (stderr, _ ("tessera-cli: added %s (%s) to %s\n"), host,
             tsr_remote_add_get_host_fingerprint (op), tsr_remote_add_get_known_hosts_path (op));
}

static int
remote_add (TsrCli *cli, int argc, char **argv)
{
  const char *key_path = option_value (argc, argv, "--key");
  const char *trust = option_value (argc, argv, "--trust-host-key");
  const char *cap_text = option_value (argc, argv, "--capacity");
  const char *name = option_value (argc, argv, "--name");
  const char *listen = option_value (argc, argv, "--listen");
  const char *address = option_value (argc, argv, "--address");
  gboolean passphrase_stdin = has_flag (argc, argv, "--passphrase-stdin");
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrRemoteAdd) op = NULL;
  g_autofree char *target = NULL;
  g_autofree char *user = NULL;
  g_autofree char *host = NULL;
  g_autofree char *h = NULL;
  char *passphrase = NULL;
  TsrRemoteAddOptions options = { 0 };
  const TsrRemote *r;
  TsrCluster *cluster;
  guint16 p;
  gboolean ok;

  for (int i = 2; i < argc; i++)
    {
      if (is_valued (argv[i]))
        {
          if (++i >= argc)
            return tsr_cli_usage_error ("remote add", _ ("%s needs a value"), argv[i - 1]);
        }
      else if (strcmp (argv[i], "--no-provision") == 0 ||
               strcmp (argv[i], "--passphrase-stdin") == 0)
        ;
      else if (target == NULL && argv[i][0] != '-')
        target = g_strdup (argv[i]);
      else
        return tsr_cli_usage_error ("remote add", _ ("unexpected argument “%s”"), argv[i]);
    }
  if (target == NULL)
    return tsr_cli_usage_error ("remote add", _ ("use: remote add USER@HOST[:PORT] [--key PATH] "
                                                 "[--trust-host-key SHA256:...] [--tesserad PATH] "
                                                 "[--no-provision]"));
  if (!tsr_parse_ssh_target (target, &user, &host, &options.port))
    return tsr_cli_usage_error ("remote add", _ ("“%s” is not USER@HOST[:PORT]"), target);
  if (listen != NULL && !tsr_parse_host_port (listen, &h, &p, FALSE))
    return tsr_cli_usage_error ("remote add", _ ("--listen takes HOST:PORT"));
  g_clear_pointer (&h, g_free);
  if (address != NULL && !tsr_parse_host_port (address, &h, &p, FALSE))
    return tsr_cli_usage_error ("remote add", _ ("--address takes HOST:PORT"));
  if (cap_text != NULL && !tsr_parse_size (cap_text, &options.capacity))
    return tsr_cli_usage_error ("remote add", _ ("invalid value “%s” for --capacity"), cap_text);
  if (trust != NULL && !g_str_has_prefix (trust, "SHA256:"))
    return tsr_cli_usage_error ("remote add",
                                _ ("--trust-host-key takes a fingerprint like SHA256:abc…"));
  if (name != NULL && !tsr_cluster_node_id_is_valid (name))
    return tsr_cli_usage_error ("remote add", _ ("--name takes letters, digits, '_', '-' or '.'"));

  /* The cluster (and with it the data dir's lock) first: nothing is started on a host for a
   * cluster that cannot take the node. */
  cluster = tsr_cli_cluster (cli, cli->interactive);
  if (cluster == NULL)
    return TSR_EXIT_FAILED;
  passphrase = ask_passphrase (cli, key_path, passphrase_stdin, &error);
  if (error != NULL)
    return tsr_cli_fail (cli, error);
  options.user = user;
  options.host = host;
  options.key_path = key_path;
  options.key_passphrase = passphrase;
  options.accepted_host_key = trust;
  options.local_tesserad = option_value (argc, argv, "--tesserad");
  options.no_provision = has_flag (argc, argv, "--no-provision");
  options.name = name;
  options.listen = listen;
  options.address = address;
  options.remote_dir = option_value (argc, argv, "--remote-dir");
  op = tsr_remote_add_new (cluster, &options);
  wipe_secret (passphrase);
  g_signal_connect (op, "notify::step", G_CALLBACK (on_add_step), host);
  ok = tsr_remote_add_run (op, cli->cancellable, &error);
  g_signal_handlers_disconnect_by_data (op, host);
  if (!ok)
    return tsr_cli_fail (cli, error);

  r = tsr_remote_add_get_remote (op);
  if (options.no_provision)
    {
      if (!cli->json)
        printf (_ ("Added %s (%s@%s:%u, host key %s)\n"), r->name, r->user, r->host, r->port,
                tsr_remote_add_get_host_fingerprint (op));
    }
  else
    print_added_node (cli, r->name, tsr_remote_add_get_node_host (op),
                      tsr_remote_add_get_node_port (op), r->node_id);
  return TSR_EXIT_OK;
}

/* ---- list, exec, logs, status ---- */

static int
remote_list (TsrCli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) remotes = load_remotes (cli, &error);
  g_autoptr (JsonBuilder) b = json_builder_new ();

  if (argc > 2)
    return tsr_cli_usage_error ("remote list", _ ("takes no arguments"));
  if (remotes == NULL)
    return tsr_cli_fail (cli, error);
  json_builder_begin_array (b);
  if (!cli->json)
    printf ("%-12s  %-32s  %-8s  %s\n", _ ("NAME"), _ ("SSH"), _ ("SERVICE"), _ ("NODE ID"));
  for (guint i = 0; i < remotes->len; i++)
    {
      TsrRemote *r = remotes->pdata[i];
      g_autofree char *ssh = g_strdup_printf ("%s@%s:%u", r->user, r->host, r->port);

      tsr_remote_to_json (b, r);
      if (!cli->json)
        {
          g_autofree char *name = tsr_cli_escape (r->name);
          g_autofree char *ssh_shown = tsr_cli_escape (ssh);
          g_autofree char *service = tsr_cli_escape (r->service);
          g_autofree char *node_id = tsr_cli_escape (r->node_id ? r->node_id : "-");
          printf ("%-12s  %-32s  %-8s  %s\n", name, ssh_shown, service, node_id);
        }
    }
  json_builder_end_array (b);
  if (cli->json)
    {
      tsr_cli_print_builder (b);
    }
  return TSR_EXIT_OK;
}

/* A manager with every remote (or only @only), each with its own key. */
static TsrSshManager *
make_manager (TsrCli *cli, GPtrArray *remotes, const char *only, gboolean passphrase_stdin,
              GError **error)
{
  g_autofree char *kh = known_hosts_path (cli);
  g_autoptr (TsrSshManager) manager = NULL;
  g_autoptr (GHashTable) keys =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);

  for (guint i = 0; i < remotes->len; i++)
    {
      TsrRemote *r = remotes->pdata[i];
      const char *kp = r->key ? r->key : "";
      TsrSshKey *key;

      if (only != NULL && strcmp (r->name, only) != 0)
        continue;
      key = g_hash_table_lookup (keys, kp);
      if (key == NULL)
        {
          key = load_key (cli, r->key, passphrase_stdin, error);
          if (key == NULL)
            return NULL;
          g_hash_table_insert (keys, g_strdup (kp), key);
        }
      if (manager == NULL)
        manager = tsr_ssh_manager_new (key, kh);
      if (tsr_ssh_manager_add_host (manager, r->name, r->user, r->host, r->port, key, error) ==
          NULL)
        return NULL;
    }
  if (manager == NULL)
    {
      if (only != NULL)
        g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND,
                     _ ("There is no remote named %s (see tessera-cli remote list)"), only);
      else
        g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND,
                     _ ("There are no remotes yet: add one with tessera-cli remote add"));
    }
  return g_steal_pointer (&manager);
}

static void
build_reply (JsonBuilder *b, const TsrSshReply *reply)
{
  json_builder_begin_object (b);
  add_str (b, "name", reply->name);
  if (reply->result != NULL)
    {
      json_builder_set_member_name (b, "exit_status");
      json_builder_add_int_value (b, reply->result->exit_status);
      add_str (b, "stdout", reply->result->out);
      add_str (b, "stderr", reply->result->err);
    }
  else
    add_str (b, "error", reply->error->message);
  json_builder_end_object (b);
}

/* remote exec HOST|--all CMD... */
static int
remote_exec (TsrCli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) remotes = NULL;
  g_autoptr (TsrSshManager) manager = NULL;
  g_autoptr (GPtrArray) replies = NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autofree char *command = NULL;
  gboolean all;
  int status = TSR_EXIT_OK;

  if (argc < 4)
    return tsr_cli_usage_error ("remote exec", _ ("use: remote exec NAME|--all COMMAND..."));
  all = strcmp (argv[2], "--all") == 0;
  command = g_strjoinv (" ", argv + 3);
  remotes = load_remotes (cli, &error);
  if (remotes == NULL)
    return tsr_cli_fail (cli, error);
  manager = make_manager (cli, remotes, all ? NULL : argv[2], FALSE, &error);
  if (manager == NULL)
    return tsr_cli_fail (cli, error);
  replies = tsr_ssh_manager_broadcast (manager, command, cli->cancellable);
  json_builder_begin_array (b);
  for (guint i = 0; i < replies->len; i++)
    {
      TsrSshReply *reply = replies->pdata[i];

      build_reply (b, reply);
      if (reply->result == NULL)
        {
          g_autofree char *message = tsr_cli_escape_lines (reply->error->message);

          fprintf (stderr, "tessera-cli: %s: %s\n", reply->name, message);
          status = TSR_EXIT_FAILED;
          continue;
        }
      if (reply->result->exit_status != 0)
        status = TSR_EXIT_FAILED;
      if (!cli->json)
        {
          print_result (all ? reply->name : NULL, reply->result);
          if (all && reply->result->exit_status != 0)
            fprintf (stderr, _ ("%s: exit status %d\n"), reply->name, reply->result->exit_status);
        }
    }
  json_builder_end_array (b);
  if (cli->json)
    {
      tsr_cli_print_builder (b);
    }
  tsr_ssh_manager_disconnect_all (manager);
  return status;
}

/* remote logs NAME [--lines N] */
static int
remote_logs (TsrCli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) remotes = NULL;
  g_autoptr (TsrSshManager) manager = NULL;
  g_autoptr (TsrSshExecResult) result = NULL;
  g_autofree char *command = NULL;
  const char *lines_text = option_value (argc, argv, "--lines");
  guint64 lines = LOG_LINES_DEFAULT;
  TsrRemote *r;

  if (argc != 3 && argc != 5)
    return tsr_cli_usage_error ("remote logs", _ ("use: remote logs NAME [--lines N]"));
  if (lines_text != NULL && !g_ascii_string_to_unsigned (lines_text, 10, 1, 100000, &lines, NULL))
    return tsr_cli_usage_error ("remote logs", _ ("--lines takes a number"));
  remotes = load_remotes (cli, &error);
  if (remotes == NULL)
    return tsr_cli_fail (cli, error);
  r = tsr_remotes_find (remotes, argv[2]);
  if (r != NULL && strcmp (r->service, "none") == 0)
    {
      g_set_error (&error, TSR_ERROR, TSR_ERROR_NOT_FOUND,
                   _ ("%s runs no tesserad that Tessera started (added with --no-provision)"),
                   r->name);
      return tsr_cli_fail (cli, error);
    }
  manager = make_manager (cli, remotes, argv[2], FALSE, &error);
  if (manager == NULL)
    return tsr_cli_fail (cli, error);
  command = tsr_tesserad_logs_command (r->service, r->name, r->remote_dir, lines);
  result = tsr_ssh_manager_exec (manager, r->name, command, cli->cancellable, &error);
  if (result == NULL)
    return tsr_cli_fail (cli, error);
  print_result (NULL, result);
  return result->exit_status == 0 ? TSR_EXIT_OK : TSR_EXIT_FAILED;
}

/* remote status: for each remote, whether SSH works, whether its tesserad runs, and whether
 * the node answers this client (with its pinned identity). */
static int
remote_status (TsrCli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) remotes = NULL;
  g_autoptr (TsrSshManager) manager = NULL;
  g_autoptr (TsrIdentity) me = NULL;
  g_autoptr (TsrClusterConfig) config = NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autofree char *config_path = data_path (cli, "cluster.json", NULL);
  int status = TSR_EXIT_OK;

  if (argc > 2)
    return tsr_cli_usage_error ("remote status", _ ("takes no arguments"));
  remotes = load_remotes (cli, &error);
  if (remotes == NULL)
    return tsr_cli_fail (cli, error);
  manager = make_manager (cli, remotes, NULL, FALSE, &error);
  if (manager == NULL)
    return tsr_cli_fail (cli, error);
  me = client_identity (cli, &error);
  if (me == NULL)
    return tsr_cli_fail (cli, error);
  config = tsr_cluster_config_load (config_path, NULL);

  json_builder_begin_array (b);
  if (!cli->json)
    printf ("%-12s  %-6s  %-10s  %s\n", _ ("NAME"), _ ("SSH"), _ ("TESSERAD"), _ ("NODE"));
  for (guint i = 0; i < remotes->len; i++)
    {
      TsrRemote *r = remotes->pdata[i];
      g_autoptr (GError) ssh_error = NULL;
      g_autoptr (TsrSshExecResult) res = NULL;
      g_autofree char *daemon = NULL;
      const char *node = "-";
      TsrNodeConfig *nc = config ? tsr_cluster_config_find (config, r->name) : NULL;

      if (strcmp (r->service, "none") != 0)
        {
          g_autofree char *script =
              tsr_tesserad_status_command (r->service, r->name, r->remote_dir);
          res = tsr_ssh_manager_exec (manager, r->name, script, cli->cancellable, &ssh_error);
          daemon = res ? g_strdup (g_strstrip (res->out)) : NULL;
        }
      else if (tsr_ssh_manager_connect (manager, r->name, cli->cancellable, &ssh_error))
        daemon = g_strdup ("-");
      if (nc != NULL && nc->identity != NULL && !nc->embedded)
        {
          g_autofree char *address = g_strdup_printf ("%s:%u", nc->host, nc->port);
          g_autoptr (TsrNodeClient) client =
              tsr_node_client_new (nc->node_id, address, nc->identity, me);
          g_autoptr (TsrNodeHealth) h =
              tsr_node_client_health_check_full (client, 3000, 0, cli->cancellable, NULL);
          node = h != NULL ? "alive" : "DOWN";
        }
      if (ssh_error != NULL || g_strcmp0 (node, "DOWN") == 0 ||
          (daemon != NULL && strcmp (daemon, "active") != 0 && strcmp (daemon, "-") != 0))
        status = TSR_EXIT_FAILED;

      json_builder_begin_object (b);
      add_str (b, "name", r->name);
      json_builder_set_member_name (b, "ssh");
      json_builder_add_boolean_value (b, ssh_error == NULL);
      add_str (b, "tesserad", daemon);
      add_str (b, "node", node);
      if (ssh_error != NULL)
        add_str (b, "error", ssh_error->message);
      json_builder_end_object (b);
      if (!cli->json)
        {
          /* The words --json has stay as they are there; the table is for people. */
          g_autofree char *name = tsr_cli_escape (r->name);
          g_autofree char *daemon_shown = tsr_cli_escape (daemon ? daemon : "?"); /* remote */
          printf ("%-12s  %-6s  %-10s  %s\n", name, ssh_error ? _ ("ERROR") : _ ("ok"),
                  daemon_shown,
                  g_strcmp0 (node, "alive") == 0  ? _ ("alive")
                  : g_strcmp0 (node, "DOWN") == 0 ? _ ("DOWN")
                                                  : node);
          if (ssh_error != NULL)
            {
              g_autofree char *message = tsr_cli_escape_lines (ssh_error->message);
              fprintf (stderr, "tessera-cli: %s: %s\n", name, message);
            }
        }
    }
  json_builder_end_array (b);
  if (cli->json)
    {
      tsr_cli_print_builder (b);
    }
  tsr_ssh_manager_disconnect_all (manager);
  return status;
}

/* remote key [--passphrase-stdin]: makes Tessera's SSH key (if there is none) and prints its
 * public half, for authorized_keys. */
static int
remote_key (TsrCli *cli, int argc, char **argv)
{
  g_autofree char *path = data_path (cli, "ssh", "id_ed25519");
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrSshKey) key = NULL;
  g_autofree char *line = NULL;
  gboolean from_stdin = has_flag (argc, argv, "--passphrase-stdin");

  if (argc > 3 || (argc == 3 && !from_stdin))
    return tsr_cli_usage_error ("remote key", _ ("use: remote key [--passphrase-stdin]"));
  if (g_mkdir_with_parents (cli->data_dir, 0700) != 0)
    {
      tsr_set_error_from_errno (&error, errno, _ ("Cannot create data dir %s"), cli->data_dir);
      return tsr_cli_fail (cli, error);
    }
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      char *passphrase = NULL;
      gboolean ok;

      if (from_stdin)
        {
          passphrase = tsr_cli_read_secret (_ ("Passphrase for the new key: "), TRUE, &error);
          if (passphrase == NULL)
            return tsr_cli_fail (cli, error);
        }
      key = tsr_ssh_key_generate (&error);
      ok = key != NULL && tsr_ssh_key_save (key, path, passphrase, "tessera", &error);
      if (passphrase != NULL)
        {
          sodium_memzero (passphrase, strlen (passphrase));
          g_free (passphrase);
        }
      if (!ok)
        return tsr_cli_fail (cli, error);
    }
  else
    {
      key = load_key (cli, NULL, from_stdin, &error);
      if (key == NULL)
        return tsr_cli_fail (cli, error);
    }
  line = tsr_ssh_key_dup_public_line (key, "tessera");
  printf ("%s", line);
  return TSR_EXIT_OK;
}

int
tsr_cli_cmd_remote (TsrCli *cli, int argc, char **argv)
{
  const char *sub = argc > 1 ? argv[1] : "";

  if (strcmp (sub, "add") == 0)
    return remote_add (cli, argc, argv);
  if (strcmp (sub, "list") == 0)
    return remote_list (cli, argc, argv);
  if (strcmp (sub, "exec") == 0)
    return remote_exec (cli, argc, argv);
  if (strcmp (sub, "logs") == 0)
    return remote_logs (cli, argc, argv);
  if (strcmp (sub, "status") == 0)
    return remote_status (cli, argc, argv);
  if (strcmp (sub, "key") == 0)
    return remote_key (cli, argc, argv);
  return tsr_cli_usage_error (
      "remote",
      _ ("use one of:\n"
         "  remote add USER@HOST[:PORT] [--key PATH] [--passphrase-stdin] [--trust-host-key "
         "SHA256:...]\n"
         "             [--tesserad PATH] [--no-provision] [--name NAME] [--remote-dir DIR]\n"
         "             [--listen HOST:PORT] [--address HOST:PORT] [--capacity SIZE]\n"
         "  remote list\n"
         "  remote exec NAME|--all COMMAND...\n"
         "  remote logs NAME [--lines N]\n"
         "  remote status\n"
         "  remote key [--passphrase-stdin]"));
}
