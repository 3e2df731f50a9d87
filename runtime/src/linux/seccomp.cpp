#include "linux/seccomp.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cstring>

#include "linux/seccomp_context.h"
#include "linux/seccomp_enosys.h"
#include "linux/seccomp_profile.h"
#include "util/error.h"

namespace glassrun::seccomp {
namespace {

// runc turns on libseccomp's binary-tree layout above this many entries
// (libseccomp <= 2.5.4 misbehaves with it on an empty rule set).
constexpr size_t kBinaryTreeThreshold = 32;
constexpr size_t kMaxSyscallArgs = 6;

// The SECCOMP_FILTER_FLAG_* a loaded program needs, from the profile's flags
// (as libseccomp's seccomp_load would pass them).
unsigned filter_flags(const Profile& p, bool notify) {
  unsigned flags = notify ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;
  for (const auto& f : p.flags) {
    if (f.attribute == SCMP_FLTATR_CTL_TSYNC)
      flags |= SECCOMP_FILTER_FLAG_TSYNC | (notify ? SECCOMP_FILTER_FLAG_TSYNC_ESRCH : 0);
    if (f.attribute == SCMP_FLTATR_CTL_LOG) flags |= SECCOMP_FILTER_FLAG_LOG;
    if (f.attribute == SCMP_FLTATR_CTL_SSB) flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
  }
  return flags;
}

class LibseccompFilter final : public Filter {
 public:
  // program: the ENOSYS stub followed by libseccomp's program, or empty when
  // there is no stub and libseccomp loads its own.
  LibseccompFilter(Context ctx, Profile profile, std::vector<std::string> skipped, bool notify_rules,
                   std::vector<sock_filter> program)
      : ctx_(std::move(ctx)),
        profile_(std::move(profile)),
        skipped_(std::move(skipped)),
        notify_(notify_rules),
        program_(std::move(program)) {}

  int load() override {
    if (!program_.empty()) return load_program();
    if (int rc = seccomp_load(ctx_.get()); rc < 0) throw_sys("seccomp: load filter", -rc);
    if (!notify_) return -1;
    int fd = seccomp_notify_fd(ctx_.get());
    if (fd < 0) throw_sys("seccomp: get notify fd", -fd);
    return fd;
  }
  bool uses_notify() const override { return notify_; }
  std::string listener_path() const override { return profile_.listener_path; }
  std::string listener_metadata() const override { return profile_.listener_metadata; }
  std::vector<std::string> skipped_syscalls() const override { return skipped_; }
  // What the kernel runs: the ENOSYS stub + libseccomp's program when there
  // is a stub, else libseccomp's program alone.
  std::string bpf_program() const override {
    if (program_.empty()) return export_bpf(ctx_);
    return std::string(reinterpret_cast<const char*>(program_.data()), program_.size() * sizeof(sock_filter));
  }
  std::size_t bpf_size() const override { return program_.empty() ? export_bpf(ctx_).size() : program_.size() * sizeof(sock_filter); }

 private:
  int load_program() {
    sock_fprog prog{static_cast<unsigned short>(program_.size()), program_.data()};
    long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, filter_flags(profile_, notify_), &prog);
    if (rc < 0) throw_sys("seccomp: load filter");
    return notify_ ? static_cast<int>(rc) : -1;
  }

  Context ctx_;
  Profile profile_;
  std::vector<std::string> skipped_;
  bool notify_;
  std::vector<sock_filter> program_;
};

void set_attribute(const Context& ctx, scmp_filter_attr attr, uint32_t value, const std::string& what) {
  if (int rc = seccomp_attr_set(ctx.get(), attr, value); rc < 0) throw_sys(what, -rc);
}

Context new_context(const Profile& p) {
  Context ctx(seccomp_init(p.default_action));
  if (!ctx) fail("linux.seccomp.defaultAction: libseccomp rejected action {:#x}", p.default_action);
  // The init sets no_new_privs itself (or not, per process.noNewPrivileges).
  set_attribute(ctx, SCMP_FLTATR_CTL_NNP, 0, "seccomp: clear no_new_privs attribute");
  // Report the kernel's errno from seccomp_load instead of a blanket ECANCELED.
  seccomp_attr_set(ctx.get(), SCMP_FLTATR_API_SYSRAWRC, 1);
  if (p.syscalls.size() > kBinaryTreeThreshold) seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);
  return ctx;
}

