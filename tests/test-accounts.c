/* test-accounts.c: accounts on a real accounts.json
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "tessera.h"
#include "tsr-accounts-private.h"
#include "tsr-accounts.h"
#include "tsr-test-util.h"

#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

#define PASSWORD "correct horse battery"

typedef struct
{
  char *dir;
  char *path;
  TsrAccounts *accounts;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->dir = tsr_test_make_tmpdir ();
  f->path = g_build_filename (f->dir, "accounts.json", NULL);
  f->accounts = tsr_accounts_load (f->path, &error);
  g_assert_no_error (error);
  tsr_accounts_set_now (f->accounts, 1800000000);
  g_assert_true (
      tsr_accounts_register (f->accounts, "alice", "alice@example.org", PASSWORD, &error));
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->accounts);
  tsr_test_rmdir (f->dir);
  g_free (f->dir);
  g_free (f->path);
}

static TsrAccounts *
reload (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  TsrAccounts *a = tsr_accounts_load (f->path, &error);

  g_assert_no_error (error);
  return a;
}

static void
test_register_and_login (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrLogin) first = NULL;
  g_autoptr (TsrLogin) second = NULL;
  g_autoptr (TsrAccounts) again = NULL;
  g_autofree char *who = NULL;
  GStatBuf st;

  first = tsr_accounts_login (f->accounts, "alice", PASSWORD, NULL, "local", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (first->username, ==, "alice");
  g_assert_cmpuint (strlen (first->token), ==, 64);

  /* The file is private, and survives a reload with the same data key. */
  g_assert_cmpint (g_stat (f->path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  again = reload (f);
  second = tsr_accounts_login (again, "alice", PASSWORD, NULL, "local", &error);
  g_assert_no_error (error);
  g_assert_cmpmem (first->data_key->bytes, TSR_KEY_LEN, second->data_key->bytes, TSR_KEY_LEN);
  g_assert_cmpstr (first->token, !=, second->token);
  who = tsr_accounts_validate_session (again, first->token, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (who, ==, "alice");

  /* An unknown name gets the same answer as a wrong password. */
  g_assert_null (tsr_accounts_login (again, "alice", "not the password", NULL, "local", &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_AUTH);
  g_assert_cmpstr (error->message, ==, "Wrong username or password");
  g_clear_error (&error);
  g_assert_null (tsr_accounts_login (again, "nobody", PASSWORD, NULL, "local", &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_AUTH);
  g_assert_cmpstr (error->message, ==, "Wrong username or password");
}

/* An unknown name's password goes through Argon2id as a real one does, against a stand-in hash
 * (timing it here would be flaky). What can go wrong unseen is the stand-in: one libsodium
 * cannot parse fails at once, and the time tells again which names exist. So: it parses, with
 * the cost and shape of a real account's hash, and matches nothing. */
static void
test_unknown_name_checked_alike (Fixture *f, gconstpointer data)
{
  const char *dummy = _tsr_accounts_get_dummy_password_hash ();
  g_autofree char *contents = NULL;
  g_autofree char *real = NULL;
  g_autofree char *cost = NULL;
  const char *start, *p;

  g_assert_true (g_file_get_contents (f->path, &contents, NULL, NULL));
  start = strstr (contents, "\"$argon2id$");
  g_assert_nonnull (start);
  real = g_strndup (start + 1, strchr (start + 1, '"') - (start + 1));
  /* The same algorithm, version and cost. */
  p = real;
  for (int i = 0; i < 4; i++)
    p = strchr (p, '$') + 1;
  cost = g_strndup (real, p - real);
  g_assert_true (g_str_has_prefix (cost, "$argon2id$v="));
  g_assert_true (g_str_has_prefix (dummy, cost));
  g_assert_cmpuint (strlen (dummy), ==, strlen (real));
  g_assert_cmpint (crypto_pwhash_str_needs_rehash (dummy, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                                   crypto_pwhash_MEMLIMIT_INTERACTIVE),
                   ==, 0);
  g_assert_cmpint (crypto_pwhash_str_verify (dummy, PASSWORD, strlen (PASSWORD)), !=, 0);
  g_assert_true (_tsr_accounts_get_dummy_password_hash () == dummy);
}

static void
test_registration_rules (Fixture *f, gconstpointer data)
{
  const struct
  {
    const char *user, *email, *password;
    int code;
  } cases[] = {
    { "alice", "other@example.org", PASSWORD, TSR_ERROR_EXISTS },
    { "bob", "ALICE@example.org", PASSWORD, TSR_ERROR_EXISTS },
    { "Bob", "bob@example.org", PASSWORD, TSR_ERROR_INVALID_ARGUMENT },
    { "bo", "bob@example.org", PASSWORD, TSR_ERROR_INVALID_ARGUMENT },
    { "bob", "bob.example.org", PASSWORD, TSR_ERROR_INVALID_ARGUMENT },
    { "bob", "bob@example.org", "short", TSR_ERROR_INVALID_ARGUMENT },
    { "bobbybobby", "bob@example.org", "BOBBYBOBBY", TSR_ERROR_INVALID_ARGUMENT },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_false (tsr_accounts_register (f->accounts, cases[i].user, cases[i].email,
                                             cases[i].password, &error));
      g_assert_error (error, TSR_ERROR, cases[i].code);
    }
  g_assert_false (tsr_accounts_has_user (f->accounts, "bob"));
}

static void
test_lockout_survives_restart (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrAccounts) again = NULL;
  g_autoptr (TsrLogin) login = NULL;

  for (int i = 0; i < TSR_ACCOUNTS_MAX_FAILURES; i++)
    {
      g_assert_null (
          tsr_accounts_login (f->accounts, "alice", "wrong password!", NULL, "local", &error));
      g_clear_error (&error);
    }
  /* Locked: even the right password is refused, with the wait in the message... */
  g_assert_null (tsr_accounts_login (f->accounts, "alice", PASSWORD, NULL, "local", &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_AUTH);
  g_assert_nonnull (strstr (error->message, "try again in 30 seconds"));
  g_clear_error (&error);

  /* ...and after a restart. */
  again = reload (f);
  tsr_accounts_set_now (again, 1800000010);
  g_assert_null (tsr_accounts_login (again, "alice", PASSWORD, NULL, "local", &error));
  g_assert_nonnull (strstr (error->message, "try again in 20 seconds"));
  g_clear_error (&error);

  /* Another failure after the wait doubles it; the right password afterwards works. */
  tsr_accounts_set_now (again, 1800000031);
  g_assert_null (tsr_accounts_login (again, "alice", "wrong password!", NULL, "local", &error));
  g_clear_error (&error);
  g_assert_null (tsr_accounts_login (again, "alice", PASSWORD, NULL, "local", &error));
  g_assert_nonnull (strstr (error->message, "try again in 60 seconds"));
  g_clear_error (&error);
  tsr_accounts_set_now (again, 1800000100);
  login = tsr_accounts_login (again, "alice", PASSWORD, NULL, "local", &error);
  g_assert_no_error (error);
}

static char *
code_for (const char *secret_b32, gint64 t)
{
  gsize len = 0;
  g_autofree guint8 *secret = tsr_base32_decode (secret_b32, &len);

  return tsr_totp_code_at (secret, len, t);
}

static void
test_two_factor (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrOtpEnrollment) e = NULL;
  g_autoptr (TsrLogin) login = NULL;
  g_autofree char *code = NULL;
  g_autofree char *old = NULL;
  g_autofree char *prefix = g_strdup ("otpauth://totp/Tessera:alice?secret=");
  gint64 t = 1800000000;

  e = tsr_accounts_otp_begin (f->accounts, "alice", &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (e->uri, prefix));
  g_assert_true (g_str_has_suffix (e->uri, "&issuer=Tessera"));
  g_assert_cmpuint (g_strv_length (e->backup_codes), ==, TSR_ACCOUNTS_BACKUP_CODES);
  /* Pending: login does not ask yet; a wrong code does not confirm. */
  g_assert_false (tsr_accounts_user_has_otp (f->accounts, "alice"));
  g_assert_false (
      tsr_accounts_otp_confirm (f->accounts, "alice", PASSWORD, NULL, "000000", &error));
  g_clear_error (&error);

  code = code_for (e->secret, t);
  g_assert_true (tsr_accounts_otp_confirm (f->accounts, "alice", PASSWORD, NULL, code, &error));
  g_assert_no_error (error);
  g_assert_true (tsr_accounts_user_has_otp (f->accounts, "alice"));

  /* The password alone is not enough now: a code is asked for. A wrong password is just
   * wrong: it does not tell that the account has two-factor. */
  g_assert_null (tsr_accounts_login (f->accounts, "alice", PASSWORD, NULL, "local", &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_CODE_NEEDED);
  g_assert_nonnull (strstr (error->message, "two-factor"));
  g_clear_error (&error);
  g_assert_null (
      tsr_accounts_login (f->accounts, "alice", "not the password", NULL, "local", &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_AUTH);
  g_assert_null (strstr (error->message, "two-factor"));
  g_clear_error (&error);
  /* The code used to confirm is spent (replay), as is any code two steps old. */
  g_assert_null (tsr_accounts_login (f->accounts, "alice", PASSWORD, code, "local", &error));
  g_clear_error (&error);
  tsr_accounts_set_now (f->accounts, t + 90);
  old = code_for (e->secret, t + 30);
  g_assert_null (tsr_accounts_login (f->accounts, "alice", PASSWORD, old, "local", &error));
  g_clear_error (&error);
  g_free (code);
  code = code_for (e->secret, t + 90);
  login = tsr_accounts_login (f->accounts, "alice", PASSWORD, code, "local", &error);
  g_assert_no_error (error);
  g_assert_cmpint (login->backup_codes_left, ==, -1); /* an app's code spends none */
  g_clear_pointer (&login, tsr_login_free);
  g_assert_null (tsr_accounts_login (f->accounts, "alice", PASSWORD, code, "local", &error));
  g_clear_error (&error);

  /* Each backup code works exactly once, typed in any case; the login says how many are
   * left. */
  {
    g_autofree char *lower = g_ascii_strdown (e->backup_codes[3], -1);
    login = tsr_accounts_login (f->accounts, "alice", PASSWORD, lower, "local", &error);
    g_assert_no_error (error);
    g_assert_cmpint (login->backup_codes_left, ==, TSR_ACCOUNTS_BACKUP_CODES - 1);
    g_clear_pointer (&login, tsr_login_free);
    g_assert_null (
        tsr_accounts_login (f->accounts, "alice", PASSWORD, e->backup_codes[3], "local", &error));
    g_clear_error (&error);
  }

  /* Turning it off needs the password and a code. */
  tsr_accounts_set_now (f->accounts, t + 300);
  g_free (code);
  code = code_for (e->secret, t + 300);
  g_assert_false (tsr_accounts_otp_disable (f->accounts, "alice", "wrong password!", code, &error));
  g_clear_error (&error);
  g_assert_true (
      tsr_accounts_otp_disable (f->accounts, "alice", PASSWORD, e->backup_codes[0], &error));
  g_assert_no_error (error);
  login = tsr_accounts_login (f->accounts, "alice", PASSWORD, NULL, "local", &error);
  g_assert_no_error (error);
}

/* Logs in on @a at @t with @code, and says whether that worked. */
static gboolean
login_with_code (TsrAccounts *a, gint64 t, const char *code)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrLogin) login = NULL;

  tsr_accounts_set_now (a, t);
  login = tsr_accounts_login (a, "alice", PASSWORD, code, "local", &error);
  g_assert_true ((login != NULL) == (error == NULL));
  return login != NULL;
}

/* `otp enable` again while two-factor is on, then not confirmed (abandoned, or someone else on
 * the session): the working secret and backup codes must go on working, and the new ones only
 * once confirmed, or a stray enrollment locks the user out of their own account. */
static void
test_reenrollment_waits_for_confirm (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrOtpEnrollment) first = NULL;
  g_autoptr (TsrOtpEnrollment) second = NULL;
  g_autoptr (TsrAccounts) again = NULL;
  g_autofree char *code = NULL;
  gint64 t = 1800000000;

  first = tsr_accounts_otp_begin (f->accounts, "alice", &error);
  g_assert_no_error (error);
  code = code_for (first->secret, t);
  g_assert_true (tsr_accounts_otp_confirm (f->accounts, "alice", PASSWORD, NULL, code, &error));
  g_assert_no_error (error);

  second = tsr_accounts_otp_begin (f->accounts, "alice", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (second->secret, !=, first->secret);

  /* In a new process: the first enrollment's codes work, the pending one's do not. */
  again = reload (f);
  g_assert_true (tsr_accounts_user_has_otp (again, "alice"));
  g_assert_true (login_with_code (again, t + 30, first->backup_codes[0]));
  g_clear_pointer (&code, g_free);
  code = code_for (first->secret, t + 60);
  g_assert_true (login_with_code (again, t + 60, code));
  g_assert_false (login_with_code (again, t + 60, second->backup_codes[0]));
  g_clear_pointer (&code, g_free);
  code = code_for (second->secret, t + 90);
  g_assert_false (login_with_code (again, t + 90, code));

  /* Confirming switches: the new secret and codes work, the old ones no more. It takes a code
   * of the old secret (a backup code here), and the new app's code of the time step the old
   * app just spent signing in is the new app's own: it is not refused as used. */
  g_clear_pointer (&code, g_free);
  code = code_for (second->secret, t + 120);
  {
    g_autofree char *current = code_for (first->secret, t + 120);
    g_assert_true (login_with_code (again, t + 120, current));
    g_assert_true (
        tsr_accounts_otp_confirm (again, "alice", PASSWORD, first->backup_codes[2], code, &error));
  }
  g_assert_no_error (error);
  g_clear_object (&again);
  again = reload (f);
  g_assert_false (login_with_code (again, t + 150, first->backup_codes[1]));
  g_clear_pointer (&code, g_free);
  code = code_for (first->secret, t + 150);
  g_assert_false (login_with_code (again, t + 150, code));
  g_assert_true (login_with_code (again, t + 150, second->backup_codes[0]));
  g_clear_pointer (&code, g_free);
  code = code_for (second->secret, t + 180);
  g_assert_true (login_with_code (again, t + 180, code));
}

/* A file from before pending enrollments kept their own codes: beginning put the new codes
 * straight into backup_codes. Such a file loads, and confirming keeps those codes, the ones
 * the user was shown. */
static void
test_old_pending_enrollment_loads (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrOtpEnrollment) e = tsr_accounts_otp_begin (f->accounts, "alice", &error);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (TsrAccounts) old = NULL;
  g_autofree char *code = NULL;
  JsonObject *user;

  g_assert_no_error (error);
  g_assert_true (json_parser_load_from_file (parser, f->path, NULL));
  user = json_array_get_object_element (
      json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "users"),
      0);
  json_object_set_member (user, "code_salt",
                          json_node_copy (json_object_get_member (user, "otp_pending_code_salt")));
  json_object_set_member (
      user, "backup_codes",
      json_node_copy (json_object_get_member (user, "otp_pending_backup_codes")));
  json_object_remove_member (user, "otp_pending_code_salt");
  json_object_remove_member (user, "otp_pending_backup_codes");
  json_generator_set_root (gen, json_parser_get_root (parser));
  g_assert_true (json_generator_to_file (gen, f->path, NULL));

  old = reload (f);
  g_assert_false (tsr_accounts_user_has_otp (old, "alice"));
  tsr_accounts_set_now (old, 1800000000);
  code = code_for (e->secret, 1800000000);
  g_assert_true (tsr_accounts_otp_confirm (old, "alice", PASSWORD, NULL, code, &error));
  g_assert_no_error (error);
  g_assert_true (login_with_code (old, 1800000030, e->backup_codes[2]));
}

static void
test_sessions_expire_and_logout (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrLogin) a =
      tsr_accounts_login (f->accounts, "alice", PASSWORD, NULL, "local", &error);
  g_autoptr (TsrLogin) b =
      tsr_accounts_login (f->accounts, "alice", PASSWORD, NULL, "local", &error);
  g_autofree char *who = NULL;

  g_assert_no_error (error);
  g_assert_true (tsr_accounts_logout (f->accounts, a->token, &error));
  g_assert_null (tsr_accounts_validate_session (f->accounts, a->token, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_AUTH);
  g_clear_error (&error);

  /* Used every 11 hours, b lives on; idle for 13 hours, it expires. */
  for (int i = 1; i <= 3; i++)
    {
      tsr_accounts_set_now (f->accounts, 1800000000 + i * 11 * 3600);
      who = tsr_accounts_validate_session (f->accounts, b->token, &error);
      g_assert_no_error (error);
      g_clear_pointer (&who, g_free);
    }
  tsr_accounts_set_now (f->accounts, 1800000000 + 33 * 3600 + 13 * 3600);
  g_assert_null (tsr_accounts_validate_session (f->accounts, b->token, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_AUTH);
  g_assert_null (tsr_accounts_validate_session (f->accounts, "not a token", NULL));
  g_clear_error (&error);

  /* The limits are configurable and persist: with a one-hour idle limit, two hours idle ends
   * a fresh session, also after a reload. */
  {
    g_autoptr (TsrLogin) c = NULL;
    g_autoptr (TsrAccounts) again = NULL;
    gint64 t = 1800000000 + 50 * 3600;

    g_assert_true (tsr_accounts_set_session_limits (f->accounts, 3600, 24 * 3600, &error));
    tsr_accounts_set_now (f->accounts, t);
    c = tsr_accounts_login (f->accounts, "alice", PASSWORD, NULL, "local", &error);
    g_assert_no_error (error);
    again = reload (f);
    tsr_accounts_set_now (again, t + 2 * 3600);
    g_assert_null (tsr_accounts_validate_session (again, c->token, NULL));
  }
}

static void
test_change_password_keeps_data_key (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrLogin) before =
      tsr_accounts_login (f->accounts, "alice", PASSWORD, NULL, "local", &error);
  g_autoptr (TsrLogin) after = NULL;

  g_assert_true (tsr_accounts_change_password (f->accounts, "alice", PASSWORD,
                                               "a brand new passphrase", &error));
  g_assert_no_error (error);
  g_assert_null (tsr_accounts_login (f->accounts, "alice", PASSWORD, NULL, "local", &error));
  g_clear_error (&error);
  after =
      tsr_accounts_login (f->accounts, "alice", "a brand new passphrase", NULL, "local", &error);
  g_assert_no_error (error);
  g_assert_cmpmem (before->data_key->bytes, TSR_KEY_LEN, after->data_key->bytes, TSR_KEY_LEN);
  /* The old session ended with the password change. */
  g_assert_null (tsr_accounts_validate_session (f->accounts, before->token, NULL));
}

static void
test_damaged_file_is_kept (Fixture *f, gconstpointer data)
{
  g_autofree char *good = NULL;
  gsize len;
  const char *bad[] = {
    NULL, "[]", "{\"format\":\"tessera-accounts\",\"version\":1,\"users\":5}",
    "{\"format\":\"tessera-accounts\",\"version\":1,\"users\":[{\"username\":7}]}"
  };

  g_assert_true (g_file_get_contents (f->path, &good, &len, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (TsrAccounts) a = NULL;
      g_autofree char *content = bad[i] ? g_strdup (bad[i]) : g_strndup (good, len / 2);
      g_autofree char *after = NULL;

      g_assert_true (g_file_set_contents (f->path, content, -1, NULL));
      a = tsr_accounts_load (f->path, &error);
      g_assert_null (a);
      g_assert_error (error, TSR_ERROR, TSR_ERROR_CORRUPT);
      g_assert_true (g_file_get_contents (f->path, &after, NULL, NULL));
      g_assert_cmpstr (after, ==, content);
    }
}

/* A six-digit code valid at none of the steps around @t. */
static char *
wrong_code_for (const char *secret_b32, gint64 t)
{
  g_autofree char *before = code_for (secret_b32, t - 30);
  g_autofree char *at = code_for (secret_b32, t);
  g_autofree char *after = code_for (secret_b32, t + 30);

  for (guint n = 0;; n++)
    {
      g_autofree char *code = g_strdup_printf ("%06u", n);
      if (strcmp (code, before) != 0 && strcmp (code, at) != 0 && strcmp (code, after) != 0)
        return g_steal_pointer (&code);
    }
}

/* One `tessera-cli login`: a new process that knows only what the file says. */
static TsrLogin *
login_afresh (Fixture *f, const char *username, const char *password, const char *code,
              GError **error)
{
  g_autoptr (TsrAccounts) process = reload (f);

  tsr_accounts_set_now (process, 1800000000);
  return tsr_accounts_login (process, username, password, code, "local", error);
}

/* Makes every write of this process fail (EFBIG) until allow_writes(): a file size limit of 0,
 * which binds root too. Tests using it run in a subprocess. */
static void
forbid_writes (struct rlimit *saved)
{
  struct rlimit none;

  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, saved), ==, 0);
  none = *saved;
  none.rlim_cur = 0;
  signal (SIGXFSZ, SIG_IGN);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &none), ==, 0);
}

