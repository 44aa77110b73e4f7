#pragma once
// What every node role shares: validated options, the opened data dir, the node id, the actor
// system configured for claud's protocol, and waiting for a stop signal.

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/job_supervisor.hpp"
#include "cluster.pb.h"
#include "net/address.hpp"
#include "roles/node_options.hpp"
#include "storage/data_dir.hpp"

namespace claud::roles {

/// An error that ends the node with one line for the user.
struct startup_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A node's actor system: claud's protocol and network backend, bounded by its options.
class claud_system_config : public caf::actor_system_config {
public:
  explicit claud_system_config(const node_options& options);
};

/// Stops every actor it holds when it goes out of scope, on a normal stop and when start-up
/// fails half-way: the actor system's destructor waits for all actors, so one left running
/// (a ticking leader_election) would hang the process instead of letting it report its error.
class actor_stopper {
public:
  actor_stopper() = default;
  actor_stopper(const actor_stopper&) = delete;
  actor_stopper& operator=(const actor_stopper&) = delete;
  ~actor_stopper();

  const caf::actor& add(caf::actor actor);

private:
  std::vector<caf::actor> actors_;
};

/// Publishes `api` on `where` (reusing the address during TIME_WAIT), or throws startup_error.
void publish_api(caf::actor_system& system, const caf::actor& api, const net::host_port& where);

/// A slave's half of a node (of a slave or dev node): what it offers (the flags, else what the
/// machine has; its labels; which limits it enforces) and its supervisor's settings, with the
/// cgroups for its jobs set up or found impossible. Throws startup_error with --cgroups=required
/// when they cannot be made.
struct slave_setup {
  pb::Node node;
  job_supervisor_config supervisor;
};
slave_setup prepare_slave(const node_options& options, storage::data_dir& dir,
                          const std::string& node_id, pb::NodeRole role);

/// Blocks until SIGINT or SIGTERM (blocked in every thread by block_stop_signals()), or
/// stop_with_error().
void wait_for_stop_signal();
/// Stops the node because of `error` (one line for the user), from any thread: the node stops as
/// on SIGTERM, then prints it and exits with 1.
void stop_with_error(std::string error);
/// The first error given to stop_with_error, or "".
std::string stop_error();
/// Stops the node when its slave_link is refused for good (its node id is another live node's).
void stop_on_identity_conflict(const caf::actor& link);
void block_stop_signals();

int run_master(const node_options& options, storage::data_dir& dir, const std::string& node_id,
               bool with_slave);
int run_slave(const node_options& options, storage::data_dir& dir, const std::string& node_id);

} // namespace claud::roles
