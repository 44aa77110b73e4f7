#include "raft/membership.hpp"

#include <fmt/format.h>

namespace claud::raft {

membership membership::of_voters(const std::vector<std::string>& voters) {
  membership m;
  m.voters.insert(voters.begin(), voters.end());
  return m;
}

membership membership::from_pb(const pb::Membership& m) {
  membership out;
  out.voters.insert(m.voters().begin(), m.voters().end());
  out.learners.insert(m.learners().begin(), m.learners().end());
  return out;
}

pb::Membership membership::to_pb() const {
  pb::Membership m;
  for (const auto& v : voters)
    m.add_voters(v);
  for (const auto& l : learners)
    m.add_learners(l);
  return m;
}

std::string membership::problem(const pb::MembershipChange& change) const {
  const auto& who = change.address();
  if (who.empty())
    return "a membership change must name a master's HOST:PORT";
  switch (change.kind()) {
  case pb::MembershipChange::ADD_LEARNER:
    if (is_voter(who))
      return fmt::format("{} is already a voting master", who);
    if (is_member(who))
      return fmt::format("{} is already a learner; it becomes a voter once it has caught up", who);
    return {};
  case pb::MembershipChange::PROMOTE:
    if (learners.count(who) == 0)
      return fmt::format("{} is not a learner", who);
    return {};
  case pb::MembershipChange::REMOVE:
    if (!is_member(who))
      return fmt::format("{} is not a master of this cluster", who);
    if (voters.size() == 1 && is_voter(who))
      return fmt::format("{} is the last voting master; a cluster needs one", who);
    return {};
  default:
    return "unknown kind of membership change";
  }
}

bool membership::apply(const pb::MembershipChange& change) {
  if (!problem(change).empty())
    return false;
  const auto& who = change.address();
  switch (change.kind()) {
  case pb::MembershipChange::ADD_LEARNER:
    learners.insert(who);
    break;
  case pb::MembershipChange::PROMOTE:
    learners.erase(who);
    voters.insert(who);
    break;
  default: // REMOVE
    learners.erase(who);
    voters.erase(who);
    break;
  }
  return true;
}

} // namespace claud::raft
