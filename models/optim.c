/* optim.c — SGD with momentum, Adam, and global-norm gradient clipping, each one
 * loop over the flat parameter / gradient / moment blocks.
 *
 * The updates follow torch.optim (1.13, single-tensor path) operation by operation,
 * in float32, so that a run matches PyTorch to rounding:
 *
 *   SGD:  d = g + wd * p;  buf = d (first step) or m * buf + d;  p -= lr * buf
 *         (momentum 0: p -= lr * d)
 *   Adam: d = g + wd * p;  m = β1 m + (1-β1) d;  v = β2 v + (1-β2) d²;
 *         p -= (lr / (1-β1^t)) * m / (sqrt(v) / sqrt(1-β2^t) + eps)
 *         (bias corrections in double, as Python computes them)
 */
#include "spm-model.h"

#include <math.h>

struct SpmOptim {
  SpmOptimizer kind;
  size_t n;
  double lr;   /* a double, as torch.optim's group['lr'] */
  float momentum, weight_decay, beta1, beta2, eps;
  int64_t steps;
  float *m;   /* SGD momentum buffer or Adam exp_avg [n] */
  float *v;   /* Adam exp_avg_sq [n] */
};

SpmOptim *
spm_optim_new (const SpmTrainConfig *cfg, size_t n)
{
  SpmOptim *o = g_new0 (SpmOptim, 1);
  o->kind = cfg->optimizer;
  o->n = n;
  o->lr = cfg->lr;
  o->momentum = cfg->momentum;
  o->weight_decay = cfg->weight_decay;
  o->beta1 = cfg->beta1 > 0 ? cfg->beta1 : 0.9f;
  o->beta2 = cfg->beta2 > 0 ? cfg->beta2 : 0.999f;
  o->eps = cfg->eps > 0 ? cfg->eps : 1e-8f;
  o->m = g_new0 (float, MAX (n, 1));
  if (o->kind == SPM_OPT_ADAM)
    o->v = g_new0 (float, MAX (n, 1));
  return o;
}

void
spm_optim_free (SpmOptim *o)
{
  if (o == NULL)
    return;
  g_free (o->m);
  g_free (o->v);
  g_free (o);
}

/* p [n], g [n], buf [n]:  d = g + wd p;  buf = d | m buf + d;  p -= lr buf */
static void
sgd_step (SpmOptim *o, float *p, const float *g)
{
  const float lr = (float) o->lr, mom = o->momentum, wd = o->weight_decay;
  const gboolean first = o->steps == 0;
  for (size_t i = 0; i < o->n; i++)
    {
      float d = wd != 0 ? g[i] + wd * p[i] : g[i];
      if (mom != 0)
        {
          o->m[i] = first ? d : o->m[i] * mom + d;
          d = o->m[i];
        }
      p[i] = p[i] + d * -lr;
    }
}

/* p, g, m, v [n]; t = step after increment (1-based) */
static void
adam_step (SpmOptim *o, float *p, const float *g)
{
  const float b1 = o->beta1, b2 = o->beta2, wd = o->weight_decay, eps = o->eps;
  const double t = (double) o->steps + 1;
  const double bc1 = 1.0 - pow (b1, t);
  const double bc2 = 1.0 - pow (b2, t);
  const float step_size = (float) (o->lr / bc1);
  const float bc2_sqrt = (float) sqrt (bc2);
  for (size_t i = 0; i < o->n; i++)
    {
      float d = wd != 0 ? g[i] + wd * p[i] : g[i];
      o->m[i] = o->m[i] * b1 + d * (1 - b1);
      o->v[i] = o->v[i] * b2 + d * d * (1 - b2);
      float denom = sqrtf (o->v[i]) / bc2_sqrt + eps;
      p[i] = p[i] + -step_size * (o->m[i] / denom);
    }
}

void
spm_optim_step (SpmOptim *o, float *p, const float *g)
{
  if (o->kind == SPM_OPT_ADAM)
    adam_step (o, p, g);
  else
    sgd_step (o, p, g);
  o->steps++;
}

int64_t
spm_optim_steps (const SpmOptim *o)
{
  return o->steps;
}

void
spm_optim_set_lr (SpmOptim *o, double lr)
{
  o->lr = lr;
}

double
spm_optim_lr (const SpmOptim *o)
{
  return o->lr;
}

void
spm_optim_set_steps (SpmOptim *o, int64_t steps)
{
  o->steps = steps;
}

float *
spm_optim_moment (SpmOptim *o, int which)
{
  return which == 0 ? o->m : o->v;
}

/* sqrt(Σ g_i²), summed in double */
float
spm_grad_norm (const float *g, size_t n)
{
  double s = 0;
  for (size_t i = 0; i < n; i++)
    s += (double) g[i] * g[i];
  return (float) sqrt (s);
}

/* total = ||g||;  coef = max_norm / (total + 1e-6);  g *= coef when coef < 1 */
float
spm_clip_grad_norm (float *g, size_t n, float max_norm)
{
  float total = spm_grad_norm (g, n);
  if (max_norm > 0 && isfinite (total))
    {
      float coef = max_norm / (total + 1e-6f);
      if (coef < 1.0f)
        for (size_t i = 0; i < n; i++)
          g[i] *= coef;
    }
  return total;
}

/* ---- learning-rate schedules ---------------------------------------------------- */

/* lr_e of epoch e, replaying torch.optim.lr_scheduler's chained updates step by step in
 * double (the order of operations is Python's, with eta_min = 0 dropped):
 *   cosine, e >= 1:  lr_e = (1 + cos(π e / T)) / (1 + cos(π (e-1) / T)) * lr_{e-1},
 *                    or lr_{e-1} + lr_0 (1 - cos(π / T)) / 2 when (e - 1 - T) % 2T = 0;
 *   step, e >= 0:    lr_e = lr_{e-1} * 0.1^k,  k = #{milestones m : m = e},
 *                    milestones T // 2 and (3 T) // 4, lr_{-1} = lr_0. */
double
spm_lr_at (SpmLrSchedule schedule, double lr, int epoch, int epochs)
{
  if (schedule == SPM_LR_CONSTANT || epochs < 1)
    return lr;
  const double T = epochs;
  const int m1 = epochs / 2, m2 = (3 * epochs) / 4;
  double cur = lr;
  for (int e = 0; e <= epoch; e++)
    if (schedule == SPM_LR_STEP)
      {
        const int k = (e == m1) + (e == m2);
        if (k > 0)
          cur = cur * pow (0.1, k);
      }
    else if (e > 0)
      {
        if ((e - 1 - epochs) % (2 * epochs) == 0)
          cur = cur + lr * (1 - cos (G_PI / T)) / 2;
        else
          cur = (1 + cos (G_PI * e / T)) / (1 + cos (G_PI * (e - 1) / T)) * cur;
      }
  return cur;
}
