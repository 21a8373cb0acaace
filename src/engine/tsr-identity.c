/* tsr-identity.c
 *
 * DIR/identity.pem holds the certificate PEM followed by an unencrypted PKCS#8 key PEM, which
 * is exactly what g_tls_certificate_new_from_pem() takes. The file is the node's identity:
 * once it exists it is only ever read. A damaged file is an error for the user to resolve,
 * because replacing it would silently give the node a new id that no peer has pinned.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "tsr-identity.h"
#include "tsr-error.h"
#include "tsr-hash.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#define IDENTITY_FILE_NAME "identity.pem"
#define VALIDITY_SECONDS   (20 * 365 * (gint64)86400)
#define SERIAL_LEN         16

struct _TsrIdentity
{
  GObject parent_instance;

  GTlsCertificate *certificate;
  char *id;
};

G_DEFINE_FINAL_TYPE (TsrIdentity, tsr_identity, G_TYPE_OBJECT)

/* A buffer that holds private key material: wiped before it is freed. */
typedef struct
{
  char *data;
  gsize len;
} Secret;

static void
secret_clear (Secret *secret)
{
  if (secret->data != NULL)
    {
      gnutls_memset (secret->data, 0, secret->len);
      g_free (secret->data);
    }
  secret->data = NULL;
  secret->len = 0;
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Secret, secret_clear)

static void
datum_clear (gnutls_datum_t *datum)
{
  if (datum->data != NULL)
    {
      gnutls_memset (datum->data, 0, datum->size);
      gnutls_free (datum->data);
    }
  datum->data = NULL;
  datum->size = 0;
}

/* GnuTLS's handles are pointers to these structs; names for g_autoptr. */
typedef struct gnutls_x509_crt_int X509Crt;
typedef struct gnutls_x509_privkey_int X509Key;
typedef struct gnutls_pubkey_st PubKey;

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (gnutls_datum_t, datum_clear)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509Crt, gnutls_x509_crt_deinit)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509Key, gnutls_x509_privkey_deinit)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PubKey, gnutls_pubkey_deinit)

static void
tsr_identity_finalize (GObject *object)
{
  TsrIdentity *self = TSR_IDENTITY (object);

  g_clear_object (&self->certificate);
  g_free (self->id);

  G_OBJECT_CLASS (tsr_identity_parent_class)->finalize (object);
}

static void
tsr_identity_class_init (TsrIdentityClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tsr_identity_finalize;
}

static void
tsr_identity_init (TsrIdentity *self)
{
}

/**
 * tsr_certificate_fingerprint:
 * @certificate: any certificate, typically a peer's
 *
 * Returns: (transfer full): the hex SHA-256 of the certificate's DER bytes: an identity id
 */
char *
tsr_certificate_fingerprint (GTlsCertificate *certificate)
{
  g_autoptr (GByteArray) der = NULL;
  char hex[TSR_SHA256_HEX_LEN + 1];

  g_return_val_if_fail (G_IS_TLS_CERTIFICATE (certificate), NULL);

  g_object_get (certificate, "certificate", &der, NULL);
  g_return_val_if_fail (der != NULL, NULL);
  tsr_sha256_hex (der->data, der->len, hex);
  return g_strdup (hex);
}

/* Reads the tag and length at @p; checks that the contents fit in @avail. */
static gboolean
der_read_header (const guint8 *p, gsize avail, guint8 tag, gsize *header, gsize *len)
{
  *header = 2;
  *len = 0;
  if (avail < 2 || p[0] != tag)
    return FALSE;
  if (p[1] < 0x80)
    *len = p[1];
  else
    {
      guint n = p[1] & 0x7f;

      if (n == 0 || n > 4 || avail < 2 + n)
        return FALSE;
      for (guint i = 0; i < n; i++)
        *len = (*len << 8) | p[2 + i];
      *header += n;
    }
  return *len <= avail - *header;
}

/* A self-signed certificate's signature covers its tbsCertificate, the first element of the
 * outer SEQUENCE. GnuTLS's chain verification skips the signature of a certificate that is
 * its own trust anchor, so it is checked here directly. */
