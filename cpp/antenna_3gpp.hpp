// The 3GPP 3-D BS antenna: the element pattern of TR 36.873 Table 7.1-1 / TR 38.901 Table 7.3-1
// (vertical and horizontal cuts combined), a vertical column of K elements mapped to one port with
// an electrical downtilt (TR 36.873 section 7.1, K = M), and a mechanical downtilt of the panel
// (TR 38.901 section 7.1.3, bearing 0, slant 0). Angles in degrees: zenith theta (90 = horizon,
// above 90 below it), azimuth phi off the sector's boresight.
#pragma once

#include "pathloss.hpp"

namespace pyslice {

// Element gain (dBi, max gain_dbi) at local angles: -min(-(A_V + A_H), A_m) + G_E,max.
double element_gain_3gpp_db(double theta_deg, double phi_deg, const AntennaParams& a);

// Power gain of the K-element column (linear, K at the beam peak, 1 for K = 1) at local zenith
// theta, weights w_k = K^-1/2 exp(-j 2 pi (k-1) d_V cos(theta_etilt)), theta_etilt = 90 + tilt.
double column_array_gain(double theta_deg, const AntennaParams& a);
// The same from cos(theta) (the link kernel has it from the geometry without trigonometry).
double column_array_gain_cos(double cos_theta, const AntennaParams& a);

// Gain (dBi) of the whole antenna towards global (theta, phi off boresight): mechanical tilt,
// element pattern and column gain; floored at -300 dB where the column has an exact null.
double antenna_gain_3gpp_db(double theta_deg, double phi_deg, const AntennaParams& a);

// The zenith angle (deg) from a BS at height h_bs to a UE at height h_ut, 2-D distance d2d.
double zenith_angle_deg(double d2d, double h_bs, double h_ut);

}  // namespace pyslice
