#include "storage/log_store.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace claud::storage {

uint64_t check_append(const std::vector<pb::LogEntry>& entries, uint64_t first_index,
                      uint64_t last_index) {
  if (entries.empty())
    return last_index + 1;
  uint64_t start = entries.front().index();
  if (start < first_index || start > last_index + 1)
    throw std::logic_error(fmt::format(
        "log append starts at index {}, but the log holds {}..{}: it "
        "must start in {}..{}{}",
        start, first_index, last_index, first_index, last_index + 1,
        start < first_index && first_index > 1
            ? fmt::format(" (entries up to {} are compacted into a snapshot)", first_index - 1)
            : ""));
  for (size_t i = 1; i < entries.size(); ++i)
    if (entries[i].index() != start + i)
      throw std::logic_error(fmt::format("log append is not contiguous: entry {} has index {}, "
                                         "expected {}",
                                         i, entries[i].index(), start + i));
  return start;
}

void check_snapshot(const pb::Snapshot& snapshot, const pb::Snapshot& current) {
  if (snapshot.index() == 0)
    throw std::logic_error("cannot save a snapshot at index 0: a snapshot covers at least one "
                           "entry");
  if (snapshot.index() < current.index())
    throw std::logic_error(fmt::format("cannot save a snapshot at index {}: the store already has "
                                       "a newer one at index {}",
                                       snapshot.index(), current.index()));
  if (snapshot.index() == current.index() && snapshot.term() != current.term())
    throw std::logic_error(fmt::format("cannot save a snapshot at index {} with term {}: the "
                                       "store's snapshot at that index has term {}",
                                       snapshot.index(), snapshot.term(), current.term()));
}

bool snapshot_keeps_log(const pb::Snapshot& snapshot, uint64_t last_index, uint64_t term_at) {
  return snapshot.index() < last_index && term_at == snapshot.term();
}

} // namespace claud::storage
