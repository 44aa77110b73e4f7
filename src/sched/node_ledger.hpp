#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
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
  /// Kept until a node is added or the records are reset (a record's address never changes).
  const std::vector<const pb::Node*>& committed();
  /// An index of nodes() for placing a batch. It is kept from one batch to the next: reserve(),
  /// release() and an update() that changes only a node's use or size keep it true in
  /// O(log nodes); a new node, or one whose state, drain, role or labels changed, has it built
  /// again at the next call (O(nodes log nodes), without copying a record). A placement through
  /// it must be reserved here, which updates it.
  placement_index& index();

  size_t reservations() const {
    return reservations_.size();
  }

private:
  struct reservation {
    std::string node_id;
    int64_t cpu_millis;
    int64_t memory_bytes;
  };

  struct held_total {
    int64_t cpu_millis = 0;
    int64_t memory_bytes = 0;
  };

  /// Tells the index what `node_id` has free now, if both know it.
  void refresh_free(const std::string& node_id);

  std::map<std::string, pb::Node> committed_;
  std::map<uint64_t, reservation> reservations_;
  std::unordered_map<std::string, held_total> held_by_node_; // the reservations' sums
  uint64_t next_reservation_ = 0;
  std::optional<placement_index> index_; // absent until asked for, or after a change of shape
  std::optional<std::vector<const pb::Node*>> committed_view_; // likewise, after an added node
};

} // namespace claud::sched
