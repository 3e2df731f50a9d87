#include "linux/cgroups_placement.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>

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

namespace {

// clone3 for a child on its own stack: the child calls child(arg) there and
// exits with its return value; the parent gets the pid or -errno. In
// assembly because the child starts with nothing on that stack to return to.
extern "C" long glassrun_clone3_on_stack(clone_args* args, size_t size, int (*child)(void*), void* arg);
__asm__(R"(
    .text
    .globl glassrun_clone3_on_stack
    .type glassrun_clone3_on_stack, @function
glassrun_clone3_on_stack:
    .cfi_startproc
    mov %rdx, %r8
    mov %rcx, %r9
    mov $435, %eax
    syscall
    test %rax, %rax
    jz 1f
    ret
1:
    .cfi_undefined rip
    xor %ebp, %ebp
    mov %r9, %rdi
    call *%r8
    mov %eax, %edi
    mov $60, %eax
    syscall
    hlt
    .cfi_endproc
    .size glassrun_clone3_on_stack, .-glassrun_clone3_on_stack
)");

}  // namespace

pid_t clone_into_sharing_memory(const Placement& placement, int (*child)(void*), void* arg, unsigned long flags) {
  // The child's stack: this frame's, below everything of the caller's that
  // is live (the caller sleeps meanwhile), near pages already touched.
  std::array<char, 256 * 1024> stack;
  // The child's top of stack, 16-byte aligned as the ABI wants at a call.
  auto base = reinterpret_cast<uintptr_t>(stack.data());
  auto top = (base + stack.size()) & ~uintptr_t{15};
  clone_args args{};
  args.flags = flags | CLONE_VM | CLONE_VFORK | (placement.unified ? CLONE_INTO_CGROUP : 0);
  args.exit_signal = SIGCHLD;
  args.stack = base;
  args.stack_size = top - base;
  if (placement.unified) args.cgroup = static_cast<__u64>(placement.unified.get());
  // As clone_into: the child holds no host directory and opens none (the
  // flag is in the memory it shares); this process may again once it is gone.
  fs::close_mount_fd(true);
  long pid = glassrun_clone3_on_stack(&args, sizeof args, child, arg);
  fs::allow_mount_fd();
  if (pid < 0) {
    errno = static_cast<int>(-pid);
    return -1;
  }
  return static_cast<pid_t>(pid);
}

void place_self(const Placement& placement) {
  // A Placement of the child's own, holding the same fd numbers (in its own
  // fd table): closing them leaves the caller's object as it was.
  Placement mine;
  if (placement.unified) mine.unified.reset(placement.unified.get());
  for (const auto& [path, fd] : placement.tasks) mine.tasks.emplace_back(path, UniqueFd(fd.get()));
  for (auto& [path, fd] : mine.tasks)
    if (::write(fd.get(), "0", 1) != 1) throw_sys("cgroups: move into the container's cgroup: write 0 to " + path);
  close_all(mine);
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
