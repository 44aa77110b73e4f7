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

/// Picks a node for `spec` among the alive nodes that run jobs and whose labels satisfy all of
/// `spec`'s constraints. Bin-packing (the default) takes the node left with the least free CPU
/// (then memory) after the job, so large holes stay free for large jobs; spreading takes the one
/// left with the most. Ties go to the smallest id, so the result does not depend on the order of
/// `nodes`. O(nodes); allocates only to word a reason.
placement place(const std::vector<pb::Node>& nodes, const pb::JobSpec& spec);

/// Why no node could ever run `spec`, even empty: no known node that runs jobs (alive or down)
/// has the labels it needs, or it asks for more than the largest such node offers. Empty when
/// some node could, or when no node that runs jobs is known yet (the job then waits for one).
std::string never_fits_reason(const std::vector<pb::Node>& nodes, const pb::JobSpec& spec);

/// Takes what `spec` asks for from `node`'s free resources (for placing a batch against one view).
void reserve(pb::Node& node, const pb::JobSpec& spec);

} // namespace claud::sched
