#include "replica/replica.hpp"

#include <stdexcept>

namespace claud::replica {

namespace {

state::cluster_state state_from(const pb::Snapshot& snapshot) {
  pb::ClusterState data;
  if (snapshot.index() > 0 && !data.ParseFromString(snapshot.data()))
    throw std::runtime_error("the snapshot at index " + std::to_string(snapshot.index())
                             + " does not hold a cluster state");
  return state::cluster_state{std::move(data)};
}

} // namespace

replica::replica(replica_options options, std::shared_ptr<storage::log_store> store)
    : replica(std::move(options), store, store->snapshot()) {}

replica::replica(replica_options options, std::shared_ptr<storage::log_store> store,
                 const pb::Snapshot& recovered)
    : options_(std::move(options)), store_(std::move(store)), state_(state_from(recovered)),
      raft_(options_.raft, store_->hard_state(), recovered, store_->entries(), options_.seed) {}

pb::Snapshot snapshot_request::write() const {
  pb::Snapshot snapshot;
  snapshot.set_index(index);
  snapshot.set_term(term);
  snapshot.set_data(state.bytes());
  *snapshot.mutable_membership() = membership;
  store->stage_snapshot(snapshot);
  return snapshot;
}

output replica::process(const message_sink& send_before_sync) {
  output out;
  while (raft_.has_ready()) {
    auto rd = raft_.take_ready();
    attach_snapshot_data(rd.messages);
    const auto& durable = raft_.persisted_hard_state();
    const bool vote_changed
        = rd.hard_state.term() != durable.term() || rd.hard_state.vote() != durable.vote();
    // A leader's messages depend on nothing this batch makes durable but its own entries, and a
    // leader need not hold its entries durably before it sends them (the Raft thesis, 10.2.1): its
    // own copy counts towards a commit only when a follower's answer is stepped, after this sync.
    // So the followers write while the leader does, and a commit costs one fsync, not two in a row.
    if (send_before_sync && raft_.current_role() == raft::role::leader && !vote_changed
        && !rd.has_snapshot) {
      for (auto& m : rd.messages)
        send_before_sync(m);
      rd.messages.clear();
    }
    if (rd.has_snapshot) {
      store_->save_snapshot(rd.snapshot);
      state_ = state_from(rd.snapshot);
      out.snapshot_installed = true;
    }
    if (!rd.entries.empty())
      store_->append(rd.entries);
    // Entries, term and vote must be durable before the messages that depend on them leave. The
    // commit index need not be (after a restart the leader tells it again, and a lone master
    // commits its log anew when it leads), so it is written only along with a term or vote: an
    // ordinary commit then costs one fdatasync of the log and none of the meta file.
    if (vote_changed)
      store_->set_hard_state(rd.hard_state);
    if (!rd.entries.empty() || vote_changed) {
      store_->sync();
      ++syncs_;
      entries_written_ += rd.entries.size();
    }
    for (auto& m : rd.messages)
      out.messages.push_back(std::move(m));
    for (const auto& entry : rd.committed) {
      auto result = state_.apply(entry);
      auto events = state::events_of(entry, result, state_);
      out.applied.push_back({entry, std::move(result), std::move(events)});
    }
    for (const auto& read : rd.reads)
      out.reads.push_back(read);
    raft_.advance(rd);
    maybe_snapshot(out);
  }
  return out;
}

void replica::maybe_snapshot(output& out) {
  const auto& log = raft_.log();
  if (snapshot_in_flight_ || log.applied() < log.snapshot_index() + options_.snapshot_every_entries)
    return;
  snapshot_in_flight_ = true;
  out.snapshot_to_write
      = snapshot_request{log.applied(), log.term(log.applied()), state_.snapshot(),
                         raft_.members_at(log.applied()).to_pb(), store_};
}

void replica::snapshot_saved(pb::Snapshot snapshot) {
  snapshot_in_flight_ = false;
  // A leader's snapshot may have come meanwhile: the store adopts this one unless it saved a newer
  // one, and the raft log is compacted to it unless the leader's, installed or still to be, goes
  // further (compacting then would put this older one in its place).
  if (store_->adopt_snapshot(snapshot) && snapshot.index() > raft_.log().snapshot_index())
    raft_.compact(snapshot.index());
}

void replica::attach_snapshot_data(std::vector<pb::RaftMessage>& messages) const {
  std::optional<pb::Snapshot> stored; // read once for all the followers behind
  for (auto& m : messages) {
    if (m.type() != pb::RAFT_SNAPSHOT)
      continue;
    if (!stored)
      stored = store_->snapshot();
    // Raft names the snapshot its log was compacted to, which the store holds (it adopts one
    // before raft compacts to it); a newer one in the store is as good and is sent instead.
    if (stored->index() < m.snapshot().index())
      throw std::logic_error(
          "raft sends the snapshot at index " + std::to_string(m.snapshot().index())
          + " but the store holds only index " + std::to_string(stored->index()));
    *m.mutable_snapshot() = *stored;
  }
}

} // namespace claud::replica
