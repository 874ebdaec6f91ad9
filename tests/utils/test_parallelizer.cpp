// ParallelExecutor. C++ twins of DSPy's tests/utils/test_parallelizer.py, plus settings isolation, usage tracker
// copies and straggler resubmission.
#include "dspy/utils/parallelizer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "dspy/settings/settings.hpp"
#include "dspy/utils/callback.hpp"
#include "dspy/utils/exceptions.hpp"
#include "dspy/utils/usage_tracker.hpp"

using namespace std::chrono_literals;

namespace dspy {
namespace {

const std::vector<int> kData{1, 2, 3, 4, 5};

template <typename T>
std::vector<std::optional<T>> opt(std::initializer_list<std::optional<T>> v) {
    return v;
}

class ParallelExecutorTest : public ::testing::Test {
protected:
    void TearDown() override { detail::reset_settings_for_testing(); }
};

TEST_F(ParallelExecutorTest, WorkerThreadsIndependence) {
    ParallelExecutor executor({.num_threads = 3});
    auto results = executor.execute([](int item) { return item * 2; }, kData);
    EXPECT_EQ(results, opt<int>({2, 4, 6, 8, 10}));
}

class InheritCallId : public ParallelExecutorTest, public ::testing::WithParamInterface<int> {};

TEST_P(InheritCallId, WorkersInheritActiveCallbackCallId) {
    ParallelExecutor executor({.num_threads = GetParam()});
    for (std::string parent : {"first-parent", "second-parent"}) {
        auto scope = context({.active_call_id = parent});
        auto observed = executor.execute([](int) { return active_call_id().value_or("<none>"); }, kData);
        for (const auto& id : observed) EXPECT_EQ(id, parent);
        EXPECT_EQ(active_call_id(), parent);
    }
    EXPECT_EQ(active_call_id(), std::nullopt);
}
INSTANTIATE_TEST_SUITE_P(Threads, InheritCallId, ::testing::Values(1, 3));

// DSPy checks speed (5 x 0.1 s sleeps in under 5 s); without timing: all five items are in flight at once.
TEST_F(ParallelExecutorTest, ItemsRunConcurrently) {
    std::mutex mu;
    std::condition_variable cv;
    int arrived = 0;
    ParallelExecutor executor({.num_threads = 5});
    auto results = executor.execute(
        [&](int) {
            std::unique_lock lk(mu);
            ++arrived;
            cv.notify_all();
            return cv.wait_for(lk, 30s, [&] { return arrived == 5; });
        },
        kData);
    for (const auto& r : results) EXPECT_EQ(r, std::optional<bool>(true));
}

TEST_F(ParallelExecutorTest, MaxErrorsHandling) {
    ParallelExecutor executor({.num_threads = 3, .max_errors = 1});
    try {
        executor.execute(
            [](int item) {
                if (item == 3) throw ValueError("Intentional error");
                return item;
            },
            kData);
        FAIL() << "expected the run to be cancelled";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "Execution cancelled due to errors or interruption.");
    }
}

class MaxErrorsNotMet : public ParallelExecutorTest, public ::testing::WithParamInterface<int> {};

// Also DSPy's test_sequential_max_errors_not_met (1 thread).
TEST_P(MaxErrorsNotMet, FailedItemIsEmptyAndTheRunCompletes) {
    ParallelExecutor executor({.num_threads = GetParam(), .max_errors = 2});
    auto results = executor.execute(
        [](int item) {
            if (item == 3) throw ValueError("Intentional error");
            return item;
        },
        kData);
    EXPECT_EQ(results, opt<int>({1, 2, std::nullopt, 4, 5}));
}
INSTANTIATE_TEST_SUITE_P(Threads, MaxErrorsNotMet, ::testing::Values(1, 3));

void expect_tracked_failures(int threads) {
    ParallelExecutor executor({.num_threads = threads, .max_errors = 3});
    ::testing::internal::CaptureStderr();
    auto results = executor.execute(
        [](int item) {
            if (item == 3) throw ValueError("test error for 3");
            if (item == 5) throw std::runtime_error("test error for 5");
            return item;
        },
        kData);
    std::string log = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(results, opt<int>({1, 2, std::nullopt, 4, std::nullopt}));
    auto failed = executor.failed_indices();
    std::sort(failed.begin(), failed.end());
    EXPECT_EQ(failed, (std::vector<std::size_t>{2, 4}));
    auto errors = executor.exceptions_map();
    ASSERT_EQ(errors.size(), 2u);
    try {
        std::rethrow_exception(errors.at(2));
    } catch (const ValueError& e) {
        EXPECT_STREQ(e.what(), "test error for 3");
    }
    try {
        std::rethrow_exception(errors.at(4));
    } catch (const ValueError&) {
        ADD_FAILURE() << "item 5 threw a runtime_error";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "test error for 5");
    }
    EXPECT_NE(log.find("Error for 3: test error for 3. Set `provide_traceback=True` for traceback."),
              std::string::npos)
        << log;
}

