/* tsr-files-page.c: the stored files, transfers, upload, download and delete
 *
 * The list is the backend's file store, filtered by the search entry and sorted by the
 * clicked column. Transfers show as rows under it with progress, rate and a cancel button.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "tsr-files-page.h"
#include "tsr-window.h"

struct _TsrFilesPage
{
  AdwBin parent_instance;

  GtkSearchBar *search_bar;
  GtkSearchEntry *search_entry;
  GtkStack *content_stack;
  GtkColumnView *column_view;
  GtkColumnViewColumn *size_column;
  GtkColumnViewColumn *chunks_column;
  GtkColumnViewColumn *health_column;
  GtkColumnViewColumn *created_column;
  GtkRevealer *transfers_revealer;
  GtkListBox *transfers_list;
  GtkLabel *more_transfers_label;
  GListStore *shown_transfers; /* the first TRANSFER_ROWS of the backend's, one row each */
  GPtrArray *transfer_rows;    /* AdwActionRow: in the list or free for the next transfer */
  GtkLabel *summary_label;
  int widths[4];  /* of Chunks, Uploaded, Replicas and Size in the template: band_widths[] */
  int width;      /* as last allocated */
  int band;       /* of band_for(): the columns shown fit this, -1 before the first */
  guint fit_tick; /* fit_columns() waits for the next frame */

  TsrBackend *backend;
  GtkStringFilter *filter;
  GtkFilterListModel *filtered;
  GtkSingleSelection *selection;
};

G_DEFINE_FINAL_TYPE (TsrFilesPage, tsr_files_page, ADW_TYPE_BIN)

/* The footer counts the files shown, and says of how many while a search picks some. */
static void
update_page (TsrFilesPage *self)
{
  GListModel *all = tsr_backend_get_files (self->backend);
  GListModel *shown = G_LIST_MODEL (self->filtered);
  guint n_all = g_list_model_get_n_items (all);
  guint n_shown = g_list_model_get_n_items (shown);
  const char *search = gtk_string_filter_get_search (self->filter);
  guint64 total = 0;
  g_autofree char *size = NULL;
  g_autofree char *summary = NULL;

  if (n_all == 0)
    gtk_stack_set_visible_child_name (self->content_stack, "empty");
  else if (n_shown == 0)
    gtk_stack_set_visible_child_name (self->content_stack, "no-results");
  else
    gtk_stack_set_visible_child_name (self->content_stack, "list");
  for (guint i = 0; i < n_shown; i++)
    {
      g_autoptr (TsrFileItem) item = g_list_model_get_item (shown, i);
      total += tsr_file_item_get_manifest (item)->size;
    }
  size = g_format_size (total);
  if (search != NULL && *search != '\0')
    /* Translators: while searching: the files found, of all the files; then the size of
     * those found. The plural goes with all the files ("2 of 7 files"). */
    summary = g_strdup_printf (ngettext ("%u of %u file · %s", "%u of %u files · %s", n_all),
                               n_shown, n_all, size);
  else
    summary = g_strdup_printf (ngettext ("%u file · %s", "%u files · %s", n_all), n_all, size);
  gtk_label_set_text (self->summary_label, summary);
}

static void
update_actions (TsrFilesPage *self)
{
  gboolean selected = gtk_single_selection_get_selected_item (self->selection) != NULL;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "files.download", selected);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "files.delete", selected);
}

static void
on_search_changed (TsrFilesPage *self)
{
  gtk_string_filter_set_search (self->filter,
                                gtk_editable_get_text (GTK_EDITABLE (self->search_entry)));
  /* Also when the files found stay the same ("a" then "al"): the footer says a search runs. */
  update_page (self);
}

TsrFileItem *
tsr_files_page_get_selected (TsrFilesPage *self)
{
  g_return_val_if_fail (TSR_IS_FILES_PAGE (self), NULL);
  return gtk_single_selection_get_selected_item (self->selection);
}

/**
 * tsr_files_page_download_to:
 *
 * Downloads @item to @file (replacing it), as the save dialog does.
 *
 * Returns: (transfer none): the transfer
 */
