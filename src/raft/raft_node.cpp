// Roles, elections and the follower side of raft_node; the leader's replication is in
// raft_leader.cpp.

#include "raft/raft_node.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace claud::raft {

std::string validate(const raft_config& config) {
  if (config.id.empty())
    return "the master needs an id";
  if (config.voters.empty())
    return "the list of masters is empty";
  std::set<std::string> unique(config.voters.begin(), config.voters.end());
  if (unique.size() != config.voters.size())
    return "the list of masters names one master twice";
  if (config.heartbeat_ticks <= 0)
    return "the heartbeat interval must be positive";
  if (config.election_ticks <= config.heartbeat_ticks)
    return "the election timeout must be greater than the heartbeat interval";
  if (config.max_entries_per_message == 0)
    return "a message must be allowed to carry at least one entry";
  return {};
}

const char* to_string(role r) {
  switch (r) {
  case role::follower:
    return "follower";
  case role::pre_candidate:
    return "pre-candidate";
  case role::candidate:
    return "candidate";
  case role::leader:
    return "leader";
  }
  return "unknown";
}

raft_node::raft_node(raft_config config, const pb::HardState& hard_state,
                     const pb::Snapshot& snapshot, std::vector<pb::LogEntry> entries, uint64_t seed)
    : config_(std::move(config)), rng_(seed),
      log_(snapshot, std::move(entries), hard_state.commit()) {
  if (auto problem = validate(config_); !problem.empty())
    throw std::invalid_argument(problem);
  base_members_ = snapshot.membership().voters_size() > 0
                      ? membership::from_pb(snapshot.membership())
                      : membership::of_voters(config_.voters);
  refresh_membership();
  term_ = hard_state.term();
  vote_ = hard_state.vote();
  persisted_ = hard_state;
  become_follower(term_, {});
  if (members_.voters == std::set<std::string>{config_.id})
    election_elapsed_ = randomized_election_timeout_; // alone: lead at the first tick
}

void raft_node::reset_randomized_timeout() {
  std::uniform_int_distribution<int> draw(config_.election_ticks, 2 * config_.election_ticks - 1);
  randomized_election_timeout_ = draw(rng_);
}

void raft_node::reset(uint64_t term) {
  if (term != term_) {
    term_ = term;
    vote_.clear();
  }
  leader_.clear();
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  reset_randomized_timeout();
  votes_.clear();
  progress_.clear();
  appends_due_.clear();
  pending_reads_.clear();
}

void raft_node::become_follower(uint64_t term, const std::string& leader) {
  reset(term);
  role_ = role::follower;
  leader_ = leader;
}

void raft_node::campaign(bool pre_vote) {
  if (pre_vote) {
    // A pre-candidate changes neither its term nor its vote: a master that was cut off and
    // rejoins cannot force a healthy majority into a new term.
    auto term = term_;
    reset(term);
    role_ = role::pre_candidate;
  } else {
    reset(term_ + 1);
    role_ = role::candidate;
    vote_ = config_.id;
  }
  votes_[config_.id] = true;
  if (tally_votes()) // a single master wins at once
    return;
  for (const auto& peer : members_.voters) {
    if (peer == config_.id)
      continue;
    pb::RaftMessage m;
    m.set_type(pre_vote ? pb::RAFT_PRE_VOTE : pb::RAFT_VOTE);
    m.set_to(peer);
    m.set_term(pre_vote ? term_ + 1 : term_);
    m.set_index(log_.last_index());
    m.set_log_term(log_.last_term());
    send(std::move(m));
  }
}

