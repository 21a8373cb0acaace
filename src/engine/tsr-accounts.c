/* tsr-accounts.c
 *
 * DATA_DIR/accounts.json, mode 0600, written atomically and durably after every change:
 *   {"format": "tessera-accounts", "version": 1, "session_idle_seconds": 43200,
 *    "session_absolute_seconds": 604800, "users": [{username, email, password_hash,
 *    created_at, last_login, failures, locked_until, key_salt, wrapped_key, otp_enabled,
 *    otp_secret, otp_pending, otp_last_step, code_salt, backup_codes: [hash...],
 *    otp_pending_code_salt, otp_pending_backup_codes: [hash...] or null,
 *    sessions: [{token_hash, created_at, last_used, origin}]}]}
 *
 * A two-factor enrollment is pending until confirmed: otp_pending and the otp_pending_* members
 * hold its secret and backup codes, apart from the working ones (otp_secret, code_salt,
 * backup_codes), which confirming replaces. Files from before the otp_pending_* members lack
 * them: their enrollment put its codes straight into backup_codes, and a pending one without
 * codes of its own keeps those on confirming, as it did then.
 *
 * Passwords: Argon2id through crypto_pwhash_str with libsodium's INTERACTIVE limits (64 MiB,
 * 2 passes: ~0.1 s here), the level libsodium recommends for logins a person waits for.
 * The data key is random and wrapped (XChaCha20-Poly1305) with a key derived from the password
 * by Argon2id under its own salt, so the file alone never opens it; a password change rewraps
 * it without touching the files it protects. Session tokens and backup codes are stored only
 * as hashes (backup codes carry 60 bits, so a keyed BLAKE2b suffices). The TOTP secret is
 * stored as is: it must be readable to check a code, and the file is the user's own, 0600.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tsr-accounts-private.h"
#include "tsr-accounts.h"
#include "tsr-error.h"
#include "tsr-hash.h"
#include "tsr-totp.h"

#include <json-glib/json-glib.h>
#include <sodium.h>
#include <string.h>

#define ACCOUNTS_FORMAT  "tessera-accounts"
#define ACCOUNTS_VERSION 1
#define MIN_PASSWORD_LEN 10
#define MAX_LOCKOUT      (24 * 3600)

typedef struct
{
  char *token_hash;
  gint64 created_at;
  gint64 last_used;
  char *origin;
} Session;

typedef struct
{
  char *username;
  char *email;
  char *password_hash;
  gint64 created_at;
  gint64 last_login;
  guint failures;
  gint64 locked_until;
  char *key_salt;
  char *wrapped_key;
  gboolean otp_enabled;
  char *otp_secret;
  char *otp_pending;
  gint64 otp_last_step;
  char *code_salt;
  GPtrArray *backup_codes; /* hex hashes of the unused ones */
  char *pending_code_salt;
  GPtrArray *pending_backup_codes; /* the pending enrollment's; %NULL: it keeps the working ones */
  GPtrArray *sessions;
} User;

struct _TsrAccounts
{
  GObject parent_instance;

  char *path;
  GMutex lock;
  GPtrArray *users;
  gint64 session_idle;     /* seconds; "session_idle_seconds" in the file */
  gint64 session_absolute; /* seconds; "session_absolute_seconds" in the file */
  gint64 now;              /* 0: the real clock; tests set it */
};

G_DEFINE_FINAL_TYPE (TsrAccounts, tsr_accounts, G_TYPE_OBJECT)

void
tsr_login_free (TsrLogin *login)
{
  if (login == NULL)
    return;
  g_free (login->username);
  if (login->token != NULL)
    sodium_memzero (login->token, strlen (login->token));
  g_free (login->token);
  tsr_key_free (login->data_key);
  g_free (login);
}

void
tsr_otp_enrollment_free (TsrOtpEnrollment *e)
{
  if (e == NULL)
    return;
  g_free (e->secret);
  g_free (e->uri);
  g_strfreev (e->backup_codes);
  g_free (e);
}

static void
session_free (Session *s)
{
  g_free (s->token_hash);
  g_free (s->origin);
  g_free (s);
}

static void
user_free (User *u)
{
  g_free (u->username);
  g_free (u->email);
  g_free (u->password_hash);
  g_free (u->key_salt);
  g_free (u->wrapped_key);
  g_free (u->otp_secret);
  g_free (u->otp_pending);
  g_free (u->code_salt);
  g_ptr_array_unref (u->backup_codes);
  g_free (u->pending_code_salt);
  g_clear_pointer (&u->pending_backup_codes, g_ptr_array_unref);
  g_ptr_array_unref (u->sessions);
  g_free (u);
}

static User *
user_new (void)
{
  User *u = g_new0 (User, 1);

  u->backup_codes = g_ptr_array_new_with_free_func (g_free);
  u->sessions = g_ptr_array_new_with_free_func ((GDestroyNotify)session_free);
  return u;
}

static gint64
now (TsrAccounts *self)
{
  return self->now != 0 ? self->now : g_get_real_time () / G_USEC_PER_SEC;
}

/* For tests: a fixed clock (seconds since the epoch); 0 returns to the real one. */
static gboolean save (TsrAccounts *self, GError **error);

/**
 * tsr_accounts_set_session_limits:
 * @idle_seconds: a session unused this long ends (default 12 hours)
 * @absolute_seconds: a session this old ends however used (default 7 days)
 *
 * Saved in accounts.json, where they can also be edited.
 */
gboolean
tsr_accounts_set_session_limits (TsrAccounts *self, gint64 idle_seconds, gint64 absolute_seconds,
                                 GError **error)
{
  gboolean ok;

  g_return_val_if_fail (TSR_IS_ACCOUNTS (self), FALSE);
  g_return_val_if_fail (idle_seconds > 0 && absolute_seconds > 0, FALSE);

  g_mutex_lock (&self->lock);
  self->session_idle = idle_seconds;
  self->session_absolute = absolute_seconds;
  ok = save (self, error);
  g_mutex_unlock (&self->lock);
  return ok;
}

void
tsr_accounts_set_now (TsrAccounts *self, gint64 unix_time)
{
  g_return_if_fail (TSR_IS_ACCOUNTS (self));
  self->now = unix_time;
}

static User *
find_user (TsrAccounts *self, const char *username)
{
  for (guint i = 0; i < self->users->len; i++)
    {
      User *u = self->users->pdata[i];
      if (g_strcmp0 (u->username, username) == 0)
        return u;
    }
  return NULL;
}

