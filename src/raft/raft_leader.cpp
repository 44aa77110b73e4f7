// The leader's side of raft_node: replication, commitment, heartbeats, check-quorum and reads.

#include <algorithm>

#include <fmt/format.h>

#include "raft/raft_node.hpp"

namespace claud::raft {

void raft_node::become_leader() {
  reset(term_);
  role_ = role::leader;
  leader_ = config_.id;
  track_members();
  // An empty entry of the new term: committing it commits everything before it, and reads wait
  // for it so they never see a state older than a previous leader's acknowledged writes.
  pb::LogEntry noop;
  noop.set_term(term_);
  noop.set_leader(config_.id);
  leader_first_index_ = log_.append(std::move(noop));
  if (!maybe_commit())
    replicate_to_all();
}

void raft_node::track_members() {
  for (auto i = progress_.begin(); i != progress_.end();) {
    if (members_.is_member(i->first))
      ++i;
    else
      i = progress_.erase(i);
  }
  auto track = [&](const std::string& peer) {
    if (peer != config_.id && !progress_.count(peer))
      progress_[peer] = progress{0, log_.last_index() + 1, false, true, false};
  };
  for (const auto& voter : members_.voters)
    track(voter);
  for (const auto& learner : members_.learners)
    track(learner);
}

std::string raft_node::membership_problem(const pb::MembershipChange& change) const {
  if (role_ != role::leader)
    return "this master does not lead";
  // The previous change first, and an entry of this term (the dissertation's fix: a leader must
  // not change the membership before a change a previous leader left is known to be decided).
  if (log_.committed() < membership_index_)
    return fmt::format("another membership change (log index {}) is not committed yet; try again "
                       "in a moment",
                       membership_index_);
  if (log_.committed() < leader_first_index_)
    return "this leader has not committed an entry of its term yet; try again in a moment";
  return members_.problem(change);
}

uint64_t raft_node::propose(pb::LogEntry entry) {
  if (role_ != role::leader)
    return 0;
  const bool changes_membership = entry.has_membership_change();
  if (changes_membership && !membership_problem(entry.membership_change()).empty())
    return 0;
  entry.set_term(term_);
  pb::MembershipChange change;
  if (changes_membership)
    change = entry.membership_change();
  auto index = log_.append(std::move(entry));
  if (changes_membership) {
    members_.apply(change); // in effect from now, committed or not
    membership_index_ = index;
    track_members();
  }
  if (!maybe_commit())
    replicate_to_all();
  return index;
}

void raft_node::maybe_promote(const std::string& learner) {
  const auto& pr = progress_.at(learner);
  if (members_.learners.count(learner) == 0 || pr.match < log_.committed())
    return;
  pb::LogEntry entry;
  entry.mutable_membership_change()->set_kind(pb::MembershipChange::PROMOTE);
  entry.mutable_membership_change()->set_address(learner);
  propose(std::move(entry)); // refused while another change is not applied: asked again later
}

bool raft_node::read_index(uint64_t context) {
  if (role_ != role::leader)
    return false;
  const uint64_t index = std::max(log_.committed(), leader_first_index_);
  if (quorum() == 1 && is_voter()) {
    ready_reads_.push_back({context, index});
    return true;
  }
  pending_reads_.push_back({context, index, {}});
  if (is_voter())
    pending_reads_.back().acks.insert(config_.id);
  broadcast_heartbeat(context);
  return true;
}

void raft_node::send_append(const std::string& peer) {
  auto& pr = progress_.at(peer);
  if (pr.probing && pr.probe_in_flight)
    return; // its answer (or the next heartbeat's, if it was lost) sends the next one
  pr.probe_in_flight = pr.probing;
  pb::RaftMessage m;
  m.set_to(peer);
  if (pr.next < log_.first_index()) {
    // Only the snapshot's index and term: the host attaches its data from storage (raft does
    // not keep a second copy of what can be most of the state's size).
    m.set_type(pb::RAFT_SNAPSHOT);
    m.mutable_snapshot()->set_index(log_.snapshot_index());
    m.mutable_snapshot()->set_term(log_.snapshot_term());
    pr.next = log_.snapshot_index() + 1;
    send(std::move(m));
    return;
  }
  m.set_type(pb::RAFT_APPEND);
  m.set_index(pr.next - 1);
  m.set_log_term(log_.term(pr.next - 1));
  m.set_commit(log_.committed());
  for (auto& entry : log_.slice(pr.next, config_.max_entries_per_message))
    *m.add_entries() = std::move(entry);
  if (m.entries_size() > 0 && !pr.probing)
    pr.next = m.entries(m.entries_size() - 1).index() + 1; // pipelined; a reject backs it up
  send(std::move(m));
}

void raft_node::replicate_to(const std::string& peer) {
  appends_due_.insert(peer);
}

void raft_node::replicate_to_all() {
  for (const auto& [peer, pr] : progress_)
    appends_due_.insert(peer);
}

void raft_node::send_due_appends() {
  for (const auto& peer : appends_due_)
    if (progress_.count(peer))
      send_append(peer);
  appends_due_.clear();
}

void raft_node::broadcast_heartbeat(uint64_t context) {
  for (const auto& [peer, pr] : progress_) {
    pb::RaftMessage m;
    m.set_type(pb::RAFT_HEARTBEAT);
    m.set_to(peer);
    // Never past what the follower is known to hold: its log may still diverge beyond that.
    m.set_commit(std::min(pr.match, log_.committed()));
    m.set_context(context);
    send(std::move(m));
  }
}

bool raft_node::maybe_commit() {
  std::vector<uint64_t> matches;
  if (is_voter())
    matches.push_back(log_.last_index());
  for (const auto& [peer, pr] : progress_)
    if (members_.is_voter(peer))
      matches.push_back(pr.match);
  if (matches.size() < quorum())
    return false;
  std::sort(matches.begin(), matches.end(), std::greater<>());
  const uint64_t candidate = matches[quorum() - 1];
  // Only an entry of the current term is committed by counting replicas (raft's figure 8).
  if (candidate <= log_.committed() || log_.term(candidate) != term_)
    return false;
  log_.commit_to(candidate);
  return true;
}

bool raft_node::check_quorum_active() {
  size_t active = is_voter() ? 1 : 0;
  for (auto& [peer, pr] : progress_) {
    active += pr.recent_active && members_.is_voter(peer) ? 1 : 0;
    pr.recent_active = false;
  }
  return active >= quorum();
}

void raft_node::confirm_read(const std::string& peer, uint64_t context) {
  if (context == 0 || !members_.is_voter(peer))
    return;
  for (auto& read : pending_reads_)
    if (read.context == context)
      read.acks.insert(peer);
  // Hand out confirmed reads in order; a later read's confirmation also confirms earlier ones,
  // since this node led throughout.
  auto confirmed = std::find_if(pending_reads_.rbegin(), pending_reads_.rend(),
                                [&](const pending_read& r) { return r.acks.size() >= quorum(); });
  if (confirmed == pending_reads_.rend())
    return;
  auto end = confirmed.base();
  for (auto i = pending_reads_.begin(); i != end; ++i)
    ready_reads_.push_back({i->context, i->index});
  pending_reads_.erase(pending_reads_.begin(), end);
}

void raft_node::step_leader(const pb::RaftMessage& m) {
  auto it = progress_.find(m.from());
  if (it == progress_.end())
    return;
  auto& pr = it->second;
  pr.recent_active = true;
  if (m.type() == pb::RAFT_HEARTBEAT_RESPONSE) {
    confirm_read(m.from(), m.context());
    pr.probe_in_flight = false; // a probe lost on the way is sent again
    if (pr.match < log_.last_index())
      replicate_to(m.from());
    maybe_promote(m.from()); // a quiet cluster's learner catches up without an append answer
    return;
  }
  if (m.type() != pb::RAFT_APPEND_RESPONSE)
    return;
  if (m.reject()) {
    if (m.reject_hint() < pr.match) {
      // Its log is shorter than it once confirmed: the master came back without its data dir.
      // Lowering match only delays commits, so believing this (even from a reordered, stale
      // answer) is safe, and it lets an emptied master catch up from the start or a snapshot.
      pr.match = m.reject_hint();
      pr.next = m.reject_hint() + 1;
      pr.probing = true;
      pr.probe_in_flight = false;
      replicate_to(m.from());
      return;
    }
    if (m.index() <= pr.match)
      return; // stale: answers an append sent before the follower caught up
    // While probing only the append in flight counts; an older one's rejection is stale.
    if (pr.probing && m.index() != pr.next - 1)
      return;
    pr.next = std::max(pr.match + 1, std::min(m.index(), m.reject_hint() + 1));
    pr.probing = true;
    pr.probe_in_flight = false;
    replicate_to(m.from());
    return;
  }
  const bool was_probing = pr.probing;
  pr.probing = pr.probe_in_flight = false;
  if (m.index() > pr.match) {
    pr.match = m.index();
    pr.next = std::max(pr.next, pr.match + 1);
    if (maybe_commit()) {
      replicate_to_all();
      return;
    }
  }
  if (was_probing)
    pr.next = pr.match + 1; // the probe found where the logs agree: on from there
  if (pr.next <= log_.last_index())
    replicate_to(m.from());
  maybe_promote(m.from());
}

} // namespace claud::raft
