/* sp-host.h — libseqpipe's internal interface between the host's parts: config,
 * plugin registry, per-input chains.  Not installed; plugins see only <seqpipe/plugin.h>.
 *
 * Paths in a config file are relative to the config file's directory; paths given
 * with --set are relative to the current directory.
 */
#ifndef SP_HOST_H
#define SP_HOST_H

#include <seqpipe/plugin.h>

G_BEGIN_DECLS

#define SP_ERROR (sp_error_quark ())
GQuark sp_error_quark (void);
typedef enum {
  SP_ERROR_USAGE,      /* exit 1 */
  SP_ERROR_CONFIG,     /* exit 1: names [group] key */
  SP_ERROR_PLUGIN,     /* exit 1 */
  SP_ERROR_INPUT,      /* one input failed: exit 2 when others went on */
  SP_ERROR_INTERRUPTED /* exit 3 */
} SpErrorCode;

/* ---- plugins ---------------------------------------------------------------- */
typedef struct SpRegistry SpRegistry;
/* Scans, in order: extra_dirs (NULL-terminated, may be NULL), $SEQPIPE_PLUGIN_PATH
 * (':'-separated), the build tree's plugins (when running from the build tree), the
 * installed plugin dir.  The first stage of a name and kind wins; a file with a later
 * one is refused (a name may be used once per kind: decoder npy and sink npy). */
SpRegistry *sp_registry_new (const char *const *extra_dirs);
void sp_registry_free (SpRegistry *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpRegistry, sp_registry_free)
const SpStageClass *sp_registry_find (SpRegistry *r, const char *name, SpStageKind kind);
/* Scans only dirs (each and its immediate subdirectories): an isolated plugin path. */
SpRegistry *sp_registry_new_isolated (const char *const *dirs);
typedef struct {
  const SpStageClass *klass;
  const SpPluginDescriptor *plugin;
  const char *file;                 /* the .so it came from */
} SpRegistryStage;
typedef struct {
  const char *file;
  const char *reason;               /* e.g. "not a plugin (...)", "ABI 2.0 ..." */
} SpRegistryRefusal;
/* every stage loaded, in scan order; every file refused (both owned by r) */
const SpRegistryStage *sp_registry_stages (SpRegistry *r, int *n);
const SpRegistryRefusal *sp_registry_refusals (SpRegistry *r, int *n);
/* the first stage of that name, of any kind, or NULL */
const SpRegistryStage *sp_registry_lookup (SpRegistry *r, const char *name);
/* "decoder", "extractor", "head", "sink" (or "unknown") */
const char *sp_stage_kind_name (SpStageKind kind);

/* The CLI's error conventions: `seqpipe: MESSAGE` on stderr (messages start with
 * their WHERE), and the exit status DESIGN §3 gives the error (1, 2 or 3). */
void sp_error_print (const GError *error);
int sp_error_exit_status (const GError *error);

/* ---- config ----------------------------------------------------------------- */
typedef struct SpConfig SpConfig;
/* Loads CONFIG, applies sets ("group.key=value", NULL-terminated), loads the plugins
 * (with [pipeline] plugin-path) and validates every group and key against the host's
 * tables and the chosen stages' tables.  verb: "run", "train" or "eval" (what is
 * required differs), or NULL (nothing beyond the tables).  Errors: SP_ERROR_CONFIG
 * "[group] key: WHAT" or "FILE[:LINE]: WHAT", SP_ERROR_USAGE for a malformed --set. */
SpConfig *sp_config_load (const char *path, const char *const *sets, const char *verb,
                          GError **error);
void sp_config_free (SpConfig *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpConfig, sp_config_free)
SpRegistry *sp_config_registry (SpConfig *c);
/* Effective values (the default when unset) of any validated key; a key that no table
 * declares is a programming error (g_critical).  The config does not change after
 * loading; the getters may be called from several threads. */
const char *sp_config_string (SpConfig *c, const char *group, const char *key);  /* NULL if unset, no default */
gint64 sp_config_int (SpConfig *c, const char *group, const char *key);
double sp_config_double (SpConfig *c, const char *group, const char *key);
gboolean sp_config_bool (SpConfig *c, const char *group, const char *key);
/* a path key resolved as described above (newly allocated; NULL if unset) */
char *sp_config_path (SpConfig *c, const char *group, const char *key);
/* JSON object of the settings features are made with: "decoder" or "extractor",
 * for cache keys and checkpoint metadata; keys sorted, numbers as the shortest text
 * that reads back, so equal settings give equal text however they were written.
 * decoder: fps, width, height, plugin (when set) and the decoder's own keys that
 * differ from their default (e.g. npy transpose); extractor: plugin and every key of
 * the extractor.  Newly allocated. */
