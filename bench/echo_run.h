#pragma once
// bench_echo's runs: one measured run per back end x clients x size x repetition, back ends
// innermost so they interleave in time and noise hits them alike. Each run starts a fresh
// server (or drives the external one), runs the load, and takes the server's CPU over
// exactly the measurement window, checked against what its CPUs could give.

#include <string>
#include <vector>

#include "echo_plan.h"
#include "echo_report.h"

namespace ub::bench {

// Raises RLIMIT_NOFILE for the largest client count and records it in plan.fd_limit; ""
// or why the limit cannot hold the run (a fatal error, exit 1).
std::string reserve_descriptors(Plan& plan);

// One run of `backend` ("external" with --connect); "" or a fatal error.
std::string run_once(const Options& o, const Plan& plan, const std::string& backend,
                     uint64_t clients, uint64_t size, RunRecord& record);

// Every run of the plan, in order; "" or the first fatal error (`runs` then holds those
// before it).
std::string run_all(const Options& o, const Plan& plan, std::vector<RunRecord>& runs);

}  // namespace ub::bench
