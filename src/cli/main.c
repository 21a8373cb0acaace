/* tessera-cli: the command-line client (the seed's cmd-module CLI, as subcommands)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <malloc.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <glib-unix.h>

#include "tsr-cli.h"
#include "tsr-json.h"

static int tsr_cli_cmd_help (TsrCli *cli, int argc, char **argv);

static const TsrCliCommand commands[] = {
  { "help", "[COMMAND]", N_ ("this help, or a command's"), tsr_cli_cmd_help },
  { "init", "[--nodes N] [--capacity SIZE] [--chunk-size SIZE] [--replicas R]",
    N_ ("create the cluster (optional: the first command creates the default one)"),
    tsr_cli_cmd_init },
  { "upload", "[--] PATH...", N_ ("upload files; prints each file id"), tsr_cli_cmd_upload },
  { "download", "FILE_ID [--output PATH] [--force]", N_ ("download a file"), tsr_cli_cmd_download },
  { "list", "", N_ ("list the stored files"), tsr_cli_cmd_list },
  { "delete", "FILE_ID", N_ ("delete a file from every node"), tsr_cli_cmd_delete },
  { "nodes", "", N_ ("the nodes and their state"), tsr_cli_cmd_nodes },
  { "health", "", N_ ("check every node (exit status 1 when one is down)"), tsr_cli_cmd_health },
  { "storage", "", N_ ("usage per node and in total"), tsr_cli_cmd_storage },
  { "topology", "", N_ ("the nodes and the peers each one knows"), tsr_cli_cmd_topology },
  { "stats", "", N_ ("network statistics per node and in total"), tsr_cli_cmd_stats },
  { "netem",
    "show | profile off|seed | set [--node ID] --bandwidth RATE --latency MIN-MAX --loss PCT",
    N_ ("the emulated network: bandwidth, latency and loss per node"), tsr_cli_cmd_netem },
  { "node", "disable|enable|remove NODE_ID",
    N_ ("take a node out of service or back; drain and remove it"), tsr_cli_cmd_node },
  { "repair", "", N_ ("give every file its full number of copies again"), tsr_cli_cmd_repair },
  { "rebalance", "", N_ ("even out what the nodes hold (after adding a node)"),
    tsr_cli_cmd_rebalance },
  { "scrub", "", N_ ("re-hash every stored copy now; repair the corrupt ones"), tsr_cli_cmd_scrub },
  { "gc", "[--grace SECONDS]", N_ ("delete copies no file uses (left by crashes)"),
    tsr_cli_cmd_gc },
  { "shell", "", N_ ("the interactive form of these commands"), tsr_cli_cmd_shell },
  { "id", "", N_ ("print this client's id (what tesserad trusts)"), tsr_cli_cmd_id },
  { "remote", "add|list|exec|logs|status|key ...", N_ ("nodes on other machines, over SSH"),
    tsr_cli_cmd_remote },
  { "register", "USER --email EMAIL [--password-stdin]", N_ ("create an account"),
    tsr_cli_cmd_register },
  { "login", "USER [--password-stdin] [--otp CODE]", N_ ("log in (file commands need it)"),
    tsr_cli_cmd_login },
  { "logout", "", N_ ("end the session and wipe its key"), tsr_cli_cmd_logout },
  { "whoami", "", N_ ("who is logged in"), tsr_cli_cmd_whoami },
  { "passwd", "[--password-stdin]", N_ ("change the password (stdin: old, then new)"),
    tsr_cli_cmd_passwd },
  { "otp", "enable [--qr-png PATH] | confirm CODE [--otp CURRENT] | disable [--otp CODE]",
    N_ ("two-factor authentication; confirm and disable ask for the password (or take it with "
        "--password-stdin)"),
    tsr_cli_cmd_otp },
};

void
tsr_cli_print_usage (FILE *out)
{
  fprintf (out, "%s",
           _ ("Usage: tessera-cli [--data-dir DIR] [--json] COMMAND [ARGS...]\n\n"
              "Tessera splits files into encrypted segments and replicates them across "
              "nodes.\n\n"
              "Options:\n"
              "  --data-dir DIR   use DIR (default: $TESSERA_DATA_DIR, else "
              "$XDG_DATA_HOME/tessera)\n"
              "  --json           machine-readable output\n"
              "  --version        print the version\n"
              "  -h, --help       show this help\n\n"
              "Commands:\n"));
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_autofree char *head = g_strdup_printf ("%s %s", commands[i].name, commands[i].args);
      fprintf (out, "  %-58s %s\n", head, _ (commands[i].summary));
    }
  fprintf (out, "\n%s\n",
           _ ("Exit status: 0 success, 1 the operation failed, 2 usage error, 3 not logged in or "
              "authentication failed."));
}

static const TsrCliCommand *
find_command (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (name, commands[i].name) == 0)
      return &commands[i];
  return NULL;
}

static void
print_command_usage (const TsrCliCommand *c)
{
  printf (_ ("Usage: tessera-cli %s %s\n  %s\n"), c->name, c->args, _ (c->summary));
}

/* With --json, usage errors too are {"error", "code": "USAGE"}: set by main(). */
static gboolean json_errors;

