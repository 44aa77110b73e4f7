#pragma once
// The consensus core, in the shape of etcd-io/raft: a pure state machine with no clock, no I/O and
// no threads. The caller feeds it ticks, messages from peers and proposals, then collects a
// `ready` — hard state and entries to persist, a snapshot to install, messages to send, committed
// entries to apply, confirmed reads — and must, in this order: persist, send, apply, advance().
//
// Implemented: leader election with randomized timeouts from a seeded generator, pre-vote (a
// rejoining master cannot disrupt a healthy leader), votes only for up-to-date candidates, log
// replication committed by a majority of the voters, check-quorum (a leader steps down when it has
// not heard from a majority for an election timeout, and followers that hear from a leader ignore
// votes meanwhile), read-index reads, snapshots for followers behind the log's start, and a hint
// that the leader is gone (its connection closed) which starts a pre-vote within a few ticks.
// Membership changes one master at a time (the Raft dissertation's single-server change, §4.1):
// a change is a log entry, and every master uses the latest one in its log, committed or not (a
// restarted master does not know its commit index: going by applied changes it could campaign
// with a membership two changes old). The leader proposes a change only when the previous one and
// an entry of its own term are committed; a new master is added as a learner and promoted by the
// leader once it has caught up; a removed leader steps down once its removal is committed.
// A RAFT_SNAPSHOT message leaves raft with only the snapshot's index and term: the caller attaches
// the data of the snapshot its storage holds before sending it.

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "log.pb.h"
#include "raft.pb.h"
#include "raft/membership.hpp"
#include "raft/raft_log.hpp"

namespace claud::raft {

struct raft_config {
  std::string id;
  // The voting masters a new cluster starts with (every master's --join). The membership in the
  // log and snapshots supersedes it; a master not in it waits to be added.
  std::vector<std::string> voters;
  int election_ticks = 10; // the timeout is drawn from [election_ticks, 2*election_ticks)
  int heartbeat_ticks = 1;
  size_t max_entries_per_message = 256;
};

/// One line saying what is wrong with `config`, or empty.
std::string validate(const raft_config& config);

enum class role { follower, pre_candidate, candidate, leader };
const char* to_string(role r);

struct read_state {
  uint64_t context; // the caller's id of the read
  uint64_t index;   // serve the read once the state machine applied this index
};

struct ready {
  bool hard_state_changed = false;
  pb::HardState hard_state;
  std::vector<pb::LogEntry> entries; // to persist; may replace a suffix of the stored log
  bool has_snapshot = false;
  pb::Snapshot snapshot; // to persist, and to restore the state machine from
  std::vector<pb::RaftMessage> messages;
  std::vector<pb::LogEntry> committed; // to apply, in order
  std::vector<read_state> reads;

  bool empty() const {
    return !hard_state_changed && entries.empty() && !has_snapshot && messages.empty()
           && committed.empty() && reads.empty();
  }
};

/// What a leader knows of one follower's log. Like etcd-raft's Progress, a follower is probed
/// until an append is accepted (one append in flight, `next` lowered by each rejection), and only
/// then sent appends pipelined. Pipelining while probing would let every new entry's append,
/// rejected again from the top of the leader's log, undo the probe's progress: under a steady
/// stream of proposals a follower with a diverging tail would never catch up.
struct progress {
  uint64_t match = 0; // highest index known to be replicated there
  uint64_t next = 1;  // next index to send
  bool recent_active = false;
  bool probing = true;          // no append accepted since this node leads (or since a rejection)
  bool probe_in_flight = false; // probing: an append (or snapshot) is out, wait for its answer
};

class raft_node {
public:
  /// `hard_state`, `snapshot` and `entries` are what storage recovered (all empty on a new node).
  raft_node(raft_config config, const pb::HardState& hard_state, const pb::Snapshot& snapshot,
            std::vector<pb::LogEntry> entries, uint64_t seed);

  void tick();
  void step(const pb::RaftMessage& message);

  /// Leader only: appends `entry` (index and term are set here) and returns its index; 0 when
  /// this node is not the leader, or `entry` is a membership change that membership_problem()
  /// refuses.
  uint64_t propose(pb::LogEntry entry);

  /// One line saying why this node cannot propose `change` now, or empty: it does not lead,
  /// another change is not applied yet, or the change does not fit the membership.
  std::string membership_problem(const pb::MembershipChange& change) const;

