// The io_uring back end's connection state machine: a connection's receive (multishot,
// into provided buffers, paused past its budget), its send (one in flight, gathering what
// queued meanwhile), and its close. See uring.cc for the techniques and bounds.

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "echo/uring_worker.h"

namespace ub::echo::uring_echo {

void RingWorker::arm_recv(Connection& c) {
  io_uring_sqe* sqe = ring_->sqe();
  // A bundle's length caps the bytes one completion may take: the connection's budget.
  const unsigned len = bundle_ ? static_cast<unsigned>(budget_) : 0;
  if (opts_.multishot) {
    io_uring_prep_recv_multishot(sqe, c.fd, nullptr, len, 0);
    if (recv_cap_ != 0) {
      const size_t room = recv_cap_ - std::min(c.held, recv_cap_ - 1);
      uring::set_recv_multishot_limit(sqe, static_cast<uint32_t>(room));
    }
  } else {
    io_uring_prep_recv(sqe, c.fd, nullptr, len, 0);
  }
  sqe->flags |= IOSQE_BUFFER_SELECT | (opts_.fixed_files ? IOSQE_FIXED_FILE : 0);
  sqe->buf_group = kBufferGroup;
  if (bundle_) sqe->ioprio |= uring::kRecvSendBundle;
  io_uring_sqe_set_data(sqe, &c.recv_op);
  c.recv_armed = true;
  c.cancel_sent = false;
  ++c.ops;
  ++ops_;
}

void RingWorker::cancel(void* user_data) {
  io_uring_sqe* sqe = ring_->sqe();
  io_uring_prep_cancel(sqe, user_data, 0);
  io_uring_sqe_set_data(sqe, nullptr);
}

void RingWorker::cancel_recv(Connection& c) {
  cancel(&c.recv_op);
  c.cancel_sent = true;
}

void RingWorker::update_recv(Connection& c) {
  if (c.closing || c.peer_done || stopping_) return;
  if (c.recv_armed) {
    if ((c.held >= budget_ || c.queue.size() >= kMaxPiecesHeld) && !c.cancel_sent) {
      cancel_recv(c);
    }
    return;
  }
  if (c.starved) return;
  if (c.held <= budget_ / 2 && c.queue.size() <= kMaxPiecesHeld / 2) arm_recv(c);
}

void RingWorker::on_recv(Connection& c, const io_uring_cqe& cqe) {
  if (!(cqe.flags & IORING_CQE_F_MORE)) {
    c.recv_armed = false;
    --c.ops;
    --ops_;
  }
  if (cqe.res > 0) {
    ++recvs_this_batch_;
    if (incremental_) {
      take_piece(c, cqe);
    } else {
      take_buffers(c, cqe);
    }
  } else if (incremental_) {
    // Nothing was read, so nothing of the buffer was consumed; the kernel keeps it.
  } else if (cqe.flags & IORING_CQE_F_BUFFER) {
    pool_->put_back_unused(static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT));
  }
  if (cqe.res == 0) {
    c.peer_done = true;  // EOF; a half-closed client still gets everything back
  } else if (cqe.res == -ENOBUFS) {
    if (!c.closing && !c.starved && !c.recv_armed) {
      c.starved = true;
      starved_.push_back(&c);
    }
  } else if (cqe.res < 0 && cqe.res != -ECANCELED) {
    begin_close(c);  // ECONNRESET and friends
  }
  settle(c);
}

void RingWorker::take_buffers(Connection& c, const io_uring_cqe& cqe) {
  const unsigned first = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
  // Before the loop: recycling `first` below would move it to a new position.
  const uint32_t first_pos = bundle_ ? buffers_->position_of(first) : 0;
  size_t left = static_cast<size_t>(cqe.res);
  for (unsigned k = 0; left > 0; ++k) {
    uring::BufferRing::Piece piece{first, left};
    if (bundle_) piece = buffers_->piece_at(first_pos + k);
    const size_t len = std::min(left, piece.length);
    const auto bid = static_cast<uint16_t>(piece.id);
    pool_->take(bid);
    hold(c, bid, 0, static_cast<uint32_t>(len));
    left -= len;
  }
}

void RingWorker::take_piece(Connection& c, const io_uring_cqe& cqe) {
  const auto bid = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
  const auto len = static_cast<uint32_t>(cqe.res);
  const uint32_t begin = pool_->take_piece(bid, len, cqe.flags & uring::kCqeBufMore);
  hold(c, bid, begin, begin + len);
}

void RingWorker::hold(Connection& c, uint16_t bid, uint32_t begin, uint32_t end) {
  if (c.closing) {
    pool_->release(bid);
    return;
  }
  c.queue.push_back({bid, begin, end});
  c.held += end - begin;
}

void RingWorker::settle(Connection& c) {
  if (!c.closing) {
    pump(c);
    update_recv(c);
  }
  maybe_finish(c);
}

