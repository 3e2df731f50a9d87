#include "linux/seccomp_profile.h"

#include <cerrno>
#include <limits>

#include "linux/seccomp_names.h"
#include "util/error.h"

namespace glassrun::seccomp {
namespace {

using nlohmann::json;

constexpr unsigned kMaxSyscallArgs = 6;
const std::string kRoot = "linux.seccomp";

// Absent and null members are the same thing in OCI configs.
const json* member(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string as_string(const json& v, const std::string& field) {
  if (!v.is_string()) fail("{}: must be a string", field);
  return v.get<std::string>();
}

// Parsed text gives number_unsigned for non-negative integers; JSON built in
// code may hold them as number_integer.
uint64_t as_uint(const json& v, const std::string& field) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0) return static_cast<uint64_t>(v.get<int64_t>());
  fail("{}: must be an unsigned integer", field);
}

const json& as_array(const json& v, const std::string& field) {
  if (!v.is_array()) fail("{}: must be an array", field);
  return v;
}

std::string item(const std::string& field, size_t i) { return fmt::format("{}[{}]", field, i); }

// errnoRet is only meaningful for ERRNO/TRACE; the runtime-spec says a runtime
// MUST fail otherwise. Absent means EPERM, as runc does for both actions.
uint32_t parse_action(const json& object, const std::string& field, const char* action_key, const char* errno_key) {
  const json* name = member(object, action_key);
  const std::string action_field = field + "." + action_key;
  if (!name) fail("{}: required", action_field);
  const std::string text = as_string(*name, action_field);
  auto action = lookup_action(text);
  if (!action) fail("{}: unknown action \"{}\"", action_field, text);

  uint16_t errno_ret = EPERM;
  if (const json* e = member(object, errno_key)) {
    const std::string errno_field = field + "." + errno_key;
    if (!action->takes_errno) fail("{}: not allowed with {}", errno_field, text);
    uint64_t value = as_uint(*e, errno_field);
    if (value > std::numeric_limits<uint16_t>::max()) fail("{}: {} is out of range (max 65535)", errno_field, value);
    errno_ret = static_cast<uint16_t>(value);
  }
  return action_value(*action, errno_ret);
}

ArgCondition parse_arg(const json& arg, const std::string& field) {
  if (!arg.is_object()) fail("{}: must be an object", field);
  ArgCondition cond{};
  const json* index = member(arg, "index");
  if (!index) fail("{}.index: required", field);
  uint64_t i = as_uint(*index, field + ".index");
  if (i >= kMaxSyscallArgs) fail("{}.index: {} is out of range (a syscall has at most 6 arguments)", field, i);
  cond.index = static_cast<unsigned>(i);

  const json* value = member(arg, "value");
  if (!value) fail("{}.value: required", field);
  cond.value = as_uint(*value, field + ".value");
  if (const json* two = member(arg, "valueTwo")) cond.value_two = as_uint(*two, field + ".valueTwo");

  const json* op = member(arg, "op");
  if (!op) fail("{}.op: required", field);
  const std::string op_name = as_string(*op, field + ".op");
  auto parsed = lookup_operator(op_name);
  if (!parsed) fail("{}.op: unknown operator \"{}\"", field, op_name);
  cond.op = *parsed;
  return cond;
}

std::vector<std::string> parse_names(const json& call, const std::string& field) {
  const json* names = member(call, "names");
  if (!names) fail("{}.names: required", field);
  const json& list = as_array(*names, field + ".names");
  if (list.empty()) fail("{}.names: must not be empty", field);
  std::vector<std::string> out;
  for (size_t i = 0; i < list.size(); ++i) {
    std::string name = as_string(list[i], item(field + ".names", i));
    if (name.empty()) fail("{}: empty string is not a valid syscall", item(field + ".names", i));
    out.push_back(std::move(name));
  }
  return out;
}

SyscallRule parse_syscall(const json& call, const std::string& field) {
  if (!call.is_object()) fail("{}: must be an object", field);
  SyscallRule rule;
  rule.field = field;
  rule.names = parse_names(call, field);
  rule.action = parse_action(call, field, "action", "errnoRet");
  if (const json* args = member(call, "args")) {
    const json& list = as_array(*args, field + ".args");
    for (size_t i = 0; i < list.size(); ++i) rule.args.push_back(parse_arg(list[i], item(field + ".args", i)));
  }
  return rule;
}

std::vector<uint32_t> parse_architectures(const json& seccomp) {
  std::vector<uint32_t> out;
  const json* arches = member(seccomp, "architectures");
  if (!arches) return out;
  const std::string field = kRoot + ".architectures";
  const json& list = as_array(*arches, field);
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string name = as_string(list[i], item(field, i));
    auto arch = lookup_arch(name);
    if (!arch) fail("{}: unknown architecture \"{}\"", item(field, i), name);
    out.push_back(*arch);
  }
  return out;
}

std::vector<FlagAttribute> parse_flags(const json& seccomp) {
  std::vector<FlagAttribute> out;
  const json* flags = member(seccomp, "flags");
  if (!flags) return out;
  const std::string field = kRoot + ".flags";
  const json& list = as_array(*flags, field);
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string name = as_string(list[i], item(field, i));
    auto attr = lookup_flag(name);
    if (!attr) fail("{}: unsupported flag \"{}\"", item(field, i), name);
    out.push_back({item(field, i), name, *attr});
  }
  return out;
}

// runc's rules for notify: the fd is handed over by the init after load, so
// write must keep working and the default cannot be NOTIFY; an agent to
// receive the fd is mandatory (runtime-spec).
void check_notify(const Profile& p) {
  if (p.default_action == SCMP_ACT_NOTIFY)
    fail("{}.defaultAction: SCMP_ACT_NOTIFY cannot be used as default action", kRoot);
  for (const auto& rule : p.syscalls) {
    if (rule.action != SCMP_ACT_NOTIFY) continue;
    for (size_t i = 0; i < rule.names.size(); ++i)
      if (rule.names[i] == "write")
        fail("{}: SCMP_ACT_NOTIFY cannot be used for the write syscall", item(rule.field + ".names", i));
  }
  if (p.uses_notify && p.listener_path.empty())
    fail("{}.listenerPath: required when a syscall uses SCMP_ACT_NOTIFY", kRoot);
}

}  // namespace

Profile parse_profile(const json& seccomp) {
  if (!seccomp.is_object()) fail("{}: must be an object", kRoot);
  Profile p;
  p.default_action = parse_action(seccomp, kRoot, "defaultAction", "defaultErrnoRet");
  p.architectures = parse_architectures(seccomp);
  p.flags = parse_flags(seccomp);
  if (const json* path = member(seccomp, "listenerPath")) p.listener_path = as_string(*path, kRoot + ".listenerPath");
  if (const json* meta = member(seccomp, "listenerMetadata"))
    p.listener_metadata = as_string(*meta, kRoot + ".listenerMetadata");
  if (const json* syscalls = member(seccomp, "syscalls")) {
    const std::string field = kRoot + ".syscalls";
    const json& list = as_array(*syscalls, field);
    for (size_t i = 0; i < list.size(); ++i) {
      p.syscalls.push_back(parse_syscall(list[i], item(field, i)));
      if (p.syscalls.back().action == SCMP_ACT_NOTIFY) p.uses_notify = true;
    }
  }
  check_notify(p);
  return p;
}

}  // namespace glassrun::seccomp
