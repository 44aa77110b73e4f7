#pragma once

#include <stdexcept>

namespace claud::storage {

/// A failure of the data dir or of the files in it that a user can act on. The message is one line:
/// what failed, on what path, and what to do ("data dir /x is not writable (Permission denied);
/// choose another --data-dir"). Programmer errors (an append with the wrong index, an empty record)
/// are std::logic_error instead, because no user action fixes them.
struct storage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The last words of every corruption message: what a user can do about a damaged data dir.
inline constexpr const char* repair_advice
    = "the data dir needs repair — restore it from another master";

} // namespace claud::storage