char *sp_config_feature_settings (SpConfig *c, const char *which);
/* the head's name from [head] plugin, or NULL */
const char *sp_config_head (SpConfig *c);
/* the config file as given, and its directory */
const char *sp_config_file (SpConfig *c);
const char *sp_config_dir (SpConfig *c);
/* a list key ([pipeline] inputs): the items as written (';'-separated), or NULL if
 * unset; sp_config_path_list resolves each item like sp_config_path (globs stay
 * globs).  Newly allocated. */
char **sp_config_strv (SpConfig *c, const char *group, const char *key);
char **sp_config_path_list (SpConfig *c, const char *group, const char *key);
/* the groups of the sinks, "sink:NAME", in file order (then --set order).  Newly
 * allocated.  `plugin` of a sink defaults to its NAME. */
char **sp_config_sink_groups (SpConfig *c);
/* the extractor's name ([extractor] plugin, default "basic") and the decoder's
 * ([decoder] plugin, NULL when chosen by extension) */
const char *sp_config_extractor (SpConfig *c);
const char *sp_config_decoder (SpConfig *c);
/* whether the config file or --set gave a value for group/key */
gboolean sp_config_has (SpConfig *c, const char *group, const char *key);

/* ---- stage instances ----------------------------------------------------------
 * One instance per input (DESIGN §10).  sp_stage_new allocates the private state
 * (zeroed), applies the key values of `group` in the config (defaults for unset keys;
 * c may be NULL for defaults only) and fills the public fields; sp_stage_init calls
 * the class's init; sp_stage_free calls finalize whenever init was called (even if it
 * failed), then frees. */
typedef gboolean (*SpEmitFunc) (SpStage *head, const SpRecord *record, void *user_data,
                                GError **error);
typedef struct {
  const SpStageClass *klass;
  SpConfig *config;                 /* (transfer none) may be NULL */
  gboolean init_called;
  int64_t expected_frames;          /* -1 unknown */
  char **labels;                    /* owned copy behind SpStage.labels */
  char **strings;                   /* key strings owned by the instance */
  SpEmitFunc emit;                  /* heads: where records go */
  void *emit_data;
  char *checkpoint;                 /* [model] checkpoint, resolved */
  /* sinks: sp_stage_output_path_aux() dispatches here (the run engine's sinks and the
   * harness each provide theirs); NULL = the stage has no second output */
  const char *(*aux_path) (SpStage *st, const char *suffix, GError **error);
  void *aux_data;
  int output_dim;                   /* sp_stage_set_feature_dim() (0 = not called) */
  char *head_name;                  /* sp_stage_head_name(); from [head] plugin */
  char *settings[2];                /* sp_stage_feature_settings: decoder, extractor */
  void *user_data;                  /* free for the code that drives the stage */
} SpStageHost;

SpStage *sp_stage_new (SpConfig *c, const SpStageClass *klass, const char *group,
                       const SpInputInfo *input, const SpDecoderParams *dec, GError **error);
gboolean sp_stage_init (SpStage *st, GError **error);
void sp_stage_free (SpStage *st);
/* what the stage said with sp_stage_set_feature_dim() (0 = nothing) */
int sp_stage_output_dim (SpStage *st);
int64_t sp_stage_expected_frames (SpStage *st);   /* -1 unknown */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpStage, sp_stage_free)
static inline SpStageHost *sp_stage_host (SpStage *st) { return (SpStageHost *) st->host; }

/* ---- manifests (DESIGN §5): CSV with a header row, RFC 4180 quoting ------------ */
typedef struct {
  char *path;                       /* resolved against the manifest's directory */
  char *label, *labels, *caption;   /* NULL when the column is absent */
  double start, end;                /* -1 when absent */
  int line;                         /* 1-based line of the row in the file */
} SpManifestRow;
typedef struct {
  char *file;
  SpManifestRow *rows;
  int n_rows;
  gboolean has_label, has_labels, has_caption;
} SpManifest;
/* Requires a `path` column; known columns: path, label, labels, caption, start, end;
 * any other column is an error naming it.  Errors name the file and line. */