TEST_F(ParallelExecutorTest, TracksFailedIndicesAndExceptions) { expect_tracked_failures(3); }
TEST_F(ParallelExecutorTest, SequentialTracksFailedIndicesAndExceptions) { expect_tracked_failures(1); }

TEST_F(ParallelExecutorTest, SequentialExecutionRunsOnCallingThread) {
    std::vector<std::thread::id> threads;  // only the calling thread writes it
    ParallelExecutor executor({.num_threads = 1});
    auto results = executor.execute(
        [&](int item) {
            threads.push_back(std::this_thread::get_id());
            return item * 2;
        },
        kData);
    EXPECT_EQ(results, opt<int>({2, 4, 6, 8, 10}));
    ASSERT_EQ(threads.size(), 5u);
    for (auto id : threads) EXPECT_EQ(id, std::this_thread::get_id());
}


TEST_F(ParallelExecutorTest, SequentialMaxErrorsExceededStopsAtOnce) {
    std::vector<int> seen;
    ParallelExecutor executor({.num_threads = 1, .max_errors = 1});
    EXPECT_THROW(
        {
            try {
                executor.execute(
                    [&](int item) {
                        seen.push_back(item);
                        if (item == 3) throw ValueError("Intentional error");
                        return item;
                    },
                    kData);
            } catch (const std::runtime_error& e) {
                EXPECT_STREQ(e.what(), "Execution cancelled due to errors or interruption.");
                throw;
            }
        },
        std::runtime_error);
    EXPECT_EQ(seen, (std::vector<int>{1, 2, 3}));  // items after the cancelling error never start
    EXPECT_EQ(executor.error_count(), 1);
}

TEST_F(ParallelExecutorTest, SequentialCompareResults) {
    ParallelExecutor executor({.num_threads = 1, .disable_progress_bar = true, .compare_results = true});
    auto results = executor.execute([](int item) { return std::pair<int, bool>(item, item > 2); }, kData);
    EXPECT_EQ(results, (std::vector<std::optional<std::pair<int, bool>>>{
                           std::pair(1, false), std::pair(2, false), std::pair(3, true), std::pair(4, true),
                           std::pair(5, true)}));
}

class NoneReturning : public ParallelExecutorTest, public ::testing::WithParamInterface<int> {};

TEST_P(NoneReturning, TasksReturningNothingCountAsComplete) {
    ParallelExecutor executor({.num_threads = GetParam(), .disable_progress_bar = true});
    std::atomic<int> calls{0};
    auto results = executor.execute([&](int) { ++calls; }, kData);
    ASSERT_EQ(results.size(), kData.size());
    for (const auto& r : results) EXPECT_TRUE(r.has_value());
    EXPECT_EQ(calls.load(), 5);
    EXPECT_TRUE(executor.failed_indices().empty());
}
INSTANTIATE_TEST_SUITE_P(Threads, NoneReturning, ::testing::Values(1, 3));

TEST_F(ParallelExecutorTest, DefaultsComeFromSettings) {
    auto scope = context({.provide_traceback = true, .num_threads = 6, .max_errors = 4});
    ParallelExecutor executor;
    EXPECT_EQ(executor.num_threads(), 6);
    EXPECT_EQ(executor.max_errors(), 4);
    EXPECT_TRUE(*executor.options().provide_traceback);
    EXPECT_EQ(executor.options().timeout, 120);
    EXPECT_EQ(executor.options().straggler_limit, 3);
    EXPECT_THROW(ParallelExecutor({.num_threads = -2}), ValueError);
}

class Isolation : public ParallelExecutorTest, public ::testing::WithParamInterface<int> {};