TsrTransfer *
tsr_files_page_download_to (TsrFilesPage *self, TsrFileItem *item, GFile *file)
{
  g_return_val_if_fail (TSR_IS_FILES_PAGE (self), NULL);
  return tsr_backend_download (self->backend, item, file);
}

static void
on_save_response (GtkNativeDialog *dialog, int response, gpointer data)
{
  g_autoptr (TsrFilesPage) self = data;
  TsrFileItem *item = g_object_get_data (G_OBJECT (dialog), "item");

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      tsr_files_page_download_to (self, item, file);
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
}

/* Where the save dialog opens: the user's Downloads folder, else the home folder (GTK's own
 * choice is the folder the app was started from). */
static GFile *
download_folder (void)
{
  const char *dir = g_get_user_special_dir (G_USER_DIRECTORY_DOWNLOAD);

  return g_file_new_for_path (dir != NULL ? dir : g_get_home_dir ());
}

static void
download_action (GtkWidget *widget, const char *action, GVariant *param)
{
  TsrFilesPage *self = TSR_FILES_PAGE (widget);
  TsrFileItem *item = tsr_files_page_get_selected (self);
  GtkFileChooserNative *dialog;
  GtkRoot *root = gtk_widget_get_root (widget);
  g_autoptr (GFile) folder = download_folder ();

  if (item == NULL)
    return;
  dialog =
      gtk_file_chooser_native_new (_ ("Download File"), GTK_WINDOW (root),
                                   GTK_FILE_CHOOSER_ACTION_SAVE, _ ("_Download"), _ ("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (dialog), folder, NULL);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), tsr_file_item_get_name (item));
  g_object_set_data_full (G_OBJECT (dialog), "item", g_object_ref (item), g_object_unref);
  g_signal_connect (dialog, "response", G_CALLBACK (on_save_response), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
on_deleted (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr (TsrFilesPage) self = data;
  g_autoptr (GError) error = NULL;

  if (!tsr_backend_delete_finish (TSR_BACKEND (source), result, &error))
    tsr_window_toast_for (GTK_WIDGET (self), error->message);
}

static void
on_delete_response (AdwMessageDialog *dialog, const char *response, gpointer data)
{
  TsrFilesPage *self = data;
  const char *file_id = g_object_get_data (G_OBJECT (dialog), "file-id");

  if (g_strcmp0 (response, "delete") == 0)
    tsr_backend_delete_async (self->backend, file_id, NULL, on_deleted, g_object_ref (self));
}

static void
delete_action (GtkWidget *widget, const char *action, GVariant *param)
{
  TsrFilesPage *self = TSR_FILES_PAGE (widget);
  TsrFileItem *item = tsr_files_page_get_selected (self);
  GtkWidget *dialog;
  g_autofree char *heading = NULL;

  if (item == NULL)
    return;
  heading = g_strdup_printf (_ ("Delete “%s”?"), tsr_file_item_get_name (item));
  dialog = GTK_WIDGET (tsr_window_new_risky_question (
      GTK_WINDOW (gtk_widget_get_root (widget)), heading,
      _ ("Its chunks are removed from every node. This cannot be undone."), "delete",
      _ ("_Delete")));
  g_object_set_data_full (G_OBJECT (dialog), "file-id", g_strdup (tsr_file_item_get_file_id (item)),
                          g_free);
  /* Held weakly: "response" can come more than once (a button, then the close response). */
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_delete_response), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
on_activate (GtkColumnView *view, guint position, TsrFilesPage *self)
{
  gtk_single_selection_set_selected (self->selection, position);
  gtk_widget_activate_action (GTK_WIDGET (self), "files.download", NULL);
}

/* ---- transfers ---- */

/* A transfer's row: its bindings and its cancel button follow whichever transfer it shows. */
typedef struct
{
  TsrTransfer *transfer;
  GBinding *bindings[3]; /* held: a binding goes by itself when the row or the transfer goes */
  GtkWidget *bar;
  GtkWidget *cancel;
} RowState;

static void
row_state_unbind (RowState *st)
{
  for (guint i = 0; i < G_N_ELEMENTS (st->bindings); i++)
    if (st->bindings[i] != NULL)
      {
        g_binding_unbind (st->bindings[i]);
        g_clear_object (&st->bindings[i]);
      }
  g_clear_object (&st->transfer);
}

static void
row_state_free (RowState *st)
{
  row_state_unbind (st);
  g_free (st);
}

static void
on_row_cancel (GtkButton *button, RowState *st)
{
  if (st->transfer != NULL)
    tsr_transfer_cancel (st->transfer);
}

static void
bind_transfer_row (GtkWidget *row, TsrTransfer *transfer)
{
  RowState *st = g_object_get_data (G_OBJECT (row), "row-state");
  g_autofree char *cancel_label = NULL;
  gboolean up = tsr_transfer_get_kind (transfer) == TSR_TRANSFER_UPLOAD;

  row_state_unbind (st);
  st->transfer = g_object_ref (transfer);
  adw_action_row_set_icon_name (ADW_ACTION_ROW (row), up ? "go-up-symbolic" : "go-down-symbolic");
  st->bindings[0] =
      g_object_ref (g_object_bind_property (transfer, "name", row, "title", G_BINDING_SYNC_CREATE));
  st->bindings[1] = g_object_ref (
      g_object_bind_property (transfer, "status", row, "subtitle", G_BINDING_SYNC_CREATE));
  st->bindings[2] = g_object_ref (
      g_object_bind_property (transfer, "fraction", st->bar, "fraction", G_BINDING_SYNC_CREATE));
  cancel_label = g_strdup_printf (_ ("Cancel transfer of %s"), tsr_transfer_get_name (transfer));
  gtk_accessible_update_property (GTK_ACCESSIBLE (st->cancel), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  cancel_label, -1);
}

static GtkWidget *
create_transfer_row (gpointer item, gpointer data)
{
  TsrFilesPage *self = data;
  GtkWidget *row = NULL;
  RowState *st;

  /* A row whose transfer ended is off the list (it has no parent): show this transfer in it
   * rather than make one, which costs widgets, styles and a layout. */
  for (guint i = 0; i < self->transfer_rows->len && row == NULL; i++)
    if (gtk_widget_get_parent (self->transfer_rows->pdata[i]) == NULL)
      row = self->transfer_rows->pdata[i];
  if (row == NULL)
    {
      row = adw_action_row_new ();
      st = g_new0 (RowState, 1);
      g_object_set_data_full (G_OBJECT (row), "row-state", st, (GDestroyNotify)row_state_free);
      /* A file's name is not markup ("Tom & Jerry.mkv"). */
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      st->bar = gtk_progress_bar_new ();
      st->cancel = gtk_button_new_from_icon_name ("process-stop-symbolic");
      gtk_widget_set_valign (st->bar, GTK_ALIGN_CENTER);
      gtk_widget_set_size_request (st->bar, 160, -1);
      gtk_widget_set_valign (st->cancel, GTK_ALIGN_CENTER);
      gtk_widget_add_css_class (st->cancel, "flat");
      gtk_widget_set_tooltip_text (st->cancel, _ ("Cancel"));
      g_signal_connect (st->cancel, "clicked", G_CALLBACK (on_row_cancel), st);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), st->bar);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), st->cancel);
      g_ptr_array_add (self->transfer_rows, g_object_ref_sink (row));
    }
  bind_transfer_row (row, item);
  return g_object_ref (
      row); /* the list box takes a reference, and drops it when it removes the row */
}

