#include "log/log.hpp"

#include <unistd.h>

#include <chrono>
#include <map>
#include <mutex>

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace claud::log {

namespace {

struct policy {
  level default_level = level::warn;
  std::map<std::string, level, std::less<>> per_module;
};

std::mutex policy_mutex;
policy current;

level parse_level(const std::string& text) {
  if (text == "error")
    return level::error;
  if (text == "warn")
    return level::warn;
  if (text == "info")
    return level::info;
  if (text == "debug")
    return level::debug;
  throw std::invalid_argument(
      fmt::format("unknown log level '{}'; use error, warn, info or debug", text));
}

const char* level_name(level lvl) {
  static const char* names[] = {"error", "warn", "info", "debug"};
  return names[static_cast<int>(lvl)];
}

std::string quoted_if_needed(const std::string& value) {
  if (!value.empty() && value.find_first_of(" \"=") == std::string::npos)
    return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c == '\n' ? ' ' : c;
  }
  return out + "\"";
}

} // namespace

void configure(const std::string& text) {
  policy parsed;
  size_t start = 0;
  while (start < text.size()) {
    auto comma = text.find(',', start);
    auto item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    auto at = item.find('@');
    if (at == std::string::npos)
      parsed.default_level = parse_level(item);
    else
      parsed.per_module[item.substr(0, at)] = parse_level(item.substr(at + 1));
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  std::lock_guard<std::mutex> guard{policy_mutex};
  current = std::move(parsed);
}

bool enabled(const char* module, level lvl) {
  std::lock_guard<std::mutex> guard{policy_mutex};
  auto i = current.per_module.find(module);
  auto limit = i == current.per_module.end() ? current.default_level : i->second;
  return lvl <= limit;
}

void write(level lvl, const char* module, const std::string& message, fields kv) {
  if (!enabled(module, lvl))
    return;
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  auto line = fmt::format("ts={:%Y-%m-%dT%H:%M:%S}.{:03}Z level={} module={} msg={}",
                          std::chrono::floor<std::chrono::seconds>(now), ms % 1000, level_name(lvl),
                          module, quoted_if_needed(message));
  for (const auto& [key, value] : kv)
    line += fmt::format(" {}={}", key, quoted_if_needed(value));
  line += '\n';
  // One write per line keeps lines from different threads whole.
  [[maybe_unused]] auto written = ::write(STDERR_FILENO, line.data(), line.size());
}

} // namespace claud::log
