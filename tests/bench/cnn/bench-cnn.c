/* bench-cnn.c — speed of the CNN extractor's eval-mode forward on batches of frames.
 *
 *   resnet18 112, resnet18 224   torchvision's ResNet-18 without fc
 *   small 64                     channels 32;64;128;128
 *   sgemm                        a large square sgemm in the same process: the BLAS peak
 *
 * Batch --batch frames (default 16).  Prints `key value` lines (best of --reps runs
 * after one warm-up: the machine is shared, the fastest run is the least disturbed)
 * for tests/bench/cnn/run.sh: <fig>_fps (frames/s) and <fig>_gflops (convolution
 * FLOPs, 2 per multiply-add, per second).  Threads: --threads N (BLAS threads). */
#include "spm-cnn.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static gboolean
bench_net (const char *key, SpmCnnArch arch, int size, int batch, int reps, SpmRng *rng,
           GError **error)
{
  static const int channels[] = { 32, 64, 128, 128 };
  g_autoptr (SpmCnn) cnn = spm_cnn_new (arch, channels, G_N_ELEMENTS (channels), batch, size,
                                        size, error);
  if (cnn == NULL)
    return FALSE;
  spm_cnn_init (cnn, rng);
  size_t n = (size_t) batch * size * size * 3;
  g_autofree uint8_t *rgb = g_new (uint8_t, n);
  for (size_t i = 0; i < n; i++)
    rgb[i] = (uint8_t) (spm_rng_next (rng) >> 56);
  g_autofree float *x = g_new (float, n), *out = g_new (float, (size_t) batch * spm_cnn_dim (cnn));
  double best = G_MAXDOUBLE;
  for (int r = -1; r < reps; r++)
    {
      double t0 = now ();
      spm_cnn_input_rgb24 (batch, size, size, rgb, x);
      if (!spm_cnn_forward (cnn, batch, size, size, x, FALSE, out, error))
        return FALSE;
      if (r >= 0)
        best = MIN (best, now () - t0);
    }
  printf ("%s_fps %.2f\n", key, batch / best);
  printf ("%s_gflops %.2f\n", key, spm_cnn_forward_flops (cnn, size, size) * batch / best * 1e-9);
  fflush (stdout);
  return TRUE;
}

int
main (int argc, char **argv)
{
  const char *env = g_getenv ("OPENBLAS_NUM_THREADS");
  int threads = env != NULL ? atoi (env) : 1, reps = 5, N = 2048, batch = 16;
  GOptionEntry entries[] = {
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "BLAS threads", "N" },
    { "reps", 'r', 0, G_OPTION_ARG_INT, &reps, "timed runs per figure (best)", "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "frames per forward", "N" },
    { "sgemm-size", 's', 0, G_OPTION_ARG_INT, &N, "size of the square sgemm", "N" },
    { NULL, 0, 0, 0, NULL, NULL, NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- CNN extractor benchmark");
  g_autoptr (GError) error = NULL;
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("seqpipe: bench-cnn: %s\n", error->message);
      return 1;
    }
  if (threads < 1 || reps < 1 || N < 64 || batch < 1)
    {
      g_printerr ("seqpipe: bench-cnn: --threads, --reps, --batch and --sgemm-size must be "
                  "positive\n");
      return 1;
    }
  spm_set_threads (threads);
  printf ("threads %d\n", threads);
  SpmRng rng;
  spm_rng_seed (&rng, 1);

  /* BLAS peak: C = A B, N x N x N */
  {
    g_autofree float *A = g_new (float, (size_t) N * N), *B = g_new (float, (size_t) N * N);
    g_autofree float *C = g_new (float, (size_t) N * N);
    for (size_t i = 0; i < (size_t) N * N; i++)
      A[i] = B[i] = spm_rng_uniform (&rng) - 0.5f;
    double best = G_MAXDOUBLE;
    for (int r = -1; r < reps; r++)
      {
        double t0 = now ();
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1.0f, A, N, B, N, 0.0f,
                     C, N);
        if (r >= 0)
          best = MIN (best, now () - t0);
      }
    printf ("sgemm_gflops %.1f\n", 2.0 * N * N * N / best * 1e-9);
    fflush (stdout);
  }
  if (!bench_net ("resnet18_112", SPM_CNN_RESNET18, 112, batch, reps, &rng, &error) ||
      !bench_net ("resnet18_224", SPM_CNN_RESNET18, 224, batch, reps, &rng, &error) ||
      !bench_net ("small_64", SPM_CNN_SMALL, 64, batch, reps, &rng, &error))
    {
      g_printerr ("seqpipe: bench-cnn: %s\n", error->message);
      return 1;
    }
  return 0;
}
