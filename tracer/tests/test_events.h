// Hand-made trace events for the unit tests.
#pragma once

#include <string>

#include "record.h"

namespace glasstrace::testing {

inline Json syscall_event(uint32_t pid, uint64_t ts, const std::string& name, Json args, Json decoded,
                          int64_t ret = 0, uint32_t ns_pid = 0) {
  Json raw = Json::array();
  for (const auto& a : args) raw.push_back(a);
  while (raw.size() < 6) raw.push_back(0);
  return Json{{"v", 1}, {"type", "syscall"}, {"ts", ts}, {"pid", pid}, {"tid", pid},
              {"ns_pid", ns_pid ? ns_pid : pid}, {"ns_tid", ns_pid ? ns_pid : pid}, {"comm", "t"},
              {"mntns", 1}, {"pidns", 1}, {"cgroup", 1}, {"nr", 0}, {"name", name},
              {"args", raw}, {"decoded", decoded}, {"ret", ret},
              {"errno", ret < 0 ? Json("EPERM") : Json(nullptr)}, {"dur_ns", 12000}, {"complete", true}};
}

}  // namespace glasstrace::testing