void raft_node::tick() {
  ++election_elapsed_;
  if (role_ != role::leader) {
    // A learner, a removed master and one not yet added never campaign.
    if (may_campaign() && election_elapsed_ >= randomized_election_timeout_)
      campaign(true);
    return;
  }
  if (!is_voter() && log_.committed() >= membership_index_) {
    // Removed, and the removal is committed: the appends that carried that commit have left.
    become_follower(term_, {});
    return;
  }
  if (election_elapsed_ >= config_.election_ticks) {
    election_elapsed_ = 0;
    if (!check_quorum_active()) {
      become_follower(term_, {});
      return;
    }
  }
  if (++heartbeat_elapsed_ >= config_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    broadcast_heartbeat(0);
  }
}

void raft_node::leader_unreachable() {
  if (role_ != role::follower)
    return;
  // Everyone who saw the same connection close campaigns soon; if two did at the same tick both
  // would win their pre-votes and split the real vote, costing a whole election timeout. So they
  // take turns by rank (the voters' ids sorted, the lost leader left out), three ticks apart: the
  // first usually wins before the next starts, and a next one still follows if it does not.
  std::vector<std::string> others;
  for (const auto& voter : members_.voters)
    if (voter != leader_)
      others.push_back(voter);
  std::sort(others.begin(), others.end());
  auto rank = std::find(others.begin(), others.end(), config_.id) - others.begin();
  leader_.clear();
  election_elapsed_
      = std::max(election_elapsed_, randomized_election_timeout_ - 1 - 3 * static_cast<int>(rank));
}

void raft_node::send(pb::RaftMessage message) {
  message.set_from(config_.id);
  // Vote requests carry the term they ask for; every other message carries ours, except pre-vote
  // responses, which echo the term of the request they answer.
  if (message.type() != pb::RAFT_PRE_VOTE && message.type() != pb::RAFT_VOTE
      && message.type() != pb::RAFT_PRE_VOTE_RESPONSE && message.type() != pb::RAFT_VOTE_RESPONSE)
    message.set_term(term_);
  outbox_.push_back(std::move(message));
}

void raft_node::step(const pb::RaftMessage& m) {
  if (m.term() > term_) {
    const bool vote_request = m.type() == pb::RAFT_VOTE || m.type() == pb::RAFT_PRE_VOTE;
    // Check-quorum's lease: while this follower hears from a leader, it ignores candidates, so a
    // master that only lost touch with the leader cannot depose it.
    if (vote_request && !leader_.empty() && election_elapsed_ < config_.election_ticks)
      return;
    const bool granted_pre_vote = m.type() == pb::RAFT_PRE_VOTE_RESPONSE && !m.reject();
    if (m.type() != pb::RAFT_PRE_VOTE && !granted_pre_vote) {
      const bool from_leader = m.type() == pb::RAFT_APPEND || m.type() == pb::RAFT_HEARTBEAT
                               || m.type() == pb::RAFT_SNAPSHOT;
      become_follower(m.term(), from_leader ? m.from() : std::string{});
    }
  } else if (m.term() < term_) {
    step_stale(m);
    return;
  }
  switch (m.type()) {
  case pb::RAFT_VOTE:
  case pb::RAFT_PRE_VOTE:
    handle_vote_request(m);
    return;
  case pb::RAFT_VOTE_RESPONSE:
  case pb::RAFT_PRE_VOTE_RESPONSE:
    handle_vote_response(m);
    return;
  default:
    break;
  }
  if (role_ == role::leader) {
    step_leader(m);
    return;
  }
  switch (m.type()) {
  case pb::RAFT_APPEND:
  case pb::RAFT_HEARTBEAT:
  case pb::RAFT_SNAPSHOT:
    if (role_ != role::follower)
      become_follower(term_, m.from());
    election_elapsed_ = 0;
    leader_ = m.from();
    if (m.type() == pb::RAFT_APPEND)
      handle_append(m);
    else if (m.type() == pb::RAFT_HEARTBEAT)
      handle_heartbeat(m);
    else
      handle_snapshot(m);
    return;
  default:
    return; // responses meant for a leader we no longer are
  }
}

