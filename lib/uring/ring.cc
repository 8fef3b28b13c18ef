#include "uring/ring.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "common/result.h"

namespace ub::uring {

Ring::~Ring() {
  if (ready_) io_uring_queue_exit(&ring_);
}

std::error_code Ring::init(unsigned entries, unsigned cq_entries) {
  RingSetup setup;
  setup.entries = entries;
  setup.cq_entries = cq_entries;
  return init(setup);
}

std::error_code Ring::init(const RingSetup& setup) {
  const unsigned candidates[] = {
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
      IORING_SETUP_COOP_TASKRUN,
      0,
  };
  int rc = -EINVAL;
  for (unsigned flags : candidates) {
    if (!setup.defer_taskrun && (flags & IORING_SETUP_DEFER_TASKRUN)) continue;
    // SQPOLL rejects both task-running modes with -EINVAL: the loop falls through to none.
    io_uring_params params{};
    params.flags = flags;
    if (setup.sqpoll) {
      params.flags |= IORING_SETUP_SQPOLL;
      params.sq_thread_idle = setup.sq_thread_idle_ms;
    }
    if (setup.cq_entries != 0) {
      params.flags |= IORING_SETUP_CQSIZE;
      params.cq_entries = setup.cq_entries;
    }
    rc = io_uring_queue_init_params(setup.entries, &ring_, &params);
    if (rc == 0) {
      setup_flags_ = params.flags & ~IORING_SETUP_CQSIZE;
      features_ = params.features;
      break;
    }
    if (rc != -EINVAL) break;  // EPERM/ENOSYS/ENOMEM: no flag choice will help
  }
  if (rc < 0) return errno_code(rc);
  ready_ = true;
  // A registered ring fd saves an fdget/fdput on every io_uring_enter (Linux 5.18).
  if (setup.register_ring_fd) ring_fd_registered_ = io_uring_register_ring_fd(&ring_) == 1;
  return {};
}

int Ring::submit_and_wait(unsigned wait_nr, std::chrono::microseconds min_wait,
                          std::chrono::nanoseconds timeout) {
  const bool min_wait_ok = (features_ & kFeatMinTimeout) != 0 && min_wait.count() > 0;
  if (!min_wait_ok && timeout.count() == 0) return io_uring_submit_and_wait(&ring_, wait_nr);
  unsigned to_submit = 0;
  unsigned flags = IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG;
  if (setup_flags_ & IORING_SETUP_SQPOLL) {
    io_uring_submit(&ring_);  // wakes the SQ thread when it sleeps
  } else {
    // liburing 2.3 has no submit call that takes a min-wait: publish the SQ tail the way
    // its __io_uring_flush_sq does and enter directly.
    io_uring_sq& sq = ring_.sq;
    if (sq.sqe_head != sq.sqe_tail) {
      sq.sqe_head = sq.sqe_tail;
      io_uring_smp_store_release(sq.ktail, sq.sqe_tail);
    }
    to_submit = sq.sqe_tail - *sq.khead;
  }
  __kernel_timespec ts{};
  io_uring_getevents_arg arg{};
  arg.sigmask_sz = _NSIG / 8;
  if (min_wait_ok) arg.pad = static_cast<uint32_t>(min_wait.count());  // min_wait_usec (6.12)
  // Without an overall timeout the kernel ends the wait with -ETIME when the min-wait
  // passes with nothing to show: an idle ring would wake every min-wait. A long timeout
  // turns the min-wait into what it is meant to be, the point after which one CQE will do.
  if (min_wait_ok && timeout.count() == 0) timeout = std::chrono::seconds(60);
  if (timeout.count() > 0) {
    ts.tv_sec = timeout.count() / 1'000'000'000;
    ts.tv_nsec = timeout.count() % 1'000'000'000;
    arg.ts = reinterpret_cast<uint64_t>(&ts);
  }
  unsigned fd = static_cast<unsigned>(ring_.ring_fd);
  if (ring_fd_registered_) {
    flags |= IORING_ENTER_REGISTERED_RING;
    fd = static_cast<unsigned>(ring_.enter_ring_fd);
  }
  // The raw system call: its error convention (-1 and errno) does not depend on how
  // liburing was built.
  const long rc = ::syscall(__NR_io_uring_enter, fd, to_submit, wait_nr, flags, &arg, sizeof(arg));
  return rc < 0 ? -errno : static_cast<int>(rc);
}

std::string Ring::setup_flags_text() const {
  std::string text;
  if (setup_flags_ & IORING_SETUP_DEFER_TASKRUN) {
    text = "SINGLE_ISSUER|DEFER_TASKRUN";
  } else if (setup_flags_ & IORING_SETUP_COOP_TASKRUN) {
    text = "COOP_TASKRUN";
  }
  if (setup_flags_ & IORING_SETUP_SQPOLL) text += text.empty() ? "SQPOLL" : "|SQPOLL";
  return text.empty() ? "none" : text;
}

io_uring_sqe* Ring::sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (sqe == nullptr) {
    // A full SQ: hand it to the kernel. With SQPOLL, submit only wakes the polling thread,
    // so wait until it has taken entries; without, submit has taken them (or failed on a
    // full CQ, which the caller's loop drains: retrying here would spin).
    const int rc = io_uring_submit(&ring_);
    if (setup_flags_ & IORING_SETUP_SQPOLL) io_uring_sqring_wait(&ring_);
    sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr && !(setup_flags_ & IORING_SETUP_SQPOLL) && rc <= 0) break;
  }
  return sqe;
}

