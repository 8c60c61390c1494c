/// @file io.hpp
/// @brief Umbrella header of cardiotwin::io.
#pragma once

#include "cardiotwin/io/gzip.hpp"
#include "cardiotwin/io/nifti.hpp"
#include "cardiotwin/io/opencarp.hpp"
#include "cardiotwin/io/stl.hpp"
#include "cardiotwin/io/vtk.hpp"
