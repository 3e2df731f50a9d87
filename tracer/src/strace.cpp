// strace -f -tt -T style rendering.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <ctime>

#include "decode.h"
#include "renderers.h"

namespace glasstrace {
namespace {

std::string quoted(const std::string& s, bool truncated = false) {
  return "\"" + c_escape(s) + "\"" + (truncated ? "..." : "");
}

std::string hex_or_null(uint64_t v) { return v ? fmt::format("{:#x}", v) : "NULL"; }

std::string render_arg(const ArgSpec& a, uint64_t raw, const Json& d) {
  const Json* v = d.contains(a.name) ? &d[a.name] : nullptr;
  switch (a.kind) {
    case ArgKind::Ptr: return hex_or_null(raw);
    case ArgKind::Hex: return raw ? fmt::format("{:#x}", raw) : "0";
    case ArgKind::Str: case ArgKind::HostName:
      if (!v || v->is_null()) return hex_or_null(raw);
      return quoted(v->get<std::string>(), v->get<std::string>().size() >= 255);
    case ArgKind::Argv: {
      if (!raw) return "NULL";
      if (!v || !v->is_array()) return hex_or_null(raw);
      std::string out = "[";
      for (std::size_t i = 0; i < v->size(); i++) out += (i ? ", " : "") + quoted((*v)[i].get<std::string>());
      return out + "]";
    }
    case ArgKind::WriteBuf:
      // Already escaped when recorded.
      if (!v || !v->is_string()) return hex_or_null(raw);
      return "\"" + v->get<std::string>() + "\"";
    case ArgKind::CapData: {
      if (!v || !v->is_object()) return hex_or_null(raw);
      auto set = [&](const char* k) {
        std::string s;
        for (const auto& n : (*v)[k]) s += (s.empty() ? "" : "|") + n.get<std::string>();
        return s.empty() ? std::string("0") : s;
      };
      return fmt::format("{{effective={}, permitted={}, inheritable={}}}", set("effective"),
                         set("permitted"), set("inheritable"));
    }
    case ArgKind::Clone3Args:
      if (!d.contains("flags")) return hex_or_null(raw);
      return fmt::format("{{flags={}, exit_signal={}}}", d["flags"].get<std::string>(),
                         d.value("exit_signal", "0"));
    case ArgKind::MountAttr:
      if (!v || !v->is_object()) return hex_or_null(raw);
      return fmt::format("{{attr_set={}, attr_clr={}, propagation={}, userns_fd={}}}",
                         (*v)["attr_set"].get<std::string>(), (*v)["attr_clr"].get<std::string>(),
                         (*v)["propagation"].get<std::string>(), (*v)["userns_fd"].get<uint64_t>());
    case ArgKind::MsgHdr:
      if (!d.contains("scm_rights")) return hex_or_null(raw);
      return fmt::format("{{scm_rights={}}}", d["scm_rights"].get<int>());
    default:
      if (!v) return std::to_string(static_cast<int64_t>(raw));
      if (v->is_string()) return v->get<std::string>();
      return v->dump();
  }
}

// strace leaves out open's mode unless the flags make the kernel read it.
bool shown(const SyscallSignature& sig, std::size_t i, const Json& args) {
  if (sig.args[i].kind != ArgKind::Mode) return true;
  for (std::size_t k = 0; k < sig.args.size(); k++)
    if (sig.args[k].kind == ArgKind::OpenFlags) return open_flags_use_mode(args[k].get<uint64_t>());
  return true;
}

std::string clock_text(const Trace& t, uint64_t ts) {
  uint64_t ns = wall_ns(t, ts);
  time_t secs = static_cast<time_t>(ns / 1000000000ULL);
  struct tm tm;
  localtime_r(&secs, &tm);
  return fmt::format("{:02}:{:02}:{:02}.{:06}", tm.tm_hour, tm.tm_min, tm.tm_sec, (ns / 1000) % 1000000);
}

std::string return_text(const Json& e) {
  if (e["ret"].is_null()) return "?";
  int64_t ret = e["ret"].get<int64_t>();
  if (e["errno"].is_string()) {
    std::string name = e["errno"].get<std::string>();
    auto v = errno_value(name);
    return fmt::format("-1 {} ({})", name, v ? strerror(*v) : "Unknown error");
  }
  if (e["name"] == "mmap" || e["name"] == "brk") return fmt::format("{:#x}", ret);
  return std::to_string(ret);
}

}  // namespace

std::string strace_call(const Json& e) {
  std::string name = e["name"].get<std::string>();
  const SyscallSignature* sig = signature_of(name);
  const Json& args = e["args"];
  const Json& d = e.contains("decoded") ? e["decoded"] : Json::object();
  std::string out = name + "(";
  if (sig) {
    for (std::size_t i = 0; i < sig->args.size(); i++)
      if (shown(*sig, i, args)) out += (i ? ", " : "") + render_arg(sig->args[i], args[i].get<uint64_t>(), d);
  } else {
    for (std::size_t i = 0; i < 6; i++) {
      uint64_t v = args[i].get<uint64_t>();
      out += (i ? ", " : "") + (v ? fmt::format("{:#x}", v) : std::string("0"));
    }
  }
  return out + ")";
}

std::string strace_line(const Trace& t, const Json& e) {
  std::string type = e["type"].get<std::string>();
  std::string prefix = fmt::format("[pid {}] {} ", e["tid"].get<uint32_t>(), clock_text(t, e["ts"].get<uint64_t>()));
  if (type == "syscall") {
    std::string line = prefix + strace_call(e) + " = " + return_text(e);
    if (!e["dur_ns"].is_null()) line += fmt::format(" <{:.6f}>", e["dur_ns"].get<uint64_t>() / 1e9);
    return line;
  }
  if (type == "exit") {
    if (!e["group_dead"].get<bool>()) return "";
    if (e["signal"].is_string())
      return prefix + fmt::format("+++ killed by {}{} +++", e["signal"].get<std::string>(),
                                  e["core_dumped"].get<bool>() ? " (core dumped)" : "");
    return prefix + fmt::format("+++ exited with {} +++", e["exit_code"].get<int>());
  }
  if (type == "step") {
    if (e["phase"] == "begin") return prefix + fmt::format("--- step_begin {} ---", e["name"].get<std::string>());
    return prefix + fmt::format("--- step_end {} err={} ---", e["name"].get<std::string>(), e["err"].get<int>());
  }
  return "";
}

void render_strace(const Trace& t, std::ostream& out) {
  std::vector<const Json*> order;
  for (const auto& e : t.events) order.push_back(&e);
  std::stable_sort(order.begin(), order.end(), [](const Json* a, const Json* b) {
    return (*a)["ts"].get<uint64_t>() < (*b)["ts"].get<uint64_t>();
  });
  for (const Json* e : order) {
    std::string line = strace_line(t, *e);
    if (!line.empty()) out << line << '\n';
  }
}

}  // namespace glasstrace
