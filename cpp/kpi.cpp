#include "kpi.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pyslice {

void compute_slice_kpis(const KpiInput& in, std::vector<double>& backlog, KpiOutput& out) {
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
    const double q0 = backlog[ks];
    const double served = std::min(D + q0 / dt, capacity);
    // No served UE left in the slice: the backlog of departed users is dropped.
    const double q1 = D > 0.0 ? std::max(0.0, q0 + (D - served) * dt) : 0.0;
    backlog[ks] = q1;
    out.served[ks] = served;
    const double ps_flows = util < 1.0 ? util / (1.0 - util) : inf;
    flows[ks] = std::min(ps_flows, D / L * dt) + q1 / L;
  }
  const double mb = in.n_prb * in.prb_bandwidth_hz;
  for (int u = 0; u < in.n_ues; ++u) {
    if (!in.active[u] || in.outage[u]) continue;
    const int n = in.slice_of[u];
    const size_t ks = static_cast<size_t>(in.serving[u]) * N + n;
    const double L = in.traffic->flow_bits[n];
    const double peak = in.shares[ks] * mb * in.se[u];
    double delay = peak > 0.0 ? (L / peak) * (1.0 + flows[ks]) : in.max_delay_s;
    delay = std::min(delay, in.max_delay_s);
    out.delay[ks] += delay;
    out.throughput[ks] += L / delay;
  }
  for (size_t ks = 0; ks < KN; ++ks) {
    if (n_served[ks] > 0) {
      out.delay[ks] /= n_served[ks];
      out.throughput[ks] /= n_served[ks];
    }
  }
}

}  // namespace pyslice
