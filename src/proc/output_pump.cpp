#include "proc/output_pump.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "proc/fatal.hpp"

namespace claud::proc {

namespace {

unique_fd above_stderr(int fd) {
  unique_fd owned{fd};
  if (owned.valid() && owned.get() <= STDERR_FILENO)
    owned.reset(::fcntl(owned.get(), F_DUPFD_CLOEXEC, STDERR_FILENO + 1));
  return owned;
}

// One read per ready stream and turn: a stream that writes without pause cannot starve the others.
constexpr size_t read_size = 64 * 1024;

/// Writes all of `data` (at `offset` with pwrite, else at the file's position); false on error
/// (errno set).
bool write_all(int fd, const char* data, size_t size, off_t offset = -1) {
  while (size > 0) {
    ssize_t written = offset < 0 ? ::write(fd, data, size) : ::pwrite(fd, data, size, offset);
    if (written < 0 && errno == EINTR)
      continue;
    if (written <= 0) {
      if (written == 0)
        errno = ENOSPC;
      return false;
    }
    data += written;
    size -= static_cast<size_t>(written);
    if (offset >= 0)
      offset += written;
  }
  return true;
}

} // namespace

output_pipe make_output_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw std::system_error(errno, std::generic_category(), "cannot make a pipe for job output");
  output_pipe pipe{above_stderr(fds[0]), above_stderr(fds[1])};
  if (!pipe.read_end.valid() || !pipe.write_end.valid())
    throw std::system_error(errno, std::generic_category(), "cannot make a pipe for job output");
  int flags = ::fcntl(pipe.read_end.get(), F_GETFL);
  if (flags < 0 || ::fcntl(pipe.read_end.get(), F_SETFL, flags | O_NONBLOCK) != 0)
    throw std::system_error(errno, std::generic_category(), "cannot make a pipe for job output");
  return pipe;
}

output_pump::output_pump(drained_callback on_drained, uint64_t max_bytes)
    : on_drained_(std::move(on_drained)), max_bytes_(max_bytes) {
  if (!on_drained_)
    throw std::invalid_argument("output_pump: the drained callback is empty");
  if (max_bytes_ < 2)
    throw std::invalid_argument("output_pump: a stream must be allowed at least 2 bytes");
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_.valid())
    throw std::system_error(errno, std::generic_category(), "output_pump: epoll_create1");
  wake_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_fd_.valid())
    throw std::system_error(errno, std::generic_category(), "output_pump: eventfd");
  epoll_event wake{};
  wake.events = EPOLLIN;
  wake.data.ptr = nullptr; // the stop signal; every stream has its own non-null pointer
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_fd_.get(), &wake) != 0)
    throw std::system_error(errno, std::generic_category(), "output_pump: epoll_ctl");
  // Process-directed signals (SIGTERM) go to threads that handle them, never to this one.
  sigset_t all_signals;
  sigset_t previous;
  sigfillset(&all_signals);
  ::pthread_sigmask(SIG_SETMASK, &all_signals, &previous);
  thread_ = std::thread([this] { run(); });
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

output_pump::~output_pump() {
  uint64_t one = 1;
  while (::write(wake_fd_.get(), &one, sizeof(one)) < 0 && errno == EINTR) {
  }
  thread_.join();
}

void output_pump::add(unique_fd read_end, std::string path, uint64_t token) {
  auto owned = std::make_unique<stream>();
  owned->pipe = std::move(read_end);
  owned->path = std::move(path);
  owned->token = token;
  stream* s = owned.get();
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = s;
  // Registered before epoll may report it: the thread finds the stream among the open ones.
  std::lock_guard<std::mutex> lock{mutex_};
  streams_.emplace(s, std::move(owned));
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, s->pipe.get(), &event) != 0) {
    int saved_errno = errno;
    streams_.erase(s);
    throw std::system_error(saved_errno, std::generic_category(), "cannot watch job output");
  }
}

size_t output_pump::open_streams() const {
  std::lock_guard<std::mutex> lock{mutex_};
  return streams_.size();
}

void output_pump::run() {
  std::array<epoll_event, 64> events;
  std::vector<char> buffer(read_size);
  for (;;) {
    int ready = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), -1);
    if (ready < 0) {
      if (errno == EINTR)
        continue;
      fatal("output pump", fmt::format("epoll_wait failed ({})", std::strerror(errno)));
    }
    for (int i = 0; i < ready; ++i) {
      auto* s = static_cast<stream*>(events[static_cast<size_t>(i)].data.ptr);
      if (s == nullptr)
        return; // stopping: the destructor closes what is still open
      if (!copy_available(*s, buffer.data(), buffer.size()))
        finish(s, buffer.data(), buffer.size());
    }
  }
}

