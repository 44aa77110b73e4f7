#include "cluster.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>
#include <google/protobuf/util/message_differencer.h>

namespace claud::sim {

namespace {

std::vector<std::string> master_ids(int masters) {
  std::vector<std::string> ids;
  for (int i = 0; i < masters; ++i)
    ids.push_back(fmt::format("m{}", i));
  return ids;
}

const char* role_name(raft::role r) {
  return raft::to_string(r);
}

} // namespace

cluster::cluster(cluster_options options)
    : options_(std::move(options)), ids_(master_ids(options_.masters)),
      voters_(ids_.begin(), options_.voters > 0 && options_.voters < options_.masters
                                ? ids_.begin() + options_.voters
                                : ids_.end()),
      rng_(options_.seed), net_(ids_, rng_.fork(), options_.network), checker_(voters_) {
  if (options_.masters < 1)
    throw std::invalid_argument("a cluster needs at least one master");
  nodes_.resize(ids_.size());
  for (size_t i = 0; i < ids_.size(); ++i) {
    auto& n = nodes_[i];
    n.id = ids_[i];
    n.index = i;
    n.store = std::make_shared<crash_store>();
    start(n);
  }
}

cluster::node& cluster::at(const std::string& id) {
  for (auto& n : nodes_)
    if (n.id == id)
      return n;
  throw std::logic_error("no master " + id);
}

const cluster::node& cluster::at(const std::string& id) const {
  return const_cast<cluster*>(this)->at(id);
}

void cluster::start(node& n) {
  replica::replica_options opts;
  opts.raft.id = n.id;
  opts.raft.voters = voters_;
  opts.raft.election_ticks = options_.election_ticks;
  opts.raft.heartbeat_ticks = options_.heartbeat_ticks;
  opts.raft.max_entries_per_message = options_.max_entries_per_message;
  // A restarted master draws new election timeouts: a fresh process has a fresh generator.
  opts.seed = prng(options_.seed ^ (n.index * 0x9e3779b97f4a7c15ull) ^ (n.starts << 32)).next();
  opts.snapshot_every_entries = options_.snapshot_every_entries;
  ++n.starts;
  n.replica = std::make_unique<replica::replica>(opts, n.store);
  n.durable.reset();
  n.seen_role = raft::role::follower;
  n.seen_term = n.replica->raft().term();
  checker_.on_start(n.id, *n.replica);
  process(n);
}

void cluster::go_down(node& n, const char* how) {
  n.replica.reset();
  n.snapshot_written.reset();
  n.durable = std::make_unique<raft::raft_log>(n.store->snapshot(), n.store->entries(),
                                               n.store->hard_state().commit());
  trace_.add(now_, fmt::format("{} crashed ({}); its disk holds {}..{}, commit {}", n.id, how,
                               n.durable->first_index(), n.durable->last_index(),
                               n.durable->committed()));
  // The connections to it close; its followers may hear of it, after what it sent them before.
  for (auto& other : nodes_)
    if (other.replica && other.replica->raft().leader() == n.id
        && rng_.chance(options_.hint_on_crash))
      hints_.push_back({std::max(now_, net_.last_due(n.id, other.id)), other.id, n.id});
}

void cluster::deliver_hints() {
  for (size_t i = 0; i < hints_.size();) {
    if (hints_[i].due > now_) {
      ++i;
      continue;
    }
    const hint h = hints_[i];
    hints_.erase(hints_.begin() + static_cast<std::ptrdiff_t>(i));
    auto& n = at(h.follower);
    // Only the connection to the master it follows now matters to it.
    if (!n.replica || n.replica->raft().leader() != h.leader)
      continue;
    trace_.add(now_, fmt::format("{} is told its leader {} is unreachable", n.id, h.leader));
    n.replica->raft().leader_unreachable();
    process(n);
  }
}

void cluster::process(node& n) {
  replica::output out;
  try {
    if (n.snapshot_written) {
      auto written = std::move(*n.snapshot_written);
      n.snapshot_written.reset();
      n.replica->snapshot_saved(std::move(written));
    }
    out = n.replica->process([&](pb::RaftMessage& m) { net_.send(std::move(m), now_); });
    if (out.snapshot_to_write)
      n.snapshot_written = out.snapshot_to_write->write();
  } catch (const simulated_crash&) {
    go_down(n, "during a write");
    return;
  }
  for (auto& m : out.messages)
    net_.send(std::move(m), now_);
  if (out.snapshot_installed) {
    ++n.snapshots_installed;
    trace_.add(now_, fmt::format("{} installed a snapshot at index {}", n.id,
                                 n.replica->raft().log().snapshot_index()));
  }
  checker_.on_output(n.id, out, *n.replica);
  for (const auto& read : out.reads)
    checker_.on_read(n.id, read);
  if (observer_)
    observer_(n.id, out);
}

uint64_t cluster::propose_entry(const std::string& id, pb::LogEntry entry) {
  auto& n = at(id);
  if (!n.replica || n.replica->raft().current_role() != raft::role::leader)
    return 0;
  entry.set_time_ms(static_cast<int64_t>(now_) * ms_per_step);
  const uint64_t index = n.replica->raft().propose(std::move(entry));
  if (index != 0)
    unprocessed_.push_back(id);
  return index;
}

void cluster::flush() {
  // Processing may observe outputs whose handlers propose again: until nothing is left.
  while (!unprocessed_.empty()) {
    auto ids = std::move(unprocessed_);
    unprocessed_.clear();
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    for (const auto& id : ids)
      if (auto& n = at(id); n.replica)
        process(n);
  }
}

void cluster::step() {
  ++now_;
  for (const auto& m : net_.take_due(now_)) {
    auto& n = at(m.to());
    if (!n.replica)
      continue;
    n.replica->raft().step(m);
    process(n);
  }
  deliver_hints();
  for (auto& n : nodes_)
    if (n.replica && rng_.chance(n.tick_probability)) {
      n.replica->raft().tick();
      process(n);
    }
  flush();
  note_changes();
  views_.resize(nodes_.size());
  for (size_t i = 0; i < nodes_.size(); ++i)
    views_[i] = {nodes_[i].id, nodes_[i].replica.get(), nodes_[i].durable.get()};
  checker_.check_step(views_);
}

void cluster::note_changes() {
  for (auto& n : nodes_) {
    if (!n.replica)
      continue;
    const auto& raft = n.replica->raft();
    if (raft.current_role() == n.seen_role && raft.term() == n.seen_term)
      continue;
    n.seen_role = raft.current_role();
    n.seen_term = raft.term();
    trace_.add(now_, fmt::format("{} is {} in term {} (log {}..{}, commit {})", n.id,
                                 role_name(n.seen_role), n.seen_term, raft.log().first_index(),
                                 raft.log().last_index(), raft.log().committed()));
  }
  if (checker_.commit_index() != seen_commit_) {
    seen_commit_ = checker_.commit_index();
    trace_.add(now_, fmt::format("committed up to index {} (term {})", seen_commit_,
                                 checker_.committed(seen_commit_).term()));
  }
}

void cluster::run_ticks(int steps) {
  for (int i = 0; i < steps; ++i)
    step();
}

bool cluster::run_until(const std::function<bool()>& done, int max_steps) {
  for (int i = 0; i < max_steps && !done(); ++i)
    step();
  return done();
}

bool cluster::up(const std::string& id) const {
  return at(id).replica != nullptr;
}

const replica::replica& cluster::master(const std::string& id) const {
  const auto& n = at(id);
  if (!n.replica)
    throw std::logic_error(id + " is down");
  return *n.replica;
}

std::string cluster::leader() const {
  std::string best;
  uint64_t best_term = 0;
  for (const auto& n : nodes_)
    if (n.replica && n.replica->raft().current_role() == raft::role::leader
        && (best.empty() || n.replica->raft().term() > best_term)) {
      best = n.id;
      best_term = n.replica->raft().term();
    }
  return best;
}

raft::role cluster::role(const std::string& id) const {
  return master(id).raft().current_role();
}

uint64_t cluster::term(const std::string& id) const {
  return master(id).raft().term();
}

uint64_t cluster::commit(const std::string& id) const {
  return master(id).raft().log().committed();
}

bool cluster::holds(const std::string& id, const std::string& job) const {
  const auto& log = master(id).raft().log();
  for (const auto& entry : log.slice(log.first_index(), log.last_index() + 1))
    if (entry.has_job_submitted() && entry.job_submitted().spec().argv(0) == job)
      return true;
  return false;
}

const raft::raft_log& cluster::disk(const std::string& id) const {
  const auto& n = at(id);
  if (!n.durable)
    throw std::logic_error(id + " is up: its disk is its log");
  return *n.durable;
}

void cluster::set_tick_probability(const std::string& id, double probability) {
  at(id).tick_probability = probability;
}

void cluster::isolate(const std::string& id) {
  trace_.add(now_, fmt::format("network: {} isolated", id));
  net_.isolate(id);
}

void cluster::cut(const std::string& from, const std::string& to) {
  trace_.add(now_, fmt::format("network: link {} -> {} cut", from, to));
  net_.cut(from, to);
}

void cluster::partition(const std::vector<std::string>& side) {
  trace_.add(now_, fmt::format("network: {{{}}} partitioned from the rest", fmt::join(side, ",")));
  net_.partition(side);
}

void cluster::heal() {
  trace_.add(now_, "network: healed");
  net_.heal();
}

void cluster::crash(const std::string& id, crash_mode mode) {
  auto& n = at(id);
  if (!n.replica)
    return;
  if (mode == crash_mode::now) {
    n.store->lose_unsynced();
    go_down(n, "between writes");
    return;
  }
  trace_.add(now_, fmt::format("{} will crash at its next sync ({})", id,
                               mode == crash_mode::torn_write ? "torn" : "after the sync"));
  n.store->arm_crash(rng_.fork(), mode == crash_mode::after_sync);
}

bool cluster::crashing(const std::string& id) const {
  const auto& n = at(id);
  return n.replica && n.store->armed();
}

void cluster::cancel_crash(const std::string& id) {
  at(id).store->disarm();
}

void cluster::restart(const std::string& id) {
  auto& n = at(id);
  if (n.replica)
    return;
  trace_.add(now_, fmt::format("{} restarts", id));
  start(n);
}

void cluster::wipe(const std::string& id) {
  auto& n = at(id);
  if (n.replica)
    throw std::logic_error("wipe " + id + ": only a crashed master's disk can be replaced");
  trace_.add(now_, fmt::format("{}'s disk is replaced by an empty one", id));
  n.store = std::make_shared<crash_store>();
  n.durable = std::make_unique<raft::raft_log>();
}

uint64_t cluster::change_membership(const std::string& id, pb::MembershipChange::Kind kind,
                                    const std::string& who) {
  auto& n = at(id);
  pb::LogEntry entry;
  entry.mutable_membership_change()->set_kind(kind);
  entry.mutable_membership_change()->set_address(who);
  if (!n.replica || !n.replica->raft().membership_problem(entry.membership_change()).empty())
    return 0;
  trace_.add(now_,
             fmt::format("{} is asked to {} {}", id, pb::MembershipChange::Kind_Name(kind), who));
  return propose_entry(id, std::move(entry));
}

void cluster::hint_leader_unreachable(const std::string& id) {
  auto& n = at(id);
  if (!n.replica)
    return;
  trace_.add(now_, fmt::format("{} is told its leader is unreachable", id));
  n.replica->raft().leader_unreachable();
  process(n);
}

std::string cluster::propose(const std::string& id, bool retry) {
  auto& n = at(id);
  if (!n.replica)
    return {};
  std::string job = retry && !last_job_.empty() ? last_job_ : fmt::format("job-{}", ++jobs_);
  last_job_ = job;
  pb::LogEntry entry;
  entry.set_time_ms(static_cast<int64_t>(now_) * 100);
  auto* spec = entry.mutable_job_submitted()->mutable_spec();
  spec->set_name(job);
  spec->add_argv(job);
  spec->set_cpu_millis(100);
  spec->set_idempotency_key(job);
  const uint64_t index = n.replica->raft().propose(std::move(entry));
  if (index == 0)
    return {};
  trace_.add(now_, fmt::format("client: {} {} to {} at index {} (term {})", job,
                               retry ? "proposed again" : "proposed", id, index,
                               n.replica->raft().term()));
  process(n);
  return job;
}

uint64_t cluster::read(const std::string& id) {
  auto& n = at(id);
  if (!n.replica)
    return 0;
  const uint64_t context = ++reads_;
  checker_.on_read_issued(context);
  if (!n.replica->raft().read_index(context))
    return 0;
  process(n);
  return context;
}

bool cluster::converged() const {
  for (const auto& n : nodes_)
    if (member(n.id)
        && (!n.replica || n.replica->raft().log().applied() != checker_.commit_index()))
      return false;
  return true;
}

void cluster::check_states() const {
  const uint64_t index = checker_.commit_index();
  const auto reference = checker_.reference_state(index);
  const std::string expected = canonical_bytes(reference.whole());
  for (const auto& n : nodes_) {
    if (!n.replica || n.replica->raft().log().applied() != index)
      continue;
    if (canonical_bytes(n.replica->state().whole()) == expected)
      continue;
    std::string diff;
    google::protobuf::util::MessageDifferencer differ;
    differ.ReportDifferencesToString(&diff);
    differ.Compare(reference.whole(), n.replica->state().whole());
    throw invariant_violation(fmt::format("{}'s state at index {} differs from the one the "
                                          "committed entries produce: {}",
                                          n.id, index, diff.substr(0, 400)));
  }
}

} // namespace claud::sim
