// glasstrace's user-space side: turning ring-buffer records into schema-v1
// events (Recorder: pair enter/exit, name, decode arguments, format each
// event as a line of JSON) and writing them (JsonlWriter). Items are events (one per syscall, paired), so
// the items_per_second counter is events per second.
#ifdef GLASSRUN_BENCH_TRACER
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "enter_text.h"
#include "events.h"
#include "jsonl_writer.h"
#include "record.h"
#include "syscalls.h"

namespace {

struct RawRecord {
  std::vector<unsigned char> bytes;
};

gt_task task(uint64_t ts) {
  gt_task t{};
  t.ts = ts;
  t.pid = t.tid = 1000;
  t.ns_pid = t.ns_tid = 1;
  t.mntns = 4026531840u;
  t.pidns = 4026531836u;
  t.cgroup = 1234;
  std::strncpy(t.comm, "glassrun", GT_COMM_LEN);
  return t;
}

long nr(const char* name) { return glasstrace::syscall_nr(name).value(); }

// A mix like a `glassrun run` trace: plain syscalls, path arguments, a mount
// with strings and flags, a write with payload, clone flags.
std::vector<RawRecord> workload() {
  std::vector<RawRecord> out;
  uint64_t ts = 1'000'000;
  auto push = [&](const void* p, std::size_t n) {
    RawRecord r;
    r.bytes.assign(static_cast<const unsigned char*>(p), static_cast<const unsigned char*>(p) + n);
    out.push_back(std::move(r));
  };
  auto exit_of = [&](long n, int64_t ret) {
    gt_sys_exit x{};
    x.h.kind = GT_SYS_EXIT;
    x.h.size = sizeof(x);
    x.h.task = task(ts += 700);
    x.nr = n;
    x.ret = ret;
    x.scm_rights = -1;
    push(&x, sizeof(x));
  };
  auto plain = [&](const char* name, std::initializer_list<uint64_t> args, int64_t ret) {
    gt_sys_enter e{};
    e.h.kind = GT_SYS_ENTER;
    e.h.size = sizeof(e);
    e.h.task = task(ts += 300);
    e.nr = nr(name);
    int i = 0;
    for (uint64_t a : args) e.args[i++] = a;
    push(&e, sizeof(e));
    exit_of(e.nr, ret);
  };
  auto full = [&](const char* name, std::initializer_list<uint64_t> args,
                  std::initializer_list<std::pair<int, const char*>> strs, const char* data, int64_t ret) {
    gt_sys_enter_full f{};
    f.e.h.kind = GT_SYS_ENTER;
    f.e.h.task = task(ts += 300);
    f.e.nr = nr(name);
    f.e.has_payload = 1;
    int i = 0;
    for (uint64_t a : args) f.e.args[i++] = a;
    glasstrace::EnterTextWriter text(f);
    if (data) {
      f.data_len = static_cast<uint32_t>(std::min<std::size_t>(std::strlen(data), GT_DATA_LEN));
      std::memcpy(f.data, data, f.data_len);
      text.path_name("cgroup.procs").path_name("bench").path_name("/");
    }
    for (auto& [arg, s] : strs) text.slot(arg, s);
    f.e.h.size = static_cast<uint32_t>(text.size());
    push(&f, text.size());
    exit_of(f.e.nr, ret);
  };
  for (int round = 0; round < 10; round++) {
    plain("close", {3}, 0);
    plain("read", {3, 0x7ffd0000, 4096}, 812);
    plain("mmap", {0, 8192, 3, 0x22, 0xffffffff, 0}, 0x7f0000000000);
    full("openat", {0xffffff9c, 0x5000, 0x80000, 0}, {{1, "/sys/fs/cgroup/memory/bench/memory.limit_in_bytes"}},
         nullptr, 3);
    full("mount", {0x5000, 0x5100, 0x5200, 0x1000 | 0x4000, 0}, {{0, "proc"}, {1, "/proc"}, {2, "proc"}}, nullptr, 0);
    full("write", {4, 0x5000, 5}, {}, "4242\n", 5);
    plain("clone", {0x20000000 | 0x40000000 | 0x04000000 | 17, 0, 0, 0, 0}, 4243);
    plain("prctl", {8, 21, 0, 0, 0}, 0);
    full("newfstatat", {0xffffff9c, 0x5000, 0x7ffd0000, 0}, {{1, "/dev/null"}}, nullptr, -2);
    plain("rt_sigprocmask", {0, 0x7ffd0000, 0, 8}, 0);
  }
  return out;
}

std::size_t events_in(const std::vector<RawRecord>& w) { return w.size() / 2; }

void BM_TraceDecode(benchmark::State& state) {
  const auto w = workload();
  std::size_t sink_count = 0;
  for (auto _ : state) {
    glasstrace::Recorder rec([&](std::string_view line) { sink_count += line.size(); });
    for (const auto& r : w) rec.on_record(r.bytes.data(), r.bytes.size());
    rec.finish();
  }
  benchmark::DoNotOptimize(sink_count);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * events_in(w)));
}
BENCHMARK(BM_TraceDecode)->Unit(benchmark::kMicrosecond);

void BM_TraceDecodeAndWriteJsonl(benchmark::State& state) {
  const auto w = workload();
  glasstrace::JsonlWriter out("/dev/null");
  for (auto _ : state) {
    glasstrace::Recorder rec([&](std::string_view line) { out.write_line(line); });
    for (const auto& r : w) rec.on_record(r.bytes.data(), r.bytes.size());
    rec.finish();
  }
  out.flush();
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * events_in(w)));
}
BENCHMARK(BM_TraceDecodeAndWriteJsonl)->Unit(benchmark::kMicrosecond);

// Writing alone: already formatted events.
void BM_TraceJsonlEmitOnly(benchmark::State& state) {
  const auto w = workload();
  std::vector<std::string> events;
  glasstrace::Recorder rec([&](std::string_view line) { events.emplace_back(line); });
  for (const auto& r : w) rec.on_record(r.bytes.data(), r.bytes.size());
  rec.finish();
  glasstrace::JsonlWriter out("/dev/null");
  for (auto _ : state)
    for (const auto& e : events) out.write_line(e);
  out.flush();
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * events.size()));
}
BENCHMARK(BM_TraceJsonlEmitOnly)->Unit(benchmark::kMicrosecond);

}  // namespace
#endif  // GLASSRUN_BENCH_TRACER
