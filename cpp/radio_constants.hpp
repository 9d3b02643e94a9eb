// Link-to-system constants of the spectral-efficiency model (docs/model.md section 4):
// truncated Shannon (3GPP TR 36.942 A.1), one definition for the model and the SIMD kernels.
#pragma once

namespace pyslice {

constexpr double kOutageSinr = 0.1;     // -10 dB: below it a UE is in outage (spectral efficiency 0)
constexpr double kSeEfficiency = 0.6;   // attenuation factor of the Shannon bound
constexpr double kSeMax = 4.4;          // bit/s/Hz cap

}  // namespace pyslice
