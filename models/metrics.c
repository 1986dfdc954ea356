/* metrics.c — evaluation metrics of DESIGN §9, every score a fraction in [0, 1].
 *
 * classification: accuracy and macro-F1 (as scikit-learn's f1_score with
 *   average="macro" over the labels present in truth or prediction);
 * segmentation: the MS-TCN eval.py definitions, including its quirks (see below);
 * captions: NLTK's corpus_bleu without smoothing, and exact match.
 */
#include "spm-metrics.h"

#include <math.h>
#include <string.h>

/* ---- classification ---- */

/* acc = #{pred_i == truth_i} / n;
 * for each class c seen in truth or prediction: F1_c = 2 tp / (2 tp + fp + fn);
 * macro_f1 = mean_c F1_c.  Labels outside [0, C) count as wrong and are left out
 * of confusion [truth][pred] (row = truth) and of the per-class counts. */
void
spm_metrics_classification (const int32_t *pred, const int32_t *truth, int64_t n, int C,
                            SpmClassMetrics *out, int64_t *confusion)
{
  memset (out, 0, sizeof *out);
  out->n = n;
  if (confusion != NULL && C > 0)
    memset (confusion, 0, sizeof (int64_t) * (size_t) C * (size_t) C);
  if (n <= 0)
    return;
  int64_t *tp = g_new0 (int64_t, C > 0 ? C : 1);
  int64_t *fp = g_new0 (int64_t, C > 0 ? C : 1);
  int64_t *fn = g_new0 (int64_t, C > 0 ? C : 1);
  int64_t correct = 0;
  for (int64_t i = 0; i < n; i++) {
    int32_t p = pred[i], t = truth[i];
    gboolean p_ok = p >= 0 && p < C, t_ok = t >= 0 && t < C;
    if (p == t && p_ok) {
      correct++;
      tp[p]++;
    } else {
      if (p_ok)
        fp[p]++;
      if (t_ok)
        fn[t]++;
    }
    if (p_ok && t_ok && confusion != NULL)
      confusion[(int64_t) t * C + p]++;
  }
  double sum = 0;
  int present = 0;
  for (int c = 0; c < C; c++) {
    if (tp[c] + fp[c] + fn[c] == 0)
      continue;
    present++;
    sum += 2.0 * (double) tp[c] / (double) (2 * tp[c] + fp[c] + fn[c]);
  }
  out->accuracy = (double) correct / (double) n;
  out->macro_f1 = present > 0 ? sum / present : 0.0;
  g_free (tp);
  g_free (fp);
  g_free (fn);
}

/* ---- segmentation (MS-TCN eval.py) ---- */

typedef struct { int32_t label; int64_t start, end; } Seg;

/* Runs of equal labels.  As eval.py's get_labels_start_end_time: a segment ends
 * where the next begins, except the last, which ends at len - 1 (not len). */
static Seg *
segments (const int32_t *x, int64_t len, int64_t *n_out)
{
  Seg *s = g_new (Seg, len);
  int64_t n = 0;
  s[n++] = (Seg) { x[0], 0, 0 };
  for (int64_t i = 1; i < len; i++) {
    if (x[i] != x[i - 1]) {
      s[n - 1].end = i;
      s[n++] = (Seg) { x[i], i, 0 };
    }
  }
  s[n - 1].end = len - 1;
  *n_out = n;
  return s;
}

/* Levenshtein distance between two label strings (unit costs). */
static int64_t
levenshtein (const Seg *p, int64_t m, const Seg *y, int64_t n)
{
  int64_t *row = g_new (int64_t, n + 1);
  for (int64_t j = 0; j <= n; j++)
    row[j] = j;
  for (int64_t i = 1; i <= m; i++) {
    int64_t diag = row[0];
    row[0] = i;
    for (int64_t j = 1; j <= n; j++) {
      int64_t up = row[j];
      int64_t best = p[i - 1].label == y[j - 1].label ? diag
                     : 1 + MIN (diag, MIN (up, row[j - 1]));
      row[j] = best;
      diag = up;
    }
  }
  int64_t d = row[n];
  g_free (row);
  return d;
}

/* eval.py's f_score for one sequence at IoU threshold k.  For each predicted
 * segment j: IoU_x = (min(end) - max(start)) / (max(end) - min(start)) against
 * every true segment x, times [same label]; idx = the first argmax; a true
 * positive if IoU_idx >= k and x not yet hit, else a false positive.  A 0/0 IoU
 * (both segments empty, possible through the last-segment rule) is NaN there,
 * which argmax picks and which fails the threshold: a false positive here too.
 * fn = true segments never hit. */