/* A row for each of the first TRANSFER_ROWS transfers (those running and the next to go: the
 * cluster runs uploads in the order asked), and a line for the rest. A folder's worth of files
 * dropped at once wait their turn, and a row each cost the window 2.3 s of its main thread
 * for 1000 files (benchmarks/bench-app-stall --files); rows taken off the list are shown again
 * for the next transfers instead of made anew (create_transfer_row()): four alternating runs of
 * 1000 files, 1.7-2.4 CPU-s of the main thread against 2.2-3.0 without, 2.1-3.9 s against
 * 2.9-4.1 s. */
#define TRANSFER_ROWS 20

static gboolean
model_has (GListModel *model, guint limit, gpointer item)
{
  for (guint i = 0; i < MIN (limit, g_list_model_get_n_items (model)); i++)
    {
      g_autoptr (GObject) other = g_list_model_get_item (model, i);
      if (other == item)
        return TRUE;
    }
  return FALSE;
}

static void
on_transfers_changed (GListModel *model, guint position, guint removed, guint added,
                      TsrFilesPage *self)
{
  GListModel *shown = G_LIST_MODEL (self->shown_transfers);
  guint n = g_list_model_get_n_items (model);

  /* Transfers end anywhere and begin at the end: rows go as theirs end, and the next ones come
   * after the last, so no row is made twice (GtkSliceListModel remade the rows after any
   * change, and stalled the window for a second). */
  for (guint i = 0; i < g_list_model_get_n_items (shown);)
    {
      g_autoptr (GObject) item = g_list_model_get_item (shown, i);
      if (model_has (model, TRANSFER_ROWS, item))
        i++;
      else
        g_list_store_remove (self->shown_transfers, i);
    }
  for (guint i = 0; i < MIN (n, TRANSFER_ROWS); i++)
    {
      g_autoptr (GObject) item = g_list_model_get_item (model, i);
      if (!model_has (shown, TRANSFER_ROWS, item))
        g_list_store_append (self->shown_transfers, item);
    }

  gtk_revealer_set_reveal_child (self->transfers_revealer, n > 0);
  gtk_widget_set_visible (GTK_WIDGET (self->more_transfers_label), n > TRANSFER_ROWS);
  if (n > TRANSFER_ROWS)
    {
      g_autofree char *text = g_strdup_printf (
          /* Mostly uploads waiting their turn; a download started meanwhile may be one. */
          ngettext ("%u more transfer", "%u more transfers", n - TRANSFER_ROWS), n - TRANSFER_ROWS);
      gtk_label_set_text (self->more_transfers_label, text);
    }
}

