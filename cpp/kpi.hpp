// Per-slice KPIs from the load-coupling solution: finite-horizon M/G/1 processor sharing with either
// a finite per-slice buffer that drops overload, or a fluid backlog that carries it from step to step
// (docs/model.md section 4).
#pragma once
#include <cstdint>
#include <vector>

namespace pyslice {

struct SliceTraffic {
  std::vector<double> demand_bps;  // [N] per active UE
  std::vector<double> flow_bits;   // [N]
};

struct KpiInput {
  int n_cells = 0, n_slices = 0, n_ues = 0;
  const int* serving = nullptr;
  const int* slice_of = nullptr;
  const std::uint8_t* active = nullptr;
  const std::uint8_t* outage = nullptr;
  const double* se = nullptr;      // [U] at the final evaluation
  const double* shares = nullptr;  // [K*N]
  const double* x = nullptr;       // [K*N]
  const SliceTraffic* traffic = nullptr;
  double step_seconds = 1.0;
  double max_delay_s = 10.0;
  double buffer_s = 0.0;  // > 0: finite buffer of buffer_s of service, no backlog; 0: fluid backlog
  double n_prb = 100.0;
  double prb_bandwidth_hz = 180e3;
};

struct KpiOutput {
  std::vector<double> throughput, delay, load, demand, served;  // [K*N]
  std::vector<std::int32_t> users, outage;                      // [K*N]
  std::vector<double> scratch_delay, scratch_throughput;        // [U] per-UE work space
  std::vector<int> scratch_group;
};

// backlog [K*N] is read (before the step) and updated in place.
void compute_slice_kpis(const KpiInput& in, std::vector<double>& backlog, KpiOutput& out);

}  // namespace pyslice
