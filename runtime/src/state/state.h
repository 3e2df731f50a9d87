// The container directory <root>/<id>: state.json (runc's libcontainer state
// fields), exec.fifo, the saved OCI config, and the status derived from them.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/fd.h"

namespace glassrun::state {

enum class Status { Creating, Created, Running, Paused, Stopped };
std::string to_string(Status s);

struct State {
  std::string id;
  pid_t init_pid = 0;
  uint64_t init_start = 0;  // field 22 of /proc/<pid>/stat, to detect pid reuse
  std::string created;      // RFC 3339 with nanoseconds, UTC
  nlohmann::json config;    // runc's libcontainer view of the config
  bool rootless = false;
  std::map<std::string, std::string> cgroup_paths;
  std::map<std::string, std::string> namespace_paths;
  std::vector<std::string> external_descriptors;
  std::string intel_rdt_path;

  std::string bundle() const;
  std::string rootfs() const;
  std::map<std::string, std::string> annotations() const;
};

nlohmann::json to_json(const State& s);
// to_json(s).dump(), the same bytes, without copying s.config into a new
// document first (a few hundred allocations for the default config).
std::string state_text(const State& s);
// Throws Error("state.json: ...") on anything malformed.
State parse_state_json(std::string_view text);

// What glassrun keeps beside state.json for its own later commands: the OCI
// config as given, and the cgroups that create made (so delete removes only those).
// Written first before any cgroup or process exists, so that `delete --force`
// finds the pieces of a create that died before state.json was written.
struct Extras {
  nlohmann::json oci_config;
  std::vector<std::string> created_cgroups;
  std::map<std::string, std::string> cgroup_paths;  // as state.json's, for that case
};

// Valid ids: runc's rule ([A-Za-z0-9_+.-]+, not "." or ".."), at most 1024 bytes.
void validate_id(const std::string& id);

class ContainerDir {
 public:
  // Makes <root>/<id> (mode 0711); fails with "container with id exists" if present.
  static ContainerDir create(const std::string& root, const std::string& id);
  // Opens an existing one; fails with "container does not exist".
  static ContainerDir open(const std::string& root, const std::string& id);

  const std::string& path() const { return path_; }
  const std::string& id() const { return id_; }
  const std::string& root() const { return root_; }
  std::string fifo_path() const { return path_ + "/exec.fifo"; }

  // mkfifo exec.fifo (0622) and return an O_PATH fd to it.
  UniqueFd make_exec_fifo() const;
  bool has_exec_fifo() const;
  // True while <root>/<id> is still this directory: not deleted, nor
  // replaced by another container of the same id (the open fd keeps the
  // inode number from being reused).
  bool is_at_its_path() const;

  void write_state(const State& s) const;   // atomic (temp file + rename)
  State read_state() const;
  void write_extras(const Extras& e) const;
  void write_extras(const nlohmann::json& oci_config, const std::vector<std::string>& created_cgroups,
                    const std::map<std::string, std::string>& cgroup_paths) const;
  Extras read_extras() const;

  // Removes the directory and everything in it.
  void remove() const;

 private:
  ContainerDir(std::string root, std::string id, UniqueFd dirfd);
  std::string root_, id_, path_;
  UniqueFd dirfd_;
};

// The status as runc computes it from the init's liveness, exec.fifo and the
// freezer; frozen is asked only of a live init (a stopped container's
// freezer is not read).
Status current_status(const ContainerDir& dir, const State& s, const std::function<bool()>& frozen);
bool init_alive(const State& s);

// The OCI state (`glassrun state`) in runc's field order: ociVersion, id,
// pid, status, bundle, rootfs, created, annotations, owner.
nlohmann::ordered_json oci_state(const State& s, Status status);

// Helpers for create.
// 0 if gone (exited, too, unless exited_too: a zombie's start time is
// still its own, for a child of ours that may have run to its end already).
uint64_t process_start_time(pid_t pid, bool exited_too = false);
std::vector<std::string> list_ids(const std::string& root);

}  // namespace glassrun::state
