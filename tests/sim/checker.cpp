#include "checker.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

namespace claud::sim {

namespace {

/// What names a submission: its idempotency key, else (a submission without one) its command.
std::string job_name(const pb::LogEntry& entry) {
  if (!entry.has_job_submitted())
    return {};
  const auto& spec = entry.job_submitted().spec();
  if (!spec.idempotency_key().empty())
    return spec.idempotency_key();
  return spec.argv_size() == 0 ? std::string{} : spec.argv(0);
}

} // namespace

std::string canonical_bytes(const google::protobuf::Message& message) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return out;
}

checker::checker(const std::vector<std::string>& voters)
    : membership_(raft::membership::of_voters(voters)),
      before_last_change_(membership_), memberships_{{0, membership_}}, submissions_{0} {}

void checker::on_start(const std::string& node, const replica::replica& r) {
  next_apply_[node] = r.raft().log().applied() + 1;
  check_state(node, r);
}

void checker::on_output(const std::string& node, const replica::output& out,
                        const replica::replica& r) {
  auto& next = next_apply_[node];
  for (const auto& applied : out.applied) {
    const uint64_t index = applied.entry.index();
    // Within one output a snapshot may replace the state machine, so a jump forward is allowed
    // then; never a step back, and never a gap otherwise.
    if (index < next || (index != next && !out.snapshot_installed))
      throw invariant_violation(
          fmt::format("{} applied index {} where it had to apply {} next", node, index, next));
    record(node, applied.entry);
    next = index + 1;
  }
  if (out.snapshot_installed) {
    const uint64_t applied = r.raft().log().applied();
    if (applied + 1 < next)
      throw invariant_violation(
          fmt::format("{} installed a snapshot at index {}, below the {} it had already applied",
                      node, applied, next - 1));
    next = applied + 1;
  }
  check_state(node, r);
}

void checker::record(const std::string& node, const pb::LogEntry& entry) {
  const uint64_t index = entry.index();
  std::string bytes = entry.SerializeAsString(); // no maps in a LogEntry: deterministic
  if (index <= entries_.size()) {
    if (bytes_[index - 1] != bytes)
      throw invariant_violation(fmt::format(
          "committed entry {} changed: {} applied term {} ({}), the first applier term {} ({})",
          index, node, entry.term(), entry.ShortDebugString(), entries_[index - 1].term(),
          entries_[index - 1].ShortDebugString()));
    return;
  }
  if (index != entries_.size() + 1)
    throw invariant_violation(
        fmt::format("{} applied index {} but no master applied index {} before it", node, index,
                    entries_.size() + 1));
  bool makes_job = entry.has_job_submitted();
  if (auto job = job_name(entry); !job.empty()) {
    auto [it, fresh] = jobs_.emplace(job, index);
    // A client's retry commits its submission again under the same idempotency key: that entry
    // must make no second job, which the job count below checks on every master.
    if (!fresh && entry.job_submitted().spec().idempotency_key().empty())
      throw invariant_violation(
          fmt::format("{} was committed twice, at {} and {}", job, it->second, index));
    makes_job = fresh;
  }
  submissions_.push_back(submissions_.back() + (makes_job ? 1 : 0));
  if (entry.has_membership_change()) {
    before_last_change_ = membership_;
    membership_.apply(entry.membership_change());
    memberships_.emplace_back(index, membership_);
  }
  entries_.push_back(entry);
  bytes_.push_back(std::move(bytes));
}

void checker::check_state(const std::string& node, const replica::replica& r) const {
  const auto& log = r.raft().log();
  const uint64_t applied = log.applied();
  if (applied > log.committed())
    throw invariant_violation(
        fmt::format("{} applied index {} beyond its commit {}", node, applied, log.committed()));
  if (r.state().applied_index() != applied)
    throw invariant_violation(
        fmt::format("{}'s state machine is at index {} but its log applied {}", node,
                    r.state().applied_index(), applied));
  if (applied > entries_.size())
    throw invariant_violation(fmt::format("{} is at index {}, beyond every applied entry ({})",
                                          node, applied, entries_.size()));
  auto made = std::prev(std::upper_bound(
      memberships_.begin(), memberships_.end(), applied,
      [](uint64_t i, const std::pair<uint64_t, raft::membership>& c) { return i < c.first; }));
  if (auto at = r.raft().members_at(applied); at != made->second)
    throw invariant_violation(fmt::format(
        "{}'s membership at index {} ({} voters, {} learners) is not the one the committed "
        "entries make ({} voters, {} learners)",
        node, applied, at.voters.size(), at.learners.size(), made->second.voters.size(),
        made->second.learners.size()));
  if (r.state().next_job_number() != submissions_[applied])
    throw invariant_violation(fmt::format(
        "{}'s state machine at index {} counts {} jobs; the committed entries submit {}", node,
        applied, r.state().next_job_number(), submissions_[applied]));
}

