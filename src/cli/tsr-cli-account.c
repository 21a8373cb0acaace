/* tsr-cli-account.c: register, login, logout, whoami, passwd, otp; the session file
 *
 * The session lives in DATA_DIR/session.json (0600): the token and the user's data key, so
 * that file commands need no password until logout, which deletes it. Holding the key there is
 * the price of a CLI without an agent process; the file is as private as the user's home.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <sodium.h>

#include "tsr-cli.h"

static char *
data_path (TsrCli *cli, const char *name)
{
  return g_build_filename (cli->data_dir, name, NULL);
}

static TsrAccounts *
open_accounts (TsrCli *cli, GError **error)
{
  g_autofree char *path = data_path (cli, "accounts.json");

  /* Owning the data dir (its lock) before touching the accounts: one process at a time counts
   * sign-in attempts. Its error ("in use by process PID") is the caller's to print. */
  if (cli->cluster == NULL && (cli->cluster = tsr_cluster_open (cli->data_dir, error)) == NULL)
    return NULL;
  return tsr_accounts_load (path, error);
}

/* One line from standard input, or from the terminal without echo. */
static char *
read_secret (const char *prompt, gboolean from_stdin, GError **error)
{
  char buf[1024];
  struct termios old, quiet;
  FILE *tty = NULL;
  gboolean restore = FALSE;
  char *ret = NULL;

  if (!from_stdin)
    {
      tty = fopen ("/dev/tty", "r+");
      if (tty == NULL)
        {
          g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                       _ ("No terminal to ask for the password: use --password-stdin"));
          return NULL;
        }
      fprintf (tty, "%s", prompt);
      fflush (tty);
      if (tcgetattr (fileno (tty), &old) == 0)
        {
          quiet = old;
          quiet.c_lflag &= ~(tcflag_t)ECHO;
          restore = tcsetattr (fileno (tty), TCSAFLUSH, &quiet) == 0;
        }
    }
  if (fgets (buf, sizeof buf, tty ? tty : stdin) != NULL)
    {
      buf[strcspn (buf, "\r\n")] = '\0';
      ret = g_strdup (buf);
    }
  sodium_memzero (buf, sizeof buf);
  if (tty != NULL)
    {
      if (restore)
        tcsetattr (fileno (tty), TCSAFLUSH, &old);
      fprintf (tty, "\n");
      fclose (tty);
    }
  if (ret == NULL)
    g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT, _ ("No password was given"));
  return ret;
}

static void
free_secret (char *secret)
{
  if (secret != NULL)
    {
      sodium_memzero (secret, strlen (secret));
      g_free (secret);
    }
}

/* A string that is wiped when it goes out of scope. */
typedef char char_secret;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (char_secret, free_secret)

static gboolean
has_flag (int argc, char **argv, const char *flag)
{
  for (int i = 1; i < argc; i++)
    if (strcmp (argv[i], flag) == 0)
      return TRUE;
  return FALSE;
}

static const char *
option_value (int argc, char **argv, const char *name)
{
  for (int i = 1; i + 1 < argc; i++)
    if (strcmp (argv[i], name) == 0)
      return argv[i + 1];
  return NULL;
}

/* The first argument that is neither an option nor an option's value. */
static const char *
positional (int argc, char **argv, const char *const *valued)
{
  for (int i = 1; i < argc; i++)
    {
      if (argv[i][0] == '-')
        {
          if (valued != NULL && g_strv_contains (valued, argv[i]))
            i++;
          continue;
        }
      return argv[i];
    }
  return NULL;
}

/* Refuses what looks like an option but is not one of @flags or @valued (exit status 2), and a
 * valued option without its value; looks from argv[@first] on. */
static int
check_options (const char *command, int argc, char **argv, int first, const char *const *flags,
               const char *const *valued)
{
  for (int i = first; i < argc; i++)
    {
      if (!tsr_cli_is_option (argv[i]) || (flags != NULL && g_strv_contains (flags, argv[i])))
        continue;
      if (valued != NULL && g_strv_contains (valued, argv[i]))
        {
          if (i + 1 >= argc)
            return tsr_cli_usage_error (command, _ ("%s needs a value"), argv[i]);
          i++;
          continue;
        }
      return tsr_cli_unknown_option (command, argv[i]);
    }
  return TSR_EXIT_OK;
}

