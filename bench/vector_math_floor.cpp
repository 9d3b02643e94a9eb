// The vector-math floor of one exact paper-scale step: the time of the transcendental calls that
// the link evaluation makes per step (6,144 (UE, site) links, 1,536 UEs), each in its own SIMD
// loop over L1-resident data, with nothing else around them. bench_sim.py's exact step cannot go
// below this without changing the model (or the precision of the math).
//
//   g++ -O3 -march=native -ffast-math bench/vector_math_floor.cpp -o /tmp/vmf -lmvec -lm && /tmp/vmf
//
// The flags are those of cpp/kernels.cpp (glibc's libmvec provides the SIMD exp, log, cos, log10
// and atan2). Prints microseconds per step, the fastest of many repetitions.
#include <math.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

namespace {

constexpr int kLinks = 6144;
constexpr int kUes = 1536;

using Loop = void (*)(int, const double*, const double*, double*);

__attribute__((noinline)) void loop_exp(int n, const double* a, const double*, double* out) {
  for (int i = 0; i < n; ++i) out[i] = exp(a[i]);
}
__attribute__((noinline)) void loop_log(int n, const double* a, const double*, double* out) {
  for (int i = 0; i < n; ++i) out[i] = log(a[i]);
}
__attribute__((noinline)) void loop_cos(int n, const double* a, const double*, double* out) {
  for (int i = 0; i < n; ++i) out[i] = cos(a[i]);
}
__attribute__((noinline)) void loop_sqrt(int n, const double* a, const double*, double* out) {
  for (int i = 0; i < n; ++i) out[i] = sqrt(a[i]);
}
// The LOS screen of cpp/kernels.cpp: Phi(z) by Abramowitz & Stegun 7.1.28 (no library call).
__attribute__((noinline)) void loop_los_screen(int n, const double* a, const double*, double* out) {
  for (int i = 0; i < n; ++i) {
    const double x = fabs(a[i]) * 0.7071067811865476;
    const double poly =
        1.0 + x * (0.0705230784 + x * (0.0422820123 + x * (0.0092705272 +
                                                               x * (0.0001520143 + x * (0.0002765672 + x * 0.0000430638)))));
    const double p2 = poly * poly, p4 = p2 * p2, p8 = p4 * p4;
    out[i] = 0.5 / (p8 * p8);
  }
}
__attribute__((noinline)) void loop_log10(int n, const double* a, const double*, double* out) {
  for (int i = 0; i < n; ++i) out[i] = log10(a[i]);
}
__attribute__((noinline)) void loop_atan2(int n, const double* a, const double* b, double* out) {
  for (int i = 0; i < n; ++i) out[i] = atan2(a[i], b[i]);
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
    Loop f;
    int n, calls;
  };
  const Row rows[] = {
      {"exp: p_los + 3 sector gains per link", loop_exp, kLinks, 4},
      {"exp: AR(1) coefficient per UE", loop_exp, kUes, 1},
      {"log: Box-Muller radius per link", loop_log, kLinks, 1},
      {"cos: Box-Muller pair per link", loop_cos, kLinks, 2},
      {"sqrt: Box-Muller radius + distance per link", loop_sqrt, kLinks, 2},
      {"sqrt: AR(1) innovation weight per UE", loop_sqrt, kUes, 1},
      {"LOS screen (polynomial bound on Phi) per link", loop_los_screen, kLinks, 1},
      {"log10: path loss per link", loop_log10, kLinks, 1},
      {"atan2: direction per link", loop_atan2, kLinks, 1},
  };
  double total = 0.0;
  for (const Row& r : rows) {
    const double us = r.calls * best_us(r.f, r.n, a.data(), b.data(), out.data());
    total += us;
    std::printf("%-50s %7.1f us\n", r.what, us);
  }
  std::printf("%-50s %7.1f us per step (%d links, %d UEs)\n", "total vector-math floor", total, kLinks, kUes);
  return 0;
}
