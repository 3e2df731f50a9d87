// linux.seccomp parsing and compiling, without loading anything: field-named
// errors, the action/operator/arch tables, runc's skip rules.
#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "linux/seccomp.h"
#include "linux/seccomp_profile.h"
#include "util/error.h"

namespace glassrun::seccomp {
namespace {

using nlohmann::json;

// Next to this file (CMake passes absolute paths), else under
// $GLASSRUN_SOURCE_DIR for builds that compile from elsewhere.
json load_data(const std::string& name) {
  std::filesystem::path dir = std::filesystem::path(__FILE__).parent_path() / "data";
  if (const char* src = getenv("GLASSRUN_SOURCE_DIR"); src && !std::filesystem::exists(dir))
    dir = std::filesystem::path(src) / "runtime/tests/data";
  std::ifstream in(dir / name);
  if (!in) throw std::runtime_error("missing test data " + name);
  return json::parse(in);
}

// The message of the Error compile() throws, or "" when it does not throw.
std::string compile_error(const json& seccomp) {
  try {
    compile(seccomp);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

json allow_all_but(json syscall) { return {{"defaultAction", "SCMP_ACT_ALLOW"}, {"syscalls", json::array({syscall})}}; }

TEST(SeccompParse, UnknownActionNamesTheField) {
  json s = {{"defaultAction", "SCMP_ACT_ALLOW"},
            {"syscalls",
             {{{"names", {"read"}}, {"action", "SCMP_ACT_ERRNO"}},
              {{"names", {"write"}}, {"action", "SCMP_ACT_ERRNO"}},
              {{"names", {"mkdir"}}, {"action", "SCMP_ACT_FOO"}}}}};
  EXPECT_EQ(compile_error(s), "linux.seccomp.syscalls[2].action: unknown action \"SCMP_ACT_FOO\"");
}

TEST(SeccompParse, FieldErrors) {
  const std::pair<json, std::string> cases[] = {
      {json::array(), "linux.seccomp: must be an object"},
      {json::object(), "linux.seccomp.defaultAction: required"},
      {{{"defaultAction", 3}}, "linux.seccomp.defaultAction: must be a string"},
      {{{"defaultAction", "SCMP_ACT_NOPE"}}, "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_NOPE\""},
      {{{"defaultAction", "SCMP_ACT_ALLOW"}, {"defaultErrnoRet", 1}},
       "linux.seccomp.defaultErrnoRet: not allowed with SCMP_ACT_ALLOW"},
      {{{"defaultAction", "SCMP_ACT_ERRNO"}, {"defaultErrnoRet", -1}},
       "linux.seccomp.defaultErrnoRet: must be an unsigned integer"},
      {{{"defaultAction", "SCMP_ACT_ERRNO"}, {"defaultErrnoRet", 70000}},
       "linux.seccomp.defaultErrnoRet: 70000 is out of range (max 65535)"},
      {{{"defaultAction", "SCMP_ACT_ALLOW"}, {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"}}},
       "linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_VAX\""},
      {{{"defaultAction", "SCMP_ACT_ALLOW"}, {"flags", {"SECCOMP_FILTER_FLAG_BOGUS"}}},
       "linux.seccomp.flags[0]: unsupported flag \"SECCOMP_FILTER_FLAG_BOGUS\""},
      {{{"defaultAction", "SCMP_ACT_ALLOW"}, {"syscalls", json::object()}}, "linux.seccomp.syscalls: must be an array"},
      {allow_all_but({{"action", "SCMP_ACT_ERRNO"}}), "linux.seccomp.syscalls[0].names: required"},
      {allow_all_but({{"names", json::array()}, {"action", "SCMP_ACT_ERRNO"}}),
       "linux.seccomp.syscalls[0].names: must not be empty"},
      {allow_all_but({{"names", {"read", ""}}, {"action", "SCMP_ACT_ERRNO"}}),
       "linux.seccomp.syscalls[0].names[1]: empty string is not a valid syscall"},
      {allow_all_but({{"names", {"read"}}}), "linux.seccomp.syscalls[0].action: required"},
      {allow_all_but({{"names", {"read"}}, {"action", "SCMP_ACT_KILL"}, {"errnoRet", 5}}),
       "linux.seccomp.syscalls[0].errnoRet: not allowed with SCMP_ACT_KILL"},
      {allow_all_but({{"names", {"read"}}, {"action", "SCMP_ACT_ERRNO"}, {"args", {{{"value", 1}, {"op", "SCMP_CMP_EQ"}}}}}),
       "linux.seccomp.syscalls[0].args[0].index: required"},
      {allow_all_but({{"names", {"read"}},
                      {"action", "SCMP_ACT_ERRNO"},
                      {"args", {{{"index", 6}, {"value", 1}, {"op", "SCMP_CMP_EQ"}}}}}),
       "linux.seccomp.syscalls[0].args[0].index: 6 is out of range (a syscall has at most 6 arguments)"},
      {allow_all_but({{"names", {"read"}},
                      {"action", "SCMP_ACT_ERRNO"},
                      {"args", {{{"index", 0}, {"value", 1}, {"op", "SCMP_CMP_EQ"}},
                                {{"index", 1}, {"value", 1}, {"op", "SCMP_CMP_APPROX"}}}}}),
       "linux.seccomp.syscalls[0].args[1].op: unknown operator \"SCMP_CMP_APPROX\""},
      {allow_all_but({{"names", {"read"}}, {"action", "SCMP_ACT_ERRNO"}, {"args", {{{"index", 0}, {"op", "SCMP_CMP_EQ"}}}}}),
       "linux.seccomp.syscalls[0].args[0].value: required"},
  };
  for (const auto& [input, expected] : cases) EXPECT_EQ(compile_error(input), expected) << input.dump();
}

TEST(SeccompParse, NotifyNeedsListenerPath) {
  EXPECT_EQ(compile_error(allow_all_but({{"names", {"mkdir"}}, {"action", "SCMP_ACT_NOTIFY"}})),
            "linux.seccomp.listenerPath: required when a syscall uses SCMP_ACT_NOTIFY");
}

TEST(SeccompParse, NotifyRulesRuncRefuses) {
  json on_write = allow_all_but({{"names", {"read", "write"}}, {"action", "SCMP_ACT_NOTIFY"}});
  on_write["listenerPath"] = "/run/agent.sock";
  EXPECT_EQ(compile_error(on_write), "linux.seccomp.syscalls[0].names[1]: SCMP_ACT_NOTIFY cannot be used for the write syscall");
  json as_default = {{"defaultAction", "SCMP_ACT_NOTIFY"}, {"listenerPath", "/run/agent.sock"}};
  EXPECT_EQ(compile_error(as_default), "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be used as default action");
}

uint32_t action_of(const std::string& name, json errno_ret = nullptr) {
  json call = {{"names", {"mkdir"}}, {"action", name}};
  if (!errno_ret.is_null()) call["errnoRet"] = errno_ret;
  json s = allow_all_but(call);
  s["listenerPath"] = "/run/agent.sock";
  return parse_profile(s).syscalls.at(0).action;
}

TEST(SeccompParse, EachActionMapsToLibseccomp) {
  EXPECT_EQ(action_of("SCMP_ACT_KILL"), SCMP_ACT_KILL_THREAD);
  EXPECT_EQ(action_of("SCMP_ACT_KILL_THREAD"), SCMP_ACT_KILL_THREAD);
  EXPECT_EQ(action_of("SCMP_ACT_KILL_PROCESS"), SCMP_ACT_KILL_PROCESS);
  EXPECT_EQ(action_of("SCMP_ACT_TRAP"), SCMP_ACT_TRAP);
  EXPECT_EQ(action_of("SCMP_ACT_ALLOW"), SCMP_ACT_ALLOW);
  EXPECT_EQ(action_of("SCMP_ACT_LOG"), SCMP_ACT_LOG);
  EXPECT_EQ(action_of("SCMP_ACT_NOTIFY"), SCMP_ACT_NOTIFY);
  // ERRNO and TRACE default to EPERM, as runc.
  EXPECT_EQ(action_of("SCMP_ACT_ERRNO"), SCMP_ACT_ERRNO(EPERM));
  EXPECT_EQ(action_of("SCMP_ACT_ERRNO", 38), SCMP_ACT_ERRNO(38));
  EXPECT_EQ(action_of("SCMP_ACT_ERRNO", 0), SCMP_ACT_ERRNO(0));
  EXPECT_EQ(action_of("SCMP_ACT_TRACE"), SCMP_ACT_TRACE(EPERM));
  EXPECT_EQ(action_of("SCMP_ACT_TRACE", 7), SCMP_ACT_TRACE(7));
}

TEST(SeccompParse, DefaultErrnoRet) {
  EXPECT_EQ(parse_profile({{"defaultAction", "SCMP_ACT_ERRNO"}}).default_action, SCMP_ACT_ERRNO(EPERM));
  EXPECT_EQ(parse_profile({{"defaultAction", "SCMP_ACT_ERRNO"}, {"defaultErrnoRet", 38}}).default_action,
            SCMP_ACT_ERRNO(38));
}

TEST(SeccompParse, ArgsKeepOperatorAndValues) {
  const std::pair<const char*, scmp_compare> ops[] = {
      {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
  for (const auto& [name, op] : ops) {
    json arg = {{"index", 5}, {"value", 0xffffffffffffffffULL}, {"valueTwo", 7}, {"op", name}};
    auto cond = parse_profile(allow_all_but({{"names", {"mmap"}}, {"action", "SCMP_ACT_ERRNO"}, {"args", {arg}}}))
                    .syscalls.at(0)
                    .args.at(0);
    EXPECT_EQ(cond.op, op) << name;
    EXPECT_EQ(cond.index, 5u);
    EXPECT_EQ(cond.value, 0xffffffffffffffffULL);
    EXPECT_EQ(cond.value_two, 7u);
  }
}

TEST(SeccompParse, ArchitecturesAndFlags) {
  auto p = parse_profile({{"defaultAction", "SCMP_ACT_ALLOW"},
                          {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_AARCH64"}},
                          {"flags", {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"}}});
  EXPECT_EQ(p.architectures, (std::vector<uint32_t>{SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_AARCH64}));
  ASSERT_EQ(p.flags.size(), 3u);
  EXPECT_EQ(p.flags[0].attribute, SCMP_FLTATR_CTL_TSYNC);
  EXPECT_EQ(p.flags[1].attribute, SCMP_FLTATR_CTL_LOG);
  EXPECT_EQ(p.flags[2].attribute, SCMP_FLTATR_CTL_SSB);
}

TEST(SeccompParse, NullMembersAreAbsent) {
  auto p = parse_profile({{"defaultAction", "SCMP_ACT_ALLOW"}, {"syscalls", nullptr}, {"architectures", nullptr}});
  EXPECT_TRUE(p.syscalls.empty());
  EXPECT_TRUE(p.architectures.empty());
}

TEST(SeccompCompile, UnknownSyscallIsSkippedAndRecorded) {
  auto f = compile(allow_all_but({{"names", {"mkdir", "glassrun_no_such_syscall"}}, {"action", "SCMP_ACT_ERRNO"}}));
  EXPECT_EQ(f->skipped_syscalls(), std::vector<std::string>{"glassrun_no_such_syscall"});
}

TEST(SeccompCompile, RuleWithTheDefaultActionIsDropped) {
  // libseccomp refuses such a rule (EACCES); runc drops it, so must we.
  auto with = compile({{"defaultAction", "SCMP_ACT_ERRNO"},
                       {"syscalls", {{{"names", {"mkdir"}}, {"action", "SCMP_ACT_ERRNO"}}}}});
  auto without = compile({{"defaultAction", "SCMP_ACT_ERRNO"}});
  EXPECT_EQ(with->bpf_size(), without->bpf_size());
}

TEST(SeccompCompile, RulesAndArchitecturesGrowTheProgram) {
  auto empty = compile({{"defaultAction", "SCMP_ACT_ALLOW"}});
  auto one = compile(allow_all_but({{"names", {"mkdir"}}, {"action", "SCMP_ACT_ERRNO"}}));
  json multi_arch = allow_all_but({{"names", {"mkdir"}}, {"action", "SCMP_ACT_ERRNO"}});
  multi_arch["architectures"] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
  auto three = compile(multi_arch);
  EXPECT_GT(empty->bpf_size(), 0u);
  EXPECT_EQ(empty->bpf_size() % 8, 0u);  // whole sock_filter instructions
  EXPECT_GT(one->bpf_size(), empty->bpf_size());
  EXPECT_GT(three->bpf_size(), one->bpf_size());
}

TEST(SeccompCompile, ListenerFieldsAndNotifyUse) {
  json s = allow_all_but({{"names", {"mkdir"}}, {"action", "SCMP_ACT_NOTIFY"}});
  s["listenerPath"] = "/run/agent.sock";
  s["listenerMetadata"] = "MKNOD=/dev/null";
  auto f = compile(s);
  EXPECT_TRUE(f->uses_notify());
  EXPECT_EQ(f->listener_path(), "/run/agent.sock");
  EXPECT_EQ(f->listener_metadata(), "MKNOD=/dev/null");
  EXPECT_FALSE(compile(allow_all_but({{"names", {"mkdir"}}, {"action", "SCMP_ACT_ERRNO"}}))->uses_notify());
}

TEST(SeccompCompile, VendoredProfilesCompile) {
  for (const char* name : {"seccomp-podman.json", "seccomp-strict.json"}) {
    auto f = compile(load_data(name));
    EXPECT_GT(f->bpf_size(), 0u) << name;
  }
}

json with_listener(const std::string& path) {
  json p = allow_all_but({{"names", {"mkdir"}}, {"action", "SCMP_ACT_NOTIFY"}});
  p["listenerPath"] = path;
  return p;
}

TEST(SeccompListener, ConnectFailureNamesThePathInRuncsWords) {
  auto f = compile(with_listener("/nonexistent/glassrun-agent.sock"));
  try {
    send_to_listener(*f, 0, 1, R"({"ociVersion":"1.0.2","id":"c","pid":1})");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "seccomp listener: failed to connect with seccomp agent specified in the seccomp profile: "
              "connect to /nonexistent/glassrun-agent.sock: no such file or directory");
    EXPECT_EQ(e.sys_errno(), ENOENT);
  }
}

TEST(SeccompListener, StateWithoutPidIsRejected) {
  auto f = compile(with_listener("/nonexistent/a.sock"));
  EXPECT_THROW(send_to_listener(*f, 0, 1, R"({"id":"c"})"), Error);
  EXPECT_THROW(send_to_listener(*f, 0, 1, "not json"), Error);
}

}  // namespace
}  // namespace glassrun::seccomp
