#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cluster.pb.h"
#include "sched/placement_index.hpp"

namespace claud::sched {

/// The leader's picture of the nodes for placing jobs: each node's committed record, plus what
/// the placements it proposed and that have not committed yet will take. Placing against the
/// committed records alone would put every job of a burst on the same node, since none of their
/// placements has committed when the next is decided; the state machine would then refuse most of
/// them. A reservation ends when its proposal is answered (applied, refused, or timed out);
/// between the commit and that answer the job counts twice, which errs towards less free capacity.
/// It can err the other way too (an answer that timed out before its entry committed, or entries
/// a previous leader proposed): apply has the last word, and refuses a placement that does not fit.
class node_ledger {
public:
  /// Replaces every record with `nodes`: the committed state, as a view or a node list holds it.
  /// Reservations stay.
  void reset(const google::protobuf::Map<std::string, pb::Node>& nodes);
  void reset(const google::protobuf::RepeatedPtrField<pb::Node>& nodes);

  /// A committed record of one node replaces the one held. Returns whether the node may now take
  /// a job it could not take before (it is new, has more free, or changed state, drain or labels),
  /// which is when pending jobs deserve another look.
  bool update(const pb::Node& node);

  /// Holds what `spec` asks for on `node_id` until release(); returns the reservation's handle.
  uint64_t reserve(const std::string& node_id, const pb::JobSpec& spec);

  /// Ends a reservation; an unknown handle is ignored.
  void release(uint64_t reservation);

  /// The committed records, each with its reservations added to what it uses.
  std::vector<pb::Node> nodes() const;
  /// The committed records as they are (for what does not depend on use: never_fits_reason).
  std::vector<const pb::Node*> committed() const;
  /// An index of nodes() for placing a batch, built without copying a record: what a pass or a
  /// batch of submissions costs then grows with the nodes' count, not with their size.
  placement_index index() const;

  size_t reservations() const {
    return reservations_.size();
  }

private:
  struct reservation {
    std::string node_id;
    int64_t cpu_millis;
    int64_t memory_bytes;
  };

  std::map<std::string, pb::Node> committed_;
  std::map<uint64_t, reservation> reservations_;
  uint64_t next_reservation_ = 0;
};

} // namespace claud::sched
