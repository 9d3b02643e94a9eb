// Branch-free elementary functions for the SIMD loops of kernels.cpp (and bench/vector_math_floor.cpp).
//
// Written out instead of called from libm/libmvec so that GCC inlines them into the vector loops:
// no call per 8 lanes (around which a loop spills its live registers), and the loop body and its
// scalar tail run the same arithmetic, so a link's values do not depend on which other links are
// evaluated with it (libmvec's vector and libm's scalar functions round differently), nor on the
// glibc version. Accuracy is a few ulp (stated per function), far inside the 1e-9 agreement with
// the NumPy reference. Inputs are finite (kernels.cpp's contract); compiled with -ffast-math.
#pragma once
#include <math.h>

#include <cstdint>

namespace pyslice {
namespace simd {
// Internal linkage: each kernels*.cpp (one per SIMD level) keeps its own copies, never merged across
// files compiled for different instruction sets.
namespace {

// Exact integer <-> double conversions the vectoriser can use below AVX-512, which alone has 64-bit
// integer <-> double instructions (a loop holding a 64-bit conversion stays scalar at AVX2):
// through 32-bit integers, or by placing the integer in the mantissa of 2^52.
// u (< 2^32) as a double, exactly.
inline double u32_to_double(std::uint64_t u) {
  const std::uint64_t bits = 0x4330000000000000ULL | u;  // 2^52 + u
  double d;
  __builtin_memcpy(&d, &bits, sizeof d);
  return d - 4503599627370496.0;
}

// An integral double k with |k| < 2^31 as a 64-bit integer, exactly.
inline std::int64_t small_integral_to_i64(double k) { return static_cast<std::int32_t>(k); }

// c[0] x^(N-1) + c[1] x^(N-2) + ... + c[N-1] by Horner's rule (unrolled: N is a constant).
template <int N>
inline double horner(double x, const double (&c)[N]) {
  double p = c[0];
  for (int i = 1; i < N; ++i) p = p * x + c[i];
  return p;
}

// exp(x) without a library call, so that it inlines into the SIMD loops (libmvec's exp is a call
// per 8 lanes, around which the loop spills its live registers): x = k ln 2 + r with
// |r| <= ln(2)/2 (Cody-Waite split of ln 2), the Taylor polynomial of degree 12 for e^r (remainder
// < 2.5e-16 relative) and 2^k put into the exponent bits. Within 4e-16 of libm's exp with FMA
// (1e-13 without: -ffast-math then merges the two reduction steps); 0 below -708 (where exp is
// subnormal or zero).
inline double exp(double x) {
  const double xc = fmin(fmax(x, -708.0), 709.0);
  const double k = __builtin_nearbyint(xc * 1.4426950408889634);
#ifdef __FMA__
  // Explicit fmas: -ffast-math would otherwise merge the two steps into x - k ln2 (2e-14 off at |x| ~ 700).
  const double r = __builtin_fma(-k, 1.9082149292705877e-10, __builtin_fma(-k, 0.6931471803691238, xc));
#else
  const double r = (xc - k * 0.6931471803691238) - k * 1.9082149292705877e-10;
#endif
  static constexpr double kTaylor[] = {1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0, 1.0 / 362880.0,
                                       1.0 / 40320.0,     1.0 / 5040.0,     1.0 / 720.0,     1.0 / 120.0,
                                       1.0 / 24.0,        1.0 / 6.0,        0.5,             1.0,
                                       1.0};
  const double p = horner(r, kTaylor);
  const std::uint64_t bits = static_cast<std::uint64_t>(small_integral_to_i64(k) + 1023) << 52;
  double scale;
  __builtin_memcpy(&scale, &bits, sizeof scale);
  return x < -708.0 ? 0.0 : p * scale;
}

// log(x) for normal x > 0 without a library call (libmvec's vector log is about twice as slow
// as this here): x = 2^e m with m in [sqrt(1/2), sqrt(2)), and
// log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.172, by its series to s^19 (remainder
// < 3e-17 relative). Within ~5e-16 relative (and 2e-13 absolute) of the correctly rounded value.
inline double log(double x) {
  std::uint64_t bits;
  __builtin_memcpy(&bits, &x, sizeof bits);
  const std::uint64_t mbits = (bits & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
  double m;
  __builtin_memcpy(&m, &mbits, sizeof m);
  const bool big = m > 1.4142135623730951;
  m = big ? 0.5 * m : m;
  const double e = (u32_to_double(bits >> 52) - 1023.0) + (big ? 1.0 : 0.0);  // exact integers
  const double s = (m - 1.0) / (m + 1.0);
  const double s2 = s * s;
  static constexpr double kAtanh[] = {1.0 / 19.0, 1.0 / 17.0, 1.0 / 15.0, 1.0 / 13.0, 1.0 / 11.0,
                                      1.0 / 9.0,  1.0 / 7.0,  1.0 / 5.0,  1.0 / 3.0};
  const double p = horner(s2, kAtanh);
  const double log_m = 2.0 * s + 2.0 * s * s2 * p;
  return e * 0.6931471803691238 + (log_m + e * 1.9082149292705877e-10);
}

inline double log10(double x) { return log(x) * 0.4342944819032518; }

// atan2(y, x) in radians without a library call: t = min(|x|, |y|) / max(|x|, |y|) in [0, 1]
// (0 at the origin), above tan(pi/12) reduced by atan t = pi/6 + atan((sqrt3 t - 1) / (t + sqrt3))
// to |u| <= tan(pi/12), the series of atan u to u^27 (remainder < 2e-17 relative), then the
// octant and quadrant from the magnitudes and sign bits. Within ~1e-15 relative of libm's atan2.
inline double atan2(double y, double x) {
  const double ax = fabs(x), ay = fabs(y);
  const double t = fmin(ax, ay) / fmax(fmax(ax, ay), 1e-300);
  const bool upper = t > 0.2679491924311227;
  const double u = upper ? (1.7320508075688772 * t - 1.0) / (t + 1.7320508075688772) : t;
  const double u2 = u * u;
  static constexpr double kAtan[] = {-1.0 / 27.0, 1.0 / 25.0, -1.0 / 23.0, 1.0 / 21.0, -1.0 / 19.0,
                                     1.0 / 17.0,  -1.0 / 15.0, 1.0 / 13.0, -1.0 / 11.0, 1.0 / 9.0,
                                     -1.0 / 7.0,  1.0 / 5.0,  -1.0 / 3.0};
  const double p = horner(u2, kAtan);
  const double atan_u = u + u * u2 * p;
  double a = upper ? 0.5235987755982988 + atan_u : atan_u;
  a = ay > ax ? 1.5707963267948966 - a : a;
  // Sign bits read as integers: -ffast-math may treat signbit(-0.0) as 0.0 < 0, and atan2 of
  // signed zeros (a UE exactly at its site) must still follow libm's quadrants.
  std::uint64_t x_bits, y_bits;
  __builtin_memcpy(&x_bits, &x, sizeof x_bits);
  __builtin_memcpy(&y_bits, &y, sizeof y_bits);
  a = (x_bits >> 63) ? 3.141592653589793 - a : a;
  return (y_bits >> 63) ? -a : a;
}

// sin(2 pi u) and cos(2 pi u) for u in [0, 1), branch-free so that loops over it run on SIMD
// lanes (GCC's vectoriser reaches libmvec's cos but no vector sincos). u is split into a quarter
// turn q / 4 (q = nearest integer to 4 u) and a remainder r = u - q / 4 in [-1/8, 1/8] (exact:
// u has 32 significant bits); x = 2 pi r lies in [-pi/4, pi/4], where Taylor polynomials to x^15
// and x^16 are within 7e-17 of sin and cos, and the quadrant swaps and negates them.
inline void sincos_turns(double u, double& sin_out, double& cos_out) {
  const double q = __builtin_nearbyint(4.0 * u);
  const double x = 6.283185307179586 * (u - 0.25 * q);
  const double x2 = x * x;
  static constexpr double kSin[] = {-1.0 / 1307674368000.0, 1.0 / 6227020800.0, -1.0 / 39916800.0, 1.0 / 362880.0,
                                     -1.0 / 5040.0,          1.0 / 120.0,        -1.0 / 6.0};
  static constexpr double kCos[] = {1.0 / 20922789888000.0, -1.0 / 87178291200.0, 1.0 / 479001600.0,
                                    -1.0 / 3628800.0,       1.0 / 40320.0,        -1.0 / 720.0,
                                    1.0 / 24.0,             -0.5,                 1.0};
  const double sp = x + x * x2 * horner(x2, kSin);
  const double cp = horner(x2, kCos);
  // angle = x + q pi/2: q = 1 -> (cos x, -sin x), 2 -> (-sin x, -cos x), 3 -> (-cos x, sin x); 4 is 0.
  // The quadrant's swap is one select; its signs are XORed into the sign bits (integer lanes, no
  // masks to juggle).
  const std::uint64_t quadrant = static_cast<std::uint64_t>(small_integral_to_i64(q)) & 3;
  const bool odd = (quadrant & 1) != 0;
  const double s = odd ? cp : sp, c = odd ? sp : cp;
  std::uint64_t s_bits, c_bits;
  __builtin_memcpy(&s_bits, &s, sizeof s);
  __builtin_memcpy(&c_bits, &c, sizeof c);
  s_bits ^= (quadrant & 2) << 62;
  c_bits ^= ((quadrant + 1) & 2) << 62;
  __builtin_memcpy(&sin_out, &s_bits, sizeof s_bits);
  __builtin_memcpy(&cos_out, &c_bits, sizeof c_bits);
}

}  // namespace
}  // namespace simd
}  // namespace pyslice