/* ---- persistence ---- */

static void
set_str (JsonBuilder *b, const char *key, const char *value)
{
  json_builder_set_member_name (b, key);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
set_int (JsonBuilder *b, const char *key, gint64 value)
{
  json_builder_set_member_name (b, key);
  json_builder_add_int_value (b, value);
}

static gboolean
save (TsrAccounts *self, GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *data = NULL;
  gsize len;

  json_builder_begin_object (b);
  set_str (b, "format", ACCOUNTS_FORMAT);
  set_int (b, "version", ACCOUNTS_VERSION);
  set_int (b, "session_idle_seconds", self->session_idle);
  set_int (b, "session_absolute_seconds", self->session_absolute);
  json_builder_set_member_name (b, "users");
  json_builder_begin_array (b);
  for (guint i = 0; i < self->users->len; i++)
    {
      User *u = self->users->pdata[i];

      json_builder_begin_object (b);
      set_str (b, "username", u->username);
      set_str (b, "email", u->email);
      set_str (b, "password_hash", u->password_hash);
      set_int (b, "created_at", u->created_at);
      set_int (b, "last_login", u->last_login);
      set_int (b, "failures", u->failures);
      set_int (b, "locked_until", u->locked_until);
      set_str (b, "key_salt", u->key_salt);
      set_str (b, "wrapped_key", u->wrapped_key);
      json_builder_set_member_name (b, "otp_enabled");
      json_builder_add_boolean_value (b, u->otp_enabled);
      set_str (b, "otp_secret", u->otp_secret);
      set_str (b, "otp_pending", u->otp_pending);
      set_int (b, "otp_last_step", u->otp_last_step);
      set_str (b, "code_salt", u->code_salt);
      json_builder_set_member_name (b, "backup_codes");
      json_builder_begin_array (b);
      for (guint j = 0; j < u->backup_codes->len; j++)
        json_builder_add_string_value (b, u->backup_codes->pdata[j]);
      json_builder_end_array (b);
      set_str (b, "otp_pending_code_salt", u->pending_code_salt);
      json_builder_set_member_name (b, "otp_pending_backup_codes");
      if (u->pending_backup_codes != NULL)
        {
          json_builder_begin_array (b);
          for (guint j = 0; j < u->pending_backup_codes->len; j++)
            json_builder_add_string_value (b, u->pending_backup_codes->pdata[j]);
          json_builder_end_array (b);
        }
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "sessions");
      json_builder_begin_array (b);
      for (guint j = 0; j < u->sessions->len; j++)
        {
          Session *s = u->sessions->pdata[j];
          json_builder_begin_object (b);
          set_str (b, "token_hash", s->token_hash);
          set_int (b, "created_at", s->created_at);
          set_int (b, "last_used", s->last_used);
          set_str (b, "origin", s->origin);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  data = json_generator_to_data (gen, &len);
  if (!g_file_set_contents_full (self->path, data, len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600,
                                 &local_error))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_IO, _ ("Cannot save the accounts: %s"),
                   local_error->message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
get_str (JsonObject *o, const char *key, gboolean nullable, char **out)
{
  JsonNode *n = json_object_get_member (o, key);

  if (n == NULL)
    return FALSE;
  if (JSON_NODE_HOLDS_NULL (n))
    {
      *out = NULL;
      return nullable;
    }
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return FALSE;
  *out = g_strdup (json_node_get_string (n));
  return TRUE;
}

static gboolean
get_int (JsonObject *o, const char *key, gint64 *out)
{
  JsonNode *n = json_object_get_member (o, key);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64 ||
      json_node_get_int (n) < 0)
    return FALSE;
  *out = json_node_get_int (n);
  return TRUE;
}

static gboolean
get_string_array (JsonObject *o, const char *key, GPtrArray *out)
{
  JsonNode *n = json_object_get_member (o, key);
  JsonArray *a;

  if (n == NULL || !JSON_NODE_HOLDS_ARRAY (n))
    return FALSE;
  a = json_node_get_array (n);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *el = json_array_get_element (a, i);
      if (!JSON_NODE_HOLDS_VALUE (el) || json_node_get_value_type (el) != G_TYPE_STRING)
        return FALSE;
      g_ptr_array_add (out, g_strdup (json_node_get_string (el)));
    }
  return TRUE;
}

static gboolean valid_username (const char *name);

static User *
parse_user (JsonNode *node)
{
  g_autoptr (GPtrArray) sessions = NULL;
  User *u;
  JsonObject *o;
  JsonNode *n;
  gint64 failures;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  o = json_node_get_object (node);
  u = user_new ();
  /* A name that registration would refuse cannot be a real account: the file was edited or
   * damaged, and such a name could otherwise collide with text that is not a name at all. */
  if (!get_str (o, "username", FALSE, &u->username) || !valid_username (u->username) ||
      !get_str (o, "email", FALSE, &u->email) ||
      !get_str (o, "password_hash", FALSE, &u->password_hash) ||
      !get_int (o, "created_at", &u->created_at) || !get_int (o, "last_login", &u->last_login) ||
      !get_int (o, "failures", &failures) || failures > G_MAXUINT ||
      !get_int (o, "locked_until", &u->locked_until) ||
      !get_str (o, "key_salt", FALSE, &u->key_salt) ||
      !get_str (o, "wrapped_key", FALSE, &u->wrapped_key) ||
      (n = json_object_get_member (o, "otp_enabled")) == NULL || !JSON_NODE_HOLDS_VALUE (n) ||
      json_node_get_value_type (n) != G_TYPE_BOOLEAN ||
      !get_str (o, "otp_secret", TRUE, &u->otp_secret) ||
      !get_str (o, "otp_pending", TRUE, &u->otp_pending) ||
      !get_int (o, "otp_last_step", &u->otp_last_step) ||
      !get_str (o, "code_salt", TRUE, &u->code_salt) ||
      !get_string_array (o, "backup_codes", u->backup_codes) ||
      strlen (u->password_hash) >= crypto_pwhash_STRBYTES)
    goto fail;
  u->failures = failures;
  u->otp_enabled = json_node_get_boolean (n);
  if (u->otp_enabled && u->otp_secret == NULL)
    goto fail;
  /* Optional (older files lack them); codes belong to a pending secret and come with a salt. */
  if (json_object_has_member (o, "otp_pending_code_salt") &&
      !get_str (o, "otp_pending_code_salt", TRUE, &u->pending_code_salt))
    goto fail;
  n = json_object_get_member (o, "otp_pending_backup_codes");
  if (n != NULL && !JSON_NODE_HOLDS_NULL (n))
    {
      u->pending_backup_codes = g_ptr_array_new_with_free_func (g_free);
      if (!get_string_array (o, "otp_pending_backup_codes", u->pending_backup_codes) ||
          u->otp_pending == NULL || u->pending_code_salt == NULL)
        goto fail;
    }

  n = json_object_get_member (o, "sessions");
  if (n == NULL || !JSON_NODE_HOLDS_ARRAY (n))
    goto fail;
  for (guint i = 0; i < json_array_get_length (json_node_get_array (n)); i++)
    {
      JsonNode *el = json_array_get_element (json_node_get_array (n), i);
      Session *s;

      if (!JSON_NODE_HOLDS_OBJECT (el))
        goto fail;
      s = g_new0 (Session, 1);
      g_ptr_array_add (u->sessions, s);
      if (!get_str (json_node_get_object (el), "token_hash", FALSE, &s->token_hash) ||
          !get_int (json_node_get_object (el), "created_at", &s->created_at) ||
          !get_int (json_node_get_object (el), "last_used", &s->last_used) ||
          !get_str (json_node_get_object (el), "origin", FALSE, &s->origin))
        goto fail;
    }
  return u;

fail:
  user_free (u);
  return NULL;
}

/**
 * tsr_accounts_load:
 * @path: DATA_DIR/accounts.json; a missing file is an empty set of accounts
 *
 * A damaged file is %TSR_ERROR_CORRUPT and is never replaced with an empty one.
 */
TsrAccounts *
tsr_accounts_load (const char *path, GError **error)
{
  g_autoptr (TsrAccounts) self = g_object_new (TSR_TYPE_ACCOUNTS, NULL);
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) local_error = NULL;
  g_autofree char *data = NULL;
  g_autofree char *format = NULL;
  JsonObject *o;
  JsonNode *root, *users;
  gsize len;
  gint64 version;

  if (!tsr_crypto_init (error))
    return NULL;
  self->path = g_strdup (path);
  if (!g_file_get_contents (path, &data, &len, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_steal_pointer (&self);
      g_set_error (error, TSR_ERROR, TSR_ERROR_IO, _ ("Cannot read the accounts: %s"),
                   local_error->message);
      return NULL;
    }
  if (!json_parser_load_from_data (parser, data, len, NULL) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root) ||
      !get_int (o = json_node_get_object (root), "version", &version) ||
      version != ACCOUNTS_VERSION || !get_str (o, "format", FALSE, &format) ||
      g_strcmp0 (format, ACCOUNTS_FORMAT) != 0 ||
      (users = json_object_get_member (o, "users")) == NULL || !JSON_NODE_HOLDS_ARRAY (users))
    goto corrupt;
  /* Optional: how long sessions live, for whoever edits the file. */
  if ((json_object_has_member (o, "session_idle_seconds") &&
       (!get_int (o, "session_idle_seconds", &self->session_idle) || self->session_idle == 0)) ||
      (json_object_has_member (o, "session_absolute_seconds") &&
       (!get_int (o, "session_absolute_seconds", &self->session_absolute) ||
        self->session_absolute == 0)))
    goto corrupt;
  for (guint i = 0; i < json_array_get_length (json_node_get_array (users)); i++)
    {
      User *u = parse_user (json_array_get_element (json_node_get_array (users), i));
      if (u == NULL || find_user (self, u->username) != NULL)
        {
          if (u != NULL)
            user_free (u);
          goto corrupt;
        }
      g_ptr_array_add (self->users, u);
    }
  return g_steal_pointer (&self);

corrupt:
  g_set_error (
      error, TSR_ERROR, TSR_ERROR_CORRUPT,
      _ ("The accounts file %s is damaged; it was left as it is (restore it from a backup)"), path);
  return NULL;
}

