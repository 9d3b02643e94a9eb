// Load-coupled SINR with slices: the fixed point rho = F(rho) of docs/model.md section 4.
//   gamma_u(rho) = P_c g[c,u] / (sum_{i != c} rho_i P_i g[i,u] + noise)
//   x[k,n](rho)  = sum_{u in U[k,n]} d_u / (M B se(gamma_u(rho)))
//   F_k(rho)     = sum_n min(a[k,n], x[k,n](rho))
// Outage (SINR at full interference below -10 dB) is decided once, before iterating, so F is a
// monotone, bounded standard interference function and its fixed point is unique.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace pyslice {

// Sparse per-UE links: UE u's links are [offset[u], offset[u+1]) of (cell, linear gain).
struct LinkTable {
  std::vector<int> offset{0};
  std::vector<int> cell;
  std::vector<double> gain;
  // > 0: the table is dense, every UE has links to all `full_cells` cells in cell order (link
  // offset[u] + k is cell k), which lets loops run over cells without looking links up.
  int full_cells = 0;
  void clear() {
    offset.assign(1, 0);
    cell.clear();
    gain.clear();
    full_cells = 0;
  }
  int n_ues() const { return static_cast<int>(offset.size()) - 1; }
  // The links of a dense gain matrix gain[k * U + u] (K x U, row-major): UE u links to every cell
  // with a positive gain; dense when all gains are positive.
  static LinkTable from_dense(const double* gain, int K, int U);
};

// How the solver stores interferers: Auto = one dense block per serving cell over the cells its
// UEs link to; Dense = the same blocks over all cells; Sparse = per-UE lists. The results are the
// same sums in the same order either way (tests cover all three).
enum class InterferenceMatrix { Auto = 0, Dense = 1, Sparse = 2 };

struct CouplingProblem {
  int n_cells = 0;
  int n_slices = 0;
  const LinkTable* links = nullptr;
  const int* serving = nullptr;      // [U]
  const int* slice_of = nullptr;     // [U]
  const double* demand = nullptr;    // [U] bit/s
  // [U] UEs taking part (SINR, outage, se); nullptr: those with demand > 0.
  const std::uint8_t* active = nullptr;
  const double* tx_power_w = nullptr;  // [K] per PRB
  const double* shares = nullptr;    // [K*N]
  double noise_w = 0.0;              // per PRB
  double prb_bandwidth_hz = 0.0;
  double n_prb = 0.0;
  double tol = 1e-6;
  int max_iter = 200;
  InterferenceMatrix matrix = InterferenceMatrix::Auto;
};

struct CouplingResult {
  std::vector<double> rho;       // [K], in: warm start, out: fixed point
  std::vector<double> x;         // [K*N] needed share at the last sweep's evaluation of cell k
  std::vector<double> se;        // [U] spectral efficiency at that evaluation (0 if not served)
  std::vector<std::uint8_t> outage;  // [U] 1 if offering traffic but in outage
  int iterations = 0;
};

// Everything of a coupling problem that does not depend on the shares (so replicas of one world
// can share it): the served UEs (SINR at full load >= -10 dB) grouped by (cell, slice) so that
// x[k, n] is a contiguous sum (served UE i is ue[i], with its signal and weight d/(MB)), the
// outage flags, and the interferers as dense blocks or sparse lists.
struct CouplingStructure {
  std::vector<int> ue_cellslice;   // [U] cell*N+slice of a served UE, -1 otherwise
  std::vector<int> ue, segment;    // served UEs grouped by (cell, slice); segment bounds
  std::vector<double> signal, full_interference, weight;
  std::vector<std::uint8_t> outage;  // [U] 1 if offering traffic but in outage
  bool blocked = true;
  // Blocks: cell c's rows are block_cells[block_cell_off[c]..), data at block_pg[block_off[c]..)
  // with row stride block_ld[c].
  std::vector<int> block_cells, block_cell_off;
  std::vector<size_t> block_off, block_ld;
  std::vector<double> block_pg;
  // Sparse rows [intf_off[i], intf_off[i+1]) of (cell, P g).
  std::vector<int> intf_off, intf_cell;
  std::vector<double> intf_pg;
};

class LoadCouplingSolver {
 public:
  LoadCouplingSolver() = default;
  LoadCouplingSolver(const LoadCouplingSolver& other);
  LoadCouplingSolver& operator=(const LoadCouplingSolver& other);
  // Solves in place: result.rho must hold the warm start (size K). = prepare + solve_prepared.
  void solve(const CouplingProblem& p, CouplingResult& result);
  // Builds the shares-independent structure of p (p.shares is not read).
  void prepare(const CouplingProblem& p);
  // Solves p on the structure `from` prepared for the same world (this solver or another one's,
  // read only; it must stay unchanged until this solver's next solve, for sinr_after_solve).
  void solve_prepared(const CouplingProblem& p, CouplingResult& result, const LoadCouplingSolver& from);
  // solve_prepared for n problems of one world (each with its own shares, warm start, result and
  // solver) on the structure `from`, together: per problem the same sweeps and bits as alone, with
  // each dense interferer block streamed once per sweep for all problems still iterating.
  static void solve_prepared_many(int n, const CouplingProblem* const* problems, CouplingResult* const* results,
                                  LoadCouplingSolver* const* solvers, const LoadCouplingSolver& from);
  // SINR (linear) of every UE at its serving cell for the problem of the last solve and its fixed
  // point rho, reusing the structure it ran on for the served UEs.
  void sinr_after_solve(const CouplingProblem& p, const std::vector<double>& rho, std::vector<double>& out);

 private:
  // Served UEs (SINR at full load >= -10 dB), grouped by (cell, slice) so that x[k, n] is a
  // contiguous sum: served UE i is ue_[i], with its signal and weight d/(MB).
  void collect_served(const CouplingProblem& p);
  // Interferers as one dense block per serving cell (rows: linked cells, columns: its UEs):
  // plan_blocks lays them out and returns their entry count, fill_blocks writes them.
  size_t plan_blocks(const CouplingProblem& p);
  void fill_blocks(const CouplingProblem& p);
  // Interferers as per-UE lists of (cell, P g).
  void build_sparse(const CouplingProblem& p);
  // out[i] = init + sum over the block rows of rho[cell] * P g, cells ascending.
  void block_interference(const CouplingProblem& p, const std::vector<double>& rho, double init,
                          std::vector<double>& out);
  // The same for the UEs served by cell c only (their slots of out).
  void cell_block_interference(const CouplingProblem& p, const std::vector<double>& rho, int c, double init,
                               double* out);
  // Drops the UEs marked in own_.outage from the grouped arrays, keeping the order.
  void compact_outage(const CouplingProblem& p);
  // Interference (noise included) of every served UE at the loads rho (into interference_).
  void interference(const CouplingProblem& p, const std::vector<double>& rho);
  // The same for the UEs served by cell c only.
  void cell_interference(const CouplingProblem& p, const std::vector<double>& rho, int c);

  CouplingStructure own_;                  // built by prepare()
  const CouplingStructure* st_ = &own_;    // the structure of the last solve (own_ or another's)
  // Scratch of the build (cursor_, row_of_, scale_, ones_) and of the iterations.
  std::vector<int> cursor_, row_of_;
  std::vector<double> interference_, se_, served_sinr_, block_rho_, scale_, ones_;
};

}  // namespace pyslice
