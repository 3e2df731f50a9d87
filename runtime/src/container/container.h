// The container lifecycle operations, one file each: create (with the init it
// clones), start, run, kill, delete, state, list.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "container/loaded.h"
#include "util/fd.h"

namespace glassrun::container {

struct CreateOptions {
  std::string root;
  std::string id;
  std::string bundle;
  std::string pid_file;
  std::string console_socket;
  bool no_pivot = false;
  bool no_new_keyring = false;
  int preserve_fds = 0;
};

struct Created {
  pid_t init_pid = 0;
  bool started = false;     // the init shared our memory (run) and has executed: no start
  UniqueFd console_master;  // set when the terminal stays with us (foreground run)
  // The container as create wrote it: run starts and deletes it without
  // reading state.json and glassrun.json back (as runc's run keeps its object).
  std::optional<Loaded> loaded;
};

// `create`: returns once the init waits on exec.fifo. foreground: the caller
// will `start` and wait itself (run), and keeps the console master if any;
// there the init may also have been started already (Created::started).
Created create(const CreateOptions& o, bool foreground);
void start(const std::string& root, const std::string& id);
void start(const Loaded& c);
// start without the status check: for the container `run` has just created
// (created by construction; runc's run does not look either).
void start_created(const Loaded& c);
// `run`: create + start; detached returns 0, else the container's exit code.
// keep (runc's --keep): the exited container stays, stopped, with its
// cgroups, until `delete`.
int run(const CreateOptions& o, bool detach, bool keep = false);
void kill(const std::string& root, const std::string& id, int signal, bool all);
void remove(const std::string& root, const std::string& id, bool force);
// delete of a container loaded earlier (run's own, once it exited); by id
// (the above) if <root>/<id> is no longer that directory.
void remove(Loaded& c, bool force);
// runc's field order (state/state.h oci_state); list's "owner" is the name of
// the state directory's owner, as runc's.
nlohmann::ordered_json state(const std::string& root, const std::string& id);
nlohmann::ordered_json list(const std::string& root);

}  // namespace glassrun::container