static int
check_no_arguments (const char *command, int argc, char **argv)
{
  if (argc > 1 && tsr_cli_is_option (argv[1]))
    return tsr_cli_unknown_option (command, argv[1]);
  if (argc > 1)
    return tsr_cli_usage_error (command, _ ("takes no arguments"));
  return TSR_EXIT_OK;
}

static const char *const password_stdin[] = { "--password-stdin", NULL };
static const char *const otp_option[] = { "--otp", NULL };

/* The password, from the terminal or with --password-stdin from standard input, and when
 * @need_code a two-factor code: --otp's, else asked on the terminal (from standard input there
 * is no asking; the engine refuses the missing code). What `otp disable` and `otp confirm`
 * need, since a session alone may be stolen. */
static char *
read_password_and_code (int argc, char **argv, gboolean need_code, const char *code_prompt,
                        const char **code, char **asked, GError **error)
{
  gboolean from_stdin = has_flag (argc, argv, "--password-stdin");
  g_autoptr (char_secret) password = read_secret (_ ("Password: "), from_stdin, error);

  *code = option_value (argc, argv, "--otp");
  if (password == NULL)
    return NULL;
  if (need_code && *code == NULL && !from_stdin &&
      (*code = *asked = read_secret (code_prompt, FALSE, error)) == NULL)
    return NULL;
  return g_steal_pointer (&password);
}

/* An email notice, when DATA_DIR/smtp.json configures one. A failure is reported and does not
 * change the command's outcome: the login (or the change) has already happened. */
static void
notify (TsrCli *cli, TsrAccounts *accounts, const char *username, const char *subject,
        const char *what)
{
  g_autofree char *path = data_path (cli, "smtp.json");
  g_autofree char *email = tsr_accounts_dup_email (accounts, username);
  g_autofree char *host = g_strdup (g_get_host_name ());
  g_autofree char *body = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrNotifier) notifier = tsr_notifier_load (path, &error);
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *when = g_date_time_format (now, "%Y-%m-%d %H:%M:%S %Z");

  if (notifier == NULL || email == NULL)
    {
      if (error != NULL)
        fprintf (stderr, _ ("tessera-cli: email notice not sent: %s\n"), error->message);
      return;
    }
  body = g_strdup_printf (_ ("Hello %s,\n\n%s on %s at %s.\n\nIf this was not you, change your "
                             "password with: tessera-cli passwd\n\n-- Tessera\n"),
                          username, what, host, when);
  if (!tsr_notifier_send (notifier, email, subject, body, &error))
    fprintf (stderr, _ ("tessera-cli: email notice not sent: %s\n"), error->message);
}

static gboolean
save_session (TsrCli *cli, const TsrLogin *login, GError **error)
{
  g_autofree char *path = data_path (cli, "session.json");
  g_autofree char *key = g_base64_encode (login->data_key->bytes, TSR_KEY_LEN);
  g_autofree char *text = NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GError) local_error = NULL;
  gboolean ok;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "username");
  json_builder_add_string_value (b, login->username);
  json_builder_set_member_name (b, "token");
  json_builder_add_string_value (b, login->token);
  json_builder_set_member_name (b, "data_key");
  json_builder_add_string_value (b, key);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  text = json_to_string (root, FALSE);
  ok = g_file_set_contents_full (path, text, -1,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600,
                                 &local_error);
  sodium_memzero (key, strlen (key));
  sodium_memzero (text, strlen (text));
  if (!ok)
    g_set_error (error, TSR_ERROR, TSR_ERROR_IO, _ ("Cannot save the session: %s"),
                 local_error->message);
  return ok;
}

/* Overwrites the session file before removing it: the key in it is wiped, not just unlinked. */
static void
wipe_session (TsrCli *cli)
{
  g_autofree char *path = data_path (cli, "session.json");
  g_autofree char *contents = NULL;
  gsize len = 0;

  if (g_file_get_contents (path, &contents, &len, NULL))
    {
      g_autofree char *zeros = g_malloc0 (MAX (len, 1));
      g_file_set_contents_full (path, zeros, len, G_FILE_SET_CONTENTS_DURABLE, 0600, NULL);
      sodium_memzero (contents, len);
    }
  g_unlink (path);
}

