#pragma once
/// @file
/// The whole async runtime in one include.

#include "dspy/async/async_generator.hpp"
#include "dspy/async/capacity_limiter.hpp"
#include "dspy/async/errors.hpp"
#include "dspy/async/event_loop.hpp"
#include "dspy/async/run.hpp"
#include "dspy/async/sleep.hpp"
#include "dspy/async/task.hpp"
#include "dspy/async/thread_pool.hpp"
#include "dspy/async/when_all.hpp"
