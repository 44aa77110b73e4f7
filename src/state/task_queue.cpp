#include "state/task_queue.hpp"

#include <algorithm>

namespace claud::state {

namespace {

/// Inserts `index` into the ascending `list` (it is not there).
void insert_sorted(google::protobuf::RepeatedField<uint32_t>& list, uint32_t index) {
  list.Add(index);
  std::inplace_merge(list.begin(), list.end() - 1, list.end());
}

} // namespace

task_queue::task_queue(pb::TaskProgress& progress, uint32_t count, uint32_t max_attempts)
    : progress_(progress), count_(count),
      max_attempts_(max_attempts == 0 ? default_task_attempts : max_attempts) {}

std::optional<task_grant> task_queue::hand_out(uint64_t slot) {
  if (failed())
    return std::nullopt;
  // A slot runs one task at a time: a pull from a slot that has one out is that pull again (its
  // answer was lost), and gets the same task.
  for (const auto& o : progress_.out())
    if (o.slot() == slot)
      return task_grant{o.index(), o.attempt()};
  task_grant grant;
  auto& requeued = *progress_.mutable_requeued();
  if (!requeued.empty()) {
    grant.index = requeued.Get(0);
    requeued.erase(requeued.begin());
    progress_.set_retried(progress_.retried() + 1);
  } else if (progress_.cursor() < count_) {
    grant.index = progress_.cursor();
    progress_.set_cursor(grant.index + 1);
  } else {
    return std::nullopt;
  }
  const auto failures = progress_.failures().find(grant.index);
  grant.attempt = (failures == progress_.failures().end() ? 0 : failures->second) + 1;
  auto& out = *progress_.mutable_out();
  const auto at
      = std::lower_bound(out.begin(), out.end(), grant.index,
                         [](const pb::TaskOut& o, uint32_t index) { return o.index() < index; })
        - out.begin(); // a position: adding moves the elements
  auto* entry = out.Add();
  entry->set_index(grant.index);
  entry->set_attempt(grant.attempt);
  entry->set_slot(slot);
  for (auto i = out.size() - 1; i > at; --i) // into its place, ascending by index
    out.SwapElements(i, i - 1);
  return grant;
}

task_end task_queue::ended(const task_grant& grant, uint64_t slot, const task_outcome& outcome) {
  if (grant.index >= count_ || grant.attempt == 0 || is_done(grant.index))
    return task_end::ignored;
  auto& out = *progress_.mutable_out();
  auto entry = std::find_if(out.begin(), out.end(),
                            [&](const pb::TaskOut& o) { return o.index() == grant.index; });
  const bool is_out_there
      = entry != out.end() && entry->attempt() == grant.attempt && entry->slot() == slot;
  if (is_out_there) {
    out.erase(entry);
    if (!outcome.succeeded)
      return attempt_failed(grant, outcome);
    mark_done(grant.index);
    return task_end::done;
  }
  // An earlier attempt, taken for lost (its slot's node seemed gone) but finished after all: its
  // success stands, whether the task waits to go again or is out again elsewhere.
  const auto failures = progress_.failures().find(grant.index);
  const bool was_handed_out
      = failures != progress_.failures().end() && grant.attempt <= failures->second;
  if (!outcome.succeeded || !was_handed_out)
    return task_end::ignored;
  if (entry != out.end())
    out.erase(entry);
  auto& requeued = *progress_.mutable_requeued();
  if (auto again = std::lower_bound(requeued.begin(), requeued.end(), grant.index);
      again != requeued.end() && *again == grant.index)
    requeued.erase(again);
  mark_done(grant.index);
  return task_end::done;
}

std::vector<task_grant> task_queue::slot_lost(uint64_t slot, const std::string& reason) {
  std::vector<task_grant> lost;
  auto& out = *progress_.mutable_out();
  for (const auto& o : out)
    if (o.slot() == slot)
      lost.push_back({o.index(), o.attempt()});
  out.erase(std::remove_if(out.begin(), out.end(),
                           [slot](const pb::TaskOut& o) { return o.slot() == slot; }),
            out.end());
  task_outcome outcome;
  outcome.reason = reason;
  for (const auto& grant : lost)
    attempt_failed(grant, outcome);
  return lost;
}

uint32_t task_queue::waiting() const {
  return count_ - done() - out();
}

bool task_queue::is_done(uint32_t index) const {
  const auto& bits = progress_.done();
  const auto byte = index / 8;
  return byte < bits.size() && (static_cast<uint8_t>(bits[byte]) >> (index % 8) & 1U) != 0;
}

uint32_t task_queue::attempt_out(uint32_t index) const {
  for (const auto& o : progress_.out())
    if (o.index() == index)
      return o.attempt();
  return 0;
}

task_end task_queue::attempt_failed(const task_grant& grant, const task_outcome& outcome) {
  auto& failures = (*progress_.mutable_failures())[grant.index];
  ++failures;
  if (failures < max_attempts_) {
    insert_sorted(*progress_.mutable_requeued(), grant.index);
    return task_end::requeued;
  }
  if (!failed()) { // the first task to use up its tries is the one the job failed of
    auto& failure = *progress_.mutable_failure();
    failure.set_index(grant.index);
    failure.set_attempt(grant.attempt);
    failure.set_has_exit_code(outcome.has_exit_code);
    failure.set_exit_code(outcome.exit_code);
    failure.set_term_signal(outcome.term_signal);
    failure.set_reason(outcome.reason);
  }
  return task_end::failed_job;
}

void task_queue::mark_done(uint32_t index) {
  auto& bits = *progress_.mutable_done();
  if (bits.size() <= index / 8)
    bits.resize((count_ + 7) / 8, '\0');
  bits[index / 8] = static_cast<char>(static_cast<uint8_t>(bits[index / 8]) | 1U << (index % 8));
  progress_.set_done_count(progress_.done_count() + 1);
}

std::vector<uint32_t> milestones_passed(uint32_t before, uint32_t after, uint32_t count,
                                        const std::vector<uint32_t>& thresholds) {
  std::vector<uint32_t> passed;
  for (const auto percent : thresholds) {
    const uint64_t needed = uint64_t{percent} * count; // done * 100 must reach it
    if (uint64_t{before} * 100 < needed && needed <= uint64_t{after} * 100)
      passed.push_back(percent);
  }
  return passed;
}

} // namespace claud::state
