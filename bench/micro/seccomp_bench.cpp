// Cost of compiling a Docker/podman-sized linux.seccomp profile (~440 syscall
// names over 3 architectures): the work `create` does in the parent before
// clone. Needs GLASSRUN_SOURCE_DIR defined to the repository root.
#include <benchmark/benchmark.h>

#include <fstream>
#include <stdexcept>

#include "linux/seccomp.h"

#ifndef GLASSRUN_SOURCE_DIR
#error "seccomp_bench.cpp needs -DGLASSRUN_SOURCE_DIR=\"<repo root>\""
#endif

namespace {

nlohmann::json podman_profile() {
  const std::string path = std::string(GLASSRUN_SOURCE_DIR) + "/runtime/tests/data/seccomp-podman.json";
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  return nlohmann::json::parse(in);
}

void BM_SeccompCompileDockerProfile(benchmark::State& state) {
  const nlohmann::json profile = podman_profile();
  for (auto _ : state) {
    auto filter = glassrun::seccomp::compile(profile);
    benchmark::DoNotOptimize(filter);
  }
  state.counters["bpf_instructions"] = static_cast<double>(glassrun::seccomp::compile(profile)->bpf_size() / 8);
}
BENCHMARK(BM_SeccompCompileDockerProfile)->Unit(benchmark::kMicrosecond);

// compile() only builds libseccomp's rule database; generating the BPF is
// deferred to load(). This measures that second half too.
void BM_SeccompGenerateBpfDockerProfile(benchmark::State& state) {
  auto filter = glassrun::seccomp::compile(podman_profile());
  for (auto _ : state) benchmark::DoNotOptimize(filter->bpf_size());
}
BENCHMARK(BM_SeccompGenerateBpfDockerProfile)->Unit(benchmark::kMicrosecond);

}  // namespace
