#include "cli/cli.h"
#include "cli/usage.h"
#include "container/exec.h"
#include "util/error.h"

namespace glassrun::cli {

// runc's spelling: exec [flags] <container-id> <command> [args...]. Parsing
// stops at the first positional (the id): what follows is the command's own.
void add_exec(CLI::App& app, Globals& g, Action& action) {
  auto* o = new container::ExecOptions;
  auto* tty = new bool(false);
  auto* sub = app.add_subcommand("exec", "run a process in a running container");
  sub->prefix_command();
  // Repeatable, one value per occurrence (the id and command follow).
  auto one = [](CLI::Option* opt) { return opt->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll); };
  sub->add_option("-p,--process", o->process_file, "path to a process.json");
  sub->add_option("--console-socket", o->console_socket, "unix socket that receives the pty master");
  sub->add_option("--cwd", o->cwd, "working directory in the container");
  one(sub->add_option("-e,--env", o->env, "set an environment variable (repeatable)"));
  auto* tty_opt = sub->add_flag("-t,--tty", *tty, "allocate a pseudo-TTY");
  sub->add_option("-u,--user", o->user, "UID[:GID]");
  one(sub->add_option("-g,--additional-gids", o->additional_gids, "additional gid (repeatable)"));
  one(sub->add_option("-c,--cap", o->caps, "add a capability (repeatable)"));
  sub->add_flag("--no-new-privs", o->no_new_privs, "set no_new_privs");
  sub->add_option("--process-label", o->process_label, "SELinux label");
  sub->add_option("--apparmor", o->apparmor, "AppArmor profile");
  sub->add_option("--preserve-fds", o->preserve_fds, "pass N extra fds (3..3+N-1) to the process");
  sub->add_option("--pid-file", o->pid_file, "file to write the process's pid to");
  sub->add_flag("-d,--detach", o->detach, "detach from the process");
  sub->add_flag("--ignore-paused", o->ignore_paused, "exec even if the container is paused");
  one(sub->add_option("--cgroup", o->sub_cgroups,
                      "run the process in an (existing) sub-cgroup(s). Format is [<controller>:]<cgroup>."));
  sub->callback([&g, o, tty, tty_opt, sub, &action] {
    auto rest = sub->remaining();
    o->id = take_container_id(rest, "exec");
    o->args = std::move(rest);
    if (!o->args.empty() && o->args[0] == "--") o->args.erase(o->args.begin());
    if (tty_opt->count() > 0) o->tty = *tty;
    action = [&g, o]() -> int {
      g.failure_exit_code = 255;
      if (o->process_file.empty() && o->args.empty()) throw Error("process args cannot be empty");
      o->root = g.root;
      exit_now(container::exec(*o));
    };
  });
}

}  // namespace glassrun::cli
