#pragma once
// strict_config: reads claud's config files (--config FILE) for CLI11, refusing every error
// instead of starting with defaults. A file is lines of `key = value`, `# comments` and blank
// lines; a value is a "quoted string" (\" and \\ escaped), a bare word (a number, true, false) or
// an array on one line (["a", "b"]). Anything else — a line that is not key = value, a section,
// an unterminated quote or array, text after a value, an unknown key (the nearest known one is
// suggested), a key given twice, a control byte, a file over max_config_bytes — throws
// CLI::ConfigError with "line N: what was expected".

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace claud::cli {

/// The largest config file read, checked before it is parsed.
constexpr size_t max_config_bytes = 1 << 20;

class strict_config : public CLI::ConfigBase {
public:
  /// `known_keys`: the options a file may set (long names without the dashes).
  explicit strict_config(std::vector<std::string> known_keys);

  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;

private:
  std::vector<std::string> known_keys_;
};

/// The known key nearest to `key` (at most 3 edits away), or "" when none is near.
std::string nearest_key(const std::string& key, const std::vector<std::string>& known_keys);

} // namespace claud::cli
