// linux.seccomp → a libseccomp filter. Compiled in the parent before clone
// (errors surface before any process exists), loaded by the init at the last
// moment before execve.
#pragma once

// With -I runtime/src this file shadows the kernel's <linux/seccomp.h>, which
// libseccomp's <seccomp.h> includes for struct seccomp_data; pull the real one
// in from here so both are seen whichever is included first.
#include_next <linux/seccomp.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace glassrun::seccomp {

class Filter {
 public:
  virtual ~Filter() = default;
  // Loads the filter into the calling process (after no_new_privs or with
  // CAP_SYS_ADMIN). Returns the notify listener fd when the profile has
  // SCMP_ACT_NOTIFY rules, else -1. Throws glassrun::Error.
  virtual int load() = 0;
  virtual bool uses_notify() const = 0;
  virtual std::string listener_path() const = 0;
  virtual std::string listener_metadata() const = 0;
  // Syscall names this libseccomp does not know; runc skips them (and logs
  // them at debug level), so do we.
  virtual std::vector<std::string> skipped_syscalls() const = 0;
  // Size in bytes of the BPF program load() would install (8 bytes per
  // instruction); for tests and benchmarks. Throws glassrun::Error.
  virtual std::size_t bpf_size() const = 0;
  // The BPF program load() would install, as raw struct sock_filter bytes
  // (glasstrace explain runs it in user space). Throws glassrun::Error.
  virtual std::string bpf_program() const = 0;
};

// seccomp is the raw "linux.seccomp" object; errors name the field
// ("linux.seccomp.syscalls[3].action: unknown action SCMP_ACT_FOO").
std::unique_ptr<Filter> compile(const nlohmann::json& seccomp);

// Sends the notify fd to the profile's listenerPath, as runc does, for the
// init and for an exec'd process alike: one SCM_RIGHTS message whose payload
// is the runtime-spec ContainerProcessState {"ociVersion","fds":["seccompFd"],
// "pid","metadata","state"}. pid is the process that loaded the filter;
// state_json is the container's OCI state (its pid the init's); metadata is
// the profile's listenerMetadata. A socket that cannot be reached fails with
// runc's "failed to connect with seccomp agent specified in the seccomp
// profile: ...".
void send_to_listener(const Filter& filter, int notify_fd, int pid, const std::string& state_json);

}  // namespace glassrun::seccomp
