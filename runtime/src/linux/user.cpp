#include "linux/user.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "util/error.h"
#include "util/fd.h"
#include "util/fileio.h"

namespace glassrun::user {

std::string unusable_id(uint64_t id, bool is_uid) {
  if (id > 0xffffffffu) return "out of range";
  if (id == 0xffffffffu)
    return fmt::format("4294967295 is ({}_t)-1, which set{} takes as \"leave unchanged\": not an id", is_uid ? "uid" : "gid",
                       is_uid ? "resuid" : "resgid");
  return "";
}

void switch_to(const spec::User& u, bool setgroups_allowed) {
  for (gid_t g : u.additional_gids)
    if (auto why = unusable_id(g, false); !why.empty()) throw Error(fmt::format("setgroups: {}", why));
  if (auto why = unusable_id(u.gid, false); !why.empty()) throw Error(fmt::format("setresgid: {}", why));
  if (auto why = unusable_id(u.uid, true); !why.empty()) throw Error(fmt::format("setresuid: {}", why));
  if (setgroups_allowed) {
    std::vector<gid_t> groups = u.additional_gids;
    if (setgroups(groups.size(), groups.data()) != 0) throw_sys("setgroups");
  }
  if (setresgid(u.gid, u.gid, u.gid) != 0) throw_sys(fmt::format("setresgid {}", u.gid));
  if (setresuid(u.uid, u.uid, u.uid) != 0) throw_sys(fmt::format("setresuid {}", u.uid));
}

std::string home_dir(uid_t uid) {
  // Read whole, not through an ifstream: its locale and buffers cost the
  // entering process page faults on its way to execve (issue 18).
  std::string passwd;
  if (!fileio::read_file("/etc/passwd", passwd)) return "/";
  for (size_t start = 0, end; start < passwd.size(); start = end + 1) {
    end = passwd.find('\n', start);
    if (end == std::string::npos) end = passwd.size();
    std::string line = passwd.substr(start, end - start);
    // name:password:uid:gid:gecos:home:shell
    std::vector<std::string> f;
    size_t i = 0;
    for (size_t j; (j = line.find(':', i)) != std::string::npos; i = j + 1) f.push_back(line.substr(i, j - i));
    f.push_back(line.substr(i));
    if (f.size() >= 7 && f[2] == std::to_string(uid) && !f[5].empty()) return f[5];
  }
  return "/";
}

namespace {
// What openat2 says when there is simply nothing executable at that path.
bool absent(int err) { return err == ENOENT || err == ENOTDIR || err == ENAMETOOLONG; }
}  // namespace

Lookup find_executable(const std::string& name, const std::vector<std::string>& env) {
  // Go's findExecutable: a non-directory with an execute bit; anything else
  // that exists is "permission denied".
  // A /proc/self/fd/N on the way (ELOOP) is refused: it could name a host
  // file the entering process still holds (CVE-2024-21626's args[0] form).
  auto check = [](const std::string& p) {
    open_how how{};
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_NO_MAGICLINKS;
    UniqueFd fd(static_cast<int>(syscall(SYS_openat2, AT_FDCWD, p.c_str(), &how, sizeof how)));
    struct stat st;
    if (!fd) return absent(errno) ? ENOENT : errno;  // EACCES, ELOOP kept
    if (fstat(fd.get(), &st) != 0) return errno;
    if (!S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0) return EACCES;
    if (access(p.c_str(), X_OK) != 0) return errno == EACCES || errno == EPERM || errno == EROFS ? EACCES : errno;
    return 0;
  };
  // Passed over as Go does; any other errno is a failure to look (EIO), reported.
  auto passed_over = [](int err) { return err == ENOENT || err == EACCES || err == ELOOP; };
  if (name.find('/') != std::string::npos) {
    int err = check(name);
    return err ? Lookup{"", err, name} : Lookup{name, 0, ""};
  }
  // The container's PATH only: without one nothing is searched, as runc 1.1.5
  // and crun 1.8.1 (Go's LookPath and crun's own search of an unset PATH).
  std::string path;
  for (const auto& e : env)
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  if (path.empty()) return {"", ENOENT, ""};
  // As Go's LookPath (runc 1.1.5): on PATH, a file that is not executable is
  // passed over, and none found is "not found", whatever was passed over.
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find(':', i);
    if (j == std::string::npos) j = path.size();
    std::string dir = path.substr(i, j - i);
    std::string cand = (dir.empty() ? "." : dir) + "/" + name;
    int err = check(cand);
    if (err == 0) return {cand, 0, ""};
    if (!passed_over(err)) return {"", err, cand};
    i = j + 1;
  }
  return {"", ENOENT, ""};
}

}  // namespace glassrun::user