SpManifest *sp_manifest_read (const char *path, GError **error);
void sp_manifest_free (SpManifest *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpManifest, sp_manifest_free)

/* ---- CSV (RFC 4180: quotes, doubled quotes, CRLF, embedded newlines, a BOM) ----- */
typedef struct {
  char **fields;                    /* NULL-terminated */
  int n;
  int line;                         /* 1-based line where the record starts */
} SpCsvRow;
typedef struct {
  SpCsvRow *rows;
  int n_rows;
} SpCsv;
/* Every record of the file (blank lines skipped).  Errors name WHAT (a file name) and
 * the line. */
SpCsv *sp_csv_parse (const char *text, gsize len, const char *what, GError **error);
SpCsv *sp_csv_read (const char *path, GError **error);
void sp_csv_free (SpCsv *csv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpCsv, sp_csv_free)

/* ---- one input through decoder and extractor ---------------------------------- */
typedef struct {
  int64_t T;            /* frames delivered */
  int D;
  float *x;             /* [T][D] */
  int64_t *index;       /* [T] native frame numbers */
  double *time;         /* [T] seconds */
  int64_t broken;       /* frames that could not be decoded */
} SpFeatures;
void sp_features_clear (SpFeatures *f);
/* Decodes and extracts the whole input in memory (used by train/eval). */
gboolean sp_extract_features (SpConfig *c, const SpInputInfo *input, SpFeatures *out,
                              GError **error);

/* progress line (single updating line on a terminal, silent otherwise) */
typedef struct SpProgress SpProgress;
SpProgress *sp_progress_new (gboolean quiet);
void sp_progress_update (SpProgress *p, const char *fmt, ...) G_GNUC_PRINTF (2, 3);
void sp_progress_free (SpProgress *p);  /* clears the line */

/* set by SIGINT/SIGTERM handlers installed by the CLI */
gboolean sp_interrupted (void);

/* ---- a harness: one stage of one plugin directory, driven by hand (tests) --------
 * sp_harness_new loads only plugin_dir and its immediate subdirectories (an isolated
 * plugin path), finds the stage (stage_name, or "kind:name", e.g. "sink:npy"),
 * allocates its private state and applies its key table with the "key=value" pairs
 * given (others take their defaults; bad values are errors as in a config).  Set
 * what the stage needs, then init.  Frames come from a pool the harness owns
 * (rgb of dec->width x dec->height, features of the feature dim).  Records a head
 * emits are copied and kept; sinks write to output_path. */
typedef struct SpHarness SpHarness;
SpHarness *sp_harness_new (const char *plugin_dir, const char *stage_name,
                           const char *const *keys, const SpInputInfo *input,
                           const SpDecoderParams *dec, GError **error);
void sp_harness_free (SpHarness *h);  /* finalize (whenever init was called, even if it
                                        * failed), then free */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpHarness, sp_harness_free)
SpStage *sp_harness_stage (SpHarness *h);
void sp_harness_set_feature_dim (SpHarness *h, int dim);
void sp_harness_set_labels (SpHarness *h, const char *const *labels, int n);
void sp_harness_set_output (SpHarness *h, const char *path, gboolean combined);
void sp_harness_set_checkpoint (SpHarness *h, const char *path);
/* what sp_stage_head_name() answers (default NULL) */
void sp_harness_set_head (SpHarness *h, const char *head);
/* what sp_stage_feature_settings() answers (default: {"fps","height","width"} of dec
 * for "decoder", {} for "extractor") */
void sp_harness_set_feature_settings (SpHarness *h, const char *which, const char *json);
gboolean sp_harness_init (SpHarness *h, GError **error);
/* a frame from the harness pool, sized for the stage (valid until the next call) */
SpFrame *sp_harness_frame (SpHarness *h);
SpDecodeStatus sp_harness_decode (SpHarness *h, SpFrame *frame, GError **error);
gboolean sp_harness_process (SpHarness *h, SpFrame *frame, GError **error);
gboolean sp_harness_write (SpHarness *h, const SpRecord *record, GError **error);
gboolean sp_harness_flush (SpHarness *h, GError **error);
/* records emitted by a head so far (copies; probs and text owned by the harness) */
const SpRecord *sp_harness_records (SpHarness *h, int *n);

G_END_DECLS

#endif
