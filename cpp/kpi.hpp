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

// What overload does (docs/model.md section 4): a finite per-slice buffer that drops what it cannot
// hold (no state across steps), or an unbounded fluid backlog carried from step to step.
enum class DelayModel { FiniteBuffer = 0, FluidBacklog = 1 };
// Their names, in the enum's order (exported as _core.DELAY_MODELS, which the scenario reads).
inline constexpr const char* kDelayModelNames[] = {"finite-buffer", "fluid-backlog"};

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
  DelayModel delay_model = DelayModel::FiniteBuffer;
  double buffer_s = 0.05;  // the finite buffer, in seconds of the slice's service
  double n_prb = 100.0;
  double prb_bandwidth_hz = 180e3;
};

struct KpiOutput {
  std::vector<double> throughput, delay, load, demand, served, dropped;  // [K*N]
  std::vector<std::int32_t> users, outage;                      // [K*N]
  std::vector<double> scratch_delay, scratch_throughput;        // [U] per-UE work space
  std::vector<int> scratch_group;
};

// backlog [K*N] is read (before the step) and updated in place.
void compute_slice_kpis(const KpiInput& in, std::vector<double>& backlog, KpiOutput& out);

// Traffic dropped per (cell, slice), bit/s: offered minus served under the finite buffer, nothing
// under the fluid backlog (which queues it).
void dropped_traffic(DelayModel model, const std::vector<double>& demand, const std::vector<double>& served,
                     std::vector<double>& dropped);

}  // namespace pyslice
