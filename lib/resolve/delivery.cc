#include "resolve/delivery.h"

#include "resolve/errors.h"

namespace ub::resolve::detail {

void Delivery::deliver(size_t index, Outcome&& outcome) {
  ++stats_.queries;
  if (outcome.error) ++stats_.failed;
  if (outcome.error == Error::kTimedOut) ++stats_.timed_out;
  if (!ordered_) {
    ++delivered_;
    sink_(index, std::move(outcome));
    return;
  }
  held_.emplace(index, std::move(outcome));
  while (!held_.empty() && held_.begin()->first == delivered_) {
    auto node = held_.extract(held_.begin());
    ++delivered_;
    sink_(node.key(), std::move(node.mapped()));
  }
}

}  // namespace ub::resolve::detail
