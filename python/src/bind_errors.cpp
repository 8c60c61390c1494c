// Maps the C++ exception hierarchy onto Python exception types that also derive from the
// matching builtin (ValueError, OSError, ...), so `except ValueError` keeps working.
#include <vector>

#include "bindings.hpp"
#include "cardiotwin/core/error.hpp"

namespace cardiotwin::python {
namespace {

PyObject* make_exception(py::module_& m, const char* name, PyObject* bases, const char* doc) {
  const std::string full = std::string("cardiotwin._core.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(full.c_str(), doc, bases, nullptr);
  if (!type) throw py::error_already_set();
  m.add_object(name, py::handle(type));
  return type;
}

PyObject* g_error = nullptr;
PyObject* g_file_format = nullptr;
PyObject* g_file_io = nullptr;
PyObject* g_invalid = nullptr;
PyObject* g_diverged = nullptr;
PyObject* g_missing = nullptr;

void raise(PyObject* type, const Error& e) {
  py::object exc = py::reinterpret_borrow<py::object>(type)(e.what());
  exc.attr("description") = e.description();
  exc.attr("expected") = e.expected();
  exc.attr("found") = e.found();
  exc.attr("file") = e.where().file;
  exc.attr("field") = e.where().field;
  exc.attr("element") = e.where().element >= 0 ? py::object(py::int_(e.where().element)) : py::none();
  PyErr_SetObject(type, exc.ptr());
}

}  // namespace

void bind_errors(py::module_& m) {
  g_error = make_exception(m, "Error", PyExc_Exception,
                           "Base class of every cardiotwin error. Attributes: description, expected, "
                           "found, file, field, element.");
  // The tuples are kept alive for the life of the process, as the types are.
  static std::vector<py::tuple> keep;
  auto bases = [](PyObject* a, PyObject* b) {
    keep.push_back(py::make_tuple(py::handle(a), py::handle(b)));
    return keep.back().ptr();
  };
  g_file_format = make_exception(m, "FileFormatError", bases(g_error, PyExc_ValueError),
                                 "A file's content does not follow its format.");
  g_file_io = make_exception(m, "FileIOError", bases(g_error, PyExc_OSError),
                             "A file cannot be opened, read or written.");
  g_invalid = make_exception(m, "InvalidInput", bases(g_error, PyExc_ValueError),
                             "An argument or object is invalid.");
  g_diverged = make_exception(m, "SolverDiverged", bases(g_error, PyExc_RuntimeError),
                              "A numerical method failed to converge or blew up.");
  g_missing = make_exception(m, "MissingComponent", bases(g_error, PyExc_ImportError),
                             "The feature needs an optional component that was not built.");
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const FileFormatError& e) {
      raise(g_file_format, e);
    } catch (const FileIOError& e) {
      raise(g_file_io, e);
    } catch (const InvalidInput& e) {
      raise(g_invalid, e);
    } catch (const SolverDiverged& e) {
      raise(g_diverged, e);
    } catch (const MissingComponent& e) {
      raise(g_missing, e);
    } catch (const Error& e) {
      raise(g_error, e);
    }
  });
}

py::object json_to_python(const std::string& dumped) {
  return py::module_::import("json").attr("loads")(dumped);
}
std::string python_to_json(const py::handle& obj) {
  return py::module_::import("json").attr("dumps")(obj).cast<std::string>();
}

}  // namespace cardiotwin::python
