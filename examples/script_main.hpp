#pragma once
// What every example actor script does around its actor: an actor system set up for claud, the
// cluster actor for the masters named on the command line, and the script's exit code. A script
// is a function (self, cluster, args) -> behavior that sets `exit_code` and quits when done.

#include <atomic>
#include <iostream>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "claud/cluster.hpp"
#include "claud/protocol.hpp"

namespace example {

inline std::atomic<int> exit_code{0};
inline std::string program; // for messages: the script's name

/// Ends the script with exit code 1, after one line on stderr saying why.
inline void give_up(caf::event_based_actor* self, const std::string& why) {
  std::cerr << program << ": " << why << "\n";
  exit_code = 1;
  self->quit();
}

/// Subscribes `self` to the events `filter` selects; a refusal ends the script.
inline void subscribe(caf::event_based_actor* self, const caf::actor& cluster,
                      const claud::pb::EventFilter& filter) {
  self->request(cluster, std::chrono::seconds{10}, claud::events_atom::value, filter,
                caf::actor_cast<caf::actor>(self))
      .then([](uint64_t) {},
            [=](caf::error& err) {
              give_up(self, "cannot subscribe: " + claud::error_message(err));
            });
}

/// Whether `batch` is the stream's last (it could not be resumed): the script then gives up.
inline bool stream_ended(caf::event_based_actor* self, const claud::pb::EventBatch& batch) {
  if (batch.ended().empty())
    return false;
  give_up(self, "the event stream ended: " + batch.ended());
  return true;
}

/// A job that runs `command` with sh, named `name`, asking for little.
inline claud::pb::JobSpec shell_job(const std::string& name, const std::string& command,
                                    int64_t memory_bytes = 32 << 20) {
  claud::pb::JobSpec spec;
  spec.set_name(name);
  spec.add_argv("sh");
  spec.add_argv("-c");
  spec.add_argv(command);
  spec.set_cpu_millis(50);
  spec.set_memory_bytes(memory_bytes);
  return spec;
}

/// Runs `script(self, cluster, args)` against the masters of argv[1] (HOST:PORT[,...]) and
/// returns its exit code once it quits; `usage` is printed when arguments are missing.
template<class Script>
int run(int argc, char** argv, int min_args, const char* usage, Script script) {
  if (argc < 2 + min_args) {
    std::cerr << "usage: " << argv[0] << " HOST:PORT[,HOST:PORT...] " << usage << "\n";
    return 2;
  }
  claud::cluster_options options;
  std::string masters = argv[1];
  for (size_t start = 0;;) {
    auto comma = masters.find(',', start);
    options.addresses.push_back(masters.substr(start, comma - start));
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  program = argv[0];
  program = program.substr(program.rfind('/') + 1);
  std::vector<std::string> args(argv + 2, argv + argc);
  caf::actor_system_config cfg;
  claud::configure_networked_system(cfg);
  caf::actor_system system{cfg};
  auto cluster = claud::spawn_cluster(system, options);
  system.spawn([=](caf::event_based_actor* self) {
    // The cluster actor lives as long as the script: it stops when the script does.
    self->attach_functor([cluster] { caf::anon_send_exit(cluster, caf::exit_reason::kill); });
    return script(self, cluster, args);
  });
  system.await_all_actors_done();
  return exit_code;
}

} // namespace example
