#include <sys/mman.h>
#include <unistd.h>

#include "linux/seccomp_context.h"
#include "util/error.h"
#include "util/fd.h"

namespace glassrun::seccomp {

// libseccomp only exports to an fd; a memfd keeps it off the filesystem and
// lets us read it back from the start.
std::string export_bpf(const Context& ctx) {
  UniqueFd mem(memfd_create("glassrun-seccomp-bpf", MFD_CLOEXEC));
  if (!mem) throw_sys("seccomp: memfd_create");
  if (int rc = seccomp_export_bpf(ctx.get(), mem.get()); rc < 0) throw_sys("seccomp: export bpf", -rc);
  off_t size = lseek(mem.get(), 0, SEEK_END);
  if (size < 0) throw_sys("seccomp: lseek bpf memfd");
  std::string bpf(static_cast<size_t>(size), '\0');
  ssize_t got = pread(mem.get(), bpf.data(), bpf.size(), 0);
  if (got < 0) throw_sys("seccomp: read bpf memfd");
  bpf.resize(static_cast<size_t>(got));
  return bpf;
}

}  // namespace glassrun::seccomp