void raft_node::step_stale(const pb::RaftMessage& m) {
  pb::RaftMessage reply;
  reply.set_to(m.from());
  if (m.type() == pb::RAFT_APPEND || m.type() == pb::RAFT_HEARTBEAT
      || m.type() == pb::RAFT_SNAPSHOT) {
    // A deposed leader learns our term from the reply and steps down.
    reply.set_type(pb::RAFT_APPEND_RESPONSE);
    reply.set_reject(true);
    reply.set_index(m.index());
    reply.set_reject_hint(log_.last_index());
    send(std::move(reply));
  } else if (m.type() == pb::RAFT_PRE_VOTE) {
    reply.set_type(pb::RAFT_PRE_VOTE_RESPONSE);
    reply.set_term(term_);
    reply.set_reject(true);
    send(std::move(reply));
  }
}

void raft_node::handle_vote_request(const pb::RaftMessage& m) {
  const bool pre_vote = m.type() == pb::RAFT_PRE_VOTE;
  const bool can_vote
      = vote_ == m.from() || (vote_.empty() && leader_.empty()) || (pre_vote && m.term() > term_);
  const bool grant = can_vote && log_.is_up_to_date(m.index(), m.log_term());
  pb::RaftMessage reply;
  reply.set_type(pre_vote ? pb::RAFT_PRE_VOTE_RESPONSE : pb::RAFT_VOTE_RESPONSE);
  reply.set_to(m.from());
  reply.set_term(grant ? m.term() : term_);
  reply.set_reject(!grant);
  if (grant && !pre_vote) {
    election_elapsed_ = 0;
    vote_ = m.from();
  }
  send(std::move(reply));
}

void raft_node::handle_vote_response(const pb::RaftMessage& m) {
  const bool pre_vote = m.type() == pb::RAFT_PRE_VOTE_RESPONSE;
  if ((pre_vote && role_ != role::pre_candidate) || (!pre_vote && role_ != role::candidate))
    return;
  votes_.emplace(m.from(), !m.reject());
  tally_votes();
}

bool raft_node::tally_votes() {
  size_t granted = 0, refused = 0;
  for (const auto& [peer, yes] : votes_) {
    if (!members_.is_voter(peer))
      continue; // a learner's or a removed master's vote does not count, nor its own
    (yes ? granted : refused) += 1;
  }
  if (granted >= quorum()) {
    if (role_ == role::pre_candidate)
      campaign(false);
    else
      become_leader();
    return true;
  }
  if (refused >= quorum()) {
    become_follower(term_, {});
    return true;
  }
  return false;
}

bool raft_node::may_campaign() const {
  if (is_voter())
    return true;
  // Removed by a change not yet committed: the remaining voters may lack that change, and then
  // need this master's vote, which it gives no one behind it. So it may still lead, by the votes
  // of the membership without it, long enough to commit its removal (and then steps down).
  const auto* latest = membership_index_ > log_.committed() ? log_.at(membership_index_) : nullptr;
  return latest && latest->membership_change().kind() == pb::MembershipChange::REMOVE
         && latest->membership_change().address() == config_.id;
}

void raft_node::handle_append(const pb::RaftMessage& m) {
  pb::RaftMessage reply;
  reply.set_type(pb::RAFT_APPEND_RESPONSE);
  reply.set_to(m.from());
  if (m.index() < log_.committed()) {
    reply.set_index(log_.committed());
    send(std::move(reply));
    return;
  }
  if (!log_.matches(m.index(), m.log_term())) {
    reply.set_reject(true);
    reply.set_index(m.index());
    reply.set_reject_hint(std::min(m.index() - 1, log_.last_index()));
    send(std::move(reply));
    return;
  }
  std::vector<pb::LogEntry> entries(m.entries().begin(), m.entries().end());
  auto last_new = log_.append_after(m.index(), entries);
  // A change came, or one may have been replaced with the entries after m.index().
  const bool may_have_changed
      = !entries.empty()
        && (m.index() < membership_index_
            || std::any_of(entries.begin(), entries.end(),
                           [](const pb::LogEntry& e) { return e.has_membership_change(); }));
  if (may_have_changed)
    refresh_membership();
  log_.commit_to(std::min(m.commit(), last_new));
  reply.set_index(last_new);
  send(std::move(reply));
}