/* Prints the error object @b built, on one line of standard error. */
static void
print_json_error (JsonBuilder *b)
{
  g_autoptr (JsonNode) node = json_builder_get_root (b);
  g_autofree char *text = json_to_string (node, FALSE);

  fprintf (stderr, "%s\n", text);
}

static int
unknown_command (const char *name)
{
  g_autofree char *shown = NULL;

  if (json_errors)
    return tsr_cli_usage_error (name, _ ("unknown command; see tessera-cli --help"));
  shown = tsr_cli_escape (name);
  fprintf (stderr, _ ("tessera-cli: unknown command “%s”; see tessera-cli --help\n"), shown);
  return TSR_EXIT_USAGE;
}

/* `help` is what a user types first; `help COMMAND` is `COMMAND --help`. */
static int
tsr_cli_cmd_help (TsrCli *cli, int argc, char **argv)
{
  const TsrCliCommand *c;

  if (argc == 1)
    {
      tsr_cli_print_usage (stdout);
      return TSR_EXIT_OK;
    }
  if (argc > 2)
    return tsr_cli_usage_error ("help", _ ("use: help [COMMAND]"));
  c = find_command (argv[1]);
  if (c == NULL)
    return unknown_command (argv[1]);
  print_command_usage (c);
  return TSR_EXIT_OK;
}

int
tsr_cli_dispatch (TsrCli *cli, int argc, char **argv)
{
  const TsrCliCommand *c = find_command (argv[0]);

  if (c == NULL)
    return unknown_command (argv[0]);
  if (argc > 1 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0))
    {
      print_command_usage (c);
      return TSR_EXIT_OK;
    }
  return c->func (cli, argc, argv);
}

/* Whether @arg is written as an option: "-x" or "--x", but not "-" alone (by custom a path,
 * standard input) nor "--", which ends the options. */
gboolean
tsr_cli_is_option (const char *arg)
{
  return arg[0] == '-' && arg[1] != '\0' && strcmp (arg, "--") != 0;
}

/* An option @command does not know: a usage error (exit status 2), never taken for a name. */
int
tsr_cli_unknown_option (const char *command, const char *arg)
{
  return tsr_cli_usage_error (command, _ ("unknown option “%s”; see tessera-cli %s --help"), arg,
                              command);
}

