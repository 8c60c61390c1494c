/// @file segment.hpp
/// @brief Umbrella header of cardiotwin::segment (component `segment`, built with libtorch;
/// check CARDIOTWIN_HAS_SEGMENT in cardiotwin/config.hpp).
#pragma once

#include "cardiotwin/segment/segment.hpp"
