/// @file cardiotwin.hpp
/// @brief Everything in cardiotwin that was built (optional components through config.hpp).
#pragma once

#include "cardiotwin/config.hpp"
#include "cardiotwin/core.hpp"
#include "cardiotwin/io.hpp"
#include "cardiotwin/mesh.hpp"
#include "cardiotwin/ep.hpp"
#include "cardiotwin/anatomy.hpp"
#include "cardiotwin/ecg.hpp"
#include "cardiotwin/emulate.hpp"
#if CARDIOTWIN_HAS_MESH_TETGEN
#include "cardiotwin/mesh/tetgen.hpp"
#endif
#if CARDIOTWIN_HAS_MESH_CGAL
#include "cardiotwin/mesh/cgal.hpp"
#endif
#if CARDIOTWIN_HAS_SEGMENT
#include "cardiotwin/segment.hpp"
#endif