/* ---- keys and hashes ---- */

static TsrKey *
derive_kek (const char *password, const char *salt_b64, GError **error)
{
  g_autofree guint8 *salt = NULL;
  gsize salt_len = 0;
  TsrKey *kek;

  salt = g_base64_decode (salt_b64, &salt_len);
  if (salt_len != crypto_pwhash_SALTBYTES)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_CORRUPT,
                   _ ("A key salt in the accounts is damaged"));
      return NULL;
    }
  kek = tsr_key_new_random ();
  if (crypto_pwhash (kek->bytes, TSR_KEY_LEN, password, strlen (password), salt,
                     crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                     crypto_pwhash_ALG_ARGON2ID13) != 0)
    {
      tsr_key_free (kek);
      g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED, _ ("Out of memory deriving a key"));
      return NULL;
    }
  return kek;
}

static char *
hash_code (const char *salt_b64, const char *code)
{
  g_autofree guint8 *salt = NULL;
  g_autofree char *normal = NULL;
  guint8 out[32];
  char hex[65];
  gsize salt_len = 0;

  /* Case and dashes do not matter to a person copying a code. */
  normal = g_ascii_strup (code, -1);
  g_strdelimit (normal, "-", ' ');
  g_strstrip (normal);
  {
    GString *s = g_string_new (NULL);
    for (const char *p = normal; *p; p++)
      if (*p != ' ')
        g_string_append_c (s, *p);
    g_free (normal);
    normal = g_string_free (s, FALSE);
  }
  salt = g_base64_decode (salt_b64, &salt_len);
  crypto_generichash (out, sizeof out, (const guint8 *)normal, strlen (normal), salt,
                      MIN (salt_len, crypto_generichash_KEYBYTES_MAX));
  tsr_hex_encode (out, sizeof out, hex);
  return g_strdup (hex);
}

static char *
random_b64 (gsize len)
{
  g_autofree guint8 *buf = g_malloc (len);

  randombytes_buf (buf, len);
  return g_base64_encode (buf, len);
}

static gboolean
valid_username (const char *name)
{
  gsize len = name ? strlen (name) : 0;

  if (len < 3 || len > 32)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_islower (name[i]) && !g_ascii_isdigit (name[i]) && !strchr ("._-", name[i]))
      return FALSE;
  return g_ascii_isalnum (name[0]);
}

static gboolean
valid_email (const char *email)
{
  const char *at = email ? strchr (email, '@') : NULL;

  return at != NULL && at != email && strchr (at + 1, '@') == NULL && strchr (at, '.') != NULL &&
         at[strlen (at) - 1] != '.' && strlen (email) <= 254 &&
         strpbrk (email, " \t\r\n<>") == NULL;
}