bool output_pump::copy_available(stream& s, char* buffer, size_t size) {
  ssize_t got = ::read(s.pipe.get(), buffer, size);
  if (got > 0) {
    store(s, buffer, static_cast<size_t>(got));
    return true;
  }
  if (got == 0)
    return false; // every writer closed it
  if (errno == EAGAIN || errno == EINTR)
    return true;
  if (s.error.empty())
    s.error = fmt::format("cannot read the output of {} ({})", s.path, std::strerror(errno));
  return false;
}

void output_pump::store(stream& s, const char* data, size_t size) {
  if (!s.error.empty())
    return; // read and dropped: the job must not block on output that cannot be stored
  if (!s.file.valid()) {
    s.file.reset(::open(s.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!s.file.valid()) {
      s.error = fmt::format("cannot create {} ({})", s.path, std::strerror(errno));
      return;
    }
  }
  auto head = static_cast<size_t>(std::min<uint64_t>(size, head_capacity() - s.head_bytes));
  if (!write_all(s.file.get(), data, head)) {
    s.error = fmt::format("cannot write {} ({})", s.path, std::strerror(errno));
    return;
  }
  s.head_bytes += head;
  if (head < size)
    store_tail(s, data + head, size - head);
}

void output_pump::store_tail(stream& s, const char* data, size_t size) {
  const auto tail_path = s.path + ".tail";
  if (!s.tail.valid()) {
    s.tail.reset(::open(tail_path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!s.tail.valid()) {
      s.error = fmt::format("cannot create {} ({})", tail_path, std::strerror(errno));
      return;
    }
  }
  // Only the last tail_capacity() bytes can matter; older ones are overwritten in the ring.
  if (size > tail_capacity()) {
    s.tail_bytes += size - tail_capacity();
    data += size - tail_capacity();
    size = static_cast<size_t>(tail_capacity());
  }
  while (size > 0) {
    auto at = s.tail_bytes % tail_capacity();
    auto piece = static_cast<size_t>(std::min<uint64_t>(size, tail_capacity() - at));
    if (!write_all(s.tail.get(), data, piece, static_cast<off_t>(at))) {
      s.error = fmt::format("cannot write {} ({})", tail_path, std::strerror(errno));
      return;
    }
    s.tail_bytes += piece;
    data += piece;
    size -= piece;
  }
}

void output_pump::close_tail(stream& s, char* buffer, size_t size) {
  const auto tail_path = s.path + ".tail";
  auto kept = std::min(s.tail_bytes, tail_capacity());
  if (s.error.empty() && s.tail_bytes > kept) {
    auto note = fmt::format("\n[claud: {} bytes of output dropped here: a stream keeps its "
                            "first {} and last {} bytes (--max-output {})]\n",
                            s.tail_bytes - kept, head_capacity(), tail_capacity(), max_bytes_);
    if (!write_all(s.file.get(), note.data(), note.size()))
      s.error = fmt::format("cannot write {} ({})", s.path, std::strerror(errno));
  }
  // The ring in order: from the oldest byte it holds to its end, then from its start.
  auto oldest = s.tail_bytes > kept ? s.tail_bytes % tail_capacity() : 0;
  for (uint64_t copied = 0; s.error.empty() && copied < kept;) {
    auto at = (oldest + copied) % tail_capacity();
    auto want
        = static_cast<size_t>(std::min<uint64_t>({size, kept - copied, tail_capacity() - at}));
    ssize_t got = ::pread(s.tail.get(), buffer, want, static_cast<off_t>(at));
    if (got <= 0 || !write_all(s.file.get(), buffer, static_cast<size_t>(got))) {
      s.error = fmt::format("cannot move {} into {} ({})", tail_path, s.path,
                            got < 0 ? std::strerror(errno) : "it is shorter than written");
      break;
    }
    copied += static_cast<uint64_t>(got);
  }
  s.tail.reset();
  ::unlink(tail_path.c_str());
}

void output_pump::finish(stream* s, char* buffer, size_t size) {
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, s->pipe.get(), nullptr);
  std::unique_ptr<stream> owned;
  {
    std::lock_guard<std::mutex> lock{mutex_};
    auto i = streams_.find(s);
    owned = std::move(i->second);
    streams_.erase(i);
  }
  owned->pipe.reset();
  if (owned->tail.valid())
    close_tail(*owned, buffer, size);
  owned->file.reset(); // closed before the callback: a reader then sees every byte
  on_drained_(owned->token, owned->error);
}

} // namespace claud::proc
