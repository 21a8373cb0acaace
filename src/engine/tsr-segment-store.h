/* tsr-segment-store.h: one node's content-addressed segment store on disk
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "tsr-segment-index.h"

G_BEGIN_DECLS

/* The seed's 10 GB node; SI units, as GNOME shows sizes. */
#define TSR_SEGMENT_STORE_DEFAULT_CAPACITY (G_GUINT64_CONSTANT (10) * 1000 * 1000 * 1000)
/* Largest segment a store accepts: the largest chunk (16 MiB) plus room for encryption overhead. */
#define TSR_SEGMENT_MAX_SIZE ((gsize)16 * 1024 * 1024 + 4096)
/* How far past a segment's end tsr_segment_store_read_into() may grow its array while reading
 * (O_DIRECT reads whole aligned blocks): room to leave so that it need not reallocate. */
#define TSR_SEGMENT_READ_SLACK ((gsize)2 * 4096)

/**
 * TsrStorageInfo:
 *
 * The seed's get_storage_info. Byte counts are exact; utilization is a percentage.
 * available_bytes is what is left of the capacity, or less when the file system holding the
 * store has less free (disk_free_bytes, %G_MAXUINT64 when it cannot be asked).
 */
typedef struct
{
  guint64 capacity_bytes;
  guint64 used_bytes;
  guint64 available_bytes;
  guint64 segment_count;
  double utilization;
  guint64 disk_free_bytes;
  guint64 disk_id; /* the file system's id (statvfs f_fsid): stores that share a disk share it */
} TsrStorageInfo;

JsonNode *tsr_storage_info_to_json (const TsrStorageInfo *info);

#define TSR_TYPE_SEGMENT_STORE (tsr_segment_store_get_type ())
G_DECLARE_FINAL_TYPE (TsrSegmentStore, tsr_segment_store, TSR, SEGMENT_STORE, GObject)

TsrSegmentStore *tsr_segment_store_open (const char *root, guint64 capacity, GError **error);

const char *tsr_segment_store_get_root (TsrSegmentStore *self);
guint64 tsr_segment_store_get_capacity (TsrSegmentStore *self);
void tsr_segment_store_set_capacity (TsrSegmentStore *self, guint64 capacity);
guint64 tsr_segment_store_get_used (TsrSegmentStore *self);
guint64 tsr_segment_store_get_segment_count (TsrSegmentStore *self);
void tsr_segment_store_get_info (TsrSegmentStore *self, TsrStorageInfo *info);
gboolean tsr_segment_store_was_rebuilt (TsrSegmentStore *self);

/* Bytes of puts after which a store starts writing back in the background. */
#define TSR_SEGMENT_STORE_FLUSH_EVERY (16u << 20)

/**
 * TsrSegmentPutFlags:
 * @TSR_SEGMENT_PUT_NONE: an ordinary put
 * @TSR_SEGMENT_PUT_COLD: data not read again soon (every copy an upload stores): its pages
 *   leave the page cache once written back
 */
typedef enum
{
  TSR_SEGMENT_PUT_NONE = 0,
  TSR_SEGMENT_PUT_COLD = 1 << 0,
} TsrSegmentPutFlags;

gboolean tsr_segment_store_put (TsrSegmentStore *self, GBytes *data, const char *expected_id,
                                char **out_id, GError **error);
gboolean tsr_segment_store_put_full (TsrSegmentStore *self, GBytes *data, const char *expected_id,
                                     TsrSegmentPutFlags flags, char **out_id, GError **error);
GBytes *tsr_segment_store_get (TsrSegmentStore *self, const char *id, GError **error);
gboolean tsr_segment_store_read_into (TsrSegmentStore *self, const char *id, gboolean verify,
                                      GByteArray *out, gsize limit, GError **error);
GBytes *tsr_segment_store_get_unverified (TsrSegmentStore *self, const char *id, GError **error);
gboolean tsr_segment_store_has (TsrSegmentStore *self, const char *id);
gboolean tsr_segment_store_delete (TsrSegmentStore *self, const char *id, GError **error);
GPtrArray *tsr_segment_store_list (TsrSegmentStore *self);
gboolean tsr_segment_store_sync (TsrSegmentStore *self, GError **error);
gboolean tsr_segment_store_checkpoint (TsrSegmentStore *self, guint quiet_for, GError **error);
gboolean tsr_segment_store_close (TsrSegmentStore *self, GError **error);

gboolean tsr_segment_store_reconstruct (TsrSegmentStore *self, const char *const *ids,
                                        GOutputStream *out, GCancellable *cancellable,
                                        GError **error);

char *tsr_segment_store_segment_path (TsrSegmentStore *self, const char *id);
gboolean tsr_segment_store_peek_usage (const char *root, guint64 *used, guint *segment_count,
                                       GError **error);
void tsr_segment_store_disk_of (const char *path, guint64 *free_bytes, guint64 *disk_id);

gboolean tsr_segment_store_parse_metadata (const char *data, gsize len, TsrSegmentIndex *index,
                                           guint64 *out_used, GError **error);

/**
 * TsrSegmentInfo:
 *
 * One segment as garbage collection and repair see it.
 */
typedef struct
{
  char *id;
  guint64 size;
  guint64 age_seconds; /* since its file was written */
} TsrSegmentInfo;

void tsr_segment_info_free (TsrSegmentInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TsrSegmentInfo, tsr_segment_info_free)

GPtrArray *tsr_segment_store_list_page (TsrSegmentStore *self, const char *after, guint limit,
                                        gboolean *more);

typedef struct
{
  guint64 checked;    /* segments re-hashed */
  guint64 bytes;      /* bytes read */
  GPtrArray *corrupt; /* (element-type utf8) ids quarantined */
  char *next;         /* continue after this id; NULL: done */
} TsrScrubResult;

gboolean tsr_segment_store_scrub (TsrSegmentStore *self, const char *after, guint64 max_bytes,
                                  TsrScrubResult *result, GError **error);
void tsr_scrub_result_clear (TsrScrubResult *result);

/* For tests: how the next read around the page cache is made to fail. */
typedef enum
{
  TSR_DIRECT_READ_FAULT_NONE,
  TSR_DIRECT_READ_FAULT_EINVAL, /* refused at the read, after the open */
  TSR_DIRECT_READ_FAULT_SHORT,  /* one byte short */
} TsrDirectReadFault;

void _tsr_segment_store_inject_direct_read_fault (TsrSegmentStore *self, TsrDirectReadFault fault);
void _tsr_segment_store_use_mincore (gboolean use);

G_END_DECLS
