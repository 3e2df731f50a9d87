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

}  // namespace

void create(const std::vector<spec::TimeOffset>& offsets) {
  Step s("init.timens");
  if (unshare(CLONE_NEWTIME) != 0) throw_sys("unshare CLONE_NEWTIME");
  if (!offsets.empty()) {
    // One write: the kernel takes all lines or none (EINVAL, ERANGE for an
    // offset that would make the clock negative, EACCES once frozen).
    std::string text = offsets_text(offsets);
    UniqueFd fd(open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC));
    if (!fd) throw_sys("linux.timeOffsets: open /proc/self/timens_offsets");
    if (write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
      throw_sys(fmt::format("linux.timeOffsets: write \"{}\" to /proc/self/timens_offsets",
                            text.substr(0, text.size() - 1)));
  }
  UniqueFd ns(open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC));
  if (!ns) throw_sys("open /proc/self/ns/time_for_children");
  if (setns(ns.get(), CLONE_NEWTIME) != 0) throw_sys("setns /proc/self/ns/time_for_children");
}

}  // namespace glassrun::timens
