#include "proc/output_retention.hpp"

#include <cstdlib>
#include <map>
#include <vector>

#include "log/log.hpp"

namespace claud::proc {

void delete_old_output(const std::string& jobs_dir, std::filesystem::file_time_type cutoff,
                       const std::function<bool(const std::string&, uint32_t)>& keep) {
  namespace fs = std::filesystem;
  struct attempt_output {
    std::vector<fs::path> files;
    fs::file_time_type newest = fs::file_time_type::min();
  };
  std::map<std::string, attempt_output> attempts; // by "<job>.<attempt>"
  std::error_code ec;
  for (const auto& file : fs::directory_iterator(jobs_dir, ec)) {
    auto name = file.path().filename().string();
    auto written = fs::last_write_time(file.path(), ec);
    if (ec)
      continue;
    auto second_dot = name.find('.', name.find('.') + 1);
    auto& output = attempts[name.substr(0, second_dot)];
    output.files.push_back(file.path());
    output.newest = std::max(output.newest, written);
  }
  for (const auto& [key, output] : attempts) {
    auto dot = key.find('.');
    auto attempt = dot == std::string::npos ? 0 : std::strtoul(key.c_str() + dot + 1, nullptr, 10);
    if (output.newest >= cutoff || keep(key.substr(0, dot), static_cast<uint32_t>(attempt)))
      continue;
    for (const auto& path : output.files) {
      fs::remove_all(path, ec);
      if (ec)
        log::warn("supervisor", "cannot delete old output",
                  {{"file", path.string()}, {"error", ec.message()}});
    }
  }
}

} // namespace claud::proc