/* Opens the data dir's cluster once per process; starts its nodes when @start. */
TsrCluster *
tsr_cli_cluster (TsrCli *cli, gboolean start)
{
  g_autoptr (GError) error = NULL;

  if (cli->cluster == NULL)
    {
      cli->cluster = tsr_cluster_open (cli->data_dir, &error);
      if (cli->cluster == NULL)
        {
          tsr_cli_fail (cli, error);
          return NULL;
        }
    }
  if (start && !cli->started)
    {
      g_autoptr (GPtrArray) nodes = NULL;

      if (!tsr_cluster_start (cli->cluster, &error))
        {
          tsr_cli_fail (cli, error);
          return NULL;
        }
      cli->started = TRUE;
      /* Said once, on stderr: the command goes on with the other nodes. */
      nodes = tsr_cluster_dup_node_status (cli->cluster);
      for (guint i = 0; i < nodes->len; i++)
        {
          TsrNodeStatus *s = nodes->pdata[i];
          g_autofree char *problem = NULL;

          if (s->problem == NULL)
            continue;
          problem = tsr_cli_escape_lines (s->problem);
          fprintf (stderr, _ ("tessera-cli: %s is not running: %s\n"), s->node_id, problem);
        }
    }
  return cli->cluster;
}

int
tsr_cli_fail (TsrCli *cli, const GError *error)
{
  if (cli->json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      tsr_json_set_string (b, "error", error->message);
      tsr_json_set_string (b, "code",
                           error->domain == TSR_ERROR ? tsr_error_code_to_string (error->code)
                                                      : "FAILED");
      json_builder_end_object (b);
      print_json_error (b);
    }
  else
    {
      /* Messages name files and hosts, and carry what remote programs said. */
      g_autofree char *message = tsr_cli_escape_lines (error->message);
      fprintf (stderr, "tessera-cli: %s\n", message);
    }
  return g_error_matches (error, TSR_ERROR, TSR_ERROR_AUTH) ||
                 g_error_matches (error, TSR_ERROR, TSR_ERROR_CODE_NEEDED) ||
                 g_error_matches (error, TSR_ERROR, TSR_ERROR_KEY_LOCKED)
             ? TSR_EXIT_AUTH
             : TSR_EXIT_FAILED;
}

int
tsr_cli_usage_error (const char *command, const char *format, ...)
{
  g_autofree char *msg = NULL;
  g_autofree char *shown = NULL;
  va_list args;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  if (json_errors)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      g_autofree char *text = g_strdup_printf ("%s: %s", command, msg);

      json_builder_begin_object (b);
      tsr_json_set_string (b, "error", text);
      tsr_json_set_string (b, "code", "USAGE");
      json_builder_end_object (b);
      print_json_error (b);
      return TSR_EXIT_USAGE;
    }
  shown = tsr_cli_escape_lines (msg); /* they quote the arguments given */
  fprintf (stderr, "tessera-cli %s: %s\n", command, shown);
  return TSR_EXIT_USAGE;
}

/* @d in the fewest significant digits that read back as it, written as Python writes floats:
 * without an exponent from 1e-4 up to 1e16 (10.0, not 1e+01), and a whole number keeps ".0",
 * so that it still reads as a fraction. */
static void
append_short_double (GString *out, double d)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  char format[16];
  int digits, exponent;
  const char *e;

  for (digits = 1; digits < 17; digits++)
    {
      g_snprintf (format, sizeof format, "%%.%de", digits - 1);
      g_ascii_formatd (buf, sizeof buf, format, d);
      if (g_ascii_strtod (buf, NULL) == d)
        break;
    }
  g_snprintf (format, sizeof format, "%%.%de", digits - 1);
  g_ascii_formatd (buf, sizeof buf, format, d);
  e = strchr (buf, 'e');
  exponent = e != NULL ? atoi (e + 1) : 0;
  if (d != 0 && (exponent < -4 || exponent >= 16))
    {
      g_string_append (out, buf);
      return;
    }
  g_snprintf (format, sizeof format, "%%.%df", MAX (digits - 1 - exponent, 0));
  g_ascii_formatd (buf, sizeof buf, format, d);
  g_string_append (out, buf);
  if (strchr (buf, '.') == NULL)
    g_string_append (out, ".0");
}

/* json-glib prints every double with 17 significant digits ("latency_ms" : 1.3180000000000001).
 * Each number with a fraction or an exponent in @json is printed again in the fewest digits
 * that read back as the same double (append_short_double()); strings are copied as they are. */
