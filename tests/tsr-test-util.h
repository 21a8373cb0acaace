/* tsr-test-util.h: helpers shared by the test programs
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <stdarg.h>

#include "tsr-cluster.h"

G_BEGIN_DECLS

char *tsr_test_make_tmpdir (void);
void tsr_test_rmdir (const char *path);
GBytes *tsr_test_random_bytes (GRand *rand, gsize len);
guint64 tsr_test_sum_file_sizes (const char *dir);
gboolean tsr_test_dir_is_empty (const char *dir);
guint tsr_test_count_partial_segments (const char *segments_dir);
guint tsr_test_count_open_files (void);
gboolean tsr_test_page_cache_observable (const char *dir, char **why);
guint tsr_test_pages_for (gsize len);
guint tsr_test_cached_pages (const char *path, guint *out_pages);
guint64 tsr_test_disk_read_bytes (gboolean whole_process);
gboolean tsr_test_disk_reads_observable (const char *dir, char **why);

guint16 tsr_test_free_port (void);
gboolean tsr_test_port_is_open (guint16 port);
int tsr_test_spawn (const char *const *argv, char **out, char **err);
gboolean tsr_test_ssh_keygen (const char *path, char **skip_reason);
char *tsr_test_ssh_fingerprint (const char *key_path);

/* A private OpenSSH server on 127.0.0.1 for the SSH tests. */
typedef struct
{
  char *dir;
  guint16 port;
  GSubprocess *proc;
  char *host_key;
  char *authorized_keys;
} TsrTestSshd;

TsrTestSshd *tsr_test_sshd_start (const char *dir, const char *host_key,
                                  const char *authorized_keys, char **skip_reason);
void tsr_test_sshd_free (TsrTestSshd *sshd);
TsrTestSshd *tsr_test_sshd_start_for_key (const char *dir, char **user_key, char **skip_reason);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrTestSshd, tsr_test_sshd_free)

/* What a run of tessera-cli printed, and how it ended. */
typedef struct
{
  int status;
  char *out;
  char *err;
} TsrTestRun;

void tsr_test_run_clear (TsrTestRun *r);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TsrTestRun, tsr_test_run_clear)

void tsr_test_cli_valist (const char *data_dir, const char *cwd, TsrTestRun *r, const char *input,
                          va_list args);
void tsr_test_cli_argv (const char *data_dir, const char *cwd, TsrTestRun *r, const char *input,
                        const char *const *args);
JsonNode *tsr_test_parse_json (const char *text);

/* Clusters through the engine's API. */
void tsr_test_keep_result (GObject *source, GAsyncResult *result, gpointer result_ptr);
TsrCluster *tsr_test_open_cluster (const char *data_dir);
void tsr_test_close_cluster (TsrCluster *cluster);
void tsr_test_assert_file_equals (const char *path, GBytes *expected);
void tsr_test_download_and_compare (TsrCluster *cluster, const char *dir, const char *file_id,
                                    GBytes *expected);
void tsr_test_download_and_compare_counting (TsrCluster *cluster, const char *dir,
                                             const char *file_id, GBytes *expected,
                                             guint64 *disk_read);

/* Parses one corpus file; FALSE with a TSR_ERROR_CORRUPT error when it is refused. */
typedef gboolean (*TsrTestParseFunc) (const char *data, gsize len, GError **error);
void tsr_test_check_corpus_verdicts (const char *corpus, TsrTestParseFunc parse, guint min_valid,
                                     guint min_bad);

G_END_DECLS
