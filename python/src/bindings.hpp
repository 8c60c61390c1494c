// Declarations shared by the binding translation units of cardiotwin._core.
#pragma once

#include <pybind11/pybind11.h>

#include <string>

#include "cardiotwin/core/types.hpp"

// Named fields are exposed as a dict-like view whose values are numpy views (no copies).
PYBIND11_MAKE_OPAQUE(cardiotwin::FieldMap)

namespace cardiotwin::python {
namespace py = pybind11;

void bind_errors(py::module_& m);
void bind_core(py::module_& m);
void bind_io(py::module_& m);
void bind_mesh(py::module_& m);
void bind_anatomy(py::module_& m);
void bind_ep(py::module_& m);

/// Convert between nlohmann::json and Python objects through the json module (metadata is small).
py::object json_to_python(const std::string& dumped);
std::string python_to_json(const py::handle& obj);

}  // namespace cardiotwin::python
