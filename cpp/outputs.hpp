// The per-step outputs the bindings hand out, listed once: the result dicts, SimulatorBatch's
// output buffers and Python (_core.OUTPUT_FIELDS, read by pyslice.sim.simulator) all use this table.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "simulator.hpp"

namespace pyslice {

// The shape of a field: per (cell, slice) [K, N], per cell [K], per slice [N] or per UE [U].
enum class Extent { CellSlice, Cell, Slice, Ue };

struct OutputField {
  const char* name;
  Extent extent;
  std::vector<double> StepOutputs::*f64;        // a float64 field, or
  std::vector<std::int32_t> StepOutputs::*i32;  // an int32 field
  bool in_batch;  // written by SimulatorBatch.step (the per-UE SINR is derived only on request)
};

inline constexpr std::array<OutputField, 13> kOutputFields{{
    {"throughput", Extent::CellSlice, &StepOutputs::throughput, nullptr, true},
    {"delay", Extent::CellSlice, &StepOutputs::delay, nullptr, true},
    {"load", Extent::CellSlice, &StepOutputs::load, nullptr, true},
    {"users", Extent::CellSlice, nullptr, &StepOutputs::users, true},
    {"outage", Extent::CellSlice, nullptr, &StepOutputs::outage, true},
    {"demand", Extent::CellSlice, &StepOutputs::demand, nullptr, true},
    {"served", Extent::CellSlice, &StepOutputs::served, nullptr, true},
    {"dropped", Extent::CellSlice, &StepOutputs::dropped, nullptr, true},
    {"backlog", Extent::CellSlice, &StepOutputs::backlog, nullptr, true},
    {"shares", Extent::CellSlice, &StepOutputs::shares, nullptr, true},
    {"cell_load", Extent::Cell, &StepOutputs::cell_load, nullptr, true},
    {"sinr_db", Extent::Ue, &StepOutputs::sinr_db, nullptr, false},
    {"mask", Extent::Slice, &StepOutputs::mask, nullptr, true},
}};
// Besides the table: the scalars `iterations` (int; in the batch an int32 [R] buffer) and `time`.

inline const char* extent_name(Extent e) {
  switch (e) {
    case Extent::CellSlice: return "cell,slice";
    case Extent::Cell: return "cell";
    case Extent::Slice: return "slice";
    default: return "ue";
  }
}

}  // namespace pyslice
