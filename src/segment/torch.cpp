// The only translation unit that includes libtorch: loading a TorchScript module and running it.
#include <ATen/Parallel.h>
#include <torch/script.h>

#include <filesystem>
#include <fstream>

#include "cardiotwin/core/error.hpp"
#include "cardiotwin/segment/segment.hpp"

namespace cardiotwin::segment {

namespace {

/// The network output as a tensor: plain tensors, or the first element of a tuple/list
/// (deep-supervision networks return the full-resolution output first).
torch::Tensor first_tensor(const torch::IValue& v) {
  if (v.isTensor()) return v.toTensor();
  if (v.isTuple() && !v.toTupleRef().elements().empty()) return first_tensor(v.toTupleRef().elements()[0]);
  if (v.isList() && v.toListRef().size() > 0) return first_tensor(v.toListRef()[0]);
  CARDIOTWIN_CHECK(false, InvalidInput, "model output is not a tensor",
                   "a tensor (or a tuple/list starting with one)", v.tagKind(), Where({}, "model"));
  return {};
}

}  // namespace

void set_num_threads(int threads) {
  CARDIOTWIN_CHECK(threads >= 1, InvalidInput, "bad thread count", ">= 1", threads,
                   Where({}, "threads"));
  at::set_num_threads(threads);
}

Model Model::load(const std::string& dir) {
  namespace fs = std::filesystem;
  CARDIOTWIN_CHECK(fs::is_directory(dir), FileIOError, "model folder not found",
                   "a folder with model.pt and metadata.json", "no such folder", Where(dir));
  return load((fs::path(dir) / "model.pt").string(), (fs::path(dir) / "metadata.json").string());
}

Model Model::load(const std::string& model_path, const std::string& metadata_path) {
  ModelInfo info = ModelInfo::read(metadata_path);
  CARDIOTWIN_CHECK(std::ifstream(model_path).good(), FileIOError, "cannot open TorchScript model",
                   "a readable file", "no such file or no permission", Where(model_path));
  auto module = std::make_shared<torch::jit::script::Module>();
  try {
    *module = torch::jit::load(model_path, torch::kCPU);
  } catch (const c10::Error& e) {
    CARDIOTWIN_CHECK(false, FileFormatError, "not a TorchScript model",
                     "a file saved with torch.jit.save", e.what_without_backtrace(), Where(model_path));
  }
  module->eval();
  const std::string path = model_path;
  ForwardFn fwd = [module, path](const std::vector<float>& input, std::int64_t n, std::int64_t h,
                                 std::int64_t w, std::vector<float>& output,
                                 std::int64_t& out_channels) {
    c10::InferenceMode guard;
    // from_blob does not copy; the input outlives the call
    auto x = torch::from_blob(const_cast<float*>(input.data()), {n, 1, h, w}, torch::kFloat32);
    torch::Tensor y;
    try {
      y = first_tensor(module->forward({x}));
    } catch (const c10::Error& e) {
      CARDIOTWIN_CHECK(false, InvalidInput, "the model failed on its input",
                       "a network taking (n, 1, h, w) float32 patches",
                       e.what_without_backtrace(), Where(path));
    }
    CARDIOTWIN_CHECK(y.dim() == 4 && y.size(0) == n && y.size(2) == h && y.size(3) == w,
                     InvalidInput, "bad model output shape",
                     "(" << n << ", channels, " << h << ", " << w << ")", y.sizes(), Where(path));
    y = y.to(torch::kFloat32).contiguous();
    out_channels = y.size(1);
    output.assign(y.data_ptr<float>(), y.data_ptr<float>() + y.numel());
  };
  return Model(std::move(info), std::move(fwd));
}

}  // namespace cardiotwin::segment