static TsrLogin *read_session (TsrCli *cli, TsrAccounts *accounts, GError **error);

/* Reads and validates the session file. One that is no longer valid (expired, ended by a
 * password change or a logout elsewhere, damaged) is wiped: it would keep the unwrapped data
 * key on disk for nothing, since only a new login helps. */
static TsrLogin *
load_session (TsrCli *cli, TsrAccounts *accounts, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  TsrLogin *login = read_session (cli, accounts, &local_error);

  if (login == NULL)
    {
      if (g_error_matches (local_error, TSR_ERROR, TSR_ERROR_AUTH))
        wipe_session (cli);
      g_propagate_error (error, g_steal_pointer (&local_error));
    }
  return login;
}

static TsrLogin *
read_session (TsrCli *cli, TsrAccounts *accounts, GError **error)
{
  g_autofree char *path = data_path (cli, "session.json");
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (TsrLogin) login = g_new0 (TsrLogin, 1);
  g_autofree char *who = NULL;

  login->backup_codes_left = -1;
  g_autofree guint8 *key = NULL;
  JsonObject *o;
  JsonNode *root;
  gsize key_len = 0;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_AUTH,
                   _ ("Not logged in: run tessera-cli login USER (or register USER first)"));
      return NULL;
    }
  if (!json_parser_load_from_file (parser, path, NULL) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root) ||
      (o = json_node_get_object (root)) == NULL || !json_object_has_member (o, "token") ||
      !json_object_has_member (o, "data_key") ||
      json_node_get_value_type (json_object_get_member (o, "token")) != G_TYPE_STRING ||
      json_node_get_value_type (json_object_get_member (o, "data_key")) != G_TYPE_STRING)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_AUTH,
                   _ ("The session file is damaged: log in again"));
      return NULL;
    }
  who = tsr_accounts_validate_session (accounts, json_object_get_string_member (o, "token"), error);
  if (who == NULL)
    return NULL;
  key = g_base64_decode (json_object_get_string_member (o, "data_key"), &key_len);
  login->data_key = tsr_key_new_from_bytes (key, key_len, NULL);
  sodium_memzero (key, key_len);
  if (login->data_key == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_AUTH,
                   _ ("The session file is damaged: log in again"));
      return NULL;
    }
  login->username = g_steal_pointer (&who);
  login->token = g_strdup (json_object_get_string_member (o, "token"));
  return g_steal_pointer (&login);
}

/* For file commands: the logged-in user's catalog and key, or exit status 3. */
int
tsr_cli_use_session (TsrCli *cli, TsrCluster *cluster)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrAccounts) accounts = open_accounts (cli, &error);
  g_autoptr (TsrLogin) login = NULL;

  if (accounts == NULL)
    return tsr_cli_fail (cli, error);
  login = load_session (cli, accounts, &error);
  if (login == NULL || !tsr_cluster_set_user (cluster, login->username, login->data_key, &error))
    return tsr_cli_fail (cli, error);
  return TSR_EXIT_OK;
}

int
tsr_cli_cmd_register (TsrCli *cli, int argc, char **argv)
{
  const char *valued[] = { "--email", NULL };
  const char *user = positional (argc, argv, valued);
  const char *email = option_value (argc, argv, "--email");
  gboolean from_stdin = has_flag (argc, argv, "--password-stdin");
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrAccounts) accounts = NULL;
  g_autoptr (char_secret) password = NULL;
  int ret;

  if ((ret = check_options ("register", argc, argv, 1, password_stdin, valued)) != TSR_EXIT_OK)
    return ret;
  if (user == NULL || email == NULL)
    return tsr_cli_usage_error ("register", _ ("use: register USER --email EMAIL"));
  accounts = open_accounts (cli, &error);
  if (accounts == NULL)
    return tsr_cli_fail (cli, error);
  password = read_secret (_ ("New password: "), from_stdin, &error);
  if (password == NULL)
    return tsr_cli_fail (cli, error);
  if (!from_stdin)
    {
      g_autoptr (char_secret) again = read_secret (_ ("Repeat it: "), FALSE, &error);
      if (again == NULL || strcmp (again, password) != 0)
        {
          g_clear_error (&error);
          g_set_error (&error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                       _ ("The passwords did not match"));
          return tsr_cli_fail (cli, error);
        }
    }
  if (!tsr_accounts_register (accounts, user, email, password, &error))
    return tsr_cli_fail (cli, error);
  if (cli->json)
    printf ("{\"username\": \"%s\"}\n", user); /* usernames are [a-z0-9._-] */
  else
    printf (_ ("Registered %s. Log in with: tessera-cli login %s\n"), user, user);
  return TSR_EXIT_OK;
}

