#include "load_coupling.hpp"

#include <algorithm>
#include <cmath>

#include "kernels.hpp"
#include "pathloss.hpp"

namespace pyslice {

void LoadCouplingSolver::solve(const CouplingProblem& p, CouplingResult& r) {
  const LinkTable& lt = *p.links;
  const int n_ue = lt.n_ues();
  const int K = p.n_cells, N = p.n_slices;
  r.x.assign(static_cast<size_t>(K) * N, 0.0);
  r.se.assign(n_ue, 0.0);
  r.outage.assign(n_ue, 0);
  ue_index_.clear();
  ue_cellslice_.clear();
  ue_signal_.clear();
  ue_weight_.clear();
  intf_off_.assign(1, 0);
  intf_cell_.clear();
  intf_pg_.clear();
  const double mb = p.n_prb * p.prb_bandwidth_hz;
  for (int u = 0; u < n_ue; ++u) {
    if (p.active ? !p.active[u] : !(p.demand[u] > 0.0)) continue;
    const int c = p.serving[u];
    double signal = 0.0, full_interference = 0.0;
    const size_t first = intf_cell_.size();
    for (int j = lt.offset[u]; j < lt.offset[u + 1]; ++j) {
      const int cell = lt.cell[j];
      const double pg = p.tx_power_w[cell] * lt.gain[j];
      if (cell == c) {
        signal += pg;
      } else if (pg > 0.0) {
        intf_cell_.push_back(cell);
        intf_pg_.push_back(pg);
        full_interference += pg;
      }
    }
    if (!(signal / (full_interference + p.noise_w) >= kOutageSinr)) {
      intf_cell_.resize(first);
      intf_pg_.resize(first);
      r.outage[u] = 1;
      continue;
    }
    intf_off_.push_back(static_cast<int>(intf_cell_.size()));
    ue_index_.push_back(u);
    ue_cellslice_.push_back(c * N + p.slice_of[u]);
    ue_signal_.push_back(signal);
    ue_weight_.push_back(p.demand[u] / mb);
  }

  std::vector<double>& rho = r.rho;
  rho_new_.assign(K, 0.0);
  const size_t n_served = ue_index_.size();
  int it = 0;
  intf_scaled_.resize(intf_pg_.size());
  ue_interference_.resize(n_served);
  ue_se_.resize(n_served);
  while (it < p.max_iter) {
    std::fill(r.x.begin(), r.x.end(), 0.0);
    gather_scale(intf_pg_.size(), intf_cell_.data(), rho.data(), intf_pg_.data(), intf_scaled_.data());
    for (size_t i = 0; i < n_served; ++i) {
      double interference = p.noise_w;
      for (int j = intf_off_[i]; j < intf_off_[i + 1]; ++j) interference += intf_scaled_[j];
      ue_interference_[i] = interference;
    }
    spectral_efficiency_batch(n_served, ue_signal_.data(), ue_interference_.data(), ue_se_.data());
    for (size_t i = 0; i < n_served; ++i) {
      r.se[ue_index_[i]] = ue_se_[i];
      r.x[ue_cellslice_[i]] += ue_weight_[i] / ue_se_[i];
    }
    double max_delta = 0.0;
    for (int k = 0; k < K; ++k) {
      double load = 0.0;
      for (int n = 0; n < N; ++n) load += std::min(p.shares[k * N + n], r.x[k * N + n]);
      rho_new_[k] = load;
      max_delta = std::max(max_delta, std::fabs(load - rho[k]));
    }
    ++it;
    rho.swap(rho_new_);
    if (max_delta < p.tol) break;
  }
  r.iterations = it;
}

void LoadCouplingSolver::sinr_at(const CouplingProblem& p, const std::vector<double>& rho, std::vector<double>& out) {
  const LinkTable& lt = *p.links;
  const int n_ue = lt.n_ues();
  out.assign(n_ue, 0.0);
  for (int u = 0; u < n_ue; ++u) {
    const int c = p.serving[u];
    double signal = 0.0, interference = p.noise_w;
    for (int j = lt.offset[u]; j < lt.offset[u + 1]; ++j) {
      const double pg = p.tx_power_w[lt.cell[j]] * lt.gain[j];
      if (lt.cell[j] == c)
        signal += pg;
      else
        interference += rho[lt.cell[j]] * pg;
    }
    out[u] = signal / interference;
  }
}

}  // namespace pyslice