static void
f_counts (const Seg *p, int64_t m, const Seg *y, int64_t n, double k, gboolean *hits,
          int64_t *tp, int64_t *fp, int64_t *fn)
{
  memset (hits, 0, sizeof (gboolean) * (size_t) n);
  for (int64_t j = 0; j < m; j++) {
    int64_t idx = -1;
    double best = -INFINITY;
    gboolean nan_hit = FALSE;
    for (int64_t x = 0; x < n; x++) {
      int64_t inter = MIN (p[j].end, y[x].end) - MAX (p[j].start, y[x].start);
      int64_t uni = MAX (p[j].end, y[x].end) - MIN (p[j].start, y[x].start);
      if (uni == 0) {
        nan_hit = TRUE;
        break;
      }
      double iou = p[j].label == y[x].label ? (double) inter / (double) uni : 0.0;
      if (iou > best) {
        best = iou;
        idx = x;
      }
    }
    if (!nan_hit && idx >= 0 && best >= k && !hits[idx]) {
      (*tp)++;
      hits[idx] = TRUE;
    } else {
      (*fp)++;
    }
  }
  for (int64_t x = 0; x < n; x++)
    if (!hits[x])
      (*fn)++;
}

/* F1 = 2 P R / (P + R), P = tp / (tp + fp), R = tp / (tp + fn); 0 when undefined. */
static double
f1_of (int64_t tp, int64_t fp, int64_t fn)
{
  if (tp == 0)
    return 0.0;
  double P = (double) tp / (double) (tp + fp), R = (double) tp / (double) (tp + fn);
  return 2.0 * P * R / (P + R);
}

/* frame_accuracy = correct frames / all frames;
 * edit = mean over sequences of 1 - lev(P, Y) / max(|P|, |Y|) (segment label strings);
 * f1_k from tp, fp, fn summed over sequences.  Empty sequences are skipped
 * (eval.py cannot take them); n counts every sequence. */
void
spm_metrics_segmentation (const int32_t *const *pred, const int32_t *const *truth,
                          const int64_t *len, int64_t n_seq, SpmSegMetrics *out)
{
  static const double thresholds[3] = { 0.10, 0.25, 0.50 };
  memset (out, 0, sizeof *out);
  out->n = n_seq;
  int64_t correct = 0, used = 0;
  int64_t tp[3] = { 0 }, fp[3] = { 0 }, fn[3] = { 0 };
  double edit_sum = 0;
  for (int64_t s = 0; s < n_seq; s++) {
    int64_t T = len[s];
    if (T <= 0)
      continue;
    used++;
    out->frames += T;
    for (int64_t t = 0; t < T; t++)
      correct += pred[s][t] == truth[s][t];
    int64_t m, n;
    Seg *p = segments (pred[s], T, &m);
    Seg *y = segments (truth[s], T, &n);
    edit_sum += 1.0 - (double) levenshtein (p, m, y, n) / (double) MAX (m, n);
    gboolean *hits = g_new (gboolean, n);
    for (int k = 0; k < 3; k++)
      f_counts (p, m, y, n, thresholds[k], hits, &tp[k], &fp[k], &fn[k]);
    g_free (hits);
    g_free (p);
    g_free (y);
  }
  if (used == 0)
    return;
  out->frame_accuracy = (double) correct / (double) out->frames;
  out->edit = edit_sum / (double) used;
  out->f1_10 = f1_of (tp[0], fp[0], fn[0]);
  out->f1_25 = f1_of (tp[1], fp[1], fn[1]);
  out->f1_50 = f1_of (tp[2], fp[2], fn[2]);
}

/* ---- captions (NLTK corpus_bleu) ---- */

static int64_t
count_tokens (const char *const *v)
{
  int64_t n = 0;
  while (v != NULL && v[n] != NULL)
    n++;
  return n;
}

/* An n-gram of a token list, as one key: tokens joined by a 0x1f separator. */
static char *
ngram_key (const char *const *toks, int64_t at, int order)
{
  GString *k = g_string_new (toks[at]);
  for (int i = 1; i < order; i++) {
    g_string_append_c (k, '\x1f');
    g_string_append (k, toks[at + i]);
  }
  return g_string_free (k, FALSE);
}

/* key -> count of the n-grams of one order in toks, added into `into` (as
 * GINT_TO_POINTER counts), or maximised against it when `max` is set. */
