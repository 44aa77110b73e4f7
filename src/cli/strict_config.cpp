#include "cli/strict_config.hpp"

#include <algorithm>
#include <istream>
#include <map>

#include <fmt/format.h>

namespace claud::cli {

namespace {

/// `text` shortened for a message, with bytes that are not printable ASCII escaped.
std::string shown(const std::string& text) {
  constexpr size_t max_shown = 40;
  std::string out;
  for (unsigned char c : text.substr(0, max_shown))
    out += c >= 0x20 && c < 0x7f ? std::string(1, static_cast<char>(c))
                                 : fmt::format("\\x{:02x}", c);
  return text.size() > max_shown ? out + "..." : out;
}

std::string trimmed(const std::string& text) {
  auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos)
    return {};
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

/// Reads values from one line's text after the `=`, position by position.
class value_reader {
public:
  value_reader(const std::string& text, const std::string& key) : text_(text), key_(key) {}

  std::vector<std::string> read() {
    skip_spaces();
    std::vector<std::string> values;
    if (at('[')) {
      ++pos_;
      skip_spaces();
      if (!at(']'))
        for (;;) {
          values.push_back(element());
          skip_spaces();
          if (at(','))
            ++pos_;
          else if (at(']'))
            break;
          else
            throw error(fmt::format("unclosed [ in the value of '{}' (an array is on one line: "
                                    "[\"a\", \"b\"])",
                                    key_));
          skip_spaces();
        }
      ++pos_;
    } else {
      values.push_back(element());
    }
    skip_spaces();
    if (pos_ < text_.size() && !at('#'))
      throw error(
          fmt::format("unexpected '{}' after the value of '{}'", shown(text_.substr(pos_)), key_));
    return values;
  }

private:
  std::string element() {
    if (at('"'))
      return quoted();
    auto end = text_.find_first_of(" \t,]#\"[", pos_);
    auto word = text_.substr(pos_, end == std::string::npos ? std::string::npos : end - pos_);
    if (word.empty())
      throw error(
          fmt::format("expected a value for '{}' (a \"string\", a number, true or false)", key_));
    pos_ += word.size();
    return word;
  }

  std::string quoted() {
    std::string out;
    for (++pos_; pos_ < text_.size(); ++pos_) {
      char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c == '\\' && pos_ + 1 < text_.size()
          && (text_[pos_ + 1] == '"' || text_[pos_ + 1] == '\\'))
        c = text_[++pos_];
      out += c;
    }
    throw error(fmt::format("unterminated quote in the value of '{}'", key_));
  }

  bool at(char c) const {
    return pos_ < text_.size() && text_[pos_] == c;
  }
  void skip_spaces() {
    while (at(' ') || at('\t'))
      ++pos_;
  }
  static CLI::ConfigError error(const std::string& what) {
    return CLI::ConfigError(what);
  }

  const std::string& text_;
  const std::string& key_;
  size_t pos_ = 0;
};

} // namespace

strict_config::strict_config(std::vector<std::string> known_keys)
    : known_keys_(std::move(known_keys)) {}

std::string nearest_key(const std::string& key, const std::vector<std::string>& known_keys) {
  constexpr size_t max_edits = 3;
  std::string best;
  size_t best_distance = max_edits + 1;
  for (const auto& known : known_keys)
    if (auto d = edit_distance(key, known); d < best_distance) {
      best = known;
      best_distance = d;
    }
  return best;
}

std::vector<CLI::ConfigItem> strict_config::from_config(std::istream& input) const {
  std::string text(max_config_bytes + 1, '\0');
  input.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(input.gcount()));
  if (text.size() > max_config_bytes)
    throw CLI::ConfigError(
        fmt::format("larger than {} KiB; a config file is a few lines", max_config_bytes >> 10));
  std::vector<CLI::ConfigItem> items;
  std::map<std::string, size_t> first_line; // by key
  size_t number = 0;
  size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    auto line = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    start = end == std::string::npos ? text.size() : end + 1;
    ++number;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    try {
      for (unsigned char c : line)
        if (c < 0x20 && c != '\t')
          throw CLI::ConfigError(fmt::format("a control byte 0x{:02x}; a config file is text", c));
      auto content = trimmed(line);
      if (content.empty() || content.front() == '#')
        continue;
      if (content.front() == '[')
        throw CLI::ConfigError(
            fmt::format("'{}': claud's config has no sections; write key = value", shown(content)));
      auto equals = content.find('=');
      if (equals == std::string::npos)
        throw CLI::ConfigError(fmt::format("expected key = value, got '{}'", shown(content)));
      auto key = trimmed(content.substr(0, equals));
      if (std::find(known_keys_.begin(), known_keys_.end(), key) == known_keys_.end()) {
        auto near = nearest_key(key, known_keys_);
        throw CLI::ConfigError(
            near.empty()
                ? fmt::format("unknown option '{}'; config/*.conf lists every option", shown(key))
                : fmt::format("unknown option '{}'; did you mean '{}'?", shown(key), near));
      }
      if (auto [known, fresh] = first_line.emplace(key, number); !fresh)
        throw CLI::ConfigError(
            fmt::format("'{}' is given twice (first on line {})", key, known->second));
      CLI::ConfigItem item;
      item.name = key;
      item.inputs = value_reader{content.substr(equals + 1), key}.read();
      items.push_back(std::move(item));
    } catch (const CLI::ConfigError& e) {
      throw CLI::ConfigError(fmt::format("line {}: {}", number, e.what()));
    }
  }
  return items;
}

} // namespace claud::cli
