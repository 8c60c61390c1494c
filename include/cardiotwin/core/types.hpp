/// @file types.hpp
/// @brief The one place that fixes array layouts shared by C++ and numpy.
///
/// Points and cells are row-major (`N x 3`, `M x 4`) so that numpy arrays of
/// shape (N, 3) pass to and from C++ without copies.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <map>
#include <string>

namespace cardiotwin {

/// Integer type of cell connectivity and tags (int32 keeps meshes of up to 2^31 nodes
/// at half the memory traffic of int64).
using Index = std::int32_t;

/// `#points by 3` coordinates in mm, row-major.
using Points = Eigen::Matrix<double, Eigen::Dynamic, 3, Eigen::RowMajor>;
/// `#elements by 3` unit vectors (fibre, sheet, normal), row-major.
using Directions = Points;
/// `#tets by 4` node indices, row-major, positively oriented.
using Tets = Eigen::Matrix<Index, Eigen::Dynamic, 4, Eigen::RowMajor>;
/// `#triangles by 3` node indices, row-major.
using Triangles = Eigen::Matrix<Index, Eigen::Dynamic, 3, Eigen::RowMajor>;
/// One integer per element (region tags, face tags).
using Tags = Eigen::Matrix<Index, Eigen::Dynamic, 1>;
/// A named field: `#entities by #components`, row-major (1 column for scalars, 3 for vectors).
using Field = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
/// Named fields, sorted by name so files are written deterministically.
using FieldMap = std::map<std::string, Field>;

}  // namespace cardiotwin
