// The kernels of kernels.hpp, compiled once per SIMD level: as itself for the baseline (x86-64:
// SSE2), and included by kernels_avx2.cpp and kernels_avx512.cpp with PYSLICE_KERNEL_LEVEL set.
// Each level's definitions live in a namespace of their own and end in a KernelTable that
// kernel_dispatch.cpp chooses from at import (kernel_levels.hpp). The level's instruction set is
// switched on by a target pragma after the includes, so only this file's functions (and its own
// internal helpers) use it: a header's inline function that is compiled out of line here stays at
// the baseline, so another file that ends up calling this copy can never meet an instruction the
// CPU lacks. The pragma names instruction sets, not an -march, so the headers' inline functions
// (simd_math.hpp's, the path loss coefficients') still inline into the kernels.
#include <math.h>

#include <string>

#include "kernel_levels.hpp"
#include "radio_constants.hpp"
#include "rng.hpp"
#include "simd_math.hpp"

#ifndef PYSLICE_KERNEL_LEVEL
#define PYSLICE_KERNEL_LEVEL 0
#endif
#if PYSLICE_KERNEL_LEVEL == 0
#define PYSLICE_KERNEL_NS level_baseline
#elif PYSLICE_KERNEL_LEVEL == 1
#define PYSLICE_KERNEL_NS level_avx2
#define PYSLICE_KERNEL_ISA "avx,avx2,fma,bmi,bmi2,lzcnt,movbe,f16c,popcnt,sse4.2"
#elif PYSLICE_KERNEL_LEVEL == 2
#define PYSLICE_KERNEL_NS level_avx512
#define PYSLICE_KERNEL_ISA \
  "avx,avx2,fma,bmi,bmi2,lzcnt,movbe,f16c,popcnt,sse4.2,avx512f,avx512bw,avx512cd,avx512dq,avx512vl"
#else
#error "PYSLICE_KERNEL_LEVEL must be 0 (baseline), 1 (AVX2+FMA) or 2 (AVX-512)"
#endif

#ifdef PYSLICE_KERNEL_ISA
// (_Pragma through a macro: a #pragma line would not expand PYSLICE_KERNEL_ISA)
#define PYSLICE_STRINGIFY(x) #x
#if defined(__clang__)
#define PYSLICE_TARGET_PUSH(isa) \
  _Pragma(PYSLICE_STRINGIFY(clang attribute push(__attribute__((target(isa))), apply_to = function)))
#else
#define PYSLICE_TARGET_PUSH(isa) _Pragma("GCC push_options") _Pragma(PYSLICE_STRINGIFY(GCC target(isa)))
#endif
PYSLICE_TARGET_PUSH(PYSLICE_KERNEL_ISA)
#endif

