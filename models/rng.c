/* rng.c — xoshiro256** seeded through splitmix64; uniform and normal variates.
 *
 * Every function is a pure function of the state, so a fixed seed gives the same
 * sequence on every machine (training is bit-reproducible with one thread). */
#include "spm-layers.h"

#include <math.h>

/* splitmix64: z = (state += 0x9e37...); three xor-shift-multiply rounds of z */
static uint64_t
splitmix64 (uint64_t *state)
{
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static inline uint64_t
rotl (uint64_t x, int k)
{
  return (x << k) | (x >> (64 - k));
}

/* s[0..3] = four successive splitmix64 outputs of `seed`, never all zero */
void
spm_rng_seed (SpmRng *rng, uint64_t seed)
{
  uint64_t sm = seed;
  for (int i = 0; i < 4; i++)
    rng->s[i] = splitmix64 (&sm);
  if ((rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]) == 0)
    rng->s[0] = 1;
}

/* xoshiro256**: out = rotl(s1 * 5, 7) * 9, then the linear state update */
uint64_t
spm_rng_next (SpmRng *rng)
{
  uint64_t *s = rng->s;
  uint64_t out = rotl (s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl (s[3], 45);
  return out;
}

/* the top 24 bits as k / 2^24: uniform on [0, 1), exactly representable in float */
float
spm_rng_uniform (SpmRng *rng)
{
  return (float) (spm_rng_next (rng) >> 40) * (1.0f / 16777216.0f);
}

/* Box-Muller, one variate per call from two fresh 53-bit uniforms:
 *   u1 in (0, 1], u2 in [0, 1):  z = sqrt(-2 ln u1) cos(2π u2)
 * (no cached second variate, so the state alone determines the sequence) */
double
spm_rng_normal (SpmRng *rng)
{
  double u1 = ((spm_rng_next (rng) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
  double u2 = (spm_rng_next (rng) >> 11) * (1.0 / 9007199254740992.0);
  return sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2);
}
