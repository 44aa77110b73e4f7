#include "sched/placement.hpp"

#include <iterator>

#include <fmt/format.h>

#include "state/job_states.hpp"
#include "state/spec_validation.hpp"

namespace claud::sched {

namespace {

int64_t free_cpu_millis(const pb::Node& node) {
  return node.cpu_millis_total() - node.cpu_millis_used();
}

int64_t free_memory_bytes(const pb::Node& node) {
  return node.memory_bytes_total() - node.memory_bytes_used();
}

std::string cpus(int64_t millis) {
  return fmt::format("{:g} CPU{}", static_cast<double>(millis) / 1000.0, millis == 1000 ? "" : "s");
}

/// Four significant digits in the largest unit that keeps the number under 1024: "512 MiB",
/// "1.5 GiB", "1000 GiB", "2 TiB" (never an exponent, which "{:.3g}" gave from 1000 GiB on).
std::string memory(int64_t bytes) {
  static const char* units[] = {"MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes) / (1024.0 * 1024.0);
  size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(units)) {
    value /= 1024.0;
    ++unit;
  }
  return fmt::format("{:.4g} {}", value, units[unit]);
}

/// What a job asks of a node besides resources: "zone=a, disk!=hdd, user alice".
std::string requirements_text(const pb::JobSpec& spec) {
  std::string out;
  for (const auto& constraint : spec.constraints())
    out += (out.empty() ? "" : ", ") + state::constraint_text(constraint);
  if (!spec.user().empty())
    out += (out.empty() ? "user " : ", user ") + spec.user();
  return out;
}

bool has_requirements(const pb::JobSpec& spec) {
  return spec.constraints_size() > 0 || !spec.user().empty();
}

bool one_label_wanted(const pb::JobSpec& spec) {
  return spec.constraints_size() == 1 && !spec.constraints(0).negated() && spec.user().empty();
}

bool only_user_wanted(const pb::JobSpec& spec) {
  return spec.constraints_size() == 0 && !spec.user().empty();
}

/// Prefers more, then the smaller id, so reasons name the same node on every master.
bool more_free(int64_t candidate, const std::string& candidate_id, int64_t best,
               const std::string& best_id) {
  return candidate != best ? candidate > best : candidate_id < best_id;
}

/// The facts for no_fit_reason, from one scan of `nodes`.
no_fit_facts scan_no_fit(const std::vector<pb::Node>& nodes, const pb::JobSpec& spec) {
  no_fit_facts facts;
  for (const auto& node : nodes) {
    facts.any_drained |= drained(node);
    if (!eligible(node))
      continue;
    facts.any_eligible = true;
    if (!admits(node, spec))
      continue;
    facts.offer_cpu(free_cpu_millis(node), node.id());
    facts.offer_memory(free_memory_bytes(node), node.id());
  }
  return facts;
}

} // namespace

bool eligible(const pb::Node& node) {
  return node.state() == pb::NODE_ALIVE && !node.draining() && state::runs_jobs(node.role());
}

bool drained(const pb::Node& node) {
  return node.state() == pb::NODE_ALIVE && node.draining();
}

bool satisfies(const google::protobuf::Map<std::string, std::string>& labels,
               const pb::JobSpec& spec) {
  for (const auto& constraint : spec.constraints()) {
    auto label = labels.find(constraint.key());
    bool equal = label != labels.end() && label->second == constraint.value();
    if (equal == constraint.negated())
      return false;
  }
  return true;
}

bool permits_user(const pb::Node& node, const std::string& user) {
  if (user.empty() || user == node.run_as())
    return true;
  for (const auto& allowed : node.allowed_users())
    if (allowed == user)
      return true;
  return false;
}

bool admits(const pb::Node& node, const pb::JobSpec& spec) {
  return (spec.constraints_size() == 0 || satisfies(node.labels(), spec))
         && permits_user(node, spec.user());
}

free_resources free_of(const pb::Node& node) {
  return {free_cpu_millis(node), free_memory_bytes(node), &node.id()};
}

bool better_fit(const free_resources& candidate, const free_resources& best,
                const pb::JobSpec& spec) {
  const bool spread = spec.strategy() == pb::STRATEGY_SPREAD;
  if (candidate.cpu_millis != best.cpu_millis)
    return spread ? candidate.cpu_millis > best.cpu_millis : candidate.cpu_millis < best.cpu_millis;
  if (candidate.memory_bytes != best.memory_bytes)
    return spread ? candidate.memory_bytes > best.memory_bytes
                  : candidate.memory_bytes < best.memory_bytes;
  return *candidate.id < *best.id;
}

void no_fit_facts::offer_cpu(int64_t cpu_millis, const std::string& node) {
  if (most_cpu_node == nullptr || more_free(cpu_millis, node, most_cpu_millis, *most_cpu_node)) {
    most_cpu_node = &node;
    most_cpu_millis = cpu_millis;
  }
}

void no_fit_facts::offer_memory(int64_t memory_bytes, const std::string& node) {
  if (most_memory_node == nullptr
      || more_free(memory_bytes, node, most_memory_bytes, *most_memory_node)) {
    most_memory_node = &node;
    most_memory_bytes = memory_bytes;
  }
}

std::string no_fit_reason(const no_fit_facts& facts, const pb::JobSpec& spec) {
  if (!facts.any_eligible && facts.any_drained)
    return "every alive node is drained; `claud drain NODE --undo` takes one back";
  if (!facts.any_eligible)
    return "no slave is alive; start one with `claud --role=slave --join MASTER:PORT`";
  if (facts.most_cpu_node == nullptr)
    return fmt::format("needs {}: no alive node {}", requirements_text(spec),
                       one_label_wanted(spec)   ? "has that label"
                       : only_user_wanted(spec) ? "lets jobs run as that user"
                       : spec.constraints_size() == 1 && spec.user().empty()
                           ? "satisfies it"
                           : "satisfies them all");
  auto needs = fmt::format("needs {} and {}", cpus(spec.cpu_millis()), memory(spec.memory_bytes()));
  const char* there = "";
  if (has_requirements(spec)) {
    needs += " on a node with " + requirements_text(spec);
    there = " there";
  }
  if (facts.most_cpu_millis < spec.cpu_millis())
    return fmt::format("{}; most free CPU{} is {} on {}", needs, there, cpus(facts.most_cpu_millis),
                       *facts.most_cpu_node);
  if (facts.most_memory_bytes < spec.memory_bytes())
    return fmt::format("{}; most free memory{} is {} on {}", needs, there,
                       memory(facts.most_memory_bytes), *facts.most_memory_node);
  return fmt::format("{}; no single node{} has both free", needs, there);
}

placement place(const std::vector<pb::Node>& nodes, const pb::JobSpec& spec) {
  const pb::Node* best = nullptr;
  for (const auto& node : nodes) {
    if (!eligible(node) || free_cpu_millis(node) < spec.cpu_millis()
        || free_memory_bytes(node) < spec.memory_bytes() || !admits(node, spec))
      continue;
    if (best == nullptr || better_fit(free_of(node), free_of(*best), spec))
      best = &node;
  }
  if (best != nullptr)
    return {best->id(), {}};
  return {{}, no_fit_reason(scan_no_fit(nodes, spec), spec)};
}

std::string never_fits_reason(const std::vector<pb::Node>& nodes, const pb::JobSpec& spec) {
  std::vector<const pb::Node*> all;
  all.reserve(nodes.size());
  for (const auto& node : nodes)
    all.push_back(&node);
  return never_fits_reason(all, spec);
}

std::string never_fits_reason(const std::vector<const pb::Node*>& nodes, const pb::JobSpec& spec) {
  const pb::Node* largest_cpu = nullptr;
  const pb::Node* largest_memory = nullptr;
  bool any_known = false;
  for (const auto* each : nodes) {
    const auto& node = *each;
    if (!state::runs_jobs(node.role()))
      continue;
    any_known = true;
    if (!admits(node, spec))
      continue;
    if (node.cpu_millis_total() >= spec.cpu_millis()
        && node.memory_bytes_total() >= spec.memory_bytes())
      return {};
    if (largest_cpu == nullptr
        || more_free(node.cpu_millis_total(), node.id(), largest_cpu->cpu_millis_total(),
                     largest_cpu->id()))
      largest_cpu = &node;
    if (largest_memory == nullptr
        || more_free(node.memory_bytes_total(), node.id(), largest_memory->memory_bytes_total(),
                     largest_memory->id()))
      largest_memory = &node;
  }
  if (!any_known)
    return {};
  if (largest_cpu == nullptr) {
    if (only_user_wanted(spec))
      return fmt::format("no node could ever run this job: it asks to run as {0}, which no known "
                         "node allows; start a slave with --allow-users {0} or drop --user",
                         spec.user());
    if (one_label_wanted(spec))
      return fmt::format("no node could ever run this job: it needs {0}, which no known node has; "
                         "start a slave with --label {0} or change --constraint",
                         requirements_text(spec));
    if (spec.user().empty())
      return fmt::format("no node could ever run this job: it needs {}, which no known node "
                         "satisfies; start a slave with matching --label or change --constraint",
                         requirements_text(spec));
    return fmt::format("no node could ever run this job: it needs {}, which no known node "
                       "satisfies; start a slave with matching --label and --allow-users, or "
                       "change --constraint or --user",
                       requirements_text(spec));
  }
  auto needs = fmt::format("no node could ever run this job: it needs {} and {}",
                           cpus(spec.cpu_millis()), memory(spec.memory_bytes()));
  const char* largest = "the largest node";
  if (has_requirements(spec)) {
    needs += " on a node with " + requirements_text(spec);
    largest = "the largest such node";
  }
  if (largest_cpu->cpu_millis_total() < spec.cpu_millis())
    return fmt::format("{}, {} offers {} ({}); ask for less with --cpus", needs, largest,
                       cpus(largest_cpu->cpu_millis_total()), largest_cpu->id());
  if (largest_memory->memory_bytes_total() < spec.memory_bytes())
    return fmt::format("{}, {} offers {} ({}); ask for less with --memory", needs, largest,
                       memory(largest_memory->memory_bytes_total()), largest_memory->id());
  return fmt::format("{}; no single {} both", needs,
                     has_requirements(spec) ? "such node offers" : "node offers");
}

void reserve(pb::Node& node, const pb::JobSpec& spec) {
  node.set_cpu_millis_used(node.cpu_millis_used() + spec.cpu_millis());
  node.set_memory_bytes_used(node.memory_bytes_used() + spec.memory_bytes());
}

} // namespace claud::sched
