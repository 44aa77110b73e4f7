#include "json.hpp"

#include "process.hpp"

#include <stdexcept>

#include <google/protobuf/util/json_util.h>

namespace claud::test {

json json::parse(const std::string& text) {
  google::protobuf::Value value;
  google::protobuf::util::JsonParseOptions options;
  auto status = google::protobuf::util::JsonStringToMessage(text, &value, options);
  if (!status.ok())
    fail("not JSON (" + status.ToString() + "): " + tail(text));
  return json{std::move(value)};
}

bool json::is_null() const {
  return value_.kind_case() == google::protobuf::Value::kNullValue;
}

bool json::is_object() const {
  return value_.kind_case() == google::protobuf::Value::kStructValue;
}

bool json::is_array() const {
  return value_.kind_case() == google::protobuf::Value::kListValue;
}

bool json::has(const std::string& key) const {
  return is_object() && value_.struct_value().fields().count(key) > 0;
}

json json::operator[](const std::string& key) const {
  if (!is_object())
    fail("JSON value is not an object (looking up '" + key + "'): " + dump());
  auto& fields = value_.struct_value().fields();
  auto i = fields.find(key);
  if (i == fields.end())
    fail("JSON object has no '" + key + "': " + dump());
  return json{i->second};
}

json json::operator[](size_t index) const {
  if (!is_array() || index >= size())
    fail("JSON value has no element " + std::to_string(index) + ": " + dump());
  return json{value_.list_value().values(static_cast<int>(index))};
}

size_t json::size() const {
  if (!is_array())
    fail("JSON value is not an array: " + dump());
  return static_cast<size_t>(value_.list_value().values_size());
}

std::vector<json> json::items() const {
  std::vector<json> out;
  for (size_t i = 0; i < size(); ++i)
    out.push_back((*this)[i]);
  return out;
}

std::string json::str() const {
  if (value_.kind_case() != google::protobuf::Value::kStringValue)
    fail("JSON value is not a string: " + dump());
  return value_.string_value();
}

double json::num() const {
  if (value_.kind_case() != google::protobuf::Value::kNumberValue)
    fail("JSON value is not a number: " + dump());
  return value_.number_value();
}

bool json::boolean() const {
  if (value_.kind_case() != google::protobuf::Value::kBoolValue)
    fail("JSON value is not a boolean: " + dump());
  return value_.bool_value();
}

std::string json::dump() const {
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(value_, &out);
  return status.ok() ? out : "<unprintable: " + status.ToString() + ">";
}

} // namespace claud::test
