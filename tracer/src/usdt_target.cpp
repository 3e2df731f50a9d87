#include "usdt_target.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string_view>
#include <vector>

#include "util/fd.h"

namespace glasstrace {
namespace {

// A section read whole is at most this big (glassrun's notes are under 1 KiB).
constexpr uint64_t kMaxSectionBytes = 16 << 20;

// All of [off, off + len) or false; a failed pread (not an end of file
// before it: a truncated ELF is just not one) is named in `error`.
bool pread_all(int fd, void* buf, std::size_t len, uint64_t off, std::string* error) {
  auto* p = static_cast<char*>(buf);
  while (len > 0) {
    ssize_t n = pread(fd, p, len, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && error) *error = std::string("pread: ") + strerror(errno);
    if (n <= 0) return false;
    p += n, off += n, len -= n;
  }
  return true;
}

bool is_executable_file(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(p.c_str(), X_OK) == 0;
}

}  // namespace

std::optional<std::string> resolve_command(const std::string& name) {
  if (name.empty()) return std::nullopt;
  if (name.find('/') != std::string::npos)
    return is_executable_file(name) ? std::optional(name) : std::nullopt;
  const char* path = getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string cand = (dir.empty() ? "." : dir) + "/" + name;
    if (is_executable_file(cand)) return cand;
  }
  return std::nullopt;
}

// Read with pread, not mapped: the headers, the section names and the one
// note section are all it needs. A mapping of the whole file cost page
// faults and an munmap at every client's start (4 of the 126 page faults of
// a traced `sh -c :`), mostly for commands that have no notes at all.
bool has_usdt_provider(const std::string& path, const std::string& provider, std::string* error) {
  glassrun::UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (error) *error = std::string("open: ") + strerror(errno);
    return false;
  }
  Elf64_Ehdr eh;
  if (!pread_all(fd.get(), &eh, sizeof(eh), 0, error)) return false;
  if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64) return false;
  if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shstrndx >= eh.e_shnum) return false;
  std::vector<Elf64_Shdr> sh(eh.e_shnum);
  if (!pread_all(fd.get(), sh.data(), sh.size() * sizeof(Elf64_Shdr), eh.e_shoff, error)) return false;
  const Elf64_Shdr& strtab = sh[eh.e_shstrndx];
  if (strtab.sh_size > kMaxSectionBytes) return false;
  std::string names(strtab.sh_size, '\0');
  if (!pread_all(fd.get(), names.data(), names.size(), strtab.sh_offset, error)) return false;
  for (const Elf64_Shdr& s : sh) {
    if (s.sh_type != SHT_NOTE || s.sh_name >= names.size()) continue;
    if (strcmp(names.c_str() + s.sh_name, ".note.stapsdt")) continue;
    if (s.sh_size > kMaxSectionBytes) return false;
    std::vector<unsigned char> notes(s.sh_size);
    if (!pread_all(fd.get(), notes.data(), notes.size(), s.sh_offset, error)) return false;
    // Notes: Elf64_Nhdr, name "stapsdt", desc = pc, base, semaphore, then
    // provider\0 probe\0 args\0.
    uint64_t off = 0, end = notes.size();
    while (off + sizeof(Elf64_Nhdr) <= end) {
      Elf64_Nhdr nh;
      memcpy(&nh, notes.data() + off, sizeof(nh));
      uint64_t name_off = off + sizeof(Elf64_Nhdr);
      uint64_t desc_off = name_off + ((uint64_t{nh.n_namesz} + 3) & ~uint64_t{3});
      uint64_t next = desc_off + ((uint64_t{nh.n_descsz} + 3) & ~uint64_t{3});
      if (next > end) break;
      if (nh.n_type == 3 && nh.n_descsz > 24) {
        std::string_view desc(reinterpret_cast<const char*>(notes.data() + desc_off + 24), nh.n_descsz - 24);
        std::string_view prov = desc.substr(0, desc.find('\0'));
        if (prov == provider) return true;
      }
      off = next;
    }
  }
  return false;
}

}  // namespace glasstrace