void RingWorker::pump(Connection& c) {
  if (c.send_busy || c.queue.empty() || c.closing) return;
  io_uring_sqe* sqe = ring_->sqe();
  const unsigned fixed = opts_.fixed_files ? IOSQE_FIXED_FILE : 0;
  const size_t n = std::min<size_t>(c.queue.size(), kMaxIov);
  if (n == 1) {
    Chunk& ch = c.queue.front();
    std::byte* data = buffers_->buffer(ch.bid) + ch.begin;
    const size_t len = ch.end - ch.begin;
    if (opts_.zc_send && len >= opts_.zc_threshold) {
      ZcOp* z = take_zc_op(c, ch.bid);
      io_uring_prep_send_zc(sqe, c.fd, data, len, MSG_NOSIGNAL | MSG_WAITALL, 0);
      io_uring_sqe_set_data(sqe, z);
      c.zc_in_flight = z;
    } else {
      io_uring_prep_send(sqe, c.fd, data, len, MSG_NOSIGNAL | MSG_WAITALL);
      io_uring_sqe_set_data(sqe, &c.send_op);
    }
  } else {
    for (size_t i = 0; i < n; ++i) {
      Chunk& ch = c.queue[i];
      c.iov[i].iov_base = buffers_->buffer(ch.bid) + ch.begin;
      c.iov[i].iov_len = ch.end - ch.begin;
    }
    c.msg.msg_iov = c.iov;
    c.msg.msg_iovlen = n;
    io_uring_prep_sendmsg(sqe, c.fd, &c.msg, MSG_NOSIGNAL | MSG_WAITALL);
    io_uring_sqe_set_data(sqe, &c.send_op);
  }
  sqe->flags |= fixed;
  c.send_busy = true;
  ++c.ops;
  ++ops_;
  ++sends_queued_;
}

void RingWorker::on_send(Connection& c, int res) {
  c.send_busy = false;
  --c.ops;
  --ops_;
  if (res < 0) {
    begin_close(c);  // EPIPE, ECONNRESET, ECANCELED at stop
    maybe_finish(c);
    return;
  }
  LoopCounters::add(counters_.bytes_echoed, static_cast<uint64_t>(res));
  size_t left = static_cast<size_t>(res);
  c.held -= left;
  while (left > 0 && !c.queue.empty()) {
    Chunk& front = c.queue.front();
    const size_t avail = front.end - front.begin;
    if (left < avail) {
      front.begin += static_cast<uint32_t>(left);  // a short send: the rest goes next
      break;
    }
    left -= avail;
    pool_->release(front.bid);
    c.queue.pop_front();
  }
  settle(c);
}

ZcOp* RingWorker::take_zc_op(Connection& c, uint16_t bid) {
  ZcOp* z;
  if (zc_free_.empty()) {
    z = new ZcOp;
    z->kind = OpKind::kZcSend;
  } else {
    z = zc_free_.back();
    zc_free_.pop_back();
  }
  z->conn = &c;
  z->bid = bid;
  pool_->add_zc_hold(bid);  // the notification's hold on the buffer, dropped in on_zc_send
  zc_live_.push_back(z);
  return z;
}

void RingWorker::put_zc_op(ZcOp* z) {
  zc_live_.erase(std::find(zc_live_.begin(), zc_live_.end(), z));
  zc_free_.push_back(z);
}

void RingWorker::on_zc_send(ZcOp& z, const io_uring_cqe& cqe) {
  if (cqe.flags & IORING_CQE_F_NOTIF) {
    --ops_;
    pool_->drop_zc_hold(z.bid);
    put_zc_op(&z);
    return;
  }
  Connection& c = *z.conn;
  c.zc_in_flight = nullptr;
  if (cqe.flags & IORING_CQE_F_MORE) {
    ++ops_;  // the notification is still to come
  } else {
    pool_->drop_zc_hold(z.bid);
    put_zc_op(&z);
  }
  on_send(c, cqe.res);
}

void RingWorker::begin_close(Connection& c) {
  if (c.closing) return;
  c.closing = true;
  if (c.recv_armed && !c.cancel_sent) cancel_recv(c);
  if (c.send_busy) cancel(c.zc_in_flight ? static_cast<void*>(c.zc_in_flight) : &c.send_op);
  if (c.starved) {
    starved_.erase(std::find(starved_.begin(), starved_.end(), &c));
    c.starved = false;
  }
}

void RingWorker::maybe_finish(Connection& c) {
  if (c.closing) {
    if (c.ops == 0) finish(c);
  } else if (c.peer_done && c.queue.empty() && c.ops == 0) {
    finish(c);  // half-close: everything echoed, now the client reads EOF
  }
}

void RingWorker::finish(Connection& c) {
  while (!c.queue.empty()) {
    pool_->release(c.queue.front().bid);
    c.queue.pop_front();
  }
  if (c.fd >= 0) close_descriptor(c.fd);
  cap_.give_back();
  LoopCounters::subtract_one(counters_.open);
  swap_remove(conns_, c.slot);
  delete &c;
}

}  // namespace ub::echo::uring_echo
