#include "load_coupling.hpp"

#include <algorithm>
#include <cmath>

#include "kernels.hpp"
#include "pathloss.hpp"

namespace pyslice {

void LoadCouplingSolver::collect_served(const CouplingProblem& p, CouplingResult& r) {
  const LinkTable& lt = *p.links;
  const int n_ue = lt.n_ues();
  const int K = p.n_cells, N = p.n_slices, KN = K * N;
  const int* off = lt.offset.data();
  const int* cell = lt.cell.data();
  const double* gain = lt.gain.data();
  const double* power = p.tx_power_w;
  ue_cellslice_.assign(n_ue, -1);
  ue_signal_.resize(n_ue);
  segment_.assign(static_cast<size_t>(KN) + 1, 0);
  size_t nnz = 0;
  for (int u = 0; u < n_ue; ++u) {
    if (p.active ? !p.active[u] : !(p.demand[u] > 0.0)) continue;
    const int c = p.serving[u];
    double signal = 0.0, full_interference = 0.0;
    for (int j = off[u]; j < off[u + 1]; ++j) {
      const double pg = power[cell[j]] * gain[j];
      const bool serves = cell[j] == c;
      signal += serves ? pg : 0.0;
      full_interference += serves ? 0.0 : pg;
    }
    if (!(signal / (full_interference + p.noise_w) >= kOutageSinr)) {
      r.outage[u] = 1;
      continue;
    }
    const int ks = c * N + p.slice_of[u];
    ue_cellslice_[u] = ks;
    ue_signal_[u] = signal;
    ++segment_[ks + 1];
    nnz += static_cast<size_t>(off[u + 1] - off[u]);
  }
  // Stable counting sort by (cell, slice): x[k, n] becomes a contiguous sum in UE order.
  for (int ks = 0; ks < KN; ++ks) segment_[ks + 1] += segment_[ks];
  const size_t ns = static_cast<size_t>(segment_[KN]);
  cursor_.assign(segment_.begin(), segment_.end() - 1);
  ue_.resize(ns);
  signal_.resize(ns);
  weight_.resize(ns);
  const double mb = p.n_prb * p.prb_bandwidth_hz;
  for (int u = 0; u < n_ue; ++u) {
    const int ks = ue_cellslice_[u];
    if (ks < 0) continue;
    const int pos = cursor_[ks]++;
    ue_[pos] = u;
    signal_[pos] = ue_signal_[u];
    weight_[pos] = p.demand[u] / mb;
  }
  dense_ = static_cast<size_t>(K) * ns <= 2 * nnz + 64;
  if (dense_) {
    // Row stride padded off multiples of 4 KiB: K rows written in step would share cache sets.
    dense_ld_ = (ns + 7) / 8 * 8 + 8;
    dense_pg_.assign(static_cast<size_t>(K) * dense_ld_, 0.0);
    double* dense = dense_pg_.data();
    for (size_t pos = 0; pos < ns; ++pos) {
      const int u = ue_[pos], c = p.serving[u];
      for (int j = off[u]; j < off[u + 1]; ++j)
        dense[static_cast<size_t>(cell[j]) * dense_ld_ + pos] = cell[j] == c ? 0.0 : power[cell[j]] * gain[j];
    }
  } else {
    intf_off_.assign(1, 0);
    intf_cell_.clear();
    intf_pg_.clear();
    for (size_t pos = 0; pos < ns; ++pos) {
      const int u = ue_[pos], c = p.serving[u];
      for (int j = off[u]; j < off[u + 1]; ++j) {
        const double pg = power[cell[j]] * gain[j];
        if (cell[j] == c || !(pg > 0.0)) continue;
        intf_cell_.push_back(cell[j]);
        intf_pg_.push_back(pg);
      }
      intf_off_.push_back(static_cast<int>(intf_cell_.size()));
    }
  }
}

void LoadCouplingSolver::interference(const CouplingProblem& p, const std::vector<double>& rho) {
  const size_t ns = ue_.size();
  interference_.assign(ns, p.noise_w);
  if (dense_) {
    // Cells in ascending order, as the sparse links are: the same sums, in the same order.
    for (int k = 0; k < p.n_cells; ++k)
      if (rho[k] != 0.0) axpy(ns, rho[k], &dense_pg_[static_cast<size_t>(k) * dense_ld_], interference_.data());
    return;
  }
  intf_scaled_.resize(intf_pg_.size());
  gather_scale(intf_pg_.size(), intf_cell_.data(), rho.data(), intf_pg_.data(), intf_scaled_.data());
  for (size_t i = 0; i < ns; ++i) {
    double sum = p.noise_w;
    for (int j = intf_off_[i]; j < intf_off_[i + 1]; ++j) sum += intf_scaled_[j];
    interference_[i] = sum;
  }
}

void LoadCouplingSolver::solve(const CouplingProblem& p, CouplingResult& r) {
  const int n_ue = p.links->n_ues();
  const int K = p.n_cells, N = p.n_slices;
  r.x.assign(static_cast<size_t>(K) * N, 0.0);
  r.se.assign(n_ue, 0.0);
  r.outage.assign(n_ue, 0);
  collect_served(p, r);

  std::vector<double>& rho = r.rho;
  rho_new_.assign(K, 0.0);
  const size_t ns = ue_.size();
  se_.resize(ns);
  ratio_.resize(ns);
  int it = 0;
  while (it < p.max_iter) {
    interference(p, rho);
    spectral_efficiency_batch(ns, signal_.data(), interference_.data(), se_.data());
    divide(ns, weight_.data(), se_.data(), ratio_.data());
    double max_delta = 0.0;
    for (int k = 0; k < K; ++k) {
      double load = 0.0;
      for (int n = 0; n < N; ++n) {
        const int ks = k * N + n;
        double x = 0.0;
        for (int i = segment_[ks]; i < segment_[ks + 1]; ++i) x += ratio_[i];
        r.x[ks] = x;
        load += std::min(p.shares[ks], x);
      }
      rho_new_[k] = load;
      max_delta = std::max(max_delta, std::fabs(load - rho[k]));
    }
    ++it;
    rho.swap(rho_new_);
    if (max_delta < p.tol) break;
  }
  for (size_t i = 0; i < ns; ++i) r.se[ue_[i]] = se_[i];
  r.iterations = it;
}

void LoadCouplingSolver::sinr_after_solve(const CouplingProblem& p, const std::vector<double>& rho,
                                          std::vector<double>& out) {
  const LinkTable& lt = *p.links;
  const int n_ue = lt.n_ues();
  out.resize(n_ue);
  for (int u = 0; u < n_ue; ++u) {
    if (ue_cellslice_[u] >= 0) continue;  // served: below
    const int c = p.serving[u];
    double signal = 0.0, interference = p.noise_w;
    for (int j = lt.offset[u]; j < lt.offset[u + 1]; ++j) {
      const int k = lt.cell[j];
      const double pg = p.tx_power_w[k] * lt.gain[j];
      const bool serves = k == c;
      signal += serves ? pg : 0.0;
      interference += serves ? 0.0 : rho[k] * pg;
    }
    out[u] = signal / interference;
  }
  interference(p, rho);
  for (size_t i = 0; i < ue_.size(); ++i) out[ue_[i]] = signal_[i] / interference_[i];
}

void LoadCouplingSolver::sinr_at(const CouplingProblem& p, const std::vector<double>& rho, std::vector<double>& out) {
  const LinkTable& lt = *p.links;
  const int n_ue = lt.n_ues();
  out.resize(n_ue);
  const int* cell = lt.cell.data();
  const double* gain = lt.gain.data();
  for (int u = 0; u < n_ue; ++u) {
    const int c = p.serving[u];
    double signal = 0.0, interference = p.noise_w;
    for (int j = lt.offset[u]; j < lt.offset[u + 1]; ++j) {
      const int k = cell[j];
      const double pg = p.tx_power_w[k] * gain[j];
      const bool serves = k == c;
      signal += serves ? pg : 0.0;
      interference += serves ? 0.0 : rho[k] * pg;
    }
    out[u] = signal / interference;
  }
}

}  // namespace pyslice
