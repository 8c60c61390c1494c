#[=======================================================================[.rst:
FindTetGen
----------

Finds TetGen (Debian/Ubuntu ``libtet1.5-dev`` ships a header and a library but no CMake config).

Imported target ``TetGen::TetGen``. Result variables ``TetGen_FOUND``, ``TetGen_INCLUDE_DIRS``,
``TetGen_LIBRARIES``, ``TetGen_VERSION`` (from the header when it says so).
Hints: ``TetGen_ROOT`` or ``TETGEN_DIR`` (a prefix with include/ and lib/).
#]=======================================================================]
find_path(TetGen_INCLUDE_DIR NAMES tetgen.h
  HINTS ${TetGen_ROOT} ${TETGEN_DIR} ENV TETGEN_DIR PATH_SUFFIXES include include/tetgen)
find_library(TetGen_LIBRARY NAMES tet tetgen
  HINTS ${TetGen_ROOT} ${TETGEN_DIR} ENV TETGEN_DIR PATH_SUFFIXES lib lib64)

if(TetGen_INCLUDE_DIR AND EXISTS "${TetGen_INCLUDE_DIR}/tetgen.h")
  file(STRINGS "${TetGen_INCLUDE_DIR}/tetgen.h" _tetgen_ver REGEX "TetGen Version [0-9.]+" LIMIT_COUNT 1)
  if(_tetgen_ver MATCHES "Version ([0-9.]+[0-9])")
    set(TetGen_VERSION ${CMAKE_MATCH_1})
  endif()
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(TetGen REQUIRED_VARS TetGen_LIBRARY TetGen_INCLUDE_DIR
  VERSION_VAR TetGen_VERSION)

if(TetGen_FOUND)
  set(TetGen_INCLUDE_DIRS ${TetGen_INCLUDE_DIR})
  set(TetGen_LIBRARIES ${TetGen_LIBRARY})
  if(NOT TARGET TetGen::TetGen)
    add_library(TetGen::TetGen UNKNOWN IMPORTED)
    set_target_properties(TetGen::TetGen PROPERTIES
      IMPORTED_LOCATION "${TetGen_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${TetGen_INCLUDE_DIR}"
      # The Debian library is built with TETLIBRARY; the header needs it to declare the API.
      INTERFACE_COMPILE_DEFINITIONS TETLIBRARY)
  endif()
endif()
mark_as_advanced(TetGen_INCLUDE_DIR TetGen_LIBRARY)