namespace pyslice {
namespace PYSLICE_KERNEL_NS {

void ar_coefficients(std::size_t n, const double* __restrict moved, double d_cor, double* __restrict r,
                     double* __restrict q) {
  const double inv = 1.0 / d_cor;
  for (std::size_t i = 0; i < n; ++i) {
    const double ri = simd::exp(-moved[i] * inv);
    r[i] = ri;
    q[i] = sqrt(fmax(0.0, 1.0 - ri * ri));
  }
}

namespace {
// Shared: the LOS process uses the shadowing coefficients (equal decorrelation distances), which
// saves two gathers per link.
template <bool Shared>
void ar1_update_keyed_impl(std::size_t n, const std::uint64_t* __restrict key, std::uint64_t t,
                           const int* __restrict link_ue, const double* __restrict r_shadow,
                           const double* __restrict q_shadow, const double* __restrict r_los,
                           const double* __restrict q_los, const std::uint8_t* __restrict carry,
                           double* __restrict z_shadow, double* __restrict z_los) {
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t k = key[i] ^ t;
    const std::uint64_t a = mix64(k);
    const double u1 = (simd::u32_to_double(a >> 32) + 1.0) * 0x1.0p-32;
    const double u2 = simd::u32_to_double(a & 0xffffffffULL) * 0x1.0p-32;
    const double rad = sqrt(-2.0 * simd::log(u1));
    double sin_2pi_u2, cos_2pi_u2;
    simd::sincos_turns(u2, sin_2pi_u2, cos_2pi_u2);
    const double ws = rad * cos_2pi_u2, wl = rad * sin_2pi_u2;
    const int u = link_ue[i];
    const double rs = r_shadow[u], qs = q_shadow[u];
    const double rl = Shared ? rs : r_los[u], ql = Shared ? qs : q_los[u];
    const double zs = rs * z_shadow[i] + qs * ws;
    const double zl = rl * z_los[i] + ql * wl;
    z_shadow[i] = carry[i] ? zs : ws;
    z_los[i] = carry[i] ? zl : wl;
  }
}
}  // namespace

void ar1_update_keyed(std::size_t n, const std::uint64_t* key, std::uint64_t t, const int* link_ue,
                      const double* r_shadow, const double* q_shadow, const double* r_los, const double* q_los,
                      const std::uint8_t* carry, double* z_shadow, double* z_los) {
  if (r_los == r_shadow && q_los == q_shadow)
    ar1_update_keyed_impl<true>(n, key, t, link_ue, r_shadow, q_shadow, r_los, q_los, carry, z_shadow, z_los);
  else
    ar1_update_keyed_impl<false>(n, key, t, link_ue, r_shadow, q_shadow, r_los, q_los, carry, z_shadow, z_los);
}

void nearest_images(std::size_t n, int n_images, const double* __restrict ox, const double* __restrict oy,
                    double* __restrict dx, double* __restrict dy) {
  // Blocks of links in local arrays, so that the comparisons run as selects on SIMD lanes.
  constexpr std::size_t kBlock = 256;
  double x0[kBlock], y0[kBlock], bx[kBlock], by[kBlock], best[kBlock];
  for (std::size_t c0 = 0; c0 < n; c0 += kBlock) {
    const std::size_t m = n - c0 < kBlock ? n - c0 : kBlock;
    for (std::size_t c = 0; c < m; ++c) {
      x0[c] = bx[c] = dx[c0 + c];
      y0[c] = by[c] = dy[c0 + c];
      best[c] = x0[c] * x0[c] + y0[c] * y0[c];
    }
    for (int j = 0; j < n_images; ++j) {
      const double ix = ox[j], iy = oy[j];
      for (std::size_t c = 0; c < m; ++c) {
        const double tx = x0[c] - ix, ty = y0[c] - iy;
        const double d2 = tx * tx + ty * ty;
        const bool nearer = d2 < best[c];
        best[c] = nearer ? d2 : best[c];
        bx[c] = nearer ? tx : bx[c];
        by[c] = nearer ? ty : by[c];
      }
    }
    for (std::size_t c = 0; c < m; ++c) {
      dx[c0 + c] = bx[c];
      dy[c0 + c] = by[c];
    }
  }
}

void link_gains(std::size_t n, const double* __restrict dx, const double* __restrict dy,
                const double* __restrict z_shadow, const double* __restrict z_los, const LinkGainParams& p,
                double* __restrict distance, double* __restrict angle_deg, std::uint8_t* __restrict los,
                double* __restrict loss_db, double* __restrict gain, double* __restrict best_gain,
                std::uint8_t* __restrict best_sector) {
  const PathlossCoefficients c = *p.pathloss;  // a local copy: the loop's stores cannot alias it (vectorises)
  const double rad_to_deg = 57.29577951308232;
  const double dmin = p.d_min, dmax = p.d_max, bp = c.breakpoint;
  const double shadow_on = p.shadowing ? 1.0 : 0.0;
  // Pass 1 (per link): distance, direction, LOS state, path loss + shadowing. The LOS draw
  // Phi(z) < p_los is screened with Abramowitz & Stegun 7.1.28 for erf (a polynomial, a division and
  // four squarings; absolute error < 3e-7 in erf, so < 1.5e-7 in Phi); draws within kLosGuard of
  // p_los (Phi(z) is uniform: 2 links in 10^6) are flagged and decided with erfc below, so every
  // outcome is that of the exact test.
  constexpr double kLosGuard = 1e-6;
  int unsure = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double d = sqrt(dx[i] * dx[i] + dy[i] * dy[i]);
    const double dc = fmin(fmax(d, dmin), dmax);
    const double p_los = los_probability_at(dc, [](double x) { return simd::exp(x); });
    const double z = z_los[i];
    const double x = fabs(z) * 0.7071067811865476;
    const double poly =
        1.0 + x * (0.0705230784 + x * (0.0422820123 + x * (0.0092705272 +
                                                               x * (0.0001520143 + x * (0.0002765672 + x * 0.0000430638)))));
    const double p2 = poly * poly, p4 = p2 * p2, p8 = p4 * p4;
    const double half_erfc = 0.5 / (p8 * p8);
    const double phi = z < 0.0 ? half_erfc : 1.0 - half_erfc;
    const double gap = phi - p_los;
    const bool flag = fabs(gap) < kLosGuard;
    const double is_los = gap < 0.0 ? 1.0 : 0.0;
    const double lg = simd::log10(dc);
    const bool near = dc < bp;
    const double pl = c.loss_db(lg, near, is_los > 0.5);
    const double sigma = c.sigma_db(near, is_los > 0.5);
    distance[i] = d;
    angle_deg[i] = simd::atan2(dy[i], dx[i]) * rad_to_deg;
    los[i] = flag ? 2 : (is_los > 0.5 ? 1 : 0);
    loss_db[i] = pl + shadow_on * sigma * z_shadow[i];
    unsure |= flag ? 1 : 0;
  }
  if (unsure) {
    for (std::size_t i = 0; i < n; ++i) {
      if (los[i] != 2) continue;
      const double dc = fmin(fmax(distance[i], dmin), dmax);
      const double p_los = los_probability_at(dc, [](double x) { return simd::exp(x); });
      const bool is_los = 0.5 * erfc(-z_los[i] * 0.7071067811865476) < p_los;
      const double lg = simd::log10(dc);
      const bool near = dc < bp;
      const double pl = c.loss_db(lg, near, is_los);
      const double sigma = c.sigma_db(near, is_los);
      los[i] = is_los ? 1 : 0;
      loss_db[i] = pl + shadow_on * sigma * z_shadow[i];
    }
  }
  // Pass 2 (per link and sector): antenna gain and the linear link gain.
  const double ln10_10 = 0.23025850929940458;
  const double inv_bw = 1.0 / p.beamwidth_deg, g_max = p.antenna_gain_dbi, a_max = p.max_attenuation_db;
  const double bs0 = p.boresight_deg[0], bs1 = p.boresight_deg[1], bs2 = p.boresight_deg[2];
  // All three sectors of a link per iteration, so that the stores to gain[3 i + s] are contiguous
  // (the vectoriser interleaves the three results with permutes instead of storing lane by lane).
  for (std::size_t i = 0; i < n; ++i) {
    const double a = angle_deg[i], base = g_max - loss_db[i];
    double phi0 = a - bs0, phi1 = a - bs1, phi2 = a - bs2;
    phi0 = phi0 > 180.0 ? phi0 - 360.0 : (phi0 < -180.0 ? phi0 + 360.0 : phi0);
    phi1 = phi1 > 180.0 ? phi1 - 360.0 : (phi1 < -180.0 ? phi1 + 360.0 : phi1);
    phi2 = phi2 > 180.0 ? phi2 - 360.0 : (phi2 < -180.0 ? phi2 + 360.0 : phi2);
    const double q0 = phi0 * inv_bw, q1 = phi1 * inv_bw, q2 = phi2 * inv_bw;
    const double g0 = simd::exp((base - fmin(12.0 * q0 * q0, a_max)) * ln10_10);
    const double g1 = simd::exp((base - fmin(12.0 * q1 * q1, a_max)) * ln10_10);
    const double g2 = simd::exp((base - fmin(12.0 * q2 * q2, a_max)) * ln10_10);
    gain[3 * i] = g0;
    gain[3 * i + 1] = g1;
    gain[3 * i + 2] = g2;
    const bool one = g1 > g0;
    const double best01 = one ? g1 : g0;
    const bool two = g2 > best01;
    best_gain[i] = two ? g2 : best01;
    best_sector[i] = two ? 2 : (one ? 1 : 0);
  }
}

