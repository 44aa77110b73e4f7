#pragma once
// Structured, leveled logging to stderr: `ts=... level=warn module=raft msg="..." key=value`.
// Quiet by default (warnings and errors); `--log=debug` or `--log=raft@debug,info` raises it per
// module. Thread safe: one write(2) per line.

#include <initializer_list>
#include <stdexcept>
#include <string>
#include <utility>

namespace claud::log {

enum class level { error = 0, warn = 1, info = 2, debug = 3 };

using fields = std::initializer_list<std::pair<const char*, std::string>>;

/// Parses "LEVEL" or "MODULE@LEVEL,..." (a bare level sets the default); throws
/// std::invalid_argument naming the bad part.
void configure(const std::string& policy);

bool enabled(const char* module, level lvl);
void write(level lvl, const char* module, const std::string& message, fields kv);

inline void error(const char* module, const std::string& message, fields kv = {}) {
  write(level::error, module, message, kv);
}
inline void warn(const char* module, const std::string& message, fields kv = {}) {
  write(level::warn, module, message, kv);
}
inline void info(const char* module, const std::string& message, fields kv = {}) {
  write(level::info, module, message, kv);
}
inline void debug(const char* module, const std::string& message, fields kv = {}) {
  write(level::debug, module, message, kv);
}

} // namespace claud::log
