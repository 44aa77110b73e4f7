#pragma once
// Raft's configuration: the masters that vote and the learners that only receive the log, changed
// one master at a time (the Raft dissertation's single-server change, §4.1). Pure: the checks a
// change must pass and its effect, nothing else.

#include <set>
#include <string>
#include <vector>

#include "log.pb.h"
#include "raft.pb.h"

namespace claud::raft {

struct membership {
  std::set<std::string> voters;
  std::set<std::string> learners;

  static membership of_voters(const std::vector<std::string>& voters);
  static membership from_pb(const pb::Membership& m);
  pb::Membership to_pb() const;

  bool is_voter(const std::string& id) const {
    return voters.count(id) > 0;
  }
  bool is_member(const std::string& id) const {
    return is_voter(id) || learners.count(id) > 0;
  }
  size_t quorum() const {
    return voters.size() / 2 + 1;
  }

  /// One line saying why `change` cannot apply to this membership, or empty.
  std::string problem(const pb::MembershipChange& change) const;
  /// Applies `change` if problem() is empty; returns whether it did.
  bool apply(const pb::MembershipChange& change);

  bool operator==(const membership& other) const {
    return voters == other.voters && learners == other.learners;
  }
  bool operator!=(const membership& other) const {
    return !(*this == other);
  }
};

} // namespace claud::raft
