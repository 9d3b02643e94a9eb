#include "kpi.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pyslice {

void compute_slice_kpis(const KpiInput& in, std::vector<double>& backlog, KpiOutput& out) {
  std::vector<double>& ue_delay = out.scratch_delay;
  std::vector<double>& ue_throughput = out.scratch_throughput;
  std::vector<int>& ue_group = out.scratch_group;
  const int K = in.n_cells, N = in.n_slices;
  const size_t KN = static_cast<size_t>(K) * N;
  out.throughput.assign(KN, 0.0);
  out.delay.assign(KN, 0.0);
  out.load.assign(in.x, in.x + KN);
  out.demand.assign(KN, 0.0);
  out.served.assign(KN, 0.0);
  out.users.assign(KN, 0);
  out.outage.assign(KN, 0);
  std::vector<std::int32_t> n_served(KN, 0);
  for (int u = 0; u < in.n_ues; ++u) {
    if (!in.active[u]) continue;
    const size_t ks = static_cast<size_t>(in.serving[u]) * N + in.slice_of[u];
    out.users[ks] += 1;
    if (in.outage[u]) {
      out.outage[ks] += 1;
    } else {
      n_served[ks] += 1;
      out.demand[ks] += in.traffic->demand_bps[in.slice_of[u]];
    }
  }
  // Per (cell, slice): backlog update and the number of flows in the system.
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> flows(KN, 0.0);
  const double dt = in.step_seconds;
  for (size_t ks = 0; ks < KN; ++ks) {
    const int n = static_cast<int>(ks % N);
    const double L = in.traffic->flow_bits[n];
    const double a = in.shares[ks], x = in.x[ks], D = out.demand[ks];
    const double util = x > 0.0 ? (a > 0.0 ? x / a : inf) : 0.0;
    const double capacity = x > 0.0 ? D * a / x : D;
    const double ps_flows = util < 1.0 ? util / (1.0 - util) : inf;
    if (in.delay_model == DelayModel::FiniteBuffer) {
      // Finite buffer: it holds at most buffer_s of the slice's service (capacity * buffer_s bits),
      // so at most that many bits' worth of flows share the server; overload is dropped.
      const double buffered_flows = capacity * in.buffer_s / L;
      backlog[ks] = 0.0;
      out.served[ks] = std::min(D, capacity);
      flows[ks] = std::min(std::min(ps_flows, D / L * dt), buffered_flows);
      continue;
    }
    const double q0 = backlog[ks];
    const double served = std::min(D + q0 / dt, capacity);
    // No served UE left in the slice: the backlog of departed users is dropped.
    const double q1 = D > 0.0 ? std::max(0.0, q0 + (D - served) * dt) : 0.0;
    backlog[ks] = q1;
    out.served[ks] = served;
    flows[ks] = std::min(ps_flows, D / L * dt) + q1 / L;
  }
  // Per served UE (a loop without branches, so it runs on SIMD lanes): the delay of a flow at the
  // UE's peak rate shares[k,n] M B se, stretched by the flows in the system, capped at max_delay_s;
  // then summed per (cell, slice) in UE order.
  const double mb = in.n_prb * in.prb_bandwidth_hz;
  const int U = in.n_ues;
  ue_delay.resize(U);
  ue_throughput.resize(U);
  ue_group.resize(U);
  const double max_delay = in.max_delay_s;
  const double* flow_bits = in.traffic->flow_bits.data();
  for (int u = 0; u < U; ++u) {
    const int n = in.slice_of[u];
    const int ks = in.serving[u] * N + n;
    const bool counted = in.active[u] && !in.outage[u];
    const double L = flow_bits[n];
    const double peak = in.shares[ks] * mb * in.se[u];
    const double stretched = peak > 0.0 ? (L / peak) * (1.0 + flows[ks]) : max_delay;
    const double delay = std::min(stretched, max_delay);
    ue_group[u] = counted ? ks : -1;
    ue_delay[u] = delay;
    ue_throughput[u] = L / delay;
  }
  for (int u = 0; u < U; ++u) {
    const int ks = ue_group[u];
    if (ks < 0) continue;
    out.delay[ks] += ue_delay[u];
    out.throughput[ks] += ue_throughput[u];
  }
  for (size_t ks = 0; ks < KN; ++ks) {
    if (n_served[ks] > 0) {
      out.delay[ks] /= n_served[ks];
      out.throughput[ks] /= n_served[ks];
    }
  }
  dropped_traffic(in.delay_model, out.demand, out.served, out.dropped);
}

void dropped_traffic(DelayModel model, const std::vector<double>& demand, const std::vector<double>& served,
                     std::vector<double>& dropped) {
  dropped.assign(demand.size(), 0.0);
  if (model != DelayModel::FiniteBuffer) return;
  for (size_t i = 0; i < demand.size(); ++i) dropped[i] = std::max(demand[i] - served[i], 0.0);
}

}  // namespace pyslice
