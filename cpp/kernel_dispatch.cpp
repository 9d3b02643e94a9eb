// The public kernels of kernels.hpp: each calls the level chosen once (kernel_levels.hpp).
#include <cstdlib>
#include <string>

#include "kernel_levels.hpp"

namespace pyslice {

namespace level_baseline {
extern const KernelTable table;
}
#if defined(PYSLICE_SIMD_LEVELS)
namespace level_avx2 {
extern const KernelTable table;
}
namespace level_avx512 {
extern const KernelTable table;
}
#endif

namespace {

const KernelTable* const kTables[] = {
    &level_baseline::table,
#if defined(PYSLICE_SIMD_LEVELS)
    &level_avx2::table,
    &level_avx512::table,
#endif
};
constexpr int kCompiled = static_cast<int>(sizeof(kTables) / sizeof(kTables[0]));

// The highest level this CPU runs (0 where it cannot be asked).
int cpu_level() {
#if defined(PYSLICE_SIMD_LEVELS) && (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                    __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") &&
                    __builtin_cpu_supports("popcnt") && __builtin_cpu_supports("sse4.2");
  const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
                      __builtin_cpu_supports("avx512vl");
  return avx512 ? 2 : (avx2 ? 1 : 0);
#else
  return 0;
#endif
}

KernelChoice choose(int& index) {
  KernelChoice c;
  for (int i = 0; i < kCompiled; ++i) c.compiled.push_back(kKernelLevelNames[i]);
  const int cpu = cpu_level();
  for (int i = 0; i <= cpu; ++i) c.cpu.push_back(kKernelLevelNames[i]);
  const int best = cpu < kCompiled - 1 ? cpu : kCompiled - 1;
  index = best;
  c.reason = "the highest level this CPU supports and this build has";
  const char* asked = std::getenv("PYSLICE_SIMD");
  if (asked != nullptr && *asked != '\0') {
    const std::string want(asked);
    int wanted = -1;
    for (int i = 0; i < 3; ++i)
      if (want == kKernelLevelNames[i]) wanted = i;
    if (wanted < 0) {
      c.reason += "; PYSLICE_SIMD='" + want + "' ignored (not baseline, avx2 or avx512)";
    } else if (wanted > best) {
      c.reason += "; PYSLICE_SIMD=" + want + " asked for a level this " +
                  (wanted > cpu ? std::string("CPU does not support") : std::string("build does not have"));
    } else {
      index = wanted;
      c.reason = "PYSLICE_SIMD=" + want;
    }
  }
  c.level = kKernelLevelNames[index];
  return c;
}

struct Chosen {
  int index = 0;
  KernelChoice choice;
  Chosen() { choice = choose(index); }
};

const Chosen& chosen() {
  static const Chosen c;  // thread-safe, once
  return c;
}

}  // namespace

const KernelTable& kernels() { return *kTables[chosen().index]; }
const KernelChoice& kernel_choice() { return chosen().choice; }

void ar_coefficients(std::size_t n, const double* moved, double d_cor, double* r, double* q) {
  kernels().ar_coefficients(n, moved, d_cor, r, q);
}

void ar1_update_keyed(std::size_t n, const std::uint64_t* key, std::uint64_t t, const int* link_ue,
                      const double* r_shadow, const double* q_shadow, const double* r_los, const double* q_los,
                      const std::uint8_t* carry, double* z_shadow, double* z_los) {
  kernels().ar1_update_keyed(n, key, t, link_ue, r_shadow, q_shadow, r_los, q_los, carry, z_shadow, z_los);
}

void link_gains(std::size_t n, const double* dx, const double* dy, const double* z_shadow, const double* z_los,
                const LinkGainParams& p, double* distance, double* angle_deg, std::uint8_t* los, double* loss_db,
                double* gain, double* best_gain, std::uint8_t* best_sector) {
  kernels().link_gains(n, dx, dy, z_shadow, z_los, p, distance, angle_deg, los, loss_db, gain, best_gain, best_sector);
}

void sparse_row_sums(std::size_t n, const int* off, const int* cell, const double* pg, const double* rho, double init,
                     double* out) {
  kernels().sparse_row_sums(n, off, cell, pg, rho, init, out);
}

void transpose_scaled(std::size_t n, int m, const double* x, const int* row, const double* scale, double* out,
                      std::size_t ld, double* row_sum) {
  kernels().transpose_scaled(n, m, x, row, scale, out, ld, row_sum);
}

void nearest_images(std::size_t n, int n_images, const double* ox, const double* oy, double* dx, double* dy) {
  kernels().nearest_images(n, n_images, ox, oy, dx, dy);
}

void row_argmax(std::size_t n, int m, const double* x, int* index, double* value) {
  kernels().row_argmax(n, m, x, index, value);
}

void weighted_row_sums(std::size_t n, int m, int R, const double* a, const double* x, std::size_t ld, double init,
                       double* const* out) {
  kernels().weighted_row_sums(n, m, R, a, x, ld, init, out);
}

void to_db(std::size_t n, const double* x, double* out) { kernels().to_db(n, x, out); }

double needed_share(std::size_t n, const double* weight, const double* signal, const double* interference,
                    double* se) {
  return kernels().needed_share(n, weight, signal, interference, se);
}

bool elementary_function(const std::string& name, std::size_t n, const double* a, const double* b, double* out) {
  return kernels().elementary_function(name, n, a, b, out);
}

}  // namespace pyslice
