#pragma once
// A master that starts with an empty raft log while the masters its --join names have one has
// lost its disk (or is a late starter of a new cluster, which is the same to it): the vote it may
// have given before is gone, so voting again as the voter it was could elect two leaders in one
// term. It rejoins as a learner instead (the Raft dissertation, §4: a server that lost its state
// rejoins as a new one): before it listens it asks the leader to remove it, so that no raft
// message reaches it as a voter; once it listens, to add it as a learner; the leader promotes it
// when it has caught up.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "log.pb.h"
#include "wire.pb.h"

namespace claud::roles {

/// The view (`leader --local`) of the first master among `peers` that answers within `timeout`
/// with a committed log; nullopt when none does (a new cluster: nobody has committed anything,
/// or nobody answers).
std::optional<pb::LeaderInfo> existing_cluster(caf::actor_system& system,
                                               const std::vector<std::string>& peers,
                                               std::chrono::milliseconds timeout);

/// Has the masters in `peers` (whichever answers relays to the leader) commit `change`, retrying
/// while another change is in flight or no leader is known, for at most `patience` or until this
/// process is asked to stop; throws startup_error saying what to do when it cannot.
void change_own_membership(caf::actor_system& system, const std::vector<std::string>& peers,
                           const pb::MembershipChange& change, std::chrono::milliseconds patience);

} // namespace claud::roles