/* ---- the operations ---- */

/**
 * tsr_accounts_register:
 *
 * Usernames are 3–32 characters of a-z, 0-9, '.', '_' and '-'; passwords at least 10
 * characters and not the username.
 */
gboolean
tsr_accounts_register (TsrAccounts *self, const char *username, const char *email,
                       const char *password, GError **error)
{
  char hash[crypto_pwhash_STRBYTES];
  g_autoptr (TsrKey) data_key = NULL;
  g_autoptr (TsrKey) kek = NULL;
  User *u;
  gboolean ok;

  g_return_val_if_fail (TSR_IS_ACCOUNTS (self), FALSE);

  if (!valid_username (username))
    {
      g_set_error (
          error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
          _ ("A username is 3 to 32 characters: lowercase letters, digits, '.', '_', '-'"));
      return FALSE;
    }
  if (!valid_email (email))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT, _ ("“%s” is not an email address"),
                   email ? email : "");
      return FALSE;
    }
  if (password == NULL || g_utf8_strlen (password, -1) < MIN_PASSWORD_LEN ||
      g_ascii_strcasecmp (password, username) == 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                   _ ("A password needs at least %d characters and must not be the username"),
                   MIN_PASSWORD_LEN);
      return FALSE;
    }

  g_mutex_lock (&self->lock);
  if (find_user (self, username) != NULL)
    {
      g_mutex_unlock (&self->lock);
      g_set_error (error, TSR_ERROR, TSR_ERROR_EXISTS, _ ("The username %s is taken"), username);
      return FALSE;
    }
  for (guint i = 0; i < self->users->len; i++)
    if (g_ascii_strcasecmp (((User *)self->users->pdata[i])->email, email) == 0)
      {
        g_mutex_unlock (&self->lock);
        g_set_error (error, TSR_ERROR, TSR_ERROR_EXISTS, _ ("The email %s is already registered"),
                     email);
        return FALSE;
      }
  g_mutex_unlock (&self->lock);

  if (crypto_pwhash_str (hash, password, strlen (password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                         crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED, _ ("Out of memory hashing the password"));
      return FALSE;
    }
  u = user_new ();
  u->username = g_strdup (username);
  u->email = g_strdup (email);
  u->password_hash = g_strdup (hash);
  u->created_at = now (self);
  u->key_salt = random_b64 (crypto_pwhash_SALTBYTES);
  data_key = tsr_key_new_random ();
  kek = derive_kek (password, u->key_salt, error);
  if (kek == NULL)
    {
      user_free (u);
      return FALSE;
    }
  u->wrapped_key = tsr_key_seal (kek, data_key);

  g_mutex_lock (&self->lock);
  if (find_user (self, username) != NULL)
    {
      g_mutex_unlock (&self->lock);
      user_free (u);
      g_set_error (error, TSR_ERROR, TSR_ERROR_EXISTS, _ ("The username %s is taken"), username);
      return FALSE;
    }
  g_ptr_array_add (self->users, u);
  ok = save (self, error);
  if (!ok)
    g_ptr_array_remove (self->users, u);
  g_mutex_unlock (&self->lock);
  return ok;
}

/* Whether @code is @secret_b32's TOTP code now, of a time step after @last_step (the last one
 * this secret had accepted); @step gets that step, for the caller to spend. Called locked. */
static gboolean
verify_totp (TsrAccounts *self, gint64 last_step, const char *secret_b32, const char *code,
             gint64 *step)
{
  g_autofree guint8 *secret = NULL;
  gsize secret_len = 0;
  gboolean ok;

  if (code == NULL || secret_b32 == NULL ||
      (secret = tsr_base32_decode (secret_b32, &secret_len)) == NULL)
    return FALSE;
  ok = tsr_totp_verify (secret, secret_len, code, now (self), 1, step);
  sodium_memzero (secret, secret_len);
  /* Each time step is accepted once: a code seen over a shoulder is already spent. */
  return ok && *step > last_step;
}

/* Checks a code of the working two-factor: a TOTP code (spending its step) or a backup code
 * (spending it). Called locked. */
static gboolean
check_second_factor (TsrAccounts *self, User *u, const char *code)
{
  g_autofree char *h = NULL;
  gint64 step = 0;

  if (code == NULL)
    return FALSE;
  if (verify_totp (self, u->otp_last_step, u->otp_secret, code, &step))
    {
      u->otp_last_step = step;
      return TRUE;
    }
  if (u->code_salt == NULL)
    return FALSE;
  h = hash_code (u->code_salt, code);
  for (guint i = 0; i < u->backup_codes->len; i++)
    /* The length first: a stored hash cut short (an edited file) is not read past its end. */
    if (strlen (u->backup_codes->pdata[i]) == strlen (h) &&
        sodium_memcmp (h, u->backup_codes->pdata[i], strlen (h)) == 0)
      {
        g_ptr_array_remove_index (u->backup_codes, i);
        return TRUE;
      }
  return FALSE;
}

/* What an unknown username's password is checked against: an Argon2id string with the cost of
 * the real ones (crypto_pwhash_str's, INTERACTIVE) and a random salt and hash, which no password
 * matches. Written out rather than made by crypto_pwhash_str: that would cost a whole hash, and
 * every `tessera-cli login` is a new process that would pay it before its only check. */