void sparse_row_sums(std::size_t n, const int* __restrict off, const int* __restrict cell,
                     const double* __restrict pg, const double* __restrict rho, double init,
                     double* __restrict out) {
  // One pass (no intermediate array): at large scale the lists exceed the cache and the loop is
  // bound by memory traffic, 12 bytes per entry.
  for (std::size_t i = 0; i < n; ++i) {
    double sum = init;
    for (int j = off[i]; j < off[i + 1]; ++j) sum += rho[cell[j]] * pg[j];
    out[i] = sum;
  }
}

namespace {
// Eight doubles as one value (GCC/Clang vector extension; lowered to whatever SIMD the target has).
typedef double Lanes8 __attribute__((vector_size(64)));

inline Lanes8 load8(const double* p) {
  Lanes8 v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}

inline void store8(double* p, Lanes8 v) { __builtin_memcpy(p, &v, sizeof v); }

#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 12)
#define PYSLICE_HAVE_SHUFFLEVECTOR 1
typedef double Lanes4 __attribute__((vector_size(32)));

inline Lanes4 load4(const double* p) {
  Lanes4 v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}

// Columns k..k+3 of the 8 rows src[0..7], as 4 vectors of 8 (column j: rows 0-7): 8 loads of 4
// and 12 shuffles instead of 32 scalar loads and lane inserts.
inline void transpose8x4(const double* const* src, int k, Lanes8 col[4]) {
  const Lanes8 p01 = __builtin_shufflevector(load4(src[0] + k), load4(src[1] + k), 0, 1, 2, 3, 4, 5, 6, 7);
  const Lanes8 p23 = __builtin_shufflevector(load4(src[2] + k), load4(src[3] + k), 0, 1, 2, 3, 4, 5, 6, 7);
  const Lanes8 p45 = __builtin_shufflevector(load4(src[4] + k), load4(src[5] + k), 0, 1, 2, 3, 4, 5, 6, 7);
  const Lanes8 p67 = __builtin_shufflevector(load4(src[6] + k), load4(src[7] + k), 0, 1, 2, 3, 4, 5, 6, 7);
  const Lanes8 t0 = __builtin_shufflevector(p01, p23, 0, 4, 8, 12, 1, 5, 9, 13);
  const Lanes8 t1 = __builtin_shufflevector(p01, p23, 2, 6, 10, 14, 3, 7, 11, 15);
  const Lanes8 u0 = __builtin_shufflevector(p45, p67, 0, 4, 8, 12, 1, 5, 9, 13);
  const Lanes8 u1 = __builtin_shufflevector(p45, p67, 2, 6, 10, 14, 3, 7, 11, 15);
  col[0] = __builtin_shufflevector(t0, u0, 0, 1, 2, 3, 8, 9, 10, 11);
  col[1] = __builtin_shufflevector(t0, u0, 4, 5, 6, 7, 12, 13, 14, 15);
  col[2] = __builtin_shufflevector(t1, u1, 0, 1, 2, 3, 8, 9, 10, 11);
  col[3] = __builtin_shufflevector(t1, u1, 4, 5, 6, 7, 12, 13, 14, 15);
}
#endif
}  // namespace