int
tsr_cli_cmd_login (TsrCli *cli, int argc, char **argv)
{
  const char *user = positional (argc, argv, otp_option);
  const char *otp = option_value (argc, argv, "--otp");
  gboolean from_stdin = has_flag (argc, argv, "--password-stdin");
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrAccounts) accounts = NULL;
  g_autoptr (TsrLogin) login = NULL;
  g_autoptr (char_secret) password = NULL;
  g_autoptr (char_secret) asked = NULL;
  int ret;

  if ((ret = check_options ("login", argc, argv, 1, password_stdin, otp_option)) != TSR_EXIT_OK)
    return ret;
  if (user == NULL)
    return tsr_cli_usage_error ("login", _ ("use: login USER [--password-stdin] [--otp CODE]"));
  accounts = open_accounts (cli, &error);
  if (accounts == NULL)
    return tsr_cli_fail (cli, error);
  password = read_secret (_ ("Password: "), from_stdin, &error);
  if (password == NULL)
    return tsr_cli_fail (cli, error);
  login = tsr_accounts_login (accounts, user, password, otp, "local", &error);
  /* On a terminal, ask for the code rather than failing for the lack of --otp: once the
   * password was found right, so that a wrong one does not tell the account has two-factor. */
  if (login == NULL && otp == NULL && !from_stdin && isatty (STDIN_FILENO) &&
      g_error_matches (error, TSR_ERROR, TSR_ERROR_CODE_NEEDED))
    {
      g_clear_error (&error);
      otp = asked = read_secret (_ ("Two-factor code (or a backup code): "), FALSE, &error);
      if (otp == NULL)
        return tsr_cli_fail (cli, error);
      login = tsr_accounts_login (accounts, user, password, otp, "local", &error);
    }
  if (login == NULL || !save_session (cli, login, &error))
    return tsr_cli_fail (cli, error);
  if (cli->json && login->backup_codes_left >= 0)
    printf ("{\"username\": \"%s\", \"backup_codes_left\": %d}\n", login->username,
            login->backup_codes_left);
  else if (cli->json)
    printf ("{\"username\": \"%s\"}\n", login->username);
  else
    printf (_ ("Logged in as %s\n"), login->username);
  fflush (stdout);
  if (!cli->json && login->backup_codes_left >= 0)
    fprintf (stderr,
             login->backup_codes_left == 0
                 ? _ ("That was your last backup code. Make new ones now with: tessera-cli otp "
                      "enable\n")
                 : g_dngettext (GETTEXT_PACKAGE,
                                "A backup code was used: %d is left. New ones come with: "
                                "tessera-cli otp enable\n",
                                "A backup code was used: %d are left. New ones come with: "
                                "tessera-cli otp enable\n",
                                login->backup_codes_left),
             login->backup_codes_left);
  notify (cli, accounts, login->username, _ ("New sign-in to Tessera"),
          _ ("Someone signed in to your Tessera account"));
  return TSR_EXIT_OK;
}

int
tsr_cli_cmd_logout (TsrCli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrAccounts) accounts = NULL;
  g_autoptr (TsrLogin) login = NULL;
  int ret;

  if ((ret = check_no_arguments ("logout", argc, argv)) != TSR_EXIT_OK)
    return ret;
  accounts = open_accounts (cli, &error);
  if (accounts == NULL)
    return tsr_cli_fail (cli, error);
  login = load_session (cli, accounts, NULL);
  if (login != NULL)
    tsr_accounts_logout (accounts, login->token, NULL);
  wipe_session (cli);
  if (cli->json)
    printf ("{}\n");
  else
    printf (_ ("Logged out\n"));
  return TSR_EXIT_OK;
}

