#include "util/signals.h"

#include <signal.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>
#include <utility>

namespace glassrun::signals {

namespace {
constexpr std::array<std::pair<std::string_view, int>, 31> kSignals{{
    {"HUP", SIGHUP},     {"INT", SIGINT},       {"QUIT", SIGQUIT},   {"ILL", SIGILL},   {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT},   {"IOT", SIGIOT},       {"BUS", SIGBUS},     {"FPE", SIGFPE},   {"KILL", SIGKILL},
    {"USR1", SIGUSR1},   {"SEGV", SIGSEGV},     {"USR2", SIGUSR2},   {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},
    {"TERM", SIGTERM},   {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CONT", SIGCONT}, {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},   {"URG", SIGURG},   {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ},   {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},   {"WINCH", SIGWINCH}, {"IO", SIGIO},
    {"SYS", SIGSYS},
}};
}  // namespace

std::optional<int> parse(const std::string& text) {
  if (text.empty()) return std::nullopt;
  if (std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); })) {
    if (text.size() > 3) return std::nullopt;
    int n = std::stoi(text);
    if (n <= 0 || n > SIGRTMAX) return std::nullopt;
    return n;
  }
  std::string up = text;
  std::transform(up.begin(), up.end(), up.begin(), [](unsigned char c) { return std::toupper(c); });
  if (up.rfind("SIG", 0) == 0) up = up.substr(3);
  for (const auto& [n, v] : kSignals)
    if (n == up) return v;
  if (up.rfind("RTMIN", 0) == 0 || up.rfind("RTMAX", 0) == 0) {
    bool min = up[3] == 'I';
    int base = min ? SIGRTMIN : SIGRTMAX;
    if (up.size() == 5) return base;
    try {
      int off = std::stoi(up.substr(5));
      int s = base + off;
      if (s >= SIGRTMIN && s <= SIGRTMAX) return s;
    } catch (...) {
    }
  }
  return std::nullopt;
}

std::string name(int sig) {
  for (const auto& [n, v] : kSignals)
    if (v == sig) return "SIG" + std::string(n);
  return std::to_string(sig);
}

}  // namespace glassrun::signals
