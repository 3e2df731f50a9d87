// config.json parse and validate: glassrun::spec::parse_config on the default
// spec (what `glassrun spec` writes) and on a big config (hundreds of mounts,
// env entries, devices, sysctls, annotations and the podman seccomp profile),
// from JSON text to a validated Config, as `create` does it.
#include <benchmark/benchmark.h>

#include <fstream>
#include <stdexcept>
#include <string>

#include "spec/config.h"

#ifndef GLASSRUN_SOURCE_DIR
#error "config_bench.cpp needs -DGLASSRUN_SOURCE_DIR=\"<repo root>\""
#endif

namespace {

using nlohmann::json;

std::string default_text() {
  json spec = glassrun::spec::default_spec(false);
  return spec.dump(1);
}

std::string big_text() {
  json spec = glassrun::spec::default_spec(false);
  for (int i = 0; i < 400; i++) spec["process"]["env"].push_back("VAR_" + std::to_string(i) + "=value-" + std::to_string(i));
  for (int i = 0; i < 200; i++)
    spec["mounts"].push_back({{"destination", "/data/volume" + std::to_string(i)},
                              {"type", "bind"},
                              {"source", "/srv/volumes/v" + std::to_string(i)},
                              {"options", {"rbind", "rprivate", i % 2 ? "ro" : "rw", "nosuid", "nodev"}}});
  for (int i = 0; i < 64; i++)
    spec["linux"]["devices"].push_back({{"path", "/dev/fake" + std::to_string(i)},
                                        {"type", "c"}, {"major", 240}, {"minor", i},
                                        {"fileMode", 0666}, {"uid", 0}, {"gid", 0}});
  for (int i = 0; i < 64; i++) spec["linux"]["sysctl"]["net.ipv4.conf.eth" + std::to_string(i) + ".forwarding"] = "1";
  for (int i = 0; i < 100; i++) spec["annotations"]["org.example.key" + std::to_string(i)] = std::string(64, 'x');
  const std::string path = std::string(GLASSRUN_SOURCE_DIR) + "/runtime/tests/data/seccomp-podman.json";
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  spec["linux"]["seccomp"] = json::parse(in);
  return spec.dump(1);
}

void run_parse(benchmark::State& state, const std::string& text) {
  for (auto _ : state) {
    auto c = glassrun::spec::parse_config(text, "/var/lib/bundle");
    benchmark::DoNotOptimize(c);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(text.size()));
  state.counters["json_bytes"] = static_cast<double>(text.size());
}

void BM_ParseConfigDefault(benchmark::State& state) { run_parse(state, default_text()); }
BENCHMARK(BM_ParseConfigDefault)->Unit(benchmark::kMicrosecond);

void BM_ParseConfigBig(benchmark::State& state) { run_parse(state, big_text()); }
BENCHMARK(BM_ParseConfigBig)->Unit(benchmark::kMicrosecond);

}  // namespace