static gboolean
self_signature_is_valid (gnutls_x509_crt_t crt)
{
  g_auto (gnutls_datum_t) der = { NULL, 0 };
  g_autoptr (PubKey) pub = NULL;
  guint8 sig_buf[1024];
  size_t sig_len = sizeof sig_buf;
  gnutls_datum_t tbs, sig;
  gsize outer_header, outer_len, tbs_header, tbs_len;
  int algo;

  if (gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_DER, &der) < 0 ||
      !der_read_header (der.data, der.size, 0x30, &outer_header, &outer_len) ||
      !der_read_header (der.data + outer_header, outer_len, 0x30, &tbs_header, &tbs_len))
    return FALSE;
  tbs.data = der.data + outer_header;
  tbs.size = tbs_header + tbs_len;

  algo = gnutls_x509_crt_get_signature_algorithm (crt);
  if (algo < 0 || gnutls_x509_crt_get_signature (crt, (char *)sig_buf, &sig_len) < 0 ||
      gnutls_pubkey_init (&pub) < 0 || gnutls_pubkey_import_x509 (pub, crt, 0) < 0)
    return FALSE;
  sig.data = sig_buf;
  sig.size = sig_len;
  return gnutls_pubkey_verify_data2 (pub, algo, 0, &tbs, &sig) >= 0;
}

/* GLib would accept a certificate without its key, or with someone else's key, and GnuTLS a
 * certificate changed by bit rot (under a new id); all of these would only surface later as
 * obscure refusals on the peers' side. */
static gboolean
check_identity_pem (const Secret *pem, const char *path, GError **error)
{
  g_autoptr (X509Crt) crt = NULL;
  g_autoptr (X509Key) key = NULL;
  gnutls_datum_t in = { (unsigned char *)pem->data, (unsigned int)pem->len };
  guint8 crt_key_id[64], key_id[64];
  size_t crt_key_id_len = sizeof crt_key_id, key_id_len = sizeof key_id;
  const char *why = NULL;
  int rc;

  if (pem->len > G_MAXUINT)
    {
      why = "the file is far too large";
      goto fail;
    }
  if (gnutls_x509_crt_init (&crt) < 0 || gnutls_x509_privkey_init (&key) < 0)
    {
      why = "out of memory";
      goto fail;
    }
  if ((rc = gnutls_x509_crt_import (crt, &in, GNUTLS_X509_FMT_PEM)) < 0)
    {
      why = gnutls_strerror (rc);
      goto fail;
    }
  if (!self_signature_is_valid (crt))
    {
      why = "the certificate's signature does not match its contents";
      goto fail;
    }
  if (gnutls_x509_privkey_import2 (key, &in, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN) < 0)
    {
      why = "no unencrypted private key";
      goto fail;
    }
  if (gnutls_x509_crt_get_key_id (crt, 0, crt_key_id, &crt_key_id_len) < 0 ||
      gnutls_x509_privkey_get_key_id (key, 0, key_id, &key_id_len) < 0 ||
      crt_key_id_len != key_id_len || memcmp (crt_key_id, key_id, key_id_len) != 0)
    {
      why = "the private key does not belong to the certificate";
      goto fail;
    }
  return TRUE;

fail:
  g_set_error (
      error, TSR_ERROR, TSR_ERROR_CORRUPT,
      _ ("Identity file %s is damaged (%s). It was left as it is: restore it from a backup, "
         "or move it away to create a new identity that peers will have to trust again"),
      path, why);
  return FALSE;
}

static TsrIdentity *
identity_new_from_pem (const Secret *pem, const char *path, GError **error)
{
  g_autoptr (TsrIdentity) self = NULL;
  g_autoptr (GTlsCertificate) certificate = NULL;
  g_autoptr (GError) local_error = NULL;

  if (!check_identity_pem (pem, path, error))
    return NULL;

  certificate = g_tls_certificate_new_from_pem (pem->data, pem->len, &local_error);
  if (certificate == NULL)
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_CORRUPT,
                   _ ("Identity file %s is damaged (%s). It was left as it is: restore it from a "
                      "backup, or move it away to create a new identity that peers will have to "
                      "trust again"),
                   path, local_error->message);
      return NULL;
    }

  self = g_object_new (TSR_TYPE_IDENTITY, NULL);
  self->id = tsr_certificate_fingerprint (certificate);
  self->certificate = g_steal_pointer (&certificate);
  return g_steal_pointer (&self);
}

static gboolean
set_gnutls_error (GError **error, int rc, const char *what)
{
  g_set_error (error, TSR_ERROR, TSR_ERROR_FAILED, _ ("Cannot create an identity: %s failed: %s"),
               what, gnutls_strerror (rc));
  return FALSE;
}

