#pragma once
/// @file
/// Umbrella header for users; the library's own sources include what they use.

#include "dspy/adapters/base.hpp"
#include "dspy/adapters/chat_adapter.hpp"
#include "dspy/adapters/json_adapter.hpp"
#include "dspy/async/async.hpp"
#include "dspy/clients/base_lm.hpp"
#include "dspy/json.hpp"
#include "dspy/predict/best_of_n.hpp"
#include "dspy/predict/chain_of_thought.hpp"
#include "dspy/predict/predict.hpp"
#include "dspy/predict/react.hpp"
#include "dspy/predict/refine.hpp"
#include "dspy/primitives/example.hpp"
#include "dspy/primitives/module.hpp"
#include "dspy/primitives/prediction.hpp"
#include "dspy/settings/settings.hpp"
#include "dspy/signatures/signature.hpp"
#include "dspy/utils/dummies.hpp"
#include "dspy/utils/asyncify.hpp"
#include "dspy/utils/exceptions.hpp"
#include "dspy/utils/warnings.hpp"
