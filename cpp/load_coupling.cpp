#include "load_coupling.hpp"

#include <algorithm>
#include <cmath>

#include "kernels.hpp"
#include "pathloss.hpp"

namespace pyslice {

LinkTable LinkTable::from_dense(const double* gain, int K, int U) {
  LinkTable lt;
  for (int u = 0; u < U; ++u) {
    for (int k = 0; k < K; ++k) {
      const double g = gain[static_cast<size_t>(k) * U + u];
      if (g > 0.0) {
        lt.cell.push_back(k);
        lt.gain.push_back(g);
      }
    }
    lt.offset.push_back(static_cast<int>(lt.cell.size()));
  }
  if (lt.cell.size() == static_cast<size_t>(K) * U) lt.full_cells = K;
  return lt;
}
namespace {
constexpr size_t kCacheEntries = size_t{1} << 19;  // 4 MiB of doubles
}  // namespace

void LoadCouplingSolver::collect_served(const CouplingProblem& p) {
  const LinkTable& lt = *p.links;
  const int n_ue = lt.n_ues();
  const int K = p.n_cells, N = p.n_slices, KN = K * N;
  const double mb = p.n_prb * p.prb_bandwidth_hz;
  // Candidates: the active UEs, grouped by (cell, slice) with a stable counting sort so that
  // x[k, n] is a contiguous sum in UE order (and a cell's UEs are contiguous too).
  own_.ue_cellslice.assign(n_ue, -1);
  own_.segment.assign(static_cast<size_t>(KN) + 1, 0);
  for (int u = 0; u < n_ue; ++u) {
    if (p.active ? !p.active[u] : !(p.demand[u] > 0.0)) continue;
    const int ks = p.serving[u] * N + p.slice_of[u];
    own_.ue_cellslice[u] = ks;
    ++own_.segment[ks + 1];
  }
  for (int ks = 0; ks < KN; ++ks) own_.segment[ks + 1] += own_.segment[ks];
  const size_t ns = static_cast<size_t>(own_.segment[KN]);
  cursor_.assign(own_.segment.begin(), own_.segment.end() - 1);
  own_.ue.resize(ns);
  for (int u = 0; u < n_ue; ++u)
    if (own_.ue_cellslice[u] >= 0) own_.ue[cursor_[own_.ue_cellslice[u]]++] = u;
  own_.signal.resize(ns);
  own_.full_interference.resize(ns);
  // Blocks stream without index lookups but hold zeros where a UE lacks a link of its cell's
  // union; once they outgrow the cache the iterations are bound by memory traffic, and the lists
  // (12 bytes per link) win unless the blocks are nearly full. Layouts too large for even the
  // dense matrix to fit go straight to the lists (planning blocks costs a pass over the links).
  own_.blocked = p.matrix != InterferenceMatrix::Sparse;
  if (p.matrix == InterferenceMatrix::Auto && lt.full_cells != K && static_cast<size_t>(K) * ns > kCacheEntries)
    own_.blocked = false;
  if (own_.blocked) {
    const size_t block_entries = plan_blocks(p);
    if (p.matrix == InterferenceMatrix::Auto && block_entries > kCacheEntries) {
      size_t links = 0;
      for (int u : own_.ue) links += static_cast<size_t>(lt.offset[u + 1] - lt.offset[u]);
      if (block_entries * 2 > links * 3) own_.blocked = false;
    }
  }
  if (own_.blocked)
    fill_blocks(p);
  else
    build_sparse(p);
  // Outage is decided at full load; UEs in outage leave the problem (stable compaction).
  size_t kept = 0;
  for (size_t i = 0; i < ns; ++i) {
    const bool served = own_.signal[i] / (own_.full_interference[i] + p.noise_w) >= kOutageSinr;
    if (!served) own_.outage[own_.ue[i]] = 1;
    kept += served ? 1 : 0;
  }
  if (kept < ns) compact_outage(p);
  own_.weight.resize(own_.ue.size());
  const double inv_mb = 1.0 / mb;
  for (size_t i = 0; i < own_.ue.size(); ++i) own_.weight[i] = p.demand[own_.ue[i]] * inv_mb;
}

size_t LoadCouplingSolver::plan_blocks(const CouplingProblem& p) {
  // Plans one dense block per serving cell c: columns = c's UEs, rows = the cells any of them has
  // links to, ascending (c itself, serving them all, is left out, or kept as a zero row when the
  // rows are all cells). With every cell linked to every UE this is the dense [K][U] matrix cut by
  // serving cell; with culling it stays near the link count; either way the iterations stream it
  // without index lookups.
  const LinkTable& lt = *p.links;
  const int K = p.n_cells, N = p.n_slices;
  const int* off = lt.offset.data();
  const int* cell = lt.cell.data();
  const bool all_cells = p.matrix == InterferenceMatrix::Dense || lt.full_cells == K;
  own_.block_cells.clear();
  own_.block_cell_off.assign(static_cast<size_t>(K) + 1, 0);
  own_.block_off.assign(static_cast<size_t>(K) + 1, 0);
  own_.block_ld.assign(K, 0);
  row_of_.assign(K, -1);
  size_t total = 0;
  for (int c = 0; c < K; ++c) {
    const int b0 = own_.segment[c * N], b1 = own_.segment[(c + 1) * N];
    if (all_cells) {
      for (int k = 0; k < K; ++k) own_.block_cells.push_back(k);
    } else if (b1 > b0) {
      const size_t first = own_.block_cells.size();
      for (int i = b0; i < b1; ++i) {
        const int u = own_.ue[i];
        for (int j = off[u]; j < off[u + 1]; ++j)
          if (cell[j] != c && row_of_[cell[j]] < 0) {
            row_of_[cell[j]] = 0;
            own_.block_cells.push_back(cell[j]);
          }
      }
      std::sort(own_.block_cells.begin() + static_cast<std::ptrdiff_t>(first), own_.block_cells.end());
      for (size_t r = first; r < own_.block_cells.size(); ++r) row_of_[own_.block_cells[r]] = -1;
    }
    own_.block_cell_off[c + 1] = static_cast<int>(own_.block_cells.size());
    // Row stride padded off multiples of 4 KiB: rows written in step would share cache sets.
    own_.block_ld[c] = b1 > b0 ? (static_cast<size_t>(b1 - b0) + 7) / 8 * 8 + 8 : 0;
    total += own_.block_ld[c] * static_cast<size_t>(own_.block_cell_off[c + 1] - own_.block_cell_off[c]);
    own_.block_off[c + 1] = total;
  }
  return total;
}

void LoadCouplingSolver::fill_blocks(const CouplingProblem& p) {
  const LinkTable& lt = *p.links;
  const int K = p.n_cells, N = p.n_slices;
  const int* off = lt.offset.data();
  const int* cell = lt.cell.data();
  const double* gain = lt.gain.data();
  const double* power = p.tx_power_w;
  const bool full = lt.full_cells == K;
  const size_t total = own_.block_off[K];
  own_.block_pg.resize(total);
  for (int c = 0; c < K; ++c) {
    const int b0 = own_.segment[c * N], b1 = own_.segment[(c + 1) * N];
    if (b1 == b0) continue;
    const size_t n = static_cast<size_t>(b1 - b0), ld = own_.block_ld[c];
    // (pointer arithmetic, not &v[i]: a cell whose block has no rows sits at the end of empty storage)
    double* block = own_.block_pg.data() + own_.block_off[c];
    const int* rows = own_.block_cells.data() + own_.block_cell_off[c];
    const int n_rows = own_.block_cell_off[c + 1] - own_.block_cell_off[c];
    if (full) {
      // Contiguous gain rows, transposed; the serving cell's row scaled to zero.
      scale_.assign(power, power + K);
      scale_[c] = 0.0;
      // The row sums are the interference at full load, for the outage test.
      transpose_scaled(n, K, gain, &own_.ue[b0], scale_.data(), block, ld, &own_.full_interference[b0]);
      // weighted_row_sums reads each row up to n rounded up to 8: keep those slots zero.
      const size_t n8 = (n + 7) / 8 * 8;
      for (int r = 0; r < n_rows; ++r)
        std::fill(block + static_cast<size_t>(r) * ld + n, block + static_cast<size_t>(r) * ld + n8, 0.0);
      for (size_t i = 0; i < n; ++i)
        own_.signal[b0 + i] = power[c] * gain[static_cast<size_t>(own_.ue[b0 + i]) * K + c];
      continue;
    }
    std::fill(block, block + ld * static_cast<size_t>(n_rows), 0.0);
    for (int r = 0; r < n_rows; ++r) row_of_[rows[r]] = r;
    for (size_t i = 0; i < n; ++i) {
      const int u = own_.ue[b0 + i];
      double signal = 0.0;
      for (int j = off[u]; j < off[u + 1]; ++j) {
        const double pg = power[cell[j]] * gain[j];
        if (cell[j] == c)
          signal = pg;
        else
          block[static_cast<size_t>(row_of_[cell[j]]) * ld + i] = pg;
      }
      own_.signal[b0 + i] = signal;
    }
    for (int r = 0; r < n_rows; ++r) row_of_[rows[r]] = -1;
  }
  if (full) return;
  ones_.assign(K, 1.0);
  block_interference(p, ones_, 0.0, own_.full_interference);
}

void LoadCouplingSolver::build_sparse(const CouplingProblem& p) {
  const LinkTable& lt = *p.links;
  const int* off = lt.offset.data();
  const int* cell = lt.cell.data();
  const double* gain = lt.gain.data();
  size_t bound = 0;
  for (int u : own_.ue) bound += static_cast<size_t>(off[u + 1] - off[u]);
  own_.intf_off.resize(own_.ue.size() + 1);
  own_.intf_cell.resize(bound);
  own_.intf_pg.resize(bound);
  int n = 0;
  own_.intf_off[0] = 0;
  for (size_t i = 0; i < own_.ue.size(); ++i) {
    const int u = own_.ue[i], c = p.serving[u];
    double signal = 0.0, total = 0.0;
    for (int j = off[u]; j < off[u + 1]; ++j) {
      const double pg = p.tx_power_w[cell[j]] * gain[j];
      if (cell[j] == c) {
        signal = pg;
      } else if (pg > 0.0) {
        own_.intf_cell[n] = cell[j];
        own_.intf_pg[n] = pg;
        total += pg;
        ++n;
      }
    }
    own_.signal[i] = signal;
    own_.full_interference[i] = total;
    own_.intf_off[i + 1] = n;
  }
  own_.intf_cell.resize(n);
  own_.intf_pg.resize(n);
}

void LoadCouplingSolver::block_interference(const CouplingProblem& p, const std::vector<double>& rho, double init,
                                            std::vector<double>& out) {
  out.resize(st_->ue.size());
  for (int c = 0; c < p.n_cells; ++c) cell_block_interference(p, rho, c, init, out.data());
}

void LoadCouplingSolver::cell_block_interference(const CouplingProblem& p, const std::vector<double>& rho, int c,
                                                 double init, double* out) {
  const int N = p.n_slices;
  const int b0 = st_->segment[c * N], b1 = st_->segment[(c + 1) * N];
  if (b1 == b0) return;
  const int* rows = st_->block_cells.data() + st_->block_cell_off[c];
  const int n_rows = st_->block_cell_off[c + 1] - st_->block_cell_off[c];
  block_rho_.resize(n_rows);
  // The serving cell's row is zero (or absent): skipping it adds nothing.
  for (int r = 0; r < n_rows; ++r) block_rho_[r] = rows[r] == c ? 0.0 : rho[rows[r]];
  // (pointer arithmetic: with no interferer rows anywhere the block storage is empty)
  double* const rows_out[1] = {out + b0};
  weighted_row_sums(static_cast<size_t>(b1 - b0), n_rows, 1, block_rho_.data(),
                    st_->block_pg.data() + st_->block_off[c], st_->block_ld[c], init, rows_out);
}

void LoadCouplingSolver::compact_outage(const CouplingProblem& p) {
  const int K = p.n_cells, N = p.n_slices, KN = K * N;
  const size_t ns = own_.ue.size();
  size_t w = 0;
  std::vector<int>& new_segment = cursor_;
  new_segment.assign(static_cast<size_t>(KN) + 1, 0);
  int ks = 0;
  int cell_first_new = 0;  // new position of the first UE of the current cell's block
  for (size_t i = 0; i < ns; ++i) {
    while (static_cast<int>(i) >= own_.segment[ks + 1]) {
      new_segment[++ks] = static_cast<int>(w);
      if (ks % N == 0) cell_first_new = static_cast<int>(w);
    }
    const int u = own_.ue[i];
    if (own_.outage[u]) {
      own_.ue_cellslice[u] = -1;
      continue;
    }
    own_.ue[w] = u;
    own_.signal[w] = own_.signal[i];
    own_.full_interference[w] = own_.full_interference[i];
    if (own_.blocked) {
      // Columns move left inside their cell's block (blocks keep their row stride).
      const int c = ks / N;
      const size_t ld = own_.block_ld[c];
      const size_t from = i - static_cast<size_t>(own_.segment[c * N]), to = w - static_cast<size_t>(cell_first_new);
      double* block = own_.block_pg.data() + own_.block_off[c];
      const int n_rows = own_.block_cell_off[c + 1] - own_.block_cell_off[c];
      if (from != to)
        for (int row = 0; row < n_rows; ++row) block[static_cast<size_t>(row) * ld + to] = block[static_cast<size_t>(row) * ld + from];
    } else {
      const int first = own_.intf_off[i], last = own_.intf_off[i + 1];
      const int start = w == 0 ? 0 : own_.intf_off[w];
      for (int j = first; j < last; ++j) {
        own_.intf_cell[start + (j - first)] = own_.intf_cell[j];
        own_.intf_pg[start + (j - first)] = own_.intf_pg[j];
      }
      own_.intf_off[w + 1] = start + (last - first);
    }
    ++w;
  }
  while (ks < KN) new_segment[++ks] = static_cast<int>(w);
  own_.segment.swap(new_segment);
  own_.ue.resize(w);
  own_.signal.resize(w);
  own_.full_interference.resize(w);
  if (!own_.blocked) {
    own_.intf_off.resize(w + 1);
    own_.intf_cell.resize(own_.intf_off[w]);
    own_.intf_pg.resize(own_.intf_off[w]);
  }
}

void LoadCouplingSolver::interference(const CouplingProblem& p, const std::vector<double>& rho) {
  interference_.resize(st_->ue.size());
  for (int c = 0; c < p.n_cells; ++c) cell_interference(p, rho, c);
}

void LoadCouplingSolver::cell_interference(const CouplingProblem& p, const std::vector<double>& rho, int c) {
  // Cells in ascending order in blocks and lists alike: the same sums, in the same order.
  if (st_->blocked) {
    cell_block_interference(p, rho, c, p.noise_w, interference_.data());
    return;
  }
  const int N = p.n_slices;
  const int b0 = st_->segment[c * N], b1 = st_->segment[(c + 1) * N];
  sparse_row_sums(static_cast<size_t>(b1 - b0), st_->intf_off.data() + b0, st_->intf_cell.data(),
                  st_->intf_pg.data(), rho.data(), p.noise_w, interference_.data() + b0);
}

LoadCouplingSolver::LoadCouplingSolver(const LoadCouplingSolver& other) : own_(other.own_), st_(&own_) {}

LoadCouplingSolver& LoadCouplingSolver::operator=(const LoadCouplingSolver& other) {
  own_ = other.own_;
  st_ = &own_;  // a copy reads its own structure, never another solver's
  return *this;
}

void LoadCouplingSolver::prepare(const CouplingProblem& p) {
  st_ = &own_;
  own_.outage.assign(p.links->n_ues(), 0);
  collect_served(p);
}

void LoadCouplingSolver::solve(const CouplingProblem& p, CouplingResult& r) {
  prepare(p);
  solve_prepared(p, r, *this);
}

void LoadCouplingSolver::solve_prepared(const CouplingProblem& p, CouplingResult& result, const LoadCouplingSolver& from) {
  const CouplingProblem* problems[1] = {&p};
  CouplingResult* results[1] = {&result};
  LoadCouplingSolver* solvers[1] = {this};
  solve_prepared_many(1, problems, results, solvers, from);
}

void LoadCouplingSolver::solve_prepared_many(int n, const CouplingProblem* const* problems,
                                             CouplingResult* const* results, LoadCouplingSolver* const* solvers,
                                             const LoadCouplingSolver& from) {
  if (n <= 0) return;
  const CouplingStructure* st = &from.own_;
  const CouplingProblem& p0 = *problems[0];
  const int n_ue = p0.links->n_ues();
  const int K = p0.n_cells, N = p0.n_slices;
  const size_t ns = st->ue.size();
  for (int j = 0; j < n; ++j) {
    LoadCouplingSolver& s = *solvers[j];
    CouplingResult& r = *results[j];
    s.st_ = st;
    r.x.assign(static_cast<size_t>(K) * N, 0.0);
    r.se.assign(n_ue, 0.0);
    r.outage = st->outage;
    r.iterations = 0;
    s.se_.resize(ns);
    s.interference_.resize(ns);
  }
  // The dense blocks are streamed once per cell and sweep for every replica still iterating (the
  // replicas share the noise power, as replicas of one world do; else each streams its own).
  bool together = st->blocked;
  for (int j = 1; j < n; ++j) together = together && problems[j]->noise_w == p0.noise_w;

  // Gauss-Seidel sweeps: cell k's UEs are evaluated at the loads of this sweep for cells < k and
  // of the previous one for cells >= k, and rho_k is replaced at once. F is monotone, so the sweeps
  // converge to the same unique fixed point as Jacobi iteration, in about a third fewer sweeps.
  // Each replica sweeps until its own loads settle (or its max_iter): the same sweeps, sums and
  // bits as solving it alone.
  std::vector<int> active;
  for (int j = 0; j < n; ++j) {
    if (problems[j]->max_iter > 0)
      active.push_back(j);
    else  // no sweeps: the se of the last evaluation, as the loop below leaves them
      for (size_t i = 0; i < ns; ++i) results[j]->se[st->ue[i]] = solvers[j]->se_[i];
  }
  std::vector<double> max_delta(static_cast<size_t>(n));
  std::vector<double>& weights = solvers[0]->block_rho_;
  std::vector<double*> outs;
  while (!active.empty()) {
    for (int j : active) max_delta[j] = 0.0;
    for (int k = 0; k < K; ++k) {
      const int b0 = st->segment[k * N], b1 = st->segment[(k + 1) * N];
      if (together) {
        if (b1 > b0) {
          const int* rows = st->block_cells.data() + st->block_cell_off[k];
          const int n_rows = st->block_cell_off[k + 1] - st->block_cell_off[k];
          const size_t A = active.size();
          weights.resize(A * static_cast<size_t>(n_rows));
          outs.resize(A);
          for (size_t a = 0; a < A; ++a) {
            const std::vector<double>& rho = results[active[a]]->rho;
            // The serving cell's row is zero (or absent): skipping it adds nothing.
            for (int row = 0; row < n_rows; ++row)
              weights[a * n_rows + row] = rows[row] == k ? 0.0 : rho[rows[row]];
            outs[a] = solvers[active[a]]->interference_.data() + b0;
          }
          // (pointer arithmetic: with no interferer rows anywhere the block storage is empty)
          weighted_row_sums(static_cast<size_t>(b1 - b0), n_rows, static_cast<int>(A), weights.data(),
                            st->block_pg.data() + st->block_off[k], st->block_ld[k], p0.noise_w, outs.data());
        }
      } else {
        for (int j : active) solvers[j]->cell_interference(*problems[j], results[j]->rho, k);
      }
      for (int j : active) {
        const CouplingProblem& p = *problems[j];
        CouplingResult& r = *results[j];
        LoadCouplingSolver& s = *solvers[j];
        double load = 0.0;
        for (int sl = 0; sl < N; ++sl) {
          const int ks = k * N + sl;
          const int first = st->segment[ks], count = st->segment[ks + 1] - first;
          const double x = count > 0 ? needed_share(static_cast<size_t>(count), &st->weight[first], &st->signal[first],
                                                    &s.interference_[first], &s.se_[first])
                                     : 0.0;
          r.x[ks] = x;
          load += std::min(p.shares[ks], x);
        }
        max_delta[j] = std::max(max_delta[j], std::fabs(load - r.rho[k]));
        r.rho[k] = load;
      }
    }
    size_t kept = 0;
    for (int j : active) {
      CouplingResult& r = *results[j];
      ++r.iterations;
      if (max_delta[j] < problems[j]->tol || r.iterations >= problems[j]->max_iter) {
        for (size_t i = 0; i < ns; ++i) r.se[st->ue[i]] = solvers[j]->se_[i];
        continue;
      }
      active[kept++] = j;
    }
    active.resize(kept);
  }
}

void LoadCouplingSolver::sinr_after_solve(const CouplingProblem& p, const std::vector<double>& rho,
                                          std::vector<double>& out) {
  const LinkTable& lt = *p.links;
  const int n_ue = lt.n_ues();
  out.resize(n_ue);
  for (int u = 0; u < n_ue; ++u) {
    if (st_->ue_cellslice[u] >= 0) continue;  // served: below
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
  // The ratios on SIMD lanes first, then the scatter (a scatter of divisions runs scalar).
  const size_t ns = st_->ue.size();
  served_sinr_.resize(ns);
  for (size_t i = 0; i < ns; ++i) served_sinr_[i] = st_->signal[i] / interference_[i];
  for (size_t i = 0; i < ns; ++i) out[st_->ue[i]] = served_sinr_[i];
}

}  // namespace pyslice
