/* host-tables.c — the keys of the host's own config groups (DESIGN §4), as tables
 * of the same shape the stages use, so that validation and `seqpipe inspect` treat
 * both alike.  Offsets are unused: the host reads its keys through sp_config_*(). */
#include "host-errors.h"
#include "host-keys.h"

#include <string.h>

#define K(name, type, def, min, max, choices, help, flags) \
  { { name, type, 0, def, min, max, choices, help }, flags }
#define K_END { SP_KEY_END, 0 }
#define BIG 1e15

static const SpHostKey pipeline_keys[] = {
  K ("inputs", SP_KEY_STRING, NULL, 0, -1, NULL,
     "input files, ';'-separated; globs allowed; a directory or %d pattern is an image sequence",
     SP_HKEY_LIST | SP_HKEY_PATH),
  K ("manifest", SP_KEY_PATH, NULL, 0, -1, NULL,
     "CSV of inputs (path[,start,end]), instead of inputs", SP_HKEY_PATH),
  K ("output-dir", SP_KEY_PATH, "out", 0, -1, NULL, "where outputs go; created if missing",
     SP_HKEY_PATH),
  K ("plugin-path", SP_KEY_STRING, NULL, 0, -1, NULL,
     "directories searched for plugins before the built-in ones, ';'-separated",
     SP_HKEY_LIST | SP_HKEY_PATH),
  K ("jobs", SP_KEY_INT, "1", 1, 64, NULL, "inputs processed concurrently", 0),
  K ("on-error", SP_KEY_CHOICE, "skip", 0, -1, "skip|stop",
     "after a failed input: go on with the others, or stop", 0),
  K_END
};

static const SpHostKey decoder_keys[] = {
  K ("plugin", SP_KEY_STRING, NULL, 0, -1, NULL,
     "decoder stage (ffmpeg, image, npy, ...); default chosen by file extension",
     SP_HKEY_FEATURES),
  K ("fps", SP_KEY_DOUBLE, "0", 0, 1000, NULL, "sample rate; 0 = every decoded frame",
     SP_HKEY_FEATURES),
  K ("width", SP_KEY_INT, "64", 1, 8192, NULL, "frame width handed to the extractor",
     SP_HKEY_FEATURES),
  K ("height", SP_KEY_INT, "64", 1, 8192, NULL, "frame height handed to the extractor",
     SP_HKEY_FEATURES),
  K ("threads", SP_KEY_INT, "0", 0, 64, NULL, "codec threads; 0 = auto", 0),
  K_END
};

static const SpHostKey extractor_keys[] = {
  K ("plugin", SP_KEY_STRING, "basic", 0, -1, NULL, "extractor stage", SP_HKEY_FEATURES),
  K_END
};

static const SpHostKey model_keys[] = {
  K ("cell", SP_KEY_CHOICE, "lstm", 0, -1, "lstm|rnn", "recurrent cell", 0),
  K ("hidden", SP_KEY_INT, "256", 1, 65536, NULL, "hidden size H", 0),
  K ("layers", SP_KEY_INT, "1", 1, 8, NULL, "stacked layers L", 0),
  K ("dropout", SP_KEY_DOUBLE, "0", 0, 1, NULL, "between stacked layers, training only",
     SP_HKEY_MAX_OPEN),
  K ("checkpoint", SP_KEY_PATH, NULL, 0, -1, NULL,
     "safetensors file: read by run/eval, written by train", SP_HKEY_PATH),
  K_END
};

static const SpHostKey head_keys[] = {
  K ("plugin", SP_KEY_STRING, NULL, 0, -1, NULL, "head stage (labeler, classifier, captioner)",
     SP_HKEY_REQUIRED),
  K_END
};