/* A self-signed ECDSA P-256 certificate usable as both TLS server and client, as PEM with its
 * key appended. No subjectAltName: peers pin the certificate's hash, never a host name. */
static gboolean
generate_pem (const char *common_name, Secret *out, GError **error)
{
  g_autoptr (X509Key) key = NULL;
  g_autoptr (X509Crt) crt = NULL;
  g_auto (gnutls_datum_t) cert_pem = { NULL, 0 };
  g_auto (gnutls_datum_t) key_pem = { NULL, 0 };
  guint8 serial[SERIAL_LEN];
  time_t now = time (NULL);
  int rc;

  if ((rc = gnutls_x509_privkey_init (&key)) < 0)
    return set_gnutls_error (error, rc, "gnutls_x509_privkey_init");
  if ((rc = gnutls_x509_privkey_generate (
           key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1), 0)) < 0)
    return set_gnutls_error (error, rc, "Generating a key");
  if ((rc = gnutls_x509_crt_init (&crt)) < 0)
    return set_gnutls_error (error, rc, "gnutls_x509_crt_init");

  /* Positive (top bit clear) and of full length, so its DER encoding is exactly 16 bytes. */
  if ((rc = gnutls_rnd (GNUTLS_RND_NONCE, serial, sizeof serial)) < 0)
    return set_gnutls_error (error, rc, "Generating a serial number");
  serial[0] &= 0x7f;
  if (serial[0] == 0)
    serial[0] = 1;

  /* Activation an hour back tolerates peers whose clocks run slightly behind ours. */
  if ((rc = gnutls_x509_crt_set_version (crt, 3)) < 0 ||
      (rc = gnutls_x509_crt_set_serial (crt, serial, sizeof serial)) < 0 ||
      (rc = gnutls_x509_crt_set_activation_time (crt, now - 3600)) < 0 ||
      (rc = gnutls_x509_crt_set_expiration_time (crt, now + VALIDITY_SECONDS)) < 0 ||
      (rc = gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0, common_name,
                                           strlen (common_name))) < 0 ||
      (rc = gnutls_x509_crt_set_key (crt, key)) < 0 ||
      (rc = gnutls_x509_crt_set_basic_constraints (crt, 0, -1)) < 0 ||
      /* ECDSA keys only sign; key encipherment is an RSA key-transport purpose. */
      (rc = gnutls_x509_crt_set_key_usage (crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
      (rc = gnutls_x509_crt_set_key_purpose_oid (crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0 ||
      (rc = gnutls_x509_crt_set_key_purpose_oid (crt, GNUTLS_KP_TLS_WWW_CLIENT, 0)) < 0)
    return set_gnutls_error (error, rc, "Filling in the certificate");
  if ((rc = gnutls_x509_crt_sign2 (crt, crt, key, GNUTLS_DIG_SHA256, 0)) < 0)
    return set_gnutls_error (error, rc, "Signing the certificate");
  if ((rc = gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_PEM, &cert_pem)) < 0 ||
      (rc = gnutls_x509_privkey_export2_pkcs8 (key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN,
                                               &key_pem)) < 0)
    return set_gnutls_error (error, rc, "Exporting the identity");

  out->len = (gsize)cert_pem.size + key_pem.size;
  out->data = g_malloc (out->len + 1);
  memcpy (out->data, cert_pem.data, cert_pem.size);
  memcpy (out->data + cert_pem.size, key_pem.data, key_pem.size);
  out->data[out->len] = '\0';
  return TRUE;
}

static gboolean
fsync_dir (const char *dir, GError **error)
{
  int fd = g_open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);

  if (fd < 0 || fsync (fd) != 0)
    {
      int saved = errno;
      if (fd >= 0)
        close (fd);
      tsr_set_error_from_errno (error, saved, _ ("Cannot save the identity in %s"), dir);
      return FALSE;
    }
  close (fd);
  return TRUE;
}

/* Writes a complete file next to @path and links it into place. Unlike a rename, link() never
 * replaces: when another process created an identity first, theirs wins and *@lost is set. */
