# cardiotwin_add_library(<name> SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
# Declares static library cardiotwin_<name> with alias cardiotwin::<name> (exported as
# cardiotwin::<name>), the shared include directories and warning flags.
function(cardiotwin_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  set(tgt cardiotwin_${name})
  add_library(${tgt} STATIC ${ARG_SOURCES})
  add_library(cardiotwin::${name} ALIAS ${tgt})
  set_target_properties(${tgt} PROPERTIES EXPORT_NAME ${name} OUTPUT_NAME cardiotwin_${name})
  target_compile_features(${tgt} PUBLIC cxx_std_17)
  target_include_directories(${tgt} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(${tgt} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  cardiotwin_warnings(${tgt})
  set(CARDIOTWIN_EXPORTED_TARGETS ${CARDIOTWIN_EXPORTED_TARGETS} ${tgt} PARENT_SCOPE)
endfunction()

function(cardiotwin_warnings tgt)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${tgt} PRIVATE -Wall -Wextra -Wpedantic)
    if(CARDIOTWIN_WARNINGS_AS_ERRORS)
      target_compile_options(${tgt} PRIVATE -Werror)
    endif()
  endif()
endfunction()
