#include "linux/mount_options.h"

#include <linux/mount.h>

#include <array>
#include <string_view>

namespace glassrun::mounts {

namespace {

struct FlagOption {
  std::string_view name;
  bool clear;  // the option turns the flag off
  unsigned long flag;
};

constexpr std::array<FlagOption, 28> kFlagOptions{{
    {"defaults", false, 0},          {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},         {"suid", true, MS_NOSUID},
    {"nosuid", false, MS_NOSUID},    {"dev", true, MS_NODEV},
    {"nodev", false, MS_NODEV},      {"exec", true, MS_NOEXEC},
    {"noexec", false, MS_NOEXEC},    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS}, {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},  {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},   {"atime", true, MS_NOATIME},
    {"noatime", false, MS_NOATIME},  {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME}, {"bind", false, MS_BIND},
    {"rbind", false, MS_BIND | MS_REC}, {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME}, {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME}, {"silent", false, MS_SILENT},
    {"loud", true, MS_SILENT},       {"lazytime", false, MS_LAZYTIME},
}};

struct PropagationOption {
  std::string_view name;
  unsigned long flags;
};

constexpr std::array<PropagationOption, 8> kPropagation{{
    {"private", MS_PRIVATE}, {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},   {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},     {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
}};

struct RecursiveAttr {
  std::string_view name;
  bool clear;
  unsigned long long attr;
};

// The "r*" options apply to the whole subtree with mount_setattr(AT_RECURSIVE).
constexpr std::array<RecursiveAttr, 14> kRecursive{{
    {"rro", false, MOUNT_ATTR_RDONLY},      {"rrw", true, MOUNT_ATTR_RDONLY},
    {"rnosuid", false, MOUNT_ATTR_NOSUID},  {"rsuid", true, MOUNT_ATTR_NOSUID},
    {"rnodev", false, MOUNT_ATTR_NODEV},    {"rdev", true, MOUNT_ATTR_NODEV},
    {"rnoexec", false, MOUNT_ATTR_NOEXEC},  {"rexec", true, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", false, MOUNT_ATTR_NODIRATIME}, {"rdiratime", true, MOUNT_ATTR_NODIRATIME},
    {"rrelatime", false, MOUNT_ATTR_RELATIME}, {"rnorelatime", true, MOUNT_ATTR_RELATIME},
    {"rnoatime", false, MOUNT_ATTR_NOATIME},  {"rstrictatime", false, MOUNT_ATTR_STRICTATIME},
}};

struct FlagName {
  unsigned long flag;
  std::string_view name;
};
constexpr std::array<FlagName, 18> kFlagNames{{
    {MS_RDONLY, "MS_RDONLY"},     {MS_NOSUID, "MS_NOSUID"},     {MS_NODEV, "MS_NODEV"},
    {MS_NOEXEC, "MS_NOEXEC"},     {MS_SYNCHRONOUS, "MS_SYNCHRONOUS"}, {MS_REMOUNT, "MS_REMOUNT"},
    {MS_MANDLOCK, "MS_MANDLOCK"}, {MS_DIRSYNC, "MS_DIRSYNC"},   {MS_NOATIME, "MS_NOATIME"},
    {MS_NODIRATIME, "MS_NODIRATIME"}, {MS_BIND, "MS_BIND"},     {MS_REC, "MS_REC"},
    {MS_PRIVATE, "MS_PRIVATE"},   {MS_SLAVE, "MS_SLAVE"},       {MS_SHARED, "MS_SHARED"},
    {MS_UNBINDABLE, "MS_UNBINDABLE"}, {MS_RELATIME, "MS_RELATIME"}, {MS_STRICTATIME, "MS_STRICTATIME"},
}};

}  // namespace

std::optional<unsigned long> propagation_flag(const std::string& name) {
  for (const auto& p : kPropagation)
    if (p.name == name) return p.flags;
  return std::nullopt;
}

ParsedOptions parse_options(const std::vector<std::string>& options) {
  ParsedOptions out;
  for (const auto& o : options) {
    bool known = false;
    for (const auto& f : kFlagOptions)
      if (f.name == o) {
        if (f.clear) {
          out.flags &= ~f.flag;
          out.clear_flags |= f.flag;
        } else {
          out.flags |= f.flag;
        }
        known = true;
        break;
      }
    if (known) continue;
    if (auto p = propagation_flag(o)) {
      out.propagation.push_back(*p);
      continue;
    }
    for (const auto& r : kRecursive)
      if (r.name == o) {
        (r.clear ? out.attr_clr : out.attr_set) |= r.attr;
        known = true;
        break;
      }
    if (known) continue;
    if (o == "tmpcopyup") {
      out.tmpcopyup = true;
      continue;
    }
    if (!out.data.empty()) out.data += ',';
    out.data += o;
  }
  return out;
}

std::string flags_text(unsigned long flags) {
  std::string s;
  for (const auto& f : kFlagNames)
    if (flags & f.flag) {
      if (!s.empty()) s += '|';
      s += f.name;
    }
  return s.empty() ? "0" : s;
}

}  // namespace glassrun::mounts
