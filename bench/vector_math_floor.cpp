// The vector-math floor of one exact paper-scale step: the time of the elementary functions that
// the link evaluation makes per step (6,144 (UE, site) links, 1,536 UEs), each in its own SIMD
// loop over L1-resident data, with nothing else around them. bench_sim.py's exact step cannot go
// below this without changing the model (or the precision of the math).
//
// Each row times the core's own branch-free version (cpp/simd_math.hpp, inlined into the loop)
// and glibc's libmvec (one call per 8 lanes), and prints their ratio, measured in the same run.
// The core uses the inline versions for their speed and because their loop bodies and scalar
// tails round alike (a link's values do not depend on the links evaluated with it).
//
//   g++ -O3 -march=native -ffast-math -Icpp bench/vector_math_floor.cpp -o /tmp/vmf -lmvec -lm && /tmp/vmf
//
// The flags are those of cpp/kernels.cpp. Prints microseconds per step, the fastest of many
// repetitions.
#include <math.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "simd_math.hpp"

namespace {

constexpr int kLinks = 6144;
constexpr int kUes = 1536;

using Loop = void (*)(int, const double*, const double*, double*);

__attribute__((noinline)) void libm_exp(int n, const double* a, const double*, double* out) {
  for (int i = 0; i < n; ++i) out[i] = exp(-60.0 * a[i]);
}
__attribute__((noinline)) void core_exp(int n, const double* a, const double*, double* out) {
  for (int i = 0; i < n; ++i) out[i] = pyslice::simd::exp(-60.0 * a[i]);
}
__attribute__((noinline)) void libm_log(int n, const double* a, const double*, double* out) {
  for (int i = 0; i < n; ++i) out[i] = log(a[i]);
}
__attribute__((noinline)) void core_log(int n, const double* a, const double*, double* out) {
  for (int i = 0; i < n; ++i) out[i] = pyslice::simd::log(a[i]);
}
// Box-Muller's pair: two cos calls (GCC's vectoriser reaches no vector sincos) against one
// quarter-turn-reduced sincos.
__attribute__((noinline)) void libm_sincos(int n, const double* a, const double*, double* out) {
  for (int i = 0; i < n; ++i) {
    const double phase = 6.283185307179586 * a[i];
    out[i] = cos(phase) + cos(phase - 1.5707963267948966);
  }
}
__attribute__((noinline)) void core_sincos(int n, const double* a, const double*, double* out) {
  for (int i = 0; i < n; ++i) {
    double s, c;
    pyslice::simd::sincos_turns(a[i], s, c);
    out[i] = c + s;
  }
}
__attribute__((noinline)) void libm_log10(int n, const double* a, const double*, double* out) {
  for (int i = 0; i < n; ++i) out[i] = log10(5000.0 * a[i]);
}
__attribute__((noinline)) void core_log10(int n, const double* a, const double*, double* out) {
  for (int i = 0; i < n; ++i) out[i] = pyslice::simd::log10(5000.0 * a[i]);
}
__attribute__((noinline)) void libm_atan2(int n, const double* a, const double* b, double* out) {
  for (int i = 0; i < n; ++i) out[i] = atan2(a[i] - 0.5, b[i] - 0.5);
}
__attribute__((noinline)) void core_atan2(int n, const double* a, const double* b, double* out) {
  for (int i = 0; i < n; ++i) out[i] = pyslice::simd::atan2(a[i] - 0.5, b[i] - 0.5);
}
__attribute__((noinline)) void hw_sqrt(int n, const double* a, const double*, double* out) {
  for (int i = 0; i < n; ++i) out[i] = sqrt(a[i]);
}
// The LOS screen of cpp/kernels.cpp: Phi(z) by Abramowitz & Stegun 7.1.28 (no library call).
__attribute__((noinline)) void los_screen(int n, const double* a, const double*, double* out) {
  for (int i = 0; i < n; ++i) {
    const double x = fabs(a[i]) * 0.7071067811865476;
    const double poly =
        1.0 + x * (0.0705230784 + x * (0.0422820123 + x * (0.0092705272 +
                                                               x * (0.0001520143 + x * (0.0002765672 + x * 0.0000430638)))));
    const double p2 = poly * poly, p4 = p2 * p2, p8 = p4 * p4;
    out[i] = 0.5 / (p8 * p8);
  }
}

double best_us(Loop f, int n, const double* a, const double* b, double* out) {
  double best = 1e30;
  for (int rep = 0; rep < 200; ++rep) {
    const auto start = std::chrono::steady_clock::now();
    for (int k = 0; k < 10; ++k) f(n, a, b, out);
    const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / 10;
    best = std::min(best, us);
  }
  return best;
}

}  // namespace

int main() {
  std::vector<double> a(kLinks), b(kLinks), out(kLinks);
  for (int i = 0; i < kLinks; ++i) {
    a[i] = 0.05 + 0.9 * (i % 997) / 997.0;  // in (0, 1): valid for every function here
    b[i] = 0.3 + 0.5 * (i % 389) / 389.0;
  }
  struct Row {
    const char* what;
    Loop core, libm;
    int n, calls;
  };
  const Row rows[] = {
      {"exp: p_los + 3 sector gains per link", core_exp, libm_exp, kLinks, 4},
      {"exp: AR(1) coefficient per UE", core_exp, libm_exp, kUes, 1},
      {"log: Box-Muller radius per link", core_log, libm_log, kLinks, 1},
      {"sin+cos: Box-Muller pair per link", core_sincos, libm_sincos, kLinks, 1},
      {"log10: path loss per link", core_log10, libm_log10, kLinks, 1},
      {"atan2: direction per link", core_atan2, libm_atan2, kLinks, 1},
      {"sqrt: Box-Muller radius + distance per link", hw_sqrt, nullptr, kLinks, 2},
      {"sqrt: AR(1) innovation weight per UE", hw_sqrt, nullptr, kUes, 1},
      {"LOS screen (polynomial bound on Phi) per link", los_screen, nullptr, kLinks, 1},
  };
  std::printf("%-46s %9s %9s %7s\n", "per step", "core us", "libmvec", "ratio");
  double total_core = 0.0, total_libm = 0.0;
  for (const Row& r : rows) {
    const double core = r.calls * best_us(r.core, r.n, a.data(), b.data(), out.data());
    const double libm = r.libm ? r.calls * best_us(r.libm, r.n, a.data(), b.data(), out.data()) : core;
    total_core += core;
    total_libm += libm;
    if (r.libm)
      std::printf("%-46s %9.1f %9.1f %7.2f\n", r.what, core, libm, libm / core);
    else
      std::printf("%-46s %9.1f %9s %7s\n", r.what, core, "-", "-");
  }
  std::printf("%-46s %9.1f %9.1f %7.2f   (%d links, %d UEs)\n", "total vector-math floor", total_core, total_libm,
              total_libm / total_core, kLinks, kUes);
  return 0;
}
