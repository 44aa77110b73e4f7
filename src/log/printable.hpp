#pragma once
// Commands, arguments and file names on Unix are bytes, not text: a job runs with exactly the
// bytes it was given, and these show them to people and in protobuf string fields (which must be
// UTF-8), with every byte that is not part of a valid UTF-8 sequence written as \xNN.

#include <string>

namespace claud::log {

/// `bytes` with each byte outside valid UTF-8 as \xNN; valid UTF-8 is returned unchanged.
std::string printable(const std::string& bytes);

} // namespace claud::log
