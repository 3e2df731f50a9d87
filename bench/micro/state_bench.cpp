// state.json: serialisation (to_json + dump), parsing (parse_state_json), and
// the on-disk round trip through ContainerDir (write_state is temp file +
// rename; read_state is open + read + parse) in a temporary directory.
#include <benchmark/benchmark.h>

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "spec/config.h"
#include "state/state.h"

namespace {

using glassrun::state::State;

State sample_state() {
  State s;
  s.id = "bench-container-0123456789";
  s.init_pid = 4242;
  s.init_start = 123456789;
  s.created = "2024-01-01T00:00:00.123456789Z";
  // The libcontainer view is about as big as the OCI config itself.
  s.config = glassrun::spec::default_spec(false);
  s.config["labels"] = {"bundle=/var/lib/bundles/bench"};
  for (const char* c : {"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "hugetlb", "memory", "net_cls",
                        "net_prio", "perf_event", "pids", "rdma", "systemd"})
    s.cgroup_paths[c] = std::string("/sys/fs/cgroup/") + c + "/bench-container-0123456789";
  for (const char* n : {"NEWNS", "NEWPID", "NEWNET", "NEWIPC", "NEWUTS", "NEWCGROUP"})
    s.namespace_paths[n] = std::string("/proc/4242/ns/") + n;
  s.external_descriptors = {"/dev/null", "/dev/null", "/dev/null"};
  return s;
}

void BM_StateToJson(benchmark::State& state) {
  const State s = sample_state();
  for (auto _ : state) {
    std::string text = glassrun::state::to_json(s).dump();
    benchmark::DoNotOptimize(text);
  }
}
BENCHMARK(BM_StateToJson)->Unit(benchmark::kMicrosecond);

void BM_StateParse(benchmark::State& state) {
  const std::string text = glassrun::state::to_json(sample_state()).dump();
  for (auto _ : state) {
    State s = glassrun::state::parse_state_json(text);
    benchmark::DoNotOptimize(s);
  }
  state.counters["json_bytes"] = static_cast<double>(text.size());
}
BENCHMARK(BM_StateParse)->Unit(benchmark::kMicrosecond);

struct TmpRoot {
  std::string path;
  TmpRoot() {
    char tmpl[] = "/tmp/glassrun-bench-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
    path = tmpl;
  }
  ~TmpRoot() { std::filesystem::remove_all(path); }
};

void BM_ContainerDirWriteState(benchmark::State& state) {
  TmpRoot root;
  auto dir = glassrun::state::ContainerDir::create(root.path, "bench");
  const State s = sample_state();
  for (auto _ : state) dir.write_state(s);
}
BENCHMARK(BM_ContainerDirWriteState)->Unit(benchmark::kMicrosecond);

void BM_ContainerDirReadState(benchmark::State& state) {
  TmpRoot root;
  auto dir = glassrun::state::ContainerDir::create(root.path, "bench");
  dir.write_state(sample_state());
  for (auto _ : state) {
    State s = dir.read_state();
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_ContainerDirReadState)->Unit(benchmark::kMicrosecond);

}  // namespace
