# Included right after find_package(Torch) (here and in the installed cardiotwinConfig.cmake).
# The CMake config of the pip torch wheel gives its caffe2::mkl target the include directory
# "MKL_INCLUDE_DIR-NOTFOUND" when no MKL headers are found (the wheel ships none), and CMake then
# refuses to generate any target that links torch. Drop such entries.
foreach(_ct_target IN ITEMS caffe2::mkl torch torch_cpu)
  if(TARGET ${_ct_target})
    get_target_property(_ct_inc ${_ct_target} INTERFACE_INCLUDE_DIRECTORIES)
    # (not if(_ct_inc): a value ending in -NOTFOUND is false there)
    if(NOT "${_ct_inc}" STREQUAL "_ct_inc-NOTFOUND")
      list(FILTER _ct_inc EXCLUDE REGEX "-NOTFOUND$")
      set_property(TARGET ${_ct_target} PROPERTY INTERFACE_INCLUDE_DIRECTORIES "${_ct_inc}")
    endif()
  endif()
endforeach()
unset(_ct_target)
unset(_ct_inc)