static const char *
dummy_password_hash (void)
{
  static char *hash = NULL;

  if (g_once_init_enter (&hash))
    {
      guint8 salt[crypto_pwhash_SALTBYTES];
      guint8 out[32]; /* the length crypto_pwhash_str writes */
      char salt_b64[sodium_base64_ENCODED_LEN (sizeof salt,
                                               sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];
      char out_b64[sodium_base64_ENCODED_LEN (sizeof out,
                                              sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];

      randombytes_buf (salt, sizeof salt);
      randombytes_buf (out, sizeof out);
      sodium_bin2base64 (salt_b64, sizeof salt_b64, salt, sizeof salt,
                         sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
      sodium_bin2base64 (out_b64, sizeof out_b64, out, sizeof out,
                         sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
      g_once_init_leave (
          &hash, g_strdup_printf ("%sv=19$m=%zu,t=%zu,p=1$%s$%s", crypto_pwhash_argon2id_STRPREFIX,
                                  (gsize)crypto_pwhash_MEMLIMIT_INTERACTIVE / 1024,
                                  (gsize)crypto_pwhash_OPSLIMIT_INTERACTIVE, salt_b64, out_b64));
    }
  return hash;
}

const char *
_tsr_accounts_get_dummy_password_hash (void)
{
  return dummy_password_hash ();
}

/* @u may be %NULL, an unknown name: the same hash is run, against one nothing matches, so the
 * time taken does not tell which names exist. */
static gboolean
check_password (User *u, const char *password)
{
  const char *hash = u != NULL ? u->password_hash : dummy_password_hash ();

  return password != NULL && crypto_pwhash_str_verify (hash, password, strlen (password)) == 0 &&
         u != NULL;
}

/* Counts a sign-in attempt as a failure and saves that before the password or code is judged;
 * the right ones take it back. Judging first and saving after would fail open: where the save
 * fails (a full disk) the count never reaches the file, and every `tessera-cli login` is a new
 * process that reads it, so the guesses would never end. An attempt that cannot be saved is
 * refused unjudged and not counted. For an unknown name (@u %NULL) the file is saved all the
 * same, so that the time and a failure are those of a real name. Called locked. */
static gboolean
count_attempt (TsrAccounts *self, User *u, gint64 t, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  guint failures = u != NULL ? u->failures : 0;
  gint64 locked_until = u != NULL ? u->locked_until : 0;

  if (u != NULL && ++u->failures >= TSR_ACCOUNTS_MAX_FAILURES)
    {
      guint shift = MIN (u->failures - TSR_ACCOUNTS_MAX_FAILURES, 16);
      u->locked_until = t + MIN ((gint64)TSR_ACCOUNTS_LOCKOUT_SECONDS << shift, MAX_LOCKOUT);
    }
  if (save (self, &local_error))
    return TRUE;
  if (u != NULL)
    {
      u->failures = failures;
      u->locked_until = locked_until;
    }
  g_set_error (error, TSR_ERROR, TSR_ERROR_IO,
               _ ("The sign-in attempt could not be recorded, so it was refused: %s"),
               local_error->message);
  return FALSE;
}

/* Judges a password, and with @with_code a TOTP or backup code of the enabled two-factor, for
 * whatever needs them: a login, and on a session (which may be stolen) a password change,
 * confirming a two-factor enrollment or turning two-factor off. All of them share one failure count
 * and lockout, or the guessing would move to whichever does not count. A locked account is refused
 * unjudged, with the wait; otherwise the attempt is counted and saved before it is judged
 * (count_attempt()). On success the count stays, for the caller to reset in the save of what it
 * does; an attempt only asked for its code is taken back. @u may be %NULL, an unknown name. Called
 * locked. */
static gboolean
authenticate (TsrAccounts *self, User *u, const char *username, const char *password,
              gboolean with_code, const char *code, GError **error)
{
  gint64 t = now (self);
  guint failures;
  gint64 locked_until;

  if (u != NULL && u->locked_until > t)
    {
      gint64 wait = u->locked_until - t;
      g_set_error (error, TSR_ERROR, TSR_ERROR_AUTH,
                   g_dngettext (GETTEXT_PACKAGE,
                                "Too many failed sign-in attempts for %s: try again in %d second",
                                "Too many failed sign-in attempts for %s: try again in %d seconds",
                                (gulong)wait),
                   username, (int)wait);
      return FALSE;
    }
  failures = u != NULL ? u->failures : 0;
  locked_until = u != NULL ? u->locked_until : 0;
  if (!count_attempt (self, u, t, error))
    return FALSE;
  /* An unknown name takes the same path to the same answer. */
  if (!check_password (u, password) || u == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_AUTH, _ ("Wrong username or password"));
      return FALSE;
    }
  if (with_code && !check_second_factor (self, u, code))
    {
      /* Wrong codes count, or six digits could be guessed; asking for the code does not. A
       * count that cannot be taken back stays: too strict, never too lenient. */
      if (code == NULL)
        {
          u->failures = failures;
          u->locked_until = locked_until;
          save (self, NULL);
        }
      /* Only now, the password known right, is it said that a code is wanted: a wrong
       * password does not tell whether the account has two-factor. */
      g_set_error (error, TSR_ERROR, code == NULL ? TSR_ERROR_CODE_NEEDED : TSR_ERROR_AUTH,
                   code == NULL ? _ ("%s has two-factor authentication: give a code from the "
                                     "authenticator app or a backup code")
                                : _ ("Wrong or already used two-factor code for %s"),
                   username);
      return FALSE;
    }
  return TRUE;
}

/**
 * tsr_accounts_login:
 * @code: (nullable): a TOTP code or a backup code, needed when the account has two-factor
 * @origin: where the login comes from ("local", or a peer address)
 *
 * After %TSR_ACCOUNTS_MAX_FAILURES wrong passwords or two-factor codes the account is locked
 * for 30 s, doubling with each further failure (at most a day), across restarts; the error says
 * how long. Each attempt is saved before it is judged: one that cannot be saved is refused with
 * %TSR_ERROR_IO and does not count. Password changes, confirming a two-factor enrollment and
 * turning two-factor off share the count and the lockout.
 *
 * Returns: (transfer full): the session and the unwrapped data key, or %NULL with
 * %TSR_ERROR_AUTH
 */
TsrLogin *
tsr_accounts_login (TsrAccounts *self, const char *username, const char *password, const char *code,
                    const char *origin, GError **error)
{
  g_autoptr (TsrLogin) login = NULL;
  g_autoptr (TsrKey) kek = NULL;
  guint8 token[32];
  char token_hex[65], token_hash[TSR_SHA256_HEX_LEN + 1];
  User *u;
  gint64 t, locked_until, last_login;
  guint failures, codes_before;
  Session *s;

  g_return_val_if_fail (TSR_IS_ACCOUNTS (self), NULL);

  g_mutex_lock (&self->lock);
  t = now (self);
  u = find_user (self, username);
  codes_before = u != NULL && u->otp_enabled ? u->backup_codes->len : 0;
  if (!authenticate (self, u, username, password, u != NULL && u->otp_enabled, code, error))
    {
      g_mutex_unlock (&self->lock);
      return NULL;
    }

  login = g_new0 (TsrLogin, 1);
  /* A backup code spent: the user is told how many are left, before they run out. */
  login->backup_codes_left =
      u->otp_enabled && u->backup_codes->len < codes_before ? (int)u->backup_codes->len : -1;
  kek = derive_kek (password, u->key_salt, error);
  if (kek == NULL || (login->data_key = tsr_key_unseal (kek, u->wrapped_key, error)) == NULL)
    {
      g_mutex_unlock (&self->lock);
      return NULL;
    }
  randombytes_buf (token, sizeof token);
  tsr_hex_encode (token, sizeof token, token_hex);
  tsr_sha256_hex (token_hex, strlen (token_hex), token_hash);
  sodium_memzero (token, sizeof token);
  s = g_new0 (Session, 1);
  s->token_hash = g_strdup (token_hash);
  s->created_at = s->last_used = t;
  s->origin = g_strdup (origin ? origin : "local");
  g_ptr_array_add (u->sessions, s);
  failures = u->failures;
  locked_until = u->locked_until;
  last_login = u->last_login;
  u->failures = 0;
  u->locked_until = 0;
  u->last_login = t;
  if (!save (self, error))
    {
      /* As the file has it: the attempt counted. */
      g_ptr_array_remove (u->sessions, s);
      u->failures = failures;
      u->locked_until = locked_until;
      u->last_login = last_login;
      g_mutex_unlock (&self->lock);
      return NULL;
    }
  login->username = g_strdup (u->username);
  login->token = g_strdup (token_hex);
  sodium_memzero (token_hex, sizeof token_hex);
  g_mutex_unlock (&self->lock);
  return g_steal_pointer (&login);
}

/* Finds a live session by token; expired ones are dropped on the way. Called locked. */
static Session *
find_session (TsrAccounts *self, const char *token, User **user_out)
{
  char token_hash[TSR_SHA256_HEX_LEN + 1];
  gint64 t = now (self);

  if (token == NULL)
    return NULL;
  tsr_sha256_hex (token, strlen (token), token_hash);
  for (guint i = 0; i < self->users->len; i++)
    {
      User *u = self->users->pdata[i];
      for (guint j = 0; j < u->sessions->len;)
        {
          Session *s = u->sessions->pdata[j];
          if (t - s->last_used > self->session_idle || t - s->created_at > self->session_absolute)
            {
              g_ptr_array_remove_index (u->sessions, j);
              continue;
            }
          if (sodium_memcmp (s->token_hash, token_hash, TSR_SHA256_HEX_LEN) == 0)
            {
              *user_out = u;
              return s;
            }
          j++;
        }
    }
  return NULL;
}

/**
 * tsr_accounts_validate_session:
 *
 * Returns: (transfer full): the session's username, or %NULL with %TSR_ERROR_AUTH when the
 * token is unknown or expired (12 hours idle, 7 days in all)
 */
char *
tsr_accounts_validate_session (TsrAccounts *self, const char *token, GError **error)
{
  User *u = NULL;
  Session *s;
  char *ret = NULL;

  g_return_val_if_fail (TSR_IS_ACCOUNTS (self), NULL);

  g_mutex_lock (&self->lock);
  s = find_session (self, token, &u);
  if (s != NULL)
    {
      s->last_used = now (self);
      ret = g_strdup (u->username);
      save (self, NULL);
    }
  g_mutex_unlock (&self->lock);
  if (ret == NULL)
    g_set_error (error, TSR_ERROR, TSR_ERROR_AUTH,
                 _ ("Not logged in, or the session expired: log in again"));
  return ret;
}

gboolean
tsr_accounts_logout (TsrAccounts *self, const char *token, GError **error)
{
  User *u = NULL;
  Session *s;
  gboolean ok;

  g_return_val_if_fail (TSR_IS_ACCOUNTS (self), FALSE);

  g_mutex_lock (&self->lock);
  s = find_session (self, token, &u);
  if (s != NULL)
    g_ptr_array_remove (u->sessions, s);
  ok = save (self, error);
  g_mutex_unlock (&self->lock);
  return ok;
}

/**
 * tsr_accounts_change_password:
 *
 * Rewraps the data key under the new password: no file needs re-encrypting. Ends all the
 * user's sessions. The old password is judged as a login judges it (the same failure count and
 * lockout, the attempt saved first), since whoever asks holds a session, which may be stolen.
 */
gboolean
tsr_accounts_change_password (TsrAccounts *self, const char *username, const char *old_password,
                              const char *new_password, GError **error)
{
  char hash[crypto_pwhash_STRBYTES];
  g_autoptr (TsrKey) old_kek = NULL;
  g_autoptr (TsrKey) new_kek = NULL;
  g_autoptr (TsrKey) data_key = NULL;
  g_autofree char *new_salt = NULL;
  g_autofree char *old_hash = NULL;
  g_autofree char *old_salt = NULL;
  g_autofree char *old_wrapped = NULL;
  g_autoptr (GPtrArray) old_sessions = NULL;
  User *u;
  guint failures;
  gint64 locked_until;

  g_return_val_if_fail (TSR_IS_ACCOUNTS (self), FALSE);

  if (new_password == NULL || g_utf8_strlen (new_password, -1) < MIN_PASSWORD_LEN ||
      g_ascii_strcasecmp (new_password, username) == 0)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                   _ ("A password needs at least %d characters and must not be the username"),
                   MIN_PASSWORD_LEN);
      return FALSE;
    }
  g_mutex_lock (&self->lock);
  u = find_user (self, username);
  if (!authenticate (self, u, username, old_password, FALSE, NULL, error))
    {
      g_mutex_unlock (&self->lock);
      return FALSE;
    }
  old_kek = derive_kek (old_password, u->key_salt, error);
  data_key = old_kek ? tsr_key_unseal (old_kek, u->wrapped_key, error) : NULL;
  new_salt = random_b64 (crypto_pwhash_SALTBYTES);
  new_kek = data_key ? derive_kek (new_password, new_salt, error) : NULL;
  if (new_kek == NULL || crypto_pwhash_str (hash, new_password, strlen (new_password),
                                            crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                            crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    {
      g_mutex_unlock (&self->lock);
      if (error != NULL && *error == NULL)
        g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED, _ ("Out of memory hashing the password"));
      return FALSE;
    }
  old_hash = g_steal_pointer (&u->password_hash);
  u->password_hash = g_strdup (hash);
  sodium_memzero (hash, sizeof hash);
  old_salt = g_steal_pointer (&u->key_salt);
  u->key_salt = g_steal_pointer (&new_salt);
  old_wrapped = g_steal_pointer (&u->wrapped_key);
  u->wrapped_key = tsr_key_seal (new_kek, data_key);
  old_sessions = g_steal_pointer (&u->sessions);
  u->sessions = g_ptr_array_new_with_free_func ((GDestroyNotify)session_free);
  failures = u->failures;
  locked_until = u->locked_until;
  u->failures = 0;
  u->locked_until = 0;
  if (!save (self, error))
    {
      /* As the file has it: the old password, and the attempt counted. */
      g_free (u->password_hash);
      u->password_hash = g_steal_pointer (&old_hash);
      g_free (u->key_salt);
      u->key_salt = g_steal_pointer (&old_salt);
      g_free (u->wrapped_key);
      u->wrapped_key = g_steal_pointer (&old_wrapped);
      g_ptr_array_unref (u->sessions);
      u->sessions = g_steal_pointer (&old_sessions);
      u->failures = failures;
      u->locked_until = locked_until;
      g_mutex_unlock (&self->lock);
      return FALSE;
    }
  g_mutex_unlock (&self->lock);
  return TRUE;
}

/**
 * tsr_accounts_otp_begin:
 *
 * The first step of enrollment: a new secret and backup codes, pending until confirmed with a
 * valid code. Until then nothing changes for login: it does not ask for codes, or, when
 * two-factor is on, it goes on taking the working secret and backup codes (an enrollment begun
 * and abandoned, or begun by someone else on the session, must not lock the user out or spend
 * their codes). Beginning again replaces only a pending enrollment.
 */
TsrOtpEnrollment *
tsr_accounts_otp_begin (TsrAccounts *self, const char *username, GError **error)
{
  guint8 secret[TSR_TOTP_SECRET_LEN];
  g_autoptr (TsrOtpEnrollment) e = g_new0 (TsrOtpEnrollment, 1);
  g_autoptr (GPtrArray) codes = g_ptr_array_new ();
  g_autoptr (GPtrArray) hashes = NULL;
  g_autoptr (GPtrArray) old_codes = NULL;
  g_autofree char *salt = NULL;
  g_autofree char *old_salt = NULL;
  g_autofree char *old_pending = NULL;
  User *u;

  g_return_val_if_fail (TSR_IS_ACCOUNTS (self), NULL);

  g_mutex_lock (&self->lock);
  u = find_user (self, username);
  if (u == NULL)
    {
      g_mutex_unlock (&self->lock);
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND, _ ("There is no user %s"), username);
      return NULL;
    }
  randombytes_buf (secret, sizeof secret);
  e->secret = tsr_base32_encode (secret, sizeof secret);
  sodium_memzero (secret, sizeof secret);
  e->uri = tsr_totp_uri ("Tessera", username, e->secret);

  salt = random_b64 (16);
  hashes = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < TSR_ACCOUNTS_BACKUP_CODES; i++)
    {
      guint8 raw[8];
      g_autofree char *b32 = NULL;

      randombytes_buf (raw, sizeof raw);
      b32 = tsr_base32_encode (raw, sizeof raw); /* 13 characters; 12 shown: 60 bits */
      g_ptr_array_add (codes, g_strdup_printf ("%.4s-%.4s-%.4s", b32, b32 + 4, b32 + 8));
      g_ptr_array_add (hashes, hash_code (salt, codes->pdata[i]));
    }
  g_ptr_array_add (codes, NULL);
  e->backup_codes = (char **)g_ptr_array_free (g_steal_pointer (&codes), FALSE);

  old_pending = g_steal_pointer (&u->otp_pending);
  u->otp_pending = g_strdup (e->secret);
  old_salt = g_steal_pointer (&u->pending_code_salt);
  u->pending_code_salt = g_steal_pointer (&salt);
  old_codes = g_steal_pointer (&u->pending_backup_codes);
  u->pending_backup_codes = g_steal_pointer (&hashes);
  if (!save (self, error))
    {
      g_free (u->otp_pending);
      u->otp_pending = g_steal_pointer (&old_pending);
      g_free (u->pending_code_salt);
      u->pending_code_salt = g_steal_pointer (&old_salt);
      g_ptr_array_unref (u->pending_backup_codes);
      u->pending_backup_codes = g_steal_pointer (&old_codes);
      g_mutex_unlock (&self->lock);
      return NULL;
    }
  g_mutex_unlock (&self->lock);
  return g_steal_pointer (&e);
}

