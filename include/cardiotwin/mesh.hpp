/// @file mesh.hpp
/// @brief Umbrella header of cardiotwin::mesh.
#pragma once

#include "cardiotwin/mesh/label_map.hpp"
#include "cardiotwin/mesh/procedural.hpp"
#include "cardiotwin/mesh/quality.hpp"
#include "cardiotwin/mesh/surface.hpp"
