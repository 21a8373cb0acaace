/* tsr-cli-shell.c: the interactive form (the seed's cmd-module CLI)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include <string.h>
#include <unistd.h>

#include "tsr-cli.h"

static void
print_shell_help (void)
{
  printf (_ ("Commands: upload PATH..., download FILE_ID [--output PATH] [--force], list, "
             "delete FILE_ID,\n"
             "          nodes, health, storage, topology, stats, node disable|enable NODE_ID,\n"
             "          help, clear, exit, quit\n"));
}

int
tsr_cli_cmd_shell (TsrCli *cli, int argc, char **argv)
{
  gboolean tty = isatty (STDIN_FILENO);
  char line[4096];
  int last = TSR_EXIT_OK;

  if (argc > 1)
    return tsr_cli_usage_error ("shell", _ ("takes no arguments"));
  /* The nodes stay up for the whole session, as in the seed's interactive orchestrator. */
  if (tsr_cli_cluster (cli, TRUE) == NULL)
    return TSR_EXIT_FAILED;
  cli->interactive = TRUE;
  if (tty)
    printf (_ ("Tessera shell. Type help for the commands, exit to leave.\n"));

  for (;;)
    {
      g_auto (GStrv) words = NULL;
      g_autoptr (GError) error = NULL;
      int n;

      if (tty)
        {
          printf ("tessera> ");
          fflush (stdout);
        }
      if (fgets (line, sizeof line, stdin) == NULL)
        break;
      g_strstrip (line);
      if (line[0] == '\0' || line[0] == '#')
        continue;
      if (!g_shell_parse_argv (line, &n, &words, &error))
        {
          fprintf (stderr, "tessera: %s\n", error->message);
          last = TSR_EXIT_USAGE;
          continue;
        }
      if (strcmp (words[0], "exit") == 0 || strcmp (words[0], "quit") == 0)
        break;
      if (strcmp (words[0], "help") == 0)
        print_shell_help ();
      else if (strcmp (words[0], "clear") == 0)
        printf ("\033[H\033[2J");
      else if (strcmp (words[0], "shell") == 0 || strcmp (words[0], "init") == 0)
        {
          fprintf (stderr, _ ("tessera: %s is not available inside the shell\n"), words[0]);
          last = TSR_EXIT_USAGE;
        }
      else
        last = tsr_cli_dispatch (cli, n, words);
      fflush (stdout);
      g_cancellable_reset (cli->cancellable);
    }
  return last;
}