static const SpHostKey train_keys[] = {
  K ("manifest", SP_KEY_PATH, NULL, 0, -1, NULL, "CSV of training examples", SP_HKEY_PATH),
  K ("val-manifest", SP_KEY_PATH, NULL, 0, -1, NULL,
     "CSV of validation examples; the best epoch on it is kept", SP_HKEY_PATH),
  K ("epochs", SP_KEY_INT, "20", 1, 1000000, NULL, "passes over the training set", 0),
  K ("batch", SP_KEY_INT, "16", 1, 65536, NULL, "sequences per batch", 0),
  K ("optimizer", SP_KEY_CHOICE, "adam", 0, -1, "adam|sgd", "optimizer", 0),
  K ("lr", SP_KEY_DOUBLE, "0.001", 0, 10, NULL, "learning rate", SP_HKEY_MIN_OPEN),
  K ("momentum", SP_KEY_DOUBLE, "0", 0, 1, NULL, "sgd momentum", 0),
  K ("weight-decay", SP_KEY_DOUBLE, "0", 0, 1, NULL, "L2 weight decay", 0),
  K ("clip", SP_KEY_DOUBLE, "5", 0, BIG, NULL, "global gradient-norm clip; 0 = off", 0),
  K ("tbptt", SP_KEY_INT, "64", 0, 1000000, NULL,
     "truncated BPTT chunk length; 0 = full BPTT", 0),
  K ("seed", SP_KEY_INT, "1", 0, BIG, NULL, "random seed", 0),
  K ("init", SP_KEY_PATH, NULL, 0, -1, NULL, "checkpoint to start from (weights only)",
     SP_HKEY_PATH),
  K ("cache-dir", SP_KEY_PATH, ".seqpipe-cache", 0, -1, NULL,
     "extracted features, keyed by file identity and feature settings", SP_HKEY_PATH),
  K ("shuffle", SP_KEY_BOOL, "true", 0, -1, NULL, "shuffle the examples every epoch", 0),
  K ("threads", SP_KEY_INT, "0", 0, 256, NULL, "math threads; 0 = all cores", 0),
  K ("val-fraction", SP_KEY_DOUBLE, "0", 0, 1, NULL,
     "without val-manifest: hold out this share of the manifest's inputs for validation "
     "(stratified by label, chosen by seed; written to OUTPUT-DIR/val-split.csv)",
     SP_HKEY_MAX_OPEN),
  K ("patience", SP_KEY_INT, "0", 0, 1000000, NULL,
     "stop after this many epochs without a better validation monitor; 0 = off", 0),
  K ("monitor", SP_KEY_STRING, "loss", 0, -1, NULL,
     "what \"better\" means: loss (validation loss, lower is better) or a metric of the "
     "head (accuracy, macro_f1, frame_accuracy, edit, f1@10, f1@25, f1@50, bleu1, bleu4, "
     "exact_match; higher is better)", 0),
  K ("class-weights", SP_KEY_CHOICE, "none", 0, -1, "none|balanced",
     "balanced: class c weighs n / (C n_c) in the loss (scikit-learn's), from the training "
     "set's counts (labeler: frames, classifier: inputs); not for the captioner", 0),
  K ("lr-schedule", SP_KEY_CHOICE, "constant", 0, -1, "constant|cosine|step",
     "learning rate per epoch: constant, cosine annealing to 0, or step (x0.1 at 50% and "
     "75% of the epochs)", 0),
  K_END
};

static const SpHostKey sink_keys[] = {
  K ("plugin", SP_KEY_STRING, NULL, 0, -1, NULL, "sink stage; default: the NAME of [sink:NAME]",
     0),
  K ("path", SP_KEY_STRING, NULL, 0, -1, NULL,
     "output file relative to output-dir; {stem} or {name} make one file per input",
     SP_HKEY_REQUIRED),
  K_END
};

const SpHostGroup sp_host_groups[] = {
  { "pipeline", SP_GROUP_PIPELINE, 0, pipeline_keys, "inputs, outputs, plugins, concurrency" },
  { "decoder", SP_GROUP_DECODER, SP_STAGE_DECODER, decoder_keys,
    "the decoder and the frames it hands on (plus the chosen decoder's keys)" },
  { "extractor", SP_GROUP_EXTRACTOR, SP_STAGE_EXTRACTOR, extractor_keys,
    "the feature extractor (plus its keys)" },
  { "model", SP_GROUP_MODEL, 0, model_keys, "the recurrent core" },
  { "head", SP_GROUP_HEAD, SP_STAGE_HEAD, head_keys, "the head (plus its keys)" },
  { "train", SP_GROUP_TRAIN, 0, train_keys, "training" },
  { "sink", SP_GROUP_SINK, SP_STAGE_SINK, sink_keys,
    "[sink:NAME], any number: an export (plus the sink's keys)" },
  { NULL, SP_GROUP_NONE, 0, NULL, NULL },
};

const SpHostGroup *
sp_host_group_for (const char *group)
{
  if (g_str_has_prefix (group, "sink:"))
    return group[5] ? sp_host_group_by_kind (SP_GROUP_SINK) : NULL;
  for (const SpHostGroup *g = sp_host_groups; g->name; g++)
    if (g->kind != SP_GROUP_SINK && g_str_equal (g->name, group))
      return g;
  return NULL;
}

const SpHostGroup *
sp_host_group_by_kind (SpGroupKind kind)
{
  for (const SpHostGroup *g = sp_host_groups; g->name; g++)
    if (g->kind == kind)
      return g;
  return NULL;
}

const SpHostKey *
sp_host_key_find (const SpHostGroup *g, const char *name)
{
  for (const SpHostKey *k = g->keys; k->key.name; k++)
    if (g_str_equal (k->key.name, name))
      return k;
  return NULL;
}

char **
sp_host_group_key_names (const SpHostGroup *g)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  for (const SpHostKey *k = g->keys; k->key.name; k++)
    g_ptr_array_add (names, g_strdup (k->key.name));
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}

char *
sp_host_key_expected (const SpHostKey *hk)
{
  char *text = sp_key_expected (&hk->key);
  char *p;
  if ((hk->flags & SP_HKEY_MAX_OPEN) && (p = strrchr (text, ']')))
    *p = ')';
  if ((hk->flags & SP_HKEY_MIN_OPEN) && (p = strchr (text, '[')))
    *p = '(';
  return text;
}

char *
sp_host_key_range_text (const SpHostKey *hk)
{
  char *text = sp_key_range_text (&hk->key);
  char *p;
  if ((hk->flags & SP_HKEY_MAX_OPEN) && (p = strrchr (text, ']')))
    *p = ')';
  if ((hk->flags & SP_HKEY_MIN_OPEN) && (p = strchr (text, '[')))
    *p = '(';
  return text;
}