/* ---- narrow windows ---- */

/* The columns beside the name are as wide as their contents, and a narrow window squeezed the
 * names to a few letters while Replicas kept its whole text and Uploaded went off the edge.
 * Below these widths of the page a column goes, the least needed first, then Replicas
 * narrows, then Size goes, so the names keep about half of the list. (GTK 4.8 and
 * libadwaita 1.2 have no breakpoints; the page decides as it is given its width.) */
static const int band_widths[] = {
  1000, /* Chunks */
  800,  /* Uploaded */
  600,  /* Replicas at its full width */
  400,  /* Size */
};
#define REPLICAS_NARROW 150

/* How many of band_widths[] @width reaches. */
static int
band_for (int width)
{
  int band = 0;

  for (guint i = 0; i < G_N_ELEMENTS (band_widths); i++)
    band += width >= band_widths[i];
  return band;
}

/* Shows @column @width wide, or hides it. Hidden, it is also made 0 wide: GTK 4.8's column
 * view counts a hidden column's width when it shares out the room, and the name column got
 * none. Each setter does nothing when the value stays. */
static void
show_column (GtkColumnViewColumn *column, gboolean shown, int width)
{
  gtk_column_view_column_set_visible (column, shown);
  gtk_column_view_column_set_fixed_width (column, shown ? width : 0);
}

static gboolean
fit_columns (GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
  TsrFilesPage *self = TSR_FILES_PAGE (widget);
  int band = band_for (self->width);

  self->fit_tick = 0;
  self->band = band;
  show_column (self->chunks_column, band >= 4, self->widths[0]);
  show_column (self->created_column, band >= 3, self->widths[1]);
  show_column (self->health_column, TRUE, band >= 2 ? self->widths[2] : REPLICAS_NARROW);
  show_column (self->size_column, band >= 1, self->widths[3]);
  return G_SOURCE_REMOVE;
}