bool checker::holds_newest_committed(const raft::raft_log& log) const {
  const uint64_t index = entries_.size();
  return index == 0 || log.snapshot_index() >= index || log.term(index) == entries_.back().term();
}

void checker::check_step(const std::vector<node_view>& nodes) {
  std::set<std::string> holders, everyone;
  for (const auto& n : nodes) {
    const raft::raft_log& log = n.live ? n.live->raft().log() : *n.durable;
    everyone.insert(n.id);
    if (holds_newest_committed(log))
      holders.insert(n.id);
    if (!n.live)
      continue;
    const auto& raft = n.live->raft();
    if (raft.log().applied() > raft.log().committed())
      throw invariant_violation(fmt::format("{} applied index {} beyond its commit {}", n.id,
                                            raft.log().applied(), raft.log().committed()));
    if (raft.current_role() != raft::role::leader)
      continue;
    auto [it, fresh] = leaders_.emplace(raft.term(), n.id);
    if (it->second != n.id)
      throw invariant_violation(
          fmt::format("two leaders in term {}: {} and {}", raft.term(), it->second, n.id));
    if (fresh && !holds_newest_committed(raft.log()))
      throw invariant_violation(
          fmt::format("{} became leader of term {} without committed entry {} (term {})", n.id,
                      raft.term(), entries_.size(), entries_.back().term()));
  }
  if (!held_by_a_majority(holders, everyone))
    throw invariant_violation(fmt::format(
        "committed entry {} (term {}) is durably held by {} masters, no majority of the voters "
        "({}) that could have committed it",
        entries_.size(), entries_.back().term(), holders.size(), membership_.voters.size()));
}

bool checker::held_by_a_majority(const std::set<std::string>& holders,
                                 const std::set<std::string>& everyone) const {
  auto majority_of = [&](const raft::membership& m) {
    size_t held = 0;
    for (const auto& voter : m.voters)
      held += holders.count(voter);
    return held >= m.quorum();
  };
  // The leader that committed it went by the latest membership in its log: the committed one, the
  // one before the last committed change, or one change beyond the committed one, not yet
  // committed itself.
  if (majority_of(membership_) || majority_of(before_last_change_))
    return true;
  for (const auto& id : everyone) {
    auto changed = membership_;
    if (changed.is_voter(id))
      changed.voters.erase(id);
    else
      changed.voters.insert(id);
    if (majority_of(changed))
      return true;
  }
  return false;
}

void checker::on_read_issued(uint64_t context) {
  reads_[context] = entries_.size();
}

void checker::on_read(const std::string& node, const raft::read_state& read) {
  auto it = reads_.find(read.context);
  if (it == reads_.end())
    throw invariant_violation(fmt::format("{} confirmed read {}, which was never asked or was "
                                          "already confirmed",
                                          node, read.context));
  if (read.index < it->second)
    throw invariant_violation(fmt::format(
        "{} confirmed read {} at index {}, below index {} committed before it was asked", node,
        read.context, read.index, it->second));
  reads_.erase(it);
}

uint64_t checker::committed_job(const std::string& job) const {
  auto it = jobs_.find(job);
  return it == jobs_.end() ? 0 : it->second;
}

state::cluster_state checker::reference_state(uint64_t index) const {
  state::cluster_state state;
  for (uint64_t i = 1; i <= index && i <= entries_.size(); ++i)
    state.apply(entries_[i - 1]);
  return state;
}

} // namespace claud::sim
