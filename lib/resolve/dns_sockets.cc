#include "resolve/dns_sockets.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace ub::resolve::detail {
namespace {

constexpr size_t kMaxSendBatch = 1024;  // UIO_MAXIOV: sendmmsg's limit per call

void set_buffer(int fd, int option, int force_option, int bytes) {
  if (::setsockopt(fd, SOL_SOCKET, force_option, &bytes, sizeof bytes) != 0) {
    ::setsockopt(fd, SOL_SOCKET, option, &bytes, sizeof bytes);
  }
}

}  // namespace

const ares_socket_functions* BatchedSockets::functions() {
  static const ares_socket_functions table = {&BatchedSockets::open, &BatchedSockets::close,
                                              &BatchedSockets::connect, &BatchedSockets::recvfrom,
                                              &BatchedSockets::sendv};
  return &table;
}

ares_socket_t BatchedSockets::open(int domain, int type, int protocol, void* data) {
  auto* self = static_cast<BatchedSockets*>(data);
  const int fd = ::socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) return ARES_SOCKET_BAD;
  if (self->buffer_bytes_ > 0) {
    set_buffer(fd, SO_RCVBUF, SO_RCVBUFFORCE, self->buffer_bytes_);
    set_buffer(fd, SO_SNDBUF, SO_SNDBUFFORCE, self->buffer_bytes_);
  }
  int granted = 0;
  socklen_t len = sizeof granted;
  if (::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &len) == 0) self->receive_buffer_ = granted;
  auto s = std::make_unique<Socket>();
  s->udp = (type & 0xf) == SOCK_DGRAM;
  if (s->udp) {
    s->in = std::make_unique<uint8_t[]>(kBatch * kDatagramMax);
  } else {
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  try {
    self->sockets_[fd] = std::move(s);
  } catch (...) {
    ::close(fd);
    return ARES_SOCKET_BAD;
  }
  return fd;
}

int BatchedSockets::close(ares_socket_t fd, void* data) {
  static_cast<BatchedSockets*>(data)->sockets_.erase(fd);
  return ::close(fd);
}

int BatchedSockets::connect(ares_socket_t fd, const sockaddr* addr, ares_socklen_t len, void*) {
  return ::connect(fd, addr, len);
}

ares_ssize_t BatchedSockets::sendv(ares_socket_t fd, const iovec* iov, int count, void* data) {
  auto* self = static_cast<BatchedSockets*>(data);
  const auto it = self->sockets_.find(fd);
  if (it == self->sockets_.end() || !it->second->udp) return ::writev(fd, iov, count);
  Socket& s = *it->second;
  size_t total = 0;
  try {
    for (int i = 0; i < count; ++i) {
      const auto* p = static_cast<const uint8_t*>(iov[i].iov_base);
      s.out.insert(s.out.end(), p, p + iov[i].iov_len);
      total += iov[i].iov_len;
    }
    s.out_ends.push_back(s.out.size());
  } catch (...) {
    errno = ENOMEM;
    return -1;
  }
  return static_cast<ares_ssize_t>(total);
}

ares_ssize_t BatchedSockets::recvfrom(ares_socket_t fd, void* data, size_t len, int flags,
                                      sockaddr* from, ares_socklen_t* from_len, void* self_data) {
  auto* self = static_cast<BatchedSockets*>(self_data);
  const auto it = self->sockets_.find(fd);
  if (it == self->sockets_.end() || !it->second->udp) {
    return from != nullptr ? ::recvfrom(fd, data, len, flags, from, from_len)
                           : ::recv(fd, data, len, flags);
  }
  Socket& s = *it->second;
  if (s.error != 0) {
    errno = std::exchange(s.error, 0);
    return -1;
  }
  if (s.in_next == s.in_count) {
    for (int i = 0; i < kBatch; ++i) {
      s.in_iov[i] = {s.in.get() + i * kDatagramMax, kDatagramMax};
      s.in_msgs[i] = {};
      s.in_msgs[i].msg_hdr.msg_iov = &s.in_iov[i];
      s.in_msgs[i].msg_hdr.msg_iovlen = 1;
      s.in_msgs[i].msg_hdr.msg_name = &s.in_from[i];
      s.in_msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    }
    const int n = ::recvmmsg(fd, s.in_msgs, kBatch, MSG_DONTWAIT, nullptr);
    s.in_next = 0;
    s.in_count = std::max(n, 0);
    if (n == 0) errno = EAGAIN;
    if (n <= 0) return -1;  // errno from recvmmsg (EAGAIN: nothing more for now)
  }
  const int i = s.in_next++;
  const size_t n = std::min<size_t>(s.in_msgs[i].msg_len, len);
  std::memcpy(data, s.in.get() + i * kDatagramMax, n);
  if (from != nullptr && from_len != nullptr) {
    const socklen_t have = std::min<socklen_t>(*from_len, s.in_msgs[i].msg_hdr.msg_namelen);
    std::memcpy(from, &s.in_from[i], have);
    *from_len = s.in_msgs[i].msg_hdr.msg_namelen;
  }
  return static_cast<ares_ssize_t>(n);
}

void BatchedSockets::flush(int fd, Socket& s) {
  const size_t total = s.out_ends.size();
  size_t done = 0;
  mmsghdr msgs[kMaxSendBatch];
  iovec iov[kMaxSendBatch];
  while (done < total) {
    const size_t batch = std::min(total - done, kMaxSendBatch);
    for (size_t i = 0; i < batch; ++i) {
      const size_t begin = done + i == 0 ? 0 : s.out_ends[done + i - 1];
      iov[i] = {s.out.data() + begin, s.out_ends[done + i] - begin};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    ++send_calls_;
    const int n = ::sendmmsg(fd, msgs, static_cast<unsigned>(batch), MSG_DONTWAIT);
    if (n > 0) {
      done += static_cast<size_t>(n);
      sent_ += static_cast<uint64_t>(n);
      continue;
    }
    // The first datagram failed: it is lost; keep a real error for c-ares to see.
    if (errno != EAGAIN && errno != EINTR && errno != ENOBUFS) s.error = errno;
    ++done;
  }
  s.out.clear();
  s.out_ends.clear();
}

bool BatchedSockets::flush() {
  bool service = false;
  for (auto& [fd, s] : sockets_) {
    if (!s->out_ends.empty()) flush(fd, *s);
    service = service || s->error != 0 || s->in_next < s->in_count;
  }
  return service;
}

std::vector<int> BatchedSockets::need_service() const {
  std::vector<int> fds;
  for (const auto& [fd, s] : sockets_) {
    if (s->error != 0 || s->in_next < s->in_count) fds.push_back(fd);
  }
  return fds;
}

void BatchedSockets::drop_queued() {
  for (auto& [fd, s] : sockets_) {
    s->out.clear();
    s->out_ends.clear();
  }
}

}  // namespace ub::resolve::detail
