#include "linux/cloned_binary.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "util/error.h"
#include "util/fd.h"

extern char** environ;

namespace glassrun::cloned_binary {

namespace {

constexpr int kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

bool under_glasstrace() {
  std::string comm = read_all(fmt::format("/proc/{}/comm", getppid()));
  return comm == "glasstrace\n";
}

}  // namespace

bool running_from_sealed_copy() {
  UniqueFd self(open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self) return false;
  int seals = fcntl(self.get(), F_GET_SEALS);
  return seals >= 0 && (seals & F_SEAL_WRITE);
}

void ensure() {
  if (running_from_sealed_copy() || under_glasstrace()) return;
  UniqueFd self(open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self) throw_sys("open /proc/self/exe (to copy the binary into a sealed memfd)");
  struct stat st;
  if (fstat(self.get(), &st) != 0) throw_sys("stat /proc/self/exe");
  UniqueFd copy(memfd_create("glassrun:[sealed]", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!copy) throw_sys("memfd_create for the sealed binary copy");
  off_t off = 0;
  while (off < st.st_size) {
    ssize_t n = sendfile(copy.get(), self.get(), &off, static_cast<size_t>(st.st_size - off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw_sys("copy the binary into a sealed memfd");
  }
  if (fcntl(copy.get(), F_ADD_SEALS, kSeals) != 0) throw_sys("seal the binary copy");
  std::string cmdline = read_all("/proc/self/cmdline");
  std::vector<char*> argv;
  for (size_t i = 0; i < cmdline.size(); i += std::char_traits<char>::length(&cmdline[i]) + 1)
    argv.push_back(&cmdline[i]);
  argv.push_back(nullptr);
  fexecve(copy.get(), argv.data(), environ);
  throw_sys("re-execute from the sealed binary copy");
}

}  // namespace glassrun::cloned_binary
