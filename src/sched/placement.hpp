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

/// Picks a node for `spec` among the alive nodes that run jobs and admit it (labels that satisfy
/// all of its constraints, and its user). Bin-packing (the default) takes the node left with the
/// least free CPU (then memory) after the job, so large holes stay free for large jobs; spreading
/// takes the one left with the most. Ties go to the smallest id, so the result does not depend on
/// the order of `nodes`. O(nodes); allocates only to word a reason. To place many jobs against one
/// view, a placement_index gives the same answers faster.
placement place(const std::vector<pb::Node>& nodes, const pb::JobSpec& spec);

/// Why no node could ever run `spec`, even empty: no known node that runs jobs (alive or down)
/// has the labels it needs and permits its user, or it asks for more than the largest such node
/// offers. Empty when some node could, or when no node that runs jobs is known yet (the job then
/// waits for one).
std::string never_fits_reason(const std::vector<pb::Node>& nodes, const pb::JobSpec& spec);
std::string never_fits_reason(const std::vector<const pb::Node*>& nodes, const pb::JobSpec& spec);

/// Takes what `spec` asks for from `node`'s free resources (for placing a batch against one view).
void reserve(pb::Node& node, const pb::JobSpec& spec);

// The rules place() is made of. placement_index finds its node another way, but ranks, filters
// and words its reasons only through these, so both always give the same answer.

/// Whether `node` takes new jobs: alive, not draining, and of a role that runs jobs.
bool eligible(const pb::Node& node);

/// Whether `node` is alive but draining (the reason then says how to take it back).
bool drained(const pb::Node& node);

/// Whether `labels` satisfy every constraint of `spec` (no allocation: map lookups only).
bool satisfies(const google::protobuf::Map<std::string, std::string>& labels,
               const pb::JobSpec& spec);

/// Whether `node` lets a job run as `user`: "" (the slave's own choice), the user its jobs run
/// as, or one of the users it allows (--allow-users).
bool permits_user(const pb::Node& node, const std::string& user);

/// Whether `node` may run `spec`, resources aside: its labels satisfy the constraints and it
/// permits the user. Without constraints it leaves the labels alone: reading a protobuf map field
/// syncs it, which would double the cost of a scan for the many jobs without constraints.
bool admits(const pb::Node& node, const pb::JobSpec& spec);

/// What a node has free, and its id, as placement ranks it.
struct free_resources {
  int64_t cpu_millis;
  int64_t memory_bytes;
  const std::string* id;
};

free_resources free_of(const pb::Node& node);

/// Whether `candidate` beats `best` for `spec`. Both are compared by what they would have left
/// after the job, which orders them as their free resources do: bin-packing prefers less left
/// (CPU first, then memory), spreading prefers more; then the smaller id.
bool better_fit(const free_resources& candidate, const free_resources& best,
                const pb::JobSpec& spec);

/// What place() says when no node fits, however it was gathered (a scan or an index).
struct no_fit_facts {
  bool any_eligible = false; // some node is eligible()
  bool any_drained = false;  // some node is drained()
  // Among the eligible nodes that admit the job (null when none): the one with the
  // most free CPU and the one with the most free memory, ties to the smaller id.
  const std::string* most_cpu_node = nullptr;
  int64_t most_cpu_millis = 0;
  const std::string* most_memory_node = nullptr;
  int64_t most_memory_bytes = 0;

  /// Counts `node` (eligible, admitting) for the most free CPU.
  void offer_cpu(int64_t cpu_millis, const std::string& node);
  /// Counts `node` (eligible, admitting) for the most free memory.
  void offer_memory(int64_t memory_bytes, const std::string& node);
};

/// The one line place() gives when no node fits `spec`: what it needs and what is free.
std::string no_fit_reason(const no_fit_facts& facts, const pb::JobSpec& spec);

} // namespace claud::sched