void add_architectures(const Context& ctx, const Profile& p) {
  for (size_t i = 0; i < p.architectures.size(); ++i) {
    int rc = seccomp_arch_add(ctx.get(), p.architectures[i]);
    if (rc == -EEXIST) continue;  // the native arch is always there
    if (rc < 0) throw_sys(fmt::format("linux.seccomp.architectures[{}]: add architecture", i), -rc);
  }
}

void add_flags(const Context& ctx, const Profile& p) {
  for (const auto& flag : p.flags) set_attribute(ctx, flag.attribute, 1, fmt::format("{}: set {}", flag.field, flag.name));
}

std::vector<scmp_arg_cmp> to_conditions(const std::vector<ArgCondition>& args) {
  std::vector<scmp_arg_cmp> out;
  for (const auto& a : args) out.push_back({a.index, a.op, a.value, a.value_two});
  return out;
}

bool repeats_an_index(const std::vector<ArgCondition>& args) {
  std::array<int, kMaxSyscallArgs> count{};
  for (const auto& a : args)
    if (++count[a.index] > 1) return true;
  return false;
}

void add_conditional(const Context& ctx, const SyscallRule& rule, const std::string& name, int nr,
                     const std::vector<scmp_arg_cmp>& conds) {
  int rc = seccomp_rule_add_array(ctx.get(), rule.action, nr, static_cast<unsigned>(conds.size()), conds.data());
  if (rc < 0) throw_sys(fmt::format("{}: add rule for syscall \"{}\"", rule.field, name), -rc);
}

// As runc: all conditions in one rule (ANDed) when each argument index is
// used once; one rule per condition (ORed) as soon as an index repeats,
// since libseccomp cannot AND two comparisons of the same argument.
void add_syscall(const Context& ctx, const SyscallRule& rule, const std::string& name, int nr) {
  auto conds = to_conditions(rule.args);
  if (!repeats_an_index(rule.args)) return add_conditional(ctx, rule, name, nr, conds);
  for (const auto& c : conds) add_conditional(ctx, rule, name, nr, {c});
}

// runc's ENOSYS stub in front of libseccomp's program; empty when none applies.
std::vector<sock_filter> with_enosys_stub(const Context& ctx, const Profile& p) {
  std::vector<sock_filter> program = enosys_stub(p);
  if (program.empty()) return program;
  std::string bpf = export_bpf(ctx);
  size_t stub = program.size();
  program.resize(stub + bpf.size() / sizeof(sock_filter));
  std::memcpy(program.data() + stub, bpf.data(), bpf.size() - bpf.size() % sizeof(sock_filter));
  if (program.size() > BPF_MAXINSNS) fail("linux.seccomp: the filter has {} instructions (max {})", program.size(), BPF_MAXINSNS);
  return program;
}

}  // namespace

std::unique_ptr<Filter> compile(const nlohmann::json& seccomp) {
  Profile profile = parse_profile(seccomp);
  Context ctx = new_context(profile);
  add_architectures(ctx, profile);
  add_flags(ctx, profile);

  std::vector<std::string> skipped;
  bool notify_rules = false;
  for (const auto& rule : profile.syscalls) {
    // libseccomp refuses rules whose action is the default; runc drops them.
    if (rule.action == profile.default_action) continue;
    for (const auto& name : rule.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) {
        skipped.push_back(name);  // unknown to this libseccomp: runc ignores it
        continue;
      }
      add_syscall(ctx, rule, name, nr);
      notify_rules |= rule.action == SCMP_ACT_NOTIFY;
    }
  }
  std::vector<sock_filter> program = with_enosys_stub(ctx, profile);
  return std::make_unique<LibseccompFilter>(std::move(ctx), std::move(profile), std::move(skipped), notify_rules,
                                            std::move(program));
}

}  // namespace glassrun::seccomp
