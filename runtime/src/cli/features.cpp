#include "cli/cli.h"
#include "linux/capabilities.h"
#include "linux/mount_options.h"

namespace glassrun::cli {

void add_features(CLI::App& app, Globals& g, Action& action) {
  auto* sub = app.add_subcommand("features", "print what this runtime supports (runtime-spec features.md)");
  sub->callback([&action] {
    action = [] {
      nlohmann::json caps = nlohmann::json::array();
      for (int c = 0; c <= caps::last_cap(); ++c) caps.push_back(caps::to_name(c));
      nlohmann::json f = {
          {"ociVersionMin", "1.0.0"},
          {"ociVersionMax", "1.1.0"},
          {"hooks", {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}},
          {"mountOptions",
           {"async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "lazytime", "loud", "mand",
            "noatime", "nodev", "nodiratime", "noexec", "nomand", "norelatime", "nostrictatime", "nosuid", "private",
            "rbind", "relatime", "remount", "ro", "rprivate", "rshared", "rslave", "runbindable", "rw", "shared",
            "silent", "slave", "strictatime", "suid", "sync", "tmpcopyup", "unbindable", "rro", "rrw", "rnosuid",
            "rsuid", "rnodev", "rdev", "rnoexec", "rexec"}},
          {"linux",
           {{"namespaces", {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"}},
            {"capabilities", caps},
            {"cgroup", {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}}},
            {"seccomp",
             {{"enabled", true},
              {"actions",
               {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
                "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"}},
              {"operators",
               {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ",
                "SCMP_CMP_NE"}},
              {"archs", {"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"}}}},
            // Supported by glassrun (linux/lsm.cpp); whether this host has them is another matter.
            {"apparmor", {{"enabled", true}}},
            {"selinux", {{"enabled", true}}}}},
          {"annotations", {{"org.opencontainers.runc.version", "1.1.5-compatible"}, {"io.glassrun.version", GLASSRUN_VERSION}}},
      };
      fmt::print("{}\n", f.dump(4));
      return 0;
    };
  });
}

}  // namespace glassrun::cli
