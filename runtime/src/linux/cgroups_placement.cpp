#include "linux/cgroups_placement.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "linux/cgroups_fs.h"
#include "util/error.h"

namespace glassrun::cgroups {

std::vector<int> Placement::fds() const {
  std::vector<int> out;
  if (unified) out.push_back(unified.get());
  for (const auto& [path, fd] : tasks) out.push_back(fd.get());
  return out;
}

Placement open_placement(const std::map<std::string, std::string>& paths) {
  Placement p;
  for (const auto& [ctrl, dir] : paths) {
    std::string path = ctrl.empty() ? dir : fs::join(dir, "tasks");
    fs::At a = fs::at(path);
    int fd = ::openat(a.dirfd, a.rel, ctrl.empty() ? O_PATH | O_DIRECTORY | O_CLOEXEC : O_WRONLY | O_CLOEXEC);
    if (fd < 0) throw_sys("cgroups: open " + path);
    if (ctrl.empty())
      p.unified.reset(fd);
    else
      p.tasks.emplace_back(path, UniqueFd(fd));
  }
  return p;
}

pid_t clone_into(unsigned long flags, Placement& placement) {
  fs::close_mount_fd();  // the child enters a container: it must hold no host directory
  long pid = -1;
  if (placement.unified) {
    clone_args args{};
    args.flags = flags | CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = static_cast<__u64>(placement.unified.get());
    pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0) placement = Placement{};
  }
  if (pid < 0) pid = syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, 0);
  if (pid == 0) fs::close_mount_fd(true);  // nor open it again
  return static_cast<pid_t>(pid);
}

void place_self(Placement& placement) {
  for (auto& [path, fd] : placement.tasks)
    if (::write(fd.get(), "0", 1) != 1) throw_sys("cgroups: move into the container's cgroup: write 0 to " + path);
  close_all(placement);
}

void close_all(Placement& placement) {
  std::vector<int> fds = placement.fds();
  std::sort(fds.begin(), fds.end());
  // Each run of consecutive numbers longer than one: one close_range(2).
  std::vector<int> closed;
  for (std::size_t i = 0, j; i < fds.size(); i = j) {
    for (j = i + 1; j < fds.size() && fds[j] == fds[j - 1] + 1;) j++;
    if (j - i > 1 && syscall(SYS_close_range, fds[i], fds[j - 1], 0) == 0) closed.insert(closed.end(), &fds[i], &fds[j]);
  }
  auto forget_if_closed = [&](UniqueFd& fd) {
    if (std::binary_search(closed.begin(), closed.end(), fd.get())) (void)fd.release();
  };
  forget_if_closed(placement.unified);
  for (auto& [path, fd] : placement.tasks) forget_if_closed(fd);
  placement = Placement{};  // the rest one by one
}

}  // namespace glassrun::cgroups
