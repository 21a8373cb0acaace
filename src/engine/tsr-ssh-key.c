/* tsr-ssh-key.c
 *
 * Ed25519 only for new keys: small, fast, and what every OpenSSH since 6.5 accepts. Existing
 * keys of any type libssh reads can be loaded.
 *
 * The private key is written with ssh_pki_export_privkey_base64() and
 * g_file_set_contents_full(…, 0600): ssh_pki_export_privkey_file() opens with fopen("wb"), so
 * the file would take its mode from the umask (0644 was observed), readable by everyone for a
 * moment or for good. The exported text is wiped before it is freed.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tsr-ssh-key.h"
#include "tsr-error.h"

#include <errno.h>
#include <string.h>
#include <sodium.h>

struct _TsrSshKey
{
  GObject parent_instance;

  ssh_key key; /* the private key */
};

G_DEFINE_FINAL_TYPE (TsrSshKey, tsr_ssh_key, G_TYPE_OBJECT)

static void
tsr_ssh_key_finalize (GObject *object)
{
  TsrSshKey *self = TSR_SSH_KEY (object);

  g_clear_pointer (&self->key, ssh_key_free); /* libssh wipes the key material */
  G_OBJECT_CLASS (tsr_ssh_key_parent_class)->finalize (object);
}

static void
tsr_ssh_key_class_init (TsrSshKeyClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tsr_ssh_key_finalize;
}

static void
tsr_ssh_key_init (TsrSshKey *self)
{
}

/* Frees a string that held secret text, wiping it first. */
static void
free_secret (char *text)
{
  if (text == NULL)
    return;
  sodium_memzero (text, strlen (text));
  ssh_string_free_char (text);
}

/**
 * tsr_ssh_key_generate:
 *
 * Returns: (transfer full): a new Ed25519 key pair (the seed's generate_keypair)
 */
TsrSshKey *
tsr_ssh_key_generate (GError **error)
{
  ssh_key key = NULL;
  TsrSshKey *self;

  if (ssh_pki_generate (SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED, _ ("Could not generate an Ed25519 key"));
      return NULL;
    }
  self = g_object_new (TSR_TYPE_SSH_KEY, NULL);
  self->key = key;
  return self;
}

/* libssh asks for a passphrase through this callback only when the key is encrypted and none
 * was given: refusing makes it fail instead of prompting on a terminal we do not own, and
 * @userdata (a gboolean, when not NULL) records that it asked. */
static int
no_prompt (const char *prompt, char *buf, size_t len, int echo, int verify, void *userdata)
{
  if (userdata != NULL)
    *(gboolean *)userdata = TRUE;
  return -1;
}

/**
 * tsr_ssh_key_is_encrypted_file:
 *
 * Returns: whether the private key at @path needs a passphrase (a file that is no key at all
 * does not)
 */
gboolean
tsr_ssh_key_is_encrypted_file (const char *path)
{
  ssh_key key = NULL;
  gboolean asked = FALSE;

  if (ssh_pki_import_privkey_file (path, NULL, no_prompt, &asked, &key) == SSH_OK)
    {
      ssh_key_free (key);
      return FALSE;
    }
  return asked;
}

/**
 * tsr_ssh_key_load:
 * @passphrase: (nullable): for an encrypted key
 *
 * Returns: (transfer full): the private key at @path, or %NULL with %TSR_ERROR_NOT_FOUND
 * (no such file), %TSR_ERROR_KEY_LOCKED (encrypted, and @passphrase missing or wrong) or
 * %TSR_ERROR_AUTH (not a key, or damaged)
 */
TsrSshKey *
tsr_ssh_key_load (const char *path, const char *passphrase, GError **error)
{
  ssh_key key = NULL;
  TsrSshKey *self;

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_NOT_FOUND, _ ("There is no SSH key at %s"), path);
      return NULL;
    }
  if (ssh_pki_import_privkey_file (path, passphrase, no_prompt, NULL, &key) != SSH_OK)
    {
      if (!tsr_ssh_key_is_encrypted_file (path))
        g_set_error (error, TSR_ERROR, TSR_ERROR_AUTH,
                     _ ("Cannot read the SSH key %s: it is not a private key, or is damaged"),
                     path);
      else if (passphrase != NULL)
        g_set_error (error, TSR_ERROR, TSR_ERROR_KEY_LOCKED,
                     _ ("Cannot read the SSH key %s: wrong passphrase"), path);
      else
        g_set_error (error, TSR_ERROR, TSR_ERROR_KEY_LOCKED,
                     _ ("The SSH key %s needs its passphrase"), path);
      return NULL;
    }
  self = g_object_new (TSR_TYPE_SSH_KEY, NULL);
  self->key = key;
  return self;
}

