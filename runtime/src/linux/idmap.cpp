#include "linux/idmap.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <regex>
#include <sstream>

#include "util/error.h"
#include "util/fd.h"
#include "util/fileio.h"
#include "util/probes.h"

namespace glassrun::idmap {

std::string format(const std::vector<spec::IdMapping>& maps) {
  std::string s;
  for (const auto& m : maps) s += fmt::format("{} {} {}\n", m.container_id, m.host_id, m.size);
  return s;
}

namespace {

// The one mapping an unprivileged parent may write itself: its own id, once.
bool own_id_only(const std::vector<spec::IdMapping>& maps, uint32_t id) {
  return maps.size() == 1 && maps[0].size == 1 && maps[0].host_id == id;
}

// Ranges need the setuid helpers of the uidmap package (newuidmap/newgidmap),
// which check them against /etc/subuid and /etc/subgid.
void run_helper(const char* helper, pid_t pid, const std::vector<spec::IdMapping>& maps, const char* field) {
  std::vector<std::string> args{helper, std::to_string(pid)};
  for (const auto& m : maps)
    for (uint32_t v : {m.container_id, m.host_id, m.size}) args.push_back(std::to_string(v));
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) throw_sys("pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, out[1], 2);
  pid_t child;
  int err = posix_spawnp(&child, helper, &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  UniqueFd rd(out[0]);
  if (err != 0)
    throw Error(fmt::format("linux.{}: mapping more than your own id needs {} (package uidmap): {}", field, helper,
                            errno_text(err)), err);
  std::string said;
  char buf[512];
  for (ssize_t n; (n = ::read(rd.get(), buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    if (said.size() < 4096) said.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  for (char& ch : said)
    if (ch == '\n') ch = ' ';
  while (!said.empty() && said.back() == ' ') said.pop_back();
  throw Error(fmt::format("linux.{}: {} {} failed (are the ids in /etc/sub{}?){}{}", field, helper, pid,
                          field[0] == 'u' ? "uid" : "gid", said.empty() ? "" : ": ", said));
}

void write_rootless(pid_t pid, const spec::Config& c) {
  if (!c.gid_mappings.empty()) {
    if (own_id_only(c.gid_mappings, getegid())) {
      // An unprivileged writer of gid_map must give up setgroups first.
      fileio::write_file(fmt::format("/proc/{}/setgroups", pid), "deny");
      fileio::write_file(fmt::format("/proc/{}/gid_map", pid), format(c.gid_mappings));
    } else {
      run_helper("newgidmap", pid, c.gid_mappings, "gidMappings");
    }
  }
  if (!c.uid_mappings.empty()) {
    if (own_id_only(c.uid_mappings, geteuid()))
      fileio::write_file(fmt::format("/proc/{}/uid_map", pid), format(c.uid_mappings));
    else
      run_helper("newuidmap", pid, c.uid_mappings, "uidMappings");
  }
}

// A map's lines in one canonical form, sorted: "container host size\n"...
std::string canonical(std::vector<spec::IdMapping> maps) {
  std::sort(maps.begin(), maps.end(), [](const auto& a, const auto& b) { return a.container_id < b.container_id; });
  return format(maps);
}

// Empty when the file cannot be read (the process is gone: the join then
// fails naming the namespace's path).
std::optional<std::vector<spec::IdMapping>> read_map(const std::string& file) {
  std::string text;
  if (!fileio::read_file(file, text)) return std::nullopt;
  std::istringstream in(text);
  std::vector<spec::IdMapping> out;
  for (spec::IdMapping m; in >> m.container_id >> m.host_id >> m.size;) out.push_back(m);
  return out;
}

}  // namespace

void check_joined(const spec::Config& c, const std::string& userns_path) {
  static const std::regex proc_ns(R"(/proc/(\d+)/ns/user)");
  std::smatch pid;
  if (!std::regex_match(userns_path, pid, proc_ns)) return;
  Step step("create.idmap_check");
  for (auto [field, maps, file] : {std::tuple{"uidMappings", &c.uid_mappings, "uid_map"},
                                   std::tuple{"gidMappings", &c.gid_mappings, "gid_map"}}) {
    if (maps->empty()) continue;
    std::string path = fmt::format("/proc/{}/{}", pid[1].str(), file);
    auto read = read_map(path);
    if (!read) return;
    std::string have = canonical(*read);
    if (canonical(*maps) != have)
      throw Error(fmt::format("linux.{}: do not match the joined user namespace's {} ({})", field, path,
                              have.empty() ? "empty" : have.substr(0, have.size() - 1)));
  }
}

void write(pid_t pid, const spec::Config& c, bool deny_setgroups) {
  Step step("create.idmap");
  if (geteuid() != 0) return write_rootless(pid, c);
  if (deny_setgroups) fileio::write_file(fmt::format("/proc/{}/setgroups", pid), "deny");
  fileio::write_file(fmt::format("/proc/{}/gid_map", pid), format(c.gid_mappings));
  fileio::write_file(fmt::format("/proc/{}/uid_map", pid), format(c.uid_mappings));
}

}  // namespace glassrun::idmap
