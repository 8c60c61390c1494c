/// @file ep.hpp
/// @brief Umbrella header of cardiotwin::ep.
#pragma once

#include "cardiotwin/ep/eikonal.hpp"
#include "cardiotwin/ep/fem.hpp"
#include "cardiotwin/ep/ionic_model.hpp"
#include "cardiotwin/ep/monodomain.hpp"
#include "cardiotwin/ep/single_cell.hpp"
#include "cardiotwin/ep/stimulus.hpp"
