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
  const double mb = p.n_prb * p.prb_bandwidth_hz;
  const bool full = lt.full_cells == K && p.matrix != InterferenceMatrix::Sparse;
  // Candidates: the active UEs, grouped by (cell, slice) with a stable counting sort so that
  // x[k, n] is a contiguous sum in UE order.
  ue_cellslice_.assign(n_ue, -1);
  segment_.assign(static_cast<size_t>(KN) + 1, 0);
  size_t nnz = 0;
  for (int u = 0; u < n_ue; ++u) {
    if (p.active ? !p.active[u] : !(p.demand[u] > 0.0)) continue;
    const int ks = p.serving[u] * N + p.slice_of[u];
    ue_cellslice_[u] = ks;
    ++segment_[ks + 1];
    nnz += static_cast<size_t>(off[u + 1] - off[u]);
  }
  for (int ks = 0; ks < KN; ++ks) segment_[ks + 1] += segment_[ks];
  size_t ns = static_cast<size_t>(segment_[KN]);
  cursor_.assign(segment_.begin(), segment_.end() - 1);
  ue_.resize(ns);
  for (int u = 0; u < n_ue; ++u)
    if (ue_cellslice_[u] >= 0) ue_[cursor_[ue_cellslice_[u]]++] = u;
  signal_.resize(ns);
  full_interference_.resize(ns);
  dense_ = p.matrix == InterferenceMatrix::Dense ||
           (p.matrix == InterferenceMatrix::Auto && (full || static_cast<size_t>(K) * ns <= 2 * nnz + 64));
  if (dense_) {
    // [K][ld] with the row stride padded off multiples of 4 KiB (rows written in step would
    // otherwise share cache sets); the serving cell's entry is zero.
    dense_ld_ = (ns + 7) / 8 * 8 + 8;
    dense_pg_.resize(static_cast<size_t>(K) * dense_ld_);
    if (full) {
      transpose_scaled(ns, K, gain, ue_.data(), power, dense_pg_.data(), dense_ld_);
      for (size_t i = 0; i < ns; ++i) {
        const int u = ue_[i], c = p.serving[u];
        double& entry = dense_pg_[static_cast<size_t>(c) * dense_ld_ + i];
        signal_[i] = entry;
        entry = 0.0;
      }
    } else {
      std::fill(dense_pg_.begin(), dense_pg_.end(), 0.0);
      for (size_t i = 0; i < ns; ++i) {
        const int u = ue_[i], c = p.serving[u];
        double signal = 0.0;
        for (int j = off[u]; j < off[u + 1]; ++j) {
          const double pg = power[cell[j]] * gain[j];
          const bool serves = cell[j] == c;
          signal = serves ? pg : signal;
          dense_pg_[static_cast<size_t>(cell[j]) * dense_ld_ + i] = serves ? 0.0 : pg;
        }
        signal_[i] = signal;
      }
    }
    // Interference at full load, cells in ascending order (as the sparse sums below).
    ones_.assign(K, 1.0);
    weighted_row_sum(ns, K, ones_.data(), dense_pg_.data(), dense_ld_, 0.0, full_interference_.data());
  } else {
    intf_off_.assign(1, 0);
    intf_cell_.clear();
    intf_pg_.clear();
    for (size_t i = 0; i < ns; ++i) {
      const int u = ue_[i], c = p.serving[u];
      double signal = 0.0, total = 0.0;
      for (int j = off[u]; j < off[u + 1]; ++j) {
        const double pg = power[cell[j]] * gain[j];
        if (cell[j] == c) {
          signal = pg;
        } else if (pg > 0.0) {
          intf_cell_.push_back(cell[j]);
          intf_pg_.push_back(pg);
          total += pg;
        }
      }
      signal_[i] = signal;
      full_interference_[i] = total;
      intf_off_.push_back(static_cast<int>(intf_cell_.size()));
    }
  }
  // Outage is decided at full load; UEs in outage leave the problem (stable compaction).
  size_t kept = 0;
  for (size_t i = 0; i < ns; ++i) {
    const bool served = signal_[i] / (full_interference_[i] + p.noise_w) >= kOutageSinr;
    if (!served) r.outage[ue_[i]] = 1;
    kept += served ? 1 : 0;
  }
  if (kept < ns) compact_outage(p, r);
  weight_.resize(ue_.size());
  for (size_t i = 0; i < ue_.size(); ++i) weight_[i] = p.demand[ue_[i]] / mb;
}

void LoadCouplingSolver::compact_outage(const CouplingProblem& p, const CouplingResult& r) {
  const int K = p.n_cells, KN = K * p.n_slices;
  const size_t ns = ue_.size();
  size_t w = 0;
  std::vector<int>& new_segment = cursor_;
  new_segment.assign(static_cast<size_t>(KN) + 1, 0);
  int ks = 0;
  for (size_t i = 0; i < ns; ++i) {
    while (static_cast<int>(i) >= segment_[ks + 1]) new_segment[++ks] = static_cast<int>(w);
    const int u = ue_[i];
    if (r.outage[u]) {
      ue_cellslice_[u] = -1;
      continue;
    }
    ue_[w] = u;
    signal_[w] = signal_[i];
    if (dense_) {
      for (int k = 0; k < K; ++k) dense_pg_[static_cast<size_t>(k) * dense_ld_ + w] = dense_pg_[static_cast<size_t>(k) * dense_ld_ + i];
    } else {
      const int first = intf_off_[i], last = intf_off_[i + 1];
      const int start = w == 0 ? 0 : intf_off_[w];
      for (int j = first; j < last; ++j) {
        intf_cell_[start + (j - first)] = intf_cell_[j];
        intf_pg_[start + (j - first)] = intf_pg_[j];
      }
      intf_off_[w + 1] = start + (last - first);
    }
    ++w;
  }
  while (ks < KN) new_segment[++ks] = static_cast<int>(w);
  segment_.swap(new_segment);
  ue_.resize(w);
  signal_.resize(w);
  if (!dense_) {
    intf_off_.resize(w + 1);
    intf_cell_.resize(intf_off_[w]);
    intf_pg_.resize(intf_off_[w]);
  }
}

void LoadCouplingSolver::interference(const CouplingProblem& p, const std::vector<double>& rho) {
  const size_t ns = ue_.size();
  interference_.resize(ns);
  if (dense_) {
    // Cells in ascending order, as the sparse links are: the same sums, in the same order.
    weighted_row_sum(ns, p.n_cells, rho.data(), dense_pg_.data(), dense_ld_, p.noise_w, interference_.data());
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
  int it = 0;
  while (it < p.max_iter) {
    interference(p, rho);
    double max_delta = 0.0;
    for (int k = 0; k < K; ++k) {
      double load = 0.0;
      for (int n = 0; n < N; ++n) {
        const int ks = k * N + n;
        const int first = segment_[ks], count = segment_[ks + 1] - first;
        const double x = count > 0 ? needed_share(static_cast<size_t>(count), &weight_[first], &signal_[first],
                                                  &interference_[first], &se_[first])
                                   : 0.0;
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
