#pragma once

#include <string>
#include <vector>

#include "cluster.pb.h"

namespace claud::sched {

/// Where a job goes, or why it cannot go anywhere now.
struct placement {
  std::string node_id; // empty when the job fits nowhere now
  std::string reason;  // set when node_id is empty: what the job needs and what is free
};

/// Picks a node for `spec` among the alive nodes that run jobs, bin-packing: the node left with
/// the least free CPU (then memory) after the job, so large holes stay free for large jobs. Ties
/// go to the smallest id, so the result does not depend on the order of `nodes`.
placement place(const std::vector<pb::Node>& nodes, const pb::JobSpec& spec);

/// Why no node could ever run `spec`, even empty: it asks for more than the largest known node
/// that runs jobs offers. Empty when some node could, or when no such node is known yet (the job
/// then waits for one to join).
std::string never_fits_reason(const std::vector<pb::Node>& nodes, const pb::JobSpec& spec);

/// Takes what `spec` asks for from `node`'s free resources (for placing a batch against one view).
void reserve(pb::Node& node, const pb::JobSpec& spec);

} // namespace claud::sched
