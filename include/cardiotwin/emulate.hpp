/// @file emulate.hpp
/// @brief Umbrella header of cardiotwin::emulate (designs of experiments, Gaussian-process emulators).
#pragma once

#include "cardiotwin/emulate/design.hpp"
#include "cardiotwin/emulate/gp.hpp"
