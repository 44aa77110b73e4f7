#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "cluster.pb.h"
#include "sched/capacity_tree.hpp"
#include "sched/placement.hpp"

namespace claud::sched {

/// The nodes of one view indexed by free capacity, for placing many jobs against it (a scheduler
/// pass): place(spec) returns exactly what sched::place(nodes, spec) returns on the same nodes
/// with every reserve() so far applied, same node and same reason. It filters, compares and words
/// reasons through place()'s own rules (eligible, admits, better_fit, no_fit_facts and
/// no_fit_reason); only the search differs. placement_index_test holds the two together on
/// random clusters and job streams.
///
/// Shape: the eligible nodes are grouped by their label set and the users they permit, so a
/// job's constraints and user hold for a whole group or for none of it; each group is a
/// capacity_tree ordered by (free CPU, free memory, id), better_fit's order. Bin-packing asks each
/// group for its least node with enough of both, spreading for its most, and better_fit picks among
/// the groups' answers. The groups that admit a set of constraints and user are found the first
/// time it is placed and kept.
///
/// Cost, with n eligible nodes in g groups (s_i nodes in group i): built in O(n log n).
/// place() costs O(1 + log s_i) expected for each group that admits the job, plus hashing its
/// constraints and user when there are some. That is at most O(g log n), so O(log n) when the nodes
/// share a few label sets; and since the sum of (1 + log s_i) is at most 2n, never worse than the
/// linear scan, even when every node's labels differ (then g = n). The first place() of a set of
/// constraints and user checks every group once: O(g * (constraints + allowed users)). When nothing
/// fits, the reason's facts come from the same groups, O(1) each. reserve(): O(log s) expected.
/// Memory: O(n) plus one list of groups per distinct set of constraints and user placed (at most
/// the jobs of the pass). Not thread-safe (place() fills that cache).
class placement_index {
public:
  /// Indexes `nodes`; the eligible ones must have distinct ids (else std::invalid_argument).
  explicit placement_index(const std::vector<pb::Node>& nodes);
  /// The same, without copies of the records (they must outlive the constructor only).
  explicit placement_index(const std::vector<const pb::Node*>& nodes);
  explicit placement_index(const google::protobuf::Map<std::string, pb::Node>& nodes);

  /// What sched::place() would return for `spec` on the nodes as indexed and reserved so far.
  placement place(const pb::JobSpec& spec);

  /// Takes what `spec` asks for from the free resources of `node_id`, as sched::reserve() does.
  /// A node that is not eligible is not indexed (place() never considers its resources), so
  /// reserving on it, or on an unknown id, changes nothing.
  void reserve(const std::string& node_id, const pb::JobSpec& spec);

  /// Sets what `node_id` has free (its record changed, or a reservation ended): the same
  /// node, eligible before and after, with the same labels and users. An id not indexed changes
  /// nothing.
  void set_free(const std::string& node_id, int64_t cpu_millis, int64_t memory_bytes);

private:
  struct group {
    pb::Node admission; // what admits() reads of its members: labels, run_as, allowed_users
    capacity_tree tree;
    std::vector<uint32_t> members; // tree handle -> index in nodes_
  };

  struct member {
    std::string id;
    uint32_t group;
    uint32_t handle; // in its group's tree
  };

  void build(const std::vector<const pb::Node*>& nodes);
  const std::vector<uint32_t>& groups_for(const pb::JobSpec& spec);
  free_resources free_of(const group& g, uint32_t handle) const;

  std::vector<member> nodes_; // the eligible nodes
  std::vector<group> groups_;
  std::unordered_map<std::string, uint32_t> by_id_;
  std::vector<uint32_t> all_groups_;
  std::unordered_map<std::string, std::vector<uint32_t>> groups_by_requirements_;
  bool any_drained_ = false;
};

} // namespace claud::sched
