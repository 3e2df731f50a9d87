#include "usdt_target.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string_view>

#include "util/fd.h"

namespace glasstrace {
namespace {

struct Mapping {
  void* p = MAP_FAILED;
  std::size_t len = 0;
  ~Mapping() { if (p != MAP_FAILED) munmap(p, len); }
};

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

bool has_usdt_provider(const std::string& path, const std::string& provider) {
  glassrun::UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st;
  if (fd.get() < 0 || fstat(fd.get(), &st) || st.st_size < static_cast<off_t>(sizeof(Elf64_Ehdr))) return false;
  Mapping m;
  m.len = st.st_size;
  m.p = mmap(nullptr, m.len, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (m.p == MAP_FAILED) return false;
  const auto* base = static_cast<const unsigned char*>(m.p);
  const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(base);
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64) return false;
  if (eh->e_shoff + uint64_t{eh->e_shnum} * sizeof(Elf64_Shdr) > m.len || eh->e_shstrndx >= eh->e_shnum) return false;
  const auto* sh = reinterpret_cast<const Elf64_Shdr*>(base + eh->e_shoff);
  const Elf64_Shdr& strtab = sh[eh->e_shstrndx];
  for (int i = 0; i < eh->e_shnum; i++) {
    if (sh[i].sh_type != SHT_NOTE || sh[i].sh_name >= strtab.sh_size) continue;
    if (strcmp(reinterpret_cast<const char*>(base + strtab.sh_offset + sh[i].sh_name), ".note.stapsdt")) continue;
    if (sh[i].sh_offset + sh[i].sh_size > m.len) return false;
    // Notes: Elf64_Nhdr, name "stapsdt", desc = pc, base, semaphore, then
    // provider\0 probe\0 args\0.
    uint64_t off = sh[i].sh_offset, end = off + sh[i].sh_size;
    while (off + sizeof(Elf64_Nhdr) <= end) {
      const auto* nh = reinterpret_cast<const Elf64_Nhdr*>(base + off);
      uint64_t name_off = off + sizeof(Elf64_Nhdr);
      uint64_t desc_off = name_off + ((nh->n_namesz + 3) & ~3u);
      uint64_t next = desc_off + ((nh->n_descsz + 3) & ~3u);
      if (next > end) break;
      if (nh->n_type == 3 && nh->n_descsz > 24) {
        std::string_view desc(reinterpret_cast<const char*>(base + desc_off + 24), nh->n_descsz - 24);
        std::string_view prov = desc.substr(0, desc.find('\0'));
        if (prov == provider) return true;
      }
      off = next;
    }
  }
  return false;
}

}  // namespace glasstrace
