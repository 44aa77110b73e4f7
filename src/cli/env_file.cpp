#include "cli/env_file.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "state/spec_validation.hpp"

namespace claud::cli {

std::string parse_env_file(const std::string& text, const std::string& file_name,
                           std::vector<pb::EnvVar>& out) {
  size_t line_number = 0;
  for (size_t start = 0; start < text.size();) {
    auto end = text.find('\n', start);
    if (end == std::string::npos)
      end = text.size();
    auto line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') // written on Windows
      line.pop_back();
    if (line.empty() || line[0] == '#')
      continue;
    pb::EnvVar var;
    if (auto problem = state::parse_env(line, var); !problem.empty())
      return fmt::format("{}:{}: {}", file_name, line_number, problem);
    out.push_back(std::move(var));
  }
  return {};
}

std::vector<pb::EnvVar> read_env_file(const std::string& path) {
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored)) // which an ifstream reads as empty
    throw std::invalid_argument(fmt::format("--env-file {}: is a directory; give a file", path));
  std::ifstream file{path, std::ios::binary};
  if (!file)
    throw std::invalid_argument(
        fmt::format("--env-file {}: cannot be read ({})", path, std::strerror(errno)));
  std::string text(max_env_file_bytes + 1, '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(file.gcount()));
  if (text.size() > max_env_file_bytes)
    throw std::invalid_argument(fmt::format("--env-file {}: larger than {} bytes; a job's "
                                            "environment is far smaller",
                                            path, max_env_file_bytes));
  std::vector<pb::EnvVar> vars;
  if (auto problem = parse_env_file(text, path, vars); !problem.empty())
    throw std::invalid_argument(problem);
  return vars;
}

} // namespace claud::cli