int
tsr_cli_cmd_whoami (TsrCli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrAccounts) accounts = NULL;
  g_autoptr (TsrLogin) login = NULL;
  int ret;

  if ((ret = check_no_arguments ("whoami", argc, argv)) != TSR_EXIT_OK)
    return ret;
  accounts = open_accounts (cli, &error);
  if (accounts == NULL)
    return tsr_cli_fail (cli, error);
  login = load_session (cli, accounts, &error);
  if (login == NULL)
    return tsr_cli_fail (cli, error);
  if (cli->json)
    printf ("{\"username\": \"%s\"}\n", login->username); /* usernames are [a-z0-9._-] */
  else
    printf ("%s\n", login->username);
  return TSR_EXIT_OK;
}

int
tsr_cli_cmd_passwd (TsrCli *cli, int argc, char **argv)
{
  gboolean from_stdin = has_flag (argc, argv, "--password-stdin");
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrAccounts) accounts = NULL;
  g_autoptr (TsrLogin) login = NULL;
  g_autoptr (char_secret) old_password = NULL;
  g_autoptr (char_secret) new_password = NULL;
  int ret;

  if ((ret = check_options ("passwd", argc, argv, 1, password_stdin, NULL)) != TSR_EXIT_OK)
    return ret;
  accounts = open_accounts (cli, &error);
  if (accounts == NULL)
    return tsr_cli_fail (cli, error);
  login = load_session (cli, accounts, &error);
  if (login == NULL ||
      (old_password = read_secret (_ ("Current password: "), from_stdin, &error)) == NULL ||
      (new_password = read_secret (_ ("New password: "), from_stdin, &error)) == NULL ||
      !tsr_accounts_change_password (accounts, login->username, old_password, new_password, &error))
    return tsr_cli_fail (cli, error);
  /* The change ended every session, this one included. */
  wipe_session (cli);
  if (!cli->json)
    printf (_ ("Password changed. Log in again with: tessera-cli login %s\n"), login->username);
  return TSR_EXIT_OK;
}