static char *
shorten_numbers (const char *json)
{
  GString *out = g_string_sized_new (strlen (json));
  const char *p = json;

  while (*p != '\0')
    {
      const char *start = p;

      if (*p == '"')
        {
          for (p++; *p != '\0' && *p != '"'; p++)
            if (*p == '\\' && p[1] != '\0')
              p++;
          if (*p == '"')
            p++;
          g_string_append_len (out, start, p - start);
        }
      else if (*p == '-' || g_ascii_isdigit (*p))
        {
          g_autofree char *token = NULL;

          while (*p != '\0' && strchr ("0123456789+-.eE", *p) != NULL)
            p++;
          token = g_strndup (start, p - start);
          if (strpbrk (token, ".eE") != NULL)
            append_short_double (out, g_ascii_strtod (token, NULL));
          else
            g_string_append (out, token);
        }
      else
        g_string_append_c (out, *p++);
    }
  return g_string_free (out, FALSE);
}

/* Prints @node, pretty, on stdout: every command's --json output. */
void
tsr_cli_print_json (JsonNode *node)
{
  g_autofree char *text = json_to_string (node, TRUE);
  g_autofree char *shown = shorten_numbers (text);

  printf ("%s\n", shown);
}

/* Prints what @b built. */
void
tsr_cli_print_builder (JsonBuilder *b)
{
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  tsr_cli_print_json (root);
}

static gboolean
must_escape (gunichar c)
{
  switch (g_unichar_type (c))
    {
      case G_UNICODE_CONTROL:             /* C0, DEL, C1 */
      case G_UNICODE_LINE_SEPARATOR:      /* U+2028: a line break to some terminals */
      case G_UNICODE_PARAGRAPH_SEPARATOR: /* U+2029 */
      case G_UNICODE_SURROGATE:
        return TRUE;
      case G_UNICODE_FORMAT:
        /* Bidi overrides and isolates reorder what follows them on the screen; the joiners are
         * part of how some scripts and emoji are written. */
        return c != 0x200c && c != 0x200d;
      default:
        return FALSE;
    }
}

static char *
escape (const char *text, gboolean keep_newlines)
{
  GString *out;
  const char *p, *end;

  if (text == NULL)
    return g_strdup ("");
  out = g_string_sized_new (strlen (text));
  end = text + strlen (text);
  for (p = text; p < end;)
    {
      guchar b = *p;
      gunichar c;

      if (b < 0x80)
        {
          if (b == '\n' && keep_newlines)
            g_string_append_c (out, '\n');
          else if (b == '\n')
            g_string_append (out, "\\n");
          else if (b == '\t')
            g_string_append (out, "\\t");
          else if (b == '\r')
            g_string_append (out, "\\r");
          else if (b < 0x20 || b == 0x7f)
            g_string_append_printf (out, "\\x%02x", b);
          else
            g_string_append_c (out, b);
          p++;
          continue;
        }
      c = g_utf8_get_char_validated (p, end - p);
      if (c == (gunichar)-1 || c == (gunichar)-2)
        {
          /* Not UTF-8 (a name from a Latin-1 file system, say): each byte, visibly. */
          g_string_append_printf (out, "\\x%02x", b);
          p++;
          continue;
        }
      if (must_escape (c))
        g_string_append_printf (out, c > 0xffff ? "\\U%08x" : "\\u%04x", c);
      else
        g_string_append_len (out, p, g_utf8_next_char (p) - p);
      p = g_utf8_next_char (p);
    }
  return g_string_free (out, FALSE);
}

/**
 * tsr_cli_escape:
 * @text: (nullable): a file name, address or other text that did not come from us
 *
 * @text as human output may show it: control characters (C0, DEL, C1), line and paragraph
 * separators, bidi controls and bytes that are not UTF-8 are written as visible escapes
 * (`\n`, `\x1b`, `\u202e`), so that a crafted name can neither send a terminal escape
 * sequence nor pose as extra rows of a table. Escape before padding: the result is what a
 * column's width is measured on. --json output needs none of this (JSON escapes).
 *
 * Returns: (transfer full): the text to print
 */