void transpose_scaled(std::size_t n, int m, const double* __restrict x, const int* __restrict row,
                      const double* __restrict scale, double* __restrict out, std::size_t ld,
                      double* __restrict row_sum) {
  // Blocks of 8 rows: each source row is read once (contiguous), each of the m destination rows
  // gets 8 consecutive values; the sums add the stored values in ascending k.
  std::size_t i0 = 0;
  for (; i0 + 8 <= n; i0 += 8) {
    const double* src[8];
    double acc[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    for (int b = 0; b < 8; ++b) src[b] = x + static_cast<std::size_t>(row[i0 + b]) * m;
    int k = 0;
#ifdef PYSLICE_HAVE_SHUFFLEVECTOR
    Lanes8 sum = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    for (; k + 4 <= m; k += 4) {
      Lanes8 col[4];
      transpose8x4(src, k, col);
      for (int j = 0; j < 4; ++j) {
        const Lanes8 v = scale[k + j] * col[j];
        store8(out + static_cast<std::size_t>(k + j) * ld + i0, v);
        sum += v;
      }
    }
    store8(acc, sum);
#endif
    for (; k < m; ++k) {
      double* dst = out + static_cast<std::size_t>(k) * ld + i0;
      const double s = scale[k];
      for (int b = 0; b < 8; ++b) {
        dst[b] = s * src[b][k];
        acc[b] += dst[b];
      }
    }
    for (int b = 0; b < 8; ++b) row_sum[i0 + b] = acc[b];
  }
  for (std::size_t i = i0; i < n; ++i) {
    double acc = 0.0;
    for (int k = 0; k < m; ++k) {
      const double v = scale[k] * x[static_cast<std::size_t>(row[i]) * m + k];
      out[static_cast<std::size_t>(k) * ld + i] = v;
      acc += v;
    }
    row_sum[i] = acc;
  }
}

void row_argmax(std::size_t n, int m, const double* __restrict x, int* __restrict index, double* __restrict value) {
  for (std::size_t r = 0; r < n; ++r) {
    index[r] = -1;
    value[r] = -1.0;
  }
  // Column by column, so that the loop over rows runs on SIMD lanes (strided loads).
  for (int c = 0; c < m; ++c)
    for (std::size_t r = 0; r < n; ++r) {
      const double v = x[r * static_cast<std::size_t>(m) + c];
      const bool better = v > value[r];
      value[r] = better ? v : value[r];
      index[r] = better ? c : index[r];
    }
}


namespace {
// G replicas' row sums over 8 V columns at a time: each 8-column piece of a row is loaded once and
// multiplied into the G replicas' accumulators. Every output is init + a[0] x[0] + a[1] x[1] + ...
// in ascending row order whatever G and V are, so a replica's bits do not depend on its group.
template <int G, int V>
std::size_t row_sums_group(std::size_t i0, std::size_t n, int m, const double* __restrict a,
                           const double* __restrict x, std::size_t ld, double init, double* const* out) {
  // Whole pieces of 8 V columns from i0 on; returns where they end.
  for (; i0 + 8 * V <= n; i0 += 8 * V) {
    Lanes8 s[G][V];
    for (int g = 0; g < G; ++g)
      for (int j = 0; j < V; ++j) s[g][j] = Lanes8{init, init, init, init, init, init, init, init};
    for (int k = 0; k < m; ++k) {
      double ak[G];
      bool any = false;
      for (int g = 0; g < G; ++g) {
        ak[g] = a[static_cast<std::size_t>(g) * m + k];
        any |= ak[g] != 0.0;
      }
      if (!any) continue;  // a row of zero weights adds nothing (its entries are finite)
      const double* row = x + static_cast<std::size_t>(k) * ld + i0;
      Lanes8 v[V];
      for (int j = 0; j < V; ++j) v[j] = load8(row + 8 * j);
      for (int g = 0; g < G; ++g)
        for (int j = 0; j < V; ++j) s[g][j] += ak[g] * v[j];
    }
    for (int g = 0; g < G; ++g)
      for (int j = 0; j < V; ++j) store8(out[g] + i0 + 8 * j, s[g][j]);
  }
  return i0;
}

// The last n - i0 < 8 columns of G replicas (the rows are readable up to n rounded up to 8).
template <int G>
void row_sums_last(std::size_t i0, std::size_t n, int m, const double* __restrict a, const double* __restrict x,
                   std::size_t ld, double init, double* const* out) {
  if (i0 >= n) return;
  double tail[G][8];
  double* parts[G];
  for (int g = 0; g < G; ++g) parts[g] = tail[g];
  row_sums_group<G, 1>(0, 8, m, a, x + i0, ld, init, parts);
  for (int g = 0; g < G; ++g)
    for (std::size_t i = i0; i < n; ++i) out[g][i] = tail[g][i - i0];
}

template <int G, int V>
void row_sums(std::size_t n, int m, const double* a, const double* x, std::size_t ld, double init,
              double* const* out) {
  std::size_t i0 = row_sums_group<G, V>(0, n, m, a, x, ld, init, out);
  i0 = row_sums_group<G, 1>(i0, n, m, a, x, ld, init, out);
  row_sums_last<G>(i0, n, m, a, x, ld, init, out);
}
}  // namespace

void weighted_row_sums(std::size_t n, int m, int R, const double* __restrict a, const double* __restrict x,
                       std::size_t ld, double init, double* const* out) {
  // Groups of 4 replicas (8 accumulators over 16 columns), then 2, then 1 (4 accumulators each).
  for (int r = 0; r < R;) {
    const int G = R - r >= 4 ? 4 : (R - r >= 2 ? 2 : 1);
    const double* ar = a + static_cast<std::size_t>(r) * m;
    if (G == 4)
      row_sums<4, 2>(n, m, ar, x, ld, init, out + r);
    else if (G == 2)
      row_sums<2, 4>(n, m, ar, x, ld, init, out + r);
    else
      row_sums<1, 4>(n, m, ar, x, ld, init, out + r);
    r += G;
  }
}

void to_db(std::size_t n, const double* __restrict x, double* __restrict out) {
  for (std::size_t i = 0; i < n; ++i) out[i] = 10.0 * simd::log10(fmax(x[i], 1e-300));
}

double needed_share(std::size_t n, const double* __restrict weight, const double* __restrict signal,
                    const double* __restrict interference, double* __restrict se) {
  double sum = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double g = signal[i] / interference[i];
    const double v = fmin((kSeEfficiency * 1.4426950408889634) * simd::log(1.0 + g), kSeMax);  // log2 e
    const double e = g >= kOutageSinr ? v : 0.0;
    se[i] = e;
    sum += weight[i] / e;
  }
  return sum;
}

