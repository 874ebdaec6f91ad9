#pragma once
// LM's streaming call path (DSPy's _get_stream_completion_fn): used instead of the plain request when the current
// settings carry a stream sink that wants this predictor's output. The provider's SSE reply is read as it
// arrives, each delta goes to the sink, and the assembled response has the non-streamed shape (so caching,
// parsing and history are unchanged).

#include <chrono>
#include <memory>
#include <string>

#include "clients/http/transport.hpp"
#include "clients/providers.hpp"
#include "dspy/async/task.hpp"
#include "dspy/json.hpp"

namespace dspy {
class Module;
class StreamSink;
}  // namespace dspy

namespace dspy::detail {

/// Where this LM call streams to: the current `send_stream` and the calling predictor (innermost module call);
/// `sink` is null when the call should not stream.
struct StreamTarget {
    std::shared_ptr<StreamSink> sink;
    const Module* predict = nullptr;
};

/// The stream target of an LM call made here (reads the current settings).
[[nodiscard]] StreamTarget stream_target();

/// One streamed provider call: retries (and Retry-After) apply until the first delta has been forwarded; after
/// that an error ends the call. Cancelling the awaiting task closes the connection (CancelledError).
Task<Json> send_streaming(StreamTarget target, const providers::Endpoint& ep, const Json& request,
                          const http::RequestOptions& opts, int num_retries, std::chrono::milliseconds retry_base,
                          std::string context);

}  // namespace dspy::detail