int
tsr_cli_cmd_otp (TsrCli *cli, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrAccounts) accounts = NULL;
  g_autoptr (TsrLogin) login = NULL;

  if (argc < 2 || (strcmp (argv[1], "enable") != 0 && strcmp (argv[1], "confirm") != 0 &&
                   strcmp (argv[1], "disable") != 0))
    return tsr_cli_usage_error (
        "otp", _ ("use: otp enable [--qr-png PATH], otp confirm CODE [--otp CURRENT] "
                  "[--password-stdin], or otp disable [--otp CODE] [--password-stdin]"));
  {
    const char *const qr_png[] = { "--qr-png", NULL };
    int ret = strcmp (argv[1], "enable") == 0
                  ? check_options ("otp", argc, argv, 2, NULL, qr_png)
                  : check_options ("otp", argc, argv, 2, password_stdin, otp_option);
    if (ret != TSR_EXIT_OK)
      return ret;
  }
  accounts = open_accounts (cli, &error);
  if (accounts == NULL)
    return tsr_cli_fail (cli, error);
  login = load_session (cli, accounts, &error);
  if (login == NULL)
    return tsr_cli_fail (cli, error);

  if (strcmp (argv[1], "enable") == 0)
    {
      const char *png = option_value (argc, argv, "--qr-png");
      gboolean was_on = tsr_accounts_user_has_otp (accounts, login->username);
      g_autoptr (TsrOtpEnrollment) e = NULL;
      g_autoptr (GError) png_error = NULL;

      /* Before the enrollment starts: it replaces any pending one, and a refused path should
       * leave everything as it was. */
      if (png != NULL && !tsr_cli_check_qr_png_path (png, &error))
        return tsr_cli_fail (cli, error);
      e = tsr_accounts_otp_begin (accounts, login->username, &error);
      if (e == NULL)
        return tsr_cli_fail (cli, error);
      /* Should the image still fail (a file appeared, the disk filled), the enrollment has
       * happened: its secret and backup codes are shown all the same, then the failure. */
      if (png != NULL && !tsr_cli_write_qr_png (e->uri, png, &png_error))
        g_prefix_error (&png_error, _ ("The QR code was not saved (the secret and backup codes "
                                       "above are valid): "));
      if (cli->json)
        {
          g_autoptr (JsonBuilder) b = json_builder_new ();

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "uri");
          json_builder_add_string_value (b, e->uri);
          json_builder_set_member_name (b, "secret");
          json_builder_add_string_value (b, e->secret);
          json_builder_set_member_name (b, "backup_codes");
          json_builder_begin_array (b);
          for (guint i = 0; e->backup_codes[i] != NULL; i++)
            json_builder_add_string_value (b, e->backup_codes[i]);
          json_builder_end_array (b);
          json_builder_end_object (b);
          tsr_cli_print_builder (b);
        }
      else
        {
          printf (_ ("Scan this with an authenticator app, or type the secret %s\n\n"), e->secret);
          tsr_cli_print_qr (e->uri, stdout);
          printf (_ ("\n%s\n\nBackup codes (each works once; keep them somewhere safe):\n"),
                  e->uri);
          for (guint i = 0; e->backup_codes[i] != NULL; i++)
            printf ("  %s\n", e->backup_codes[i]);
          if (was_on)
            printf (_ ("\nThen switch to them with: tessera-cli otp confirm CODE (it asks for "
                       "your password and a code from the current app or a backup code)\nUntil "
                       "then, the current authenticator app and backup codes keep working.\n"));
          else
            printf (_ ("\nThen turn it on with: tessera-cli otp confirm CODE (it asks for your "
                       "password)\n"));
        }
      if (png_error != NULL)
        {
          fflush (stdout);
          return tsr_cli_fail (cli, png_error);
        }
      return TSR_EXIT_OK;
    }
  if (strcmp (argv[1], "confirm") == 0)
    {
      gboolean was_on = tsr_accounts_user_has_otp (accounts, login->username);
      /* The new app's code: the first argument after "confirm" that is no option or value. */
      const char *new_code = positional (argc - 1, argv + 1, otp_option);
      const char *code = NULL;
      g_autoptr (char_secret) asked = NULL;
      g_autoptr (char_secret) password = NULL;

      if (new_code == NULL)
        return tsr_cli_usage_error ("otp",
                                    _ ("use: otp confirm CODE [--otp CURRENT] [--password-stdin]"));
      /* Whoever holds the session may not be the user: the password, and to switch from a
       * working authenticator a code from it, show that they are. */
      password = read_password_and_code (
          argc, argv, was_on, _ ("Code from the current authenticator app (or a backup code): "),
          &code, &asked, &error);
      if (password == NULL ||
          !tsr_accounts_otp_confirm (accounts, login->username, password, code, new_code, &error))
        return tsr_cli_fail (cli, error);
      if (!cli->json)
        printf (_ ("Two-factor authentication is on for %s\n"), login->username);
      fflush (stdout);
      if (was_on)
        notify (cli, accounts, login->username, _ ("Two-factor authentication changed"),
                _ ("Your Tessera account's two-factor authentication was switched to a new "
                   "secret and new backup codes"));
      else
        notify (cli, accounts, login->username, _ ("Two-factor authentication turned on"),
                _ ("Two-factor authentication was turned on for your Tessera account"));
      return TSR_EXIT_OK;
    }
  {
    const char *code = NULL;
    g_autoptr (char_secret) asked = NULL;
    g_autoptr (char_secret) password = read_password_and_code (
        argc, argv, TRUE, _ ("Two-factor code (or a backup code): "), &code, &asked, &error);

    if (password == NULL ||
        !tsr_accounts_otp_disable (accounts, login->username, password, code, &error))
      return tsr_cli_fail (cli, error);
    if (!cli->json)
      printf (_ ("Two-factor authentication is off for %s\n"), login->username);
    fflush (stdout);
    notify (cli, accounts, login->username, _ ("Two-factor authentication turned off"),
            _ ("Two-factor authentication was turned off for your Tessera account"));
    return TSR_EXIT_OK;
  }
}

/* For the other command groups (SSH key passphrases). */
char *
tsr_cli_read_secret (const char *prompt, gboolean from_stdin, GError **error)
{
  return read_secret (prompt, from_stdin, error);
}