static void
allow_writes (const struct rlimit *saved)
{
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, saved), ==, 0);
}

/* A failure count that cannot be saved must not turn into free guesses, each login being a new
 * process that starts from the file. The kernel refuses the writes for real: a file size limit
 * of 0 (EFBIG, the way a full disk gives ENOSPC), which binds root too. With @data set, the
 * guesses are two-factor codes after the right password. */
static void
test_lockout_fails_closed (Fixture *f, gconstpointer data)
{
  gboolean codes = GPOINTER_TO_INT (data);
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrOtpEnrollment) e = NULL;
  g_autofree char *wrong_code = NULL;
  g_autofree char *right_code = NULL;
  const char *guess = codes ? PASSWORD : "wrong password!";
  struct rlimit saved;

  /* The limit holds for the whole process, so a child takes it; its output goes to pipes. */
  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      return;
    }

  if (codes)
    {
      e = tsr_accounts_otp_begin (f->accounts, "alice", &error);
      g_assert_no_error (error);
      right_code = code_for (e->secret, 1800000000);
      g_assert_true (
          tsr_accounts_otp_confirm (f->accounts, "alice", PASSWORD, NULL, right_code, &error));
      g_assert_no_error (error);
      wrong_code = wrong_code_for (e->secret, 1800000000);
    }

  forbid_writes (&saved);

  /* Every attempt is refused unjudged, saying why: the right password and an unknown name get
   * the same answer as a wrong guess. */
  for (int i = 0; i < 3 * TSR_ACCOUNTS_MAX_FAILURES; i++)
    {
      g_assert_null (login_afresh (f, "alice", guess, wrong_code, &error));
      g_assert_error (error, TSR_ERROR, TSR_ERROR_IO);
      g_assert_nonnull (strstr (error->message, "could not be recorded"));
      g_assert_nonnull (strstr (error->message, g_strerror (EFBIG)));
      g_clear_error (&error);
    }
  g_assert_null (login_afresh (f, "alice", PASSWORD, right_code, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_IO);
  g_clear_error (&error);
  g_assert_null (login_afresh (f, "nobody", guess, wrong_code, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_IO);
  g_clear_error (&error);

  /* Writes work again: none of those attempts was a guess, and MAX_FAILURES guesses in all
   * lock the account. */
  allow_writes (&saved);
  /* Being asked for the code is no guess, however often. */
  for (int i = 0; codes && i < 2 * TSR_ACCOUNTS_MAX_FAILURES; i++)
    {
      g_assert_null (login_afresh (f, "alice", PASSWORD, NULL, &error));
      g_assert_error (error, TSR_ERROR, TSR_ERROR_CODE_NEEDED);
      g_assert_nonnull (strstr (error->message, "give a code"));
      g_clear_error (&error);
    }
  for (int i = 0; i < TSR_ACCOUNTS_MAX_FAILURES; i++)
    {
      g_assert_null (login_afresh (f, "alice", guess, wrong_code, &error));
      g_assert_error (error, TSR_ERROR, TSR_ERROR_AUTH);
      g_assert_null (strstr (error->message, "try again"));
      g_clear_error (&error);
    }
  g_assert_null (login_afresh (f, "alice", PASSWORD, right_code, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_AUTH);
  g_assert_nonnull (strstr (error->message, "try again in 30 seconds"));
  /* The lockout names what was wrong only as far as both guesses share it. */
  g_assert_null (strstr (error->message, "passwords"));
}

/* What a session can do that needs the password. */
typedef enum
{
  ON_SESSION_PASSWD,
  ON_SESSION_OTP_DISABLE,
  ON_SESSION_OTP_SWITCH, /* confirming an enrollment while two-factor is on */
} OnSession;

/* `tessera-cli passwd`, `otp disable` or `otp confirm`: a new process, on a session that may be
 * stolen. @new_code is the pending enrollment's, for confirming it. */
static gboolean
on_session_afresh (Fixture *f, OnSession what, const char *password, const char *code,
                   const char *new_code, GError **error)
{
  g_autoptr (TsrAccounts) process = reload (f);

  tsr_accounts_set_now (process, 1800000000);
  switch (what)
    {
      case ON_SESSION_OTP_DISABLE:
        return tsr_accounts_otp_disable (process, "alice", password, code, error);
      case ON_SESSION_OTP_SWITCH:
        return tsr_accounts_otp_confirm (process, "alice", password, code, new_code, error);
      case ON_SESSION_PASSWD:
      default:
        return tsr_accounts_change_password (process, "alice", password, "a brand new passphrase",
                                             error);
    }
}

/* Whoever holds a session can change the password, turn two-factor off or switch it to another
 * authenticator, and each needs the password: unless they count as logins do, a stolen session
 * guesses it without end. So they share the login's count and lockout, and its fail-closed
 * rule. With two-factor (@data is not ON_SESSION_PASSWD), wrong codes count too. */
static void
test_session_guesses_locked_out (Fixture *f, gconstpointer data)
{
  OnSession what = GPOINTER_TO_INT (data);
  gboolean two_factor = what != ON_SESSION_PASSWD;
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrOtpEnrollment) e = NULL;
  g_autoptr (TsrOtpEnrollment) pending = NULL;
  g_autoptr (TsrAccounts) after = NULL;
  g_autofree char *wrong_code = NULL;
  g_autofree char *right_code = NULL;
  g_autofree char *new_code = NULL;
  struct rlimit saved;

  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      return;
    }

  if (two_factor)
    {
      g_autofree char *confirm = NULL;

      e = tsr_accounts_otp_begin (f->accounts, "alice", &error);
      g_assert_no_error (error);
      confirm = code_for (e->secret, 1800000000 - 30);
      g_assert_true (
          tsr_accounts_otp_confirm (f->accounts, "alice", PASSWORD, NULL, confirm, &error));
      g_assert_no_error (error);
      right_code = code_for (e->secret, 1800000000);
      wrong_code = wrong_code_for (e->secret, 1800000000);
    }
  if (what == ON_SESSION_OTP_SWITCH)
    {
      pending = tsr_accounts_otp_begin (f->accounts, "alice", &error);
      g_assert_no_error (error);
      new_code = code_for (pending->secret, 1800000000);
    }

  /* Saves fail: every try is refused unjudged, the right one too, and counts for nothing. */
  forbid_writes (&saved);
  for (int i = 0; i < 2 * TSR_ACCOUNTS_MAX_FAILURES; i++)
    {
      g_assert_false (on_session_afresh (f, what, i % 2 ? "wrong password!" : PASSWORD,
                                         i % 2 ? right_code : wrong_code, new_code, &error));
      g_assert_error (error, TSR_ERROR, TSR_ERROR_IO);
      g_assert_nonnull (strstr (error->message, "could not be recorded"));
      g_clear_error (&error);
    }
  allow_writes (&saved);

  /* Being asked for the code is no guess. */
  for (int i = 0; two_factor && i < 2 * TSR_ACCOUNTS_MAX_FAILURES; i++)
    {
      g_assert_false (on_session_afresh (f, what, PASSWORD, NULL, new_code, &error));
      g_assert_error (error, TSR_ERROR, TSR_ERROR_CODE_NEEDED);
      g_assert_nonnull (strstr (error->message, "give a code"));
      g_clear_error (&error);
    }
  /* Wrong passwords (and codes) answered as a login answers them, until the lockout... */
  for (int i = 0; i < TSR_ACCOUNTS_MAX_FAILURES; i++)
    {
      gboolean wrong_password = !two_factor || i % 2 == 0;

      g_assert_false (on_session_afresh (f, what, wrong_password ? "wrong password!" : PASSWORD,
                                         wrong_password ? right_code : wrong_code, new_code,
                                         &error));
      g_assert_error (error, TSR_ERROR, TSR_ERROR_AUTH);
      g_assert_nonnull (strstr (error->message, wrong_password ? "Wrong username or password"
                                                               : "Wrong or already used"));
      g_clear_error (&error);
    }
  /* ...which refuses the right ones, here and at login. */
  g_assert_false (on_session_afresh (f, what, PASSWORD, right_code, new_code, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_AUTH);
  g_assert_nonnull (strstr (error->message, "try again in 30 seconds"));
  g_clear_error (&error);
  g_assert_null (login_afresh (f, "alice", PASSWORD, right_code, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_AUTH);
  g_assert_nonnull (strstr (error->message, "try again in 30 seconds"));
  g_clear_error (&error);

  /* Nothing changed; after the wait the right ones work. */
  after = reload (f);
  g_assert_cmpint (tsr_accounts_user_has_otp (after, "alice"), ==, two_factor);
  tsr_accounts_set_now (after, 1800000000 + 30);
  if (two_factor)
    {
      g_autofree char *code = code_for (e->secret, 1800000000 + 30);
      g_autofree char *next_new_code = NULL;

      if (what == ON_SESSION_OTP_DISABLE)
        g_assert_true (tsr_accounts_otp_disable (after, "alice", PASSWORD, code, &error));
      else
        {
          /* The enrollment waited through it all. */
          next_new_code = code_for (pending->secret, 1800000000 + 30);
          g_assert_true (
              tsr_accounts_otp_confirm (after, "alice", PASSWORD, code, next_new_code, &error));
          g_assert_true (login_with_code (after, 1800000000 + 60, pending->backup_codes[0]));
        }
    }
  else
    g_assert_true (
        tsr_accounts_change_password (after, "alice", PASSWORD, "a brand new passphrase", &error));
  g_assert_no_error (error);
}

/* Confirming an enrollment puts an authenticator on the account: on a stolen session, the
 * thief's, who could then sign in (or, with two-factor on, lock the user out of it). So it needs
 * the password, and a code of the working two-factor when there is one, judged as a login
 * judges them; whatever is refused leaves the enrollment pending. */
static void
test_otp_confirm_needs_the_account_holder (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrOtpEnrollment) first = NULL;
  g_autoptr (TsrOtpEnrollment) second = NULL;
  g_autoptr (TsrAccounts) again = NULL;
  g_autofree char *code = NULL;
  g_autofree char *old_code = NULL;
  g_autofree char *wrong = NULL;
  gint64 t = 1800000000;

  first = tsr_accounts_otp_begin (f->accounts, "alice", &error);
  g_assert_no_error (error);
  code = code_for (first->secret, t);

  /* The session and the new app's code, without the password: refused, and counted... */
  for (int i = 0; i < TSR_ACCOUNTS_MAX_FAILURES; i++)
    {
      g_assert_false (tsr_accounts_otp_confirm (
          f->accounts, "alice", i == 0 ? NULL : "wrong password!", NULL, code, &error));
      g_assert_error (error, TSR_ERROR, TSR_ERROR_AUTH);
      g_assert_cmpstr (error->message, ==, "Wrong username or password");
      g_clear_error (&error);
    }
  g_assert_false (tsr_accounts_user_has_otp (f->accounts, "alice"));
  /* ...towards the lockout a login shares, in a new process too. */
  again = reload (f);
  tsr_accounts_set_now (again, t);
  g_assert_false (tsr_accounts_otp_confirm (again, "alice", PASSWORD, NULL, code, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_AUTH);
  g_assert_nonnull (strstr (error->message, "try again in 30 seconds"));
  g_clear_error (&error);
  g_assert_false (login_with_code (again, t, NULL));
  g_assert_false (tsr_accounts_user_has_otp (again, "alice"));

  /* After the wait, the same enrollment and the password turn it on. */
  tsr_accounts_set_now (again, t + 30);
  g_free (code);
  code = code_for (first->secret, t + 30);
  g_assert_true (tsr_accounts_otp_confirm (again, "alice", PASSWORD, NULL, code, &error));
  g_assert_no_error (error);
  g_assert_true (tsr_accounts_user_has_otp (again, "alice"));

  /* Switching to another app needs a code of the working two-factor as well: none, a wrong
   * one, the new enrollment's own backup code or app code, or the wrong password, are refused
   * as a login refuses them. */
  second = tsr_accounts_otp_begin (again, "alice", &error);
  g_assert_no_error (error);
  tsr_accounts_set_now (again, t + 60);
  g_free (code);
  code = code_for (second->secret, t + 60);
  g_assert_false (tsr_accounts_otp_confirm (again, "alice", PASSWORD, NULL, code, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_CODE_NEEDED);
  g_assert_nonnull (strstr (error->message, "give a code"));
  g_clear_error (&error);
  wrong = wrong_code_for (first->secret, t + 60);
  {
    const char *not_current[] = { wrong, second->backup_codes[0], code };

    for (guint i = 0; i < G_N_ELEMENTS (not_current); i++)
      {
        g_assert_false (
            tsr_accounts_otp_confirm (again, "alice", PASSWORD, not_current[i], code, &error));
        g_assert_error (error, TSR_ERROR, TSR_ERROR_AUTH);
        g_assert_cmpstr (error->message, ==, "Wrong or already used two-factor code for alice");
        g_clear_error (&error);
      }
  }
  g_assert_false (tsr_accounts_otp_confirm (again, "alice", "wrong password!",
                                            first->backup_codes[0], code, &error));
  g_assert_error (error, TSR_ERROR, TSR_ERROR_AUTH);
  g_assert_cmpstr (error->message, ==, "Wrong username or password");
  g_clear_error (&error);

  /* Still the old app and backup codes (the one given with a wrong password unspent), in a
   * new process; not the new ones. */
  g_clear_object (&again);
  again = reload (f);
  g_assert_true (login_with_code (again, t + 60, first->backup_codes[0]));
  old_code = code_for (first->secret, t + 90);
  g_assert_true (login_with_code (again, t + 90, old_code));
  g_assert_false (login_with_code (again, t + 90, second->backup_codes[0]));

  /* The password and an old backup code switch; the enrollment waited for them. */
  tsr_accounts_set_now (again, t + 120);
  g_free (code);
  code = code_for (second->secret, t + 120);
  g_assert_true (
      tsr_accounts_otp_confirm (again, "alice", PASSWORD, first->backup_codes[1], code, &error));
  g_assert_no_error (error);
  g_clear_object (&again);
  again = reload (f);
  g_assert_false (login_with_code (again, t + 150, first->backup_codes[2]));
  g_assert_true (login_with_code (again, t + 150, second->backup_codes[0]));
}

static gboolean
file_contains (const char *path, const char *needle)
{
  g_autofree char *contents = NULL;
  gsize len;

  return g_file_get_contents (path, &contents, &len, NULL) &&
         g_strstr_len (contents, len, needle) != NULL;
}

/* No password, unused backup code or data key in plaintext on disk. */
static void
test_no_secrets_in_the_file (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (TsrOtpEnrollment) e = tsr_accounts_otp_begin (f->accounts, "alice", &error);
  g_autoptr (TsrLogin) login =
      tsr_accounts_login (f->accounts, "alice", PASSWORD, NULL, "local", &error);
  g_autofree char *key_b64 = g_base64_encode (login->data_key->bytes, TSR_KEY_LEN);
  char key_hex[2 * TSR_KEY_LEN + 1];

  g_assert_no_error (error);
  tsr_hex_encode (login->data_key->bytes, TSR_KEY_LEN, key_hex);
  g_assert_true (file_contains (f->path, "alice@example.org")); /* the check itself works */
  g_assert_false (file_contains (f->path, PASSWORD));
  g_assert_false (file_contains (f->path, login->token));
  g_assert_false (file_contains (f->path, key_b64));
  g_assert_false (file_contains (f->path, key_hex));
  for (guint i = 0; e->backup_codes[i] != NULL; i++)
    g_assert_false (file_contains (f->path, e->backup_codes[i]));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn)                                                                              \
  g_test_add ("/tessera/accounts/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("register-and-login", test_register_and_login);
  ADD ("unknown-name-checked-alike", test_unknown_name_checked_alike);
  ADD ("registration-rules", test_registration_rules);
  ADD ("lockout-survives-restart", test_lockout_survives_restart);
  g_test_add ("/tessera/accounts/lockout-fails-closed", Fixture, GINT_TO_POINTER (FALSE),
              fixture_setup, test_lockout_fails_closed, fixture_teardown);
  g_test_add ("/tessera/accounts/code-lockout-fails-closed", Fixture, GINT_TO_POINTER (TRUE),
              fixture_setup, test_lockout_fails_closed, fixture_teardown);
  g_test_add ("/tessera/accounts/passwd-lockout", Fixture, GINT_TO_POINTER (ON_SESSION_PASSWD),
              fixture_setup, test_session_guesses_locked_out, fixture_teardown);
  g_test_add ("/tessera/accounts/otp-disable-lockout", Fixture,
              GINT_TO_POINTER (ON_SESSION_OTP_DISABLE), fixture_setup,
              test_session_guesses_locked_out, fixture_teardown);
  g_test_add ("/tessera/accounts/otp-switch-lockout", Fixture,
              GINT_TO_POINTER (ON_SESSION_OTP_SWITCH), fixture_setup,
              test_session_guesses_locked_out, fixture_teardown);
  ADD ("two-factor", test_two_factor);
  ADD ("reenrollment-waits-for-confirm", test_reenrollment_waits_for_confirm);
  ADD ("otp-confirm-needs-the-account-holder", test_otp_confirm_needs_the_account_holder);
  ADD ("old-pending-enrollment-loads", test_old_pending_enrollment_loads);
  ADD ("sessions-expire-and-logout", test_sessions_expire_and_logout);
  ADD ("change-password-keeps-data-key", test_change_password_keeps_data_key);
  ADD ("damaged-file-is-kept", test_damaged_file_is_kept);
  ADD ("no-secrets-in-the-file", test_no_secrets_in_the_file);
#undef ADD

  return g_test_run ();
}