static gboolean
save_new_identity (const char *dir, const char *path, const Secret *pem, gboolean *lost,
                   GError **error)
{
  g_autofree char *tmp = g_strdup_printf ("%s.XXXXXX", path);
  g_autoptr (GError) local_error = NULL;
  int fd, saved;

  *lost = FALSE;
  fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      tsr_set_error_from_errno (error, errno, _ ("Cannot save the identity in %s"), dir);
      return FALSE;
    }
  close (fd);
  if (!g_file_set_contents_full (tmp, pem->data, pem->len, G_FILE_SET_CONTENTS_DURABLE, 0600,
                                 &local_error))
    {
      g_unlink (tmp);
      g_set_error (error, TSR_ERROR,
                   g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOSPC)
                       ? TSR_ERROR_NO_SPACE
                       : TSR_ERROR_IO,
                   _ ("Cannot save the identity: %s"), local_error->message);
      return FALSE;
    }

  if (link (tmp, path) != 0)
    {
      saved = errno;
      if (saved == EEXIST)
        *lost = TRUE;
      /* Some file systems (FAT, some FUSE) have no hard links; there a rename still gives
       * an atomic write, only without the guard against a concurrent creator. */
      else if ((saved == EPERM || saved == ENOTSUP || saved == ENOSYS) && g_rename (tmp, path) == 0)
        return fsync_dir (dir, error);
      else
        {
          g_unlink (tmp);
          tsr_set_error_from_errno (error, saved, _ ("Cannot save the identity as %s"), path);
          return FALSE;
        }
    }
  g_unlink (tmp);
  return *lost || fsync_dir (dir, error);
}

static gboolean
read_identity_file (const char *path, Secret *pem, GError **error)
{
  g_autoptr (GError) local_error = NULL;

  if (!g_file_get_contents (path, &pem->data, &pem->len, &local_error))
    {
      /* CORRUPT, as for a damaged file: either way the identity exists but cannot be used,
       * and the caller must not treat the node as new. */
      g_set_error (error, TSR_ERROR, TSR_ERROR_CORRUPT,
                   _ ("Cannot read identity file %s: %s. It was left as it is: fix its permissions "
                      "or restore it from a backup"),
                   path, local_error->message);
      return FALSE;
    }
  return TRUE;
}

/**
 * tsr_identity_load_or_create:
 * @dir: the directory holding identity.pem; created (mode 0700) if missing
 * @common_name: (nullable): the certificate's subject CN when one is generated; only a label
 *
 * Loads DIR/identity.pem, or generates a new identity there when the file does not exist.
 * An existing file that cannot be read or parsed is never replaced.
 *
 * Returns: (transfer full): the identity, or %NULL with %TSR_ERROR_CORRUPT for a damaged or
 * unreadable file, or an I/O error
 */
TsrIdentity *
tsr_identity_load_or_create (const char *dir, const char *common_name, GError **error)
{
  g_autofree char *path = NULL;
  g_auto (Secret) pem = { NULL, 0 };
  gboolean lost;

  g_return_val_if_fail (dir != NULL, NULL);

  path = g_build_filename (dir, IDENTITY_FILE_NAME, NULL);
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      if (!read_identity_file (path, &pem, error))
        return NULL;
      return identity_new_from_pem (&pem, path, error);
    }
  /* A dangling symlink is damage too: writing through it would place the key elsewhere. */
  if (g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_set_error (error, TSR_ERROR, TSR_ERROR_CORRUPT,
                   _ ("Identity file %s is a broken symbolic link. It was left as it is"), path);
      return NULL;
    }

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      tsr_set_error_from_errno (error, errno, _ ("Cannot create the identity directory %s"), dir);
      return NULL;
    }
  if (common_name == NULL || *common_name == '\0')
    common_name = "tessera";
  if (!generate_pem (common_name, &pem, error) ||
      !save_new_identity (dir, path, &pem, &lost, error))
    return NULL;
  if (lost)
    {
      secret_clear (&pem);
      if (!read_identity_file (path, &pem, error))
        return NULL;
    }
  return identity_new_from_pem (&pem, path, error);
}

/**
 * tsr_identity_get_certificate:
 *
 * Returns: (transfer none): the certificate with its private key, for a TLS connection
 */
GTlsCertificate *
tsr_identity_get_certificate (TsrIdentity *self)
{
  g_return_val_if_fail (TSR_IS_IDENTITY (self), NULL);
  return self->certificate;
}

/**
 * tsr_identity_get_id:
 *
 * Returns: the identity's id, 64 lowercase hex characters: what peers pin
 */
const char *
tsr_identity_get_id (TsrIdentity *self)
{
  g_return_val_if_fail (TSR_IS_IDENTITY (self), NULL);
  return self->id;
}
