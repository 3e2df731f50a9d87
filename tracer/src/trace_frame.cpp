#include "trace_frame.h"

#include <fmt/format.h>
#include <sys/utsname.h>

#ifndef GLASSTRACE_VERSION
#define GLASSTRACE_VERSION "0"
#endif

namespace glasstrace {
namespace {

std::string iso_time(uint64_t realtime_ns) {
  time_t s = realtime_ns / 1000000000ULL;
  struct tm tm;
  gmtime_r(&s, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, (realtime_ns / 1000) % 1000000);
}

}  // namespace

uint64_t clock_ns(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ULL + ts.tv_nsec;
}

TraceFrame::TraceFrame(JsonlWriter& out, const TraceStart& start) : out_(out) {
  utsname u{};
  uname(&u);
  start_mono_ = clock_ns(CLOCK_MONOTONIC);
  uint64_t real = clock_ns(CLOCK_REALTIME);
  Json meta = {{"v", 1},
               {"type", "meta"},
               {"tracer", "glasstrace"},
               {"version", GLASSTRACE_VERSION},
               {"command", start.command.empty() ? Json(nullptr) : Json(start.command)},
               {"attach_pid", start.attach_pid ? Json(*start.attach_pid) : Json(nullptr)},
               {"root_pid", start.root_pid},
               {"start_time", iso_time(real)},
               {"realtime_ns", real},
               {"monotonic_ns", start_mono_},
               {"kernel", std::string(u.release)},
               {"usdt", start.usdt}};
  // Events lost for a full ring buffer: known at the end, written into the
  // first record then (null if the trace is not a seekable file).
  dropped_at_ = out_.write_with_pending(meta, "dropped");
  // Out at once, not with the first 256 KiB of events: a trace being
  // written says what it is from its start (tail -f, a killed client).
  out_.flush();
}

void TraceFrame::finish(const TraceEnd& end) {
  Json summary = {{"v", 1},
                  {"type", "summary"},
                  {"events", end.rec.events() + end.sched_written},
                  {"dropped", end.dropped},
                  {"syscalls", end.rec.syscalls()},
                  {"unpaired_exits", end.rec.unpaired_exits()},
                  {"records", end.rec.records()},
                  {"duration_ns", clock_ns(CLOCK_MONOTONIC) - start_mono_},
                  {"exit_status", end.exit_status ? Json(*end.exit_status) : Json(nullptr)}};
  if (end.sched_dropped) summary["sched_events"] = end.sched_written, summary["sched_dropped"] = *end.sched_dropped;
  out_.write(summary);
  out_.patch(dropped_at_, end.dropped);
  out_.close();
}

}  // namespace glasstrace