char *
tsr_cli_escape (const char *text)
{
  return escape (text, FALSE);
}

/* Like tsr_cli_escape(), but keeps line breaks: for messages of several lines. */
char *
tsr_cli_escape_lines (const char *text)
{
  return escape (text, TRUE);
}

char *
tsr_cli_format_time (gint64 unix_seconds)
{
  g_autoptr (GDateTime) utc = g_date_time_new_from_unix_utc (unix_seconds);
  return g_date_time_format_iso8601 (utc);
}

static gboolean
on_interrupt (gpointer data)
{
  TsrCli *cli = data;

  /* The first Ctrl+C cancels the transfer, which then cleans up after itself; a second one
   * leaves at once (the kernel releases the data dir's lock; leftovers are collected later). */
  if (g_cancellable_is_cancelled (cli->cancellable))
    _exit (130);
  g_cancellable_cancel (cli->cancellable);
  return G_SOURCE_CONTINUE;
}

static void
tsr_cli_clear (TsrCli *cli)
{
  if (cli->cluster != NULL)
    tsr_cluster_stop (cli->cluster);
  g_clear_object (&cli->cluster);
  g_clear_object (&cli->cancellable);
  g_clear_pointer (&cli->data_dir, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TsrCli, tsr_cli_clear)

int
main (int argc, char **argv)
{
  g_auto (TsrCli) cli = { 0 };
  int i;

  setlocale (LC_ALL, "");
  /* TESSERA_LOCALEDIR: the build tree's catalogs, for running and testing uninstalled. */
  bindtextdomain (GETTEXT_PACKAGE, g_getenv ("TESSERA_LOCALEDIR") != NULL
                                       ? g_getenv ("TESSERA_LOCALEDIR")
                                       : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  /* Transfers pass 64 KiB buffers between a few dozen threads; with glibc's default of eight
   * arenas per core each thread's arena keeps its own freed buffers, and peak RSS for a 1 GiB
   * transfer measured ~110 MiB. Two arenas: ~70 MiB, at the same speed. */
  mallopt (M_ARENA_MAX, 2);

  for (i = 1; i < argc && argv[i][0] == '-'; i++)
    {
      if (strcmp (argv[i], "--json") == 0)
        cli.json = json_errors = TRUE;
      else if (strcmp (argv[i], "--data-dir") == 0 && i + 1 < argc)
        {
          g_free (cli.data_dir);
          cli.data_dir = g_strdup (argv[++i]);
        }
      else if (g_str_has_prefix (argv[i], "--data-dir="))
        {
          g_free (cli.data_dir);
          cli.data_dir = g_strdup (argv[i] + strlen ("--data-dir="));
        }
      else if (strcmp (argv[i], "--version") == 0)
        {
          printf ("tessera-cli %s\n", PACKAGE_VERSION);
          return TSR_EXIT_OK;
        }
      else if (strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "-h") == 0)
        {
          tsr_cli_print_usage (stdout);
          return TSR_EXIT_OK;
        }
      else
        {
          fprintf (stderr, _ ("tessera-cli: unknown option %s\n\n"), argv[i]);
          tsr_cli_print_usage (stderr);
          return TSR_EXIT_USAGE;
        }
    }
  if (i >= argc)
    {
      tsr_cli_print_usage (stderr);
      return TSR_EXIT_USAGE;
    }
  if (cli.data_dir == NULL)
    cli.data_dir = tsr_default_data_dir ();
  cli.cancellable = g_cancellable_new ();
  g_unix_signal_add (SIGINT, on_interrupt, &cli);
  g_unix_signal_add (SIGTERM, on_interrupt, &cli);

  return tsr_cli_dispatch (&cli, argc - i, argv + i);
}