static void
tsr_files_page_measure (GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum,
                        int *natural, int *minimum_baseline, int *natural_baseline)
{
  gtk_widget_measure (adw_bin_get_child (ADW_BIN (widget)), orientation, for_size, minimum, natural,
                      minimum_baseline, natural_baseline);
}

static void
tsr_files_page_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  TsrFilesPage *self = TSR_FILES_PAGE (widget);

  /* The columns change before the next frame's layout, not during this one: changed while
   * the window lays out, the list kept the widths it had. */
  self->width = width;
  if (band_for (width) != self->band && self->fit_tick == 0)
    self->fit_tick = gtk_widget_add_tick_callback (widget, fit_columns, NULL, NULL);
  gtk_widget_allocate (adw_bin_get_child (ADW_BIN (widget)), width, height, baseline, NULL);
}

/* ---- the object ---- */

static void
tsr_files_page_dispose (GObject *object)
{
  TsrFilesPage *self = TSR_FILES_PAGE (object);

  if (self->fit_tick != 0)
    gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->fit_tick);
  self->fit_tick = 0;
  if (self->backend != NULL)
    {
      g_signal_handlers_disconnect_by_data (tsr_backend_get_files (self->backend), self);
      g_signal_handlers_disconnect_by_data (tsr_backend_get_transfers (self->backend), self);
    }
  g_clear_object (&self->backend);
  gtk_widget_dispose_template (GTK_WIDGET (self), TSR_TYPE_FILES_PAGE);
  g_clear_object (&self->shown_transfers);
  g_clear_pointer (&self->transfer_rows, g_ptr_array_unref);
  G_OBJECT_CLASS (tsr_files_page_parent_class)->dispose (object);
}

static void
tsr_files_page_class_init (TsrFilesPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = tsr_files_page_dispose;
  widget_class->measure = tsr_files_page_measure;
  widget_class->size_allocate = tsr_files_page_size_allocate;

  g_type_ensure (TSR_TYPE_FILE_ITEM);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/tessera/Tessera/tsr-files-page.ui");
  gtk_widget_class_bind_template_child (widget_class, TsrFilesPage, search_bar);
  gtk_widget_class_bind_template_child (widget_class, TsrFilesPage, search_entry);
  gtk_widget_class_bind_template_child (widget_class, TsrFilesPage, content_stack);
  gtk_widget_class_bind_template_child (widget_class, TsrFilesPage, column_view);
  gtk_widget_class_bind_template_child (widget_class, TsrFilesPage, size_column);
  gtk_widget_class_bind_template_child (widget_class, TsrFilesPage, chunks_column);
  gtk_widget_class_bind_template_child (widget_class, TsrFilesPage, health_column);
  gtk_widget_class_bind_template_child (widget_class, TsrFilesPage, created_column);
  gtk_widget_class_bind_template_child (widget_class, TsrFilesPage, transfers_revealer);
  gtk_widget_class_bind_template_child (widget_class, TsrFilesPage, transfers_list);
  gtk_widget_class_bind_template_child (widget_class, TsrFilesPage, more_transfers_label);
  gtk_widget_class_bind_template_child (widget_class, TsrFilesPage, summary_label);
  gtk_widget_class_install_action (widget_class, "files.download", NULL, download_action);
  gtk_widget_class_install_action (widget_class, "files.delete", NULL, delete_action);
  /* It asks first, so the key is safe to bind; typed in the search entry it deletes text. */
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Delete, 0, "files.delete", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Delete, 0, "files.delete", NULL);
}

static void
tsr_files_page_init (TsrFilesPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  /* AdwBin's layout manager would allocate without asking the page: the page fits its columns
   * to the width (tsr_files_page_size_allocate()). */
  gtk_widget_set_layout_manager (GTK_WIDGET (self), NULL);
  self->band = -1;
  self->widths[0] = gtk_column_view_column_get_fixed_width (self->chunks_column);
  self->widths[1] = gtk_column_view_column_get_fixed_width (self->created_column);
  self->widths[2] = gtk_column_view_column_get_fixed_width (self->health_column);
  self->widths[3] = gtk_column_view_column_get_fixed_width (self->size_column);
  gtk_search_bar_connect_entry (self->search_bar, GTK_EDITABLE (self->search_entry));
  g_signal_connect_swapped (self->search_entry, "search-changed", G_CALLBACK (on_search_changed),
                            self);
  g_signal_connect (self->column_view, "activate", G_CALLBACK (on_activate), self);
}