// Every item starts from the caller's snapshot; an item's context() reaches neither the caller nor another item.
TEST_P(Isolation, EachItemRunsUnderTheCallersSnapshot) {
    auto outer = context({.max_errors = 77, .extra = Json{{"who", "caller"}}});
    ParallelExecutor executor({.num_threads = GetParam()});
    std::vector<int> items(40);
    for (int i = 0; i < 40; ++i) items[static_cast<std::size_t>(i)] = i;
    auto results = executor.execute(
        [](int i) {
            auto s = settings();
            bool clean = s->max_errors == 77 && s->get("who") == "caller";
            auto mine = context({.extra = Json{{"who", i}}});
            std::this_thread::yield();
            return clean && settings()->get("who") == i;
        },
        items);
    for (const auto& r : results) EXPECT_EQ(r, std::optional<bool>(true));
    EXPECT_EQ(settings()->get("who"), "caller");
    EXPECT_EQ(settings()->max_errors, 77);
}
INSTANTIATE_TEST_SUITE_P(Threads, Isolation, ::testing::Values(1, 4));

class TrackerCopies : public ParallelExecutorTest, public ::testing::WithParamInterface<int> {};

// DSPy deep-copies the usage tracker into each task: tasks count their own usage and the parent stays as it was.
TEST_P(TrackerCopies, EachTaskGetsItsOwnCopyOfTheUsageTracker) {
    auto parent = std::make_shared<UsageTracker>();
    parent->add_usage("openai/gpt-4o-mini", {{"prompt_tokens", 1}});
    auto scope = context({.track_usage = true, .usage_tracker = parent});
    ParallelExecutor executor({.num_threads = GetParam()});
    auto results = executor.execute(
        [&](int tokens) {
            auto tracker = settings()->usage_tracker;
            EXPECT_NE(tracker, parent);
            tracker->add_usage("openai/gpt-4o-mini", {{"prompt_tokens", tokens}});
            return tracker->get_total_tokens()["openai/gpt-4o-mini"]["prompt_tokens"].get<int>();
        },
        std::vector<int>{50, 80});
    EXPECT_EQ(results, opt<int>({51, 81}));
    EXPECT_EQ(parent->get_total_tokens()["openai/gpt-4o-mini"]["prompt_tokens"], 1);
}
INSTANTIATE_TEST_SUITE_P(Threads, TrackerCopies, ::testing::Values(1, 2));

// A straggler is started once more; the first result wins and execute returns without waiting for the
// superseded run (the destructor does). The first run of item 0 is held until execute has returned, so only the
// resubmitted duplicate can have produced its result.
TEST_F(ParallelExecutorTest, StragglerIsResubmittedAndFirstResultWins) {
    std::mutex mu;
    std::condition_variable cv;
    int runs_of_zero = 0;
    bool release = false;
    {
        ParallelExecutor executor({.num_threads = 2, .timeout = 0.02, .straggler_limit = 3});
        auto results = executor.execute(
            [&](int item) -> std::string {
                if (item != 0) return "other";
                std::unique_lock lk(mu);
                if (++runs_of_zero == 1) {
                    cv.wait_for(lk, 30s, [&] { return release; });
                    return "original";
                }
                return "duplicate";
            },
            std::vector<int>{0, 1});
        EXPECT_EQ(results[0], std::optional<std::string>("duplicate"));
        EXPECT_EQ(results[1], std::optional<std::string>("other"));
        std::lock_guard lk(mu);
        EXPECT_EQ(runs_of_zero, 2);
        release = true;
        cv.notify_all();
    }  // the destructor waits for the superseded original
}

TEST_F(ParallelExecutorTest, ZeroTimeoutNeverResubmits) {
    std::atomic<int> calls{0};
    ParallelExecutor executor({.num_threads = 4, .timeout = 0});
    std::vector<int> items(100, 1);
    auto results = executor.execute(
        [&](int v) {
            ++calls;
            return v;
        },
        items);
    EXPECT_EQ(calls.load(), 100);
    for (const auto& r : results) EXPECT_EQ(r, std::optional<int>(1));
}

TEST_F(ParallelExecutorTest, ManyItemsKeepInputOrder) {
    std::vector<std::string> items;
    for (int i = 0; i < 500; ++i) items.push_back("item-" + std::to_string(i));
    ParallelExecutor executor({.num_threads = 8, .max_errors = 1000});
    ::testing::internal::CaptureStderr();
    auto results = executor.execute(
        [](const std::string& s) {
            if (s.back() == '7') throw ValueError("seven");
            return s + "!";
        },
        items);
    EXPECT_NE(::testing::internal::GetCapturedStderr().find("Error for 'item-7': seven."), std::string::npos);
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (items[i].back() == '7')
            EXPECT_FALSE(results[i].has_value());
        else
            EXPECT_EQ(results[i], std::optional<std::string>(items[i] + "!"));
    }
    EXPECT_EQ(executor.failed_indices().size(), 50u);
}

}  // namespace
}  // namespace dspy
