#include "state/state.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "util/error.h"
#include "util/fileio.h"
#include "util/umask.h"

namespace glassrun::state {

using nlohmann::json;

std::string to_string(Status s) {
  switch (s) {
    case Status::Creating: return "creating";
    case Status::Created: return "created";
    case Status::Running: return "running";
    case Status::Paused: return "paused";
    case Status::Stopped: return "stopped";
  }
  return "unknown";
}

namespace {
std::string label_value(const json& config, const std::string& key) {
  auto it = config.find("labels");
  if (it == config.end() || !it->is_array()) return "";
  for (const auto& l : *it) {
    if (!l.is_string()) continue;
    auto s = l.get<std::string>();
    if (s.rfind(key + "=", 0) == 0) return s.substr(key.size() + 1);
  }
  return "";
}
}  // namespace

std::string State::bundle() const { return label_value(config, "bundle"); }
std::string State::rootfs() const { return config.value("rootfs", ""); }

std::map<std::string, std::string> State::annotations() const {
  std::map<std::string, std::string> out;
  auto it = config.find("labels");
  if (it == config.end() || !it->is_array()) return out;
  for (const auto& l : *it) {
    if (!l.is_string()) continue;
    auto s = l.get<std::string>();
    auto eq = s.find('=');
    if (eq == std::string::npos || s.compare(0, eq, "bundle") == 0) continue;
    out[s.substr(0, eq)] = s.substr(eq + 1);
  }
  return out;
}

json to_json(const State& s) {
  return json{{"id", s.id},
              {"init_process_pid", s.init_pid},
              {"init_process_start", s.init_start},
              {"created", s.created},
              {"config", s.config},
              {"rootless", s.rootless},
              {"cgroup_paths", s.cgroup_paths},
              {"namespace_paths", s.namespace_paths},
              {"external_descriptors", s.external_descriptors},
              {"intel_rdt_path", s.intel_rdt_path}};
}

std::string state_text(const State& s) {
  // The keys in the order nlohmann's object (a std::map) dumps them.
  std::string out;
  out += R"({"cgroup_paths":)" + json(s.cgroup_paths).dump();
  out += R"(,"config":)";
  out += s.config.dump();
  out += R"(,"created":)" + json(s.created).dump();
  out += R"(,"external_descriptors":)" + json(s.external_descriptors).dump();
  out += R"(,"id":)" + json(s.id).dump();
  out += R"(,"init_process_pid":)" + json(s.init_pid).dump();
  out += R"(,"init_process_start":)" + json(s.init_start).dump();
  out += R"(,"intel_rdt_path":)" + json(s.intel_rdt_path).dump();
  out += R"(,"namespace_paths":)" + json(s.namespace_paths).dump();
  out += R"(,"rootless":)" + json(s.rootless).dump();
  out += '}';
  return out;
}

State parse_state_json(std::string_view text) {
  // Of runc's config view only "labels" (bundle, annotations) and "rootfs"
  // are read after create, and create alone writes state.json: the rest of
  // it is not built (issue 18).
  bool in_config = false;
  auto keep = [&in_config](int depth, json::parse_event_t event, json& parsed) {
    if (event != json::parse_event_t::key) return true;
    if (depth == 1) in_config = parsed == "config";
    return depth != 2 || !in_config || parsed == "labels" || parsed == "rootfs";
  };
  json j;
  try {
    j = json::parse(text.begin(), text.end(), keep);
  } catch (const json::exception& e) {
    throw Error(fmt::format("state.json: invalid JSON: {}", e.what()));
  }
  if (!j.is_object()) throw Error("state.json: must be a JSON object");
  State s;
  try {
    s.id = j.at("id").get<std::string>();
    s.init_pid = j.at("init_process_pid").get<pid_t>();
    s.init_start = j.at("init_process_start").get<uint64_t>();
    s.created = j.at("created").get<std::string>();
    s.config = std::move(j.at("config"));
    if (!s.config.is_object()) throw Error("state.json: config: must be an object");
    s.rootless = j.value("rootless", false);
    if (j.contains("cgroup_paths") && !j["cgroup_paths"].is_null())
      s.cgroup_paths = j["cgroup_paths"].get<std::map<std::string, std::string>>();
    if (j.contains("namespace_paths") && !j["namespace_paths"].is_null())
      s.namespace_paths = j["namespace_paths"].get<std::map<std::string, std::string>>();
    if (j.contains("external_descriptors") && !j["external_descriptors"].is_null())
      s.external_descriptors = j["external_descriptors"].get<std::vector<std::string>>();
    s.intel_rdt_path = j.value("intel_rdt_path", "");
  } catch (const json::exception& e) {
    throw Error(fmt::format("state.json: {}", e.what()));
  }
  return s;
}

void validate_id(const std::string& id) {
  if (id.empty()) throw Error("container id: must not be empty");
  if (id.size() > 1024) throw Error("container id: longer than 1024 bytes");
  if (id == "." || id == "..") throw Error(fmt::format("container id: invalid id \"{}\"", id));
  for (unsigned char c : id)
    if (!(std::isalnum(c) || c == '_' || c == '+' || c == '-' || c == '.'))
      throw Error(fmt::format("container id: invalid id \"{}\": only letters, digits, _ + - . are allowed",
                              id.size() > 64 ? id.substr(0, 64) + "..." : id));
}

ContainerDir::ContainerDir(std::string root, std::string id, UniqueFd dirfd)
    : root_(std::move(root)), id_(std::move(id)), path_(root_ + "/" + id_), dirfd_(std::move(dirfd)) {}

ContainerDir ContainerDir::create(const std::string& root, const std::string& id) {
  validate_id(id);
  // MkdirAll, as runc: containerd passes --root /run/containerd/runc/<ns>.
  // The root is usually there: its own mkdir first, its parents' only when
  // that finds one missing.
  if (mkdir(root.c_str(), 0700) != 0 && errno != EEXIST) {
    if (errno != ENOENT) throw_sys(fmt::format("mkdir {}", root));
    for (size_t i = 1; i <= root.size(); ++i)
      if (i == root.size() || root[i] == '/')
        if (mkdir(root.substr(0, i).c_str(), 0700) != 0 && errno != EEXIST)
          throw_sys(fmt::format("mkdir {}", root.substr(0, i)));
  }
  std::string path = root + "/" + id;
  if (mkdir(path.c_str(), 0711) != 0) {
    if (errno == EEXIST) throw Error(fmt::format("container with id exists: {}", id));
    throw_sys(fmt::format("mkdir {}", path));
  }
  UniqueFd fd(::open(path.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!fd) {
    int err = errno;
    rmdir(path.c_str());  // just made and still empty: nothing else owns it yet
    throw_sys(fmt::format("open {}", path), err);
  }
  return ContainerDir(root, id, std::move(fd));
}

ContainerDir ContainerDir::open(const std::string& root, const std::string& id) {
  validate_id(id);
  std::string path = root + "/" + id;
  UniqueFd fd(::open(path.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) throw Error("container does not exist");
    throw_sys(fmt::format("open {}", path));
  }
  return ContainerDir(root, id, std::move(fd));
}

UniqueFd ContainerDir::make_exec_fifo() const {
  // 0622 as runc: only the owner may read (start), anyone may open for write.
  int rc;
  {
    UmaskCleared no_umask;
    rc = mkfifoat(dirfd_.get(), "exec.fifo", 0622);
  }
  if (rc != 0) throw_sys(fmt::format("mkfifo {}", fifo_path()));
  UniqueFd fd(openat(dirfd_.get(), "exec.fifo", O_PATH | O_CLOEXEC));
  if (!fd) throw_sys(fmt::format("open {}", fifo_path()));
  return fd;
}

bool ContainerDir::has_exec_fifo() const {
  struct stat st;
  if (fstatat(dirfd_.get(), "exec.fifo", &st, 0) == 0) return true;
  if (errno != ENOENT) throw_sys(fmt::format("stat {}", fifo_path()));
  return false;
}

bool ContainerDir::is_at_its_path() const {
  struct stat held, named;
  return fstat(dirfd_.get(), &held) == 0 && stat(path_.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
         held.st_ino == named.st_ino;
}

void ContainerDir::write_state(const State& s) const {
  fileio::write_atomic(dirfd_.get(), "state.json", state_text(s), 0600);
}

State ContainerDir::read_state() const {
  std::string text;
  if (!fileio::read_at(dirfd_.get(), "state.json", text)) {
    if (errno == ENOENT) throw Error("container does not exist");
    throw_sys(fmt::format("read {}/state.json", path_));
  }
  return parse_state_json(text);
}

void ContainerDir::write_extras(const Extras& e) const { write_extras(e.oci_config, e.created_cgroups, e.cgroup_paths); }

void ContainerDir::write_extras(const json& oci_config, const std::vector<std::string>& created_cgroups,
                                const std::map<std::string, std::string>& cgroup_paths) const {
  // The bytes of one JSON object of the three (keys in its sorted order),
  // written without copying the config into it.
  std::string text = R"({"cgroup_paths":)" + json(cgroup_paths).dump() + R"(,"created_cgroups":)" +
                     json(created_cgroups).dump() + R"(,"oci_config":)" + oci_config.dump() + "}";
  fileio::write_atomic(dirfd_.get(), "glassrun.json", text, 0600);
}

Extras ContainerDir::read_extras() const {
  Extras e;
  std::string text;
  if (!fileio::read_at(dirfd_.get(), "glassrun.json", text)) {
    // Absent (a create killed early): nothing recorded. Unreadable is an error:
    // taken for empty, delete would forget the cgroups it must remove.
    if (errno == ENOENT) return e;
    throw_sys(fmt::format("read {}/glassrun.json", path_));
  }
  try {
    json j = json::parse(text);
    auto config = j.find("oci_config");
    e.oci_config = config != j.end() ? std::move(*config) : json::object();
    e.created_cgroups = j.value("created_cgroups", std::vector<std::string>{});
    e.cgroup_paths = j.value("cgroup_paths", std::map<std::string, std::string>{});
  } catch (const json::exception& ex) {
    throw Error(fmt::format("{}/glassrun.json: {}", path_, ex.what()));
  }
  return e;
}

void ContainerDir::remove() const {
  // What a container's directory holds once it has started, by name: three
  // calls instead of a listing. Anything else there (exec.fifo of a
  // container never started, a temporary file) leaves it not empty, and the
  // listing below takes it.
  bool by_name = true;
  for (const char* name : {"state.json", "glassrun.json"})
    by_name = by_name && (unlinkat(dirfd_.get(), name, 0) == 0 || errno == ENOENT);
  if (by_name && (rmdir(path_.c_str()) == 0 || errno == ENOENT)) return;
  // A failed unlink or rmdir (a transient error) is retried: a directory left
  // behind keeps the id taken. If it still fails, the caller reports it.
  int err = 0;
  std::string what;
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (attempt) usleep(10000 << attempt);
    err = 0;
    // A new open file description, not a dup: a dup would share the offset
    // the previous attempt's listing left at the end, and list nothing.
    int listing = openat(dirfd_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR* d = listing >= 0 ? fdopendir(listing) : nullptr;
    if (!d && listing >= 0) {
      int e = errno;
      ::close(listing);
      errno = e;
    }
    if (d) {
      while (dirent* e = readdir(d)) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (unlinkat(dirfd_.get(), e->d_name, 0) != 0 && errno != ENOENT && !err) {
          err = errno;
          what = fmt::format("unlink {}/{}", path_, e->d_name);
        }
      }
      closedir(d);
    } else {
      err = errno;
      what = fmt::format("open {}", path_);
      continue;
    }
    if (rmdir(path_.c_str()) == 0 || errno == ENOENT) return;
    if (!err) {
      err = errno;
      what = fmt::format("rmdir {}", path_);
    }
  }
  throw_sys(what, err);
}

uint64_t process_start_time(pid_t pid, bool exited_too) {
  std::string text;
  // Gone is 0; failing to look (EIO) is not "gone": a running container
  // would pass for stopped.
  if (!fileio::read_file(fmt::format("/proc/{}/stat", pid), text, /*one_record=*/true)) {
    if (errno == ENOENT || errno == ESRCH) return 0;
    throw_sys(fmt::format("read /proc/{}/stat", pid));
  }
  // comm may hold spaces and parentheses: fields resume after the last ')'.
  auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream in(text.substr(close + 2));
  std::string field;
  char st = 0;
  in >> st;
  if ((st == 'Z' || st == 'X') && !exited_too) return 0;
  for (int i = 4; i <= 22 && in >> field; ++i)
    if (i == 22) return std::stoull(field);
  return 0;
}

bool init_alive(const State& s) {
  if (s.init_pid <= 0) return false;
  return process_start_time(s.init_pid) == s.init_start;
}

Status current_status(const ContainerDir& dir, const State& s, const std::function<bool()>& frozen) {
  if (!init_alive(s)) return Status::Stopped;
  if (frozen()) return Status::Paused;
  if (dir.has_exec_fifo()) return Status::Created;
  return Status::Running;
}

nlohmann::ordered_json oci_state(const State& s, Status status) {
  nlohmann::ordered_json j{{"ociVersion", "1.0.2"},
                           {"id", s.id},
                           {"pid", status == Status::Stopped ? 0 : s.init_pid},
                           {"status", to_string(status)},
                           {"bundle", s.bundle()},
                           {"rootfs", s.rootfs()},
                           {"created", s.created}};
  auto ann = s.annotations();
  if (!ann.empty()) j["annotations"] = ann;
  j["owner"] = "";
  return j;
}

std::vector<std::string> list_ids(const std::string& root) {
  std::vector<std::string> ids;
  DIR* d = opendir(root.c_str());
  if (!d) return ids;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    if (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN) ids.emplace_back(e->d_name);
  }
  closedir(d);
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace glassrun::state
