#pragma once
// A master's health: its own account (the claud it runs, TLS, whether it knows a leader, whether
// its data dir takes writes and has room), and the leader's gathering of every master's account
// for `claud leader`, each asked within a bound so that a frozen master shows as not answering
// instead of holding the answer up.

#include <chrono>
#include <cstdint>
#include <string>

#include <caf/fwd.hpp>

#include "wire.pb.h"

namespace claud {

struct master_health_config {
  std::string data_dir;
  uint64_t min_free_disk_bytes = 0;
  bool tls = false;
  std::chrono::milliseconds timeout{1000}; // the most the leader waits for each master's account
};

/// This master's account of itself (blocks for one small fsync in its data dir).
pb::NodeHealth own_health(const master_health_config& config, bool leader_known);

/// Fills in each master's health in `info` and then delivers `info` to `promise`: `own` for the
/// master that made `info` (its served_by), and, when `peers` (the peer_directory) is set, every
/// other master's as its api answers (health_atom), or why it did not.
void gather_health(caf::event_based_actor* self, pb::LeaderInfo info, pb::NodeHealth own,
                   const caf::actor& peers, const master_health_config& config,
                   caf::response_promise promise);

} // namespace claud
