// Callbacks around module, LM and adapter calls: event order (sync and async), instances, inputs/outputs,
// failures reported to on_*_end, and handlers that throw being swallowed. @sa DSPy tests/callback/test_callback.py
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "dspy/adapters/chat_adapter.hpp"
#include "dspy/async/run.hpp"
#include "dspy/async/sleep.hpp"
#include "dspy/clients/base_lm.hpp"
#include "dspy/predict/chain_of_thought.hpp"
#include "dspy/predict/predict.hpp"
#include "dspy/primitives/module.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/utils/callback.hpp"
#include "dspy/utils/dummies.hpp"
#include "dspy/utils/exceptions.hpp"

namespace dspy {
namespace {

struct Event {
    std::string handler;
    std::string call_id;
    const void* instance = nullptr;
    std::optional<Json> data;  // start: inputs; end: outputs (none when the call failed)
    std::exception_ptr exception;
};

// Records every hook, like DSPy's MyCallback.
class Recorder : public BaseCallback {
public:
    void on_module_start(const std::string& id, const Module& m, const Json& in) override {
        add("on_module_start", id, &m, in);
    }
    void on_module_end(const std::string& id, const Json* out, std::exception_ptr e) override {
        end("on_module_end", id, out, e);
    }
    void on_lm_start(const std::string& id, const BaseLM& lm, const Json& in) override {
        add("on_lm_start", id, &lm, in);
    }
    void on_lm_end(const std::string& id, const Json* out, std::exception_ptr e) override {
        end("on_lm_end", id, out, e);
    }
    void on_adapter_format_start(const std::string& id, const Adapter& a, const Json& in) override {
        add("on_adapter_format_start", id, &a, in);
    }
    void on_adapter_format_end(const std::string& id, const Json* out, std::exception_ptr e) override {
        end("on_adapter_format_end", id, out, e);
    }
    void on_adapter_parse_start(const std::string& id, const Adapter& a, const Json& in) override {
        add("on_adapter_parse_start", id, &a, in);
    }
    void on_adapter_parse_end(const std::string& id, const Json* out, std::exception_ptr e) override {
        end("on_adapter_parse_end", id, out, e);
    }