/**
 * tsr_accounts_otp_confirm:
 * @password: the user's password
 * @current_code: (nullable): when two-factor is on already, a code from the current
 *   authenticator app or an unused backup code
 * @code: a code from the new authenticator app (the pending enrollment's secret)
 *
 * The second step of enrollment: turns two-factor on, or, when it is on already, replaces the
 * secret and backup codes with the pending ones. Whoever asks holds a session, which may be
 * stolen, and must not put their own authenticator on the account: so the password, and the
 * current code when two-factor is on, are judged as a login judges them (the same failure
 * count, lockout and messages, each attempt saved before it is judged). A wrong @code is
 * refused before that and not counted: it guesses at no secret of the user's. Whatever is
 * refused, the enrollment stays pending, to be confirmed again.
 */
gboolean
tsr_accounts_otp_confirm (TsrAccounts *self, const char *username, const char *password,
                          const char *current_code, const char *code, GError **error)
{
  g_autofree char *old_secret = NULL;
  g_autofree char *old_salt = NULL;
  g_autoptr (GPtrArray) old_codes = NULL;
  gboolean was_enabled;
  gint64 step = 0;
  guint failures;
  gint64 locked_until;
  User *u;

  g_return_val_if_fail (TSR_IS_ACCOUNTS (self), FALSE);

  g_mutex_lock (&self->lock);
  u = find_user (self, username);
  if (u == NULL || u->otp_pending == NULL)
    {
      g_mutex_unlock (&self->lock);
      g_set_error (error, TSR_ERROR, TSR_ERROR_INVALID_ARGUMENT,
                   _ ("Two-factor enrollment was not started for %s"), username);
      return FALSE;
    }
  /* Judged before the current code spends its step: the new app shows the same step's code.
   * The steps the working secret spent are not this secret's: a sign-in with the current app
   * just before must not make the new app's code of that step look used. */
  if (!verify_totp (self, G_MININT64, u->otp_pending, code, &step))
    {
      g_mutex_unlock (&self->lock);
      g_set_error (error, TSR_ERROR, TSR_ERROR_AUTH,
                   _ ("That code does not match: check the authenticator app's clock and try the "
                      "next code"));
      return FALSE;
    }
  if (!authenticate (self, u, username, password, u->otp_enabled, current_code, error))
    {
      g_mutex_unlock (&self->lock);
      return FALSE;
    }
  u->otp_last_step = MAX (u->otp_last_step, step);
  was_enabled = u->otp_enabled;
  old_secret = g_steal_pointer (&u->otp_secret);
  u->otp_secret = g_steal_pointer (&u->otp_pending);
  if (u->pending_backup_codes != NULL) /* else a file from before: the codes are in place */
    {
      old_salt = g_steal_pointer (&u->code_salt);
      u->code_salt = g_steal_pointer (&u->pending_code_salt);
      old_codes = g_steal_pointer (&u->backup_codes);
      u->backup_codes = g_steal_pointer (&u->pending_backup_codes);
    }
  g_clear_pointer (&u->pending_code_salt, g_free);
  u->otp_enabled = TRUE;
  failures = u->failures;
  locked_until = u->locked_until;
  u->failures = 0;
  u->locked_until = 0;
  if (!save (self, error))
    {
      /* As the file has it: still pending, and the attempt counted (the codes' steps and a
       * backup code stay spent). */
      u->otp_enabled = was_enabled;
      u->otp_pending = g_steal_pointer (&u->otp_secret);
      u->otp_secret = g_steal_pointer (&old_secret);
      if (old_codes != NULL)
        {
          u->pending_code_salt = g_steal_pointer (&u->code_salt);
          u->code_salt = g_steal_pointer (&old_salt);
          u->pending_backup_codes = g_steal_pointer (&u->backup_codes);
          u->backup_codes = g_steal_pointer (&old_codes);
        }
      u->failures = failures;
      u->locked_until = locked_until;
      g_mutex_unlock (&self->lock);
      return FALSE;
    }
  g_mutex_unlock (&self->lock);
  return TRUE;
}

