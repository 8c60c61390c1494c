// Example: build a small tetrahedral slab, check it, write it as VTU and openCARP, read both back.
//
//   mesh_io OUTDIR [MESH.vtu]
//
// With a mesh argument, that mesh is read instead of the slab. Sample run:
//   $ ./mesh_io out
//   slab: 1331 points, 6000 tets, volume 1000.000 mm^3, ok
//   wrote out/slab.vtu and out/slab.{pts,elem,lon}; read back 6000 tets, max |dx| 0 mm
#include <cardiotwin/core/error.hpp>
#include <cardiotwin/core/mesh.hpp>
#include <cardiotwin/io/opencarp.hpp>
#include <cardiotwin/io/vtk.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>

namespace ct = cardiotwin;

// An n x n x n grid of cubes of side h (mm), each split into 6 tets; fibres along x.
ct::TetMesh slab(int n, double h) {
  ct::TetMesh m;
  const int np = n + 1;
  m.points.resize(np * np * np, 3);
  for (int k = 0; k < np; ++k)
    for (int j = 0; j < np; ++j)
      for (int i = 0; i < np; ++i) m.points.row(i + np * (j + np * k)) << i * h, j * h, k * h;
  m.tets.resize(6 * n * n * n, 4);
  const int corner[6][4] = {{0, 1, 3, 7}, {0, 3, 2, 7}, {0, 2, 6, 7}, {0, 6, 4, 7}, {0, 4, 5, 7}, {0, 5, 1, 7}};
  int t = 0;
  for (int k = 0; k < n; ++k)
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < n; ++i) {
        int v[8];
        for (int c = 0; c < 8; ++c) v[c] = (i + (c & 1)) + np * ((j + ((c >> 1) & 1)) + np * (k + ((c >> 2) & 1)));
        for (const auto& tet : corner) m.tets.row(t++) << v[tet[0]], v[tet[1]], v[tet[2]], v[tet[3]];
      }
  ct::fix_orientation(m);
  m.region = ct::Tags::Ones(m.tets.rows());
  m.fibre = ct::Directions::Zero(m.tets.rows(), 3);
  m.fibre.col(0).setOnes();
  return m;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: mesh_io OUTDIR [MESH.vtu]\n";
    return 2;
  }
  try {
    const std::filesystem::path out = argv[1];
    std::filesystem::create_directories(out);
    ct::TetMesh mesh = argc > 2 ? ct::io::read_vtu(argv[2]) : slab(10, 1.0);
    const ct::MeshCheck check = ct::check_mesh(mesh);
    std::printf("%s: %lld points, %lld tets, volume %.3f mm^3, %s\n", argc > 2 ? argv[2] : "slab",
                static_cast<long long>(mesh.num_points()), static_cast<long long>(mesh.num_tets()),
                check.total_measure, check.ok() ? "ok" : "PROBLEMS");
    ct::io::write_vtu((out / "slab.vtu").string(), mesh);
    ct::io::write_opencarp((out / "slab").string(), mesh);
    const ct::TetMesh back = ct::io::read_opencarp((out / "slab").string());
    const ct::TetMesh back_vtu = ct::io::read_vtu((out / "slab.vtu").string());
    const double err = (back.points - mesh.points).cwiseAbs().maxCoeff();
    std::printf("wrote %s and %s.{pts,elem,lon}; read back %lld tets, max |dx| %g mm\n",
                (out / "slab.vtu").string().c_str(), (out / "slab").string().c_str(),
                static_cast<long long>(back.num_tets()), err);
    if (back_vtu.tets != mesh.tets || err > 1e-9) {
      std::cerr << "round trip changed the mesh\n";
      return 1;
    }
    return 0;
  } catch (const ct::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
