#include "world.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "state/job_states.hpp"

namespace claud::sim {

namespace {

std::vector<std::string> slave_names(int slaves) {
  std::vector<std::string> ids;
  for (int i = 0; i < slaves; ++i)
    ids.push_back(fmt::format("s{}", i));
  return ids;
}

} // namespace

world::world(world_options options)
    : options_(std::move(options)), masters_(options_.masters),
      wire_(options_.masters.seed ^ 0x77697265ull, 1, options_.wire_max_delay_steps),
      slave_ids_(slave_names(options_.slaves)), checker_(options_.timing),
      follower_(options_.masters.seed ^ 0x6576656e7473ull) {
  prng rng(options_.masters.seed ^ 0x736c617665ull);
  for (const auto& id : masters_.ids()) {
    hosts_.push_back(
        std::make_unique<master_host>(id, masters_, wire_, slave_ids_, options_.timing));
    hosts_.back()->on_propose(
        [this, id](const pb::LogEntry& e) { checker_.on_proposed(*this, id, e); });
    master_up_.push_back(true);
  }
  for (const auto& id : slave_ids_)
    slaves_.push_back(std::make_unique<slave_sim>(id, rng.next() | 1, options_.slave_cpu_millis,
                                                  options_.slave_memory_bytes, masters_.ids(),
                                                  rng.fork(), options_.timing));
  for (int c = 0; c < options_.clients; ++c)
    clients_.emplace_back(fmt::format("c{}", c), masters_.ids(), rng.fork());
  slave_events_.spawned
      = [this](const std::string& slave, const pb::Job& job) { checker_.on_spawn(slave, job); };
  slave_events_.refused = [this](const std::string& slave, const std::string& reason) {
    checker_.on_refused_registration(slave, reason);
  };
  slave_events_.note = [this](const std::string& what) { events().add(now(), what); };
  masters_.observe([this](const std::string& id, const replica::output& out) {
    follower_.on_output(id, out, masters_.master(id).state());
    for (size_t i = 0; i < hosts_.size(); ++i)
      if (masters_.ids()[i] == id)
        hosts_[i]->on_output(out, masters_.now());
  });
}

std::function<void(const std::string&, message)> world::sender(const std::string& from) {
  return
      [this, from](const std::string& to, message m) { wire_.send(from, to, std::move(m), now()); };
}

slave_sim& world::slave_at(const std::string& id) {
  for (auto& s : slaves_)
    if (s->id() == id)
      return *s;
  throw std::logic_error("no slave " + id);
}

const slave_sim& world::slave(const std::string& id) const {
  return const_cast<world*>(this)->slave_at(id);
}

void world::connections_closed(const std::string& id, const std::string& connection) {
  wire_.drop(id);
  // Every peer hears the close after what was in flight to it; the wire keeps each link's order.
  auto peers = id[0] == 's' ? masters_.ids() : slave_ids_;
  for (const auto& peer : peers)
    wire_.send(id, peer, connection_closed{connection}, now());
}

/// A master that went down lost its host's state; one that came back starts with a fresh host.
void world::follow_masters() {
  for (size_t i = 0; i < hosts_.size(); ++i) {
    const auto& id = masters_.ids()[i];
    bool up = masters_.up(id);
    if (master_up_[i] && !up) {
      hosts_[i]->reset();
      follower_.on_reset(id);
      connections_closed(id, id);
    }
    master_up_[i] = up;
  }
}

void world::fault(const std::string& slave, const std::string& what) {
  checker_.on_fault(slave, now());
  events().add(now(), fmt::format("slave {} {}", slave, what));
}

void world::crash_slave(const std::string& id) {
  auto& s = slave_at(id);
  if (!s.up())
    return;
  fault(id, "crashed (its jobs live on as orphans)");
  auto connection = s.connection();
  s.crash(now());
  connections_closed(id, connection);
}

void world::restart_slave(const std::string& id) {
  auto& s = slave_at(id);
  if (s.up())
    return;
  fault(id, "restarts");
  s.restart(now());
}

void world::freeze_slave(const std::string& id) {
  auto& s = slave_at(id);
  if (!s.up() || s.frozen())
    return;
  fault(id, "frozen");
  s.freeze();
}

void world::thaw_slave(const std::string& id) {
  auto& s = slave_at(id);
  if (!s.frozen())
    return;
  fault(id, "thawed");
  s.thaw();
}

void world::cut_slave(const std::string& id) {
  fault(id, "cut off from the masters");
  for (const auto& m : masters_.ids())
    wire_.cut(id, m);
}

void world::heal_slaves() {
  for (const auto& id : slave_ids_)
    if (wire_.touches(id))
      fault(id, "reconnected");
  wire_.heal();
}

void world::submit(size_t client) {
  auto& c = clients_.at(client);
  c.submit(now(), options_.slave_cpu_millis, sender(c.id()));
}

void world::kill(size_t client) {
  auto& c = clients_.at(client);
  c.kill(now(), sender(c.id()));
}

void world::drain(size_t client, const std::string& node_id, bool draining) {
  auto& c = clients_.at(client);
  c.drain(node_id, draining, now(), sender(c.id()));
}

std::vector<std::string> world::drained_nodes() const {
  std::vector<std::string> out;
  auto leader = masters_.leader();
  if (leader.empty())
    return out;
  for (const auto& [id, node] : masters_.master(leader).state().nodes())
    if (node.draining())
      out.push_back(id);
  return out;
}

bool world::clients_idle() const {
  for (const auto& c : clients_)
    if (!c.idle())
      return false;
  return true;
}

void world::deliver() {
  for (auto& e : wire_.take_due(now())) {
    const auto& to = e.to;
    if (to[0] == 'm') {
      for (size_t i = 0; i < hosts_.size(); ++i)
        if (masters_.ids()[i] == to && masters_.up(to))
          hosts_[i]->deliver(e.from, e.body, now());
    } else if (to[0] == 's') {
      auto& s = slave_at(to);
      if (!s.up())
        continue;
      if (s.frozen()) {
        wire_.hold(std::move(e), now()); // read once it thaws
        continue;
      }
      s.deliver(e.from, e.body, now(), sender(s.id()), slave_events_);
    } else {
      for (auto& c : clients_)
        if (c.id() == to)
          c.deliver(e.from, e.body, now());
    }
  }
}

/// The job lifecycle's committed entries, one line each, for the trace.
void world::trace_committed() {
  const auto& raft = masters_.check();
  for (; traced_index_ < raft.commit_index(); ++traced_index_) {
    const auto& e = raft.committed(traced_index_ + 1);
    std::string what;
    if (e.has_job_submitted())
      what = fmt::format("submitted {} on '{}'", e.job_submitted().spec().idempotency_key(),
                         e.job_submitted().node_id());
    else if (e.has_job_placed())
      what = fmt::format("job {} placed on {}", e.job_placed().job_id(), e.job_placed().node_id());
    else if (e.has_job_started())
      what = fmt::format("job {} attempt {} started on {}", e.job_started().job_id(),
                         e.job_started().attempt(), e.job_started().node_id());
    else if (e.has_job_finished())
      what = fmt::format("job {} attempt {} finished on {} (code {}, signal {}{})",
                         e.job_finished().job_id(), e.job_finished().attempt(),
                         e.job_finished().node_id(), e.job_finished().exit_code(),
                         e.job_finished().term_signal(),
                         e.job_finished().reason().empty() ? "" : ", " + e.job_finished().reason());
    else if (e.has_job_lost())
      what = fmt::format("job {} lost: {}", e.job_lost().job_id(), e.job_lost().reason());
    else if (e.has_job_kill_requested())
      what = fmt::format("job {} kill requested", e.job_kill_requested().job_id());
    else if (e.has_node_registered())
      what = fmt::format("node {} registered", e.node_registered().node().id());
    else if (e.has_node_lost())
      what = fmt::format("node {} lost: {}", e.node_lost().node_id(), e.node_lost().reason());
    else if (e.has_node_drain())
      what = fmt::format("node {} drain={}", e.node_drain().node_id(), e.node_drain().draining());
    else
      continue;
    events().add(now(), fmt::format("committed {}: {}", traced_index_ + 1, what));
  }
}

void world::step() {
  masters_.step();
  trace_committed();
  follow_masters();
  deliver();
  for (auto& s : slaves_)
    s->tick(now(), sender(s->id()), slave_events_);
  for (auto& h : hosts_)
    h->tick(now());
  const auto leader = masters_.leader();
  for (auto& c : clients_)
    c.tick(now(), leader, sender(c.id()));
  follower_.tick(now_ms(), states());
  masters_.flush();
  checker_.check_step(*this);
}

bool world::settled() const {
  auto leader = masters_.leader();
  if (leader.empty() || !masters_.converged() || !clients_idle())
    return false;
  if (!masters_.master(leader).state().live_jobs().empty())
    return false;
  for (const auto& s : slaves_)
    for (const auto& [pid, p] : s->processes())
      if (p.alive && p.supervised)
        return false;
  return true;
}

std::string world::unsettled() const {
  auto leader = masters_.leader();
  if (leader.empty())
    return "no leader";
  std::vector<std::string> why;
  for (size_t i = 0; i < hosts_.size(); ++i)
    if (hosts_[i]->leading())
      why.push_back(fmt::format("{} leads with {} slaves registered", masters_.ids()[i],
                                hosts_[i]->registered()));
  for (const auto& [id, node] : masters_.master(leader).state().nodes())
    why.push_back(fmt::format("node {} {}", id, pb::NodeState_Name(node.state())));
  if (!masters_.converged())
    why.push_back("masters not converged");
  for (const auto& c : clients_)
    if (!c.idle())
      why.push_back(c.id() + " waits for an answer");
  for (const auto& [id, job] : masters_.master(leader).state().live_jobs())
    if (why.size() < 8)
      why.push_back(fmt::format("job {} {} attempt {} on '{}'", id, pb::JobState_Name(job.state()),
                                job.attempts(), job.node_id()));
  for (const auto& s : slaves_)
    for (const auto& [pid, p] : s->processes())
      if (p.alive && p.supervised && why.size() < 12)
        why.push_back(fmt::format("{} runs job {} attempt {} (pid {}, ends at {}{}{})", s->id(),
                                  p.job_id, p.attempt, pid, p.ends_at, s->up() ? "" : ", down",
                                  s->frozen() ? ", frozen" : ""));
  return fmt::format("{}", fmt::join(why, "; "));
}

void world::check_end() {
  checker_.check_end(*this);
  follower_.check_end(masters_.leader(), now_ms(), states());
}

std::function<const state::cluster_state*(const std::string&)> world::states() const {
  return [this](const std::string& id) -> const state::cluster_state* {
    return masters_.up(id) ? &masters_.master(id).state() : nullptr;
  };
}

} // namespace claud::sim
