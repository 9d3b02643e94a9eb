// kernels.cpp at SIMD level 2 (avx512); compiled only where CMake enables the levels (x86-64 with GCC
// or Clang), else empty.
#if defined(PYSLICE_SIMD_LEVELS)
#define PYSLICE_KERNEL_LEVEL 2
#include "kernels.cpp"
#endif
