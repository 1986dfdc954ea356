/* refused.c — plugins the registry must refuse, one per build (-DFAKE_<CASE>), each
 * for one reason.  The tests check the reason recorded for each file. */
#include <seqpipe/plugin.h>

#if defined FAKE_NO_SYMBOL
/* a shared object, but no descriptor */
int fake_not_a_plugin (void);
int fake_not_a_plugin (void) { return 1; }
#else

typedef struct {
  gint64 n;
  int c;
} Priv;

static gboolean
f_init (SpStage *st, GError **error)
{
  (void) st;
  (void) error;
  return TRUE;
}

G_GNUC_UNUSED static gboolean
f_process (SpStage *st, SpFrame *frame, GError **error)
{
  (void) st;
  (void) frame;
  (void) error;
  return TRUE;
}

G_GNUC_UNUSED static gboolean
f_write (SpStage *st, const SpRecord *r, GError **error)
{
  (void) st;
  (void) r;
  (void) error;
  return TRUE;
}

G_GNUC_UNUSED static SpDecodeStatus
f_decode (SpStage *st, SpFrame *frame, GError **error)
{
  (void) st;
  (void) frame;
  (void) error;
  return SP_DECODE_EOF;
}

G_GNUC_UNUSED static gboolean
f_init_flush (SpStage *st, GError **error)
{
  return f_init (st, error);
}

static void
f_finalize (SpStage *st)
{
  (void) st;
}

#if defined FAKE_BAD_KEY_RANGE
static const SpKey keys[] = {
  { "n", SP_KEY_INT, offsetof (Priv, n), "100", 0, 10, NULL, "default out of range" },
  SP_KEY_END
};
#elif defined FAKE_BAD_KEY_OFFSET
static const SpKey keys[] = {
  { "n", SP_KEY_INT, sizeof (Priv), "1", 0, 10, NULL, "outside the private state" },
  SP_KEY_END
};
#elif defined FAKE_BAD_KEY_NAME
static const SpKey keys[] = {
  { "Bad_Key", SP_KEY_INT, offsetof (Priv, n), "1", 0, 10, NULL, "bad name" },
  SP_KEY_END
};
#elif defined FAKE_BAD_KEY_TYPE
static const SpKey keys[] = {
  { "n", (SpKeyType) 42, offsetof (Priv, n), "1", 0, 10, NULL, "unknown type" },
  SP_KEY_END
};
#elif defined FAKE_BAD_KEY_RESERVED
static const SpKey keys[] = {
  { "fps", SP_KEY_INT, offsetof (Priv, n), "1", 0, 10, NULL, "the host's key" },
  SP_KEY_END
};
#elif defined FAKE_BAD_KEY_CHOICE
static const SpKey keys[] = {
  { "c", SP_KEY_CHOICE, offsetof (Priv, c), "z", 0, 0, "x|y", "default not a choice" },
  SP_KEY_END
};
#else
static const SpKey keys[] = { SP_KEY_END };
#endif

static const SpStageClass stage = {
#if defined FAKE_BAD_NAME
  .name = "Bad_Name",
#elif defined FAKE_DUPLICATE
  .name = "fake-dec",
#else
  .name = "fake-refused",
#endif
#if defined FAKE_BAD_KIND
  .kind = (SpStageKind) 9,
#elif defined FAKE_HEAD_NO_RECORDS || defined FAKE_HEAD_ABI_1_1
  .kind = SP_STAGE_HEAD,
  .process = f_process,
#elif defined FAKE_SINK_NO_TAKES || defined FAKE_SINK_FRAMES_NO_FN
  .kind = SP_STAGE_SINK,
  .write = f_write,
  .flush = f_init_flush,
#if defined FAKE_SINK_FRAMES_NO_FN
  .takes = SP_TAKES_FRAMES,
#endif
#else
  .kind = SP_STAGE_DECODER,
#endif
  .description = "refused",
  .keys = keys,
  .priv_size = sizeof (Priv),
  .init = f_init,
#if !defined FAKE_MISSING_FUNCTION && !defined FAKE_HEAD_NO_RECORDS && !defined FAKE_HEAD_ABI_1_1 \
    && !defined FAKE_SINK_NO_TAKES && !defined FAKE_SINK_FRAMES_NO_FN
  .decode = f_decode,
#endif
  .finalize = f_finalize,
};

G_GNUC_UNUSED static const SpStageClass *const stages[] = { &stage, NULL };

G_MODULE_EXPORT const SpPluginDescriptor seqpipe_plugin_descriptor = {
#if defined FAKE_ABI_MAJOR
  SP_ABI_MAJOR + 1, 0,
#elif defined FAKE_ABI_MINOR
  SP_ABI_MAJOR, SP_ABI_MINOR + 1,
#elif defined FAKE_HEAD_ABI_1_1
  SP_ABI_MAJOR, 1,
#else
  SP_ABI_MAJOR, SP_ABI_MINOR,
#endif
#if defined FAKE_NO_NAME
  NULL,
#else
  "fake-refused",
#endif
  "0.0.1", "refused on purpose", "MIT",
#if defined FAKE_NO_STAGES
  NULL,
#else
  stages,
#endif
};
#endif