/**
 * tsr_ssh_key_save:
 * @path: the private key's file (mode 0600); the public key goes to @path.pub (0644)
 * @passphrase: (nullable): encrypts the private key when not %NULL or empty
 * @comment: (nullable): the public key line's comment
 *
 * Never replaces an existing key (%TSR_ERROR_EXISTS): losing a key can lock the user out.
 */
gboolean
tsr_ssh_key_save (TsrSshKey *self, const char *path, const char *passphrase, const char *comment,
                  GError **error)
{
  g_autofree char *pub_path = NULL;
  g_autofree char *pub_line = NULL;
  g_autofree char *dir = NULL;
  g_autoptr (GError) local_error = NULL;
  char *b64 = NULL;
  gboolean ok;

  g_return_val_if_fail (TSR_IS_SSH_KEY (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_EXISTS,
                   _ ("%s already exists; a key is never overwritten"), path);
      return FALSE;
    }
  dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      tsr_set_error_from_errno (error, errno, _ ("Cannot create %s"), dir);
      return FALSE;
    }
  if (passphrase != NULL && *passphrase == '\0')
    passphrase = NULL;
  if (ssh_pki_export_privkey_base64 (self->key, passphrase, NULL, NULL, &b64) != SSH_OK)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED, _ ("Could not export the SSH key"));
      return FALSE;
    }
  ok = g_file_set_contents_full (path, b64, strlen (b64),
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600,
                                 &local_error);
  free_secret (b64);
  if (!ok)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_IO, _ ("Cannot save the SSH key: %s"),
                   local_error->message);
      return FALSE;
    }
  pub_path = g_strconcat (path, ".pub", NULL);
  pub_line = tsr_ssh_key_dup_public_line (self, comment);
  if (!g_file_set_contents_full (pub_path, pub_line, strlen (pub_line),
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0644, &local_error))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_IO, _ ("Cannot save the public SSH key: %s"),
                   local_error->message);
      return FALSE;
    }
  return TRUE;
}

/**
 * tsr_ssh_key_dup_public_line:
 *
 * Returns: (transfer full): the authorized_keys line: "ssh-ed25519 AAAA… comment\n"
 */
char *
tsr_ssh_key_dup_public_line (TsrSshKey *self, const char *comment)
{
  ssh_key pub = NULL;
  char *b64 = NULL;
  char *line;

  g_return_val_if_fail (TSR_IS_SSH_KEY (self), NULL);

  if (ssh_pki_export_privkey_to_pubkey (self->key, &pub) != SSH_OK ||
      ssh_pki_export_pubkey_base64 (pub, &b64) != SSH_OK)
    {
      ssh_key_free (pub);
      return NULL;
    }
  line = g_strdup_printf ("%s %s%s%s\n", ssh_key_type_to_char (ssh_key_type (pub)), b64,
                          comment ? " " : "", comment ? comment : "");
  ssh_string_free_char (b64);
  ssh_key_free (pub);
  return line;
}

/**
 * tsr_ssh_fingerprint_of:
 *
 * Returns: (transfer full): "SHA256:<base64>", as `ssh-keygen -l` shows it
 */
char *
tsr_ssh_fingerprint_of (ssh_key key)
{
  unsigned char *hash = NULL;
  size_t len = 0;
  char *fp, *ret;

  if (ssh_get_publickey_hash (key, SSH_PUBLICKEY_HASH_SHA256, &hash, &len) != SSH_OK)
    return NULL;
  fp = ssh_get_fingerprint_hash (SSH_PUBLICKEY_HASH_SHA256, hash, len);
  ssh_clean_pubkey_hash (&hash);
  ret = g_strdup (fp);
  ssh_string_free_char (fp);
  return ret;
}

char *
tsr_ssh_key_dup_fingerprint (TsrSshKey *self)
{
  g_return_val_if_fail (TSR_IS_SSH_KEY (self), NULL);
  return tsr_ssh_fingerprint_of (self->key);
}

/* The libssh handle, for the sessions that authenticate with it. Owned by @self. */
ssh_key
tsr_ssh_key_get_handle (TsrSshKey *self)
{
  g_return_val_if_fail (TSR_IS_SSH_KEY (self), NULL);
  return self->key;
}