// Receives land in whichever buffer the ring hands out next, so a busy ring touches every
// buffer in turn: thousands of 4 KiB pages, more than the TLB holds. Transparent huge pages
// (asked for with MADV_HUGEPAGE, since THP is often "madvise" only) cover 2 MiB per entry;
// the area is aligned to 2 MiB so that every part of it can get one.
std::error_code BufferRing::map_storage() {
  constexpr size_t kHuge = size_t{2} << 20;
  if (storage_bytes_ < kHuge) {
    void* mapped = ::mmap(nullptr, storage_bytes_, PROT_READ | PROT_WRITE,
                          MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mapped == MAP_FAILED) return errno_code(errno);
    storage_ = static_cast<std::byte*>(mapped);
    return {};
  }
  storage_bytes_ = (storage_bytes_ + kHuge - 1) & ~(kHuge - 1);
  void* mapped = ::mmap(nullptr, storage_bytes_ + kHuge, PROT_READ | PROT_WRITE,
                        MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mapped == MAP_FAILED) return errno_code(errno);
  auto* raw = static_cast<std::byte*>(mapped);
  const uintptr_t at = reinterpret_cast<uintptr_t>(raw);
  auto* aligned = reinterpret_cast<std::byte*>((at + kHuge - 1) & ~(uintptr_t{kHuge} - 1));
  const size_t head = static_cast<size_t>(aligned - raw);
  if (head > 0) ::munmap(raw, head);
  const size_t tail = kHuge - head;
  if (tail > 0) ::munmap(aligned + storage_bytes_, tail);
  storage_ = aligned;
  ::madvise(storage_, storage_bytes_, MADV_HUGEPAGE);  // a hint: fine if it is refused
  return {};
}

BufferRing::~BufferRing() {
  if (ring_ != nullptr) {
    if (owner_ != nullptr && owner_->ready()) io_uring_unregister_buf_ring(owner_->get(), group_id_);
    ::munmap(ring_, ring_bytes_);
  }
  if (storage_ != nullptr) ::munmap(storage_, storage_bytes_);
}

std::error_code BufferRing::init(Ring& ring, uint16_t group_id, unsigned count, size_t size,
                                 bool track_order, bool incremental) {
  if (count == 0 || (count & (count - 1)) != 0 || count > 32768) return errno_code(EINVAL);
  if (track_order) {
    pos_of_.assign(count, 0);
    log_.assign(2 * static_cast<size_t>(count), Logged{0, 0});
  }
  owner_ = &ring;
  group_id_ = group_id;
  count_ = count;
  size_ = size;
  mask_ = io_uring_buf_ring_mask(count);
  ring_bytes_ = count * sizeof(io_uring_buf);
  void* mapped = ::mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE,
                        MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mapped == MAP_FAILED) return errno_code(errno);
  ring_ = static_cast<io_uring_buf_ring*>(mapped);
  storage_bytes_ = count * size;
  if (auto ec = map_storage()) return ec;

  io_uring_buf_ring_init(ring_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(ring_);
  reg.ring_entries = count;
  reg.bgid = group_id;
  reg.pad = incremental ? kPbufRingInc : 0;  // the kernel's `flags` field (liburing 2.3: pad)
  if (int rc = io_uring_register_buf_ring(ring.get(), &reg, 0); rc < 0) {
    owner_ = nullptr;  // nothing registered to undo
    return errno_code(rc);
  }
  for (unsigned id = 0; id < count; ++id) recycle(id);
  commit();
  return {};
}

}  // namespace ub::uring
