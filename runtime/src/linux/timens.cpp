#include "linux/timens.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include "util/error.h"
#include "util/fd.h"
#include "util/probes.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace glassrun::timens {

namespace {

// One "<clock> <secs> <nanosecs>" line per clock, as timens_offsets takes them.
std::string offsets_text(const std::vector<spec::TimeOffset>& offsets) {
  std::string out;
  for (const auto& o : offsets) out += fmt::format("{} {} {}\n", o.clock, o.secs, o.nanosecs);
  return out;
}

bool makes_new(const spec::Config& c) {
  const spec::Namespace* t = c.find_namespace("time");
  return t && t->path.empty();
}

}  // namespace

UniqueFd open_offsets(const spec::Config& c) {
  if (!makes_new(c) || c.time_offsets.empty()) return UniqueFd();
  UniqueFd fd(open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC));
  if (!fd) throw_sys("linux.timeOffsets: open /proc/self/timens_offsets");
  return fd;
}

void create(const spec::Config& c, int offsets_fd) {
  if (!makes_new(c)) return;
  Step s("init.timens");
  const std::vector<spec::TimeOffset>& offsets = c.time_offsets;
  if (unshare(CLONE_NEWTIME) != 0) throw_sys("unshare CLONE_NEWTIME");
  if (!offsets.empty()) {
    // One write: the kernel takes all lines or none (EINVAL, ERANGE for an
    // offset that would make the clock negative, EACCES once frozen). It
    // applies to the writer's time namespace for children: the new one.
    std::string text = offsets_text(offsets);
    if (write(offsets_fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
      throw_sys(fmt::format("linux.timeOffsets: write \"{}\" to /proc/self/timens_offsets",
                            text.substr(0, text.size() - 1)));
  }
  UniqueFd ns(open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC));
  if (!ns) throw_sys("open /proc/self/ns/time_for_children");
  if (setns(ns.get(), CLONE_NEWTIME) != 0) throw_sys("setns /proc/self/ns/time_for_children");
}

}  // namespace glassrun::timens
