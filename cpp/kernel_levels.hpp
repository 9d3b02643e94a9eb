// The SIMD levels the kernels of kernels.hpp are compiled for, and the choice among them.
//
// kernels.cpp is compiled once per level (baseline x86-64, AVX2+FMA, AVX-512) into a namespace of its
// own, each ending in a KernelTable; the public functions of kernels.hpp call through the table
// chosen once, at first use: the highest level this CPU supports and this build has, or a lower one
// asked for with the environment variable PYSLICE_SIMD (baseline, avx2 or avx512). Builds for other
// processors or compilers have the baseline table only.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels.hpp"

namespace pyslice {

inline constexpr const char* kKernelLevelNames[] = {"baseline", "avx2", "avx512"};

struct KernelTable {
  const char* level;
  void (*ar_coefficients)(std::size_t, const double*, double, double*, double*);
  void (*ar1_update_keyed)(std::size_t, const std::uint64_t*, std::uint64_t, const int*, const double*,
                           const double*, const double*, const double*, const std::uint8_t*, double*, double*);
  void (*nearest_images)(std::size_t, int, const double*, const double*, double*, double*);
  void (*link_gains)(std::size_t, const double*, const double*, const double*, const double*, const LinkGainParams&,
                     double*, double*, std::uint8_t*, double*, double*, double*, std::uint8_t*);
  void (*sparse_row_sums)(std::size_t, const int*, const int*, const double*, const double*, double, double*);
  void (*transpose_scaled)(std::size_t, int, const double*, const int*, const double*, double*, std::size_t,
                           double*);
  void (*row_argmax)(std::size_t, int, const double*, int*, double*);
  void (*weighted_row_sums)(std::size_t, int, int, const double*, const double*, std::size_t, double, double* const*);
  void (*to_db)(std::size_t, const double*, double*);
  double (*needed_share)(std::size_t, const double*, const double*, const double*, double*);
  bool (*elementary_function)(const std::string&, std::size_t, const double*, const double*, double*);
};

struct KernelChoice {
  std::string level;                 // the level whose kernels run
  std::string reason;                // why that one
  std::vector<std::string> compiled; // the levels this build has
  std::vector<std::string> cpu;      // the levels this CPU supports
};

// The kernels in use (chosen on the first call) and how they were chosen.
const KernelTable& kernels();
const KernelChoice& kernel_choice();

}  // namespace pyslice