  /// Leader only: asks a majority to confirm this node still leads; `context` comes back in
  /// ready().reads with the index to wait for. False when not the leader.
  bool read_index(uint64_t context);

  /// The connection to the leader closed: stop trusting it and campaign (pre-vote) within a few
  /// ticks, the voters taking turns by rank so that two do not split the vote.
  void leader_unreachable();

  /// The caller snapshotted the state machine at `index` (<= applied) and its storage holds that
  /// snapshot: drop the log up to there. Followers that fall behind are sent that snapshot.
  void compact(uint64_t index);

  bool has_ready() const;
  ready take_ready();
  void advance(const ready& done);

  const std::string& id() const {
    return config_.id;
  }
  role current_role() const {
    return role_;
  }
  uint64_t term() const {
    return term_;
  }
  const std::string& leader() const {
    return leader_;
  }
  const raft_log& log() const {
    return log_;
  }
  /// The hard state as of the last advance() (what the caller has stored).
  const pb::HardState& persisted_hard_state() const {
    return persisted_;
  }
  const std::map<std::string, progress>& peers() const {
    return progress_;
  }
  /// The membership this node goes by: the latest in its log.
  const membership& members() const {
    return members_;
  }
  /// The membership as of `index` (from the log's start to its end): what a snapshot at `index`
  /// carries.
  membership members_at(uint64_t index) const;
  bool is_voter() const {
    return members_.is_voter(config_.id);
  }
  size_t quorum() const {
    return members_.quorum();
  }

private:
  struct pending_read {
    uint64_t context;
    uint64_t index;
    std::set<std::string> acks;
  };

  // Roles.
  void become_follower(uint64_t term, const std::string& leader);
  void campaign(bool pre_vote);
  void become_leader();
  void reset(uint64_t term);
  void reset_randomized_timeout();

  // Messages.
  void send(pb::RaftMessage message);
  void handle_vote_request(const pb::RaftMessage& m);
  void handle_vote_response(const pb::RaftMessage& m);
  /// Counts the voters' answers: wins or loses the (pre-)campaign when a quorum agrees; whether
  /// it did.
  bool tally_votes();
  bool may_campaign() const;
  void handle_append(const pb::RaftMessage& m);
  void handle_heartbeat(const pb::RaftMessage& m);
  void handle_snapshot(const pb::RaftMessage& m);
  void step_leader(const pb::RaftMessage& m);
  void step_stale(const pb::RaftMessage& m);

  // Leader replication. Proposals and answers only mark followers as due; take_ready() sends
  // each due follower one append with everything it lacks and the latest commit index.
  void replicate_to(const std::string& peer);
  void replicate_to_all();
  void send_due_appends();
  void send_append(const std::string& peer);
  void broadcast_heartbeat(uint64_t context);
  bool maybe_commit();
  bool check_quorum_active();
  void confirm_read(const std::string& peer, uint64_t context);
  void track_members(); // the leader's progress: one per member but itself
  /// members_ from base_members_ and the changes in the log; after the log changed under them.
  void refresh_membership();
  void maybe_promote(const std::string& learner);

  raft_config config_;
  std::mt19937_64 rng_;
  raft_log log_;
  role role_ = role::follower;
  uint64_t term_ = 0;
  std::string vote_;
  std::string leader_;
  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_election_timeout_ = 0;
  std::map<std::string, bool> votes_;
  std::map<std::string, progress> progress_; // followers, on the leader
  uint64_t leader_first_index_ = 0;          // the no-op entry that opened this leader's term
  std::vector<pending_read> pending_reads_;
  std::vector<read_state> ready_reads_;
  std::vector<pb::RaftMessage> outbox_;
  // Followers owed an append, sent at take_ready(): under load a leader takes in many proposals
  // and answers between two readies, and sending an append for each (its entry, or only a new
  // commit index) cost every follower about four appends and four answers per job.
  std::set<std::string> appends_due_;
  pb::HardState persisted_;
  std::optional<pb::Snapshot> pending_snapshot_; // received from the leader, not yet handed out
  membership base_members_;                      // as of the log's snapshot index
  membership members_;                           // with every change in the log
  uint64_t membership_index_ = 0;                // of the latest change in the log, 0 when none
};

} // namespace claud::raft
