#pragma once
// BatchedSockets: the socket functions a DnsChannel gives c-ares (ares_set_socket_functions,
// c-ares >= 1.13), so that UDP costs a system call per batch, not per datagram. Internal
// to the "dns" engine.
//
// Why: on these VMs a system call costs ~1 µs, and plain c-ares makes four per name
// (send and recvfrom for A and for AAAA) plus one recvfrom that finds nothing per wake-up.
// Here a UDP send only queues the datagram (c-ares sees it as sent); flush() hands every
// queued datagram to the kernel with one sendmmsg per socket, once per loop iteration,
// before the loop waits. A receive takes the next datagram of a batch that one recvmmsg
// (up to 64 datagrams) filled. A datagram the kernel refuses counts as lost, as on the
// wire (c-ares retries it at its timeout); the error itself (say ECONNREFUSED after an
// ICMP port unreachable) is kept and given to c-ares at its next receive on that socket,
// which then gives up on that server as it would have. TCP sockets (truncated answers) are
// passed straight through.
//
// Sockets are created non-blocking and close-on-exec with the configured buffer sizes
// (SO_RCVBUFFORCE/SO_SNDBUFFORCE where allowed, i.e. as root, else capped by
// net.core.[rw]mem_max): c-ares leaves all of that to whoever supplies the functions.

#include <ares.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

namespace ub::resolve::detail {

class BatchedSockets {
 public:
  explicit BatchedSockets(int buffer_bytes) : buffer_bytes_(buffer_bytes) {}
  BatchedSockets(const BatchedSockets&) = delete;
  BatchedSockets& operator=(const BatchedSockets&) = delete;

  // The table to pass to ares_set_socket_functions, with `this` as its user data.
  static const ares_socket_functions* functions();

  // Sends every queued datagram. Returns true if some socket now holds an error or
  // received datagrams c-ares has not read yet: call service() for those before waiting.
  bool flush();
  // Sockets c-ares should read now (buffered datagrams, a kept error) without waiting
  // for epoll, which cannot see either.
  std::vector<int> need_service() const;
  // Drops queued datagrams (after ares_cancel: nobody waits for their answers).
  void drop_queued();

  int receive_buffer() const { return receive_buffer_; }  // what the kernel granted
  uint64_t datagrams_sent() const { return sent_; }
  uint64_t send_calls() const { return send_calls_; }

 private:
  static constexpr int kBatch = 64;
  static constexpr size_t kDatagramMax = 4097;  // c-ares's own receive buffer size

  struct Socket {
    bool udp = false;
    int error = 0;  // kept for the next receive
    // Queued sends: datagram bytes back to back, and where each ends.
    std::vector<uint8_t> out;
    std::vector<size_t> out_ends;
    // The current receive batch.
    std::unique_ptr<uint8_t[]> in;
    mmsghdr in_msgs[kBatch];
    iovec in_iov[kBatch];
    sockaddr_storage in_from[kBatch];
    int in_count = 0;
    int in_next = 0;
  };

  static ares_socket_t open(int domain, int type, int protocol, void* self);
  static int close(ares_socket_t fd, void* self);
  static int connect(ares_socket_t fd, const sockaddr* addr, ares_socklen_t len, void* self);
  static ares_ssize_t recvfrom(ares_socket_t fd, void* data, size_t len, int flags, sockaddr* from,
                               ares_socklen_t* from_len, void* self);
  static ares_ssize_t sendv(ares_socket_t fd, const iovec* iov, int count, void* self);

  void flush(int fd, Socket& s);

  int buffer_bytes_;
  int receive_buffer_ = 0;
  uint64_t sent_ = 0;
  uint64_t send_calls_ = 0;
  std::unordered_map<int, std::unique_ptr<Socket>> sockets_;
};

}  // namespace ub::resolve::detail
