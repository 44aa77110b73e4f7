#pragma once
// The time actors stamp on what users see (entry times, report times, backoffs) and compare with
// it: milliseconds since the Unix epoch. Actors read the clock; the pure cores get it from them.

#include <chrono>
#include <cstdint>

namespace claud {

inline int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

} // namespace claud