void
tsr_files_page_set_backend (TsrFilesPage *self, TsrBackend *backend)
{
  GtkSortListModel *sorted;
  GListModel *files;

  g_return_if_fail (TSR_IS_FILES_PAGE (self));
  g_return_if_fail (self->backend == NULL);

  self->backend = g_object_ref (backend);
  files = tsr_backend_get_files (backend);
  self->filter =
      gtk_string_filter_new (gtk_property_expression_new (TSR_TYPE_FILE_ITEM, NULL, "name"));
  self->filtered = gtk_filter_list_model_new (g_object_ref (files), GTK_FILTER (self->filter));
  sorted = gtk_sort_list_model_new (G_LIST_MODEL (self->filtered),
                                    g_object_ref (gtk_column_view_get_sorter (self->column_view)));
  self->selection = gtk_single_selection_new (G_LIST_MODEL (sorted));
  gtk_single_selection_set_autoselect (self->selection, FALSE);
  gtk_column_view_set_model (self->column_view, GTK_SELECTION_MODEL (self->selection));
  g_object_unref (self->selection); /* the view holds it */
  gtk_column_view_sort_by_column (self->column_view, self->created_column, GTK_SORT_DESCENDING);

  g_signal_connect_swapped (files, "items-changed", G_CALLBACK (update_page), self);
  g_signal_connect_swapped (self->filtered, "items-changed", G_CALLBACK (update_page), self);
  g_signal_connect_swapped (self->selection, "notify::selected-item", G_CALLBACK (update_actions),
                            self);
  self->shown_transfers = g_list_store_new (TSR_TYPE_TRANSFER);
  self->transfer_rows = g_ptr_array_new_with_free_func (g_object_unref);
  gtk_list_box_bind_model (self->transfers_list, G_LIST_MODEL (self->shown_transfers),
                           create_transfer_row, self, NULL);
  g_signal_connect (tsr_backend_get_transfers (backend), "items-changed",
                    G_CALLBACK (on_transfers_changed), self);
  update_page (self);
  update_actions (self);
}

GtkSearchBar *
tsr_files_page_get_search_bar (TsrFilesPage *self)
{
  g_return_val_if_fail (TSR_IS_FILES_PAGE (self), NULL);
  return self->search_bar;
}

/* The footer's summary: how many files, and their size. */
const char *
tsr_files_page_get_summary (TsrFilesPage *self)
{
  g_return_val_if_fail (TSR_IS_FILES_PAGE (self), NULL);
  return gtk_label_get_text (self->summary_label);
}

/* The rows as shown: filtered and sorted. */
GListModel *
tsr_files_page_get_visible_files (TsrFilesPage *self)
{
  g_return_val_if_fail (TSR_IS_FILES_PAGE (self), NULL);
  return G_LIST_MODEL (self->selection);
}

void
tsr_files_page_select (TsrFilesPage *self, const char *file_id)
{
  GListModel *model = G_LIST_MODEL (self->selection);

  g_return_if_fail (TSR_IS_FILES_PAGE (self));
  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr (TsrFileItem) item = g_list_model_get_item (model, i);
      if (g_strcmp0 (tsr_file_item_get_file_id (item), file_id) == 0)
        gtk_single_selection_set_selected (self->selection, i);
    }
}

void
tsr_files_page_search (TsrFilesPage *self, const char *text)
{
  g_return_if_fail (TSR_IS_FILES_PAGE (self));
  gtk_search_bar_set_search_mode (self->search_bar, TRUE);
  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), text);
  on_search_changed (self); /* at once, not after the entry's typing delay */
  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}