    std::vector<Event> events() const {
        std::lock_guard lk(mu_);
        return events_;
    }
    std::vector<std::string> handlers() const {
        std::vector<std::string> out;
        for (const auto& e : events()) out.push_back(e.handler);
        return out;
    }

private:
    void add(const char* h, const std::string& id, const void* instance, const Json& in) {
        std::lock_guard lk(mu_);
        events_.push_back(Event{h, id, instance, in, nullptr});
    }
    void end(const char* h, const std::string& id, const Json* out, std::exception_ptr e) {
        std::lock_guard lk(mu_);
        events_.push_back(Event{h, id, nullptr, out ? std::optional<Json>(*out) : std::nullopt, std::move(e)});
    }
    mutable std::mutex mu_;
    std::vector<Event> events_;
};

// Throws from every hook; DSPy logs such errors and carries on.
class Thrower : public BaseCallback {
public:
    void on_module_start(const std::string&, const Module&, const Json&) override { throw std::runtime_error("boom"); }
    void on_module_end(const std::string&, const Json*, std::exception_ptr) override { throw ValueError("boom"); }
    void on_lm_start(const std::string&, const BaseLM&, const Json&) override { throw 42; }
    void on_lm_end(const std::string&, const Json*, std::exception_ptr) override { throw std::runtime_error("boom"); }
    void on_adapter_format_start(const std::string&, const Adapter&, const Json&) override {
        throw std::runtime_error("boom");
    }
    void on_adapter_format_end(const std::string&, const Json*, std::exception_ptr) override {
        throw std::runtime_error("boom");
    }
    void on_adapter_parse_start(const std::string&, const Adapter&, const Json&) override {
        throw std::runtime_error("boom");
    }
    void on_adapter_parse_end(const std::string&, const Json*, std::exception_ptr) override {
        throw std::runtime_error("boom");
    }
};

const std::vector<std::string> kCotN3Events = {
    "on_module_start",
    "on_module_start",
    "on_adapter_format_start",
    "on_adapter_format_end",
    "on_lm_start",
    "on_lm_end",
    // Parsing runs per output (n=3).
    "on_adapter_parse_start",
    "on_adapter_parse_end",
    "on_adapter_parse_start",
    "on_adapter_parse_end",
    "on_adapter_parse_start",
    "on_adapter_parse_end",
    "on_module_end",
    "on_module_end",
};

std::shared_ptr<DummyLM> how_are_you_lm() {
    return std::make_shared<DummyLM>(
        DummyLM::ByInput{}, std::vector<std::pair<std::string, Json>>{
                                {"How are you?", {{"answer", "test output"}, {"reasoning", "No more responses"}}}});
}

TEST(Callback, AsyncChainOfThoughtEventOrder) {
    auto callback = std::make_shared<Recorder>();
    auto lm = how_are_you_lm();
    Prediction result;
    ChainOfThought cot("question -> answer", Json{{"n", 3}});
    {
        auto scope = context({.lm = lm, .callbacks = std::vector<std::shared_ptr<BaseCallback>>{callback}});
        result = run(cot.acall("question", "How are you?"));
    }
    EXPECT_EQ(result.at("answer"), "test output");
    EXPECT_EQ(result.at("reasoning"), "No more responses");
    EXPECT_EQ(result.completions().size(), 3u);

    auto events = callback->events();
    ASSERT_EQ(events.size(), 14u);
    EXPECT_EQ(callback->handlers(), kCotN3Events);
    // The outer start is the ChainOfThought, the inner its Predict; they end innermost first.
    EXPECT_EQ(events[0].instance, &cot);
    EXPECT_EQ(events[1].instance, &cot.predict());
    EXPECT_EQ(events[12].call_id, events[1].call_id);
    EXPECT_EQ(events[13].call_id, events[0].call_id);
    EXPECT_NE(events[0].call_id, events[1].call_id);
    EXPECT_EQ(events[0].data->at("kwargs"), (Json{{"question", "How are you?"}}));
    EXPECT_NE(dynamic_cast<const ChatAdapter*>(static_cast<const Adapter*>(events[2].instance)), nullptr);
    EXPECT_EQ(events[4].instance, lm.get());
    EXPECT_EQ(events[4].data->at("kwargs").at("n"), 3);
    EXPECT_EQ(events[5].data->size(), 3u);  // the three completions
    for (size_t i = 6; i < 12; i += 2) {
        EXPECT_EQ(events[i].call_id, events[i + 1].call_id);
        ASSERT_TRUE(events[i + 1].data.has_value());
        EXPECT_EQ(events[i + 1].data->at("answer"), "test output");
        EXPECT_EQ(events[i + 1].data->at("reasoning"), "No more responses");
    }
    EXPECT_EQ(events[13].data->at("answer"), "test output");
    EXPECT_FALSE(events[13].exception);
}

TEST(Callback, SyncChainOfThoughtHasTheSameEventOrder) {
    auto callback = std::make_shared<Recorder>();
    ChainOfThought cot("question -> answer", Json{{"n", 3}});
    auto scope = context({.lm = how_are_you_lm(), .callbacks = std::vector<std::shared_ptr<BaseCallback>>{callback}});
    EXPECT_EQ(cot("question", "How are you?").at("answer"), "test output");
    EXPECT_EQ(callback->handlers(), kCotN3Events);
}

TEST(Callback, InstanceCallbacksSeeOnlyTheirModule) {
    auto callback = std::make_shared<Recorder>();
    ChainOfThought cot("question -> answer");
    cot.predict().callbacks().push_back(callback);
    auto scope = context({.lm = how_are_you_lm()});
    (void)run(cot.acall("question", "How are you?"));
    // Only the Predict's own module hooks: its adapter and LM calls use the global callbacks only.
    EXPECT_EQ(callback->handlers(), (std::vector<std::string>{"on_module_start", "on_module_end"}));
    EXPECT_EQ(callback->events()[0].instance, &cot.predict());
}

TEST(Callback, HandlersThatThrowAreSwallowed) {
    auto thrower = std::make_shared<Thrower>();
    auto callback = std::make_shared<Recorder>();
    ChainOfThought cot("question -> answer", Json{{"n", 3}});
    auto scope =
        context({.lm = how_are_you_lm(), .callbacks = std::vector<std::shared_ptr<BaseCallback>>{thrower, callback}});
    testing::internal::CaptureStderr();
    Prediction sync_result = cot("question", "How are you?");
    Prediction async_result = run(cot.acall("question", "How are you?"));
    std::string log = testing::internal::GetCapturedStderr();
    EXPECT_EQ(sync_result.at("answer"), "test output");
    EXPECT_EQ(async_result.at("answer"), "test output");
    // The handler after the throwing one still saw every event of both calls.
    EXPECT_EQ(callback->events().size(), 28u);
    EXPECT_NE(log.find("Error when calling callback on_module_start: boom"), std::string::npos) << log;
}

class Failing : public Module {
public:
    Prediction forward(const Inputs&) override { throw ValueError("Error"); }
};

class FailingAsync : public Module {
public:
    Task<Prediction> aforward(Inputs) override {
        co_await sleep(std::chrono::milliseconds(1));
        throw ValueError("Error");
    }
};

void expect_failure_reported(Module& m, bool async) {
    auto callback = std::make_shared<Recorder>();
    auto scope = context({.callbacks = std::vector<std::shared_ptr<BaseCallback>>{callback}});
    std::exception_ptr thrown;
    try {
        if (async) {
            (void)run(m.acall("x", 1));
        } else {
            (void)m("x", 1);
        }
    } catch (const ValueError&) {
        thrown = std::current_exception();
    }
    ASSERT_TRUE(thrown) << "the module's ValueError must propagate";
    auto events = callback->events();
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].handler, "on_module_start");
    EXPECT_EQ(events[1].handler, "on_module_end");
    EXPECT_FALSE(events[1].data.has_value());
    ASSERT_TRUE(events[1].exception);
    try {
        std::rethrow_exception(events[1].exception);
    } catch (const ValueError& e) {
        EXPECT_STREQ(e.what(), "Error");
    }
}

TEST(Callback, ModuleErrorsReachOnModuleEndAndPropagate) {
    Failing sync_module;
    expect_failure_reported(sync_module, false);
    expect_failure_reported(sync_module, true);
    FailingAsync async_module;
    expect_failure_reported(async_module, false);
    expect_failure_reported(async_module, true);
}

}  // namespace
}  // namespace dspy
