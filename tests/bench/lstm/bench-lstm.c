/* bench-lstm.c — speed of the recurrent core on the shapes of DESIGN §7's hot path.
 *
 *   train L   forward + backward of an L-layer LSTM, T = 64, B = 32, D = H = 512;
 *             FLOPs counted as 2·4H·(D+H)·B·T per layer forward and twice that
 *             backward (the matrix products; elementwise work is not counted)
 *   stream L  inference with B = 1, one step per call, the state carried between calls
 *   sgemm     a large square sgemm in the same process: the machine's BLAS peak
 *
 * Prints `key value` lines (median of --reps runs after one warm-up) for
 * tests/bench/lstm/run.sh.  Threads: --threads N (default $OPENBLAS_NUM_THREADS or 1).
 * --cpu-clock times by process CPU time instead of wall time. */
#include "spm-layers.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { T = 64, B = 32, D = 512, H = 512, STREAM_STEPS = 256, MAX_L = 2 };

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
median (double *v, int n)
{
  qsort (v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static gboolean use_cpu_clock;   /* --cpu-clock: process CPU time instead of wall time */

static double
now (void)
{
  struct timespec ts;
  clock_gettime (use_cpu_clock ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct {
  SpmRecurrentParams p[MAX_L], g[MAX_L];
  SpmRecurrentWork *w[MAX_L];
  float *block;
} Net;

static void
net_init (Net *n, int T_max, int B_max, SpmRng *rng)
{
  size_t per = (size_t) 4 * H * (D + H) + 8 * H;   /* D = H: every layer the same size */
  n->block = g_new (float, 2 * MAX_L * per);
  for (size_t i = 0; i < 2 * MAX_L * per; i++)
    n->block[i] = (spm_rng_uniform (rng) - 0.5f) * 0.08f;
  for (int k = 0; k < MAX_L; k++)
    for (int which = 0; which < 2; which++)
      {
        float *f = n->block + (2 * k + which) * per;
        SpmRecurrentParams q = { SPM_CELL_LSTM, D, H, f, f + (size_t) 4 * H * D,
                                 f + (size_t) 4 * H * (D + H), f + (size_t) 4 * H * (D + H) + 4 * H };
        if (which == 0)
          n->p[k] = q;
        else
          n->g[k] = q;
      }
  for (int k = 0; k < MAX_L; k++)
    n->w[k] = spm_recurrent_work_new (SPM_CELL_LSTM, D, H, T_max, B_max);
}

static void
net_clear (Net *n)
{
  for (int k = 0; k < MAX_L; k++)
    spm_recurrent_work_free (n->w[k]);
  g_free (n->block);
}

/* seconds of one training step (forward + backward through L layers) */
static double
train_step (Net *n, int L, const float *x, float *ys, float *dys, float *dx, const float *dy)
{
  size_t TBH = (size_t) T * B * H;
  double t0 = now ();
  for (int k = 0; k < L; k++)
    spm_recurrent_forward (&n->p[k], n->w[k], T, B, k == 0 ? x : ys + (k - 1) * TBH,
                           NULL, NULL, NULL, NULL, ys + k * TBH, NULL, NULL);
  for (int k = L - 1; k >= 0; k--)
    spm_recurrent_backward (&n->p[k], &n->g[k], n->w[k], T, B, k == 0 ? x : ys + (k - 1) * TBH,
                            k == L - 1 ? dy : dys + k * TBH, NULL, NULL,
                            k == 0 ? dx : dys + (k - 1) * TBH, NULL, NULL);
  return now () - t0;
}

/* seconds per step of B = 1 inference, one call per step */
static double
stream (Net *n, int L, const float *x, float *h, float *c, float *y)
{
  double t0 = now ();
  for (int s = 0; s < STREAM_STEPS; s++)
    for (int k = 0; k < L; k++)
      spm_recurrent_forward (&n->p[k], n->w[k], 1, 1, k == 0 ? x + (size_t) s * D : y + (k - 1) * H,
                             h + k * H, c + k * H, NULL, NULL, y + k * H, h + k * H, c + k * H);
  return (now () - t0) / STREAM_STEPS;
}

int
main (int argc, char **argv)
{
  const char *env = g_getenv ("OPENBLAS_NUM_THREADS");
  int threads = env != NULL ? atoi (env) : 1, reps = 7, N = 2048;
  GOptionEntry entries[] = {
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "BLAS threads", "N" },
    { "reps", 'r', 0, G_OPTION_ARG_INT, &reps, "timed runs per figure (median)", "N" },
    { "sgemm-size", 's', 0, G_OPTION_ARG_INT, &N, "size of the square sgemm", "N" },
    { "cpu-clock", 'c', 0, G_OPTION_ARG_NONE, &use_cpu_clock,
      "time by process CPU time (robust on a busy machine; meaningful with 1 thread)", NULL },
    { NULL, 0, 0, 0, NULL, NULL, NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- recurrent core benchmark");
  g_autoptr (GError) error = NULL;
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("seqpipe: bench-lstm: %s\n", error->message);
      return 1;
    }
  if (threads < 1 || reps < 1 || N < 64)
    {
      g_printerr ("seqpipe: bench-lstm: --threads, --reps and --sgemm-size must be positive\n");
      return 1;
    }
  spm_set_threads (threads);
  printf ("threads %d\n", threads);

  SpmRng rng;
  spm_rng_seed (&rng, 1);
  double *times = g_new (double, reps);

  /* BLAS peak: C = A B, N x N x N */
  {
    g_autofree float *A = g_new (float, (size_t) N * N), *Bm = g_new (float, (size_t) N * N);
    g_autofree float *C = g_new (float, (size_t) N * N);
    for (size_t i = 0; i < (size_t) N * N; i++)
      A[i] = Bm[i] = spm_rng_uniform (&rng) - 0.5f;
    for (int r = -1; r < reps; r++)
      {
        double t0 = now ();
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N,
                     1.0f, A, N, Bm, N, 0.0f, C, N);
        if (r >= 0)
          times[r] = now () - t0;
      }
    printf ("sgemm_gflops %.1f\n", 2.0 * N * N * N / median (times, reps) * 1e-9);
  }

  Net net;
  net_init (&net, T, B, &rng);
  size_t TBH = (size_t) T * B * H;
  g_autofree float *x = g_new (float, (size_t) T * B * D), *dx = g_new (float, (size_t) T * B * D);
  g_autofree float *ys = g_new (float, MAX_L * TBH), *dys = g_new (float, MAX_L * TBH);
  g_autofree float *dy = g_new (float, TBH);
  for (size_t i = 0; i < (size_t) T * B * D; i++)
    x[i] = spm_rng_uniform (&rng) * 2 - 1;
  for (size_t i = 0; i < TBH; i++)
    dy[i] = spm_rng_uniform (&rng) * 2 - 1;
  for (int L = 1; L <= MAX_L; L++)
    {
      for (int r = -1; r < reps; r++)
        {
          double s = train_step (&net, L, x, ys, dys, dx, dy);
          if (r >= 0)
            times[r] = s;
        }
      double t = median (times, reps), flops = 3.0 * L * 2.0 * 4 * H * (D + H) * B * T;
      printf ("train_L%d_ms %.2f\ntrain_L%d_gflops %.1f\n", L, t * 1e3, L, flops / t * 1e-9);
    }
  net_clear (&net);

  net_init (&net, 1, 1, &rng);
  g_autofree float *h = g_new0 (float, MAX_L * H), *c = g_new0 (float, MAX_L * H);
  g_autofree float *y = g_new0 (float, MAX_L * H);
  for (int L = 1; L <= MAX_L; L++)
    {
      for (int r = -1; r < reps; r++)
        {
          double s = stream (&net, L, x, h, c, y);
          if (r >= 0)
            times[r] = s;
        }
      printf ("stream_L%d_us %.2f\n", L, median (times, reps) * 1e6);
    }
  net_clear (&net);
  g_free (times);
  return 0;
}
