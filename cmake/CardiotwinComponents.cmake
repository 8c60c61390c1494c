# Optional components: each lives in its own static library so that its (copyleft or heavy)
# dependency stays out of cardiotwin::core. Their public headers speak only Eigen and cardiotwin
# types. A component is declared here once its sources exist.
if(CARDIOTWIN_WITH_TETGEN AND EXISTS ${PROJECT_SOURCE_DIR}/src/mesh/tetgen.cpp)
  cardiotwin_add_library(mesh_tetgen SOURCES src/mesh/tetgen.cpp
    PUBLIC_DEPS cardiotwin::core cardiotwin::mesh PRIVATE_DEPS TetGen::TetGen)
endif()
if(CARDIOTWIN_WITH_CGAL AND EXISTS ${PROJECT_SOURCE_DIR}/src/mesh/cgal.cpp)
  cardiotwin_add_library(mesh_cgal SOURCES src/mesh/cgal.cpp
    PUBLIC_DEPS cardiotwin::core cardiotwin::mesh PRIVATE_DEPS CGAL::CGAL)
  # Optional TBB: CGAL's parallel Mesh_3 (LabelMeshOptions::parallel; sequential stays the default).
  find_package(TBB QUIET CONFIG)
  if(TBB_FOUND)
    target_compile_definitions(cardiotwin_mesh_cgal PRIVATE CGAL_LINKED_WITH_TBB NOMINMAX)
    target_link_libraries(cardiotwin_mesh_cgal PRIVATE TBB::tbb TBB::tbbmalloc)
    set(CARDIOTWIN_CGAL_WITH_TBB 1)
  else()
    set(CARDIOTWIN_CGAL_WITH_TBB 0)
  endif()
endif()
if(CARDIOTWIN_WITH_TORCH AND EXISTS ${PROJECT_SOURCE_DIR}/src/segment/torch.cpp)
  # libtorch is included by torch.cpp only; segment.cpp (pre/postprocessing) compiles quickly.
  cardiotwin_add_library(segment SOURCES src/segment/segment.cpp src/segment/torch.cpp
    PUBLIC_DEPS cardiotwin::core PRIVATE_DEPS ${TORCH_LIBRARIES})
endif()
foreach(comp mesh_tetgen mesh_cgal segment)
  if(TARGET cardiotwin_${comp})
    set(CARDIOTWIN_HAS_${comp} 1)
  else()
    set(CARDIOTWIN_HAS_${comp} 0)
    list(REMOVE_ITEM CARDIOTWIN_COMPONENTS ${comp})
  endif()
endforeach()
