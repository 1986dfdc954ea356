/* caption.c — sentence generation of the captioner: greedy, beam search, sampling.
 *
 * Start:  f̂ = (f - norm.mean) / norm.std;  h_0 = proj.W f̂ + proj.b in every layer;  c_0 = 0.
 * Step:   x = embed[token];  (h, c) = core(x, h, c);
 *         logp = log_softmax(head.W h_top + head.b)  over the V words.
 * <null> and <start> are never produced (they are never training targets); probabilities
 * are not renormalised without them, so a score is the model's own probability.
 * A sentence's score is Σ logp over its words and the final <end> (no length penalty);
 * one that reaches max_len words ends there without <end>.
 */
#include "spm-model.h"

#include <math.h>
#include <string.h>

typedef struct {
  const SpmModel *m;
  int K, H, V, E, L;
  SpmRecurrentWork *work[SPM_MAX_LAYERS];
  float *h[SPM_MAX_LAYERS], *c[SPM_MAX_LAYERS];   /* [K][H] state of each hypothesis */
  float *nh, *nc;                                 /* [K][H] scratch for reordering */
  float *x;                                       /* [K][E] embedded tokens */
  float *y, *cT;                                  /* [K][H] */
  float *logits;                                  /* [K][V] */
  double *logp;                                   /* [K][V] */
} Decoder;

static void
decoder_init (Decoder *d, const SpmModel *m, int K, const float *f)
{
  const SpmModelConfig *c = &m->cfg;
  memset (d, 0, sizeof *d);
  d->m = m;
  d->K = K;
  d->H = c->H;
  d->V = c->C;
  d->E = c->E;
  d->L = c->L;
  for (int l = 0; l < c->L; l++)
    {
      d->work[l] = spm_recurrent_work_new (c->cell, m->layer[l].D, c->H, 1, K);
      d->h[l] = g_new0 (float, (size_t) K * c->H);
      d->c[l] = g_new0 (float, (size_t) K * c->H);
    }
  d->nh = g_new0 (float, (size_t) K * c->H);
  d->nc = g_new0 (float, (size_t) K * c->H);
  d->x = g_new0 (float, (size_t) K * c->E);
  d->y = g_new0 (float, (size_t) K * c->H);
  d->cT = g_new0 (float, (size_t) K * c->H);
  d->logits = g_new0 (float, (size_t) K * c->C);
  d->logp = g_new0 (double, (size_t) K * c->C);

  /* h_0 of hypothesis 0 (the only one at the start) */
  g_autofree float *fn = g_new (float, c->D);
  for (int i = 0; i < c->D; i++)
    fn[i] = m->norm_mean != NULL ? (f[i] - m->norm_mean[i]) / m->norm_std[i] : f[i];
  spm_linear_forward (m->proj_W, m->proj_b, 1, c->D, c->H, fn, d->h[0]);
  for (int l = 1; l < c->L; l++)
    memcpy (d->h[l], d->h[0], c->H * sizeof (float));
}

static void
decoder_clear (Decoder *d)
{
  for (int l = 0; l < d->L; l++)
    {
      spm_recurrent_work_free (d->work[l]);
      g_free (d->h[l]);
      g_free (d->c[l]);
    }
  g_free (d->nh);
  g_free (d->nc);
  g_free (d->x);
  g_free (d->y);
  g_free (d->cT);
  g_free (d->logits);
  g_free (d->logp);
}

/* Feeds tok[0..n) to hypotheses 0..n; logp[b][v] = log_softmax(logits[b])[v]
 * (max-shifted, the sum of exponentials in double). */
static void
decoder_step (Decoder *d, int n, const int32_t *tok)
{
  const SpmModel *m = d->m;
  const int H = d->H, V = d->V;
  spm_embedding_forward (m->embed, V, d->E, n, tok, d->x);
  const float *in = d->x;
  for (int l = 0; l < d->L; l++)
    {
      spm_recurrent_forward (&m->layer[l], d->work[l], 1, n, in, d->h[l], d->c[l],
                             NULL, NULL, d->y, NULL, d->cT);
      memcpy (d->h[l], d->y, (size_t) n * H * sizeof (float));
      memcpy (d->c[l], d->cT, (size_t) n * H * sizeof (float));
      in = d->h[l];
    }
  spm_linear_forward (m->head_W, m->head_b, n, H, V, d->h[d->L - 1], d->logits);
  for (int b = 0; b < n; b++)
    {
      const float *z = d->logits + (size_t) b * V;
      double *lp = d->logp + (size_t) b * V;
      float mx = z[0];
      for (int v = 1; v < V; v++)
        mx = MAX (mx, z[v]);
      double s = 0;
      for (int v = 0; v < V; v++)
        s += exp ((double) z[v] - mx);
      double lse = mx + log (s);
      for (int v = 0; v < V; v++)
        lp[v] = (double) z[v] - lse;
    }
}

/* hypothesis j takes the state of hypothesis from[j], j < n */
static void
decoder_reorder (Decoder *d, int n, const int *from)
{
  const size_t row = d->H * sizeof (float);
  for (int l = 0; l < d->L; l++)
    {
      for (int j = 0; j < n; j++)
        {
          memcpy (d->nh + (size_t) j * d->H, d->h[l] + (size_t) from[j] * d->H, row);
          memcpy (d->nc + (size_t) j * d->H, d->c[l] + (size_t) from[j] * d->H, row);
        }
      memcpy (d->h[l], d->nh, n * row);
      memcpy (d->c[l], d->nc, n * row);
    }
}