static void
ngram_counts (const char *const *toks, int64_t len, int order, GHashTable *into, gboolean max)
{
  g_autoptr (GHashTable) own = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (int64_t i = 0; i + order <= len; i++) {
    char *k = ngram_key (toks, i, order);
    gpointer old = g_hash_table_lookup (own, k);
    g_hash_table_replace (own, k, GINT_TO_POINTER (GPOINTER_TO_INT (old) + 1));
  }
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, own);
  while (g_hash_table_iter_next (&it, &k, &v)) {
    int have = GPOINTER_TO_INT (g_hash_table_lookup (into, k));
    if (!max || GPOINTER_TO_INT (v) > have)
      g_hash_table_replace (into, g_strdup (k), v);
  }
}

/* NLTK modified_precision for one hypothesis: numerator = sum over its n-grams
 * of min(count in hyp, max count in any reference); denominator = max(1, number
 * of n-grams in hyp). */
static void
modified_precision (const char *const *hyp, const char *const *const *refs, int order,
                    int64_t *num, int64_t *den)
{
  int64_t hlen = count_tokens (hyp);
  g_autoptr (GHashTable) hc = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) rc = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  ngram_counts (hyp, hlen, order, hc, FALSE);
  for (int64_t r = 0; refs != NULL && refs[r] != NULL; r++)
    ngram_counts (refs[r], count_tokens (refs[r]), order, rc, TRUE);
  GHashTableIter it;
  gpointer k, v;
  int64_t total = 0, clipped = 0;
  g_hash_table_iter_init (&it, hc);
  while (g_hash_table_iter_next (&it, &k, &v)) {
    int c = GPOINTER_TO_INT (v), r = GPOINTER_TO_INT (g_hash_table_lookup (rc, k));
    total += c;
    clipped += MIN (c, r);
  }
  *num += clipped;
  *den += MAX (1, total);
}

/* The reference length closest to hlen, the shorter on a tie (0 without references). */
static int64_t
closest_ref_length (const char *const *const *refs, int64_t hlen)
{
  int64_t best = -1;
  for (int64_t r = 0; refs != NULL && refs[r] != NULL; r++) {
    int64_t l = count_tokens (refs[r]);
    int64_t d = l > hlen ? l - hlen : hlen - l, bd = best > hlen ? best - hlen : hlen - best;
    if (best < 0 || d < bd || (d == bd && l < best))
      best = l;
  }
  return best < 0 ? 0 : best;
}

static gboolean
tokens_equal (const char *const *a, const char *const *b)
{
  int64_t i = 0;
  for (; a[i] != NULL && b[i] != NULL; i++)
    if (strcmp (a[i], b[i]) != 0)
      return FALSE;
  return a[i] == NULL && b[i] == NULL;
}

/* p_n = sum_i num_i,n / sum_i den_i,n (corpus-level, n = 1..4);
 * BP = 1 if c > r, 0 if c = 0, else exp(1 - r / c), with c = total hypothesis
 * length and r = sum of closest reference lengths;
 * BLEU-1 = BP p_1; BLEU-4 = BP exp(sum_n log(p_n) / 4), 0 if any p_n = 0
 * (NLTK returns ~1e-77 there through its float-min floor; 0 is the same score). */
void
spm_metrics_captions (const char *const *const *hyps, const char *const *const *const *refs,
                      int64_t n, SpmCaptionMetrics *out)
{
  memset (out, 0, sizeof *out);
  out->n = n;
  if (n <= 0)
    return;
  int64_t num[5] = { 0 }, den[5] = { 0 }, c = 0, r = 0, exact = 0;
  for (int64_t i = 0; i < n; i++) {
    static const char *const no_tokens[] = { NULL };
    const char *const *hyp = hyps[i] != NULL ? hyps[i] : no_tokens;
    for (int order = 1; order <= 4; order++)
      modified_precision (hyp, refs[i], order, &num[order], &den[order]);
    int64_t hlen = count_tokens (hyp);
    c += hlen;
    r += closest_ref_length (refs[i], hlen);
    for (int64_t k = 0; refs[i] != NULL && refs[i][k] != NULL; k++) {
      if (tokens_equal (hyp, refs[i][k])) {
        exact++;
        break;
      }
    }
  }
  out->exact_match = (double) exact / (double) n;
  if (num[1] == 0)
    return;
  double bp = c > r ? 1.0 : c == 0 ? 0.0 : exp (1.0 - (double) r / (double) c);
  out->bleu1 = bp * ((double) num[1] / (double) den[1]);
  gboolean any_zero = FALSE;
  double log_sum = 0;
  for (int order = 1; order <= 4; order++) {
    if (num[order] == 0)
      any_zero = TRUE;
    else
      log_sum += 0.25 * log ((double) num[order] / (double) den[order]);
  }
  out->bleu4 = any_zero ? 0.0 : bp * exp (log_sum);
}