bool elementary_function(const std::string& name, std::size_t n, const double* __restrict a,
                         const double* __restrict b, double* __restrict out) {
  if (name == "exp") {
    for (std::size_t i = 0; i < n; ++i) out[i] = simd::exp(a[i]);
  } else if (name == "log") {
    for (std::size_t i = 0; i < n; ++i) out[i] = simd::log(a[i]);
  } else if (name == "log10") {
    for (std::size_t i = 0; i < n; ++i) out[i] = simd::log10(a[i]);
  } else if (name == "atan2") {
    for (std::size_t i = 0; i < n; ++i) out[i] = simd::atan2(a[i], b[i]);
  } else if (name == "sin_turns" || name == "cos_turns") {
    const bool want_sin = name == "sin_turns";
    for (std::size_t i = 0; i < n; ++i) {
      double s, c;
      simd::sincos_turns(a[i], s, c);
      out[i] = want_sin ? s : c;
    }
  } else {
    return false;
  }
  return true;
}

extern const KernelTable table;
const KernelTable table = {
    kKernelLevelNames[PYSLICE_KERNEL_LEVEL], &ar_coefficients, &ar1_update_keyed, &nearest_images, &link_gains, &sparse_row_sums,
    &transpose_scaled, &row_argmax, &weighted_row_sums, &to_db, &needed_share, &elementary_function,
};

}  // namespace PYSLICE_KERNEL_NS
}  // namespace pyslice

#ifdef PYSLICE_KERNEL_ISA
#if defined(__clang__)
#pragma clang attribute pop
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif
#endif