static gboolean
producible (int v)
{
  return v != SPM_TOK_NULL && v != SPM_TOK_START;
}

/* tokens ~ softmax(logits / temperature) over the producible words; the score is
 * the model's log-probability of the drawn sentence (temperature 1). */
static int
sample (Decoder *d, int max_len, float temperature, uint64_t seed, int32_t *tokens,
        double *total)
{
  SpmRng rng;
  spm_rng_seed (&rng, seed);
  g_autofree double *p = g_new (double, d->V);
  int32_t tok = SPM_TOK_START;
  int n = 0;
  *total = 0;
  while (n < max_len)
    {
      decoder_step (d, 1, &tok);
      double mx = -INFINITY, s = 0;
      for (int v = 0; v < d->V; v++)
        if (producible (v))
          mx = MAX (mx, d->logp[v] / temperature);
      for (int v = 0; v < d->V; v++)
        s += p[v] = producible (v) ? exp (d->logp[v] / temperature - mx) : 0;
      double u = spm_rng_uniform (&rng) * s, acc = 0;
      int pick = SPM_TOK_END;
      for (int v = 0; v < d->V; v++)
        if (p[v] > 0)
          {
            pick = v;
            acc += p[v];
            if (u < acc)
              break;
          }
      *total += d->logp[pick];
      if (pick == SPM_TOK_END)
        break;
      tokens[n++] = tok = pick;
    }
  return n;
}

/* Beam search over K hypotheses.  Each step ranks every (hypothesis, word) extension
 * by its total log-probability and keeps the K best (earlier hypothesis, then lower
 * word index, on ties); an extension by <end> is finished and leaves the beam.  The
 * search ends when no hypothesis is live, when the live ones reach max_len words, or
 * when the best finished total is at least the best live one (totals only fall).
 * With K = 1 this is greedy decoding: the argmax word at every step. */
static int
beam (Decoder *d, int K, int max_len, int32_t *tokens, double *total)
{
  const int V = d->V;
  g_autofree int32_t *hist = g_new0 (int32_t, (size_t) K * MAX (max_len, 1));
  g_autofree int32_t *nhist = g_new0 (int32_t, (size_t) K * MAX (max_len, 1));
  g_autofree double *score = g_new0 (double, K);
  g_autofree double *cand = g_new (double, K);        /* the K best extensions */
  g_autofree int *cand_b = g_new (int, K), *cand_v = g_new (int, K);
  g_autofree int32_t *last = g_new (int32_t, K);
  g_autofree int *from = g_new (int, K);
  double best = -INFINITY;   /* best finished total */
  int best_len = 0;
  int live = 1, len = 0;
  last[0] = SPM_TOK_START;

  while (live > 0 && len < max_len)
    {
      decoder_step (d, live, last);
      int nc = 0;
      for (int b = 0; b < live; b++)
        for (int v = 0; v < V; v++)
          {
            if (!producible (v))
              continue;
            double s = score[b] + d->logp[(size_t) b * V + v];
            if (nc == K && !(s > cand[K - 1]))
              continue;
            int i = nc < K ? nc++ : K - 1;
            while (i > 0 && s > cand[i - 1])
              {
                cand[i] = cand[i - 1];
                cand_b[i] = cand_b[i - 1];
                cand_v[i] = cand_v[i - 1];
                i--;
              }
            cand[i] = s;
            cand_b[i] = b;
            cand_v[i] = v;
          }
      int n_live = 0;
      for (int i = 0; i < nc; i++)
        {
          const int32_t *ph = hist + (size_t) cand_b[i] * max_len;
          if (cand_v[i] == SPM_TOK_END)
            {
              if (cand[i] > best)
                {
                  best = cand[i];
                  best_len = len;
                  memcpy (tokens, ph, len * sizeof (int32_t));
                }
              continue;
            }
          int32_t *nh = nhist + (size_t) n_live * max_len;
          memcpy (nh, ph, len * sizeof (int32_t));
          nh[len] = cand_v[i];
          last[n_live] = cand_v[i];
          score[n_live] = cand[i];
          from[n_live] = cand_b[i];
          n_live++;
        }
      decoder_reorder (d, n_live, from);
      int32_t *t = hist;
      hist = nhist;
      nhist = t;
      live = n_live;
      len++;
      if (live > 0 && !(score[0] > best))
        live = 0;
    }
  /* hypotheses that reached max_len end there */
  for (int b = 0; b < live; b++)
    if (score[b] > best)
      {
        best = score[b];
        best_len = len;
        memcpy (tokens, hist + (size_t) b * max_len, len * sizeof (int32_t));
      }
  *total = best;
  return best_len;
}

int
spm_caption (const SpmModel *m, const float *f, int beam_size, int max_len, float temperature,
             uint64_t seed, int32_t *tokens, float *score)
{
  g_return_val_if_fail (m->cfg.head == SPM_HEAD_CAPTIONER, 0);
  int K = temperature > 0 ? 1 : MAX (beam_size, 1);
  max_len = MAX (max_len, 0);
  Decoder d;
  decoder_init (&d, m, K, f);
  double total = 0;
  int n;
  if (temperature > 0)
    n = sample (&d, max_len, temperature, seed, tokens, &total);
  else
    n = beam (&d, K, max_len, tokens, &total);
  decoder_clear (&d);
  if (score != NULL)
    *score = (float) exp (total);
  return n;
}
