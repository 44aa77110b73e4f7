#pragma once
// JSON documents for tests, parsed by protobuf's own JSON parser.

#include <string>
#include <vector>

#include <google/protobuf/struct.pb.h>

namespace claud::test {

/// A parsed JSON document (from protobuf's JSON parser into google.protobuf.Value). Accessors
/// throw std::runtime_error naming the missing key or the wrong type, so a test fails with a
/// readable message rather than a crash.
class json {
public:
  json() = default;
  explicit json(google::protobuf::Value value) : value_(std::move(value)) {}

  /// Parses `text`; throws std::runtime_error with the parser's message and the text.
  static json parse(const std::string& text);

  bool is_null() const;
  bool is_object() const;
  bool is_array() const;
  bool has(const std::string& key) const;
  /// A member of an object; throws if this is not an object or has no such key.
  json operator[](const std::string& key) const;
  json operator[](size_t index) const;
  size_t size() const; // elements of an array
  std::vector<json> items() const;
  std::string str() const;
  double num() const;
  bool boolean() const;
  /// The value as compact JSON text, for messages.
  std::string dump() const;

private:
  google::protobuf::Value value_;
};

} // namespace claud::test
