// config.json mount options → mount(2) flags, propagation and data, from one
// table (as runc's mountPropagationMapping and crun's generated table).
#pragma once

#include <sys/mount.h>

#include <optional>
#include <string>
#include <vector>

namespace glassrun::mounts {

struct ParsedOptions {
  unsigned long flags = 0;              // MS_* to set
  unsigned long clear_flags = 0;        // MS_* an option turned off ("rw", "suid"...)
  std::vector<unsigned long> propagation;  // MS_PRIVATE|MS_REC ..., applied after the mount
  unsigned long long attr_set = 0;      // MOUNT_ATTR_* of "r*" options (rro, rnosuid...)
  unsigned long long attr_clr = 0;
  bool tmpcopyup = false;
  std::string data;                     // comma-joined options that are not flags
};

ParsedOptions parse_options(const std::vector<std::string>& options);
// "rprivate" → MS_PRIVATE|MS_REC
std::optional<unsigned long> propagation_flag(const std::string& name);
// MS_* flags as text, for errors and logs ("MS_BIND|MS_REC").
std::string flags_text(unsigned long flags);

}  // namespace glassrun::mounts
