# Included right after find_package(Torch) (here and in the installed cardiotwinConfig.cmake).
# The CMake config of the pip torch wheel describes MKL through a target caffe2::mkl even though
# the wheel links MKL into libtorch_cpu and ships no MKL headers: without MKL installed, its
# include directory is "MKL_INCLUDE_DIR-NOTFOUND" (CMake then refuses to generate any target
# linking torch) and its link libraries "FALSE" (the link fails on -lFALSE). Drop such entries.
foreach(_ct_target IN ITEMS caffe2::mkl torch torch_cpu)
  if(TARGET ${_ct_target})
    foreach(_ct_prop IN ITEMS INTERFACE_INCLUDE_DIRECTORIES INTERFACE_LINK_LIBRARIES)
      get_target_property(_ct_values ${_ct_target} ${_ct_prop})
      # (not if(_ct_values): a value ending in -NOTFOUND is false there)
      if(NOT "${_ct_values}" STREQUAL "_ct_values-NOTFOUND")
        list(FILTER _ct_values EXCLUDE REGEX "-NOTFOUND$")
        list(FILTER _ct_values EXCLUDE REGEX "^(FALSE|OFF|NO)$")
        set_property(TARGET ${_ct_target} PROPERTY ${_ct_prop} "${_ct_values}")
      endif()
    endforeach()
  endif()
endforeach()
# Its link directories are MKL_ROOT-relative guesses (/lib/intel64 ... when MKL_ROOT is unset):
# keep only those that exist, so they do not end up in run paths.
if(TARGET caffe2::mkl)
  get_target_property(_ct_values caffe2::mkl INTERFACE_LINK_DIRECTORIES)
  if(NOT "${_ct_values}" STREQUAL "_ct_values-NOTFOUND")
    set(_ct_kept)
    foreach(_ct_dir IN LISTS _ct_values)
      if(IS_DIRECTORY "${_ct_dir}")
        list(APPEND _ct_kept "${_ct_dir}")
      endif()
    endforeach()
    set_property(TARGET caffe2::mkl PROPERTY INTERFACE_LINK_DIRECTORIES "${_ct_kept}")
    unset(_ct_kept)
    unset(_ct_dir)
  endif()
endif()
unset(_ct_target)
unset(_ct_prop)
unset(_ct_values)
