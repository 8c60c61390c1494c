/// @file core.hpp
/// @brief Umbrella header of cardiotwin::core.
#pragma once

#include "cardiotwin/core/atomic_file.hpp"
#include "cardiotwin/core/error.hpp"
#include "cardiotwin/core/image.hpp"
#include "cardiotwin/core/json.hpp"
#include "cardiotwin/core/mesh.hpp"
#include "cardiotwin/core/signals.hpp"
#include "cardiotwin/core/types.hpp"