void raft_node::handle_heartbeat(const pb::RaftMessage& m) {
  log_.commit_to(m.commit());
  pb::RaftMessage reply;
  reply.set_type(pb::RAFT_HEARTBEAT_RESPONSE);
  reply.set_to(m.from());
  reply.set_context(m.context());
  send(std::move(reply));
}

void raft_node::handle_snapshot(const pb::RaftMessage& m) {
  const auto& snapshot = m.snapshot();
  pb::RaftMessage reply;
  reply.set_type(pb::RAFT_APPEND_RESPONSE);
  reply.set_to(m.from());
  if (snapshot.index() <= log_.committed()) {
    reply.set_index(log_.committed());
  } else if (log_.matches(snapshot.index(), snapshot.term())) {
    // We already hold the entries it covers: they are committed, nothing to install.
    log_.commit_to(snapshot.index());
    reply.set_index(snapshot.index());
  } else {
    log_.restore(snapshot);
    if (snapshot.membership().voters_size() > 0)
      base_members_ = membership::from_pb(snapshot.membership());
    refresh_membership();
    pending_snapshot_ = snapshot;
    reply.set_index(snapshot.index());
  }
  send(std::move(reply));
}

void raft_node::compact(uint64_t index) {
  base_members_ = members_at(index);
  log_.compact_to(index);
}

membership raft_node::members_at(uint64_t index) const {
  auto out = base_members_;
  for (uint64_t i = log_.first_index(); i <= std::min(index, log_.last_index()); ++i)
    if (const auto* e = log_.at(i); e->has_membership_change())
      out.apply(e->membership_change());
  return out;
}

void raft_node::refresh_membership() {
  members_ = base_members_;
  membership_index_ = 0;
  for (uint64_t i = log_.first_index(); i <= log_.last_index(); ++i) {
    if (const auto* e = log_.at(i); e->has_membership_change()) {
      members_.apply(e->membership_change());
      membership_index_ = i;
    }
  }
  if (role_ == role::leader)
    track_members();
}

bool raft_node::has_ready() const {
  return !outbox_.empty() || !appends_due_.empty() || log_.unstable_entries().size() > 0
         || pending_snapshot_ || log_.committed() > log_.applied() || !ready_reads_.empty()
         || persisted_.term() != term_ || persisted_.vote() != vote_
         || persisted_.commit() != log_.committed();
}

ready raft_node::take_ready() {
  send_due_appends();
  ready rd;
  rd.hard_state.set_term(term_);
  rd.hard_state.set_vote(vote_);
  rd.hard_state.set_commit(log_.committed());
  rd.hard_state_changed = rd.hard_state.term() != persisted_.term()
                          || rd.hard_state.vote() != persisted_.vote()
                          || rd.hard_state.commit() != persisted_.commit();
  rd.entries = log_.unstable_entries();
  if (pending_snapshot_) {
    // Handed out once, by move: a snapshot can be most of the state's size.
    rd.has_snapshot = true;
    rd.snapshot = std::move(*pending_snapshot_);
    pending_snapshot_.reset();
  }
  rd.messages = std::move(outbox_);
  outbox_.clear();
  rd.committed = log_.entries_to_apply();
  rd.reads = std::move(ready_reads_);
  ready_reads_.clear();
  return rd;
}

void raft_node::advance(const ready& done) {
  if (done.hard_state_changed)
    persisted_ = done.hard_state;
  if (!done.entries.empty())
    log_.stable_to(done.entries.back().index());
  if (!done.committed.empty())
    log_.applied_to(done.committed.back().index());
}

} // namespace claud::raft
