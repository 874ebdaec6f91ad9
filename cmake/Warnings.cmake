# Warnings for our own targets only (never forced onto a consumer of the installed package).
function(dspy_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  # g++-12 warns about every designated initialiser that leaves members to their defaults, which is exactly the
  # options-struct style of the API (`dspy::LM("...", {.temperature = 0.2})`); clang does not.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wno-missing-field-initializers)
  endif()
  if(DSPY_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
