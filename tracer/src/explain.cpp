#include "explain.h"

#include <fmt/format.h>
#include <linux/audit.h>
#include <linux/seccomp.h>

#include <map>
#include <set>

#include "container.h"
#include "linux/seccomp.h"
#include "linux/seccomp_profile.h"
#include "renderers.h"
#include "seccomp_eval.h"
#include "syscalls.h"

namespace glasstrace {
namespace {

namespace gs = glassrun::seccomp;

// A default action no real rule uses: a rule-alone filter returning it did
// not match.
constexpr const char* kSentinelAction = "SCMP_ACT_TRACE";
constexpr uint16_t kSentinelData = 0xffff;
constexpr uint32_t kSentinel = SECCOMP_RET_TRACE | kSentinelData;

std::string bpf_of(const Json& seccomp) {
  return gs::compile(nlohmann::json::parse(seccomp.dump()))->bpf_program();
}

// Threads (tid) that died of SIGSYS.
std::set<uint32_t> killed_by_sigsys(const Trace& t) {
  std::set<uint32_t> tids;
  for (const auto& e : t.events)
    if (e["type"] == "exit" && e.value("signal", Json()) == "SIGSYS") tids.insert(e["tid"].get<uint32_t>());
  return tids;
}

bool denied_by(uint32_t action, const Json& e, const std::set<uint32_t>& sigsys) {
  uint32_t kind = action & SECCOMP_RET_ACTION_FULL;
  if (kind == SECCOMP_RET_ERRNO)
    return e["ret"].is_number() && e["ret"].get<int64_t>() == -int64_t(action & SECCOMP_RET_DATA);
  if (kind == SECCOMP_RET_KILL_PROCESS || kind == SECCOMP_RET_KILL_THREAD || kind == SECCOMP_RET_TRAP)
    return !e.value("complete", true) && sigsys.count(e["tid"].get<uint32_t>());
  return false;
}

std::string action_text(const Json& object, const char* action_key, const char* errno_key) {
  std::string s = object.value(action_key, "");
  if (object.contains(errno_key) && !object[errno_key].is_null()) s += fmt::format(" errnoRet {}", object[errno_key].dump());
  return s;
}

std::string rule_text(const Json& seccomp, const Denial& d) {
  if (!d.rule) return "defaultAction " + action_text(seccomp, "defaultAction", "defaultErrnoRet");
  const Json& r = seccomp["syscalls"][*d.rule];
  std::string s = fmt::format("linux.seccomp.syscalls[{}] names {} action {}", *d.rule, r.value("names", Json::array()).dump(),
                              action_text(r, "action", "errnoRet"));
  if (r.contains("args") && r["args"].is_array() && !r["args"].empty()) s += " args " + r["args"].dump();
  return s;
}

}  // namespace

std::vector<Denial> explain_denials(const Trace& t, const Json& seccomp) {
  std::string whole = bpf_of(seccomp);
  gs::Profile parsed = gs::parse_profile(nlohmann::json::parse(seccomp.dump()));
  // One filter per rule, alone, with the sentinel as default. A rule whose
  // action is the default is dropped by the compiler, so it decides nothing.
  std::map<size_t, std::string> alone;
  for (size_t i = 0; i < parsed.syscalls.size(); i++) {
    if (parsed.syscalls[i].action == parsed.default_action || parsed.syscalls[i].action == kSentinel) continue;
    Json one = seccomp;
    one["defaultAction"] = kSentinelAction;
    one["defaultErrnoRet"] = kSentinelData;
    one["syscalls"] = Json::array({seccomp["syscalls"][i]});
    alone[i] = bpf_of(one);
  }

  ContainerView c = find_container(t);
  std::set<uint32_t> sigsys = killed_by_sigsys(t);
  std::vector<Denial> out;
  for (const auto& e : t.events) {
    if (!c.under_filter(e)) continue;
    SeccompInput in{};
    in.nr = static_cast<int32_t>(e["nr"].get<int64_t>());
    in.arch = AUDIT_ARCH_X86_64;
    for (int i = 0; i < 6; i++) in.args[i] = e["args"][i].get<uint64_t>();
    uint32_t action = run_seccomp_bpf(whole, in);
    if (!denied_by(action, e, sigsys)) continue;
    Denial d{&e, action, std::nullopt};
    for (const auto& [i, prog] : alone)
      if (run_seccomp_bpf(prog, in) == action) {
        d.rule = i;
        break;
      }
    out.push_back(d);
  }
  return out;
}

std::string explain_text(const std::vector<Denial>& denials, const Json& seccomp) {
  if (denials.empty()) return "no syscall of the container was denied by the profile\n";
  std::string s;
  for (const auto& d : denials) {
    const Json& e = *d.event;
    std::string result = e["errno"].is_string() ? fmt::format("-1 {}", e["errno"].get<std::string>()) : "? (killed by SIGSYS)";
    s += fmt::format("[pid {}] {} = {} <- {}\n", e["pid"].get<uint32_t>(), strace_call(e), result, rule_text(seccomp, d));
  }
  return s;
}

Json explain_json(const std::vector<Denial>& denials, const Json& seccomp) {
  Json list = Json::array();
  for (const auto& d : denials) {
    const Json& e = *d.event;
    list.push_back({{"pid", e["pid"]},
                    {"tid", e["tid"]},
                    {"ts", e["ts"]},
                    {"syscall", e["name"]},
                    {"call", strace_call(e)},
                    {"errno", e["errno"]},
                    {"filter_action", fmt::format("{:#010x}", d.action)},
                    {"rule", d.rule ? Json(*d.rule) : Json(nullptr)},
                    {"rule_text", rule_text(seccomp, d)}});
  }
  return Json{{"v", 1}, {"denials", list}};
}

}  // namespace glasstrace
