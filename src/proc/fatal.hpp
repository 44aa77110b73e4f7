#pragma once
// How a proc thread (the reaper's, the output pump's) ends when its own descriptors fail: there is
// no caller to throw to, and it is a bug, so it crashes loudly.

#include <cstdio>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

namespace claud::proc {

[[noreturn]] inline void fatal(const char* thread, const std::string& what) {
  fmt::print(stderr, "claud: {}: {}\n", thread, what);
  std::fflush(stderr);
  std::abort();
}

} // namespace claud::proc