/**
 * tsr_accounts_otp_disable:
 * @code: (nullable): a TOTP code or a backup code
 *
 * Needs the password and a code, judged as a login judges them: the same failure count,
 * lockout and messages, each attempt saved before it is judged.
 */
gboolean
tsr_accounts_otp_disable (TsrAccounts *self, const char *username, const char *password,
                          const char *code, GError **error)
{
  g_autofree char *old_secret = NULL;
  g_autofree char *old_pending = NULL;
  g_autofree char *old_pending_salt = NULL;
  g_autoptr (GPtrArray) old_codes = NULL;
  g_autoptr (GPtrArray) old_pending_codes = NULL;
  User *u;
  guint failures;
  gint64 locked_until;

  g_return_val_if_fail (TSR_IS_ACCOUNTS (self), FALSE);

  g_mutex_lock (&self->lock);
  u = find_user (self, username);
  /* No guess is judged where there is nothing to turn off. */
  if (u == NULL || !u->otp_enabled)
    {
      g_mutex_unlock (&self->lock);
      g_set_error (error, TSR_ERROR, TSR_ERROR_AUTH,
                   _ ("Turning two-factor off needs the password and a valid code"));
      return FALSE;
    }
  if (!authenticate (self, u, username, password, TRUE, code, error))
    {
      g_mutex_unlock (&self->lock);
      return FALSE;
    }
  u->otp_enabled = FALSE;
  old_secret = g_steal_pointer (&u->otp_secret);
  old_pending = g_steal_pointer (&u->otp_pending);
  old_codes = g_steal_pointer (&u->backup_codes);
  u->backup_codes = g_ptr_array_new_with_free_func (g_free);
  old_pending_salt = g_steal_pointer (&u->pending_code_salt);
  old_pending_codes = g_steal_pointer (&u->pending_backup_codes);
  failures = u->failures;
  locked_until = u->locked_until;
  u->failures = 0;
  u->locked_until = 0;
  if (!save (self, error))
    {
      /* As the file has it: still on, and the attempt counted (a code it spent stays spent). */
      u->otp_enabled = TRUE;
      u->otp_secret = g_steal_pointer (&old_secret);
      u->otp_pending = g_steal_pointer (&old_pending);
      g_ptr_array_unref (u->backup_codes);
      u->backup_codes = g_steal_pointer (&old_codes);
      u->pending_code_salt = g_steal_pointer (&old_pending_salt);
      u->pending_backup_codes = g_steal_pointer (&old_pending_codes);
      u->failures = failures;
      u->locked_until = locked_until;
      g_mutex_unlock (&self->lock);
      return FALSE;
    }
  g_mutex_unlock (&self->lock);
  return TRUE;
}

