#include "uring/ring.h"

#include <sys/mman.h>

#include <cerrno>

#include "common/result.h"

namespace ub::uring {

Ring::~Ring() {
  if (ready_) io_uring_queue_exit(&ring_);
}

std::error_code Ring::init(unsigned entries, unsigned cq_entries) {
  const unsigned candidates[] = {
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
      IORING_SETUP_COOP_TASKRUN,
      0,
  };
  int rc = -EINVAL;
  for (unsigned flags : candidates) {
    io_uring_params params{};
    params.flags = flags;
    if (cq_entries != 0) {
      params.flags |= IORING_SETUP_CQSIZE;
      params.cq_entries = cq_entries;
    }
    rc = io_uring_queue_init_params(entries, &ring_, &params);
    if (rc == 0) {
      setup_flags_ = flags;
      break;
    }
    if (rc != -EINVAL) break;  // EPERM/ENOSYS/ENOMEM: no flag choice will help
  }
  if (rc < 0) return errno_code(rc);
  ready_ = true;
  // A registered ring fd saves an fdget/fdput on every io_uring_enter (Linux 5.18).
  ring_fd_registered_ = io_uring_register_ring_fd(&ring_) == 1;
  return {};
}

std::string Ring::setup_flags_text() const {
  if (setup_flags_ & IORING_SETUP_DEFER_TASKRUN) return "SINGLE_ISSUER|DEFER_TASKRUN";
  if (setup_flags_ & IORING_SETUP_COOP_TASKRUN) return "COOP_TASKRUN";
  return "none";
}

io_uring_sqe* Ring::sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

BufferRing::~BufferRing() {
  if (ring_ != nullptr) {
    if (owner_ != nullptr && owner_->ready()) io_uring_unregister_buf_ring(owner_->get(), group_id_);
    ::munmap(ring_, ring_bytes_);
  }
  if (storage_ != nullptr) ::munmap(storage_, storage_bytes_);
}

std::error_code BufferRing::init(Ring& ring, uint16_t group_id, unsigned count, size_t size) {
  if (count == 0 || (count & (count - 1)) != 0 || count > 32768) return errno_code(EINVAL);
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
  mapped = ::mmap(nullptr, storage_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE,
                  -1, 0);
  if (mapped == MAP_FAILED) return errno_code(errno);
  storage_ = static_cast<std::byte*>(mapped);

  io_uring_buf_ring_init(ring_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(ring_);
  reg.ring_entries = count;
  reg.bgid = group_id;
  if (int rc = io_uring_register_buf_ring(ring.get(), &reg, 0); rc < 0) {
    owner_ = nullptr;  // nothing registered to undo
    return errno_code(rc);
  }
  for (unsigned id = 0; id < count; ++id) recycle(id);
  commit();
  return {};
}

}  // namespace ub::uring
