// runc-style logging: text or JSON lines ({"level","msg","time"}) to --log
// (default stderr). Engines read these: podman the whole file, containerd
// the last error-level object.
#pragma once

#include <string>

namespace glassrun::log {

enum class Format { Text, Json };

void configure(const std::string& path, Format format, bool debug);
void debug(const std::string& msg);
// --debug: a line for a step (util/probes.h names) of this glassrun process;
// a cheap test and nothing more when --debug is off. The init and an exec'd
// child are left out: by their later steps stderr may be the container's.
void step(const char* name, bool begin, int err);
void warn(const std::string& msg);
// The one place an operation's failure is reported.
void error(const std::string& msg);

}  // namespace glassrun::log
