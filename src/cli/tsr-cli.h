/* tsr-cli.h: shared state of tessera-cli's commands
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <stdio.h>
#include "tessera.h"

G_BEGIN_DECLS

/* Exit codes, documented in the README. */
enum
{
  TSR_EXIT_OK = 0,
  TSR_EXIT_FAILED = 1,
  TSR_EXIT_USAGE = 2,
  TSR_EXIT_AUTH = 3,
};

typedef struct
{
  char *data_dir;
  gboolean json;
  gboolean interactive; /* inside `shell`: the cluster stays up between commands */
  TsrCluster *cluster;
  gboolean started; /* the cluster's nodes were started by this process */
  GCancellable *cancellable;
} TsrCli;

typedef int (*TsrCliCommandFunc) (TsrCli *cli, int argc, char **argv);

typedef struct
{
  const char *name;
  const char *args;
  const char *summary;
  TsrCliCommandFunc func;
} TsrCliCommand;

int tsr_cli_dispatch (TsrCli *cli, int argc, char **argv);
void tsr_cli_print_usage (FILE *out);

TsrCluster *tsr_cli_cluster (TsrCli *cli, gboolean start);
int tsr_cli_fail (TsrCli *cli, const GError *error);
int tsr_cli_usage_error (const char *command, const char *format, ...) G_GNUC_PRINTF (2, 3);
gboolean tsr_cli_is_option (const char *arg);
int tsr_cli_unknown_option (const char *command, const char *arg);
void tsr_cli_print_json (JsonNode *node);
void tsr_cli_print_builder (JsonBuilder *b);
char *tsr_cli_format_time (gint64 unix_seconds);
char *tsr_cli_escape (const char *text);
char *tsr_cli_escape_lines (const char *text);

int tsr_cli_cmd_init (TsrCli *cli, int argc, char **argv);
int tsr_cli_cmd_upload (TsrCli *cli, int argc, char **argv);
int tsr_cli_cmd_download (TsrCli *cli, int argc, char **argv);
int tsr_cli_cmd_list (TsrCli *cli, int argc, char **argv);
int tsr_cli_cmd_delete (TsrCli *cli, int argc, char **argv);
int tsr_cli_cmd_nodes (TsrCli *cli, int argc, char **argv);
int tsr_cli_cmd_health (TsrCli *cli, int argc, char **argv);
int tsr_cli_cmd_storage (TsrCli *cli, int argc, char **argv);
int tsr_cli_cmd_topology (TsrCli *cli, int argc, char **argv);
int tsr_cli_cmd_stats (TsrCli *cli, int argc, char **argv);
int tsr_cli_cmd_netem (TsrCli *cli, int argc, char **argv);
int tsr_cli_cmd_node (TsrCli *cli, int argc, char **argv);
int tsr_cli_cmd_shell (TsrCli *cli, int argc, char **argv);
int tsr_cli_cmd_repair (TsrCli *cli, int argc, char **argv);
int tsr_cli_cmd_rebalance (TsrCli *cli, int argc, char **argv);
int tsr_cli_cmd_scrub (TsrCli *cli, int argc, char **argv);
int tsr_cli_cmd_gc (TsrCli *cli, int argc, char **argv);
int tsr_cli_cmd_node_remove (TsrCli *cli, int argc, char **argv);
void tsr_cli_add_health_json (JsonBuilder *b, TsrCluster *cluster, const TsrManifest *m);
char *tsr_cli_describe_health (TsrCluster *cluster, const TsrManifest *m);
int tsr_cli_cmd_register (TsrCli *cli, int argc, char **argv);
int tsr_cli_cmd_login (TsrCli *cli, int argc, char **argv);
int tsr_cli_cmd_logout (TsrCli *cli, int argc, char **argv);
int tsr_cli_cmd_whoami (TsrCli *cli, int argc, char **argv);
int tsr_cli_cmd_passwd (TsrCli *cli, int argc, char **argv);
int tsr_cli_cmd_otp (TsrCli *cli, int argc, char **argv);

int tsr_cli_use_session (TsrCli *cli, TsrCluster *cluster);
char *tsr_cli_read_secret (const char *prompt, gboolean from_stdin, GError **error);

/* tsr-cli-remote.c: remote nodes and SSH */
int tsr_cli_cmd_id (TsrCli *cli, int argc, char **argv);
int tsr_cli_cmd_node_add (TsrCli *cli, int argc, char **argv);
int tsr_cli_cmd_remote (TsrCli *cli, int argc, char **argv);
void tsr_cli_print_qr (const char *text, FILE *out);
gboolean tsr_cli_check_qr_png_path (const char *path, GError **error);
gboolean tsr_cli_write_qr_png (const char *text, const char *path, GError **error);

G_END_DECLS
