// RAII for libseccomp's filter context and the BPF export used for sizing.
#pragma once

#include <seccomp.h>

#include <cstddef>
#include <memory>
#include <string>

namespace glassrun::seccomp {

struct ContextRelease {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Context = std::unique_ptr<void, ContextRelease>;  // scmp_filter_ctx is void*

// The BPF program libseccomp generates for ctx, as raw sock_filter bytes.
// Throws glassrun::Error.
std::string export_bpf(const Context& ctx);

}  // namespace glassrun::seccomp