gboolean
tsr_accounts_has_user (TsrAccounts *self, const char *username)
{
  gboolean ret;

  g_return_val_if_fail (TSR_IS_ACCOUNTS (self), FALSE);
  g_mutex_lock (&self->lock);
  ret = find_user (self, username) != NULL;
  g_mutex_unlock (&self->lock);
  return ret;
}

gboolean
tsr_accounts_user_has_otp (TsrAccounts *self, const char *username)
{
  User *u;
  gboolean ret;

  g_return_val_if_fail (TSR_IS_ACCOUNTS (self), FALSE);
  g_mutex_lock (&self->lock);
  u = find_user (self, username);
  ret = u != NULL && u->otp_enabled;
  g_mutex_unlock (&self->lock);
  return ret;
}

char *
tsr_accounts_dup_email (TsrAccounts *self, const char *username)
{
  User *u;
  char *ret;

  g_return_val_if_fail (TSR_IS_ACCOUNTS (self), NULL);
  g_mutex_lock (&self->lock);
  u = find_user (self, username);
  ret = u != NULL ? g_strdup (u->email) : NULL;
  g_mutex_unlock (&self->lock);
  return ret;
}

static void
tsr_accounts_finalize (GObject *object)
{
  TsrAccounts *self = TSR_ACCOUNTS (object);

  g_ptr_array_unref (self->users);
  g_free (self->path);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (tsr_accounts_parent_class)->finalize (object);
}

static void
tsr_accounts_class_init (TsrAccountsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tsr_accounts_finalize;
}

static void
tsr_accounts_init (TsrAccounts *self)
{
  g_mutex_init (&self->lock);
  self->users = g_ptr_array_new_with_free_func ((GDestroyNotify)user_free);
  self->session_idle = TSR_ACCOUNTS_SESSION_IDLE;
  self->session_absolute = TSR_ACCOUNTS_SESSION_ABSOLUTE;
}
