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
    throw std::logic_error(
        fmt::format("log append starts at index {}, but the log holds {}..{}: it "
                    "must start in {}..{}",
                    start, first_index, last_index, first_index, last_index + 1));
  for (size_t i = 1; i < entries.size(); ++i)
    if (entries[i].index() != start + i)
      throw std::logic_error(fmt::format("log append is not contiguous: entry {} has index {}, "
                                         "expected {}",
                                         i, entries[i].index(), start + i));
  return start;
}

} // namespace claud::storage
