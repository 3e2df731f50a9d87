// Freestanding: see early_reexec.h for what may not be used here, and why.
#include "linux/early_reexec.h"

#include <fcntl.h>
#include <linux/errno.h>
#include <linux/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EARLY __attribute__((no_stack_protector, no_sanitize("address", "undefined")))

namespace glassrun::early {

namespace {

EARLY long sys(long nr, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0) {
  long ret;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
                   : "rcx", "r11", "memory");
  return ret;
}

template <typename T>
EARLY long arg(T* p) {
  return reinterpret_cast<long>(p);
}

EARLY bool same(const char* a, const char* b) {
  while (*a && *a == *b) ++a, ++b;
  return *a == *b;
}

// Copies src to dst (room for n bytes with the NUL); false if it does not fit.
EARLY bool copy(char* dst, const char* src, long n) {
  for (long i = 0; i < n; ++i)
    if ((dst[i] = src[i]) == 0) return true;
  return false;
}

EARLY long close_fd(int fd) { return sys(__NR_close, fd); }

// An empty, read-only, detached tmpfs.
EARLY int empty_detached_tmpfs() {
  long ctx = sys(__NR_fsopen, arg("tmpfs"), FSOPEN_CLOEXEC);
  if (ctx < 0) return static_cast<int>(ctx);
  long r = sys(__NR_fsconfig, ctx, FSCONFIG_SET_STRING, arg("size"), arg("4k"), 0);
  if (r == 0) r = sys(__NR_fsconfig, ctx, FSCONFIG_CMD_CREATE, 0, 0, 0);
  if (r == 0)
    r = sys(__NR_fsmount, ctx, FSMOUNT_CLOEXEC,
            MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
  close_fd(static_cast<int>(ctx));
  return static_cast<int>(r);
}

}  // namespace

EARLY bool global_flag_takes_value(const char* arg) noexcept {
  static const char* const kTakesValue[] = {"--root", "--log", "--log-format", "--criu", "--rootless", "--trace"};
  for (const char* f : kTakesValue)
    if (same(arg, f)) return true;
  return false;
}

EARLY const char* named_command(int argc, char* const* argv, bool* traced) noexcept {
  *traced = false;
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] != '-') return argv[i];
    if (same(argv[i], "--trace")) *traced = true;
    if (global_flag_takes_value(argv[i])) ++i;  // skip the flag's value
  }
  return nullptr;
}

EARLY bool reexecutes(const char* command) noexcept {
  return same(command, "create") || same(command, "run") || same(command, "exec");
}

namespace {

constexpr const char* kFsopenStep = "fsopen overlay";

// The read-only overlay over dir, its second layer given by `second_key`
// and `second_path` (overlayfs wants two layers when it has no upper one).
// metacopy off: nothing in the view redirects to a data-only layer's files.
// "lowerdir+"/"datadir+" (Linux 6.8) take one path each, so no escaping of
// ':' or ','. Returns the mount's fd, or -errno with *failed_step set.
EARLY int overlay_view(const char* dir, const char* source, const char* second_key, const char* second_path,
                       const char** failed_step) {
  long ctx = sys(__NR_fsopen, arg("overlay"), FSOPEN_CLOEXEC);
  if (ctx < 0) {
    *failed_step = kFsopenStep;
    return static_cast<int>(ctx);
  }
  long r = sys(__NR_fsconfig, ctx, FSCONFIG_SET_STRING, arg("source"), arg(source), 0);
  if (r == 0) r = sys(__NR_fsconfig, ctx, FSCONFIG_SET_STRING, arg("lowerdir+"), arg(dir), 0);
  if (r == 0) r = sys(__NR_fsconfig, ctx, FSCONFIG_SET_STRING, arg(second_key), arg(second_path), 0);
  if (r == 0) r = sys(__NR_fsconfig, ctx, FSCONFIG_SET_STRING, arg("metacopy"), arg("off"), 0);
  if (r == 0) r = sys(__NR_fsconfig, ctx, FSCONFIG_CMD_CREATE, 0, 0, 0);
  if (r != 0) {
    *failed_step = "fsconfig overlay (lowerdir+ the binary's directory)";
  } else {
    r = sys(__NR_fsmount, ctx, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID);
    if (r < 0) *failed_step = "fsmount overlay";
  }
  close_fd(static_cast<int>(ctx));
  return static_cast<int>(r);
}

}  // namespace

