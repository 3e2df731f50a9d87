// The OCI runtime-spec config (config.json) as glassrun uses it: parsed once,
// validated against the spec's rules, every error naming its field.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace glassrun::spec {

struct User {
  uid_t uid = 0;
  gid_t gid = 0;
  std::optional<mode_t> umask;
  std::vector<gid_t> additional_gids;
};

struct Rlimit {
  int resource = 0;  // RLIMIT_*
  std::string type;  // "RLIMIT_NOFILE"
  uint64_t soft = 0;
  uint64_t hard = 0;
};

// Capability sets as numbers (CAP_*), each possibly absent.
struct Capabilities {
  std::optional<std::vector<int>> bounding, effective, inheritable, permitted, ambient;
  // Names this host does not know (libcap or the kernel's cap_last_cap), left
  // out of the sets above; create and exec warn about them.
  std::vector<std::string> unknown;
};

struct Process {
  bool terminal = false;
  unsigned console_height = 0, console_width = 0;
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
  std::string apparmor_profile;
  std::string selinux_label;
};

struct IdMapping {
  uint32_t container_id = 0, host_id = 0, size = 0;
};

struct Mount {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
  // runtime-spec 1.1 idmapped mounts (bind mounts only; both or neither).
  std::vector<IdMapping> uid_mappings, gid_mappings;
  size_t index = 0;  // position in config.json's mounts, for error messages
};

struct Namespace {
  std::string type;  // "pid", "network", ...
  std::string path;  // empty: new namespace
};

// linux.timeOffsets: one clock's offset in a new time namespace.
struct TimeOffset {
  std::string clock;  // "monotonic" or "boottime"
  int64_t secs = 0;
  uint32_t nanosecs = 0;
};

struct Device {
  std::string path;
  char type = 'c';  // c, b, u, p
  int64_t major = 0, minor = 0;
  std::optional<mode_t> file_mode;
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
};

struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout;
};

struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart, poststop;
  // Hooks run while the container is made, up to its process's execve.
  bool any_before_exec() const {
    return !prestart.empty() || !create_runtime.empty() || !create_container.empty() || !start_container.empty();
  }
  bool empty() const { return !any_before_exec() && poststart.empty() && poststop.empty(); }
};

struct Config {
  std::string oci_version;
  std::string bundle;       // absolute bundle directory
  std::string root_path;    // absolute rootfs path
  bool root_readonly = false;
  std::optional<Process> process;
  std::string hostname;
  std::optional<std::string> domainname;
  std::vector<Mount> mounts;
  Hooks hooks;
  std::map<std::string, std::string> annotations;

  // linux
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings, gid_mappings;
  std::vector<Device> devices;
  std::string cgroups_path;
  std::map<std::string, std::string> sysctl;
  std::vector<std::string> masked_paths, readonly_paths;
  std::string rootfs_propagation;
  std::string mount_label;
  std::vector<TimeOffset> time_offsets;

  nlohmann::json raw;  // the whole document, for concerns that read their own part
  const nlohmann::json& linux_section(const char* key) const;

  bool has_namespace(std::string_view type) const;
  const Namespace* find_namespace(std::string_view type) const;
};

// Parses and validates config.json text. bundle is the (absolute) bundle dir,
// used to resolve a relative root.path. Throws Error("config.json: <field>: ...").
Config parse_config(std::string_view json_text, const std::string& bundle);
// The same from JSON already parsed (the config glassrun.json keeps), with no
// text made and parsed again.
Config parse_config_object(nlohmann::json root, const std::string& bundle);
// The hooks section alone (a config create validated: delete's poststop).
Hooks parse_hooks(const nlohmann::json& config);

// Reads <bundle>/config.json and parses it.
Config load_bundle(const std::string& bundle);

// Parses a process object on its own (exec --process FILE); field names are
// prefixed with `where` ("process.json").
Process parse_process(const nlohmann::json& j, const std::string& where);

// The default config `glassrun spec` writes (same content as runc's).
nlohmann::json default_spec(bool rootless);

}  // namespace glassrun::spec
