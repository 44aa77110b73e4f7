#include "sched/pending_queue.hpp"

#include <optional>

#include <fmt/format.h>

#include "sched/placement.hpp"
#include "sched/placement_index.hpp"
#include "state/job_states.hpp"

namespace claud::sched {

namespace {

/// The misfits a pass compares later jobs with: a bound, so a pass stays linear in pending jobs
/// however many shapes of job wait.
constexpr size_t max_misfits_remembered = 16;

/// What decides whether a job fits: its CPU, memory, user and constraints (in order, as
/// known_not_to_fit compares them). The user, keys and values are length-prefixed, so two
/// different requirements never share a shape.
std::string shape_of(const pb::JobSpec& spec) {
  auto shape = fmt::format("{}/{}/{}:{}", spec.cpu_millis(), spec.memory_bytes(),
                           spec.user().size(), spec.user());
  for (const auto& c : spec.constraints())
    shape += fmt::format("/{}:{}{}{}:{}", c.key().size(), c.key(), c.negated() ? "!=" : "=",
                         c.value().size(), c.value());
  return shape;
}

/// Whether an earlier job of this pass that fit nowhere asked for no more than `spec`, as the
/// same user and under the same constraints: then `spec` cannot fit either, and placing it again
/// would cost a search.
bool known_not_to_fit(const std::vector<const pb::JobSpec*>& misfits, const pb::JobSpec& spec) {
  auto same_requirements = [&](const pb::JobSpec& other) {
    if (other.user() != spec.user() || other.constraints_size() != spec.constraints_size())
      return false;
    for (int i = 0; i < spec.constraints_size(); ++i) {
      const auto& a = spec.constraints(i);
      const auto& b = other.constraints(i);
      if (a.key() != b.key() || a.value() != b.value() || a.negated() != b.negated())
        return false;
    }
    return true;
  };
  for (const auto* misfit : misfits)
    if (misfit->cpu_millis() <= spec.cpu_millis() && misfit->memory_bytes() <= spec.memory_bytes()
        && same_requirements(*misfit))
      return true;
  return false;
}

} // namespace

void pending_queue::reload(const pb::ClusterState& view) {
  nodes_.reset(view.nodes());
  pending_.clear();
  shapes_.clear();
  restarting_ = 0;
  for (const auto& [id, job] : view.jobs())
    track(job);
}

bool pending_queue::track(const pb::Job& job) {
  // Oldest first: job ids are decimal counters (cluster_state::submit), and a task slot comes
  // right after its job (PARENT.sK: K in the low bits; far fewer than 2^20 slots a job).
  const auto order = state::id_order(job.id());
  const uint64_t number = order.number << 20 | order.slot;
  if (auto known = pending_.find(number); known != pending_.end()) {
    auto shape = shapes_.find(known->second.shape);
    if (--shape->second.jobs == 0)
      shapes_.erase(shape);
    restarting_ -= known->second.not_before_ms != 0 ? 1 : 0;
    pending_.erase(known);
  }
  if (!state::is_placeable(job)) // waiting for jobs, or a job of many tasks (its slots are)
    return false;
  auto shape = shape_of(job.spec());
  auto& count = shapes_[shape];
  if (count.jobs++ == 0)
    count.spec = job.spec();
  restarting_ += job.not_before_ms() != 0 ? 1 : 0;
  pending_[number] = {job.id(), job.spec(), job.not_before_ms(), std::move(shape)};
  return true;
}

bool pending_queue::update_node(const pb::Node& node) {
  return nodes_.update(node);
}

/// Whether every shape of pending job is known not to fit: then no later job of the pass can.
bool pending_queue::nothing_else_fits(const std::vector<const pb::JobSpec*>& misfits) const {
  if (shapes_.size() > max_misfits_remembered)
    return false;
  for (const auto& [key, shape] : shapes_)
    if (!known_not_to_fit(misfits, shape.spec))
      return false;
  return true;
}

pending_queue::pass_plan pending_queue::pass(int64_t now_ms) {
  pass_plan plan;
  // The ledger's index of the nodes: each placement reserves its resources in the ledger, which
  // updates the index, so the next job sees what is left without a scan of every node. Proposals
  // of submissions and of earlier passes may be in flight: their reservations are in it too.
  placement_index* index = nullptr;
  std::vector<const pb::JobSpec*> misfits;
  bool placing = true; // false once nothing more can be placed in this pass
  for (const auto& [number, job] : pending_) {
    if (job.not_before_ms > now_ms) {
      if (plan.wake_at_ms == 0 || job.not_before_ms < plan.wake_at_ms)
        plan.wake_at_ms = job.not_before_ms;
      continue;
    }
    if (!placing) {
      if (restarting_ == 0)
        break; // no backoff left to look for
      continue;
    }
    if (proposing_.count(number) || known_not_to_fit(misfits, job.spec))
      continue;
    if (plan.placements.size() == max_placements_) {
      plan.more = true; // the rest in the next pass
      placing = false;
      continue;
    }
    if (index == nullptr)
      index = &nodes_.index();
    auto where = index->place(job.spec);
    if (where.node_id.empty()) {
      if (misfits.size() < max_misfits_remembered)
        misfits.push_back(&job.spec);
      placing = !nothing_else_fits(misfits);
      continue;
    }
    placement placed;
    placed.number = number;
    placed.reservation = nodes_.reserve(where.node_id, job.spec);
    placed.entry.mutable_job_placed()->set_job_id(job.id);
    placed.entry.mutable_job_placed()->set_node_id(where.node_id);
    proposing_.insert(number);
    plan.placements.push_back(std::move(placed));
  }
  return plan;
}

int64_t pending_queue::placement_answered(const placement& plan, bool applied, int64_t now_ms) {
  nodes_.release(plan.reservation);
  proposing_.erase(plan.number);
  return applied ? 0 : now_ms + retry_after_refusal_ms;
}

std::vector<pending_queue::submission_plan>
pending_queue::plan_submissions(std::vector<pb::JobSpec> specs) {
  std::vector<submission_plan> plans(specs.size());
  const auto& nodes = nodes_.committed();
  auto& index = nodes_.index();
  for (size_t i = 0; i < specs.size(); ++i) {
    auto& spec = specs[i];
    auto& plan = plans[i];
    const auto& key = spec.idempotency_key();
    if (!key.empty() && !keys_in_flight_.insert(key).second) {
      plan.follows = key;
      continue;
    }
    plan.refusal = never_fits_reason(nodes, spec);
    if (!plan.refusal.empty()) {
      keys_in_flight_.erase(key); // nothing is proposed under it
      continue;
    }
    // One that waits for jobs is placed once they have ended as it asks (apply decides); a job
    // of many tasks never is (its slots are, by the passes that follow).
    auto where
        = spec.after_size() == 0 && spec.task_count() == 0 ? index.place(spec) : sched::placement{};
    if (!where.node_id.empty()) {
      plan.reservation = nodes_.reserve(where.node_id, spec);
      plan.entry.mutable_job_submitted()->set_node_id(where.node_id);
    }
    *plan.entry.mutable_job_submitted()->mutable_spec() = std::move(spec);
  }
  return plans;
}

} // namespace claud::sched