EARLY int readonly_overlay_of(const char* dir, const char* source, const char** failed_step) noexcept {
  // First /dev as a data-only layer: none of its files appear in the view,
  // and unlike an empty tmpfs it needs nothing made, nor a detached mount
  // closed (an expedited RCU grace period each). Refused (a binary under
  // /dev overlaps it, an older kernel): the tmpfs. No overlay at all
  // (fsopen) is the caller's error either way.
  int view = overlay_view(dir, source, "datadir+", "/dev", failed_step);
  if (view >= 0 || *failed_step == kFsopenStep) return view;
  int empty = empty_detached_tmpfs();
  if (empty < 0) {
    *failed_step = "make an empty detached tmpfs (fsopen/fsmount tmpfs)";
    return empty;
  }
  // "/proc/self/fd/<empty>"
  char empty_path[32] = "/proc/self/fd/";
  char digits[12];
  int n = 0;
  for (int v = empty; v > 0 || n == 0; v /= 10) digits[n++] = static_cast<char>('0' + v % 10);
  int at = 14;
  while (n > 0) empty_path[at++] = digits[--n];
  empty_path[at] = 0;
  view = overlay_view(dir, source, "lowerdir+", empty_path, failed_step);
  close_fd(empty);
  return view;
}

namespace {
bool found_unwritable = false;  // in .bss: zero before anything runs
}  // namespace

EARLY bool binary_found_unwritable() noexcept { return found_unwritable; }

EARLY long reexec_through_overlay(char* const* argv, char* const* envp) noexcept {
  // EROFS: the file sits on a read-only mount (our view, or a read-only
  // install); nothing that reopens /proc/<pid>/exe can write through it.
  long r = sys(__NR_access, arg("/proc/self/exe"), W_OK);
  if (r == -EROFS) {
    found_unwritable = true;
    return 0;
  }
  char self[4096];
  long len = sys(__NR_readlink, arg("/proc/self/exe"), arg(self), sizeof self - 1);
  if (len <= 0 || self[0] != '/') return len < 0 ? len : -ENOENT;
  self[len] = 0;
  // Split into the directory (the overlay's layer) and the file's name.
  char dir[4096];
  long slash = len - 1;
  while (slash > 0 && self[slash] != '/') --slash;
  if (!copy(dir, self, sizeof dir)) return -ENAMETOOLONG;
  dir[slash == 0 ? 1 : slash] = 0;
  const char* name = self + slash + 1;

  const char* failed = nullptr;
  int mnt = readonly_overlay_of(dir, kViewSource, &failed);
  if (mnt < 0) return mnt;
  long exe = sys(__NR_openat, mnt, arg(name), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  close_fd(mnt);
  if (exe < 0) return exe;
  r = sys(__NR_execveat, exe, arg(""), arg(argv), arg(envp), AT_EMPTY_PATH);
  close_fd(static_cast<int>(exe));
  return r;
}

}  // namespace glassrun::early

// The ELF entry point of the static glassrun (runtime/CMakeLists.txt: -e).
// The kernel's initial stack (argc, argv, envp, auxv) and %rdx must reach
// glibc's _start as they came: kept in callee-saved registers across the call.
extern "C" EARLY void glassrun_early_start(long* stack) noexcept {
  int argc = static_cast<int>(stack[0]);
  char** argv = reinterpret_cast<char**>(stack + 1);
  char** envp = argv + argc + 1;
  bool traced = false;
  const char* command = glassrun::early::named_command(argc, argv, &traced);
  // With --trace, main hands the command to glasstrace first.
  if (traced || !command) return;
  if (!glassrun::early::reexecutes(command)) return;
  glassrun::early::reexec_through_overlay(argv, envp);  // returns only where there is nothing to do, or it failed
}

__asm__(R"(
    .text
    .globl glassrun_entry
    .type glassrun_entry, @function
glassrun_entry:
    xor %ebp, %ebp
    mov %rsp, %rbx
    mov %rdx, %r12
    mov %rsp, %rdi
    and $-16, %rsp
    call glassrun_early_start
    mov %rbx, %rsp
    mov %r12, %rdx
    jmp _start
    .size glassrun_entry, .-glassrun_entry
)");
