#include "linux/user.h"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <vector>

#include "util/error.h"

namespace glassrun::user {

void switch_to(const spec::User& u, bool setgroups_allowed) {
  if (setgroups_allowed) {
    std::vector<gid_t> groups = u.additional_gids;
    if (setgroups(groups.size(), groups.data()) != 0) throw_sys("setgroups");
  }
  if (setresgid(u.gid, u.gid, u.gid) != 0) throw_sys(fmt::format("setresgid {}", u.gid));
  if (setresuid(u.uid, u.uid, u.uid) != 0) throw_sys(fmt::format("setresuid {}", u.uid));
}

std::string home_dir(uid_t uid) {
  std::ifstream passwd("/etc/passwd");
  std::string line;
  while (std::getline(passwd, line)) {
    // name:password:uid:gid:gecos:home:shell
    std::vector<std::string> f;
    size_t i = 0;
    for (size_t j; (j = line.find(':', i)) != std::string::npos; i = j + 1) f.push_back(line.substr(i, j - i));
    f.push_back(line.substr(i));
    if (f.size() >= 7 && f[2] == std::to_string(uid) && !f[5].empty()) return f[5];
  }
  return "/";
}

std::string find_executable(const std::string& name, const std::vector<std::string>& env) {
  auto executable = [](const std::string& p) {
    struct stat st;
    return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(p.c_str(), X_OK) == 0;
  };
  if (name.find('/') != std::string::npos) return executable(name) ? name : "";
  std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const auto& e : env)
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find(':', i);
    if (j == std::string::npos) j = path.size();
    std::string dir = path.substr(i, j - i);
    std::string cand = (dir.empty() ? "." : dir) + "/" + name;
    if (executable(cand)) return cand;
    i = j + 1;
  }
  return "";
}

}  // namespace glassrun::user
