/// @file anatomy.hpp
/// @brief Umbrella header of cardiotwin::anatomy.
#pragma once

#include "cardiotwin/anatomy/coordinates.hpp"
#include "cardiotwin/anatomy/fibres.hpp"
#include "cardiotwin/anatomy/laplace.hpp"
