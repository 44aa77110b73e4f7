#include "proc/spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "proc/unique_fd.hpp"

extern char** environ;

namespace claud::proc {

namespace {

// The posix_spawn setup calls fail only on ENOMEM or bad arguments (a bug here).
void check_setup(int error_number, const char* what) {
  if (error_number != 0)
    throw std::system_error(error_number, std::generic_category(), what);
}

class file_actions {
public:
  file_actions() {
    check_setup(posix_spawn_file_actions_init(&actions_), "posix_spawn_file_actions_init");
  }
  ~file_actions() {
    posix_spawn_file_actions_destroy(&actions_);
  }
  file_actions(const file_actions&) = delete;
  file_actions& operator=(const file_actions&) = delete;

  posix_spawn_file_actions_t* get() {
    return &actions_;
  }

private:
  posix_spawn_file_actions_t actions_;
};

class spawn_attributes {
public:
  spawn_attributes() {
    check_setup(posix_spawnattr_init(&attributes_), "posix_spawnattr_init");
  }
  ~spawn_attributes() {
    posix_spawnattr_destroy(&attributes_);
  }
  spawn_attributes(const spawn_attributes&) = delete;
  spawn_attributes& operator=(const spawn_attributes&) = delete;

  posix_spawnattr_t* get() {
    return &attributes_;
  }

private:
  posix_spawnattr_t attributes_;
};

// Opens close-on-exec, so threads spawning concurrently never inherit it, and above 2, so the dup2
// actions that install stdin/stdout/stderr cannot overwrite a descriptor they still need to copy
// (possible only if the slave runs with 0, 1 or 2 closed). Returns an invalid fd with errno set.
unique_fd open_for_child(const char* path, int flags, mode_t mode = 0) {
  int fd;
  do {
    fd = ::open(path, flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  unique_fd result{fd};
  if (result.valid() && result.get() <= STDERR_FILENO) {
    int moved = ::fcntl(result.get(), F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    int saved_errno = errno;
    result.reset(moved);
    errno = saved_errno;
  }
  return result;
}

unique_fd open_output(const std::string& path) {
  auto fd = open_for_child(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (!fd.valid())
    throw spawn_error(fmt::format("cannot open output file {} ({})", path, std::strerror(errno)));
  return fd;
}

// Opening the directory here (and entering it in the child with fchdir) leaves the exec as the only
// step in the child that can fail, so an error from posix_spawnp is always about the command.
unique_fd open_working_dir(const std::string& path) {
  auto fd = open_for_child(path.c_str(), O_RDONLY | O_DIRECTORY);
  if (!fd.valid() || ::access(path.c_str(), X_OK) != 0)
    throw spawn_error(fmt::format("cannot start job: working directory {} cannot be used ({})",
                                  path, std::strerror(errno)));
  return fd;
}

bool is_regular_file(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

// Mirrors execvp's search to tell "no such command" from "the command exists but its #!
// interpreter or ELF loader does not": execve reports ENOENT for both.
std::string find_command(const std::string& command) {
  if (command.find('/') != std::string::npos)
    return is_regular_file(command) ? command : std::string{};
  const char* path_env = std::getenv("PATH");
  std::string search_path = path_env != nullptr ? path_env : "/bin:/usr/bin";
  size_t begin = 0;
  while (begin <= search_path.size()) {
    size_t end = search_path.find(':', begin);
    if (end == std::string::npos)
      end = search_path.size();
    std::string dir = search_path.substr(begin, end - begin);
    std::string candidate = (dir.empty() ? std::string{"."} : dir) + "/" + command;
    if (is_regular_file(candidate))
      return candidate;
    begin = end + 1;
  }
  return {};
}

std::string exec_failure_message(const std::string& command, int error_number) {
  const char* reason = std::strerror(error_number);
  switch (error_number) {
  case ENOENT: {
    auto found = find_command(command);
    if (!found.empty())
      return fmt::format("cannot start job: '{}' exists but its interpreter (#! line) or "
                         "loader is missing ({})",
                         found, reason);
    if (command.find('/') != std::string::npos)
      return fmt::format("cannot start job: command '{}' not found", command);
    return fmt::format("cannot start job: command '{}' not found in PATH", command);
  }
  case EACCES:
    return fmt::format("cannot start job: '{}' is not executable ({})", command, reason);
  case ENOEXEC:
    return fmt::format("cannot start job: '{}' is not a program; a script needs a '#!' line "
                       "({})",
                       command, reason);
  case EAGAIN:
  case ENOMEM:
    return fmt::format("cannot start job: no resources for a new process ({})", reason);
  default:
    return fmt::format("cannot start job: cannot run '{}' ({})", command, reason);
  }
}

void configure_attributes(spawn_attributes& attributes) {
  sigset_t empty_set;
  sigemptyset(&empty_set);
  sigset_t all_signals;
  sigfillset(&all_signals);
  short flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  check_setup(posix_spawnattr_setflags(attributes.get(), flags), "posix_spawnattr_setflags");
  // Process group 0 means "the child's own pid": the job leads a fresh group.
  check_setup(posix_spawnattr_setpgroup(attributes.get(), 0), "posix_spawnattr_setpgroup");
  check_setup(posix_spawnattr_setsigmask(attributes.get(), &empty_set),
              "posix_spawnattr_setsigmask");
  check_setup(posix_spawnattr_setsigdefault(attributes.get(), &all_signals),
              "posix_spawnattr_setsigdefault");
}

} // namespace

pid_t spawn_process(const spawn_request& request) {
  if (request.argv.empty() || request.argv.front().empty())
    throw std::invalid_argument("spawn_process: argv must name a command");
  if (request.stdout_path.empty() || request.stderr_path.empty())
    throw std::invalid_argument("spawn_process: stdout_path and stderr_path must be set");

  auto stdin_fd = open_for_child("/dev/null", O_RDONLY);
  if (!stdin_fd.valid())
    throw spawn_error(
        fmt::format("cannot start job: cannot open /dev/null ({})", std::strerror(errno)));
  auto stdout_fd = open_output(request.stdout_path);
  // Two opens of one file would have two offsets and overwrite each other's output.
  unique_fd stderr_fd;
  if (request.stderr_path != request.stdout_path)
    stderr_fd = open_output(request.stderr_path);
  int stderr_source = stderr_fd.valid() ? stderr_fd.get() : stdout_fd.get();
  unique_fd dir_fd;
  if (!request.working_dir.empty())
    dir_fd = open_working_dir(request.working_dir);

  file_actions actions;
  auto* fa = actions.get();
  check_setup(posix_spawn_file_actions_adddup2(fa, stdin_fd.get(), STDIN_FILENO), "adddup2");
  check_setup(posix_spawn_file_actions_adddup2(fa, stdout_fd.get(), STDOUT_FILENO), "adddup2");
  check_setup(posix_spawn_file_actions_adddup2(fa, stderr_source, STDERR_FILENO), "adddup2");
  if (dir_fd.valid())
    check_setup(posix_spawn_file_actions_addfchdir_np(fa, dir_fd.get()), "addfchdir_np");
#if __GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34)
  // Descriptors opened without O_CLOEXEC elsewhere in the slave (by libraries) must not leak into
  // jobs: they would keep sockets and files open for as long as the job runs.
  check_setup(posix_spawn_file_actions_addclosefrom_np(fa, STDERR_FILENO + 1), "addclosefrom_np");
#endif

  spawn_attributes attributes;
  configure_attributes(attributes);

  std::vector<char*> argv;
  argv.reserve(request.argv.size() + 1);
  for (const auto& arg : request.argv)
    argv.push_back(const_cast<char*>(arg.c_str())); // posix_spawnp does not write to argv
  argv.push_back(nullptr);

  // glibc (>= 2.24) runs the child with CLONE_VFORK and returns the child's exec error here, having
  // reaped the failed child itself.
  pid_t pid = 0;
  int error_number = posix_spawnp(&pid, argv.front(), fa, attributes.get(), argv.data(), environ);
  if (error_number != 0)
    throw spawn_error(exec_failure_message(request.argv.front(), error_number));
  return pid;
}

bool signal_process_group(pid_t pid, int signal) {
  if (pid <= 1)
    throw std::invalid_argument(
        fmt::format("signal_process_group: pid {} does not name a job's process group", pid));
  if (::kill(-pid, signal) == 0)
    return true;
  if (errno == ESRCH)
    return false;
  throw std::system_error(errno, std::generic_category(),
                          fmt::format("cannot send signal {} to process group {}", signal, pid));
}

} // namespace claud::proc
