#pragma once
// Retention of job output on a slave: the files of attempts that ended long enough ago are
// deleted, both streams together, so a long-lived slave does not fill its disk.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace claud::proc {

/// Deletes the output files in `jobs_dir` (<job>.<attempt>.<stream>, and a ring's .tail) of every
/// attempt whose files were all last written before `cutoff`, unless `keep(job_id, attempt)`
/// (running, writing, or its end not committed yet). What cannot be deleted is logged.
void delete_old_output(
    const std::string& jobs_dir, std::filesystem::file_time_type cutoff,
    const std::function<bool(const std::string& job_id, uint32_t attempt)>& keep);

} // namespace claud::proc
