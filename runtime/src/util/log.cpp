#include "util/log.h"

#include "util/clock.h"
#include "util/escape.h"

#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cctype>

#include <nlohmann/json.hpp>

#include <fmt/format.h>

namespace glassrun::log {

namespace {
struct Sink {
  int fd = 2;
  Format format = Format::Text;
  bool debug = false;
  bool to_file = false;
  pid_t pid = 0;  // the process that configured the log
} g;

// logrus's text value: bare when made only of [A-Za-z0-9-._/@^+], else
// quoted and escaped, so a message is always one line.
std::string text_value(const std::string& v) {
  bool bare = !v.empty();
  for (unsigned char c : v)
    if (!isalnum(c) && !strchr("-._/@^+", c)) bare = false;
  return bare ? v : "\"" + c_escape(v) + "\"";
}

void emit(int fd, Format f, const char* level, const std::string& msg) {
  std::string line = f == Format::Json
                         ? nlohmann::json{{"level", level}, {"msg", msg}, {"time", clock::now_rfc3339()}}.dump() + "\n"
                         : fmt::format("time=\"{}\" level={} msg={}\n", clock::now_rfc3339(), level, text_value(msg));
  (void)!write(fd, line.data(), line.size());
}

void write_line(const char* level, const std::string& msg) {
  emit(g.fd, g.format, level, msg);
}
}  // namespace

void configure(const std::string& path, Format format, bool debug) {
  g.format = format;
  g.debug = debug;
  g.pid = getpid();
  if (!path.empty()) {
    int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
      g.fd = fd;
      g.to_file = true;
    }
  }
}

void debug(const std::string& msg) {
  if (g.debug) write_line("debug", msg);
}

void step(const char* name, bool begin, int err) {
  if (!g.debug || getpid() != g.pid) return;
  write_line("debug", begin ? std::string(name) : fmt::format("{} failed (err {})", name, err));
}

void warn(const std::string& msg) { write_line("warning", msg); }

void error(const std::string& msg) {
  if (g.to_file) write_line("error", msg);
  // Always one plain line on stderr too: a person running glassrun sees it.
  std::string line = "glassrun: " + msg + "\n";
  (void)!write(2, line.data(), line.size());
}

}  // namespace glassrun::log
